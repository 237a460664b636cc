// Package server maps the service's gRPC API onto the domain and the store. It is the only
// package that knows about gRPC on the serving side: it validates requests, converts
// messages and turns domain errors into canonical status codes.
package server

import (
	"context"
	"log/slog"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
)

// MaxMessageSize is the largest request the server reads. It is above the roster file
// limit so that an oversized file still reaches the handler and gets a clear answer.
const MaxMessageSize = 16 << 20

// Config holds what New needs.
type Config struct {
	Store  store.Store
	Logger *slog.Logger
	// Clock is the time the server works by: token lifetimes, poll deadlines. It must
	// be the store's clock too. Tests inject their own; nil is the wall clock.
	Clock Clock
	// Renderer draws the documents the server issues (pdf.New()). Without one, the
	// confirmations already issued can still be read, but none can be issued.
	Renderer bq.DocumentRenderer
	// Verifier checks signed confirmations (signedpdf.New with the trusted roots), and
	// Scans reads the QR codes on paper ones (qrscan.New()). Without them the server
	// refuses those submissions.
	Verifier bq.SignatureVerifier
	Scans    bq.ScanReader
	// Options are added to the gRPC server's own (credentials, for instance).
	Options []grpc.ServerOption
	// Metrics, when set, counts and times every call (internal/metrics: Prometheus's
	// grpc_server_* series). Without it calls pay for nothing of the kind.
	Metrics CallMetrics
}

// CallMetrics observes calls through interceptors; internal/metrics satisfies it.
type CallMetrics interface {
	UnaryInterceptor() grpc.UnaryServerInterceptor
	StreamInterceptor() grpc.StreamServerInterceptor
	// InitializeMetrics is called once every service is registered.
	InitializeMetrics(*grpc.Server)
}

// Server is the gRPC server with every service registered.
type Server struct {
	grpc   *grpc.Server
	health *health.Server
	log    *slog.Logger
	store  store.Store
	authz  authorizer
	stop   context.CancelFunc // ends the scheduler
	done   chan struct{}
}

// New builds the server and registers the services, health and reflection.
func New(cfg Config) *Server {
	s := &Server{health: health.NewServer(), log: cfg.Logger, store: cfg.Store, authz: cfg.Store}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = RealClock
	}
	opts := append([]grpc.ServerOption{
		s.unaryInterceptors(cfg.Metrics),
		s.streamInterceptors(cfg.Metrics),
		grpc.MaxRecvMsgSize(MaxMessageSize),
	}, cfg.Options...)
	s.grpc = grpc.NewServer(opts...)
	b := base{log: s.log, access: newSignal()}
	pb.RegisterRosterServiceServer(s.grpc, &rosterServer{base: b, store: cfg.Store})
	pb.RegisterAccessServiceServer(s.grpc, &accessServer{base: b, store: cfg.Store, now: clock.Now})
	pb.RegisterAuditServiceServer(s.grpc, &auditServer{base: b, store: cfg.Store})
	hub := newHub(watchInterval)
	sched := &scheduler{store: cfg.Store, clock: clock, log: s.log, wake: make(chan struct{}, 1), closed: hub.notify}
	// ctx ends when Shutdown starts: the scheduler stops, and open watches end at once
	// rather than hold GracefulStop for its whole grace period.
	ctx, stop := context.WithCancel(context.Background())
	pb.RegisterPollServiceServer(s.grpc, &pollServer{base: b, store: cfg.Store, clock: clock, hub: hub, sched: sched, recheck: s.reauthorize,
		stopping: ctx.Done(), render: cfg.Renderer})
	pb.RegisterConfirmationServiceServer(s.grpc, &confirmationServer{base: b, store: cfg.Store, render: cfg.Renderer,
		verify: cfg.Verifier, scans: cfg.Scans, maxUpload: MaxUpload, hub: hub, now: clock.Now})
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	for name := range s.grpc.GetServiceInfo() {
		s.health.SetServingStatus(name, healthpb.HealthCheckResponse_SERVING)
	}
	s.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	if cfg.Metrics != nil {
		cfg.Metrics.InitializeMetrics(s.grpc)
	}
	s.stop, s.done = stop, make(chan struct{})
	go func() {
		defer close(s.done)
		sched.run(ctx)
	}()
	return s
}

// Serve accepts connections on lis until Shutdown.
func (s *Server) Serve(lis net.Listener) error { return s.grpc.Serve(lis) }

// Shutdown reports NOT_SERVING, stops accepting calls and waits for calls in flight until
// ctx ends, then cuts the rest off.
func (s *Server) Shutdown(ctx context.Context) {
	s.health.Shutdown()
	s.stop()
	<-s.done
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
		<-done
	}
}
