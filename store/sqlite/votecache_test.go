package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// The vote writer keeps polls, electorates and people between its transactions; a change
// made by any other write, of this store or of another connection, must reach the next
// vote all the same.
func TestVoteWriterSeesOtherWrites(t *testing.T) {
	ctx := context.Background()
	for name, change := range map[string]func(t *testing.T, s *Store, path string, person int64){
		"this store": func(t *testing.T, s *Store, _ string, person int64) {
			if _, err := s.DeactivatePerson(ctx, storetest.Audit, person); err != nil {
				t.Fatal(err)
			}
		},
		"another connection": func(t *testing.T, _ *Store, path string, person int64) {
			rawExec(t, path, fmt.Sprintf(`UPDATE people SET active = 0 WHERE id = %d`, person))
		},
	} {
		t.Run(name, func(t *testing.T) {
			clock := storetest.NewClock()
			s, path := openOn(t, clock.Now)
			f := storetest.NewPollFixture(t, s, clock)
			p := f.Open(t, bq.RuleMajorityOfAll)
			if err := f.Vote(t, p, f.Members[1], bq.VoteOptions[0]); err != nil {
				t.Fatal(err)
			}
			change(t, s, path, f.Members[1])
			err := f.Vote(t, p, f.Members[1], bq.VoteOptions[1])
			if bq.ErrorCode(err) != bq.CodeFailedPrecondition || !strings.Contains(err.Error(), "deactivated") {
				t.Fatalf("a vote of a person deactivated since the last vote: %v", err)
			}
			if err := f.Vote(t, p, f.Members[2], bq.VoteOptions[1]); err != nil {
				t.Fatal(err)
			}
			if name == "this store" {
				if v := storetest.Verify(t, s); !v.OK {
					t.Fatalf("%+v", v)
				}
			}
		})
	}
}

// A refused vote rolls back to its savepoint; the votes after it in the same transaction
// must chain on the event before it.
func TestVoteWriterChainsAfterARefusedVote(t *testing.T) {
	s, f := newPollFixture(t)
	p := f.Open(t, bq.RuleMajorityOfAll)
	var votes []func() error
	for i := range 20 {
		req := f.Members[i%7]
		option := bq.VoteOptions[i%3]
		if i%5 == 0 {
			option = "không có" // refused: not an option
		}
		votes = append(votes, func() error { return f.Vote(t, p, req, option) })
	}
	errs := make(chan error, len(votes))
	for _, v := range votes {
		go func() { errs <- v() }()
	}
	refused := 0
	for range votes {
		if err := <-errs; err != nil {
			refused++
		}
	}
	if refused != 4 {
		t.Fatalf("%d votes refused, want 4", refused)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("%+v", v)
	}
}

// Denial runs whose window closed are folded into the trail by the next write, a vote
// included, even in the middle of the writer's transaction: the vote's event must chain on
// the folded events, not on the head the writer kept.
func TestVoteChainsAfterFoldedDenials(t *testing.T) {
	s, f := newPollFixture(t)
	p := f.Open(t, bq.RuleMajorityOfAll)
	ctx := context.Background()
	for range 3 {
		if err := s.RecordDenied(ctx, storetest.Audit, "RecordVote", bq.PollName(p.ID), "not allowed"); err != nil {
			t.Fatal(err)
		}
	}
	seq, _, _ := s.AuditHead(ctx)
	vote := func(tx *sql.Tx, person int64) error {
		_, err := s.applyVote(ctx, tx, &s.cache, storetest.Audit, "RecordVote",
			store.VoteRequest{PollID: p.ID, PersonID: person, Options: []string{bq.VoteOptions[0]}, Source: bq.SourceZalo}, nil)
		return err
	}
	// Two votes in one transaction of the writer (which is idle: nothing else votes), the
	// run's window closing between them.
	err := s.writerTx(ctx, func(tx *sql.Tx) error {
		if err := vote(tx, f.Members[0]); err != nil {
			return err
		}
		f.Clock.Advance(11 * time.Minute)
		return vote(tx, f.Members[1])
	})
	if err != nil {
		t.Fatal(err)
	}
	if after, _, _ := s.AuditHead(ctx); after != seq+3 {
		t.Fatalf("head went from %d to %d, want two votes and the folded run", seq, after)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("%+v", v)
	}
}
