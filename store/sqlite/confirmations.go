package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// confirmationSelect reads confirmations without their documents, with the delegate's name
// as in the electorate, the poll's options and the vote record the choice came from.
const confirmationSelect = `SELECT c.id, c.poll_id, c.person_id, e.full_name, p.options, c.options, c.vote_id,
	v.record_time, v.source, v.note, c.issue_time, c.deadline, c.status, c.sha256, c.size FROM confirmations c
	JOIN poll_electorate e ON e.poll_id = c.poll_id AND e.person_id = c.person_id
	JOIN polls p ON p.id = c.poll_id
	JOIN votes v ON v.id = c.vote_id `

func scanConfirmation(r scanner) (*bq.Confirmation, error) {
	var c bq.Confirmation
	var pollOptions, options string
	var voteTime, issue, deadline int64
	if err := r.Scan(&c.ID, &c.PollID, &c.PersonID, &c.FullName, &pollOptions, &options, &c.VoteID, &voteTime, &c.VoteSource,
		&c.VoteNote, &issue, &deadline, &c.Status, &c.SHA256, &c.Size); err != nil {
		return nil, err
	}
	var texts []string
	if err := json.Unmarshal([]byte(pollOptions), &texts); err != nil {
		return nil, fmt.Errorf("poll %d options: %w", c.PollID, err)
	}
	if err := json.Unmarshal([]byte(options), &c.Options); err != nil {
		return nil, fmt.Errorf("confirmation %d options: %w", c.ID, err)
	}
	for _, o := range c.Options {
		if o < 0 || o >= len(texts) {
			return nil, fmt.Errorf("confirmation %d: option %d out of range", c.ID, o)
		}
	}
	c.Choice = optionTexts(texts, c.Options)
	c.VoteTime, c.IssueTime, c.Deadline = fromNanos(voteTime), fromNanos(issue), fromNanos(deadline)
	return &c, nil
}

// issued reports whether a poll's state means its confirmations were issued.
func issued(p *bq.Poll) bool {
	return p.State == bq.StateConfirming || p.State == bq.StateFinalized
}

// PlanConfirmations reads what IssueConfirmations will write. The issue time is the
// store's clock, to the nanosecond it stores, so that documents drawn from the plan show
// the time kept with them.
func (s *Store) PlanConfirmations(ctx context.Context, pollID int64, deadline time.Time) (*store.ConfirmationPlan, error) {
	issue := fromNanos(nanos(s.now()))
	var plan *store.ConfirmationPlan
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		plan, err = planConfirmations(ctx, tx, pollID, issue, deadline)
		return err
	})
	return plan, err
}

