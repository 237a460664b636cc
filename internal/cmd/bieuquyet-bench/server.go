package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// binaries are the programs the harness runs, built from the working tree.
type binaries struct {
	server, load string
}

// build compiles the server and the load generator into dir; with profile, the server
// serves net/http/pprof on a loopback port of its own (cmd/bieuquyet-server/benchprof.go).
func build(ctx context.Context, dir string, profile bool) (*binaries, error) {
	b := &binaries{server: filepath.Join(dir, "bieuquyet-server"), load: filepath.Join(dir, "bieuquyet-load")}
	tags := ""
	if profile {
		tags = "benchprof"
	}
	for _, t := range []struct{ out, pkg string }{
		{b.server, "./cmd/bieuquyet-server"}, {b.load, "./internal/cmd/bieuquyet-load"},
	} {
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", tags, "-o", t.out, t.pkg)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("go build %s: %w", t.pkg, err)
		}
	}
	return b, nil
}

// server is a running bieuquyet-server process on its own database.
type server struct {
	cmd     *exec.Cmd
	addr    string
	pprof   string // net/http/pprof's address, when built with -tags benchprof
	db, log string
	// ready is how long the process took from its start to answering SERVING.
	ready  time.Duration
	conn   *grpc.ClientConn
	exited chan error
}

// startServer starts the server binary on db, listening on a free loopback port, and
// waits until its health service answers SERVING. Its log goes to db's folder.
func startServer(ctx context.Context, bin, db, trustRoots string) (*server, error) {
	logPath := db + ".log"
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	start, err := logFile.Seek(0, 2)
	if err != nil {
		return nil, err
	}
	args := []string{"--listen", "127.0.0.1:0", "--db", db}
	if trustRoots != "" {
		args = append(args, "--trust-roots", trustRoots)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "BIEUQUYET_PPROF_LISTEN=127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, db: db, log: logPath, exited: make(chan error, 1)}
	go func() { s.exited <- cmd.Wait() }()
	fail := func(err error) (*server, error) {
		s.stop()
		return nil, fmt.Errorf("server on %s: %w (log: %s)", db, err, logPath)
	}
	// The listening address is in the "serving" line of the log.
	for s.addr == "" {
		select {
		case err := <-s.exited:
			s.exited <- err
			return nil, fmt.Errorf("server on %s exited: %v (log: %s)", db, err, logPath)
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
		if s.addr, s.pprof, err = servingAddr(logPath, start); err != nil {
			return fail(err)
		}
	}
	if s.conn, err = grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return fail(err)
	}
	health := healthpb.NewHealthClient(s.conn)
	for {
		r, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && r.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		time.Sleep(time.Millisecond)
	}
	s.ready = time.Since(t0)
	return s, nil
}

// servingAddr reads the addresses from the log's "serving" line, and "pprof" line if
// any, written after offset.
func servingAddr(logPath string, offset int64) (addr, pprof string, err error) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return "", "", err
	}
	if int64(len(b)) < offset {
		return "", "", nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b[offset:]))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch line.Msg {
		case "pprof":
			pprof = line.Addr
		case "serving":
			return line.Addr, pprof, nil
		}
	}
	return "", "", nil
}

// ctx returns a context that carries the token.
func withToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// stop sends SIGTERM and waits for the process to end, killing it after 20 s.
func (s *server) stop() error {
	if s.conn != nil {
		s.conn.Close()
	}
	if s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		return err
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("the server did not stop within 20 s of SIGTERM")
	}
}

// peakRSS returns the process's VmHWM, its peak resident set, in bytes.
func (s *server) peakRSS() (int64, error) {
	return procStatus(s.cmd.Process.Pid, "VmHWM")
}

func procStatus(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// createToken makes an admin token offline with the server binary, as the README does.
func createToken(ctx context.Context, bin, db string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "token", "create", "--db", db, "--role", "admin", "--name", "bieuquyet-bench")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("token create: %w: %s", err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// loadResult is what bieuquyet-load prints (see its Result).
type loadResult struct {
	Scenario    string  `json:"scenario"`
	Concurrency int     `json:"concurrency"`
	Calls       int     `json:"calls"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error"`
	Seconds     float64 `json:"seconds"`
	Rate        float64 `json:"rate"`
	P50         float64 `json:"p50_ms"`
	P90         float64 `json:"p90_ms"`
	P99         float64 `json:"p99_ms"`
	Max         float64 `json:"max_ms"`
	Items       int     `json:"items"`
	Watchers    int     `json:"watchers"`
	DeliveryP50 float64 `json:"delivery_p50_ms"`
	DeliveryP99 float64 `json:"delivery_p99_ms"`
	DeliveryMax float64 `json:"delivery_max_ms"`
	PairsP99    float64 `json:"pairs_p99_ms"`
	Missed      int     `json:"missed"`
	Rejected    int     `json:"rejected"`
	FirstReason string  `json:"first_reason"`
}

// load runs the load generator once and returns its result; a run with errors fails.
func load(ctx context.Context, bin, addr, token string, args ...string) (*loadResult, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append([]string{"--addr", addr}, args...)...)
	cmd.Env = append(os.Environ(), "BIEUQUYET_TOKEN="+token)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bieuquyet-load %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	var r loadResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("bieuquyet-load %s: %w", strings.Join(args, " "), err)
	}
	if r.Errors > 0 {
		return nil, fmt.Errorf("bieuquyet-load %s: %d of %d calls failed, the first: %s", strings.Join(args, " "), r.Errors, r.Calls, r.FirstError)
	}
	return &r, nil
}

// cpuProfile runs fn while the server records a CPU profile of it (for at least the
// given time), and returns the profile's top functions as `go tool pprof -top` prints
// them. It needs a server built with profiling.
func (s *server) cpuProfile(ctx context.Context, bin, file string, seconds int, fn func() error) (string, error) {
	if s.pprof == "" {
		return "", fn()
	}
	type fetched struct {
		body []byte
		err  error
	}
	got := make(chan fetched, 1)
	go func() {
		req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.pprof, max(seconds, 1)), nil)
		if err != nil {
			got <- fetched{err: err}
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- fetched{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- fetched{b, err}
	}()
	time.Sleep(50 * time.Millisecond) // let the profile start first
	if err := fn(); err != nil {
		return "", err
	}
	f := <-got
	if f.err != nil {
		return "", fmt.Errorf("CPU profile: %w", f.err)
	}
	if err := os.WriteFile(file, f.body, 0o600); err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-cum", "-nodecount=25", bin, file).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w", file, err)
	}
	return string(out), nil
}
