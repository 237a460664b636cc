package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// syncBuffer is a log sink the server goroutines and the test can share.
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

type harness struct {
	conn   *grpc.ClientConn
	roster pb.RosterServiceClient
	access pb.AccessServiceClient
	audit  pb.AuditServiceClient
	polls  pb.PollServiceClient
	confs  pb.ConfirmationServiceClient
	logs   *syncBuffer
	st     *sqlite.Store // nil for a fake store
	admin  string        // the admin token every call carries unless it names its own
	lis    *bufconn.Listener
}

// withToken makes a call carry the given bearer token; "" sends none.
func withToken(ctx context.Context, secret string) context.Context {
	md := metadata.MD{}
	if secret != "" {
		md.Set("authorization", "Bearer "+secret)
	} else {
		md.Set("authorization-none", "1")
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// start serves st over bufconn and returns a real client connected to it. Calls carry
// admin unless their context says otherwise (withToken).
func start(t *testing.T, st store.Store, admin string) *harness {
	t.Helper()
	return startWith(t, Config{Store: st}, admin)
}

// startWith serves with cfg, adding a logger the test can read; opts tune the client.
func startWith(t testing.TB, cfg Config, admin string, dialOpts ...grpc.DialOption) *harness {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	srv := New(cfg)
	lis := bufconn.Listen(1 << 20)
	go srv.Serve(lis)
	withAdmin := func(ctx context.Context) context.Context {
		md, _ := metadata.FromOutgoingContext(ctx)
		if len(md.Get("authorization")) == 0 && len(md.Get("authorization-none")) == 0 && admin != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+admin)
		}
		return ctx
	}
	addAdmin := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(withAdmin(ctx), method, req, reply, cc, opts...)
	}
	addAdminStream := func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(withAdmin(ctx), desc, cc, method, opts...)
	}
	conn, err := grpc.NewClient("passthrough:///bufnet", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(addAdmin), grpc.WithStreamInterceptor(addAdminStream)}, dialOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Shutdown(context.Background())
	})
	return &harness{conn: conn, roster: pb.NewRosterServiceClient(conn), access: pb.NewAccessServiceClient(conn),
		audit: pb.NewAuditServiceClient(conn), polls: pb.NewPollServiceClient(conn), confs: pb.NewConfirmationServiceClient(conn),
		logs: logs, admin: admin, lis: lis}
}

// startStore opens a fresh SQLite file with an admin token and serves it.
func startStore(t *testing.T, opts ...grpc.DialOption) *harness {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	admin := mustToken(t, st, bq.TokenAdmin, 0, time.Hour)
	h := startWith(t, Config{Store: st}, admin, opts...)
	h.st = st
	return h
}

// mustToken makes a token directly in the store, as the offline command does.
func mustToken(t *testing.T, st *sqlite.Store, role bq.TokenRole, person int64, ttl time.Duration) string {
	t.Helper()
	secret, hash, err := bq.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateToken(context.Background(), bq.Audit{Actor: "local:test"},
		&bq.Token{Name: string(role), Role: role, PersonID: person, Hash: hash, ExpireTime: time.Now().Add(ttl)}, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// wantStatus checks a call's code and, when fields are given, that the BadRequest details
// name exactly those fields.
func wantStatus(t *testing.T, err error, code codes.Code, fields ...string) *status.Status {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("code = %v (%q), want %v", st.Code(), st.Message(), code)
	}
	if len(fields) > 0 {
		if got := violationFields(st); strings.Join(got, ",") != strings.Join(fields, ",") {
			t.Fatalf("violations on %v, want %v (%q)", got, fields, st.Message())
		}
	}
	return st
}

func violationFields(st *status.Status) []string {
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetField())
			}
		}
	}
	return got
}

func TestHealthAndReflectionAnswer(t *testing.T) {
	h := startStore(t)
	ctx := context.Background()
	resp, err := healthpb.NewHealthClient(h.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health = %v, %v", resp, err)
	}
	resp, err = healthpb.NewHealthClient(h.conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "bieuquyet.v1.RosterService"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health of RosterService = %v, %v", resp, err)
	}
	stream, err := reflectionpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	r, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range r.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{"bieuquyet.v1.RosterService", "grpc.health.v1.Health"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("reflection lists %v, missing %s", names, want)
		}
	}
}

func TestEveryCallIsLoggedWithMethodCodeAndDuration(t *testing.T) {
	h := startStore(t)
	_, err := h.roster.GetCouncil(context.Background(), &pb.GetCouncilRequest{})
	wantStatus(t, err, codes.NotFound)
	logs := h.logs.String()
	for _, want := range []string{`"msg":"rpc"`, `"method":"/bieuquyet.v1.RosterService/GetCouncil"`, `"code":"NotFound"`, `"duration_ms":`, `"request_id":"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

// flakyStore panics or fails on GetCouncil, to check what the caller and the log see.
type flakyStore struct {
	store.Store
	mu     sync.Mutex
	panics int
	err    error
}

const flakyToken = "bq_0123456789012345678901234567890123456789abc"

// The scheduler runs in every server; a fake store has no polls to close.
func (f *flakyStore) CloseDuePolls(context.Context, bq.Audit) ([]int64, error)  { return nil, nil }
func (f *flakyStore) SettleDuePolls(context.Context, bq.Audit) ([]int64, error) { return nil, nil }
func (f *flakyStore) NextDeadline(context.Context) (time.Time, bool, error) {
	return time.Time{}, false, nil
}

func (f *flakyStore) Authenticate(_ context.Context, hash [32]byte) (*bq.Principal, error) {
	if hash != bq.HashToken(flakyToken) {
		return nil, store.ErrBadToken
	}
	return &bq.Principal{TokenID: 1, Role: bq.TokenAdmin}, nil
}

func (f *flakyStore) GetCouncil(context.Context) (*bq.Council, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.panics > 0 {
		f.panics--
		panic("boom")
	}
	if f.err != nil {
		return nil, f.err
	}
	return &bq.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X", Place: "Bình Dương"}, nil
}

func TestPanicBecomesInternalAndServingGoesOn(t *testing.T) {
	f := &flakyStore{panics: 1}
	h := start(t, f, flakyToken)
	ctx := context.Background()
	_, err := h.roster.GetCouncil(ctx, &pb.GetCouncilRequest{})
	if st := wantStatus(t, err, codes.Internal); st.Message() != "internal error" {
		t.Errorf("message = %q", st.Message())
	}
	resp, err := h.roster.GetCouncil(ctx, &pb.GetCouncilRequest{})
	if err != nil || resp.GetCouncil().GetPlace() != "Bình Dương" {
		t.Fatalf("call after the panic: %v, %v", resp, err)
	}
	if !strings.Contains(h.logs.String(), "panic in handler") {
		t.Error("the panic was not logged")
	}
}

func TestInternalErrorsDoNotLeakDetails(t *testing.T) {
	f := &flakyStore{err: errors.New(`query "SELECT * FROM council" in /var/lib/bieuquyet/x.db: disk I/O error`)}
	h := start(t, f, flakyToken)
	_, err := h.roster.GetCouncil(context.Background(), &pb.GetCouncilRequest{})
	st := wantStatus(t, err, codes.Internal)
	if st.Message() != "internal error" {
		t.Errorf("caller saw %q", st.Message())
	}
	if !strings.Contains(h.logs.String(), "disk I/O error") {
		t.Error("the real error was not logged")
	}
}
