package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// eventSelect reads a confirmation's steps with the files they name, without content.
const eventSelect = `SELECT e.id, e.confirmation_id, e.time, e.actor, e.action, e.from_status, e.to_status, e.written, e.reason,
	e.detail, e.late, f.id, f.kind, f.media_type, f.sha256, f.size, f.signer_subject, f.signer_issuer, f.signer_serial,
	f.signer_fingerprint, f.signing_time, f.receive_time, f.received_by
	FROM confirmation_events e LEFT JOIN confirmation_files f ON f.id = e.file_id `

func scanStep(r scanner) (*bq.ConfirmationEvent, error) {
	var e bq.ConfirmationEvent
	var at int64
	var written sql.NullString
	var fid, fsize, fsigning, freceive sql.NullInt64
	var fkind, fmedia, fsha, fsubj, fiss, fser, ffp, fby sql.NullString
	if err := r.Scan(&e.ID, &e.ConfirmationID, &at, &e.Actor, &e.Action, &e.From, &e.To, &written, &e.Reason, &e.Detail, &e.Late,
		&fid, &fkind, &fmedia, &fsha, &fsize, &fsubj, &fiss, &fser, &ffp, &fsigning, &freceive, &fby); err != nil {
		return nil, err
	}
	e.Time = fromNanos(at)
	if written.Valid {
		if err := json.Unmarshal([]byte(written.String), &e.Written); err != nil {
			return nil, fmt.Errorf("confirmation step %d: written: %w", e.ID, err)
		}
	}
	if fid.Valid {
		e.File = &bq.ConfirmationFile{ID: fid.Int64, Kind: bq.FileKind(fkind.String), MediaType: fmedia.String, SHA256: fsha.String,
			Size: fsize.Int64, ReceiveTime: fromNanos(freceive.Int64), ReceivedBy: fby.String}
		if ffp.String != "" {
			e.File.Signer = &bq.SignerInfo{Subject: fsubj.String, Issuer: fiss.String, Serial: fser.String, Fingerprint: ffp.String}
			if fsigning.Int64 != 0 {
				e.File.Signer.SigningTime = fromNanos(fsigning.Int64)
			}
		}
	}
	return &e, nil
}

// withHistory replays each confirmation's steps onto it, and names its written choice.
func withHistory(ctx context.Context, tx *sql.Tx, cs []bq.Confirmation) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[int64]*bq.Confirmation, len(cs))
	ids := make([]string, len(cs))
	for i := range cs {
		byID[cs[i].ID] = &cs[i]
		ids[i] = fmt.Sprint(cs[i].ID)
	}
	// The ids are integers the store read itself: listing them beats a statement per
	// confirmation.
	events, err := collect(ctx, tx, scanStep, eventSelect+`WHERE e.confirmation_id IN (`+strings.Join(ids, ",")+`) ORDER BY e.id`)
	if err != nil {
		return err
	}
	for i := range events {
		byID[events[i].ConfirmationID].Apply(&events[i])
	}
	var texts []string
	var raw string
	if err := tx.QueryRowContext(ctx, `SELECT options FROM polls WHERE id = ?`, cs[0].PollID).Scan(&raw); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(raw), &texts); err != nil {
		return err
	}
	for i := range cs {
		if cs[i].Written != nil {
			cs[i].WrittenChoice = optionTexts(texts, cs[i].Written)
		}
	}
	return nil
}

// ConfirmationHistory returns a confirmation's steps, oldest first.
func (s *Store) ConfirmationHistory(ctx context.Context, pollID, id int64) ([]bq.ConfirmationEvent, error) {
	var out []bq.ConfirmationEvent
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if _, err := getConfirmation(ctx, tx, pollID, id); err != nil {
			return err
		}
		var err error
		out, err = collect(ctx, tx, scanStep, eventSelect+`WHERE e.confirmation_id = ? ORDER BY e.id`, id)
		return err
	})
	return out, err
}

// ConfirmationFile returns a file that came back for a confirmation, with its content
// when it was kept.
func (s *Store) ConfirmationFile(ctx context.Context, pollID, id, fileID int64) (*bq.ConfirmationFile, error) {
	var f *bq.ConfirmationFile
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		events, err := collect(ctx, tx, scanStep, eventSelect+`JOIN confirmations c ON c.id = e.confirmation_id
			WHERE c.poll_id = ? AND c.id = ? AND f.id = ?`, pollID, id, fileID)
		if err != nil {
			return err
		}
		if len(events) == 0 {
			return bq.Errorf(bq.CodeNotFound, "%s has no file %d", bq.ConfirmationName(pollID, id), fileID)
		}
		f = events[0].File
		return tx.QueryRowContext(ctx, `SELECT content FROM confirmation_files WHERE id = ?`, fileID).Scan(&f.Content)
	})
	return f, err
}

