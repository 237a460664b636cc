package server

import (
	"context"
	"sync"

	bq "github.com/bieuquyet/bieuquyet"
)

// signal wakes everyone waiting on it, as many times as it fires; firing never blocks.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

// wait returns a channel that closes at the next fire.
func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// hub tells watchers of a poll that it changed. Recording a vote only closes a channel,
// so it never waits for a watcher; and the tally a change produces is computed once, by
// the first watcher to ask, and shared by all the others, so a thousand watchers cost one
// tally per change, not a thousand.
type hub struct {
	mu     sync.Mutex
	topics map[int64]*topic
}

type topic struct {
	watchers int
	changed  chan struct{} // closed and replaced on every change
	seq      uint64        // counts changes
	mu       sync.Mutex    // serialises computing the shared tally
	tally    *bq.Tally
	tallySeq uint64
}

func newHub() *hub { return &hub{topics: map[int64]*topic{}} }

// join registers a watcher of poll id; leave must follow.
func (h *hub) join(id int64) *topic {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[id]
	if t == nil {
		t = &topic{changed: make(chan struct{})}
		h.topics[id] = t
	}
	t.watchers++
	return t
}

func (h *hub) leave(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[id]; t != nil {
		if t.watchers--; t.watchers == 0 {
			delete(h.topics, id)
		}
	}
}

// notify wakes every watcher of poll id.
func (h *hub) notify(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.topics[id]; t != nil {
		t.seq++
		close(t.changed)
		t.changed = make(chan struct{})
	}
}

// next returns the channel that closes at the next change, and the change count now.
func (h *hub) next(t *topic) (<-chan struct{}, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return t.changed, t.seq
}

// tally returns the poll's tally as of change seq or later, computing it only if no
// watcher has yet.
func (t *topic) current(ctx context.Context, seq uint64, load func(context.Context) (*bq.Tally, error)) (*bq.Tally, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tally != nil && t.tallySeq >= seq {
		return t.tally, nil
	}
	tl, err := load(ctx)
	if err != nil {
		return nil, err
	}
	t.tally, t.tallySeq = tl, seq
	return tl, nil
}
