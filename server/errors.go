package server

import (
	"context"
	"errors"
	"log/slog"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bq "github.com/bieuquyet/bieuquyet"
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

// maxViolations bounds the field violations sent back, so a file with thousands of bad
// rows cannot make a status larger than a client accepts in its trailers.
const maxViolations = 200

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
				return status.Error(c, e.Message)
			}
			return withViolations(status.New(c, e.Message), e.Violations)
		}
	}
	switch {
	case errors.Is(err, store.ErrClosed):
		return status.Error(codes.Unavailable, "the server is shutting down; try again")
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
	br := &errdetails.BadRequest{}
	for i, v := range vs {
		if i == maxViolations {
			br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
				Field: "", Description: "and more problems not listed"})
			break
		}
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: v.Field, Description: v.Description})
	}
	withDetails, err := st.WithDetails(br)
	if err != nil {
		return st.Err()
	}
	return withDetails.Err()
}
