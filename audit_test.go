package bieuquyet

import (
	"encoding/hex"
	"testing"
	"time"
)

func goldenEvent() *AuditEvent {
	return &AuditEvent{Seq: 7, Time: time.Date(2026, 11, 27, 8, 0, 0, 123, time.UTC), Actor: "people/12", Credential: "tokens/3",
		Action: "RecordVote", Outcome: OutcomeDone, Target: "polls/4", RequestID: "r-1", Summary: "Lê Văn Một (people/12) chose Tán thành, from zalo"}
}

// Events written before version 2 must verify forever: the version 1 encoding may not
// change. The hash below is what the code before version 2 computed.
func TestVersion1HashIsUnchanged(t *testing.T) {
	e := goldenEvent()
	e.Version = AuditV1
	if got := hex.EncodeToString(e.ComputeHash(GenesisHash)); got != "800fdf684c2c9a90e5cb7e6e88763eb4b97705df7f4eed77de3b283ff4be0903" {
		t.Fatalf("version 1 hash changed: %s", got)
	}
}

// Version 2 covers the state fields: changing any of them, or claiming another version,
// changes the hash.
func TestVersion2HashCoversTheState(t *testing.T) {
	base := goldenEvent()
	base.Version, base.State, base.VotesThrough, base.VotesDigest = AuditV2, []byte("state"), 3, []byte("votes")
	h := hex.EncodeToString(base.ComputeHash(GenesisHash))
	for name, change := range map[string]func(*AuditEvent){
		"state":         func(e *AuditEvent) { e.State = []byte("other") },
		"votes through": func(e *AuditEvent) { e.VotesThrough = 4 },
		"votes digest":  func(e *AuditEvent) { e.VotesDigest = nil },
		"version 1":     func(e *AuditEvent) { e.Version = AuditV1 },
	} {
		e := *base
		change(&e)
		if hex.EncodeToString(e.ComputeHash(GenesisHash)) == h {
			t.Errorf("changing the %s keeps the hash", name)
		}
	}
	e := *base
	e.Version = 3
	if e.ComputeHash(GenesisHash) != nil {
		t.Error("an unknown version has a hash")
	}
}

func TestChainRefusesAnOlderVersionAfterANewerOne(t *testing.T) {
	c := NewChainCheck()
	prev := GenesisHash
	for i, v := range []int{AuditV1, AuditV2, AuditV1} {
		e := goldenEvent()
		e.Seq, e.Version, e.PrevHash = int64(i+1), v, prev
		e.Hash = e.ComputeHash(prev)
		problem := c.Next(e)
		if (problem != "") != (i == 2) {
			t.Fatalf("event %d (version %d): %q", i+1, v, problem)
		}
		prev = e.Hash
	}
}
