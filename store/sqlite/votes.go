package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// maxBatch bounds how many queued votes one transaction commits.
const maxBatch = 256

// voteJob is a RecordVote call waiting for the writer.
type voteJob struct {
	ctx  context.Context
	a    bq.Audit
	req  store.VoteRequest
	done chan voteResult
}

type voteResult struct {
	rec *bq.VoteRecord
	err error
}

// RecordVote records one choice and returns once it is on disk. Calls from many clients
// are queued to one writer, which commits all the votes waiting at that moment in one
// transaction (group commit): one fsync serves many calls, and each call still gets its
// own answer, since a refused vote is rolled back to its savepoint alone.
func (s *Store) RecordVote(ctx context.Context, a bq.Audit, req store.VoteRequest) (*bq.VoteRecord, error) {
	job := &voteJob{ctx: ctx, a: a, req: req, done: make(chan voteResult, 1)}
	select {
	case s.votes <- job:
	case <-s.quit:
		return nil, store.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	// Once queued, wait for the answer even if the caller gives up: the vote may be
	// committed, and the writer must not block on an abandoned job.
	r := <-job.done
	return r.rec, r.err
}

// writeVotes is the single vote writer. It runs from Open until Close.
func (s *Store) writeVotes() {
	defer close(s.writerDone)
	for {
		var first *voteJob
		select {
		case first = <-s.votes:
		case <-s.quit:
			return
		}
		batch := []*voteJob{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case j := <-s.votes:
				batch = append(batch, j)
			default:
				break drain
			}
		}
		s.commitVotes(batch)
	}
}

func (s *Store) commitVotes(batch []*voteJob) {
	results := make([]voteResult, len(batch))
	ctx := context.Background() // each job's own context decides whether it still runs
	start := time.Now()
	c := &s.cache
	err := s.writerTx(ctx, func(tx *sql.Tx) error {
		for i, j := range batch {
			if err := j.ctx.Err(); err != nil {
				results[i].err = err // nobody waits for it: record nothing
				continue
			}
			if _, err := tx.ExecContext(ctx, `SAVEPOINT vote`); err != nil {
				return err
			}
			rec, err := s.applyVote(ctx, tx, c, j.a, "RecordVote", j.req, nil)
			results[i] = voteResult{rec: rec, err: err}
			if err != nil {
				c.head = nil // the vote's event, if it was appended, is gone
				if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO vote`); rerr != nil {
					return rerr
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE vote`); err != nil {
				return err
			}
		}
		return nil
	})
	// Wall time, not s.now: the store's clock may be a test's, standing still.
	if s.watch != nil {
		s.watch.ObserveVoteBatch(len(batch), time.Since(start))
	}
	for i, j := range batch {
		r := results[i]
		if err != nil && r.err == nil {
			r = voteResult{err: fmt.Errorf("commit votes: %w", err)}
		}
		j.done <- r
	}
}

