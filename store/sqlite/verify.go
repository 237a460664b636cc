package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"

	bq "github.com/bieuquyet/bieuquyet"
)

// finding is one way the stored state disagrees with the trail.
type finding struct {
	seq     int64 // the event since which it disagrees; 0 when none applies
	target  string
	problem string
}

// verifyState holds the stored state against a whole chain, whose newest state-bearing
// event per target is in marks. The checks run in this order, and the first finding of
// the first check that has one is returned (the earliest event first within a check):
//
//  1. votes: every row is covered by its poll's newest event, and the running digest over
//     the poll's rows matches the one that event vouches for;
//  2. ballots: replaying the votes rows in id order (the last record of each delegate
//     counts; a withdrawal removes it) gives the ballots table;
//  3. poll_counts: the replayed ballots give the counts;
//  4. every other target's stored state matches the digest of its newest event, and every
//     row that is a target has such an event.
func verifyState(ctx context.Context, tx *sql.Tx, marks map[string]*mark) (seq int64, target, problem string, err error) {
	checks := []func(context.Context, *sql.Tx, map[string]*mark, *replay) ([]finding, error){
		checkVotes, checkBallots, checkCounts, checkTargets,
	}
	r := &replay{ballots: map[ballotKey]ballot{}}
	for _, check := range checks {
		found, err := check(ctx, tx, marks, r)
		if err != nil {
			return 0, "", "", err
		}
		if len(found) > 0 {
			sort.SliceStable(found, func(i, j int) bool { return found[i].seq < found[j].seq })
			return found[0].seq, found[0].target, found[0].problem, nil
		}
	}
	return 0, "", "", nil
}

type ballotKey struct{ poll, person int64 }

type ballot struct {
	vote    int64
	options string
}

// replay is the ballots as the votes rows make them.
type replay struct {
	ballots map[ballotKey]ballot
}

