package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/signtest"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// The write methods the load calls, in the order the summary prints them.
var methods = []string{"RecordVote", "CreatePoll", "ClosePoll", "GenerateConfirmations", "DownloadConfirmation", "SubmitSignedConfirmation"}

// Bounds that keep the load moving on two busy cores: a few polls open at a time, and
// no more closed ones waiting for their confirmations than the renderer keeps up with.
const (
	openPolls    = 3
	closedQueue  = 2
	votesPerSeat = 3 // a poll closes after this many acknowledged votes per voter
	callTimeout  = 30 * time.Second
)

// outcome is how a write ended, as far as the caller can tell.
type outcome int

const (
	acked   outcome = iota // OK: it must be on disk
	refused                // a definite error: it must not be
	cut                    // cut off by the stop (or a timeout): either, but whole
	notSent                // not started: the stop had been sent
)

// openPoll is a poll votes may go to.
type openPoll struct {
	id      int64
	voters  []string // "people/{id}"
	options []string
	votes   int // acknowledged this cycle
}

// task is a confirmation to download, sign as its delegate and submit.
type task struct {
	key    confKey
	name   string
	person string
}

// load is one cycle's callers against one server.
type load struct {
	t        *tester
	polls    pb.PollServiceClient
	confs    pb.ConfirmationServiceClient
	inflight map[string]*atomic.Int64
	// signalled is set before the stop signal is sent: from then on a call may fail.
	signalled atomic.Bool
	// stopped is set once no call may start.
	stopped atomic.Bool
	cutBy   map[string]*atomic.Int64 // calls the stop cut off, by method

	mu     sync.Mutex
	open   []*openPoll
	closed []int64
	queue  []task
	queued map[confKey]bool
	bodies []string
	unexp  []string
	// cutErrs are the errors of the calls the stop cut off.
	cutErrs []string
}

func newLoad(t *tester, conn grpc.ClientConnInterface, bodies []string) *load {
	g := &load{t: t, polls: pb.NewPollServiceClient(conn), confs: pb.NewConfirmationServiceClient(conn),
		inflight: map[string]*atomic.Int64{}, cutBy: map[string]*atomic.Int64{}, queued: map[confKey]bool{}, bodies: bodies}
	for _, m := range methods {
		g.inflight[m] = new(atomic.Int64)
		g.cutBy[m] = new(atomic.Int64)
	}
	return g
}

// requestID returns a request id used nowhere else in the run.
func (t *tester) requestID() string {
	return fmt.Sprintf("crashtest-%x-%d", t.cfg.seed, t.ids.Add(1))
}