// writerTx runs fn in a write transaction of the vote writer, and commits when fn returns
// nil. Unlike inTx it does not count as another writer: it first checks the writer's
// cache, and drops it if anything else may have written since.
func (s *Store) writerTx(ctx context.Context, fn func(*sql.Tx) error) error {
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var driverConn any
	if err := conn.Raw(func(dc any) error { driverConn = dc; return nil }); err != nil {
		return err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := s.cache.check(ctx, tx, driverConn, s.writes.Load()); err != nil {
		tx.Rollback()
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// applyVote records one choice inside tx, as the named action: the record, the delegate's
// current ballot, the poll's counts and version, and the audit event. indices, when not
// nil, gives the options by index (imports); otherwise req.Options names them. Whether
// the vote is taken at all is the domain's call (Poll.AcceptVote). c is the vote writer's
// cache, nil on other paths, which read everything from tx.
func (s *Store) applyVote(ctx context.Context, tx *sql.Tx, c *writerCache, a bq.Audit, action string, req store.VoteRequest, indices []int) (*bq.VoteRecord, error) {
	if prior, found, err := earlier(ctx, tx, a, action, req.Key); err != nil || found {
		if found {
			return loadVote(ctx, tx, prior)
		}
		return nil, err
	}
	now := s.now()
	var st voteState
	var pc *pollCache
	var p *bq.Poll
	var person *bq.Person
	var voter *bq.Voter
	var err error
	if c != nil {
		if pc, err = c.poll(ctx, tx, req.PollID); err != nil {
			return nil, err
		}
		if person, err = c.person(ctx, tx, req.PersonID); err != nil {
			return nil, err
		}
		p, voter, st.electorate = pc.poll, pc.voters[req.PersonID], pc.electorate
	} else {
		if p, err = getPoll(ctx, tx, req.PollID); err != nil {
			return nil, err
		}
		if person, err = getPerson(ctx, tx, req.PersonID); err != nil {
			return nil, err
		}
		if voter, err = electorateEntry(ctx, tx, p.ID, req.PersonID); err != nil {
			return nil, err
		}
	}
	if err := p.AcceptVote(now, person, voter); err != nil {
		return nil, err
	}
	name := voter.FullName
	if indices == nil && !req.Withdraw {
		if len(req.Options) == 0 {
			return nil, bq.Invalid("options", "choose an option, or withdraw")
		}
		if indices, err = p.OptionIndices("options", req.Options); err != nil {
			return nil, err
		}
	}
	if req.Withdraw {
		indices = []int{}
	}
	if err := p.CheckChoice("options", indices); err != nil {
		return nil, err
	}
	var current sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT options FROM ballots WHERE poll_id = ? AND person_id = ?`, p.ID, req.PersonID).Scan(&current)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if req.Withdraw && !current.Valid {
		return nil, bq.Errorf(bq.CodeFailedPrecondition, "%s (%s) has no vote in %s to withdraw", name, bq.PersonName(req.PersonID), bq.PollName(p.ID))
	}
	sort.Ints(indices)
	enc, _ := json.Marshal(indices)
	rec := &bq.VoteRecord{PollID: p.ID, PersonID: req.PersonID, FullName: name, Options: indices, Choice: optionTexts(p.Options, indices),
		Source: req.Source, Note: req.Note, RecordedBy: a.Actor, RequestID: req.Key.ID, RecordTime: now.UTC()}
	if err := tx.QueryRowContext(ctx, insertVote, p.ID, req.PersonID, string(enc), rec.Source, rec.Note, rec.RecordedBy, rec.RequestID, nanos(now)).
		Scan(&rec.ID, &st.voteText); err != nil {
		return nil, err
	}
	st.voteID = rec.ID
	// The counts follow the ballot: take the old choice out, put the new one in.
	if current.Valid {
		var old []int
		if err := json.Unmarshal([]byte(current.String), &old); err != nil {
			return nil, err
		}
		if err := addCounts(ctx, tx, p.ID, old, -1); err != nil {
			return nil, err
		}
	}
	if err := addCounts(ctx, tx, p.ID, indices, 1); err != nil {
		return nil, err
	}
	if req.Withdraw {
		_, err = tx.ExecContext(ctx, `DELETE FROM ballots WHERE poll_id = ? AND person_id = ?`, p.ID, req.PersonID)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO ballots (poll_id, person_id, vote_id, options) VALUES (?, ?, ?, ?)
			ON CONFLICT (poll_id, person_id) DO UPDATE SET vote_id = excluded.vote_id, options = excluded.options`,
			p.ID, req.PersonID, rec.ID, string(enc))
	}
	if err != nil {
		return nil, err
	}
	// The poll's row changes here for the last time in this vote: what the update returns
	// is its state for the event.
	if pc != nil {
		var version int64
		if err := tx.QueryRowContext(ctx, bumpVersion, p.ID, nanos(now)).Scan(&version); err != nil {
			return nil, err
		}
		st.pollRow = pc.rowText(version, nanos(now))
	} else if err := tx.QueryRowContext(ctx, bumpPoll, p.ID, nanos(now)).Scan(&st.pollRow); err != nil {
		return nil, err
	}
	if c == nil {
		if err := tx.QueryRowContext(ctx, electorateState, p.ID).Scan(&st.electorate); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
	}
	if err := s.remember(ctx, tx, a, action, req.Key, strconv.FormatInt(rec.ID, 10)); err != nil {
		return nil, err
	}
	what := "withdrew the vote"
	if !req.Withdraw {
		what = "chose " + strings.Join(rec.Choice, " + ")
	}
	if err := s.recordVote(ctx, tx, c, a, action, bq.PollName(p.ID), st, "%s (%s) %s, from %s%s",
		name, bq.PersonName(req.PersonID), what, rec.Source, noteSuffix(rec.Note)); err != nil {
		return nil, err
	}
	return rec, nil
}

// electorateEntry returns a person's entry in a poll's frozen electorate, nil when they
// have none.
func electorateEntry(ctx context.Context, tx *sql.Tx, pollID, personID int64) (*bq.Voter, error) {
	v := bq.Voter{PersonID: personID}
	err := tx.QueryRowContext(ctx, `SELECT full_name, zalo_name, phone FROM poll_electorate WHERE poll_id = ? AND person_id = ?`, pollID, personID).
		Scan(&v.FullName, &v.ZaloName, &v.Phone)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func noteSuffix(note string) string {
	if note == "" {
		return ""
	}
	return ": " + note
}

func addCounts(ctx context.Context, tx *sql.Tx, pollID int64, options []int, delta int) error {
	for _, o := range options {
		if _, err := tx.ExecContext(ctx, `UPDATE poll_counts SET count = count + ? WHERE poll_id = ? AND option = ?`, delta, pollID, o); err != nil {
			return err
		}
	}
	return nil
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func optionTexts(options []string, indices []int) []string {
	out := make([]string, len(indices))
	for i, o := range indices {
		out[i] = options[o]
	}
	return out
}

// voteSelect reads vote records with the delegate's name and the poll's options, so a
// record can say what was chosen in words.
const voteSelect = `SELECT v.id, v.poll_id, v.person_id, e.full_name, p.options, v.options, v.source, v.note, v.recorded_by,
	v.request_id, v.record_time FROM votes v
	JOIN poll_electorate e ON e.poll_id = v.poll_id AND e.person_id = v.person_id
	JOIN polls p ON p.id = v.poll_id `

func scanVote(r scanner) (*bq.VoteRecord, error) {
	var v bq.VoteRecord
	var pollOptions, options string
	var t int64
	if err := r.Scan(&v.ID, &v.PollID, &v.PersonID, &v.FullName, &pollOptions, &options, &v.Source, &v.Note, &v.RecordedBy, &v.RequestID, &t); err != nil {
		return nil, err
	}
	var texts []string
	if err := json.Unmarshal([]byte(pollOptions), &texts); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(options), &v.Options); err != nil {
		return nil, err
	}
	v.Choice = optionTexts(texts, v.Options)
	v.RecordTime = fromNanos(t)
	return &v, nil
}

// voteByID reads one vote record; id is as a request's result keeps it.
func loadVote(ctx context.Context, tx *sql.Tx, id string) (*bq.VoteRecord, error) {
	return scanVote(tx.QueryRowContext(ctx, voteSelect+`WHERE v.id = ?`, id))
}

// importResult is what an import keeps for its retries.
type importResult struct {
	Votes     []int64 `json:"votes"`
	Unchanged int     `json:"unchanged"`
}

// ImportVotes records many choices in one transaction, all or nothing. Entries whose
// choice is already the delegate's current one are counted as unchanged and not recorded
// again. A dry run checks and counts the same, and rolls back. A retry of the same import
// returns the records the first call made.
func (s *Store) ImportVotes(ctx context.Context, a bq.Audit, pollID int64, entries []store.VoteEntry, source bq.VoteSource, dryRun bool, key bq.RequestKey) ([]bq.VoteRecord, int, error) {
	var recs []bq.VoteRecord
	unchanged := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if prior, found, err := earlier(ctx, tx, a, "ImportVotes", key); err != nil || found {
			if found {
				recs, unchanged, err = importReplay(ctx, tx, prior)
			}
			return err
		}
		// Checked here too, not only per recorded vote: a list that changes nothing must
		// still be refused on a closed poll rather than reported as unchanged.
		p, err := getPoll(ctx, tx, pollID)
		if err != nil {
			return err
		}
		if err := p.AcceptsVotes(s.now()); err != nil {
			return err
		}
		var made importResult
		for _, e := range entries {
			want := append([]int(nil), e.Options...)
			sort.Ints(want)
			enc, _ := json.Marshal(want)
			var current string
			err := tx.QueryRowContext(ctx, `SELECT options FROM ballots WHERE poll_id = ? AND person_id = ?`, pollID, e.PersonID).Scan(&current)
			if err == nil && current == string(enc) {
				unchanged++
				continue
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			rec, err := s.applyVote(ctx, tx, nil, a, "ImportVotes", store.VoteRequest{PollID: pollID, PersonID: e.PersonID, Source: source}, want)
			if err != nil {
				return err
			}
			recs = append(recs, *rec)
			made.Votes = append(made.Votes, rec.ID)
		}
		if dryRun {
			return errDryRun
		}
		made.Unchanged = unchanged
		result, err := json.Marshal(made)
		if err != nil {
			return err
		}
		return s.remember(ctx, tx, a, "ImportVotes", key, string(result))
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, 0, err
	}
	return recs, unchanged, nil
}

// importReplay reads back what an earlier import made.
func importReplay(ctx context.Context, tx *sql.Tx, result string) ([]bq.VoteRecord, int, error) {
	var made importResult
	if err := json.Unmarshal([]byte(result), &made); err != nil {
		return nil, 0, fmt.Errorf("import result %q: %w", result, err)
	}
	recs := make([]bq.VoteRecord, 0, len(made.Votes))
	for _, id := range made.Votes {
		v, err := loadVote(ctx, tx, strconv.FormatInt(id, 10))
		if err != nil {
			return nil, 0, err
		}
		recs = append(recs, *v)
	}
	return recs, made.Unchanged, nil
}

// ListVotes returns the current record of each delegate with a choice, in person order
// after afterPerson.
func (s *Store) ListVotes(ctx context.Context, pollID, afterPerson int64, limit int) ([]bq.VoteRecord, error) {
	var out []bq.VoteRecord
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if _, err := getPoll(ctx, tx, pollID); err != nil {
			return err
		}
		var err error
		out, err = collect(ctx, tx, scanVote, voteSelect+`JOIN ballots b ON b.vote_id = v.id
			WHERE b.poll_id = ? AND b.person_id > ? ORDER BY b.person_id LIMIT ?`, pollID, afterPerson, limit)
		return err
	})
	return out, err
}

