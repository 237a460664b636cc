package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// appendEvent adds one event to the audit trail inside the caller's transaction, so the
// event commits with its change or not at all. Events are written in version 2.
func appendEvent(ctx context.Context, tx *sql.Tx, e *bq.AuditEvent) error {
	_, err := appendEventAfter(ctx, tx, e, nil)
	return err
}

// appendEventAfter is appendEvent after a head the caller knows to be the trail's, or
// after the stored one when head is nil. It returns the new head.
func appendEventAfter(ctx context.Context, tx *sql.Tx, e *bq.AuditEvent, head *chainHead) (*chainHead, error) {
	if head == nil {
		head = &chainHead{}
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&head.seq, &head.hash)
		if errors.Is(err, sql.ErrNoRows) {
			head.seq, head.hash, err = 0, bq.GenesisHash, nil
		}
		if err != nil {
			return nil, err
		}
	}
	e.Seq, e.PrevHash, e.Version = head.seq+1, head.hash, bq.AuditV2
	e.Hash = e.ComputeHash(head.hash)
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_events (`+eventColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, nanos(e.Time), e.Actor, e.Credential, e.Action, e.Outcome, e.Target, e.RequestID, e.Summary,
		e.Version, nonNil(e.State), e.VotesThrough, nonNil(e.VotesDigest), e.PrevHash, e.Hash); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, e.Seq, e.Hash); err != nil {
		return nil, err
	}
	return &chainHead{seq: e.Seq, hash: e.Hash}, nil
}

// nonNil keeps an empty digest an empty blob: the columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// record appends the event for a change made by a on behalf of the caller. The event
// carries the digest of its target's state as the transaction now holds it (bindState),
// so callers record after their last change to the target. Denial runs whose window has
// closed are folded into the trail first.
func (s *Store) record(ctx context.Context, tx *sql.Tx, a bq.Audit, action, target, format string, args ...any) error {
	return s.appendChange(ctx, tx, a, action, target, false, format, args...)
}

// appendChange is record; allVotes binds every votes row of a poll target, not only its
// newest (see bindState).
func (s *Store) appendChange(ctx context.Context, tx *sql.Tx, a bq.Audit, action, target string, allVotes bool, format string, args ...any) error {
	e, _, err := s.newEvent(ctx, tx, a, action, target, format, args...)
	if err != nil {
		return err
	}
	if err := bindState(ctx, tx, e, allVotes); err != nil {
		return err
	}
	if err := appendEvent(ctx, tx, e); err != nil {
		return err
	}
	if kind, id, _ := targetKind(target); kind == string(bq.People) {
		return s.recordDepartures(ctx, tx, a, action, id)
	}
	return nil
}

// newEvent folds the denial runs whose window has closed, then makes the event of a
// change. folded says whether it folded runs, appending their events.
func (s *Store) newEvent(ctx context.Context, tx *sql.Tx, a bq.Audit, action, target, format string, args ...any) (e *bq.AuditEvent, folded bool, err error) {
	now := s.now()
	if folded, err = s.foldDueDenials(ctx, tx, now); err != nil {
		return nil, folded, err
	}
	return &bq.AuditEvent{
		Time: now, Actor: a.Actor, Credential: a.Credential, Action: action, Outcome: bq.OutcomeDone,
		Target: target, RequestID: a.RequestID, Summary: fmt.Sprintf(format, args...),
	}, folded, nil
}

// recordVote is record for a vote on poll target, whose state the vote path has already
// read (st): the event binds the same digest and votes row bindState would read. With the
// vote writer's cache c, the event follows the head the writer's last append left.
func (s *Store) recordVote(ctx context.Context, tx *sql.Tx, c *writerCache, a bq.Audit, action, target string, st voteState, format string, args ...any) error {
	e, folded, err := s.newEvent(ctx, tx, a, action, target, format, args...)
	if err != nil {
		return err
	}
	if e.State, err = stateDigest(target, []any{st.pollRow, st.electorate}); err != nil {
		return err
	}
	e.VotesThrough, e.VotesDigest = st.voteID, voteDigest(st.voteText)
	var head *chainHead
	if c != nil && !folded { // the folded runs' events moved the head
		head = c.head
	}
	head, err = appendEventAfter(ctx, tx, e, head)
	if err != nil {
		return err
	}
	if c != nil {
		c.head = head
	}
	return nil
}

// RecordDenied appends an event for an attempt that was refused, in a transaction of its
// own: nothing changed, and the refusal is worth keeping all the same. Repeats of the
// same refusal only count (see countDenial), so that a caller cannot grow the trail
// without limit.
func (s *Store) RecordDenied(ctx context.Context, a bq.Audit, action, target, reason string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		if err := foldDenials(ctx, tx, now, false); err != nil {
			return err
		}
		e := &bq.AuditEvent{
			Time: now, Actor: a.Actor, Credential: a.Credential, Action: action, Outcome: bq.OutcomeDenied,
			Target: target, RequestID: a.RequestID, Summary: reason,
		}
		counted, err := countDenial(ctx, tx, e)
		if err == nil && !counted {
			if err = appendEvent(ctx, tx, e); err == nil {
				err = startDenialRun(ctx, tx, e)
			}
		}
		s.denialsDue.Store(0) // the runs changed: the next write looks again
		return err
	})
}

const eventColumns = `seq, time, actor, credential, action, outcome, target, request_id, summary,
	version, state, votes_through, votes_digest, prev_hash, hash`

func scanEvent(r scanner) (*bq.AuditEvent, error) {
	var e bq.AuditEvent
	var t int64
	if err := r.Scan(&e.Seq, &t, &e.Actor, &e.Credential, &e.Action, &e.Outcome, &e.Target, &e.RequestID, &e.Summary,
		&e.Version, &e.State, &e.VotesThrough, &e.VotesDigest, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = fromNanos(t)
	return &e, nil
}

// ListAuditEvents returns events in sequence order after f.AfterSeq.
func (s *Store) ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]bq.AuditEvent, error) {
	where, args := []string{"seq > ?"}, []any{f.AfterSeq}
	if f.Target != "" {
		where, args = append(where, "target = ?"), append(args, f.Target)
	}
	if f.Actor != "" {
		where, args = append(where, "actor = ?"), append(args, f.Actor)
	}
	if !f.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "time < ?"), append(args, nanos(f.Until))
	}
	args = append(args, f.Limit)
	var out []bq.AuditEvent
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = collect(ctx, tx, scanEvent, `SELECT `+eventColumns+` FROM audit_events WHERE `+strings.Join(where, " AND ")+` ORDER BY seq LIMIT ?`, args...)
		return err
	})
	return out, err
}

// VerifyAuditLog recomputes the hash chain from the first event to the recorded head and
// reports the first place where it breaks. With known heads, it also checks that each is
// still in the trail, unchanged. A whole chain is then held against the stored state
// (verifyState): votes, ballots, counts and every target's newest digest.
func (s *Store) VerifyAuditLog(ctx context.Context, known ...store.KnownHead) (*store.AuditVerdict, error) {
	var v *store.AuditVerdict
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		v, err = verifyAudit(ctx, tx, known)
		return err
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// verifyAudit is VerifyAuditLog within tx; Backup runs it on the copy too.
func verifyAudit(ctx context.Context, tx *sql.Tx, known []store.KnownHead) (*store.AuditVerdict, error) {
	v := &store.AuditVerdict{}
	marks, err := verifyChain(ctx, tx, v, known)
	if err != nil || v.Problem != "" {
		return v, err
	}
	if v.BadSeq, v.Target, v.Problem, err = verifyState(ctx, tx, marks); err != nil || v.Problem != "" {
		return v, err
	}
	v.OK = true
	return v, nil
}

// verifyChain walks the chain and fills in v; v.Problem stays empty when it is whole. It
// returns the newest state-bearing event of each target, which a whole chain vouches for.
func verifyChain(ctx context.Context, tx *sql.Tx, v *store.AuditVerdict, known []store.KnownHead) (map[string]*mark, error) {
	err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&v.HeadSeq, &v.HeadHash)
	if errors.Is(err, sql.ErrNoRows) {
		v.HeadSeq, v.HeadHash, err = 0, bq.GenesisHash, nil
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+eventColumns+` FROM audit_events ORDER BY seq`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	marks := map[string]*mark{}
	check := bq.NewChainCheck()
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		problem := check.Next(e)
		for _, k := range known {
			if problem == "" && k.Seq == e.Seq && !bytes.Equal(k.Hash, e.Hash) {
				problem = "its hash differs from the head recorded for it earlier: the trail was rewritten"
			}
		}
		if problem != "" {
			v.BadSeq, v.Problem, v.Count = e.Seq, problem, check.Count
			return nil, nil
		}
		if len(e.State) > 0 {
			marks[e.Target] = &mark{seq: e.Seq, state: e.State, votesThrough: e.VotesThrough}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	v.Count = check.Count
	if problem := check.Finish(v.HeadSeq, v.HeadHash); problem != "" {
		v.Problem = problem
		return nil, nil
	}
	for _, k := range known {
		if k.Seq == 0 && !bytes.Equal(k.Hash, bq.GenesisHash) {
			v.Problem = "the head recorded for an empty trail is not the genesis hash"
			return nil, nil
		}
		if k.Seq > v.Count {
			v.Problem = fmt.Sprintf("the trail ends at event %d, before the head recorded earlier (event %d): events were removed", v.Count, k.Seq)
			return nil, nil
		}
	}
	return marks, nil
}

// AuditHead returns the newest event's sequence number and hash, to be written down
// somewhere else: a trail rewritten from scratch cannot match a head kept outside it.
func (s *Store) AuditHead(ctx context.Context) (int64, []byte, error) {
	var seq int64
	var hash []byte
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&seq, &hash)
		if errors.Is(err, sql.ErrNoRows) {
			seq, hash, err = 0, bq.GenesisHash, nil
		}
		return err
	})
	return seq, hash, err
}
