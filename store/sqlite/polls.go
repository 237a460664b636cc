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

const pollColumns = `id, body_id, group_id, kind, title, question, description, options, multiple_choice, zalo_ref,
	deadline, decision_rule, confirmation_deadline, classification, state, cancel_reason, opened_by, electorate_hash,
	eligible, create_time, close_time, update_time`

func scanPoll(r scanner) (*bq.Poll, error) {
	var p bq.Poll
	var options string
	var deadline, confirm, ct, closed, ut int64
	if err := r.Scan(&p.ID, &p.BodyID, &p.GroupID, &p.Kind, &p.Title, &p.Question, &p.Description, &options, &p.MultipleChoice,
		&p.ZaloRef, &deadline, &p.Rule, &confirm, &p.Classification, &p.State, &p.CancelReason, &p.OpenedBy, &p.ElectorateHash,
		&p.Eligible, &ct, &closed, &ut); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(options), &p.Options); err != nil {
		return nil, fmt.Errorf("poll %d options: %w", p.ID, err)
	}
	p.Deadline, p.CreateTime, p.UpdateTime = fromNanos(deadline), fromNanos(ct), fromNanos(ut)
	if confirm != 0 {
		p.ConfirmationDeadline = fromNanos(confirm)
	}
	if closed != 0 {
		p.CloseTime = fromNanos(closed)
	}
	return &p, nil
}

