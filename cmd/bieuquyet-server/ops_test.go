package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// opsFixture fills a new database, before any server opens it, with a committee of seven
// delegates, a closed poll whose confirmations were issued, and an open poll that the
// test votes in through the server. It returns the open poll.
func opsFixture(t *testing.T, db string) (*storetest.PollFixture, *bq.Poll, []bq.Confirmation) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := storetest.NewPollFixture(t, st, storetest.NewClock())
	newPoll := func() *bq.Poll {
		p := &bq.Poll{BodyID: f.Ban.ID, GroupID: f.Ban.ID, Kind: bq.KindVote, Title: "Thông qua báo cáo", Question: "Đồng ý?",
			Rule: bq.RuleMajorityOfAll, Deadline: time.Now().Add(time.Hour)}
		p.Normalize()
		out, err := st.CreatePoll(ctx, storetest.Audit, p, bq.RequestKey{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	closed := newPoll()
	for i, m := range f.Members[:3] {
		if _, err := st.RecordVote(ctx, storetest.Audit, store.VoteRequest{PollID: closed.ID, PersonID: m,
			Options: []string{bq.VoteOptions[i]}, Source: bq.SourceZalo}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ClosePoll(ctx, storetest.Audit, closed.ID, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	plan, err := st.PlanConfirmations(ctx, closed.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	docs := make([][]byte, len(plan.Confirmations))
	for i := range docs {
		docs[i] = []byte(fmt.Sprintf("%%PDF-1.4 confirmation %d", i))
	}
	_, issued, err := st.IssueConfirmations(ctx, storetest.Audit, plan, docs, bq.RequestKey{})
	if err != nil {
		t.Fatal(err)
	}
	return f, newPoll(), issued
}

// serveWithMetrics runs the server until the test ends and returns its gRPC and metrics
// addresses, and a function that stops it and waits.
func serveWithMetrics(t *testing.T, args ...string) (addr, metricsAddr string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), &bytes.Buffer{}, logs) }()
	addr = waitForAddr(t, logs, done)
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec struct {
			Msg         string
			MetricsAddr string `json:"metrics_addr"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
			metricsAddr = rec.MetricsAddr
		}
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v\n%s", err, logs.String())
			}
		})
	}
	t.Cleanup(stop)
	return addr, metricsAddr, stop
}

// scrape reads /metrics into a map from each series, as the exposition format writes it
// (labels sorted by name), to its value.
func scrape(t *testing.T, metricsAddr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, b)
	}
	series := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return series
}

func TestMetrics(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bq.db")
	f, open, issued := opsFixture(t, db)
	addr, metricsAddr, stop := serveWithMetrics(t, "--db", db, "--metrics-listen", "127.0.0.1:0")
	if metricsAddr == "" {
		t.Fatal("the serving log line has no metrics_addr")
	}
	secret, err := tokenCreate(t, "--db", db, "--role", "admin", "--name", "Quản trị")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+strings.TrimSpace(secret))
	if _, err := whoami(context.Background(), t, conn, strings.TrimSpace(secret)); err != nil {
		t.Fatal(err)
	}
	if _, err := whoami(context.Background(), t, conn, "bq_wrong"); err == nil {
		t.Fatal("a wrong token was let in")
	}
	// All at once, so that the vote writer may commit several in one batch.
	polls := pb.NewPollServiceClient(conn)
	var wg sync.WaitGroup
	for i, m := range f.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: bq.PollName(open.ID), Person: bq.PersonName(m),
				Options: []string{bq.VoteOptions[i%3]}, Source: pb.VoteSource_VOTE_SOURCE_ZALO}); err != nil {
				t.Errorf("RecordVote: %v", err)
			}
		}()
	}
	wg.Wait()

	got := scrape(t, metricsAddr)
	votes := float64(len(f.Members))
	const recordVote = `grpc_method="RecordVote",grpc_service="bieuquyet.v1.PollService",grpc_type="unary"`
	const whoAmI = `grpc_method="WhoAmI",grpc_service="bieuquyet.v1.AccessService",grpc_type="unary"`
	want := map[string]float64{
		`grpc_server_handled_total{grpc_code="OK",` + whoAmI + `}`:              1,
		`grpc_server_handled_total{grpc_code="Unauthenticated",` + whoAmI + `}`: 1,
		`grpc_server_handled_total{grpc_code="OK",` + recordVote + `}`:          votes,
		`grpc_server_started_total{` + recordVote + `}`:                         votes,
		`grpc_server_handling_seconds_bucket{` + recordVote + `,le="+Inf"}`:     votes,
		`grpc_server_handling_seconds_count{` + recordVote + `}`:                votes,
		// Initialized at zero before any call.
		`grpc_server_handled_total{grpc_code="OK",grpc_method="ListPolls",grpc_service="bieuquyet.v1.PollService",grpc_type="unary"}`: 0,
		// The server's writer took the votes made through it, not the fixture's.
		`bieuquyet_vote_batch_size_sum`:                        votes,
		`bieuquyet_confirmations{status="awaiting_signature"}`: float64(len(issued)),
		`bieuquyet_confirmations{status="signed"}`:             0,
		`bieuquyet_confirmations{status="overdue"}`:            0,
		`bieuquyet_open_polls`:                                 1,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"}`: 0,
	}
	for series, v := range want {
		if g, ok := got[series]; !ok || g != v {
			t.Errorf("%s = %v (present: %v), want %v", series, g, ok, v)
		}
	}
	if len(issued) == 0 {
		t.Error("the fixture issued no confirmation")
	}
	batches := got[`bieuquyet_vote_batch_size_count`]
	if batches < 1 || batches > votes || got[`bieuquyet_vote_batch_size_bucket{le="+Inf"}`] != batches ||
		got[`bieuquyet_vote_batch_commit_seconds_count`] != batches || got[`bieuquyet_vote_batch_commit_seconds_sum`] <= 0 {
		t.Errorf("vote batches: %v of them; size buckets, commit times: %v, %v, %v", batches, got[`bieuquyet_vote_batch_size_bucket{le="+Inf"}`],
			got[`bieuquyet_vote_batch_commit_seconds_count`], got[`bieuquyet_vote_batch_commit_seconds_sum`])
	}
	// A latency histogram is cumulative: its buckets never decrease.
	prev := 0.0
	for _, le := range []string{"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"} {
		v, ok := got[`grpc_server_handling_seconds_bucket{`+recordVote+`,le="`+le+`"}`]
		if !ok || v < prev {
			t.Errorf("RecordVote's handling-time bucket le=%s: %v (present: %v), after %v", le, v, ok, prev)
		}
		prev = v
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}

	stop()
	if _, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		t.Error("the metrics listener is still open after the server stopped")
	}
}

func TestMetricsAreOffByDefault(t *testing.T) {
	t.Setenv("BIEUQUYET_METRICS_LISTEN", "")
	_, metricsAddr, _ := serveWithMetrics(t, "--db", filepath.Join(t.TempDir(), "bq.db"))
	if metricsAddr != "" {
		t.Errorf("metrics served on %s without --metrics-listen", metricsAddr)
	}
}

func TestMetricsListenerThatCannotListen(t *testing.T) {
	err := run(context.Background(), []string{"--listen", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "bq.db"),
		"--metrics-listen", "256.0.0.1:1"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
		t.Fatalf("run with a bad --metrics-listen: %v", err)
	}
}

func backup(args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), append([]string{"backup"}, args...), &out, &bytes.Buffer{})
	return out.String(), err
}

