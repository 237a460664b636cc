package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The interceptors live here, chained in one place: metrics, when on, and logging
// outermost, so that they see the code a recovered panic or a refusal becomes; then
// recovery; then authentication and authorization, around the handler.

func (s *Server) unaryInterceptors(m CallMetrics) grpc.ServerOption {
	chain := []grpc.UnaryServerInterceptor{s.logUnary, s.recoverUnary, s.authUnary}
	if m != nil {
		chain = append([]grpc.UnaryServerInterceptor{m.UnaryInterceptor()}, chain...)
	}
	return grpc.ChainUnaryInterceptor(chain...)
}

func (s *Server) streamInterceptors(m CallMetrics) grpc.ServerOption {
	chain := []grpc.StreamServerInterceptor{s.logStream, s.recoverStream, s.authStream}
	if m != nil {
		chain = append([]grpc.StreamServerInterceptor{m.StreamInterceptor()}, chain...)
	}
	return grpc.ChainStreamInterceptor(chain...)
}

// authUnary authenticates the caller and applies the method's policy before the handler
// runs; handlers then make their per-resource checks with principalFrom.
func (s *Server) authUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := s.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, info.FullMethod, req); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func (s *Server) authStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := s.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &authStream{ServerStream: ss, ctx: ctx, srv: s, method: info.FullMethod, authorized: isOpen(info.FullMethod)})
}

func (s *Server) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	ctx, c := beginCall(ctx)
	resp, err := handler(ctx, req)
	s.logCall(ctx, info.FullMethod, c, start, err)
	return resp, err
}

func (s *Server) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	ctx, c := beginCall(ss.Context())
	err := handler(srv, &callStream{ServerStream: ss, ctx: ctx})
	s.logCall(ctx, info.FullMethod, c, start, err)
	return err
}

// callStream carries the call's context, with its request id, to the interceptors within.
type callStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *callStream) Context() context.Context { return c.ctx }

// logCall writes the one line per call: method, code, duration, and the request id that
// the call's audit event carries too. Requests are not logged: they may carry
// credentials or personal data.
func (s *Server) logCall(ctx context.Context, method string, c *call, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelInfo
	if code == codes.Internal || code == codes.Unknown {
		level = slog.LevelError
	}
	s.log.Log(ctx, level, "rpc", "method", method, "code", code.String(), "duration_ms", float64(time.Since(start).Microseconds())/1000,
		"request_id", c.requestID)
}

func (s *Server) recoverUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer s.recoverPanic(ctx, info.FullMethod, &err)
	return handler(ctx, req)
}

func (s *Server) recoverStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer s.recoverPanic(ss.Context(), info.FullMethod, &err)
	return handler(srv, ss)
}

// recoverPanic turns a handler's panic into INTERNAL for that call alone; the server
// keeps serving everyone else.
func (s *Server) recoverPanic(ctx context.Context, method string, err *error) {
	if r := recover(); r != nil {
		s.log.ErrorContext(ctx, "panic in handler", "method", method, "panic", r, "stack", string(debug.Stack()))
		*err = status.Error(codes.Internal, "internal error")
	}
}
