// Command bieuquyet-bench is the end-to-end benchmark harness behind `make bench` (issue
// 7/7). It builds the server binary and the load generator (bieuquyet-load) from the
// working tree, starts the real server on temporary databases, drives it over loopback,
// and prints a Markdown section of figures; --write puts it into docs/benchmarks.md.
//
// Every figure is a ratio against a baseline measured in the same run, alternating which
// goes first, as the median of --runs runs with their spread (min–max): the machines
// are noisy, so absolute figures are given only to read the ratios from.
//
//	bieuquyet-bench                       every scenario, 3 runs (make bench)
//	bieuquyet-bench --quick               small counts, one run: a smoke test (make bench-quick)
//	bieuquyet-bench --scenarios votes,watchers --addr 127.0.0.1:50051 --token T --poll polls/3
//	                                      against a running server (its poll must be open)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bieuquyet-bench:", err)
		os.Exit(1)
	}
}

// config holds the flags.
type config struct {
	quick        bool
	runs         int
	duration     time.Duration
	concurrency  []int
	watchers     int
	voters       int
	bigVotes     int
	submitters   int
	scenarios    map[string]bool
	write        string
	label        string
	cacheDir     string
	keep         bool
	profile      bool
	roster       string
	addr, token  string
	poll         string
	commandLine  string
	rosterBytes  []byte
	logw         io.Writer
	scenarioList string
}

var allScenarios = []string{"votes", "watchers", "tallies", "start", "issuing", "verifying"}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := config{logw: stderr, commandLine: strings.Join(append([]string{"bieuquyet-bench"}, args...), " ")}
	fs := flag.NewFlagSet("bieuquyet-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&c.quick, "quick", false, "small counts and one run: a smoke test that takes seconds, not a measurement")
	fs.IntVar(&c.runs, "runs", 3, "runs of each scenario; figures are medians over them")
	fs.DurationVar(&c.duration, "duration", 5*time.Second, "how long each timed load lasts")
	concurrency := fs.String("concurrency", "1,16,64", "concurrent callers of the votes scenario")
	fs.IntVar(&c.watchers, "watchers", 1000, "WatchPoll streams of the watchers scenario")
	fs.IntVar(&c.voters, "voters", 1000, "voters of the issuing and verifying poll")
	fs.IntVar(&c.bigVotes, "big-votes", 1_000_000, "vote records in the tallies and start scenarios' database")
	fs.IntVar(&c.submitters, "submitters", 2*runtime.NumCPU(), "concurrent callers of the verifying scenario")
	fs.StringVar(&c.scenarioList, "scenarios", strings.Join(allScenarios, ","), "which scenarios to run")
	fs.StringVar(&c.write, "write", "", "also put the section into this Markdown file (docs/benchmarks.md), replacing the one an earlier run wrote")
	fs.StringVar(&c.label, "label", "", "a note printed under the section's heading (say so when the machine was busy)")
	fs.StringVar(&c.cacheDir, "cache", filepath.Join(os.TempDir(), "bieuquyet-bench-cache"), "where generated databases are kept between runs")
	fs.BoolVar(&c.profile, "profile", true, "where a target is missed, run the subject once more under the server's CPU profiler and put its top functions beside the figures (builds the server with -tags benchprof)")
	fs.BoolVar(&c.keep, "keep", false, "keep the temporary folder (databases, server logs, signed files)")
	fs.StringVar(&c.roster, "roster", filepath.Join("examples", "roster.csv"), "the sample roster")
	fs.StringVar(&c.addr, "addr", "", "drive this running server instead of starting one (votes, watchers and tallies only; needs --token and --poll)")
	fs.StringVar(&c.token, "token", os.Getenv("BIEUQUYET_TOKEN"), "with --addr: the bearer token (env BIEUQUYET_TOKEN)")
	fs.StringVar(&c.poll, "poll", "", "with --addr: an open poll to vote in, watch and tally")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The section shows the command without the label, which it prints on its own.
	if c.label != "" {
		shown := []string{"bieuquyet-bench"}
		fs.Visit(func(f *flag.Flag) {
			if f.Name != "label" && f.Name != "write" {
				shown = append(shown, "--"+f.Name+" "+f.Value.String())
			}
		})
		c.commandLine = strings.Join(shown, " ")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.quick {
		c.runs, c.duration, c.watchers, c.voters, c.bigVotes = 1, time.Second, 100, 30, 3_000
	}
	for f := range strings.SplitSeq(*concurrency, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("--concurrency: %q is not a positive number", f)
		}
		c.concurrency = append(c.concurrency, n)
	}
	c.scenarios = map[string]bool{}
	for s := range strings.SplitSeq(c.scenarioList, ",") {
		if !slices.Contains(allScenarios, s) {
			return fmt.Errorf("--scenarios: unknown %q; the scenarios are %s", s, strings.Join(allScenarios, ", "))
		}
		c.scenarios[s] = true
	}
	if c.runs < 1 {
		return errors.New("--runs must be at least 1")
	}
	if c.addr != "" {
		if c.token == "" || c.poll == "" {
			return errors.New("--addr needs --token and --poll")
		}
		for _, s := range []string{"start", "issuing", "verifying"} {
			delete(c.scenarios, s)
		}
	}
	var err error
	if c.rosterBytes, err = os.ReadFile(c.roster); err != nil {
		return fmt.Errorf("the sample roster (run from the repository's root): %w", err)
	}

	work, err := os.MkdirTemp("", "bieuquyet-bench-")
	if err != nil {
		return err
	}
	if c.keep {
		c.logf("keeping %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	b := &bench{config: c, work: work, started: time.Now(), loadBefore: loadAverage()}
	c.logf("building the server and the load generator")
	if b.bins, err = build(ctx, work, c.profile); err != nil {
		return err
	}
	if err := b.runAll(ctx); err != nil {
		return err
	}
	section := b.markdown()
	fmt.Fprint(stdout, section)
	if c.write != "" {
		if err := writeSection(c.write, section); err != nil {
			return err
		}
		c.logf("wrote the section into %s", c.write)
	}
	return nil
}

func (c *config) logf(format string, args ...any) {
	fmt.Fprintf(c.logw, "bieuquyet-bench: "+format+"\n", args...)
}

// Markers around the section in the Markdown file, so that a rerun replaces it.
const (
	beginMarker = "<!-- bieuquyet-bench: begin (written by make bench; edit the harness, not this section) -->"
	endMarker   = "<!-- bieuquyet-bench: end -->"
)

// writeSection replaces the section between the markers in path, or appends it.
func writeSection(path, section string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(b)
	block := beginMarker + "\n\n" + section + "\n" + endMarker + "\n"
	i, j := strings.Index(doc, beginMarker), strings.Index(doc, endMarker)
	if i >= 0 && j > i {
		doc = doc[:i] + block + strings.TrimPrefix(doc[j+len(endMarker):], "\n")
	} else {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

// loadAverage returns the 1-minute load average, as /proc/loadavg has it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}