func getPoll(ctx context.Context, tx *sql.Tx, id int64) (*bq.Poll, error) {
	p, err := scanPoll(tx.QueryRowContext(ctx, `SELECT `+pollColumns+` FROM polls WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bq.Errorf(bq.CodeNotFound, "polls/%d does not exist", id)
	}
	return p, err
}

// CreatePoll opens a poll in a group and freezes its electorate: the active delegates who
// are the group's leader or members at this moment (Điều 3.5: nobody added later votes).
// A retry with the same request id returns the poll the first call created.
func (s *Store) CreatePoll(ctx context.Context, a bq.Audit, p *bq.Poll, requestID string) (*bq.Poll, error) {
	var out *bq.Poll
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if requestID != "" {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM polls WHERE request_id = ? AND request_id <> ''`, requestID).Scan(&id)
			if err == nil {
				if out, err = getPoll(ctx, tx, id); err != nil {
					return err
				}
				// A retry is the same caller opening the same poll; anything else reusing
				// the id must neither open a second poll nor see the first.
				if out.OpenedBy != a.Actor || out.BodyID != p.BodyID || out.GroupID != p.GroupID || out.Title != p.Title {
					out = nil
					return bq.Errorf(bq.CodeAlreadyExists, "request_id %q was used for another poll", requestID)
				}
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		body, err := getGroup(ctx, tx, p.BodyID)
		if bq.ErrorCode(err) == bq.CodeNotFound {
			return bq.Invalid("poll.body", "groups/%d does not exist", p.BodyID)
		}
		if err != nil {
			return err
		}
		group := body
		if p.GroupID != p.BodyID {
			if group, err = getGroup(ctx, tx, p.GroupID); bq.ErrorCode(err) == bq.CodeNotFound {
				return bq.Invalid("poll.group", "groups/%d does not exist", p.GroupID)
			} else if err != nil {
				return err
			}
		}
		if err := bq.CheckVenue(body, group); err != nil {
			return err
		}
		var voters []int64
		for _, m := range group.Members {
			if m.Role.Votes() {
				voters = append(voters, m.PersonID)
			}
		}
		if len(voters) == 0 {
			return bq.Errorf(bq.CodeFailedPrecondition, "%q has no delegates to vote", group.DisplayName)
		}
		c := *p
		now := s.now()
		c.State, c.OpenedBy, c.CreateTime, c.UpdateTime = bq.StateOpen, a.Actor, now.UTC(), now.UTC()
		c.ElectorateHash, c.Eligible = bq.ElectorateHash(voters), len(voters)
		options, err := json.Marshal(c.Options)
		if err != nil {
			return err
		}
		var confirm int64
		if !c.ConfirmationDeadline.IsZero() {
			confirm = nanos(c.ConfirmationDeadline)
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO polls (body_id, group_id, kind, title, question, description, options,
			multiple_choice, zalo_ref, deadline, decision_rule, confirmation_deadline, classification, state, opened_by,
			electorate_hash, eligible, request_id, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.BodyID, c.GroupID, c.Kind, c.Title, c.Question, c.Description, string(options), c.MultipleChoice, c.ZaloRef,
			nanos(c.Deadline), c.Rule, confirm, c.Classification, c.State, c.OpenedBy, c.ElectorateHash, c.Eligible,
			requestID, nanos(now), nanos(now))
		if err != nil {
			return err
		}
		if c.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO poll_electorate (poll_id, person_id, full_name, zalo_name, phone)
			SELECT ?, p.id, p.full_name, p.zalo_name, p.phone FROM people p
			JOIN group_members m ON m.person_id = p.id AND m.group_id = ? AND m.role IN ('leader', 'member')`, c.ID, c.GroupID); err != nil {
			return err
		}
		for i := range c.Options {
			if _, err := tx.ExecContext(ctx, `INSERT INTO poll_counts (poll_id, option, count) VALUES (?, ?, 0)`, c.ID, i); err != nil {
				return err
			}
		}
		out = &c
		return s.record(ctx, tx, a, "CreatePoll", bq.PollName(c.ID), "opened %s %q in %q: %d eligible, rule %s, deadline %s",
			c.Kind, c.Title, group.DisplayName, c.Eligible, c.Rule, c.Deadline.Format(time.RFC3339))
	})
	return out, err
}

// GetPoll returns a poll and its frozen electorate, in name order of the store.
func (s *Store) GetPoll(ctx context.Context, id int64) (*bq.Poll, []bq.Voter, error) {
	var p *bq.Poll
	var voters []bq.Voter
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if p, err = getPoll(ctx, tx, id); err != nil {
			return err
		}
		voters, err = electorate(ctx, tx, id)
		return err
	})
	return p, voters, err
}

func electorate(ctx context.Context, tx *sql.Tx, pollID int64) ([]bq.Voter, error) {
	return collect(ctx, tx, func(r scanner) (*bq.Voter, error) {
		var v bq.Voter
		return &v, r.Scan(&v.PersonID, &v.FullName, &v.ZaloName, &v.Phone)
	}, `SELECT person_id, full_name, zalo_name, phone FROM poll_electorate WHERE poll_id = ? ORDER BY person_id`, pollID)
}

// PollGroups returns the body and the group of a poll, for access checks.
func (s *Store) PollGroups(ctx context.Context, id int64) (body, group int64, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT body_id, group_id FROM polls WHERE id = ?`, id).Scan(&body, &group)
		if errors.Is(err, sql.ErrNoRows) {
			return bq.Errorf(bq.CodeNotFound, "polls/%d does not exist", id)
		}
		return err
	})
	return body, group, err
}

// ListPolls returns polls newest first.
func (s *Store) ListPolls(ctx context.Context, f store.PollFilter) ([]bq.Poll, error) {
	where, args := []string{"1 = 1"}, []any{}
	add := func(cond string, arg any) { where, args = append(where, cond), append(args, arg) }
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	if f.GroupID != 0 {
		add("group_id = ?", f.GroupID)
	}
	if f.MemberID != 0 {
		add("group_id IN (SELECT group_id FROM group_members WHERE person_id = ?)", f.MemberID)
	}
	if f.State != "" {
		add("state = ?", f.State)
	}
	if !f.Since.IsZero() {
		add("create_time >= ?", nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add("create_time < ?", nanos(f.Until))
	}
	args = append(args, f.Limit)
	var out []bq.Poll
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = collect(ctx, tx, scanPoll, `SELECT `+pollColumns+` FROM polls WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT ?`, args...)
		return err
	})
	return out, err
}

