package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// openServices answer everyone: load balancers and grpcurl need health and reflection
// before they hold any credential. Everything else is denied unless the policy table
// allows it.
var openServices = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

func isOpen(method string) bool {
	for _, prefix := range openServices {
		if strings.HasPrefix(method, prefix) {
			return true
		}
	}
	return false
}

type callKey struct{}

// call is what the auth interceptor learns about a call, for handlers and the audit.
type call struct {
	principal *bq.Principal
	tokenHash [32]byte // to authenticate again during a long stream
	requestID string
}

func callFrom(ctx context.Context) *call {
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		return &call{}
	}
	return c
}

// principalFrom returns the authenticated caller; nil only on open services.
func principalFrom(ctx context.Context) *bq.Principal { return callFrom(ctx).principal }

// auditFrom says who makes a change, for the event the store appends with it.
func auditFrom(ctx context.Context) bq.Audit {
	c := callFrom(ctx)
	a := bq.Audit{RequestID: c.requestID}
	if c.principal != nil {
		a.Actor, a.Credential = c.principal.Actor(), c.principal.Credential()
	}
	return a
}

// requestID takes the caller's x-request-id when it is sane, or makes one, so that an
// audit event can be matched with the client's own logs.
func requestID(md metadata.MD) string {
	if v := md.Get("x-request-id"); len(v) == 1 && len(v[0]) > 0 && len(v[0]) <= 64 && printable(v[0]) {
		return v[0]
	}
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

// beginCall gives a call its request id before anything else runs, so that its log line
// and its audit event carry the same one.
func beginCall(ctx context.Context) (context.Context, *call) {
	md, _ := metadata.FromIncomingContext(ctx)
	c := &call{requestID: requestID(md)}
	grpc.SetHeader(ctx, metadata.Pairs("x-request-id", c.requestID))
	return context.WithValue(ctx, callKey{}, c), c
}

// authenticate finds the caller behind the bearer token. Missing and bad tokens are
// UNAUTHENTICATED with a message that tells which, and never repeats the token.
func (s *Server) authenticate(ctx context.Context, method string) (context.Context, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	c, ok := ctx.Value(callKey{}).(*call)
	if !ok {
		ctx, c = beginCall(ctx)
	}
	if isOpen(method) {
		return ctx, nil
	}
	auth := md.Get("authorization")
	if len(auth) == 0 {
		s.log.WarnContext(ctx, "unauthenticated", "method", method, "reason", "no token", "request_id", c.requestID)
		return ctx, status.Error(codes.Unauthenticated, "no bearer token: pass --token or set BIEUQUYET_TOKEN")
	}
	secret, ok := strings.CutPrefix(auth[0], "Bearer ")
	if !ok || len(auth) > 1 || !bq.LooksLikeToken(secret) {
		s.log.WarnContext(ctx, "unauthenticated", "method", method, "reason", "malformed authorization", "request_id", c.requestID)
		return ctx, status.Error(codes.Unauthenticated, `the authorization metadata must be one "Bearer bq_…" token`)
	}
	c.tokenHash = bq.HashToken(secret)
	p, err := s.store.Authenticate(ctx, c.tokenHash)
	if errors.Is(err, store.ErrBadToken) {
		s.log.WarnContext(ctx, "unauthenticated", "method", method, "reason", "bad token", "request_id", c.requestID)
		return ctx, status.Error(codes.Unauthenticated, "the token is not valid: unknown, expired or revoked")
	}
	if err != nil {
		return ctx, toStatus(ctx, s.log, method, err)
	}
	c.principal = p
	return ctx, nil
}

// authorize applies the method's policy to the call. A refusal is logged, and appended to
// the audit trail: the caller is authenticated, so the trail cannot be flooded by
// strangers.
func (s *Server) authorize(ctx context.Context, method string, req any) error {
	if isOpen(method) {
		return nil
	}
	p := principalFrom(ctx)
	rule, ok := policies[method]
	var err error
	if !ok {
		err = deny("", "no policy allows %s", method) // deny by default
	} else {
		err = rule(ctx, s.authz, p, req)
	}
	var d *denial
	if !errors.As(err, &d) {
		if err != nil {
			return toStatus(ctx, s.log, method, err)
		}
		return nil
	}
	action := method[strings.LastIndex(method, "/")+1:]
	s.log.WarnContext(ctx, "permission denied", "method", method, "actor", p.Actor(), "target", d.target, "request_id", callFrom(ctx).requestID)
	if err := s.store.RecordDenied(ctx, auditFrom(ctx), action, d.target, d.reason); err != nil {
		s.log.ErrorContext(ctx, "audit a denial", "error", err)
		return status.Error(codes.Internal, "internal error")
	}
	return status.Error(codes.PermissionDenied, d.reason)
}

// reauthorize checks a stream's caller again, as at its start: the token may have been
// revoked or have expired, the person may have left the group. Refusals end the stream
// with the code the call would get now; they are logged, not audited (nothing was
// attempted).
func (s *Server) reauthorize(ctx context.Context, req any) error {
	c := callFrom(ctx)
	method, _ := grpc.Method(ctx)
	if c.principal == nil || isOpen(method) {
		return nil
	}
	p, err := s.store.Authenticate(ctx, c.tokenHash)
	if errors.Is(err, store.ErrBadToken) {
		s.log.WarnContext(ctx, "stream ended", "method", method, "reason", "token no longer valid", "request_id", c.requestID)
		return status.Error(codes.Unauthenticated, "the token is no longer valid: expired or revoked")
	}
	if err != nil {
		return toStatus(ctx, s.log, method, err)
	}
	err = policies[method](ctx, s.authz, p, req)
	var d *denial
	if errors.As(err, &d) {
		s.log.WarnContext(ctx, "stream ended", "method", method, "actor", p.Actor(), "reason", d.reason, "request_id", c.requestID)
		return status.Error(codes.PermissionDenied, d.reason)
	}
	if err != nil {
		return toStatus(ctx, s.log, method, err)
	}
	c.principal = p
	return nil
}

// authStream authenticates a stream at its start and authorizes it on its request, which
// for server-streaming calls arrives as the first message.
type authStream struct {
	grpc.ServerStream
	ctx        context.Context
	srv        *Server
	method     string
	authorized bool
}

func (a *authStream) Context() context.Context { return a.ctx }

func (a *authStream) RecvMsg(m any) error {
	if err := a.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if !a.authorized {
		if err := a.srv.authorize(a.ctx, a.method, m); err != nil {
			return err
		}
		a.authorized = true
	}
	return nil
}

// SendMsg refuses to send before the request was authorized, so a handler that answered
// before reading could not leak anything.
func (a *authStream) SendMsg(m any) error {
	if !a.authorized {
		return status.Error(codes.PermissionDenied, "the call was not authorized")
	}
	return a.ServerStream.SendMsg(m)
}
