// Command bieuquyet-load drives a running bieuquyet-server with one scenario and prints
// the result as one JSON object on stdout: calls, errors, rate and latencies. It is the
// load generator of `make bench` (internal/cmd/bieuquyet-bench), and works on its own
// against any server:
//
//	bieuquyet-load --addr 127.0.0.1:50051 --token $BIEUQUYET_TOKEN --scenario vote --poll polls/1 --concurrency 64 --duration 5s
//
// Scenarios:
//
//	health    grpc.health.v1.Health/Check (no token needed): the no-op baseline
//	vote      RecordVote into --poll, cycling through its electorate and options
//	tally     GetTally of --poll
//	watch     --watchers WatchPoll streams on --poll while one caller records votes;
//	          adds the delay from each vote's reply to its tally's arrival at the watchers
//	generate  GenerateConfirmations of the closed --poll, once; the rate is confirmations/s
//	submit    SubmitSignedConfirmation of every file listed in --dir/manifest.tsv
//	          ("FILE<TAB>polls/P/confirmations/C" a line)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bieuquyet-load:", err)
		os.Exit(1)
	}
}

// config holds the flags.
type config struct {
	addr, token, scenario, poll, dir string
	concurrency, count, watchers     int
	conns                            int
	duration, warmup                 time.Duration
}

// Result is what a scenario prints. Latencies are in milliseconds.
type Result struct {
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"`
	Calls       int     `json:"calls"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	Seconds     float64 `json:"seconds"`
	Rate        float64 `json:"rate"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
	// Items counts what a call handles when it is more than one (generate: confirmations);
	// Rate is then items per second.
	Items int `json:"items,omitempty"`
	// Watch only.
	Watchers int `json:"watchers,omitempty"`
	// Delivery: per vote, the delay from its reply to its tally's arrival at the last
	// watcher (the vote has reached every watcher); Pairs: the same per vote and watcher.
	DeliveryP50 float64 `json:"delivery_p50_ms,omitempty"`
	DeliveryP99 float64 `json:"delivery_p99_ms,omitempty"`
	DeliveryMax float64 `json:"delivery_max_ms,omitempty"`
	PairsP99    float64 `json:"pairs_p99_ms,omitempty"`
	// Missed counts vote and watcher pairs whose tally never arrived.
	Missed int `json:"missed,omitempty"`
	// Rejected counts submissions the server answered but did not accept; FirstReason is
	// the first one's reason.
	Rejected    int    `json:"rejected,omitempty"`
	FirstReason string `json:"first_reason,omitempty"`
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	var c config
	fs := flag.NewFlagSet("bieuquyet-load", flag.ContinueOnError)
	fs.StringVar(&c.addr, "addr", envOr("BIEUQUYET_ADDR", "127.0.0.1:50051"), "server address (loopback, plaintext)")
	fs.StringVar(&c.token, "token", os.Getenv("BIEUQUYET_TOKEN"), "bearer token (env BIEUQUYET_TOKEN)")
	fs.StringVar(&c.scenario, "scenario", "", "health, vote, tally, watch, generate or submit")
	fs.StringVar(&c.poll, "poll", "", "polls/N for vote, tally, watch and generate")
	fs.StringVar(&c.dir, "dir", "", "submit: the folder of signed files with their manifest.tsv")
	fs.IntVar(&c.concurrency, "concurrency", 1, "concurrent callers")
	fs.IntVar(&c.count, "count", 0, "stop after this many calls in all (0: run for --duration)")
	fs.IntVar(&c.watchers, "watchers", 1, "watch: WatchPoll streams")
	fs.IntVar(&c.conns, "conns", 0, "client connections the callers share (0: one per 16 callers or 100 watchers, at least 1)")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "how long to measure, after the warm-up")
	fs.DurationVar(&c.warmup, "warmup", 500*time.Millisecond, "calls made first and not measured")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.concurrency < 1 {
		return errors.New("--concurrency must be at least 1")
	}
	if c.conns <= 0 {
		c.conns = max(1, c.concurrency/16, c.watchers/100)
	}
	conns := make([]*grpc.ClientConn, c.conns)
	for i := range conns {
		cc, err := grpc.NewClient(c.addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)))
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		defer cc.Close()
		conns[i] = cc
	}
	if c.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
	}
	var (
		res *Result
		err error
	)
	switch c.scenario {
	case "health":
		res, err = closedLoop(ctx, &c, conns, func(ctx context.Context, cc *grpc.ClientConn, _ int64) error {
			_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
			return err
		})
	case "vote":
		var call func(context.Context, *grpc.ClientConn, int64) error
		if call, err = voter(ctx, &c, conns[0]); err == nil {
			res, err = closedLoop(ctx, &c, conns, call)
		}
	case "tally":
		res, err = closedLoop(ctx, &c, conns, func(ctx context.Context, cc *grpc.ClientConn, _ int64) error {
			_, err := pb.NewPollServiceClient(cc).GetTally(ctx, &pb.GetTallyRequest{Poll: c.poll})
			return err
		})
	case "watch":
		res, err = watch(ctx, &c, conns)
	case "generate":
		res, err = generate(ctx, &c, conns[0])
	case "submit":
		res, err = submit(ctx, &c, conns)
	case "":
		return errors.New("--scenario is required: health, vote, tally, watch, generate or submit")
	default:
		return fmt.Errorf("unknown --scenario %q: health, vote, tally, watch, generate or submit", c.scenario)
	}
	if err != nil {
		return err
	}
	res.Scenario, res.Concurrency = c.scenario, c.concurrency
	enc := json.NewEncoder(stdout)
	return enc.Encode(res)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// recorder collects one caller's latencies and errors.
