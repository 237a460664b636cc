package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
	"github.com/bieuquyet/bieuquyet/pdf"
	"github.com/bieuquyet/bieuquyet/signedpdf"
)

// signatureMargin is the server's (cmd/bieuquyet-server), for the in-process verifier.
const signatureMargin = 3

// bench is one run of the harness.
type bench struct {
	config
	work       string
	bins       *binaries
	started    time.Time
	loadBefore string
	groups     []*group
	notes      []string
}

// group is a table of figures.
type group struct {
	title, what string
	figures     []*figure
	profiles    []profile
}

// profile is the top of a CPU profile of the server taken during an extra, unmeasured
// run of a subject that missed its target.
type profile struct {
	title, top string
}

// missed reports whether a figure of the group misses its target.
func (g *group) missed() bool {
	for _, f := range g.figures {
		if f.check != nil && len(f.ratios()) > 0 && !f.check(median(f.ratios()), median(f.subject)) {
			return true
		}
	}
	return false
}

// profileMissed runs fn once more under the server's CPU profiler when the group missed
// a target, and keeps the profile's top beside the group's figures.
func (b *bench) profileMissed(ctx context.Context, g *group, s *server, title string, seconds int, fn func() error) error {
	if !b.profile || s == nil || !g.missed() {
		return nil
	}
	b.logf("profiling: %s", title)
	file := filepath.Join(b.work, fmt.Sprintf("profile-%d.pprof", len(b.groups)*10+len(g.profiles)))
	top, err := s.cpuProfile(ctx, b.bins.server, file, seconds, fn)
	if err != nil {
		return err
	}
	if i := strings.Index(top, "Duration:"); i >= 0 {
		top = top[i:]
	}
	g.profiles = append(g.profiles, profile{title, strings.TrimSpace(top)})
	return nil
}

// figure is one compared quantity: the subject and its baseline in each run, and their
// ratio; check says whether the medians meet the target.
type figure struct {
	name, unit    string
	subject, base []float64
	subjectName   string
	baseName      string
	target        string
	check         func(ratio, subject float64) bool
	absoluteOnly  bool // no baseline: the figure is the subject alone
}

func (b *bench) add(g *group) *group { b.groups = append(b.groups, g); return g }

func (g *group) figure(f *figure) *figure { g.figures = append(g.figures, f); return f }

func (b *bench) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

// ratios returns subject[i]/base[i] for each run.
func (f *figure) ratios() []float64 {
	var r []float64
	for i := range f.subject {
		if i < len(f.base) && f.base[i] != 0 {
			r = append(r, f.subject[i]/f.base[i])
		}
	}
	return r
}

// median returns the median of xs.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func spread(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	lo, hi = xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return lo, hi
}

// first returns whether run i measures the baseline first: runs alternate.
func baselineFirst(i int) bool { return i%2 == 0 }

