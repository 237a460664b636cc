package bieuquyet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"time"
)

// Outcomes of an audited call.
const (
	OutcomeDone   = "done"
	OutcomeDenied = "denied"
)

// Versions of an event's canonical encoding. Events keep the version they were written
// with, so the trail from before version 2 still verifies.
const (
	AuditV1 = 1 // the event alone
	AuditV2 = 2 // the event and the state it left: State, VotesThrough, VotesDigest
)

// AuditEvent is one entry of the audit trail: a change, or a refused attempt by an
// authenticated caller. Events form a hash chain: each Hash covers the previous event's
// hash and this event's own canonical encoding, so editing, deleting, inserting or
// reordering any event breaks the chain from that point on. Since version 2 an event that
// changed a target also carries a digest of what the target held afterwards, so the
// stored state can be checked against the trail.
type AuditEvent struct {
	Seq        int64
	Time       time.Time
	Actor      string // "people/12", "tokens/3"
	Credential string // "tokens/3"
	Action     string // "CreatePerson", "ImportRoster"
	Outcome    string // OutcomeDone or OutcomeDenied
	Target     string // "people/12", "groups/3", "council", "tokens/4"
	RequestID  string
	Summary    string
	Version    int // AuditV1 or AuditV2: the encoding Hash covers
	// State is the SHA-256 of the target's stored state right after the event; empty for
	// denials and for version 1 events.
	State []byte
	// VotesThrough and VotesDigest bind a poll's votes rows: the newest row the event
	// covers, and a running SHA-256 over the poll's rows up to it in id order. Zero and
	// empty for other targets, and for a poll before its first vote.
	VotesThrough int64
	VotesDigest  []byte
	PrevHash     []byte
	Hash         []byte
}

// GenesisHash is the previous hash of the first event.
var GenesisHash = make([]byte, sha256.Size)

// ComputeHash returns SHA-256 over the previous hash and the event's canonical encoding in
// its Version, or nil for a version it does not know. The encoding prefixes every field
// with its length, so no two different events encode alike, and it is fixed by this
// function: changing it needs a new version tag.
func (e *AuditEvent) ComputeHash(prev []byte) []byte {
	var b bytes.Buffer
	switch e.Version {
	case AuditV1:
		b.WriteString("bieuquyet-audit-v1")
	case AuditV2:
		b.WriteString("bieuquyet-audit-v2")
	default:
		return nil
	}
	field := func(s string) {
		var n [binary.MaxVarintLen64]byte
		b.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		b.WriteString(s)
	}
	field(string(prev))
	field(strconv.FormatInt(e.Seq, 10))
	field(strconv.FormatInt(e.Time.UTC().UnixNano(), 10))
	field(e.Actor)
	field(e.Credential)
	field(e.Action)
	field(e.Outcome)
	field(e.Target)
	field(e.RequestID)
	field(e.Summary)
	if e.Version == AuditV2 {
		field(string(e.State))
		field(strconv.FormatInt(e.VotesThrough, 10))
		field(string(e.VotesDigest))
	}
	h := sha256.Sum256(b.Bytes())
	return h[:]
}

// ChainCheck walks events in order and reports the first one where the chain breaks.
type ChainCheck struct {
	prev    []byte
	seq     int64
	version int
	Count   int64
}

// NewChainCheck starts a check at the beginning of the trail.
func NewChainCheck() *ChainCheck { return &ChainCheck{prev: GenesisHash} }

// Next checks the next event and returns "" or what is wrong with it.
func (c *ChainCheck) Next(e *AuditEvent) string {
	switch {
	case e.Version != AuditV1 && e.Version != AuditV2:
		return "its format version " + strconv.Itoa(e.Version) + " is unknown: the event was altered"
	case e.Version < c.version:
		return "it is in an older format than the event before it: the event was altered or inserted"
	case e.Seq != c.seq+1:
		return "sequence " + strconv.FormatInt(e.Seq, 10) + " follows " + strconv.FormatInt(c.seq, 10) + ": an event is missing or was inserted"
	case !bytes.Equal(e.PrevHash, c.prev):
		return "its previous hash does not match the event before it"
	case !bytes.Equal(e.Hash, e.ComputeHash(c.prev)):
		return "its hash does not match its contents: the event was altered"
	}
	c.prev, c.seq, c.version = e.Hash, e.Seq, e.Version
	c.Count++
	return ""
}

// Finish compares the walk's end with the recorded head: deleting the newest events
// leaves a chain that is whole but short, which only the head reveals.
func (c *ChainCheck) Finish(headSeq int64, headHash []byte) string {
	if headSeq != c.seq || !bytes.Equal(headHash, c.prev) {
		return "the trail ends at event " + strconv.FormatInt(c.seq, 10) + " but the recorded head is event " + strconv.FormatInt(headSeq, 10) + ": events were removed from the end or the head was altered"
	}
	return ""
}

// Head returns the sequence number and hash of the last event checked.
func (c *ChainCheck) Head() (int64, []byte) { return c.seq, c.prev }
