package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// The checker must be able to fail: a ledger that holds writes the database does not
// is a loss.
func TestCheckReportsLostWrites(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "bieuquyet.db")
	st, err := sqlite.Open(ctx, db, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	tt := &tester{db: db, ledger: newLedger(), out: io.Discard}
	if err := tt.check(ctx); err != nil {
		t.Fatalf("check of an empty database with an empty ledger: %v", err)
	}
	if tt.checked.integrity != 1 || tt.checked.audit != 1 || len(tt.heads) != 1 {
		t.Errorf("after one check: %+v, %d heads; want one integrity check, one audit check, one head", tt.checked, len(tt.heads))
	}

	tt.ledger.pollAtLeast(7, pb.PollState_POLL_STATE_CLOSED)
	tt.ledger.confs[confKey{7, 1}] = &confExpect{sha256: "00", signed: true}
	err = tt.check(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 acknowledged writes lost") {
		t.Fatalf("check with a poll and a confirmation the database lacks = %v, want 2 lost", err)
	}

	tt.ledger = newLedger()
	tt.ledger.votes = []vote{{poll: 7, person: 3, requestID: "r1", options: []string{"Tán thành"}}}
	if err := tt.check(ctx); err == nil {
		t.Fatal("check with an acknowledged vote the database lacks = nil, want an error")
	}
}
