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

// CreatePoll opens a poll in a group; the domain freezes its electorate (Poll.Open), and
// the store keeps it with the names and phones of this moment. A retry with the same
// request key returns the poll the first call opened.
func (s *Store) CreatePoll(ctx context.Context, a bq.Audit, p *bq.Poll, key bq.RequestKey) (*bq.Poll, error) {
	var out *bq.Poll
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if prior, found, err := earlier(ctx, tx, a, "CreatePoll", key); err != nil || found {
			if found {
				out, err = pollByName(ctx, tx, prior)
			}
			return err
		}
		body, err := getGroup(ctx, tx, p.BodyID)
		if bq.ErrorCode(err) == bq.CodeNotFound {
			return bq.Invalid("poll.body", "%s does not exist", bq.GroupName(p.BodyID))
		}
		if err != nil {
			return err
		}
		group := body
		if p.GroupID != p.BodyID {
			if group, err = getGroup(ctx, tx, p.GroupID); bq.ErrorCode(err) == bq.CodeNotFound {
				return bq.Invalid("poll.group", "%s does not exist", bq.GroupName(p.GroupID))
			} else if err != nil {
				return err
			}
		}
		c := *p
		voters, err := c.Open(body, group, a.Actor, s.now())
		if err != nil {
			return err
		}
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
			key.ID, nanos(c.CreateTime), nanos(c.UpdateTime))
		if err != nil {
			return err
		}
		if c.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		// Exactly the voters the domain chose, with their names as they are now.
		for _, id := range voters {
			if _, err := tx.ExecContext(ctx, `INSERT INTO poll_electorate (poll_id, person_id, full_name, zalo_name, phone)
				SELECT ?, id, full_name, zalo_name, phone FROM people WHERE id = ?`, c.ID, id); err != nil {
				return err
			}
		}
		for i := range c.Options {
			if _, err := tx.ExecContext(ctx, `INSERT INTO poll_counts (poll_id, option, count) VALUES (?, ?, 0)`, c.ID, i); err != nil {
				return err
			}
		}
		out = &c
		if err := s.remember(ctx, tx, a, "CreatePoll", key, bq.PollName(c.ID)); err != nil {
			return err
		}
		return s.record(ctx, tx, a, "CreatePoll", bq.PollName(c.ID), "opened %s %q in %q: %d eligible, rule %s, deadline %s",
			c.Kind, c.Title, group.DisplayName, c.Eligible, c.Rule, c.Deadline.Format(time.RFC3339))
	})
	return out, err
}

// pollByName reads the poll a request's result names.
func pollByName(ctx context.Context, tx *sql.Tx, name string) (*bq.Poll, error) {
	id, err := bq.ParseName("result", bq.Polls, name)
	if err != nil {
		return nil, fmt.Errorf("request result %q: %w", name, err)
	}
	return getPoll(ctx, tx, id)
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
		var active bool
		err := r.Scan(&v.PersonID, &v.FullName, &v.ZaloName, &v.Phone, &active)
		v.Deactivated = !active
		return &v, err
	}, `SELECT e.person_id, e.full_name, e.zalo_name, e.phone, p.active FROM poll_electorate e JOIN people p ON p.id = e.person_id
		WHERE e.poll_id = ? ORDER BY e.person_id`, pollID)
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
func (s *Store) ClosePoll(ctx context.Context, a bq.Audit, id int64, key bq.RequestKey) (*bq.Poll, error) {
	return s.transition(ctx, a, id, "ClosePoll", key, func(p *bq.Poll) error { return p.Close(s.now()) },
		func(p *bq.Poll) string { return fmt.Sprintf("closed %q", p.Title) })
}

// CancelPoll cancels an open or closed poll.
func (s *Store) CancelPoll(ctx context.Context, a bq.Audit, id int64, reason string, key bq.RequestKey) (*bq.Poll, error) {
	return s.transition(ctx, a, id, "CancelPoll", key, func(p *bq.Poll) error { return p.Cancel(s.now(), reason) },
		func(p *bq.Poll) string { return fmt.Sprintf("cancelled %q: %s", p.Title, reason) })
}

// transition loads a poll, lets the domain change its state, and saves it with its event,
// in one transaction. A retry of the same request returns the poll as it is now.
func (s *Store) transition(ctx context.Context, a bq.Audit, id int64, action string, key bq.RequestKey, change func(*bq.Poll) error, summary func(*bq.Poll) string) (*bq.Poll, error) {
	var out *bq.Poll
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if prior, found, err := earlier(ctx, tx, a, action, key); err != nil || found {
			if found {
				out, err = pollByName(ctx, tx, prior)
			}
			return err
		}
		p, err := getPoll(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := change(p); err != nil {
			return err
		}
		if err := savePollState(ctx, tx, p); err != nil {
			return err
		}
		out = p
		if err := s.remember(ctx, tx, a, action, key, bq.PollName(id)); err != nil {
			return err
		}
		return s.record(ctx, tx, a, action, bq.PollName(id), "%s", summary(p))
	})
	return out, err
}

// savePollState writes what a transition decided.
func savePollState(ctx context.Context, tx *sql.Tx, p *bq.Poll) error {
	var closed, confirm int64
	if !p.CloseTime.IsZero() {
		closed = nanos(p.CloseTime)
	}
	if !p.ConfirmationDeadline.IsZero() {
		confirm = nanos(p.ConfirmationDeadline)
	}
	_, err := tx.ExecContext(ctx, `UPDATE polls SET state = ?, cancel_reason = ?, close_time = ?, confirmation_deadline = ?,
		update_time = ?, version = version + 1 WHERE id = ?`,
		p.State, p.CancelReason, closed, confirm, nanos(p.UpdateTime), p.ID)
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
			if !p.CloseAtDeadline(now) {
				continue
			}
			if err := savePollState(ctx, tx, p); err != nil {
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

// NextDeadline returns the earliest deadline the scheduler keeps: an open poll's, or a
// confirming poll's confirmation deadline.
func (s *Store) NextDeadline(ctx context.Context) (time.Time, bool, error) {
	var n sql.NullInt64
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT min(d) FROM (SELECT min(deadline) AS d FROM polls WHERE state = 'open'
			UNION ALL SELECT min(confirmation_deadline) FROM polls WHERE state = 'confirming')`).Scan(&n)
	})
	if err != nil || !n.Valid {
		return time.Time{}, false, err
	}
	return fromNanos(n.Int64), true, nil
}
