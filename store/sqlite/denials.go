package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
)

// Repeated denials. A run is a series of denials with the same actor, credential, action,
// target and reason, from the first for up to denialWindow. The first is appended to the
// trail at once, as any denial; the repeats are only counted in audit_denials, outside
// the chain, and folded into one event when the run ends: at the first write after its
// window closes, or at Close. Events in the chain are never rewritten, so a run costs at
// most two events however long it is.
const (
	denialWindow = 10 * time.Minute
	// maxDenialRuns bounds the runs one caller (actor and credential) has open at once.
	// Denials that would open another, say one per id the caller invents, are counted in
	// the caller's single overflow run, so a caller adds at most 2×maxDenialRuns+1 events
	// per window whatever it tries.
	maxDenialRuns = 16
)

// The statements every denial and every write runs (TestRecordUsesIndexes checks them).
const (
	countInRun = `UPDATE audit_denials
		SET repeats = repeats + 1, from_time = CASE WHEN repeats = 0 THEN ? ELSE from_time END, to_time = ?, request_id = ?
		WHERE actor = ? AND credential = ? AND action = ? AND target = ? AND reason = ? AND first_seq > 0`
	openRuns = `SELECT count(*) FROM audit_denials WHERE actor = ? AND credential = ? AND first_seq > 0`
	dueRuns  = `SELECT actor, credential, action, target, reason, first_seq, repeats, from_time, to_time, request_id, latest
		FROM audit_denials WHERE fold_time <= ? ORDER BY fold_time, first_seq`
)

// countDenial counts e in its open run, or in the caller's overflow run when the caller
// has too many open; it reports whether e was counted, and so needs no event of its own.
func countDenial(ctx context.Context, tx *sql.Tx, e *bq.AuditEvent) (bool, error) {
	t := nanos(e.Time)
	res, err := tx.ExecContext(ctx, countInRun, t, t, e.RequestID, e.Actor, e.Credential, e.Action, e.Target, e.Summary)
	if err != nil {
		return false, err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return n > 0, err
	}
	var open int
	if err := tx.QueryRowContext(ctx, openRuns, e.Actor, e.Credential).Scan(&open); err != nil {
		return false, err
	}
	if open < maxDenialRuns {
		return false, nil
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO audit_denials
		(actor, credential, action, target, reason, first_seq, repeats, from_time, to_time, request_id, latest, fold_time)
		VALUES (?, ?, '', '', '', 0, 1, ?, ?, ?, ?, ?)
		ON CONFLICT (actor, credential, action, target, reason) DO UPDATE
		SET repeats = repeats + 1, to_time = excluded.to_time, request_id = excluded.request_id, latest = excluded.latest`,
		e.Actor, e.Credential, t, t, e.RequestID, fmt.Sprintf("%s %s: %s", e.Action, e.Target, e.Summary), t+denialWindow.Nanoseconds())
	return err == nil, err
}

// startDenialRun opens the run that e, just appended, is the first of.
func startDenialRun(ctx context.Context, tx *sql.Tx, e *bq.AuditEvent) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_denials
		(actor, credential, action, target, reason, first_seq, repeats, from_time, to_time, request_id, latest, fold_time)
		VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, '', '', ?)`,
		e.Actor, e.Credential, e.Action, e.Target, e.Summary, e.Seq, nanos(e.Time)+denialWindow.Nanoseconds())
	return err
}

// foldDenials ends the runs whose window closed by now (every run, with all) and appends
// one event for each that counted repeats. Looking costs one index probe when none is due,
// so every write can afford it.
func foldDenials(ctx context.Context, tx *sql.Tx, now time.Time, all bool) error {
	until := nanos(now)
	if all {
		until = math.MaxInt64
	}
	type run struct {
		actor, credential, action, target, reason string
		firstSeq, repeats, from, to               int64
		requestID, latest                         string
	}
	var runs []run
	rows, err := tx.QueryContext(ctx, dueRuns, until)
	if err != nil {
		return err
	}
	for rows.Next() {
		var r run
		if err := rows.Scan(&r.actor, &r.credential, &r.action, &r.target, &r.reason, &r.firstSeq, &r.repeats, &r.from, &r.to, &r.requestID, &r.latest); err != nil {
			rows.Close()
			return err
		}
		runs = append(runs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(runs) == 0 {
		return nil
	}
	for _, r := range runs {
		if r.repeats == 0 {
			continue
		}
		span := fmt.Sprintf("between %s and %s", stamp(r.from), stamp(r.to))
		e := &bq.AuditEvent{Time: now, Actor: r.actor, Credential: r.credential, Action: r.action, Outcome: bq.OutcomeDenied,
			Target: r.target, RequestID: r.requestID}
		if r.firstSeq > 0 {
			e.Summary = fmt.Sprintf("denied %d more times %s, as at seq %d: %s", r.repeats, span, r.firstSeq, r.reason)
		} else {
			e.Action = "DeniedCalls"
			e.Summary = fmt.Sprintf("denied %d more calls %s, not recorded one by one: %d kinds of denial were already being counted for this caller; the last: %s",
				r.repeats, span, maxDenialRuns, r.latest)
		}
		if err := appendEvent(ctx, tx, e); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM audit_denials WHERE fold_time <= ?`, until)
	return err
}

// foldDueDenials folds the runs whose window has closed, as every write does first. It
// looks only when one may be due: denialsDue is when the earliest run ends, set from what
// the transaction reads. A rollback cannot make it wrong: only RecordDenied opens runs,
// and it resets denialsDue; a fold leaves it where it was, so if the fold rolls back the
// next write folds again. (Runs opened by another process are seen at this store's next
// denial, or at Close.) folded says whether it folded, and so may have appended events.
func (s *Store) foldDueDenials(ctx context.Context, tx *sql.Tx, now time.Time) (folded bool, err error) {
	if nanos(now) < s.denialsDue.Load() {
		return false, nil
	}
	var next sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT min(fold_time) FROM audit_denials`).Scan(&next); err != nil {
		return false, err
	}
	switch {
	case !next.Valid:
		s.denialsDue.Store(math.MaxInt64)
	case next.Int64 > nanos(now):
		s.denialsDue.Store(next.Int64)
	default:
		return true, foldDenials(ctx, tx, now, false)
	}
	return false, nil
}

// endDenialRuns folds every open run into the trail; Close calls it, so that a store at
// rest holds no count outside the chain.
func (s *Store) endDenialRuns(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return foldDenials(ctx, tx, s.now(), true) })
}

func stamp(n int64) string { return fromNanos(n).Format("2006-01-02 15:04:05.000 MST") }
