package server

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
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
// so it never waits for a watcher; and what a change produces is made once, by the first
// watcher to ask, and shared by all the others: the tally read, its message built and
// encoded (update), so a thousand watchers cost one of each per change, not a thousand.
//
// A poll's watchers are woken at most once per interval: the first change after a quiet
// interval wakes them at once, and the changes that follow within the interval wake them
// together at its end, when they send the newest tally. So each change costs a thousand
// watchers' sends only while changes are rarer than that, and while votes pour in a
// watcher is at most an interval behind. (The interval is a pace of work on this
// machine's clock, not the service's time, which tests move by hand.)
type hub struct {
	mu       sync.Mutex
	topics   map[int64]*topic
	interval time.Duration
}

// watchInterval is the hub's interval in the server.
const watchInterval = 40 * time.Millisecond

type topic struct {
	watchers  int
	changed   chan struct{} // closed and replaced on every wake-up
	seq       uint64        // counts wake-ups
	woken     time.Time     // when the watchers were last woken
	pending   bool          // a wake-up is due at the end of the interval
	mu        sync.Mutex    // serialises computing the shared update
	update    *update
	updateSeq uint64
}

// update is one tally as every watcher sends it.
type update struct {
	tally *bq.Tally
	msg   *pb.WatchPollResponse

	mu sync.Mutex
	// encoded holds msg encoded for the streams of each codec and compressor (in
	// practice one: protobuf, uncompressed). A prepared message is only read when sent,
	// so every stream that encodes the same way can send the same one.
	encoded map[streamEncoding]*grpc.PreparedMsg
}

func newUpdate(t *bq.Tally) *update {
	return &update{tally: t, msg: &pb.WatchPollResponse{Tally: tallyPB(t)}, encoded: map[streamEncoding]*grpc.PreparedMsg{}}
}

// streamEncoding is what decides the bytes a server stream sends for a message: the codec
// (from the request's content subtype) and the compressor.
type streamEncoding struct{ subtype, compressor string }

// encodingOf returns how a server stream encodes; ok is false if its transport stream
// does not say (none in grpc-go today), and then the stream must encode for itself.
func encodingOf(stream grpc.ServerStream) (enc streamEncoding, ok bool) {
	ts, ok := grpc.ServerTransportStreamFromContext(stream.Context()).(interface {
		ContentSubtype() string
		SendCompress() string
	})
	if !ok {
		return streamEncoding{}, false
	}
	return streamEncoding{ts.ContentSubtype(), ts.SendCompress()}, true
}

// encodings counts the updates encoded, so that tests can see what watchers cost.
var encodings atomic.Int64

// send sends the update on stream, which encodes as enc says, encoding it only if no
// stream that encodes the same way has yet.
func (u *update) send(stream grpc.ServerStream, enc streamEncoding, known bool) error {
	if !known {
		return stream.SendMsg(u.msg)
	}
	u.mu.Lock()
	pm := u.encoded[enc]
	if pm == nil {
		pm = &grpc.PreparedMsg{}
		if err := pm.Encode(stream, u.msg); err != nil {
			u.mu.Unlock()
			return err
		}
		u.encoded[enc] = pm
		encodings.Add(1)
	}
	u.mu.Unlock()
	return stream.SendMsg(pm)
}

func newHub(interval time.Duration) *hub { return &hub{topics: map[int64]*topic{}, interval: interval} }

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

// notify wakes every watcher of poll id, now or at the end of the interval.
func (h *hub) notify(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.topics[id]
	if t == nil || t.pending {
		return
	}
	if wait := h.interval - time.Since(t.woken); wait > 0 {
		t.pending = true
		time.AfterFunc(wait, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			t.pending = false
			h.wakeLocked(t)
		})
		return
	}
	h.wakeLocked(t)
}

// wakeLocked wakes t's watchers; h.mu is held.
func (h *hub) wakeLocked(t *topic) {
	t.seq++
	close(t.changed)
	t.changed = make(chan struct{})
	t.woken = time.Now()
}

// next returns the channel that closes at the next change, and the change count now.
func (h *hub) next(t *topic) (<-chan struct{}, uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return t.changed, t.seq
}

// current returns the poll's update as of change seq or later, reading the tally only if
// no watcher has yet.
func (t *topic) current(ctx context.Context, seq uint64, load func(context.Context) (*bq.Tally, error)) (*update, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.update != nil && t.updateSeq >= seq {
		return t.update, nil
	}
	tl, err := load(ctx)
	if err != nil {
		return nil, err
	}
	t.update, t.updateSeq = newUpdate(tl), seq
	return t.update, nil
}
