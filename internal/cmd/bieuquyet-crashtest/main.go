// Command bieuquyet-crashtest proves that bieuquyet-server keeps every write it
// acknowledged. It runs the real server binary on one database, over and over: each cycle
// starts the server, drives it from many concurrent callers (votes on open polls, polls
// opened and closed, confirmations issued, signed as the delegates with a test CA and
// submitted), and at a random moment kills it with SIGKILL (or stops it with SIGTERM).
// With the server gone, it opens the database with store/sqlite and checks that every
// write that got an OK answer is there with what the answer said, that every write the
// server refused is not, that PRAGMA integrity_check finds nothing and that
// VerifyAuditLog passes, against every audit head seen before. Calls cut off by the kill
// may be there or not, but whole: a retry with the same request id must find them once or
// record them once. The next cycle continues on the same database, so damage would pile up.
//
//	bieuquyet-crashtest --server bin/bieuquyet-server --cycles 20 --sigterm-cycles 5
//
// It exits non-zero on any loss, any damage or any unexpected server error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bieuquyet-crashtest:", err)
		os.Exit(1)
	}
}

// config holds the flags.
type config struct {
	server         string
	roster         string
	dir            string
	keep           bool
	cycles         int
	sigtermCycles  int
	workers        int
	minRun, maxRun time.Duration
	seed           uint64
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("bieuquyet-crashtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.server, "server", "bin/bieuquyet-server", "the server binary to test")
	fs.StringVar(&c.roster, "roster", filepath.Join("examples", "roster.csv"), "the roster to load (its delegates need CCCD signing identities)")
	fs.StringVar(&c.dir, "dir", "", "work in this directory (default: a new temporary one, removed after a clean run)")
	fs.BoolVar(&c.keep, "keep", false, "keep the work directory (the database and the server logs) after a clean run")
	fs.IntVar(&c.cycles, "cycles", 20, "cycles ended by SIGKILL")
	fs.IntVar(&c.sigtermCycles, "sigterm-cycles", 5, "cycles ended by SIGTERM, after the SIGKILL ones")
	fs.IntVar(&c.workers, "workers", 16, "concurrent callers")
	fs.DurationVar(&c.minRun, "min-run", 500*time.Millisecond, "shortest time a cycle drives the server before it is stopped")
	fs.DurationVar(&c.maxRun, "max-run", 3*time.Second, "longest time a cycle drives the server before it is stopped")
	fs.Uint64Var(&c.seed, "seed", 0, "random seed (0: from the clock); printed, so that a run's kill moments can be replayed roughly")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.cycles < 0 || c.sigtermCycles < 0 || c.cycles+c.sigtermCycles == 0:
		return nil, errors.New("--cycles and --sigterm-cycles must not be negative, and not both zero")
	case c.workers < 1:
		return nil, errors.New("--workers must be at least 1")
	case c.minRun <= 0 || c.maxRun < c.minRun:
		return nil, errors.New("--min-run must be positive and at most --max-run")
	}
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	bin, err := filepath.Abs(c.server)
	if err != nil {
		return err
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("the server binary: %w (build it with `make build`)", err)
	}
	roster, err := os.ReadFile(c.roster)
	if err != nil {
		return fmt.Errorf("read the roster: %w", err)
	}
	dir := c.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "bieuquyet-crashtest-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	t := &tester{
		cfg: c, bin: bin, dir: dir, db: filepath.Join(dir, "bieuquyet.db"), roots: filepath.Join(dir, "trust-roots"),
		out: stdout, rng: rand.New(rand.NewPCG(c.seed, c.seed>>1|1)), ledger: newLedger(),
	}
	fmt.Fprintf(stdout, "bieuquyet-crashtest: %s, %d SIGKILL + %d SIGTERM cycles, %d workers, runs of %s to %s, seed %d, %d CPUs, work in %s\n",
		bin, c.cycles, c.sigtermCycles, c.workers, c.minRun, c.maxRun, c.seed, runtime.NumCPU(), dir)
	start := time.Now()
	err = t.run(ctx, roster)
	t.summary(stdout, time.Since(start))
	if err != nil {
		fmt.Fprintf(stdout, "FAILED: the database and the server logs are kept in %s\n", dir)
		return err
	}
	if c.dir == "" && !c.keep {
		return os.RemoveAll(dir)
	}
	return nil
}