// FindConfirmationBySHA256 returns the confirmation whose issued document has this hex
// SHA-256.
func (s *Store) FindConfirmationBySHA256(ctx context.Context, digest string) (*bq.Confirmation, error) {
	var c *bq.Confirmation
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var pollID, id int64
		err := tx.QueryRowContext(ctx, `SELECT poll_id, id FROM confirmations WHERE sha256 = ?`, strings.ToLower(digest)).Scan(&pollID, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return bq.Errorf(bq.CodeNotFound, "no confirmation was issued with sha256 %s", digest)
		}
		if err != nil {
			return err
		}
		c, err = getConfirmation(ctx, tx, pollID, id)
		return err
	})
	return c, err
}

// ChangeConfirmation applies one step to a confirmation; see store.ConfirmationStore.
func (s *Store) ChangeConfirmation(ctx context.Context, a bq.Audit, pollID, id int64, action string, key bq.RequestKey,
	change func(*bq.Poll, *bq.Confirmation) (*bq.ConfirmationEvent, error)) (*bq.Confirmation, *bq.Poll, error) {
	var c *bq.Confirmation
	var p *bq.Poll
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var err error
		if p, err = getPoll(ctx, tx, pollID); err != nil {
			return err
		}
		if _, err = getConfirmation(ctx, tx, pollID, id); err != nil {
			return err
		}
		// The result of a retry is the confirmation as it is: the first call's step and
		// any taken since.
		if _, found, err := earlier(ctx, tx, a, action, key); err != nil || found {
			if found {
				c, err = getConfirmation(ctx, tx, pollID, id)
			}
			return err
		}
		if p.State != bq.StateConfirming && p.State != bq.StateFinalized {
			return bq.Errorf(bq.CodeFailedPrecondition, "%s is %s", bq.PollName(p.ID), p.State)
		}
		// Past the confirmation deadline the poll is settled first, as the scheduler
		// would have settled it: a step is then refused or recorded late whether or not
		// the scheduler has run yet.
		if p.State == bq.StateConfirming && !now.Before(p.ConfirmationDeadline) {
			if _, err := s.settle(ctx, tx, schedulerAudit, p, now); err != nil {
				return err
			}
		}
		if c, err = getConfirmation(ctx, tx, pollID, id); err != nil {
			return err
		}
		if e := c.MarkOverdue(now); e != nil {
			if err := s.saveStep(ctx, tx, schedulerAudit, "MarkOverdue", c, e); err != nil {
				return err
			}
		}
		e, err := change(p, c)
		if err != nil {
			return err
		}
		if e == nil {
			return fmt.Errorf("%s: the change took no step", c.Name())
		}
		if p.State == bq.StateFinalized && !e.Late {
			return bq.Errorf(bq.CodeFailedPrecondition, "%s is finalized: its result is official and no confirmation changes", bq.PollName(p.ID))
		}
		if err := s.saveStep(ctx, tx, a, action, c, e); err != nil {
			return err
		}
		if err := s.remember(ctx, tx, a, action, key, c.Name()); err != nil {
			return err
		}
		if c.Written != nil {
			c.WrittenChoice = optionTexts(p.Options, c.Written)
		}
		c.Choice = optionTexts(p.Options, c.Options)
		_, err = s.settle(ctx, tx, a, p, now)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return c, p, nil
}

// schedulerAudit names the store's own steps taken on the clock.
var schedulerAudit = bq.Audit{Actor: "system:scheduler", RequestID: "deadline"}

