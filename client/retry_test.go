package client

import (
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/server"
)

// fault is what the test server does to one call.
type fault int

const (
	pass         fault = iota // nothing: the call is served
	loseResponse              // the call is served, then its answer is lost: UNAVAILABLE
	stall                     // the call is served, then no answer comes before the client's deadline
	unreachable               // the call is not served: UNAVAILABLE
	hang                      // the call is not served, and nothing answers before the client's deadline
)

// faults makes a test server misbehave on chosen calls, and records the request ids of
// every call it receives.
type faults struct {
	mu   sync.Mutex
	plan map[string][]fault // by method ("CreatePoll"): the fault of each call in turn, then pass
	ids  map[string][]ids   // by method: the ids each call carried
}

// ids are the two ids a call carries: the request's request_id and the x-request-id that
// tags it in the audit trail.
type ids struct{ request, tag string }

func (f *faults) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	method := info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	seen := ids{request: requestIDOf(req)}
	if v := md.Get("x-request-id"); len(v) > 0 {
		seen.tag = v[0]
	}
	f.ids[method] = append(f.ids[method], seen)
	what := pass
	if plan := f.plan[method]; len(plan) > 0 {
		what, f.plan[method] = plan[0], plan[1:]
	}
	f.mu.Unlock()
	switch what {
	case unreachable:
		return nil, status.Error(codes.Unavailable, "connection reset")
	case hang:
		<-ctx.Done()
		return nil, ctx.Err()
	case loseResponse:
		if _, err := handler(ctx, req); err != nil {
			return nil, err
		}
		return nil, status.Error(codes.Unavailable, "connection reset")
	case stall:
		if _, err := handler(ctx, req); err != nil {
			return nil, err
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return handler(ctx, req)
}

func (f *faults) set(method string, plan ...fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plan[method] = plan
}

// take returns the ids of the calls of method so far, and forgets them.
func (f *faults) take(method string) []ids {
	f.mu.Lock()
	defer f.mu.Unlock()
	got := f.ids[method]
	delete(f.ids, method)
	return got
}

func startFaultyServer(t *testing.T) (string, *faults) {
	t.Helper()
	f := &faults{plan: map[string][]fault{}, ids: map[string][]ids{}}
	return startServerWith(t, server.Config{Options: []grpc.ServerOption{grpc.ChainUnaryInterceptor(f.intercept)}}), f
}

// sameID checks that every call carried one request id, and the same as its tag.
func sameID(t *testing.T, what string, calls []ids, n int) string {
	t.Helper()
	if len(calls) != n {
		t.Fatalf("%s: %d calls, want %d: %v", what, len(calls), n, calls)
	}
	for _, c := range calls {
		if c.request == "" || c != calls[0] || c.tag != c.request {
			t.Errorf("%s: the calls carried %v; want one request id, the same as the x-request-id", what, calls)
			break
		}
	}
	return calls[0].request
}

// TestRetrySameRequest checks that a write whose answer is lost, or late, is sent again
// with the same request id, so that the server carries it out once.
func TestRetrySameRequest(t *testing.T) {
	t.Parallel()
	addr, f := startFaultyServer(t)
	importFixture(t, addr)

	// The first answer is lost: the retry returns the poll the first call opened.
	f.set("CreatePoll", loseResponse)
	poll := openVote(t, addr)
	sameID(t, "poll open", f.take("CreatePoll"), 2)
	if got := mustRun(t, addr, "poll", "list"); len(rows(t, got)) != 1 {
		t.Errorf("a retried poll open opened two polls:\n%s", got)
	}

	// The first answer is late: the retry records nothing new.
	f.set("RecordVote", stall)
	r := run(t, addr, "--timeout", "500ms", "vote", "record", poll, khai, "Tán thành")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("vote record after a stall:\n%s", r)
	}
	id := sameID(t, "vote record", f.take("RecordVote"), 2)
	if got := field(t, r.stdout, "request_id"); got != id {
		t.Errorf("the vote shows request id %q, want %q", got, id)
	}
	if hs := rows(t, mustRun(t, addr, "vote", "history", poll, khai)); len(hs) != 1 {
		t.Errorf("a retried vote record made %d records: %q", len(hs), hs)
	}

	// Reads are retried too.
	f.set("GetTally", unreachable, unreachable)
	if !strings.HasSuffix(mustRun(t, addr, "poll", "tally", poll), "cần 2 để thông qua\n") {
		t.Error("poll tally after two failures")
	}
	if n := len(f.take("GetTally")); n != 3 {
		t.Errorf("poll tally: %d calls, want 3", n)
	}

	// Writes that carry no request id are not: they may have been carried out.
	f.set("UpdateCouncil", unreachable)
	if r := run(t, addr, "council", "update", "--place", "Thủ Dầu Một"); r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: cannot reach the server") {
		t.Errorf("council update, unreachable:\n%s", r)
	}
	if n := len(f.take("UpdateCouncil")); n != 1 {
		t.Errorf("council update was sent %d times", n)
	}
}