// call runs one write, counts it in flight meanwhile and classifies its end.
func (g *load) call(ctx context.Context, method string, fn func(context.Context) error) (outcome, error) {
	n := g.inflight[method]
	n.Add(1)
	defer n.Add(-1)
	// Counted in flight first, so that a call either shows in the snapshot taken at the
	// stop or does not start.
	if g.stopped.Load() {
		return notSent, nil
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	err := fn(cctx)
	if err == nil {
		return acked, nil
	}
	code := status.Code(err)
	switch code {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded, codes.Internal, codes.Unknown:
		if !g.signalled.Load() && ctx.Err() == nil {
			g.unexpected("%s: %v (before the stop)", method, err)
		}
		g.cutBy[method].Add(1)
		if g.signalled.Load() {
			g.mu.Lock()
			g.cutErrs = append(g.cutErrs, fmt.Sprintf("%s: %v", method, err))
			g.mu.Unlock()
		}
		return cut, err
	case codes.FailedPrecondition:
		return refused, err
	}
	g.unexpected("%s: %v", method, err)
	return refused, err
}

func (g *load) unexpected(format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.unexp = append(g.unexp, fmt.Sprintf("cycle %d: ", g.t.cycle)+fmt.Sprintf(format, args...))
}

// refresh learns what to do from the server itself, after a restart: the open polls, the
// closed ones, and the confirmations still awaiting a signature.
func (g *load) refresh(ctx context.Context) error {
	token := ""
	for {
		r, err := g.polls.ListPolls(ctx, &pb.ListPollsRequest{PageSize: 500, PageToken: token})
		if err != nil {
			return fmt.Errorf("list polls: %w", err)
		}
		for _, p := range r.GetPolls() {
			id, err := bq.ParseName("poll", bq.Polls, p.GetName())
			if err != nil {
				return err
			}
			switch p.GetState() {
			case pb.PollState_POLL_STATE_OPEN:
				op, err := g.getPoll(ctx, id)
				if err != nil {
					return err
				}
				g.open = append(g.open, op)
			case pb.PollState_POLL_STATE_CLOSED:
				g.closed = append(g.closed, id)
			case pb.PollState_POLL_STATE_CONFIRMING:
				if err := g.queueAwaiting(ctx, p.GetName()); err != nil {
					return err
				}
			}
		}
		if token = r.GetNextPageToken(); token == "" {
			return nil
		}
	}
}

func (g *load) getPoll(ctx context.Context, id int64) (*openPoll, error) {
	r, err := g.polls.GetPoll(ctx, &pb.GetPollRequest{Name: bq.PollName(id)})
	if err != nil {
		return nil, fmt.Errorf("get poll %d: %w", id, err)
	}
	op := &openPoll{id: id, options: r.GetPoll().GetOptions()}
	for _, v := range r.GetPoll().GetElectorate() {
		if !v.GetDeactivated() {
			op.voters = append(op.voters, v.GetPerson())
		}
	}
	return op, nil
}

// queueAwaiting queues a poll's confirmations that still need a signed copy.
func (g *load) queueAwaiting(ctx context.Context, poll string) error {
	token := ""
	for {
		r, err := g.confs.ListConfirmations(ctx, &pb.ListConfirmationsRequest{Poll: poll, PageSize: 500, PageToken: token})
		if err != nil {
			return fmt.Errorf("list confirmations of %s: %w", poll, err)
		}
		for _, c := range r.GetConfirmations() {
			switch c.GetStatus() {
			case pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE, pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED:
				g.enqueue(c)
			}
		}
		if token = r.GetNextPageToken(); token == "" {
			return nil
		}
	}
}

func (g *load) enqueue(c *pb.Confirmation) {
	var k confKey
	var err error
	if k.poll, k.id, err = bq.ParseConfirmationName("confirmation", c.GetName()); err != nil {
		g.unexpected("confirmation name %q: %v", c.GetName(), err)
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.queued[k] {
		g.queued[k] = true
		g.queue = append(g.queue, task{key: k, name: c.GetName(), person: c.GetPerson()})
	}
}

// run drives the server with the workers, one poll manager and one issuer until ctx ends.
func (g *load) run(ctx context.Context, seed uint64) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		g.manage(ctx, rand.New(rand.NewPCG(seed, 0)))
	}()
	go func() {
		defer wg.Done()
		g.issueLoop(ctx)
	}()
	for i := range g.t.cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.work(ctx, rand.New(rand.NewPCG(seed, uint64(i)+1)))
		}()
	}
	wg.Wait()
}

