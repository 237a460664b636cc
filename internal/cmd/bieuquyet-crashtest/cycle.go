package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/signtest"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// signers holds a test certificate for every delegate with a CCCD, by "people/{id}".
type signers struct {
	mu sync.Mutex
	by map[string]*signtest.Signer
}

func (s *signers) of(person string) *signtest.Signer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.by[person]
}

// setup creates the database with the first server, the admin token (offline, beside
// the running server), the test CA the server trusts and the roster, and stops the server
// cleanly: cycle 0, which is not counted.
func (t *tester) setup(ctx context.Context, roster []byte) error {
	ca, err := signtest.NewCAE("Bieuquyet Crashtest CA")
	if err != nil {
		return err
	}
	if err := mkdir(t.roots); err != nil {
		return err
	}
	if err := signtest.WriteRootsE(t.roots, ca); err != nil {
		return err
	}
	p, err := t.startServer(ctx)
	if err != nil {
		return err
	}
	defer p.kill()
	if err := t.createToken(ctx); err != nil {
		return err
	}
	if err := p.withToken(t.token); err != nil {
		return err
	}
	rc := pb.NewRosterServiceClient(p.conn)
	r, err := rc.ImportRoster(ctx, &pb.ImportRosterRequest{Content: roster})
	if err != nil {
		return fmt.Errorf("import the roster: %w", err)
	}
	// The delegates' certificates, made here: a new RSA key each.
	type want struct{ person, name, uid string }
	var todo []want
	token := ""
	for {
		lr, err := rc.ListPeople(ctx, &pb.ListPeopleRequest{PageSize: 500, PageToken: token})
		if err != nil {
			return fmt.Errorf("list people: %w", err)
		}
		for _, pp := range lr.GetPeople() {
			if si := pp.GetSigningIdentity(); pp.GetDelegate() && si.GetKind() == pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CCCD {
				todo = append(todo, want{pp.GetName(), pp.GetFullName(), "CCCD:" + si.GetValue()})
			}
		}
		if token = lr.GetNextPageToken(); token == "" {
			break
		}
	}
	t.signers = &signers{by: map[string]*signtest.Signer{}}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	work := make(chan want)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range work {
				s, err := ca.DelegateE(signtest.DelegateOptions{FullName: w.name, UID: w.uid})
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				t.signers.by[w.person] = s
				mu.Unlock()
			}
		}()
	}
	for _, w := range todo {
		work <- w
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	groups, err := listBodies(ctx, rc)
	if err != nil {
		return err
	}
	t.bodies = groups
	if err := p.terminate(); err != nil {
		return err
	}
	t.logf("cycle 0: database, admin token, roster (%d changes, %d delegates with a test certificate), %d bodies that open polls",
		len(r.GetChanges()), len(todo), len(groups))
	return t.check(ctx)
}

