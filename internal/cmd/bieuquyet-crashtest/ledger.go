package main

import (
	"sync"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// vote is one RecordVote call and what it asked for.
type vote struct {
	poll, person int64
	requestID    string
	options      []string // empty for a withdrawal
	cycle        int
	present      bool // a cut vote the check after the stop found on disk
}

// confKey names a confirmation.
type confKey struct{ poll, id int64 }

// confExpect is what an acknowledged write says of a confirmation.
type confExpect struct {
	sha256 string
	// settled: a submission was answered, so the confirmation is no longer awaiting;
	// signed: it was accepted, and SIGNED is final.
	settled, signed bool
}

// ledger is what the server answered, kept across cycles: the acknowledged writes with
// their expected effect, the refused ones (never applied) and the ones a stop cut off.
type ledger struct {
	mu sync.Mutex
	// votes answered OK: each must be in the history once, with its options.
	votes []vote
	// votes refused with a definite error: none may be in the history.
	refused []vote
	// votes cut off in the current cycle: retried in the next one.
	cut []vote
	// the lowest state each poll must be in.
	polls map[int64]pb.PollState
	confs map[confKey]*confExpect

	pollsCreated, pollsClosed, generated, signed int
	cutVotes, cutPresent, cutAbsent, cutOther    int
	retriedFound, retriedRecorded                int
	retriedRefused                               int
}

func newLedger() *ledger {
	return &ledger{polls: map[int64]pb.PollState{}, confs: map[confKey]*confExpect{}}
}

// acked is the number of acknowledged writes.
func (l *ledger) acked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.votes) + l.pollsCreated + l.pollsClosed + l.generated + l.signed
}

// stateRank orders poll states along a poll's life; CANCELLED is never expected.
func stateRank(s pb.PollState) int {
	switch s {
	case pb.PollState_POLL_STATE_OPEN:
		return 1
	case pb.PollState_POLL_STATE_CLOSED:
		return 2
	case pb.PollState_POLL_STATE_CONFIRMING:
		return 3
	case pb.PollState_POLL_STATE_FINALIZED:
		return 4
	}
	return 0
}

// pollAtLeast records that poll id is at least in state s.
func (l *ledger) pollAtLeast(id int64, s pb.PollState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if stateRank(s) > stateRank(l.polls[id]) {
		l.polls[id] = s
	}
}
