package server

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bieuquyet/bieuquyet/store"
)

// Errors of the store that a client can act on keep their meaning at the edge: a stale
// confirmation plan (other polls issued meanwhile) is ABORTED, which clients retry, not
// INTERNAL; a closed store is UNAVAILABLE.
func TestStoreErrorsKeepTheirMeaning(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for err, want := range map[error]codes.Code{
		fmt.Errorf("issue: %w", store.ErrStalePlan): codes.Aborted,
		store.ErrClosed:            codes.Unavailable,
		fmt.Errorf("disk on fire"): codes.Internal,
	} {
		if got := status.Code(toStatus(context.Background(), log, "/m", err)); got != want {
			t.Errorf("%v → %v, want %v", err, got, want)
		}
	}
}