// listBodies returns the groups that open polls in their own group: the Standing
// Committee, the Ban and the Tổ with at least two voters.
func listBodies(ctx context.Context, rc pb.RosterServiceClient) ([]string, error) {
	var out []string
	token := ""
	for {
		r, err := rc.ListGroups(ctx, &pb.ListGroupsRequest{PageSize: 500, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list groups: %w", err)
		}
		for _, g := range r.GetGroups() {
			switch g.GetKind() {
			case pb.GroupKind_GROUP_KIND_STANDING_COMMITTEE, pb.GroupKind_GROUP_KIND_COMMITTEE, pb.GroupKind_GROUP_KIND_DELEGATE_GROUP:
				if g.GetVotingMemberCount() >= 2 {
					out = append(out, g.GetName())
				}
			}
		}
		if token = r.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the roster has no group that opens polls")
	}
	return out, nil
}

// runCycle starts the server, retries the writes the last stop cut off, drives the
// server until a random moment, stops it (SIGKILL, or SIGTERM) and checks the database.
func (t *tester) runCycle(ctx context.Context, kill bool) error {
	p, err := t.startServer(ctx)
	if err != nil {
		return err
	}
	defer p.kill()
	g := newLoad(t, p.conn, t.bodies)
	retried, err := t.retryCut(ctx, g)
	if err != nil {
		return err
	}
	if err := g.refresh(ctx); err != nil {
		return err
	}
	before := t.ledger.acked()
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.run(lctx, t.rng.Uint64())
	}()
	runFor := t.cfg.minRun + time.Duration(t.rng.Int64N(int64(t.cfg.maxRun-t.cfg.minRun)+1))
	select {
	case <-time.After(runFor):
	case <-ctx.Done():
		return ctx.Err()
	case <-p.exited:
		return fmt.Errorf("the server exited by itself under load: %v; its log: %s", p.err, tail(p.log, 5))
	}
	how := "SIGKILL"
	var atStop map[string]int
	if kill {
		// The signal first, then no new calls: the other way round, the calls in flight
		// would have a moment to finish and the kill would find the server idle.
		g.signalled.Store(true)
		p.sigkill()
		g.stopped.Store(true)
		p.wait()
		t.kills++
	} else {
		g.stopped.Store(true)
		g.signalled.Store(true)
		atStop = g.snapshot() // the calls a SIGTERM must still answer
		how = "SIGTERM"
		t.terms++
		if err := p.terminate(); err != nil {
			cancel()
			<-done
			return err
		}
	}
	// Only now, with the server gone, do the callers stop: under SIGTERM every call in
	// flight must have had its answer from the server itself.
	cancel()
	<-done
	t.runs = append(t.runs, runFor)
	cutOff := g.cutOff()
	for k, v := range cutOff {
		t.killPoints[k] += v
		t.stopsDuring[k]++
	}
	if !kill && len(cutOff) > 0 {
		// A call sent just as SIGTERM arrives is refused by the draining server
		// (UNAVAILABLE) before any handler runs: allowed, and shown.
		g.mu.Lock()
		t.logf("cycle %d: calls refused or cut off during the SIGTERM shutdown: %s", t.cycle, strings.Join(g.cutErrs, "; "))
		g.mu.Unlock()
		t.termCut += len(g.cutErrs)
	}
	if !kill {
		for k, v := range atStop {
			t.inflightAtTerm[k] += v
		}
	}
	g.mu.Lock()
	t.unexpected = append(t.unexpected, g.unexp...)
	g.mu.Unlock()
	start := time.Now()
	err = t.check(ctx)
	what := "cut off " + describe(cutOff)
	if !kill {
		what = "in flight " + describe(atStop) + "; " + what
	}
	t.logf("cycle %d: %d cut votes retried; %s after %s: %s; %d writes acknowledged; check %s (%s)",
		t.cycle, retried, how, runFor.Round(time.Millisecond), what, t.ledger.acked()-before, verdict(err), time.Since(start).Round(time.Millisecond))
	return err
}

func describe(m map[string]int) string {
	if len(m) == 0 {
		return "nothing"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, " ")
}

func verdict(err error) string {
	if err != nil {
		return "FAILED"
	}
	return "ok"
}

// retryCut sends each vote the last stop cut off again, with its request id. The server
// must answer as if it were the first time if the vote was lost, and with the stored
// record if it was kept: either way the history then holds it exactly once. A refusal
// (the poll was closed meanwhile) means it was not kept and must stay absent.
func (t *tester) retryCut(ctx context.Context, g *load) (int, error) {
	l := t.ledger
	l.mu.Lock()
	pending := l.cut
	l.cut = nil
	l.mu.Unlock()
	for _, v := range pending {
		req := &pb.RecordVoteRequest{Poll: bq.PollName(v.poll), Person: bq.PersonName(v.person), Options: v.options, Withdraw: len(v.options) == 0,
			Source: pb.VoteSource_VOTE_SOURCE_ZALO, RequestId: v.requestID}
		out, err := g.call(ctx, "RecordVote", func(ctx context.Context) error {
			_, err := g.polls.RecordVote(ctx, req)
			return err
		})
		l.mu.Lock()
		switch out {
		case acked:
			l.votes = append(l.votes, v)
			if v.present {
				l.retriedFound++
			} else {
				l.retriedRecorded++
			}
		case refused:
			l.refused = append(l.refused, v)
			l.retriedRefused++
		case cut:
			l.mu.Unlock()
			return 0, fmt.Errorf("retry of a cut vote: %w", err)
		}
		l.mu.Unlock()
	}
	return len(pending), nil
}
