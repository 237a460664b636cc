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
//  1. votes: every row of a poll is named by one of the poll's events (a vote's event
//     names the row it added) and matches the digest that event recorded of it;
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
	ids, err := readRows(ctx, tx, `SELECT DISTINCT poll_id FROM votes`)
	if err != nil {
		return nil, err
	}
	polls := map[int64]bool{}
	for _, row := range ids {
		polls[row[0].(int64)] = true
	}
	for name, m := range marks {
		if kind, id, _ := targetKind(name); kind == string(bq.Polls) && m.votesThrough > 0 {
			polls[id] = true
		}
	}
	order := make([]int64, 0, len(polls))
	for id := range polls {
		order = append(order, id)
	}
	sort.Slice(order, func(i, j int) bool { return order[i] < order[j] })
	var found []finding
	for _, poll := range order {
		f, err := checkPollVotes(ctx, tx, poll, r)
		if err != nil {
			return nil, err
		}
		if f != nil {
			found = append(found, *f)
		}
	}
	return found, nil
}

// checkPollVotes holds a poll's votes rows against its events, each of which names the
// newest row when it was appended (the migration's event, every row up to it), and
// replays them into r.
func checkPollVotes(ctx context.Context, tx *sql.Tx, poll int64, r *replay) (*finding, error) {
	name := bq.PollName(poll)
	rows, err := readRows(ctx, tx, votesOfPoll, poll)
	if err != nil {
		return nil, err
	}
	at := map[int64]int{}
	for i, row := range rows {
		id, person, options := row[0].(int64), row[1].(int64), row[2].(string)
		at[id] = i
		if options == "[]" {
			delete(r.ballots, ballotKey{poll, person})
		} else {
			r.ballots[ballotKey{poll, person}] = ballot{vote: id, options: options}
		}
	}
	events, err := readRows(ctx, tx, `SELECT seq, votes_through, votes_digest, actor FROM audit_events
		WHERE target = ? AND length(state) > 0 AND votes_through > 0 ORDER BY seq`, name)
	if err != nil {
		return nil, err
	}
	covered := make([]bool, len(rows))
	var newest int64
	for _, ev := range events {
		seq, through, want, all := ev[0].(int64), ev[1].(int64), ev[2].([]byte), ev[3].(string) == baselineAudit.Actor
		newest = seq
		i, ok := at[through]
		if !ok {
			return &finding{seq, name, fmt.Sprintf("votes row %d of %s, which seq %d recorded, is missing: it was removed outside the service", through, name, seq)}, nil
		}
		var got []byte
		if all {
			for j := 0; j <= i; j++ {
				got = foldVotes(got, rows[j][3].(string))
			}
		} else {
			got = voteDigest(rows[i][3].(string))
		}
		if !bytes.Equal(got, want) {
			what := fmt.Sprintf("votes row %d (people/%d) of %s differs from what seq %d recorded: it was changed outside the service", through, rows[i][1].(int64), name, seq)
			if all {
				what = fmt.Sprintf("the votes rows of %s up to %d differ from what seq %d recorded: one was changed, removed or inserted outside the service", name, through, seq)
			}
			return &finding{seq, name, what}, nil
		}
		covered[i] = true
		for j := 0; all && j < i; j++ {
			covered[j] = true
		}
	}
	for i, c := range covered {
		if !c {
			return &finding{newest, name, fmt.Sprintf("votes row %d (people/%d) of %s is in no event of the trail: it was added outside the service", rows[i][0].(int64), rows[i][1].(int64), name)}, nil
		}
	}
	return nil, nil
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
			name := targetName(k.kind, row)
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