// pair runs the baseline and the subject of run i in alternating order.
func pair(i int, base, subject func() error) error {
	steps := []func() error{base, subject}
	if !baselineFirst(i) {
		steps[0], steps[1] = subject, base
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) runAll(ctx context.Context) error {
	var main *server
	token, poll := b.token, b.poll
	addr := b.addr
	var idleRSS int64
	if b.addr == "" && (b.scenarios["votes"] || b.scenarios["watchers"]) {
		var err error
		if main, token, err = b.freshServer(ctx, "main", ""); err != nil {
			return err
		}
		defer main.stop()
		addr = main.addr
		if poll, err = councilPoll(withToken(ctx, token), main.conn, "Phiếu đo tải"); err != nil {
			return err
		}
		idleRSS, _ = main.peakRSS()
	}
	if b.scenarios["votes"] {
		if err := b.votes(ctx, main, addr, token, poll); err != nil {
			return fmt.Errorf("votes: %w", err)
		}
	}
	var votesRSS int64
	if main != nil {
		votesRSS, _ = main.peakRSS()
	}
	if b.scenarios["watchers"] {
		if err := b.watchScenario(ctx, main, addr, token, poll); err != nil {
			return fmt.Errorf("watchers: %w", err)
		}
	}
	if main != nil {
		watchRSS, err := main.peakRSS()
		if err != nil {
			return err
		}
		g := b.add(&group{title: "Memory: the server's peak resident set (VmHWM)",
			what: "Read from /proc/PID/status of the server the votes and watchers scenarios ran on; the baseline is the same server idle, after the roster import."})
		mb := func(n int64) float64 { return float64(n) / (1 << 20) }
		g.figure(&figure{name: "peak RSS after the votes scenario", unit: "MB", subjectName: "after", baseName: "idle",
			subject: []float64{mb(votesRSS)}, base: []float64{mb(idleRSS)}})
		g.figure(&figure{name: "peak RSS after the watchers scenario too", unit: "MB", subjectName: "after", baseName: "idle",
			subject: []float64{mb(watchRSS)}, base: []float64{mb(idleRSS)}, target: "< 150 MB",
			check: func(_, s float64) bool { return s < 150 }})
	}
	if b.scenarios["tallies"] || b.scenarios["start"] {
		if err := b.tallies(ctx, addr, token, poll); err != nil {
			return fmt.Errorf("tallies: %w", err)
		}
	}
	if b.scenarios["issuing"] || b.scenarios["verifying"] {
		if err := b.issuing(ctx); err != nil {
			return fmt.Errorf("issuing: %w", err)
		}
	}
	return nil
}

// freshServer starts a server on a new database named name, makes an admin token and
// loads the sample roster.
func (b *bench) freshServer(ctx context.Context, name, trustRoots string) (*server, string, error) {
	db := filepath.Join(b.work, name+".db")
	s, err := startServer(ctx, b.bins.server, db, trustRoots)
	if err != nil {
		return nil, "", err
	}
	token, err := createToken(ctx, b.bins.server, db)
	if err == nil {
		err = importRoster(withToken(ctx, token), s.conn, b.rosterBytes)
	}
	if err != nil {
		s.stop()
		return nil, "", err
	}
	return s, token, nil
}

func (b *bench) load(ctx context.Context, addr, token string, args ...string) (*loadResult, error) {
	b.logf("bieuquyet-load %s", strings.Join(args, " "))
	return load(ctx, b.bins.load, addr, token, args...)
}

func (b *bench) dur() string { return b.duration.String() }

// votes: RecordVote against Health/Check at each concurrency.
func (b *bench) votes(ctx context.Context, s *server, addr, token, poll string) error {
	g := b.add(&group{title: "Durable votes: RecordVote against Health/Check",
		what: fmt.Sprintf("`bieuquyet-load --scenario vote --poll P --concurrency C` against `--scenario health` on the same server, %s each (after a 0.5 s warm-up), into a council poll of the sample roster (60 voters, each call a new choice with a request id; `synchronous=FULL`). Ratio: votes/s ÷ health checks/s.", b.dur())})
	for _, c := range b.concurrency {
		rate := g.figure(&figure{name: fmt.Sprintf("%d callers: calls/s", c), unit: "/s", subjectName: "RecordVote", baseName: "Health/Check"})
		var p99 *figure
		if c == b.concurrency[len(b.concurrency)-1] {
			rate.target = "≥ 0.6 at 64"
			rate.check = func(r, _ float64) bool { return r >= 0.6 }
		}
		p99 = g.figure(&figure{name: fmt.Sprintf("%d callers: p99 latency", c), unit: "ms", subjectName: "RecordVote", baseName: "Health/Check"})
		if c == 64 {
			p99.target = "RecordVote p99 < 50 ms"
			p99.check = func(_, s float64) bool { return s < 50 }
		}
		cs := fmt.Sprint(c)
		for i := range b.runs {
			var h, v *loadResult
			err := pair(i, func() (err error) {
				h, err = b.load(ctx, addr, token, "--scenario", "health", "--concurrency", cs, "--duration", b.dur())
				return err
			}, func() (err error) {
				v, err = b.load(ctx, addr, token, "--scenario", "vote", "--poll", poll, "--concurrency", cs, "--duration", b.dur())
				return err
			})
			if err != nil {
				return err
			}
			rate.subject, rate.base = append(rate.subject, v.Rate), append(rate.base, h.Rate)
			p99.subject, p99.base = append(p99.subject, v.P99), append(p99.base, h.P99)
		}
	}
	c := fmt.Sprint(b.concurrency[len(b.concurrency)-1])
	return b.profileMissed(ctx, g, s, "RecordVote at "+c+" callers", int(b.duration.Seconds()), func() error {
		_, err := b.load(ctx, addr, token, "--scenario", "vote", "--poll", poll, "--concurrency", c, "--duration", b.dur())
		return err
	})
}

// watchScenario: one voter records votes while 1 or b.watchers streams watch the poll.
func (b *bench) watchScenario(ctx context.Context, s *server, addr, token, poll string) error {
	w := fmt.Sprint(b.watchers)
	g := b.add(&group{title: fmt.Sprintf("Watchers: %s WatchPoll streams while votes are recorded", w),
		what: fmt.Sprintf("`bieuquyet-load --scenario watch --watchers N`: N streams on the poll (over one connection per 100 streams), one caller recording votes one after another for %s. Delivery: from a vote's reply to the arrival of its tally (the first with its version or a later one) at the last of the N watchers. Baseline: the same with one watcher.", b.dur())})
	lat := g.figure(&figure{name: "a vote's latency, p50", unit: "ms", subjectName: w + " watchers", baseName: "1 watcher", target: "≤ 2 ×",
		check: func(r, _ float64) bool { return r <= 2 }})
	lat99 := g.figure(&figure{name: "a vote's latency, p99", unit: "ms", subjectName: w + " watchers", baseName: "1 watcher"})
	del := g.figure(&figure{name: "delivery to every watcher, p99", unit: "ms", subjectName: w + " watchers", baseName: "1 watcher", target: "< 100 ms",
		check: func(_, s float64) bool { return s < 100 }})
	missed := 0
	for i := range b.runs {
		var one, many *loadResult
		err := pair(i, func() (err error) {
			one, err = b.load(ctx, addr, token, "--scenario", "watch", "--poll", poll, "--watchers", "1", "--duration", b.dur())
			return err
		}, func() (err error) {
			many, err = b.load(ctx, addr, token, "--scenario", "watch", "--poll", poll, "--watchers", w, "--duration", b.dur())
			return err
		})
		if err != nil {
			return err
		}
		lat.subject, lat.base = append(lat.subject, many.P50), append(lat.base, one.P50)
		lat99.subject, lat99.base = append(lat99.subject, many.P99), append(lat99.base, one.P99)
		del.subject, del.base = append(del.subject, many.DeliveryP99), append(del.base, one.DeliveryP99)
		missed += many.Missed + one.Missed
	}
	if missed > 0 {
		b.note("Watchers: %d vote and watcher pairs never saw the vote's tally within 5 s of the last vote.", missed)
	}
	return b.profileMissed(ctx, g, s, "votes with "+w+" watchers", int(b.duration.Seconds()), func() error {
		_, err := b.load(ctx, addr, token, "--scenario", "watch", "--poll", poll, "--watchers", w, "--duration", b.dur())
		return err
	})
}

// tallies: GetTally on a database of b.bigVotes vote records against a fresh one, and
// the time to SERVING on each.
func (b *bench) tallies(ctx context.Context, addr, token, poll string) error {
	if b.addr != "" {
		g := b.add(&group{title: "Tallies: GetTally on the running server", what: "No baseline: the harness did not start this server."})
		f := g.figure(&figure{name: "GetTally p50", unit: "ms", absoluteOnly: true})
		for range b.runs {
			r, err := b.load(ctx, addr, token, "--scenario", "tally", "--poll", poll, "--duration", b.dur())
			if err != nil {
				return err
			}
			f.subject = append(f.subject, r.P50)
		}
		return nil
	}
	b.logf("the %d-vote database (cached in %s)", b.bigVotes, b.cacheDir)
	bigDB, took, err := bigDatabase(ctx, b.bins, b.cacheDir, b.work, b.rosterBytes, b.bigVotes, b.logf)
	if err != nil {
		return err
	}
	if took > 0 {
		b.note("The %d-vote database was generated in %s (through the server: ImportVotes of 60 votes a call) and cached.", b.bigVotes, took.Round(time.Second))
	}
	if st, err := os.Stat(bigDB); err == nil {
		b.note("The %d-vote database is %.0f MB.", b.bigVotes, float64(st.Size())/(1<<20))
	}
	fresh, freshToken, err := b.freshServer(ctx, "fresh", "")
	if err != nil {
		return err
	}
	defer fresh.stop()
	big, err := startServer(ctx, b.bins.server, bigDB, "")
	if err != nil {
		return err
	}
	defer big.stop()
	bigToken, err := createToken(ctx, b.bins.server, bigDB)
	if err != nil {
		return err
	}
	freshPoll, err := votedPoll(withToken(ctx, freshToken), fresh.conn, "Phiếu đếm")
	if err != nil {
		return err
	}
	bigPoll, err := votedPoll(withToken(ctx, bigToken), big.conn, "Phiếu đếm")
	if err != nil {
		return err
	}
	if b.scenarios["tallies"] {
		g := b.add(&group{title: fmt.Sprintf("Tallies: GetTally with %d vote records in the database", b.bigVotes),
			what: fmt.Sprintf("`bieuquyet-load --scenario tally --concurrency 1` for %s on a 60-voter poll with every vote in, on a database holding %d vote records (1,020 a poll in closed council polls, with their audit events) and on a fresh one with only the roster. Ratio: big ÷ fresh.", b.dur(), b.bigVotes)})
		p50 := g.figure(&figure{name: "GetTally p50", unit: "ms", subjectName: "big", baseName: "fresh", target: "≤ 1.5 ×, p50 < 1 ms",
			check: func(r, s float64) bool { return r <= 1.5 && s < 1 }})
		p99 := g.figure(&figure{name: "GetTally p99", unit: "ms", subjectName: "big", baseName: "fresh"})
		for i := range b.runs {
			var f, g *loadResult
			err := pair(i, func() (err error) {
				f, err = b.load(ctx, fresh.addr, freshToken, "--scenario", "tally", "--poll", freshPoll, "--duration", b.dur())
				return err
			}, func() (err error) {
				g, err = b.load(ctx, big.addr, bigToken, "--scenario", "tally", "--poll", bigPoll, "--duration", b.dur())
				return err
			})
			if err != nil {
				return err
			}
			p50.subject, p50.base = append(p50.subject, g.P50), append(p50.base, f.P50)
			p99.subject, p99.base = append(p99.subject, g.P99), append(p99.base, f.P99)
		}
		err := b.profileMissed(ctx, g, big, "GetTally on the big database", int(b.duration.Seconds()), func() error {
			_, err := b.load(ctx, big.addr, bigToken, "--scenario", "tally", "--poll", bigPoll, "--duration", b.dur())
			return err
		})
		if err != nil {
			return err
		}
	}
	if err := fresh.stop(); err != nil {
		return err
	}
	if err := big.stop(); err != nil {
		return err
	}
	if !b.scenarios["start"] {
		return nil
	}
	g := b.add(&group{title: "Start: time to SERVING",
		what: fmt.Sprintf("From starting the server binary to its first SERVING answer of Health/Check, on the %d-vote database and on the fresh one (roster and one poll); each started and stopped in turn.", b.bigVotes)})
	f := g.figure(&figure{name: "time to SERVING", unit: "ms", subjectName: "big", baseName: "fresh"})
	for i := range b.runs {
		var fr, br time.Duration
		start := func(db string, into *time.Duration) func() error {
			return func() error {
				s, err := startServer(ctx, b.bins.server, db, "")
				if err != nil {
					return err
				}
				*into = s.ready
				return s.stop()
			}
		}
		if err := pair(i, start(fresh.db, &fr), start(bigDB, &br)); err != nil {
			return err
		}
		f.subject, f.base = append(f.subject, ms(br)), append(f.base, ms(fr))
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// issuing: GenerateConfirmations of a b.voters-voter poll against the naive renderer,
// then verifying: the signed confirmations submitted against the verifier in process.
func (b *bench) issuing(ctx context.Context) error {
	roots := filepath.Join(b.work, "trust-roots")
	if err := os.MkdirAll(roots, 0o750); err != nil {
		return err
	}
	roster, voters := syntheticRoster(b.voters)
	b.logf("a test CA and %d certificates", len(voters))
	pki, err := newTestPKI(voters, roots)
	if err != nil {
		return err
	}
	db := filepath.Join(b.work, "issue.db")
	s, err := startServer(ctx, b.bins.server, db, roots)
	if err != nil {
		return err
	}
	defer s.stop()
	token, err := createToken(ctx, b.bins.server, db)
	if err != nil {
		return err
	}
	tctx := withToken(ctx, token)
	if err := importRoster(tctx, s.conn, roster); err != nil {
		return err
	}
	ph, err := phones(tctx, s.conn)
	if err != nil {
		return err
	}
	identityOf := map[string]string{} // people/N → identity
	byPhone := map[string]string{}
	for _, v := range voters {
		byPhone[v.phone] = v.identity
	}
	for person, phone := range ph {
		identityOf[person] = byPhone[strings.TrimPrefix(strings.ReplaceAll(phone, " ", ""), "+84")]
		if identityOf[person] == "" {
			identityOf[person] = byPhone["0"+strings.TrimPrefix(phone, "+84")]
		}
	}
	n := fmt.Sprint(b.voters)
	var gen, ver *figure
	var genGroup *group
	if b.scenarios["issuing"] {
		g := b.add(&group{title: fmt.Sprintf("Issuing: confirmations of a %s-voter poll", n),
			what: fmt.Sprintf("`bieuquyet-load --scenario generate`: one GenerateConfirmations call on a closed poll of a synthetic Ban of %s delegates, every one with a vote; the server renders on every core and stores the documents in one transaction. Baseline: `pdf.NewNaive()` (gofpdf's Unicode fonts, as `pdf/bench_test.go`'s naive) rendering the same kind of confirmation in this process on every core for %s.", n, b.dur())})
		genGroup = g
		gen = g.figure(&figure{name: "confirmations/s", unit: "/s", subjectName: "GenerateConfirmations", baseName: "naive gofpdf", target: "≥ 3 ×",
			check: func(r, _ float64) bool { return r >= 3 }})
	}
	if b.scenarios["verifying"] {
		g := b.add(&group{title: "Verifying: signed confirmations submitted",
			what: fmt.Sprintf("`bieuquyet-load --scenario submit --concurrency %d`: the %s confirmations of each issuing run, downloaded and signed by their delegates (test CA, one certificate each), sent through SubmitSignedConfirmation; each is verified, reconciled and stored, and the last finalizes the poll. Baseline: `signedpdf.Checker.Verify` of the same files in this process on every core (the check alone, no RPC, no store). Ratio: submitted/s ÷ verified/s.", b.submitters, n)})
		ver = g.figure(&figure{name: "confirmations/s", unit: "/s", subjectName: "SubmitSignedConfirmation", baseName: "Verify in process"})
	}
	checker := &signedpdf.Checker{RootsDir: roots, SignatureArea: pdf.SignatureRect(signatureMargin)}
	for i := range b.runs {
		poll, err := issuingPoll(tctx, s.conn, voters, fmt.Sprintf("Phiếu xác nhận %d", i+1))
		if err != nil {
			return err
		}
		var genRate, naiveRate float64
		err = pair(i, func() error {
			if gen == nil {
				return nil
			}
			naiveRate, err = naive(ctx, b.duration)
			return err
		}, func() error {
			r, err := b.load(ctx, s.addr, token, "--scenario", "generate", "--poll", poll)
			if err != nil {
				return err
			}
			if r.Items != b.voters {
				return fmt.Errorf("generate: %d confirmations, want %d", r.Items, b.voters)
			}
			genRate = r.Rate
			return nil
		})
		if err != nil {
			return err
		}
		if gen != nil {
			gen.subject, gen.base = append(gen.subject, genRate), append(gen.base, naiveRate)
		}
		if ver == nil {
			continue
		}
		docs, err := download(tctx, s.conn, poll)
		if err != nil {
			return err
		}
		dir := filepath.Join(b.work, fmt.Sprintf("signed-%d", i+1))
		b.logf("signing %d confirmations", len(docs))
		if err := signAll(docs, pki, identityOf, dir); err != nil {
			return err
		}
		var subRate, verRate float64
		err = pair(i, func() error {
			verRate, err = verifyInProcess(checker, docs)
			return err
		}, func() error {
			r, err := b.load(ctx, s.addr, token, "--scenario", "submit", "--dir", dir, "--concurrency", fmt.Sprint(b.submitters))
			if err != nil {
				return err
			}
			if r.Rejected > 0 {
				return fmt.Errorf("submit: %d of %d rejected, the first: %s", r.Rejected, r.Calls, r.FirstReason)
			}
			subRate = r.Rate
			return nil
		})
		if err != nil {
			return err
		}
		ver.subject, ver.base = append(ver.subject, subRate), append(ver.base, verRate)
	}
	if genGroup == nil || !genGroup.missed() || !b.profile {
		return nil
	}
	poll, err := issuingPoll(tctx, s.conn, voters, "Phiếu xác nhận, hồ sơ CPU")
	if err != nil {
		return err
	}
	seconds := int(float64(b.voters)/median(gen.subject)) + 1
	return b.profileMissed(ctx, genGroup, s, "GenerateConfirmations", seconds, func() error {
		_, err := b.load(ctx, s.addr, token, "--scenario", "generate", "--poll", poll)
		return err
	})
}

// minNaive is the fewest documents the naive baseline renders: one takes a second or
// more on a loaded machine, and a rate needs more than one or two.
const minNaive = 20

// parallel calls fn(0) … fn(n-1) on every core.
func parallel(n int, fn func(int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		})
	}
	wg.Wait()
}

// naive renders confirmations with pdf.NewNaive on every core for d, and at least
// minNaive documents, and returns documents per second.
func naive(ctx context.Context, d time.Duration) (float64, error) {
	r := pdf.NewNaive()
	var done atomic.Int64
	var firstErr atomic.Value
	t0 := time.Now()
	end := t0.Add(d)
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := int64(w); ctx.Err() == nil; i += int64(runtime.GOMAXPROCS(0)) {
				if _, err := r.Confirmation(signtest.Paper(i + 1)); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if done.Add(1) >= minNaive && !time.Now().Before(end) {
					return
				}
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return 0, err
	}
	return float64(done.Load()) / time.Since(t0).Seconds(), ctx.Err()
}

// verifyInProcess checks every signed document with the server's verifier, on every
// core, and returns documents per second.
func verifyInProcess(c *signedpdf.Checker, docs []*issuedDoc) (float64, error) {
	errs := make([]error, len(docs))
	t0 := time.Now()
	parallel(len(docs), func(i int) {
		_, errs[i] = c.Verify(docs[i].issued, docs[i].signed, docs[i].issue, time.Now())
	})
	rate := float64(len(docs)) / time.Since(t0).Seconds()
	for i, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("verify %s: %w", docs[i].name, err)
		}
	}
	return rate, nil
}

