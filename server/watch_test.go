package server

import (
	"testing"
	"time"
)

// The hub wakes a poll's watchers at once after a quiet interval, and wakes them once more
// at the end of the interval for the changes made within it: none is left unannounced.
func TestHubWakesAtMostOncePerInterval(t *testing.T) {
	const interval = 200 * time.Millisecond
	h := newHub(interval)
	tp := h.join(1)
	defer h.leave(1)
	changed, seq := h.next(tp)
	h.notify(1)
	select {
	case <-changed:
	default:
		t.Fatal("the first change did not wake the watchers at once")
	}
	changed, _ = h.next(tp)
	start := time.Now()
	for range 5 {
		h.notify(1)
	}
	select {
	case <-changed:
		t.Fatal("changes within the interval woke the watchers at once")
	default:
	}
	select {
	case <-changed:
		if waited := time.Since(start); waited > 10*interval {
			t.Fatalf("woken after %v", waited)
		}
	case <-time.After(10 * interval):
		t.Fatal("the changes within the interval never woke the watchers")
	}
	if _, now := h.next(tp); now != seq+2 {
		t.Fatalf("%d wake-ups for 6 changes, want 2", now-seq)
	}
}
