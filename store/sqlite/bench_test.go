package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// recordVoteAlone is the design the vote writer replaced, kept as the benchmark's
// baseline: one transaction, and so one fsync, per call.
func (s *Store) recordVoteAlone(ctx context.Context, a bq.Audit, req store.VoteRequest) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := s.applyVote(ctx, tx, nil, a, "RecordVote", req, nil)
		return err
	})
}

// BenchmarkRecordVote compares the group-committing vote writer with one transaction
// per vote, at 64 concurrent callers (32 per core on the 2-core machines this project
// runs on), on a real SQLite file with synchronous=FULL. Compare the two ns/op: the
// ratio, not the absolute figures, is what carries over between machines.
func BenchmarkRecordVote(b *testing.B) {
	for _, mode := range []string{"tx-per-vote", "group-commit"} {
		b.Run(mode, func(b *testing.B) {
			s, f := newPollFixture(b)
			p := f.Open(b, bq.RuleMajorityOfAll)
			ctx := context.Background()
			b.SetParallelism(32)
			var n int64
			var mu sync.Mutex
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					mu.Lock()
					n++
					i := n
					mu.Unlock()
					req := store.VoteRequest{PollID: p.ID, PersonID: f.Members[i%7], Options: []string{bq.VoteOptions[i%3]}, Source: bq.SourceZalo,
						Key: bq.RequestKey{ID: fmt.Sprintf("%s-%d", mode, i), Fingerprint: "f"}}
					var err error
					if mode == "group-commit" {
						_, err = s.RecordVote(ctx, storetest.Audit, req)
					} else {
						err = s.recordVoteAlone(ctx, storetest.Audit, req)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
