package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitForAddr reads the address the server logged once it listens.
func waitForAddr(t *testing.T, logs *syncBuffer, done <-chan error) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		for _, line := range strings.Split(logs.String(), "\n") {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving" {
				return rec.Addr
			}
		}
		select {
		case err := <-done:
			t.Fatalf("server stopped before serving: %v\n%s", err, logs.String())
		case <-deadline:
			t.Fatalf("server did not start:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestRunServesHealthAndShutsDownCleanly(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sub", "folder", "bq.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--db", db}, &bytes.Buffer{}, logs) }()
	addr := waitForAddr(t, logs, done)

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v, %v", resp, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the log:\n%s", logs.String())
	}
}

func TestRunRefusesNewerDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bq.db")
	raw, err := sql.Open("sqlite3", db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	err = run(context.Background(), []string{"--listen", "127.0.0.1:0", "--db", db}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "newer version") {
		t.Fatalf("run on a newer database: %v", err)
	}
}

func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--log-level", "loud"}, {"--nope"}, {"extra"}} {
		if err := run(context.Background(), args, &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
			t.Errorf("run(%v) succeeded", args)
		}
	}
}

func TestHelpExitsZeroAndShowsTheTokenCommand(t *testing.T) {
	serveHelp := []string{"token create", "offline", "beside a server running", "-listen", "-db", "-tls-cert", "-insecure"}
	tokenHelp := []string{"token create", "offline", "beside a server running", "-role", "-name", "-person", "-ttl", "-db"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, serveHelp},
		{[]string{"--help"}, serveHelp},
		{[]string{"-h"}, serveHelp},
		{[]string{"-help"}, serveHelp},
		{[]string{"help", "token"}, tokenHelp},
		{[]string{"token", "--help"}, tokenHelp},
		{[]string{"token", "-h"}, tokenHelp},
		{[]string{"token", "help"}, tokenHelp},
		{[]string{"token", "create", "--help"}, tokenHelp},
		{[]string{"token", "create", "-h"}, tokenHelp},
	} {
		var out, errOut bytes.Buffer
		// main exits 0 exactly when run returns nil.
		if err := run(context.Background(), tc.args, &out, &errOut); err != nil {
			t.Errorf("run(%q): %v", tc.args, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("run(%q) printed no %q on stdout:\n%s", tc.args, w, out.String())
			}
		}
		if errOut.Len() > 0 {
			t.Errorf("run(%q) wrote to stderr: %s", tc.args, errOut.String())
		}
	}
}

func TestUnknownCommandsPointToHelp(t *testing.T) {
	for _, args := range [][]string{
		{"serve"}, {"nope"}, {"--nope"}, {"--db", "x.db", "token", "create"}, {"help", "nope"},
		{"token"}, {"token", "nope"}, {"token", "create", "--nope"}, {"token", "create", "--name", "Quản", "trị"},
	} {
		var out bytes.Buffer
		err := run(context.Background(), args, &out, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), "bieuquyet-server help") {
			t.Errorf("run(%q): %v; want an error that points to `bieuquyet-server help`", args, err)
		}
		if out.Len() > 0 {
			t.Errorf("run(%q) wrote to stdout: %s", args, out.String())
		}
	}
}

func TestOneServerPerDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bq.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--db", db}, &bytes.Buffer{}, logs) }()
	waitForAddr(t, logs, done)

	sctx, scancel := context.WithCancel(context.Background())
	defer scancel()
	second := make(chan error, 1)
	go func() {
		second <- run(sctx, []string{"--listen", "127.0.0.1:0", "--db", db}, &bytes.Buffer{}, &bytes.Buffer{})
	}()
	select {
	case err := <-second:
		want := fmt.Sprintf("another bieuquyet-server is serving %s (pid %d); stop it first or give another --db", db, os.Getpid())
		if err == nil || err.Error() != want {
			t.Fatalf("second server: %v\nwant: %s", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a second server on the same database is running")
	}

	// The offline command does not take the server's lock.
	if out, err := tokenCreate(t, "--db", db, "--role", "admin", "--name", "Quản trị"); err != nil || !strings.HasPrefix(out, "bq_") {
		t.Fatalf("token create beside the server: %q, %v", out, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("first server: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("first server did not stop")
	}
	serve(t, "--db", db)
}

// TestHelperServerProcess is the other process of TestKilledServerLeavesNoLock.
func TestHelperServerProcess(t *testing.T) {
	db := os.Getenv("BIEUQUYET_TEST_HELPER_DB")
	if db == "" {
		t.Skip("runs only as the helper of TestKilledServerLeavesNoLock")
	}
	err := run(context.Background(), []string{"--listen", "127.0.0.1:0", "--db", db}, os.Stdout, os.Stderr)
	t.Fatalf("helper server: %v", err)
}

func TestKilledServerLeavesNoLock(t *testing.T) {
	db := filepath.Join(t.TempDir(), "bq.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServerProcess$")
	cmd.Env = append(os.Environ(), "BIEUQUYET_TEST_HELPER_DB="+db)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer cmd.Process.Kill()
	waitForAddr(t, logs, done)

	// Bounded, so that a second server that does start fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"--listen", "127.0.0.1:0", "--db", db}, &bytes.Buffer{}, &bytes.Buffer{})
	want := fmt.Sprintf("another bieuquyet-server is serving %s (pid %d)", db, cmd.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("beside another process's server: %v\nwant: %s", err, want)
	}
	// Kill is SIGKILL: the server gets no chance to release anything.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-done
	serve(t, "--db", db)
}
