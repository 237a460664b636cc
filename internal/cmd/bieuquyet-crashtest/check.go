package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

type knownHead = store.KnownHead

// checkCounts are the checks made, summed over the cycles.
type checkCounts struct {
	acked, lost      int
	integrity, audit int
	events           int64
	integrityTime    time.Duration
	auditTime        time.Duration
}

func mkdir(dir string) error { return os.MkdirAll(dir, 0o750) }

// check opens the database with the server gone, as the next server would, and checks
// it: the file (integrity_check, foreign keys), the audit trail (VerifyAuditLog against
// every head seen so far), then every write the ledger holds.
func (t *tester) check(ctx context.Context) (err error) {
	start := time.Now()
	defer func() { t.checkTime += time.Since(start) }()
	st, err := sqlite.Open(ctx, t.db, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("open the database after the stop: %w", err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the database: %w", cerr)
		}
	}()
	lap := time.Now()
	if err := st.CheckIntegrity(ctx); err != nil {
		return err
	}
	t.checked.integrity++
	t.checked.integrityTime += time.Since(lap)
	lap = time.Now()
	v, err := st.VerifyAuditLog(ctx, t.heads...)
	if err != nil {
		return fmt.Errorf("VerifyAuditLog: %w", err)
	}
	if !v.OK {
		return fmt.Errorf("VerifyAuditLog: not ok at event %d, target %q: %s (%d events whole)", v.BadSeq, v.Target, v.Problem, v.Count)
	}
	t.checked.audit++
	t.checked.auditTime += time.Since(lap)
	t.checked.events = v.Count
	if n := len(t.heads); n == 0 || t.heads[n-1].Seq != v.HeadSeq {
		t.heads = append(t.heads, knownHead{Seq: v.HeadSeq, Hash: v.HeadHash})
	}

	l := t.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &checker{ctx: ctx, st: st, history: map[[2]int64][]bq.VoteRecord{}}
	for _, v := range l.votes {
		t.checked.acked++
		n, rec, err := c.find(v)
		switch {
		case err != nil:
			return err
		case n != 1:
			c.lose("acknowledged vote %s (polls/%d, people/%d, cycle %d) is in the history %d times, want once", v.requestID, v.poll, v.person, v.cycle, n)
		case !sameChoice(rec, v):
			c.lose("acknowledged vote %s (polls/%d, people/%d) holds %q, want %q", v.requestID, v.poll, v.person, rec.Choice, v.options)
		}
	}
	for _, v := range l.refused {
		if n, _, err := c.find(v); err != nil {
			return err
		} else if n != 0 {
			c.lose("refused vote %s (polls/%d, people/%d, cycle %d) is in the history %d times, want never", v.requestID, v.poll, v.person, v.cycle, n)
		}
	}
	for i := range l.cut {
		v := &l.cut[i]
		n, rec, err := c.find(*v)
		switch {
		case err != nil:
			return err
		case n == 0:
			l.cutAbsent++
		case n == 1 && sameChoice(rec, *v):
			v.present = true
			l.cutPresent++
		default:
			c.lose("vote %s, cut off by the stop, is in the history %d times (holding %q), want at most once holding %q", v.requestID, n, rec.Choice, v.options)
		}
	}
	for id, want := range l.polls {
		t.checked.acked++
		p, _, err := st.GetPoll(ctx, id)
		if err != nil {
			c.lose("polls/%d (acknowledged %s): %v", id, want, err)
			continue
		}
		if got := pollState(p.State); stateRank(got) < stateRank(want) {
			c.lose("polls/%d is %s, but a write acknowledged %s", id, got, want)
		}
	}
	for k, want := range l.confs {
		t.checked.acked++
		got, err := st.GetConfirmation(ctx, k.poll, k.id)
		if err != nil {
			c.lose("%s (acknowledged): %v", bq.ConfirmationName(k.poll, k.id), err)
			continue
		}
		switch {
		case want.sha256 != "" && got.SHA256 != want.sha256:
			c.lose("%s holds a document with SHA-256 %s, the issue acknowledged %s", bq.ConfirmationName(k.poll, k.id), got.SHA256, want.sha256)
		case want.signed && got.Status != bq.StatusSigned:
			c.lose("%s is %s, but its signed copy was accepted", bq.ConfirmationName(k.poll, k.id), got.Status)
		case want.settled && got.Status == bq.StatusAwaitingSignature:
			c.lose("%s is still awaiting, but a submission was answered", bq.ConfirmationName(k.poll, k.id))
		}
	}
	if len(c.lost) > 0 {
		t.checked.lost += len(c.lost)
		shown := c.lost[:min(len(c.lost), 10)]
		return fmt.Errorf("%d acknowledged writes lost or wrong:\n  %s", len(c.lost), strings.Join(shown, "\n  "))
	}
	return nil
}

// checker reads the vote history once per poll and person.
type checker struct {
	ctx     context.Context
	st      *sqlite.Store
	history map[[2]int64][]bq.VoteRecord
	lost    []string
}

func (c *checker) lose(format string, args ...any) {
	c.lost = append(c.lost, fmt.Sprintf(format, args...))
}

// find returns how many records of v's poll and person carry its request id, and the
// last of them.
func (c *checker) find(v vote) (int, *bq.VoteRecord, error) {
	k := [2]int64{v.poll, v.person}
	h, ok := c.history[k]
	if !ok {
		var err error
		if h, err = c.st.ListVoteHistory(c.ctx, v.poll, v.person); err != nil {
			return 0, nil, fmt.Errorf("vote history of polls/%d, people/%d: %w", v.poll, v.person, err)
		}
		c.history[k] = h
	}
	n := 0
	var rec *bq.VoteRecord
	for i := range h {
		if h[i].RequestID == v.requestID {
			n++
			rec = &h[i]
		}
	}
	return n, rec, nil
}

func sameChoice(rec *bq.VoteRecord, v vote) bool {
	if len(v.options) == 0 {
		return rec.Withdrawn()
	}
	return slices.Equal(rec.Choice, v.options)
}

// pollState maps the domain's state to the API's, in which the ledger keeps them.
func pollState(s bq.PollState) pb.PollState {
	switch s {
	case bq.StateOpen:
		return pb.PollState_POLL_STATE_OPEN
	case bq.StateClosed:
		return pb.PollState_POLL_STATE_CLOSED
	case bq.StateConfirming:
		return pb.PollState_POLL_STATE_CONFIRMING
	case bq.StateFinalized:
		return pb.PollState_POLL_STATE_FINALIZED
	case bq.StateCancelled:
		return pb.PollState_POLL_STATE_CANCELLED
	}
	return pb.PollState_POLL_STATE_UNSPECIFIED
}