// TestRetryGivesUp checks that a write that fails every attempt says which request id to
// send again, and that --request-id sends it.
func TestRetryGivesUp(t *testing.T) {
	t.Parallel()
	addr, f := startFaultyServer(t)
	importFixture(t, addr)
	poll := openVote(t, addr)

	f.set("ClosePoll", unreachable, unreachable, unreachable)
	r := run(t, addr, "poll", "close", poll)
	id := sameID(t, "poll close", f.take("ClosePoll"), maxAttempts)
	want := "bieuquyet: cannot reach the server at " + addr + ": connection reset\n" +
		"bieuquyet: the server may have done it all the same; to be sure it is done once, run the same command again with --request-id " + id + "\n"
	if r.code != 1 || r.stdout != "" || r.stderr != want {
		t.Fatalf("poll close, unreachable:\n%s\nwant stderr:\n%s", r, want)
	}
	if got := field(t, mustRun(t, addr, "poll", "close", poll, "--request-id", id), "state"); got != "closed" {
		t.Errorf("poll close --request-id: state %q", got)
	}
	if got := sameID(t, "poll close --request-id", f.take("ClosePoll"), 1); got != id {
		t.Errorf("poll close --request-id %s sent %s", id, got)
	}

	// A deadline that expires on every attempt says the same.
	f.set("CancelPoll", hang, hang, hang)
	r = run(t, addr, "--timeout", "200ms", "poll", "cancel", poll, "--reason", "thử")
	id = sameID(t, "poll cancel", f.take("CancelPoll"), maxAttempts)
	if r.code != 1 || !regexp.MustCompile(`^bieuquyet: deadline exceeded: .*\nbieuquyet: .* --request-id `+id+"\n$").MatchString(r.stderr) {
		t.Errorf("poll cancel, stalled:\n%s", r)
	}
}

