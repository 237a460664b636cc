package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
)

// source is a Source whose answers the test sets.
type source struct {
	open   int
	counts map[bq.ConfirmationStatus]int
	err    error
}

func (s *source) OpenPolls(context.Context) (int, error) { return s.open, s.err }

func (s *source) ConfirmationsByStatus(context.Context) (map[bq.ConfirmationStatus]int, error) {
	return s.counts, s.err
}

func get(t *testing.T, m *Metrics) (int, string) {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestStoreGaugesAndVoteBatches(t *testing.T) {
	m := New(nil)
	src := &source{open: 2, counts: map[bq.ConfirmationStatus]int{bq.StatusSigned: 5, bq.StatusMismatch: 1}}
	m.CountStore(src)
	m.ObserveVoteBatch(3, 4*time.Millisecond)
	m.ObserveVoteBatch(1, 2*time.Millisecond)
	code, body := get(t, m)
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	for _, want := range []string{
		"bieuquyet_open_polls 2\n",
		`bieuquyet_confirmations{status="signed"} 5` + "\n",
		`bieuquyet_confirmations{status="mismatch"} 1` + "\n",
		`bieuquyet_confirmations{status="awaiting_signature"} 0` + "\n", // every status, from the start
		`bieuquyet_vote_batch_size_bucket{le="1"} 1` + "\n",
		`bieuquyet_vote_batch_size_bucket{le="4"} 2` + "\n",
		"bieuquyet_vote_batch_size_sum 4\n",
		`bieuquyet_vote_batch_commit_seconds_bucket{le="0.002"} 1` + "\n",
		"bieuquyet_vote_batch_commit_seconds_count 2\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
}

// A failing database costs its own series, not the scrape.
func TestAFailingQueryLeavesTheRest(t *testing.T) {
	m := New(nil)
	m.CountStore(&source{err: errors.New("database is locked")})
	m.ObserveVoteBatch(2, time.Millisecond)
	code, body := get(t, m)
	if code != http.StatusOK {
		t.Fatalf("status %d:\n%s", code, body)
	}
	if strings.Contains(body, "bieuquyet_open_polls ") || strings.Contains(body, "bieuquyet_confirmations{") {
		t.Errorf("gauges served without their query:\n%s", body)
	}
	for _, want := range []string{"bieuquyet_vote_batch_size_sum 2\n", "go_goroutines "} {
		if !strings.Contains(body, want) {
			t.Errorf("no %q in:\n%s", want, body)
		}
	}
}