// TestBackupBesideARunningServer backs up the database of a server that holds its lock,
// then restores the copy as README's Operations says and serves it.
func TestBackupBesideARunningServer(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bq.db")
	opsFixture(t, db)
	serve(t, "--db", db)
	if _, err := tokenCreate(t, "--db", db, "--role", "admin", "--name", "Quản trị"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	stdout, err := backup("--db", db, "--out", out)
	if err != nil {
		t.Fatalf("backup beside the server: %v", err)
	}
	want := regexp.MustCompile(`^backed up ` + regexp.QuoteMeta(db) + ` to ` + regexp.QuoteMeta(out) + `
  pages:          \d+ of \d+ bytes \(\d+ bytes\)
  schema version: ` + strconv.Itoa(sqlite.SchemaVersion()) + `
  integrity:      ok
  audit trail:    intact, (\d+) events
  audit head:     (\d+):[0-9a-f]{64}
$`)
	m := want.FindStringSubmatch(stdout)
	if m == nil || m[1] != m[2] {
		t.Fatalf("backup printed:\n%s\nwant to match:\n%s", stdout, want)
	}

	// Restore: into a new place, with no -wal or -shm of the old file beside it.
	restored := filepath.Join(t.TempDir(), "restored.db")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, b, 0o600); err != nil {
		t.Fatal(err)
	}
	serve(t, "--db", restored)
	st, err := sqlite.Open(context.Background(), restored, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seq, _ := strconv.ParseInt(m[2], 10, 64)
	if v, err := st.VerifyAuditLog(context.Background()); err != nil || !v.OK || v.HeadSeq != seq {
		t.Fatalf("the restored database: %+v, %v; want a whole trail up to event %d", v, err, seq)
	}
}

func TestBackupFailsWithoutWritingOut(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bq.db")
	serve(t, "--db", db)
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db", db, "--out", filepath.Join(file, "b.db")}, "cannot write in the folder of " + filepath.Join(file, "b.db") + ": not a directory; " + filepath.Join(file, "b.db") + " is left as it was"},
		{[]string{"--db", db, "--out", filepath.Join(dir, "missing", "b.db")}, "no such file or directory"},
		{[]string{"--db", db, "--out", db}, "is the database itself"},
		{[]string{"--db", filepath.Join(dir, "none.db"), "--out", filepath.Join(dir, "b.db")}, "no database at"},
		{[]string{"--db", db}, "--out is required"},
		{[]string{"--db", db, "--out", filepath.Join(dir, "b.db"), "extra"}, "bieuquyet-server help backup"},
	} {
		stdout, err := backup(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("backup %q: %v; want an error with %q", tc.args, err, tc.want)
		}
		if stdout != "" {
			t.Errorf("backup %q printed on stdout: %s", tc.args, stdout)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("failed backups left files behind: %v", entries)
	}
}

func TestBackupHelp(t *testing.T) {
	for _, args := range [][]string{{"help", "backup"}, {"backup", "--help"}, {"backup", "-h"}, {"backup", "help"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out, &bytes.Buffer{}); err != nil {
			t.Errorf("run(%q): %v", args, err)
		}
		for _, w := range []string{"bieuquyet-server backup", "-db", "-out", "takes no", "restore"} {
			if !strings.Contains(out.String(), w) {
				t.Errorf("run(%q) printed no %q:\n%s", args, w, out.String())
			}
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "-metrics-listen") ||
		!strings.Contains(out.String(), "help backup") {
		t.Errorf("help: %v\n%s", err, out.String())
	}
}
