package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
)

// base gives each service's handlers the one way to fail, and the signal that access
// may have changed (a token revoked, someone leaving a group), which open streams heed.
type base struct {
	log    *slog.Logger
	access *signal
}

// fail turns err into the call's status; see toStatus.
func (b base) fail(ctx context.Context, err error) error {
	method, _ := grpc.Method(ctx)
	return toStatus(ctx, b.log, method, err)
}

// grpcCodes maps each domain code to its canonical gRPC code: the one table that does so.
var grpcCodes = map[bq.Code]codes.Code{
	bq.CodeInvalid:            codes.InvalidArgument,
	bq.CodeNotFound:           codes.NotFound,
	bq.CodeAlreadyExists:      codes.AlreadyExists,
	bq.CodeFailedPrecondition: codes.FailedPrecondition,
}

// gRPC clients built on C-core (Python, C#, Ruby…) refuse response metadata over 8 KiB,
// and a status travels in trailers: its message (percent-encoded, so a Vietnamese letter
// can cost nine bytes) and its details (base64, a third more). These bounds keep both
// well under that whatever the input, so such clients see INVALID_ARGUMENT, not INTERNAL.
const (
	maxDetailsSize = 4 << 10 // the encoded google.rpc.Status with its details
	maxMessageLen  = 300     // bytes of the status message
)

// toStatus turns an error from the domain or the store into a gRPC status. Domain errors
// carry messages written for the caller; anything else is logged in full and reaches the
// caller only as "internal error", so SQL and file paths never leak.
func toStatus(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var e *bq.Error
	if errors.As(err, &e) {
		if c, ok := grpcCodes[e.Code]; ok {
			if c != codes.InvalidArgument {
				// Field violations describe bad input; other codes say it in the message.
				return status.Error(c, shorten(e.Message))
			}
			return withViolations(status.New(c, shorten(e.Message)), e.Violations)
		}
	}
	switch {
	case errors.Is(err, store.ErrClosed):
		return status.Error(codes.Unavailable, "the server is shutting down; try again")
	case errors.Is(err, store.ErrStalePlan):
		// Other polls kept issuing while this one rendered: nothing was written, and the
		// same request can simply be sent again.
		return status.Error(codes.Aborted, "other confirmations were issued meanwhile; send the request again")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the call was cancelled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "the call's deadline passed")
	}
	log.ErrorContext(ctx, "internal error", "method", method, "error", err)
	return status.Error(codes.Internal, "internal error")
}

func withViolations(st *status.Status, vs []bq.Violation) error {
	if len(vs) == 0 {
		return st.Err()
	}
	// The first problems that fit, and a count of the rest; a dry run lists them all.
	br := &errdetails.BadRequest{}
	for i, v := range vs {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
		if proto.Size(br)+len(st.Message())+64 > maxDetailsSize {
			br.FieldViolations = append(br.FieldViolations[:i], &errdetails.BadRequest_FieldViolation{
				Description: fmt.Sprintf("and %d more problems: a dry run lists them all", len(vs)-i)})
			break
		}
	}
	withDetails, err := st.WithDetails(br)
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}

// shorten cuts a status message to maxMessageLen bytes, on a character boundary.
func shorten(msg string) string {
	if len(msg) <= maxMessageLen {
		return msg
	}
	cut := maxMessageLen - len("…")
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// problems turns bad input into the problems a dry run reports in its reply, every one
// of them; ok is false for any other error.
func problems(err error) (out []*pb.Problem, ok bool) {
	var e *bq.Error
	if !errors.As(err, &e) || e.Code != bq.CodeInvalid || len(e.Violations) == 0 {
		return nil, false
	}
	for _, v := range e.Violations {
		out = append(out, &pb.Problem{Field: v.Field, Description: v.Description})
	}
	return out, true
}
