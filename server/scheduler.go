package server

import (
	"context"
	"log/slog"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
)

// Clock is the time the server works by. Tests give their own, to move time by hand.
type Clock interface {
	Now() time.Time
	// After sends once the clock has moved on by d.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// maxSleep bounds how long the scheduler sleeps, so that a clock change or a missed wake
// costs at most this long.
const maxSleep = time.Minute

// minSleep keeps the scheduler from spinning when the store and the server disagree on
// the time.
const minSleep = 100 * time.Millisecond

// schedulerAudit names the scheduler in the audit trail.
var schedulerAudit = bq.Audit{Actor: "system:scheduler", RequestID: "deadline"}

// scheduler closes each open poll when its deadline passes, and finalizes each confirming
// poll at its confirmation deadline.
type scheduler struct {
	store interface {
		NextDeadline(ctx context.Context) (time.Time, bool, error)
		CloseDuePolls(ctx context.Context, a bq.Audit) ([]int64, error)
		SettleDuePolls(ctx context.Context, a bq.Audit) ([]int64, error)
	}
	clock  Clock
	log    *slog.Logger
	wake   chan struct{}
	closed func(id int64)
}

// poke makes the scheduler look again: a poll was opened, perhaps with an earlier deadline.
func (s *scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *scheduler) run(ctx context.Context) {
	for {
		ids, err := s.store.CloseDuePolls(ctx, schedulerAudit)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "close polls at their deadline", "error", err)
		}
		for _, id := range ids {
			s.log.InfoContext(ctx, "poll closed at its deadline", "poll", id)
			s.closed(id)
		}
		// Confirmations past their deadline become overdue, and their polls final.
		ids, err = s.store.SettleDuePolls(ctx, schedulerAudit)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "finalize polls at their confirmation deadline", "error", err)
		}
		for _, id := range ids {
			s.log.InfoContext(ctx, "poll finalized at its confirmation deadline", "poll", id)
			s.closed(id)
		}
		sleep := maxSleep
		if next, ok, err := s.store.NextDeadline(ctx); err == nil && ok {
			// A deadline already past but not closed means the store's clock lags this one:
			// look again in a moment rather than spin.
			sleep = min(max(next.Sub(s.clock.Now()), minSleep), maxSleep)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-s.clock.After(sleep):
		}
	}
}