// ClosePoll closes an open poll.
func (s *Store) ClosePoll(ctx context.Context, a bq.Audit, id int64) (*bq.Poll, error) {
	return s.transition(ctx, a, id, "ClosePoll", func(p *bq.Poll) error {
		if p.State != bq.StateOpen {
			return bq.Errorf(bq.CodeFailedPrecondition, "polls/%d is %s; only an open poll can be closed", id, p.State)
		}
		p.State, p.CloseTime = bq.StateClosed, s.now().UTC()
		return nil
	}, func(p *bq.Poll) string { return fmt.Sprintf("closed %q", p.Title) })
}

// CancelPoll cancels an open or closed poll.
func (s *Store) CancelPoll(ctx context.Context, a bq.Audit, id int64, reason string) (*bq.Poll, error) {
	return s.transition(ctx, a, id, "CancelPoll", func(p *bq.Poll) error {
		if p.State != bq.StateOpen && p.State != bq.StateClosed {
			return bq.Errorf(bq.CodeFailedPrecondition, "polls/%d is %s; only an open or closed poll can be cancelled", id, p.State)
		}
		if p.CloseTime.IsZero() {
			p.CloseTime = s.now().UTC()
		}
		p.State, p.CancelReason = bq.StateCancelled, reason
		return nil
	}, func(p *bq.Poll) string { return fmt.Sprintf("cancelled %q: %s", p.Title, reason) })
}

// transition changes a poll's state in one transaction, bumps its version and appends the
// event.
func (s *Store) transition(ctx context.Context, a bq.Audit, id int64, action string, change func(*bq.Poll) error, summary func(*bq.Poll) string) (*bq.Poll, error) {
	var out *bq.Poll
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := getPoll(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := change(p); err != nil {
			return err
		}
		if err := savePollState(ctx, tx, p, s.now()); err != nil {
			return err
		}
		out = p
		return s.record(ctx, tx, a, action, bq.PollName(id), "%s", summary(p))
	})
	return out, err
}

func savePollState(ctx context.Context, tx *sql.Tx, p *bq.Poll, now time.Time) error {
	p.UpdateTime = now.UTC()
	var closed int64
	if !p.CloseTime.IsZero() {
		closed = nanos(p.CloseTime)
	}
	_, err := tx.ExecContext(ctx, `UPDATE polls SET state = ?, cancel_reason = ?, close_time = ?, update_time = ?, version = version + 1 WHERE id = ?`,
		p.State, p.CancelReason, closed, nanos(p.UpdateTime), p.ID)
	return err
}

// duePolls selects the open polls past their deadline. Ordered by deadline, it reads the
// partial index of open polls; ordered by anything else, SQLite would scan every poll
// ever held (TestVotePathUsesIndexes checks this very text).
const duePolls = `SELECT ` + pollColumns + ` FROM polls WHERE state = 'open' AND deadline <= ? ORDER BY deadline`

// CloseDuePolls closes every open poll whose deadline has passed and returns their ids.
func (s *Store) CloseDuePolls(ctx context.Context, a bq.Audit) ([]int64, error) {
	var closed []int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		rows, err := tx.QueryContext(ctx, duePolls, nanos(now))
		if err != nil {
			return err
		}
		var due []*bq.Poll
		for rows.Next() {
			p, err := scanPoll(rows)
			if err != nil {
				rows.Close()
				return err
			}
			due = append(due, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, p := range due {
			p.State, p.CloseTime = bq.StateClosed, p.Deadline
			if err := savePollState(ctx, tx, p, now); err != nil {
				return err
			}
			if err := s.record(ctx, tx, a, "ClosePoll", bq.PollName(p.ID), "closed %q at its deadline", p.Title); err != nil {
				return err
			}
			closed = append(closed, p.ID)
		}
		return nil
	})
	if err != nil {
		return nil, err // rolled back: nothing closed
	}
	return closed, nil
}

// NextDeadline returns the earliest deadline of the open polls.
func (s *Store) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	var n sql.NullInt64
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT min(deadline) FROM polls WHERE state = 'open'`).Scan(&n)
	})
	if err != nil || !n.Valid {
		return time.Time{}, false, err
	}
	return fromNanos(n.Int64), true, nil
}