// work is one caller: mostly votes, sometimes a confirmation to sign and submit.
func (g *load) work(ctx context.Context, rng *rand.Rand) {
	// Once the stop is sent no call starts: those would never reach the server, and only
	// the calls a stop really cuts off are worth counting.
	for ctx.Err() == nil && !g.stopped.Load() {
		g.mu.Lock()
		var tk *task
		if len(g.queue) > 0 && rng.IntN(4) == 0 {
			i := rng.IntN(len(g.queue))
			t := g.queue[i]
			g.queue[i] = g.queue[len(g.queue)-1]
			g.queue = g.queue[:len(g.queue)-1]
			tk = &t
		}
		var op *openPoll
		if tk == nil && len(g.open) > 0 {
			op = g.open[rng.IntN(len(g.open))]
		}
		g.mu.Unlock()
		switch {
		case tk != nil:
			g.submit(ctx, *tk)
		case op != nil && len(op.voters) > 0:
			g.vote(ctx, rng, op)
		default:
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// vote records one choice, or now and then a withdrawal.
func (g *load) vote(ctx context.Context, rng *rand.Rand, op *openPoll) {
	person := op.voters[rng.IntN(len(op.voters))]
	pid, err := bq.ParseName("person", bq.People, person)
	if err != nil {
		g.unexpected("voter %q: %v", person, err)
		return
	}
	v := vote{poll: op.id, person: pid, requestID: g.t.requestID(), cycle: g.t.cycle}
	req := &pb.RecordVoteRequest{Poll: bq.PollName(op.id), Person: person, Source: pb.VoteSource_VOTE_SOURCE_ZALO, RequestId: v.requestID}
	if rng.IntN(10) == 0 {
		req.Withdraw = true
	} else {
		v.options = []string{op.options[rng.IntN(len(op.options))]}
		req.Options = v.options
	}
	out, err := g.call(ctx, "RecordVote", func(ctx context.Context) error {
		r, err := g.polls.RecordVote(ctx, req)
		if err == nil && r.GetVote().GetRequestId() != v.requestID {
			g.unexpected("RecordVote %s answered with request id %q", v.requestID, r.GetVote().GetRequestId())
		}
		return err
	})
	l := g.t.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	switch out {
	case acked:
		l.votes = append(l.votes, v)
		g.mu.Lock()
		op.votes++
		g.mu.Unlock()
	case refused:
		l.refused = append(l.refused, v)
	case cut:
		l.cut = append(l.cut, v)
		l.cutVotes++
	}
	_ = err
}

// submit downloads a confirmation, signs it as its delegate and submits it.
func (g *load) submit(ctx context.Context, tk task) {
	signer := g.t.signers.of(tk.person)
	if signer == nil {
		g.unexpected("no test certificate for %s, who has confirmation %s", tk.person, tk.name)
		return
	}
	var doc []byte
	var sum string
	out, _ := g.call(ctx, "DownloadConfirmation", func(ctx context.Context) error {
		s, err := g.confs.DownloadConfirmation(ctx, &pb.DownloadConfirmationRequest{Name: tk.name})
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		for {
			m, err := s.Recv()
			if errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return err
			}
			if c := m.GetConfirmation(); c != nil {
				sum = c.GetSha256()
			}
			buf.Write(m.GetChunk())
		}
		doc = buf.Bytes()
		return nil
	})
	if out != acked {
		return
	}
	if got := sha256.Sum256(doc); hex.EncodeToString(got[:]) != sum {
		g.unexpected("download of %s: %d bytes with SHA-256 %x, the server said %s", tk.name, len(doc), got, sum)
		return
	}
	signed, err := signer.SignE(doc, signtest.SignOptions{})
	if err != nil {
		g.unexpected("sign %s: %v", tk.name, err)
		return
	}
	id := g.t.requestID()
	var resp *pb.SubmitSignedConfirmationResponse
	out, _ = g.call(ctx, "SubmitSignedConfirmation", func(ctx context.Context) error {
		s, err := g.confs.SubmitSignedConfirmation(ctx)
		if err != nil {
			return err
		}
		meta := &pb.SubmissionMetadata{Confirmation: tk.name, FileName: fmt.Sprintf("%d-%d.pdf", tk.key.poll, tk.key.id), SizeBytes: int64(len(signed)), RequestId: id}
		if err := s.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: meta}}); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for off := 0; off < len(signed); off += 64 << 10 {
			chunk := signed[off:min(off+64<<10, len(signed))]
			if err := s.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: chunk}}); errors.Is(err, io.EOF) {
				break // the server answered early; CloseAndRecv says what
			} else if err != nil {
				return err
			}
		}
		resp, err = s.CloseAndRecv()
		return err
	})
	l := g.t.ledger
	switch out {
	case acked:
		if !resp.GetAccepted() {
			g.unexpected("%s signed by its delegate was rejected: %s: %s", tk.name, resp.GetReason(), resp.GetMessage())
		}
		l.mu.Lock()
		e := l.confs[tk.key]
		if e == nil { // issued in a call whose answer was cut off
			e = &confExpect{}
			l.confs[tk.key] = e
		}
		e.settled = true
		if resp.GetAccepted() {
			e.signed = true
			l.signed++
		}
		l.mu.Unlock()
		if resp.GetPoll().GetState() == pb.PollState_POLL_STATE_FINALIZED {
			l.pollAtLeast(tk.key.poll, pb.PollState_POLL_STATE_FINALIZED)
		}
	case cut:
		l.mu.Lock()
		l.cutOther++
		l.mu.Unlock()
	}
}

// manage keeps a few polls open and closes those that have had their votes. Issuing
// confirmations has a goroutine of its own (issueLoop): rendering takes seconds on a busy
// machine, and the votes must not run dry meanwhile.
func (g *load) manage(ctx context.Context, rng *rand.Rand) {
	for ctx.Err() == nil {
		time.Sleep(time.Duration(50+rng.IntN(100)) * time.Millisecond)
		if g.stopped.Load() {
			return
		}
		g.mu.Lock()
		nOpen, nClosed := len(g.open), len(g.closed)
		var toClose *openPoll
		for i, op := range g.open {
			if nClosed < closedQueue && op.votes >= votesPerSeat*max(len(op.voters), 2) {
				toClose = op
				g.open = append(g.open[:i], g.open[i+1:]...)
				break
			}
		}
		g.mu.Unlock()
		if toClose != nil {
			g.closePoll(ctx, toClose.id)
		}
		if nOpen < openPolls || toClose != nil {
			g.createPoll(ctx, rng)
		}
	}
}