// tester is one run: the database, the ledger of what the server acknowledged, the
// counts for the summary.
type tester struct {
	cfg            *config
	bin, dir, db   string
	roots          string
	out            io.Writer
	rng            *rand.Rand
	token          string
	ledger         *ledger
	signers        *signers
	heads          []knownHead
	cycle          int
	kills, terms   int
	killPoints     map[string]int // calls a stop cut off, by method, summed
	stopsDuring    map[string]int // stops that cut off at least one call of a method
	inflightAtTerm map[string]int // calls in flight when SIGTERM was sent, by method
	termCut        int            // calls a SIGTERM cut off
	checked        checkCounts
	runs           []time.Duration
	unexpected     []string
	checkTime      time.Duration
	ids            atomic.Int64 // request ids
	bodies         []string     // the groups that open polls
}

func (t *tester) run(ctx context.Context, roster []byte) error {
	t.killPoints, t.stopsDuring, t.inflightAtTerm = map[string]int{}, map[string]int{}, map[string]int{}
	if err := t.setup(ctx, roster); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	total := t.cfg.cycles + t.cfg.sigtermCycles
	for t.cycle = 1; t.cycle <= total; t.cycle++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		kill := t.cycle <= t.cfg.cycles
		if err := t.runCycle(ctx, kill); err != nil {
			return fmt.Errorf("cycle %d: %w", t.cycle, err)
		}
	}
	if len(t.unexpected) > 0 {
		return fmt.Errorf("%d unexpected answers from the server while it ran (first: %s)", len(t.unexpected), t.unexpected[0])
	}
	return nil
}

func (t *tester) logf(format string, args ...any) {
	fmt.Fprintf(t.out, format+"\n", args...)
}

// summary prints the figures of the run, whether it passed or not.
func (t *tester) summary(w io.Writer, took time.Duration) {
	l := t.ledger
	fmt.Fprintf(w, "\nsummary: %d cycles (%d SIGKILL, %d SIGTERM) in %s\n", t.kills+t.terms, t.kills, t.terms, took.Round(time.Second))
	if len(t.runs) > 0 {
		var sum time.Duration
		lo, hi := t.runs[0], t.runs[0]
		for _, r := range t.runs {
			sum += r
			lo, hi = min(lo, r), max(hi, r)
		}
		fmt.Fprintf(w, "  stopped after %s to %s of load (mean %s)\n", lo.Round(time.Millisecond), hi.Round(time.Millisecond), (sum / time.Duration(len(t.runs))).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  acknowledged writes: %d (votes %d, polls opened %d, closed %d, confirmations issued %d in %d calls, signed confirmations accepted %d)\n",
		l.acked(), len(l.votes), l.pollsCreated, l.pollsClosed, len(l.confs), l.generated, l.signed)
	fmt.Fprintf(w, "  checked after every stop: %d acknowledged writes checked in all (the same write again each cycle), %d lost\n",
		t.checked.acked, t.checked.lost)
	fmt.Fprintf(w, "  refused writes checked absent: %d; cut off by a stop: %d votes (%d there, %d not; retried with the same id: %d found once, %d recorded now, %d refused), %d other calls\n",
		len(l.refused), l.cutVotes, l.cutPresent, l.cutAbsent, l.retriedFound, l.retriedRecorded, l.retriedRefused, l.cutOther)
	fmt.Fprintf(w, "  integrity_check ok %d times, VerifyAuditLog ok %d times (last: %d events, against %d known heads); checks took %s (integrity %s, audit %s)\n",
		t.checked.integrity, t.checked.audit, t.checked.events, max(len(t.heads)-1, 0), t.checkTime.Round(time.Millisecond),
		t.checked.integrityTime.Round(time.Millisecond), t.checked.auditTime.Round(time.Millisecond))
	fmt.Fprintf(w, "  calls cut off by the stops: %s\n", formatCounts(t.killPoints))
	fmt.Fprintf(w, "  stops that cut off that kind of call: %s\n", formatCounts(t.stopsDuring))
	fmt.Fprintf(w, "  calls in flight at a SIGTERM: %s; of them cut off without an answer: %d\n", formatCounts(t.inflightAtTerm), t.termCut)
	if len(t.unexpected) > 0 {
		fmt.Fprintf(w, "  unexpected answers: %d\n", len(t.unexpected))
		for i, u := range t.unexpected {
			if i == 10 {
				fmt.Fprintf(w, "    … and %d more\n", len(t.unexpected)-10)
				break
			}
			fmt.Fprintf(w, "    %s\n", u)
		}
	}
}

// formatCounts prints a map's counts in a stable order.
func formatCounts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range methods {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}