// TestRequestIDs checks that every write that takes a request id sends one, a new one
// each run, or the one given with --request-id; and that opening a poll twice with one
// id opens one poll.
func TestRequestIDs(t *testing.T) {
	t.Parallel()
	addr, f := startFaultyServer(t)
	importFixture(t, addr)
	list := t.TempDir() + "/zalo.txt"
	writeFile(t, list, "Tán thành (1)\nĐặng Hữu Kiên\n")

	open := []string{"poll", "open", "--body", banPhapChe, "--title", "T", "--question", "Q", "--for", "1h"}
	commands := []struct {
		method string
		args   []string
	}{
		{"CreatePoll", open},
		{"RecordVote", []string{"vote", "record", "1", khai, "Tán thành"}},
		{"ImportVotes", []string{"vote", "import", "1", list, "--dry-run"}},
		{"CreateToken", []string{"token", "create", "--role", "secretariat", "--name", "thư ký"}},
		{"ClosePoll", []string{"poll", "close", "1"}},
		{"CancelPoll", []string{"poll", "cancel", "1", "--reason", "thử"}},
	}
	seen := map[string]bool{}
	for _, c := range commands {
		if r := run(t, addr, c.args...); r.code != 0 {
			t.Fatalf("%s:\n%s", strings.Join(c.args, " "), r)
		}
		id := sameID(t, c.method, f.take(c.method), 1)
		if !regexp.MustCompile(`^cli-[0-9a-f]{24}$`).MatchString(id) || seen[id] {
			t.Errorf("%s sent request id %q", strings.Join(c.args, " "), id)
		}
		seen[id] = true
	}
	// Each method that takes a request_id has a command above.
	for _, fd := range []protoreflect.FileDescriptor{pb.File_bieuquyet_v1_poll_proto, pb.File_bieuquyet_v1_access_proto, pb.File_bieuquyet_v1_roster_proto, pb.File_bieuquyet_v1_audit_proto} {
		for i := 0; i < fd.Services().Len(); i++ {
			ms := fd.Services().Get(i).Methods()
			for j := 0; j < ms.Len(); j++ {
				m := ms.Get(j)
				if m.Input().Fields().ByName("request_id") == nil {
					continue
				}
				found := false
				for _, c := range commands {
					found = found || c.method == string(m.Name())
				}
				if !found {
					t.Errorf("%s takes a request_id, and no command here sends it", m.Name())
				}
			}
		}
	}

	// The same --request-id twice: one poll.
	for range 2 {
		if got := field(t, mustRun(t, addr, append(open, "--request-id", "phien-hop-12")...), "name"); got != "polls/2" {
			t.Errorf("poll open --request-id phien-hop-12 opened %s, want polls/2", got)
		}
	}
	if got := sameID(t, "poll open --request-id", f.take("CreatePoll"), 2); got != "phien-hop-12" {
		t.Errorf("sent request id %q", got)
	}
	if got := mustRun(t, addr, "poll", "list"); len(rows(t, got)) != 2 {
		t.Errorf("two polls opened with one request id:\n%s", got)
	}

	for _, bad := range []string{"", "có dấu", strings.Repeat("x", 65)} {
		r := run(t, addr, append(open, "--request-id", bad)...)
		if r.code != 2 || !strings.HasPrefix(r.stderr, "bieuquyet: poll open: --request-id ") {
			t.Errorf("--request-id %q:\n%s", bad, r)
		}
	}
}

// TestEveryRPCClassified checks that the client knows, for every RPC, whether it may be
// sent again: a read is in readOnly; a write is retried only with a request_id.
func TestEveryRPCClassified(t *testing.T) {
	t.Parallel()
	for _, fd := range []protoreflect.FileDescriptor{pb.File_bieuquyet_v1_poll_proto, pb.File_bieuquyet_v1_access_proto, pb.File_bieuquyet_v1_roster_proto, pb.File_bieuquyet_v1_audit_proto} {
		for i := 0; i < fd.Services().Len(); i++ {
			ms := fd.Services().Get(i).Methods()
			for j := 0; j < ms.Len(); j++ {
				m := ms.Get(j)
				read := strings.HasPrefix(string(m.Name()), "Get") || strings.HasPrefix(string(m.Name()), "List") ||
					m.Name() == "WhoAmI" || m.Name() == "VerifyAuditLog" || m.IsStreamingServer()
				if read != readOnly[m.Input().FullName()] && !m.IsStreamingServer() {
					t.Errorf("%s: read %v, in readOnly %v", m.Name(), read, readOnly[m.Input().FullName()])
				}
			}
		}
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedRetryTellsTheRequestID checks that a write interrupted (Ctrl-C) while it
// waits to be sent again still says which request id to send: its first attempt may have
// been carried out.
func TestInterruptedRetryTellsTheRequestID(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &app{svc: serviceClients{}, timeout: time.Second}
	rpc := func(services, context.Context, *pb.ClosePollRequest, ...grpc.CallOption) (*pb.ClosePollResponse, error) {
		time.AfterFunc(firstBackoff/5, cancel) // the person gives up during the pause
		return nil, status.Error(codes.Unavailable, "connection reset")
	}
	_, err := call(ctx, a, rpc, &pb.ClosePollRequest{Name: "polls/1", RequestId: "close-1"})
	var unsure *unsureError
	if !errors.As(err, &unsure) || unsure.requestID != "close-1" {
		t.Fatalf("interrupted during the pause: %v (%T); want the request id to send again", err, err)
	}
}