// saveStep stores a step, its file and the confirmation's new status, and appends its
// audit event.
func (s *Store) saveStep(ctx context.Context, tx *sql.Tx, a bq.Audit, action string, c *bq.Confirmation, e *bq.ConfirmationEvent) error {
	var fileID sql.NullInt64
	if f := e.File; f != nil {
		var subj, iss, ser, fp string
		var signing int64
		if f.Signer != nil {
			subj, iss, ser, fp = f.Signer.Subject, f.Signer.Issuer, f.Signer.Serial, f.Signer.Fingerprint
			if !f.Signer.SigningTime.IsZero() {
				signing = nanos(f.Signer.SigningTime)
			}
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO confirmation_files (confirmation_id, kind, media_type, sha256, size, content,
			signer_subject, signer_issuer, signer_serial, signer_fingerprint, signing_time, receive_time, received_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, f.Kind, f.MediaType, f.SHA256, f.Size, f.Content, subj, iss, ser, fp, signing, nanos(f.ReceiveTime), f.ReceivedBy)
		if err != nil {
			return err
		}
		if f.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		fileID = sql.NullInt64{Int64: f.ID, Valid: true}
	}
	var written sql.NullString
	if e.Written != nil {
		b, err := json.Marshal(e.Written)
		if err != nil {
			return err
		}
		written = sql.NullString{String: string(b), Valid: true}
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO confirmation_events (confirmation_id, time, actor, action, from_status, to_status,
		written, reason, detail, late, file_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, nanos(e.Time), e.Actor, e.Action, e.From, e.To, written, e.Reason, e.Detail, e.Late, fileID)
	if err != nil {
		return err
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE confirmations SET status = ? WHERE id = ?`, c.Status, c.ID); err != nil {
		return err
	}
	if e.Action == bq.ActionReissued {
		options, err := json.Marshal(c.Options)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE confirmations SET options = ?, issue_time = ?, sha256 = ?, size = ?, document = ? WHERE id = ?`,
			string(options), nanos(c.IssueTime), c.SHA256, c.Size, e.Document, c.ID); err != nil {
			return err
		}
	}
	return s.record(ctx, tx, a, action, c.Name(), "%s", stepSummary(c, e))
}

// stepSummary is the audit trail's line for a step.
func stepSummary(c *bq.Confirmation, e *bq.ConfirmationEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s → %s", bq.PersonLabel(c.FullName, c.PersonID), e.From, e.To)
	if e.Late {
		b.WriteString(" (late: recorded, not counted)")
	}
	switch e.Action {
	case bq.ActionRejected:
		fmt.Fprintf(&b, "; rejected (%s): %s", e.Reason, e.Detail)
	case bq.ActionDeclined:
		fmt.Fprintf(&b, "; declined: %s", e.Detail)
	case bq.ActionResolved:
		fmt.Fprintf(&b, "; resolved (%s): %s", e.Reason, e.Detail)
	case bq.ActionReissued:
		fmt.Fprintf(&b, "; re-issued confirming %v: %s; new document %d bytes, sha256 %s", e.Written, e.Detail, c.Size, c.SHA256)
	}
	if e.Written != nil {
		fmt.Fprintf(&b, "; written choice %v", e.Written)
	}
	if f := e.File; f != nil {
		fmt.Fprintf(&b, "; %s %s, %d bytes, sha256 %s", f.Kind, f.MediaType, f.Size, f.SHA256)
		if f.Signer != nil {
			fmt.Fprintf(&b, ", signed by %q (serial %s, issuer %q)", f.Signer.Subject, f.Signer.Serial, f.Signer.Issuer)
		}
	}
	return b.String()
}

// settle finalizes a confirming poll that is settled: every confirmation final, or the
// deadline passed (the due ones made overdue first). It reports whether it finalized.
func (s *Store) settle(ctx context.Context, tx *sql.Tx, a bq.Audit, p *bq.Poll, now time.Time) (bool, error) {
	if p.State != bq.StateConfirming {
		return false, nil
	}
	// Before the deadline a poll that still owes a confirmation is not settled: one count
	// says so, where reading every confirmation with its history would make each step
	// cost as much as the poll is large.
	if now.Before(p.ConfirmationDeadline) {
		var owed int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM confirmations WHERE poll_id = ? AND status IN ('awaiting_signature', 'rejected')`,
			p.ID).Scan(&owed); err != nil {
			return false, err
		}
		if owed > 0 {
			return false, nil
		}
	}
	cs, err := listConfirmations(ctx, tx, store.ConfirmationFilter{PollID: p.ID, Limit: -1})
	if err != nil {
		return false, err
	}
	for i := range cs {
		if e := cs[i].MarkOverdue(now); e != nil {
			if err := s.saveStep(ctx, tx, schedulerAudit, "MarkOverdue", &cs[i], e); err != nil {
				return false, err
			}
		}
	}
	if !bq.PollSettled(p, cs, now) {
		return false, nil
	}
	if err := p.Finalize(now); err != nil {
		return false, err
	}
	if err := savePollState(ctx, tx, p); err != nil {
		return false, err
	}
	counts := map[bq.ConfirmationStatus]int{}
	for _, c := range cs {
		counts[c.Status]++
	}
	return true, s.record(ctx, tx, a, "FinalizePoll", bq.PollName(p.ID), "finalized %q: %d signed, %d mismatched, %d declined, %d overdue of %d confirmations",
		p.Title, counts[bq.StatusSigned], counts[bq.StatusMismatch], counts[bq.StatusDeclined], counts[bq.StatusOverdue], len(cs))
}

// SettleDuePolls makes overdue every confirmation past its deadline and finalizes the
// confirming polls that are settled, returning their ids.
func (s *Store) SettleDuePolls(ctx context.Context, a bq.Audit) ([]int64, error) {
	var done []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		polls, err := collect(ctx, tx, scanPoll, `SELECT `+pollColumns+` FROM polls WHERE state = 'confirming' AND confirmation_deadline <= ?`, nanos(now))
		if err != nil {
			return err
		}
		for i := range polls {
			ok, err := s.settle(ctx, tx, a, &polls[i], now)
			if err != nil {
				return err
			}
			if ok {
				done = append(done, polls[i].ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return done, nil
}