// issueLoop issues the confirmations of closed polls, one poll at a time.
func (g *load) issueLoop(ctx context.Context) {
	for ctx.Err() == nil && !g.stopped.Load() {
		g.mu.Lock()
		var id int64
		if len(g.closed) > 0 {
			id = g.closed[0]
		}
		g.mu.Unlock()
		if id == 0 {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		g.issue(ctx, id)
	}
}

func (g *load) createPoll(ctx context.Context, rng *rand.Rand) {
	body := g.bodies[rng.IntN(len(g.bodies))]
	n := g.t.ids.Load()
	req := &pb.CreatePollRequest{RequestId: g.t.requestID(), Poll: &pb.Poll{
		Body: body, Kind: pb.PollKind_POLL_KIND_VOTE, DecisionRule: pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL,
		Title:    fmt.Sprintf("Kiểm thử sự cố số %d", n),
		Question: "Đồng ý thông qua dự thảo nghị quyết?", Classification: pb.Classification_CLASSIFICATION_NONE,
		Deadline: timestamppb.New(time.Now().Add(48 * time.Hour)),
	}}
	var id int64
	out, _ := g.call(ctx, "CreatePoll", func(ctx context.Context) error {
		r, err := g.polls.CreatePoll(ctx, req)
		if err != nil {
			return err
		}
		id, err = bq.ParseName("poll", bq.Polls, r.GetPoll().GetName())
		return err
	})
	switch out {
	case acked:
		g.t.ledger.pollAtLeast(id, pb.PollState_POLL_STATE_OPEN)
		g.t.ledger.mu.Lock()
		g.t.ledger.pollsCreated++
		g.t.ledger.mu.Unlock()
		op, err := g.getPoll(ctx, id)
		if err != nil {
			if ctx.Err() == nil && !g.signalled.Load() {
				g.unexpected("%v", err)
			}
			return
		}
		g.mu.Lock()
		g.open = append(g.open, op)
		g.mu.Unlock()
	case cut:
		g.countCut()
	}
}

func (g *load) closePoll(ctx context.Context, id int64) {
	out, _ := g.call(ctx, "ClosePoll", func(ctx context.Context) error {
		_, err := g.polls.ClosePoll(ctx, &pb.ClosePollRequest{Name: bq.PollName(id), RequestId: g.t.requestID()})
		return err
	})
	switch out {
	case acked:
		g.t.ledger.pollAtLeast(id, pb.PollState_POLL_STATE_CLOSED)
		g.t.ledger.mu.Lock()
		g.t.ledger.pollsClosed++
		g.t.ledger.mu.Unlock()
		g.mu.Lock()
		g.closed = append(g.closed, id)
		g.mu.Unlock()
	case cut:
		g.countCut()
	}
}

func (g *load) issue(ctx context.Context, id int64) {
	var r *pb.GenerateConfirmationsResponse
	out, _ := g.call(ctx, "GenerateConfirmations", func(ctx context.Context) (err error) {
		r, err = g.confs.GenerateConfirmations(ctx, &pb.GenerateConfirmationsRequest{Poll: bq.PollName(id), RequestId: g.t.requestID()})
		return err
	})
	switch out {
	case acked:
		// A poll nobody voted in is final at once.
		g.t.ledger.pollAtLeast(id, pb.PollState_POLL_STATE_CONFIRMING)
		if st := r.GetPoll().GetState(); stateRank(st) > stateRank(pb.PollState_POLL_STATE_CONFIRMING) {
			g.t.ledger.pollAtLeast(id, st)
		}
		l := g.t.ledger
		l.mu.Lock()
		l.generated++
		for _, c := range r.GetConfirmations() {
			var k confKey
			var err error
			if k.poll, k.id, err = bq.ParseConfirmationName("confirmation", c.GetName()); err != nil {
				continue
			}
			if e := l.confs[k]; e == nil {
				l.confs[k] = &confExpect{sha256: c.GetSha256()}
			} else {
				e.sha256 = c.GetSha256()
			}
		}
		l.mu.Unlock()
		for _, c := range r.GetConfirmations() {
			g.enqueue(c)
		}
	case cut:
		g.countCut()
	}
	if out != cut {
		g.mu.Lock()
		if len(g.closed) > 0 && g.closed[0] == id {
			g.closed = g.closed[1:]
		}
		g.mu.Unlock()
	}
}

func (g *load) countCut() {
	l := g.t.ledger
	l.mu.Lock()
	l.cutOther++
	l.mu.Unlock()
}

// snapshot returns the calls in flight now, by method.
func (g *load) snapshot() map[string]int { return counts(g.inflight) }

// cutOff returns the calls the stop cut off, by method.
func (g *load) cutOff() map[string]int { return counts(g.cutBy) }

func counts(by map[string]*atomic.Int64) map[string]int {
	m := map[string]int{}
	for k, n := range by {
		if v := n.Load(); v > 0 {
			m[k] = int(v)
		}
	}
	return m
}
