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
	ConfirmationStore
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

// ConfirmationStore issues and keeps the written confirmations of closed polls (Điều 7.2).
// It stores documents and knows nothing of how they are drawn: issuing is planned (a
// read), the caller renders each planned confirmation, and the documents are issued in
// one transaction, which holds only if the plan still does. A vote cannot change on a
// closed poll, so a plan goes stale only if the poll's state moved on or another poll's
// confirmations took the planned ids; IssueConfirmations then returns ErrStalePlan and
// the caller plans again.
type ConfirmationStore interface {
	// PlanConfirmations reads what issuing a poll's confirmations will write: the issue
	// time (the store's clock, as every document must show it), the confirmation deadline
	// (Poll.StartConfirming: the one given, else the poll's own, else the default) and
	// one confirmation per delegate with a current choice, ids assigned, in person order.
	// For a poll whose confirmations were issued already, the plan is those (Issued),
	// with their digests: nothing is to be rendered again.
	PlanConfirmations(ctx context.Context, pollID int64, deadline time.Time) (*ConfirmationPlan, error)
	// IssueConfirmations stores documents[i], exactly as given, as plan.Confirmations[i]
	// with its SHA-256 and size, moves the poll to CONFIRMING and appends an event per
	// confirmation and one for the poll, in one transaction. A poll whose confirmations
	// were issued already gets them back unchanged, whatever the plan and documents; so
	// does a retry of the same request.
	IssueConfirmations(ctx context.Context, a bq.Audit, plan *ConfirmationPlan, documents [][]byte, key bq.RequestKey) (*bq.Poll, []bq.Confirmation, error)
	ListConfirmations(ctx context.Context, f ConfirmationFilter) ([]bq.Confirmation, error)
	GetConfirmation(ctx context.Context, pollID, id int64) (*bq.Confirmation, error)
	// ConfirmationDocument returns a confirmation and the bytes of its document as issued.
	ConfirmationDocument(ctx context.Context, pollID, id int64) (*bq.Confirmation, []byte, error)
	// FindConfirmationBySHA256 returns the confirmation whose issued document has this
	// hex SHA-256, or a NotFound error.
	FindConfirmationBySHA256(ctx context.Context, digest string) (*bq.Confirmation, error)

	// ChangeConfirmation takes one step of a confirmation's life in one transaction: it
	// loads the confirmation (its history replayed) and its poll, settles the poll first
	// when the confirmation deadline has passed (as SettleDuePolls would: what is owed
	// becomes overdue and the poll finalized, so that nothing depends on whether the
	// scheduler has run yet), calls change, which decides the step through the
	// domain (Confirmation.Sign, RecordPaper, Reject, Decline, Resolve) or refuses, stores
	// the step with its file and the new status, appends an audit event with action, and
	// finalizes the poll when it is settled (bq.PollSettled). A finalized poll takes only
	// late steps. It returns the confirmation and the poll after the step.
	// A retry of the same request (key) returns the confirmation and poll as they are,
	// without calling change.
	ChangeConfirmation(ctx context.Context, a bq.Audit, pollID, id int64, action string, key bq.RequestKey,
		change func(*bq.Poll, *bq.Confirmation) (*bq.ConfirmationEvent, error)) (*bq.Confirmation, *bq.Poll, error)
	// ConfirmationHistory returns a confirmation's steps, oldest first, with the files
	// they name (without content).
	ConfirmationHistory(ctx context.Context, pollID, id int64) ([]bq.ConfirmationEvent, error)
	// ConfirmationFile returns one file that came back, with its content when kept.
	ConfirmationFile(ctx context.Context, pollID, id, fileID int64) (*bq.ConfirmationFile, error)
	// SettleDuePolls makes overdue every confirmation past its deadline and finalizes the
	// confirming polls so settled, returning their ids.
	SettleDuePolls(ctx context.Context, a bq.Audit) ([]int64, error)
}

// ConfirmationPlan is what issuing a poll's confirmations will write; see
// ConfirmationStore.
type ConfirmationPlan struct {
	Poll      *bq.Poll // as read: CLOSED, or past it when Issued
	Version   int64    // the poll's version when read
	IssueTime time.Time
	Deadline  time.Time
	// Confirmations in person order, with their ids, choices and vote records; the
	// digests are set only when Issued.
	Confirmations []bq.Confirmation
	Issued        bool
}

// ErrStalePlan is returned by IssueConfirmations when the plan no longer holds: plan
// again, and render again.
var ErrStalePlan = errors.New("the confirmation plan is stale")

// ConfirmationFilter selects a poll's confirmations, in person order.
type ConfirmationFilter struct {
	PollID      int64
	PersonID    int64 // only this person's
	Status      bq.ConfirmationStatus
	AfterPerson int64
	Limit       int
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