// planConfirmations plans in tx: the confirmations already issued, or one per current
// ballot, numbered after the newest confirmation of any poll, in person order.
func planConfirmations(ctx context.Context, tx *sql.Tx, pollID int64, issue, deadline time.Time) (*store.ConfirmationPlan, error) {
	p, err := getPoll(ctx, tx, pollID)
	if err != nil {
		return nil, err
	}
	plan := &store.ConfirmationPlan{Poll: p}
	if err := tx.QueryRowContext(ctx, `SELECT version FROM polls WHERE id = ?`, pollID).Scan(&plan.Version); err != nil {
		return nil, err
	}
	if issued(p) {
		plan.Issued, plan.Deadline = true, p.ConfirmationDeadline
		if plan.Confirmations, err = listConfirmations(ctx, tx, store.ConfirmationFilter{PollID: pollID, Limit: -1}); err != nil {
			return nil, err
		}
		if len(plan.Confirmations) > 0 {
			plan.IssueTime = plan.Confirmations[0].IssueTime
		}
		return plan, nil
	}
	next := *p
	if err := next.StartConfirming(issue, deadline); err != nil {
		return nil, err
	}
	plan.IssueTime, plan.Deadline = issue, next.ConfirmationDeadline
	votes, err := collect(ctx, tx, scanVote, voteSelect+`JOIN ballots b ON b.vote_id = v.id WHERE b.poll_id = ? ORDER BY b.person_id`, pollID)
	if err != nil {
		return nil, err
	}
	var last int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM confirmations`).Scan(&last); err != nil {
		return nil, err
	}
	for i := range votes {
		c, err := bq.NewConfirmation(last+int64(i)+1, p, &votes[i], plan.IssueTime, plan.Deadline)
		if err != nil {
			return nil, fmt.Errorf("plan %s: %w", bq.PollName(pollID), err)
		}
		plan.Confirmations = append(plan.Confirmations, *c)
	}
	return plan, nil
}

// samePlan reports whether two plans issue the same confirmations.
func samePlan(a, b *store.ConfirmationPlan) bool {
	if a.Version != b.Version || !a.IssueTime.Equal(b.IssueTime) || !a.Deadline.Equal(b.Deadline) || len(a.Confirmations) != len(b.Confirmations) {
		return false
	}
	for i := range a.Confirmations {
		x, y := &a.Confirmations[i], &b.Confirmations[i]
		if x.ID != y.ID || x.PollID != y.PollID || x.PersonID != y.PersonID || x.VoteID != y.VoteID || !slices.Equal(x.Options, y.Options) {
			return false
		}
	}
	return true
}

// IssueConfirmations issues a plan's confirmations with their documents, in one
// transaction: it plans again inside it and goes ahead only if that gives the same plan
// (the poll unchanged since, the ids still free).
func (s *Store) IssueConfirmations(ctx context.Context, a bq.Audit, plan *store.ConfirmationPlan, documents [][]byte, key bq.RequestKey) (*bq.Poll, []bq.Confirmation, error) {
	const action = "GenerateConfirmations"
	var poll *bq.Poll
	var out []bq.Confirmation
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if prior, found, err := earlier(ctx, tx, a, action, key); err != nil || found {
			if found {
				if poll, err = pollByName(ctx, tx, prior); err == nil {
					out, err = listConfirmations(ctx, tx, store.ConfirmationFilter{PollID: poll.ID, Limit: -1})
				}
			}
			return err
		}
		if plan == nil || plan.Poll == nil {
			return errors.New("issue confirmations: no plan")
		}
		now, err := planConfirmations(ctx, tx, plan.Poll.ID, plan.IssueTime, plan.Deadline)
		if err != nil {
			return err
		}
		if now.Issued {
			// Issued already (by an earlier call, or one that raced this one): the same
			// confirmations, never new ones.
			poll, out = now.Poll, now.Confirmations
			return s.remember(ctx, tx, a, action, key, bq.PollName(poll.ID))
		}
		if plan.Issued || !samePlan(plan, now) {
			return store.ErrStalePlan
		}
		if len(documents) != len(plan.Confirmations) {
			return fmt.Errorf("issue confirmations of %s: %d documents for %d confirmations", bq.PollName(plan.Poll.ID), len(documents), len(plan.Confirmations))
		}
		if plan.IssueTime.After(s.now()) {
			return fmt.Errorf("issue confirmations of %s: the issue time %s is ahead of the clock", bq.PollName(plan.Poll.ID), plan.IssueTime)
		}
		p := now.Poll
		if err := p.StartConfirming(plan.IssueTime, plan.Deadline); err != nil {
			return err
		}
		if err := savePollState(ctx, tx, p); err != nil {
			return err
		}
		for i := range now.Confirmations {
			c := &now.Confirmations[i]
			doc := documents[i]
			if len(doc) == 0 {
				return fmt.Errorf("issue %s: an empty document", c.Name())
			}
			c.SetDocument(doc)
			options, err := json.Marshal(c.Options)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO confirmations (id, poll_id, person_id, vote_id, options, issue_time,
				deadline, status, sha256, size, document) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.ID, c.PollID, c.PersonID, c.VoteID, string(options), nanos(c.IssueTime), nanos(c.Deadline), c.Status,
				c.SHA256, c.Size, doc); err != nil {
				return err
			}
			if err := s.record(ctx, tx, a, action, c.Name(), "issued to %s, confirming %s (votes row %d): %d bytes, sha256 %s",
				bq.PersonLabel(c.FullName, c.PersonID), quoteAll(c.Choice), c.VoteID, c.Size, c.SHA256); err != nil {
				return err
			}
		}
		poll, out = p, now.Confirmations
		if err := s.remember(ctx, tx, a, action, key, bq.PollName(p.ID)); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a, action, bq.PollName(p.ID), "issued %d written confirmations of %q, due %s: confirming",
			len(out), p.Title, p.ConfirmationDeadline.Format(time.RFC3339)); err != nil {
			return err
		}
		// A poll nobody voted in owes no confirmation: it is settled at once.
		_, err = s.settle(ctx, tx, a, p, plan.IssueTime)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return poll, out, nil
}

// listConfirmations reads confirmations in person order; a negative limit reads all.
func listConfirmations(ctx context.Context, tx *sql.Tx, f store.ConfirmationFilter) ([]bq.Confirmation, error) {
	where, args := []string{"c.poll_id = ?", "c.person_id > ?"}, []any{f.PollID, f.AfterPerson}
	if f.PersonID != 0 {
		where, args = append(where, "c.person_id = ?"), append(args, f.PersonID)
	}
	if f.Status != "" {
		where, args = append(where, "c.status = ?"), append(args, f.Status)
	}
	args = append(args, f.Limit)
	cs, err := collect(ctx, tx, scanConfirmation, confirmationSelect+`WHERE `+strings.Join(where, " AND ")+` ORDER BY c.person_id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	return cs, withHistory(ctx, tx, cs)
}

// ListConfirmations returns a poll's confirmations in person order.
func (s *Store) ListConfirmations(ctx context.Context, f store.ConfirmationFilter) ([]bq.Confirmation, error) {
	var out []bq.Confirmation
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if _, err := getPoll(ctx, tx, f.PollID); err != nil {
			return err
		}
		var err error
		out, err = listConfirmations(ctx, tx, f)
		return err
	})
	return out, err
}

func getConfirmation(ctx context.Context, tx *sql.Tx, pollID, id int64) (*bq.Confirmation, error) {
	c, err := scanConfirmation(tx.QueryRowContext(ctx, confirmationSelect+`WHERE c.id = ? AND c.poll_id = ?`, id, pollID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bq.Errorf(bq.CodeNotFound, "%s does not exist", bq.ConfirmationName(pollID, id))
	}
	if err != nil {
		return nil, err
	}
	cs := []bq.Confirmation{*c}
	if err := withHistory(ctx, tx, cs); err != nil {
		return nil, err
	}
	return &cs[0], nil
}

// GetConfirmation returns one confirmation, without its document.
func (s *Store) GetConfirmation(ctx context.Context, pollID, id int64) (*bq.Confirmation, error) {
	var c *bq.Confirmation
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = getConfirmation(ctx, tx, pollID, id)
		return err
	})
	return c, err
}

// ConfirmationDocument returns a confirmation and its document, as issued.
func (s *Store) ConfirmationDocument(ctx context.Context, pollID, id int64) (*bq.Confirmation, []byte, error) {
	var c *bq.Confirmation
	var doc []byte
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = getConfirmation(ctx, tx, pollID, id); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT document FROM confirmations WHERE id = ?`, id).Scan(&doc)
	})
	if err != nil {
		return nil, nil, err
	}
	return c, doc, nil
}