// markdown renders the section.
func (b *bench) markdown() string {
	var w strings.Builder
	heading := "End to end (`make bench`)"
	if b.quick {
		heading = "End to end (`make bench-quick`: a smoke run, not a measurement)"
	}
	fmt.Fprintf(&w, "## %s\n\n", heading)
	if b.label != "" {
		fmt.Fprintf(&w, "%s\n\n", b.label)
	}
	fmt.Fprintf(&w, "`%s`\n\n", b.commandLine)
	fmt.Fprintf(&w, "%s; %d cores (`nproc`), %s; %s; load average %s at the start, %s at the end; %d run(s) of each scenario, baseline and subject alternating which goes first; %s.\n\n",
		b.started.Format("2006-01-02 15:04 MST"), runtime.NumCPU(), cpuModel(), goVersion(), b.loadBefore, loadAverage(), b.runs,
		fmt.Sprintf("took %s", time.Since(b.started).Round(time.Second)))
	fmt.Fprintln(&w, "Each cell of the runs columns lists the runs in order; the ratio is the median of the per-run ratios with their range.")
	fmt.Fprintln(&w)
	for _, g := range b.groups {
		fmt.Fprintf(&w, "### %s\n\n%s\n\n", g.title, g.what)
		fmt.Fprintln(&w, "| figure | subject, runs | baseline, runs | ratio (median, range) | target | met |")
		fmt.Fprintln(&w, "| --- | --- | --- | --- | --- | --- |")
		for _, f := range g.figures {
			subj := fmt.Sprintf("%s: %s %s", f.subjectName, list(f.subject), f.unit)
			base := fmt.Sprintf("%s: %s %s", f.baseName, list(f.base), f.unit)
			ratio := "-"
			met := ""
			if f.absoluteOnly {
				subj, base = list(f.subject)+" "+f.unit, "-"
			} else if rs := f.ratios(); len(rs) > 0 {
				lo, hi := spread(rs)
				ratio = fmt.Sprintf("%s × (%s–%s)", num(median(rs)), num(lo), num(hi))
				if f.check != nil {
					met = "no"
					if f.check(median(rs), median(f.subject)) {
						met = "yes"
					}
				}
			}
			fmt.Fprintf(&w, "| %s | %s | %s | %s | %s | %s |\n", f.name, subj, base, ratio, f.target, met)
		}
		fmt.Fprintln(&w)
		for _, p := range g.profiles {
			fmt.Fprintf(&w, "<details><summary>Target missed: the server's CPU profile during one more run of %s (<code>go tool pprof -top -cum</code>; CPU only: time waiting on fsync or the single writer is not in it)</summary>\n\n```text\n%s\n```\n\n</details>\n\n", p.title, p.top)
		}
	}
	for _, n := range b.notes {
		fmt.Fprintf(&w, "%s\n\n", n)
	}
	return w.String()
}

// num prints a figure with three significant digits or so.
func num(x float64) string {
	switch {
	case x >= 1000:
		return commas(int64(x + 0.5))
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	case x >= 1:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	var out []string
	for len(s) > 3 {
		out = append([]string{s[len(s)-3:]}, out...)
		s = s[:len(s)-3]
	}
	return strings.Join(append([]string{s}, out...), ",")
}

func list(xs []float64) string {
	p := make([]string, len(xs))
	for i, x := range xs {
		p[i] = num(x)
	}
	return strings.Join(p, " · ")
}

// cpuModel returns the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "CPU unknown"
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return "`" + strings.TrimSpace(v) + "`"
		}
	}
	return "CPU unknown"
}

func goVersion() string {
	out, err := exec.Command("go", "version").Output()
	if err != nil {
		return runtime.Version()
	}
	return "`" + strings.TrimSpace(string(out)) + "`"
}