// ListVoteHistory returns every record of one delegate's choice in a poll, oldest first.
func (s *Store) ListVoteHistory(ctx context.Context, pollID, personID int64) ([]bq.VoteRecord, error) {
	var out []bq.VoteRecord
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if _, err := getPoll(ctx, tx, pollID); err != nil {
			return err
		}
		var err error
		out, err = collect(ctx, tx, scanVote, voteSelect+`WHERE v.poll_id = ? AND v.person_id = ? ORDER BY v.id`, pollID, personID)
		return err
	})
	return out, err
}

// GetTally counts a poll from its maintained counts and current ballots: its cost grows
// with the poll's electorate, not with the votes the database holds.
func (s *Store) GetTally(ctx context.Context, pollID int64) (*bq.Tally, error) {
	t := &bq.Tally{}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		p, err := getPoll(ctx, tx, pollID)
		if err != nil {
			return err
		}
		t.Poll = p
		if err := tx.QueryRowContext(ctx, `SELECT version FROM polls WHERE id = ?`, pollID).Scan(&t.Version); err != nil {
			return err
		}
		t.Counts = make([]int, len(p.Options))
		t.Choices = make([][]bq.Voter, len(p.Options))
		rows, err := tx.QueryContext(ctx, `SELECT option, count FROM poll_counts WHERE poll_id = ?`, pollID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var o, n int
			if err := rows.Scan(&o, &n); err != nil {
				rows.Close()
				return err
			}
			t.Counts[o] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT e.person_id, e.full_name, e.zalo_name, e.phone, p.active, b.options
			FROM poll_electorate e JOIN people p ON p.id = e.person_id
			LEFT JOIN ballots b ON b.poll_id = e.poll_id AND b.person_id = e.person_id
			WHERE e.poll_id = ? ORDER BY e.person_id`, pollID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var v bq.Voter
			var active bool
			var options sql.NullString
			if err := rows.Scan(&v.PersonID, &v.FullName, &v.ZaloName, &v.Phone, &active, &options); err != nil {
				return err
			}
			v.Deactivated = !active
			if !options.Valid {
				t.Missing = append(t.Missing, v)
				continue
			}
			t.Voted++
			var chosen []int
			if err := json.Unmarshal([]byte(options.String), &chosen); err != nil {
				return err
			}
			for _, o := range chosen {
				t.Choices[o] = append(t.Choices[o], v)
			}
		}
		if err := rows.Err(); err != nil || !issued(p) {
			return err
		}
		rows.Close()
		// Once confirmations are issued the tally carries them, and each of their steps
		// is a change watchers must see: the version counts the steps too (both only
		// grow), without writing the poll's row, which only the poll's own events bind.
		if t.Confirmations, err = listConfirmations(ctx, tx, store.ConfirmationFilter{PollID: pollID, Limit: -1}); err != nil {
			return err
		}
		var steps int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM confirmation_events
			WHERE confirmation_id IN (SELECT id FROM confirmations WHERE poll_id = ?)`, pollID).Scan(&steps); err != nil {
			return err
		}
		t.Version += steps
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.Decide()
	return t, nil
}
