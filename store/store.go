// Package store is the storage contract: the interfaces the server needs, the filter and
// request types they take, and the errors they return. It names no driver; each back-end
// lives below it (store/sqlite, later store/postgres) and runs the conformance suite in
// store/storetest.
//
// Every write takes the bq.Audit of its caller and appends its audit event in the same
// transaction, so an event exists exactly when its change committed.
package store

import (
	"context"
	"errors"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
)

// Store is a whole back-end.
type Store interface {
	RosterStore
	AccessStore
	AuditStore
	PollStore
	Close() error
}

// RosterStore keeps the council, its people and its groups.
type RosterStore interface {
	GetCouncil(ctx context.Context) (*bq.Council, error)
	UpdateCouncil(ctx context.Context, a bq.Audit, fn func(*bq.Council) error) (*bq.Council, error)
	CreatePerson(ctx context.Context, a bq.Audit, p *bq.Person) (*bq.Person, error)
	GetPerson(ctx context.Context, id int64) (*bq.Person, error)
	ListPeople(ctx context.Context, f PeopleFilter) ([]bq.Person, error)
	UpdatePerson(ctx context.Context, a bq.Audit, id int64, fn func(*bq.Person) error) (*bq.Person, error)
	DeactivatePerson(ctx context.Context, a bq.Audit, id int64) (*bq.Person, error)
	CreateGroup(ctx context.Context, a bq.Audit, g *bq.Group) (*bq.Group, error)
	GetGroup(ctx context.Context, id int64) (*bq.Group, error)
	ListGroups(ctx context.Context, f GroupFilter) ([]bq.Group, error)
	UpdateGroup(ctx context.Context, a bq.Audit, id int64, fn func(*bq.Group) error) (*bq.Group, error)
	AddGroupMember(ctx context.Context, a bq.Audit, groupID, personID int64, role bq.Role) (*bq.Group, error)
	RemoveGroupMember(ctx context.Context, a bq.Audit, groupID, personID int64) (*bq.Group, error)
	ApplyRoster(ctx context.Context, a bq.Audit, f *bq.RosterFile, dryRun bool) ([]bq.Change, error)
}

// AccessStore keeps tokens and answers who a caller is.
type AccessStore interface {
	Authenticate(ctx context.Context, hash [32]byte) (*bq.Principal, error)
	SharesGroup(ctx context.Context, a, b int64) (bool, error)
	RecordDenied(ctx context.Context, a bq.Audit, action, target, reason string) error
	CreateToken(ctx context.Context, a bq.Audit, t *bq.Token, key bq.RequestKey) (*bq.Token, error)
	ListTokens(ctx context.Context, f TokenFilter) ([]bq.Token, error)
	RevokeToken(ctx context.Context, a bq.Audit, id int64) (*bq.Token, error)
}

// AuditStore reads and verifies the audit trail.
type AuditStore interface {
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]bq.AuditEvent, error)
	VerifyAuditLog(ctx context.Context, known ...KnownHead) (*AuditVerdict, error)
	AuditHead(ctx context.Context) (int64, []byte, error)
}

// PollStore keeps polls and their votes.
type PollStore interface {
	CreatePoll(ctx context.Context, a bq.Audit, p *bq.Poll, key bq.RequestKey) (*bq.Poll, error)
	GetPoll(ctx context.Context, id int64) (*bq.Poll, []bq.Voter, error)
	PollGroups(ctx context.Context, id int64) (body, group int64, err error)
	ListPolls(ctx context.Context, f PollFilter) ([]bq.Poll, error)
	ClosePoll(ctx context.Context, a bq.Audit, id int64, key bq.RequestKey) (*bq.Poll, error)
	CancelPoll(ctx context.Context, a bq.Audit, id int64, reason string, key bq.RequestKey) (*bq.Poll, error)
	CloseDuePolls(ctx context.Context, a bq.Audit) ([]int64, error)
	NextDeadline(ctx context.Context) (time.Time, bool, error)
	RecordVote(ctx context.Context, a bq.Audit, req VoteRequest) (*bq.VoteRecord, error)
	ImportVotes(ctx context.Context, a bq.Audit, pollID int64, entries []VoteEntry, source bq.VoteSource, dryRun bool, key bq.RequestKey) ([]bq.VoteRecord, int, error)
	ListVotes(ctx context.Context, pollID, afterPerson int64, limit int) ([]bq.VoteRecord, error)
	ListVoteHistory(ctx context.Context, pollID, personID int64) ([]bq.VoteRecord, error)
	GetTally(ctx context.Context, pollID int64) (*bq.Tally, error)
}

// AuditFilter selects events. Zero fields select everything.
type AuditFilter struct {
	Target   string
	Actor    string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	AfterSeq int64
	Limit    int
}

// AuditVerdict is the result of checking the whole trail, and the stored state against
// it: the chain first, then (if whole) the votes, ballots and counts, then each target's
// state against its newest event. Problem describes the first problem found.
type AuditVerdict struct {
	OK       bool
	Count    int64  // events checked and found whole
	HeadSeq  int64  // the head as recorded
	HeadHash []byte // the head as recorded
	// BadSeq is the first event where the chain breaks (0 when the end is wrong); for a
	// stored state that disagrees with the trail, the event since which it disagrees (0
	// when no event vouches for it at all).
	BadSeq int64
	// Target names the resource whose stored state disagrees with the trail ("polls/3"
	// for its votes, ballots or counts too, "people/12"; Problem names the table); empty
	// when the chain itself is broken.
	Target  string
	Problem string
}

// KnownHead is a head written down outside the database earlier (`bieuquyet audit head`).
// Rewriting the newest events together with the stored head leaves a chain that is whole
// again; only a head kept elsewhere shows that it was changed.
type KnownHead struct {
	Seq  int64
	Hash []byte
}

// PeopleFilter selects people for ListPeople. Zero fields select everything.
type PeopleFilter struct {
	GroupID  int64
	Delegate *bool
	Active   *bool
	Phone    string // normalised
	AfterID  int64
	Limit    int
}

// GroupFilter selects groups for ListGroups. Zero fields select everything.
type GroupFilter struct {
	Kind        bq.GroupKind
	DisplayName string
	MemberID    int64 // only groups this person belongs to
	AfterID     int64
	Limit       int
}

// TokenFilter selects tokens. Zero fields select everything.
type TokenFilter struct {
	PersonID       int64
	IncludeRevoked bool
	AfterID        int64
	Limit          int
}

// ErrBadToken is returned by Authenticate for a token that is unknown, revoked, expired,
// or whose person is deactivated. Callers learn no more than that, on purpose.
var ErrBadToken = errors.New("the token is not valid")

// PollFilter selects polls. Zero fields select everything.
type PollFilter struct {
	GroupID  int64
	MemberID int64 // only polls held in groups this person belongs to
	State    bq.PollState
	Since    time.Time
	Until    time.Time
	BeforeID int64 // newest first: ids below this one; 0 starts at the newest
	Limit    int
}

// VoteRequest is one choice to record. Options name the chosen options by their text,
// compared without regard to case; an empty list with Withdraw takes the vote back.
type VoteRequest struct {
	PollID   int64
	PersonID int64
	Options  []string
	Withdraw bool
	Source   bq.VoteSource
	Note     string
	Key      bq.RequestKey
}

// ErrClosed is returned for a vote sent after Close.
var ErrClosed = errors.New("the store is closed")

// VoteEntry is one delegate's choice in an import, by option index.
type VoteEntry struct {
	PersonID int64
	Options  []int
}
