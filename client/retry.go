package client

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Retries. A call that fails because the server could not be reached or did not answer
// in time may still have been carried out: only a call that is safe to repeat is tried
// again. That is a read, or a write that carries a request_id, which the server uses to
// carry it out once however often it arrives (AIP-155). Writes without one (roster
// changes, token revocation) fail at once, so that a person can look before trying again.
const (
	maxAttempts  = 3                      // in all, the first included
	firstBackoff = 250 * time.Millisecond // doubled after each attempt
)

// readOnly names the request messages of the RPCs that change nothing.
var readOnly = map[protoreflect.FullName]bool{
	"bieuquyet.v1.GetCouncilRequest":        true,
	"bieuquyet.v1.GetPersonRequest":         true,
	"bieuquyet.v1.ListPeopleRequest":        true,
	"bieuquyet.v1.GetGroupRequest":          true,
	"bieuquyet.v1.ListGroupsRequest":        true,
	"bieuquyet.v1.ListTokensRequest":        true,
	"bieuquyet.v1.WhoAmIRequest":            true,
	"bieuquyet.v1.ListAuditEventsRequest":   true,
	"bieuquyet.v1.VerifyAuditLogRequest":    true,
	"bieuquyet.v1.GetAuditHeadRequest":      true,
	"bieuquyet.v1.GetPollRequest":           true,
	"bieuquyet.v1.ListPollsRequest":         true,
	"bieuquyet.v1.ListVotesRequest":         true,
	"bieuquyet.v1.ListVoteHistoryRequest":   true,
	"bieuquyet.v1.GetTallyRequest":          true,
	"bieuquyet.v1.ListConfirmationsRequest": true,
	"bieuquyet.v1.GetConfirmationRequest":   true,
}

// requestIDOf returns the request_id a request carries, "" when it has none.
func requestIDOf(req any) string {
	if r, ok := req.(interface{ GetRequestId() string }); ok {
		return r.GetRequestId()
	}
	return ""
}

// retryable reports whether req may be sent again after a failure that leaves unknown
// whether the server carried it out.
func retryable(req any) bool {
	if requestIDOf(req) != "" {
		return true
	}
	m, ok := req.(proto.Message)
	return ok && readOnly[m.ProtoReflect().Descriptor().FullName()]
}

// transient reports whether err may go away by itself: the server could not be reached,
// did not answer within --timeout, or aborted the call because of concurrent work (it
// then wrote nothing, as with confirmations issued meanwhile for other polls).
func transient(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return true
	}
	return false
}

// call runs one RPC, named as a method of services (services.WhoAmI). Each attempt has
// its own deadline of --timeout; a request that is safe to repeat is tried up to
// maxAttempts times while it fails with UNAVAILABLE or DEADLINE_EXCEEDED, after a short
// pause that doubles. Every attempt carries the same x-request-id, the request's own
// request_id when it has one, so the audit trail shows them as one. Streams, which last,
// do not go through call: see poll watch.
func call[Req, Resp any](ctx context.Context, a *app, rpc func(services, context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	var zero Resp
	svc, err := a.services()
	if err != nil {
		return zero, err
	}
	id := requestIDOf(req)
	tag := id
	if tag == "" {
		tag = newRequestID()
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", tag)
	retry := retryable(req)
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, a.timeout)
		resp, err := rpc(svc, actx, req)
		cancel()
		if err == nil || !transient(err) {
			return resp, err
		}
		if id != "" {
			err = &unsureError{err: err, requestID: id}
		}
		if !retry || attempt == maxAttempts || ctx.Err() != nil {
			return zero, err
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done(): // interrupted during the pause: the last attempt may have been carried out
			return zero, err
		}
		backoff *= 2
	}
}

// unsureError is the failure of a write that may nonetheless have been carried out: the
// server was unreachable or slow. Sent again with the same request id, it is carried out
// once at most, so exit tells the id.
type unsureError struct {
	err       error
	requestID string
}

func (e *unsureError) Error() string { return e.err.Error() }
func (e *unsureError) Unwrap() error { return e.err }

// newRequestID returns a fresh random id: "cli-" and 24 hex digits.
func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return "cli-" + hex.EncodeToString(b[:])
}

// maxRequestIDLen is the longest --request-id: the server keeps up to 64 printable ASCII
// characters of the x-request-id that tags the call in the audit trail.
const maxRequestIDLen = 64

// requestIDVar declares --request-id on a command whose call carries a request_id.
func requestIDVar(fs *flag.FlagSet) *string {
	return fs.String("request-id", "", "the id that makes this change happen once however often it is sent: give the id printed by a run that timed out, to run it again safely (default: a new random id)")
}

// requestID returns the request id a command sends: --request-id when given, checked,
// else a new one.
func requestID(fs *flag.FlagSet, given *string) (string, error) {
	if !visited(fs)["request-id"] {
		return newRequestID(), nil
	}
	id := *given
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return "", usageErrorf(fs.Name(), "--request-id must have 1 to %d characters", maxRequestIDLen)
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return "", usageErrorf(fs.Name(), "--request-id may hold only printable ASCII characters without spaces")
		}
	}
	return id, nil
}