func checkVotes(ctx context.Context, tx *sql.Tx, marks map[string]*mark, r *replay) ([]finding, error) {
	type run struct {
		digest  []byte
		through int64
	}
	runs := map[int64]*run{}
	flagged := map[int64]bool{}
	var found []finding
	rows, err := tx.QueryContext(ctx, `SELECT `+voteColumns+` FROM votes ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		row := make([]any, 9)
		ptrs := make([]any, len(row))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		id, poll, person := row[0].(int64), row[1].(int64), row[2].(int64)
		options, _ := row[3].(string)
		if options == "[]" {
			delete(r.ballots, ballotKey{poll, person})
		} else {
			r.ballots[ballotKey{poll, person}] = ballot{vote: id, options: options}
		}
		name := bq.PollName(poll)
		m := marks[name]
		switch {
		case flagged[poll]:
			continue
		case m == nil:
			flagged[poll] = true
			found = append(found, finding{0, name, fmt.Sprintf("votes row %d (people/%d) belongs to %s, for which no event in the trail vouches: it was added outside the service", id, person, name)})
			continue
		case id > m.votesThrough:
			flagged[poll] = true
			found = append(found, finding{m.seq, name, fmt.Sprintf("votes row %d (people/%d) of %s is newer than its newest event, seq %d, which vouches for its rows up to %d: it was added outside the service", id, person, name, m.seq, m.votesThrough)})
			continue
		}
		ru := runs[poll]
		if ru == nil {
			ru = &run{}
			runs[poll] = ru
		}
		if ru.digest, err = foldVote(ru.digest, row); err != nil {
			return nil, err
		}
		ru.through = id
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range sortedNames(marks) {
		m := marks[name]
		kind, poll, _ := targetKind(name)
		if kind != string(bq.Polls) || flagged[poll] {
			continue
		}
		ru := runs[poll]
		if ru == nil {
			ru = &run{}
		}
		if ru.through == m.votesThrough && bytes.Equal(ru.digest, m.votesDigest) {
			continue
		}
		f, err := locateVotes(ctx, tx, poll)
		if err != nil {
			return nil, err
		}
		found = append(found, f)
	}
	return found, nil
}

// locateVotes finds the first event of a poll whose votes digest the stored rows no longer
// give, and says which rows it vouched for.
func locateVotes(ctx context.Context, tx *sql.Tx, poll int64) (finding, error) {
	name := bq.PollName(poll)
	events, err := readRows(ctx, tx, `SELECT seq, votes_through, votes_digest FROM audit_events
		WHERE target = ? AND length(state) > 0 ORDER BY seq`, name)
	if err != nil {
		return finding{}, err
	}
	rows, err := readRows(ctx, tx, `SELECT `+voteColumns+` FROM votes WHERE poll_id = ? ORDER BY id`, poll)
	if err != nil {
		return finding{}, err
	}
	var digest []byte
	var from int64 // rows after this one are those the next event vouched for
	i := 0
	for _, ev := range events {
		seq, through := ev[0].(int64), ev[1].(int64)
		want, _ := ev[2].([]byte)
		var ids []int64
		for ; i < len(rows) && rows[i][0].(int64) <= through; i++ {
			if digest, err = foldVote(digest, rows[i]); err != nil {
				return finding{}, err
			}
			ids = append(ids, rows[i][0].(int64))
		}
		if !bytes.Equal(digest, want) {
			var what string
			switch {
			case through > from && (len(ids) == 0 || ids[len(ids)-1] != through):
				what = fmt.Sprintf("votes row %d is missing", through)
			case len(ids) == 1 && ids[0] == through:
				what = fmt.Sprintf("votes row %d (people/%d) was changed", through, rows[i-1][2].(int64))
			default:
				what = fmt.Sprintf("its votes rows after %d up to %d were changed, removed or inserted", from, through)
			}
			return finding{seq, name, fmt.Sprintf("the votes of %s disagree with the trail since seq %d, which vouched for its rows up to %d: %s", name, seq, through, what)}, nil
		}
		from = through
	}
	// The newest event's digest matched after all: the rows beyond it are the fault.
	return finding{0, name, fmt.Sprintf("the votes of %s disagree with the trail: rows after %d were added outside the service", name, from)}, nil
}

func checkBallots(ctx context.Context, tx *sql.Tx, _ map[string]*mark, r *replay) ([]finding, error) {
	stored := map[ballotKey]ballot{}
	rows, err := tx.QueryContext(ctx, `SELECT poll_id, person_id, vote_id, options FROM ballots`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k ballotKey
		var b ballot
		if err := rows.Scan(&k.poll, &k.person, &b.vote, &b.options); err != nil {
			return nil, err
		}
		stored[k] = b
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	keys := make([]ballotKey, 0, len(stored)+len(r.ballots))
	for k := range stored {
		keys = append(keys, k)
	}
	for k := range r.ballots {
		if _, ok := stored[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].poll < keys[j].poll || keys[i].poll == keys[j].poll && keys[i].person < keys[j].person
	})
	for _, k := range keys {
		got, isStored := stored[k]
		want, isVoted := r.ballots[k]
		if got == want && isStored == isVoted {
			continue
		}
		name := bq.PollName(k.poll)
		var what string
		switch {
		case !isVoted:
			what = fmt.Sprintf("holds %s (votes row %d), but the votes rows leave people/%d no choice", got.options, got.vote, k.person)
		case !isStored:
			what = fmt.Sprintf("holds no choice of people/%d, but votes row %d chose %s", k.person, want.vote, want.options)
		default:
			what = fmt.Sprintf("holds %s (votes row %d) for people/%d, but their last votes row, %d, chose %s", got.options, got.vote, k.person, want.vote, want.options)
		}
		return []finding{{0, name, fmt.Sprintf("the ballots of %s disagree with its votes rows: the ballots table %s", name, what)}}, nil
	}
	return nil, nil
}

func checkCounts(ctx context.Context, tx *sql.Tx, _ map[string]*mark, r *replay) ([]finding, error) {
	type optionKey struct{ poll, option int64 }
	want := map[optionKey]int64{}
	for k, b := range r.ballots {
		var options []int64
		if err := json.Unmarshal([]byte(b.options), &options); err != nil {
			return []finding{{0, bq.PollName(k.poll), fmt.Sprintf("votes row %d of %s holds %q, which is not a list of options", b.vote, bq.PollName(k.poll), b.options)}}, nil
		}
		for _, o := range options {
			want[optionKey{k.poll, o}]++
		}
	}
	rows, err := readRows(ctx, tx, `SELECT poll_id, option, count FROM poll_counts ORDER BY poll_id, option`)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		k, n := optionKey{row[0].(int64), row[1].(int64)}, row[2].(int64)
		if n != want[k] {
			name := bq.PollName(k.poll)
			return []finding{{0, name, fmt.Sprintf("the counts of %s disagree with its votes rows: poll_counts gives option %d a count of %d, the ballots its votes rows leave %d", name, k.option, n, want[k])}}, nil
		}
		delete(want, k)
	}
	var missing []optionKey
	for k := range want {
		missing = append(missing, k)
	}
	if len(missing) > 0 {
		sort.Slice(missing, func(i, j int) bool {
			return missing[i].poll < missing[j].poll || missing[i].poll == missing[j].poll && missing[i].option < missing[j].option
		})
		k := missing[0]
		name := bq.PollName(k.poll)
		return []finding{{0, name, fmt.Sprintf("the counts of %s disagree with its votes rows: poll_counts has no row for option %d, which they choose %d times", name, k.option, want[k])}}, nil
	}
	return nil, nil
}

func checkTargets(ctx context.Context, tx *sql.Tx, marks map[string]*mark, _ *replay) ([]finding, error) {
	var found []finding
	tables := map[string]string{}
	for _, k := range stateKinds {
		tables[k.kind] = k.tables
		ids, err := readRows(ctx, tx, k.ids)
		if err != nil {
			return nil, err
		}
		for _, row := range ids {
			name := targetName(k.kind, row[0].(int64))
			if marks[name] == nil {
				found = append(found, finding{0, name, fmt.Sprintf("%s is stored, but no event in the trail vouches for it: %s was added outside the service", name, k.tables)})
			}
		}
	}
	for _, name := range sortedNames(marks) {
		m := marks[name]
		d, err := targetState(ctx, tx, name)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(d, m.state) {
			kind, _, _ := targetKind(name)
			found = append(found, finding{m.seq, name, fmt.Sprintf("the stored state of %s disagrees with the trail since seq %d, its newest event: %s was changed or removed outside the service", name, m.seq, tables[kind])})
		}
	}
	return found, nil
}

func sortedNames(marks map[string]*mark) []string {
	names := make([]string, 0, len(marks))
	for name := range marks {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