type recorder struct {
	lat    []time.Duration
	errors int
	first  error
}

func (r *recorder) add(d time.Duration, err error) {
	if err != nil {
		r.errors++
		if r.first == nil {
			r.first = err
		}
		return
	}
	r.lat = append(r.lat, d)
}

// summarize merges the callers' records into a Result over the measured time.
func summarize(rs []*recorder, elapsed time.Duration) *Result {
	var all []time.Duration
	res := &Result{Seconds: elapsed.Seconds()}
	for _, r := range rs {
		all = append(all, r.lat...)
		res.Errors += r.errors
		if r.first != nil && res.FirstError == "" {
			res.FirstError = r.first.Error()
		}
	}
	res.Calls = len(all) + res.Errors
	if elapsed > 0 {
		res.Rate = float64(len(all)) / elapsed.Seconds()
	}
	res.P50, res.P90, res.P99, res.Max = quantiles(all)
	return res
}

// quantiles returns the 50th, 90th and 99th percentiles and the maximum, in ms.
func quantiles(ds []time.Duration) (p50, p90, p99, maxMS float64) {
	if len(ds) == 0 {
		return 0, 0, 0, 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	q := func(f float64) float64 {
		i := int(f*float64(len(ds))+0.5) - 1
		i = min(max(i, 0), len(ds)-1)
		return ms(ds[i])
	}
	return q(0.50), q(0.90), q(0.99), ms(ds[len(ds)-1])
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// closedLoop runs c.concurrency callers, each making its next call when the last one
// answers, for the warm-up and then for c.duration (or until c.count calls). Calls are
// numbered across callers, so that each can vary what it sends.
func closedLoop(ctx context.Context, c *config, conns []*grpc.ClientConn, call func(context.Context, *grpc.ClientConn, int64) error) (*Result, error) {
	var seq atomic.Int64
	warm := time.Now().Add(c.warmup)
	if c.count > 0 {
		warm = time.Now() // a fixed count is measured whole
	}
	end := warm.Add(c.duration)
	var started atomic.Int64
	rs := make([]*recorder, c.concurrency)
	var wg sync.WaitGroup
	for w := range c.concurrency {
		rs[w] = &recorder{}
		cc := conns[w%len(conns)]
		wg.Go(func() {
			for ctx.Err() == nil {
				if c.count > 0 && started.Add(1) > int64(c.count) {
					return
				}
				t0 := time.Now()
				if c.count == 0 && !t0.Before(end) {
					return
				}
				err := call(ctx, cc, seq.Add(1))
				if t0.After(warm) {
					rs[w].add(time.Since(t0), err)
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return summarize(rs, time.Since(warm)), nil
}

// voter returns a call that records a vote into c.poll: call n takes the n-th delegate of
// the electorate, and an option that changes with each pass over it.
func voter(ctx context.Context, c *config, cc *grpc.ClientConn) (func(context.Context, *grpc.ClientConn, int64) error, error) {
	if c.poll == "" {
		return nil, errors.New("--poll is required")
	}
	resp, err := pb.NewPollServiceClient(cc).GetPoll(ctx, &pb.GetPollRequest{Name: c.poll})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", c.poll, err)
	}
	people := make([]string, 0, len(resp.GetPoll().GetElectorate()))
	for _, v := range resp.GetPoll().GetElectorate() {
		if !v.GetDeactivated() {
			people = append(people, v.GetPerson())
		}
	}
	options := resp.GetPoll().GetOptions()
	if len(people) == 0 || len(options) < 2 {
		return nil, fmt.Errorf("%s has no one to vote or fewer than two options", c.poll)
	}
	// Request ids make the vote path look up and remember each request, as the command
	// line's retries do; the prefix keeps them apart between runs.
	prefix := fmt.Sprintf("load-%d-%d-", os.Getpid(), time.Now().UnixNano())
	n := int64(len(people))
	return func(ctx context.Context, cc *grpc.ClientConn, i int64) error {
		_, err := pb.NewPollServiceClient(cc).RecordVote(ctx, &pb.RecordVoteRequest{
			Poll: c.poll, Person: people[i%n], Options: []string{options[(i/n)%2]},
			Source: pb.VoteSource_VOTE_SOURCE_ZALO, RequestId: fmt.Sprint(prefix, i),
		})
		return err
	}, nil
}

// arrival is a tally a watcher received.
type arrival struct {
	version int64
	at      time.Time
}

// watch opens c.watchers streams, waits for each one's first tally, then records votes
// one after another (c.concurrency must be 1, so that vote k makes version v0+k) and
// measures, for each vote, when its tally reached each watcher.
func watch(ctx context.Context, c *config, conns []*grpc.ClientConn) (*Result, error) {
	if c.concurrency != 1 {
		return nil, errors.New("watch: --concurrency must be 1 (each vote's tally version is known only when votes follow one another)")
	}
	call, err := voter(ctx, c, conns[0])
	if err != nil {
		return nil, err
	}
	tally, err := pb.NewPollServiceClient(conns[0]).GetTally(ctx, &pb.GetTallyRequest{Poll: c.poll})
	if err != nil {
		return nil, err
	}
	v0 := tally.GetTally().GetVersion()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	arrivals := make([][]arrival, c.watchers)
	latest := make([]atomic.Int64, c.watchers)
	var ready, done sync.WaitGroup
	var mu sync.Mutex
	var watchErr error
	for w := range c.watchers {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			first := true
			defer func() {
				if first {
					ready.Done()
				}
			}()
			s, err := pb.NewPollServiceClient(conns[w%len(conns)]).WatchPoll(wctx, &pb.WatchPollRequest{Poll: c.poll})
			if err == nil {
				for {
					var m *pb.WatchPollResponse
					if m, err = s.Recv(); err != nil {
						break
					}
					v := m.GetTally().GetVersion()
					arrivals[w] = append(arrivals[w], arrival{v, time.Now()})
					latest[w].Store(v)
					if first {
						first = false
						ready.Done()
					}
				}
			}
			if wctx.Err() == nil && err != nil {
				mu.Lock()
				if watchErr == nil {
					watchErr = fmt.Errorf("watcher %d: %w", w, err)
				}
				mu.Unlock()
			}
		}()
	}
	ready.Wait()
	if watchErr != nil {
		return nil, watchErr
	}
	// Votes one at a time; the warm-up votes count for versions but are not measured.
	var replies []time.Time
	rec := &recorder{}
	warm := time.Now().Add(c.warmup)
	end := warm.Add(c.duration)
	var k int64
	for ctx.Err() == nil {
		t0 := time.Now()
		if (c.count > 0 && int(k) >= c.count) || (c.count == 0 && !t0.Before(end)) {
			break
		}
		k++
		err := call(ctx, conns[0], k)
		t1 := time.Now()
		if err != nil {
			return nil, fmt.Errorf("vote %d: %w", k, err)
		}
		replies = append(replies, t1)
		if t0.After(warm) || c.count > 0 {
			rec.add(t1.Sub(t0), nil)
		}
	}
	elapsed := time.Since(warm)
	if c.count > 0 {
		elapsed = time.Since(replies[0])
	}
	// Give the last tallies time to arrive, then stop the watchers.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		all := true
		for w := range latest {
			if latest[w].Load() < v0+k {
				all = false
				break
			}
		}
		if all {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	done.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res := summarize([]*recorder{rec}, elapsed)
	res.Watchers = c.watchers
	skip := len(replies) - len(rec.lat) // the warm-up votes
	perVote := make([]time.Duration, len(replies)-skip)
	var pairs []time.Duration
	for w := range arrivals {
		a := arrivals[w]
		j := 0
		for i := skip; i < len(replies); i++ {
			want := v0 + int64(i) + 1
			for j < len(a) && a[j].version < want {
				j++
			}
			if j == len(a) {
				res.Missed += len(replies) - i
				break
			}
			// A tally may overtake the vote's reply on its way back: that is no delay.
			d := max(a[j].at.Sub(replies[i]), 0)
			pairs = append(pairs, d)
			perVote[i-skip] = max(perVote[i-skip], d)
		}
	}
	res.DeliveryP50, _, res.DeliveryP99, res.DeliveryMax = quantiles(perVote)
	_, _, res.PairsP99, _ = quantiles(pairs)
	return res, nil
}

// generate issues the confirmations of c.poll in one call.
func generate(ctx context.Context, c *config, cc *grpc.ClientConn) (*Result, error) {
	if c.poll == "" {
		return nil, errors.New("--poll is required")
	}
	t0 := time.Now()
	resp, err := pb.NewConfirmationServiceClient(cc).GenerateConfirmations(ctx, &pb.GenerateConfirmationsRequest{Poll: c.poll})
	d := time.Since(t0)
	if err != nil {
		return nil, fmt.Errorf("generate the confirmations of %s: %w", c.poll, err)
	}
	n := len(resp.GetConfirmations())
	res := summarize([]*recorder{{lat: []time.Duration{d}}}, d)
	res.Items = n
	res.Rate = float64(n) / d.Seconds()
	return res, nil
}

// submission is one signed file to send.
type submission struct {
	file, confirmation string
	data               []byte
}

// submit sends every file of the manifest, c.concurrency at a time; a file the server
// answers but does not accept counts as rejected, not as an error.
func submit(ctx context.Context, c *config, conns []*grpc.ClientConn) (*Result, error) {
	if c.dir == "" {
		return nil, errors.New("--dir is required")
	}
	f, err := os.Open(filepath.Join(c.dir, "manifest.tsv"))
	if err != nil {
		return nil, err
	}
	var subs []submission
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		file, conf, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(c.dir, file))
		if err != nil {
			f.Close()
			return nil, err
		}
		subs = append(subs, submission{file, conf, data})
	}
	f.Close()
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if c.count > 0 && c.count < len(subs) {
		subs = subs[:c.count]
	}
	var next atomic.Int64
	var rejected atomic.Int64
	var mu sync.Mutex
	firstReason := ""
	rs := make([]*recorder, c.concurrency)
	var wg sync.WaitGroup
	t0 := time.Now()
	for w := range c.concurrency {
		rs[w] = &recorder{}
		client := pb.NewConfirmationServiceClient(conns[w%len(conns)])
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(subs) {
					return
				}
				s := subs[i]
				t := time.Now()
				resp, err := send(ctx, client, s)
				rs[w].add(time.Since(t), err)
				if err == nil && !resp.GetAccepted() {
					rejected.Add(1)
					mu.Lock()
					if firstReason == "" {
						firstReason = s.file + ": " + resp.GetReason() + ": " + resp.GetMessage()
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := summarize(rs, time.Since(t0))
	res.Rejected, res.FirstReason = int(rejected.Load()), firstReason
	return res, nil
}

// chunkSize is the size of the pieces a file is uploaded in, as the command line's.
const chunkSize = 64 << 10

func send(ctx context.Context, client pb.ConfirmationServiceClient, s submission) (*pb.SubmitSignedConfirmationResponse, error) {
	stream, err := client.SubmitSignedConfirmation(ctx)
	if err != nil {
		return nil, err
	}
	meta := &pb.SubmissionMetadata{Confirmation: s.confirmation, FileName: filepath.Base(s.file), SizeBytes: int64(len(s.data))}
	if err := stream.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: meta}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for off := 0; off < len(s.data); off += chunkSize {
		b := s.data[off:min(off+chunkSize, len(s.data))]
		if err := stream.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: b}}); errors.Is(err, io.EOF) {
			break // the server answered early; CloseAndRecv returns its answer
		} else if err != nil {
			return nil, err
		}
	}
	return stream.CloseAndRecv()
}
