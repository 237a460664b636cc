// Package storetest is the conformance suite of the storage contract: the behaviour every
// back-end of package store must show, checked through the store interfaces alone.
//
// A back-end runs it from one test in its own package:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, now func() time.Time) store.Store {
//			s, err := mybackend.Open(…, now)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The Factory must give every call a new, empty store of its own (the suite expects the
// first person, group and audit event to be numbered 1), read the time only from now,
// and close the store when the test ends. The suite also records votes from many
// goroutines at once, so the store must be safe for concurrent use.
//
// Tests that need to look beneath the contract (raw tampering with the audit trail, query
// plans, files on disk) stay in the back-end's package; they can build their data with
// the helpers exported here (NewPollFixture, MustPerson, FiveEvents).
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// Factory opens a new, empty store whose clock is now. The store is closed by t.Cleanup.
type Factory func(t *testing.T, now func() time.Time) store.Store

// tests are the behaviours every back-end must show, each run as a subtest of Run.
var tests = []struct {
	name string
	fn   func(t *testing.T, open Factory)
}{
	// The roster.
	{"AllDelegatesGroupHoldsEveryActiveDelegate", testAllDelegatesGroupHoldsEveryActiveDelegate},
	{"GroupRulesRefuseAndChangeNothing", testGroupRulesRefuseAndChangeNothing},
	{"CreatePersonRefusesTakenPhoneAndIdentity", testCreatePersonRefusesTakenPhoneAndIdentity},
	{"ApplyRosterIsIdempotentAndDryRunChangesNothing", testApplyRosterIsIdempotentAndDryRunChangesNothing},
	{"AllDelegatesChangesAreRecorded", testAllDelegatesChangesAreRecorded},
	// Polls and votes.
	{"PollFreezesItsElectorate", testPollFreezesItsElectorate},
	{"CreatePollRetryReturnsTheSamePollOnlyToItsOpener", testCreatePollRetryReturnsTheSamePollOnlyToItsOpener},
	{"VenueFollowsArticle7", testVenueFollowsArticle7},
	{"VoteChangesAndWithdrawalsKeepHistory", testVoteChangesAndWithdrawalsKeepHistory},
	{"StateChangesOnlyByTheRules", testStateChangesOnlyByTheRules},
	{"DeadlineClosesThePoll", testDeadlineClosesThePoll},
	{"ConcurrentVotesAreAllCountedOnce", testConcurrentVotesAreAllCountedOnce},
	{"ImportVotesIsAllOrNothing", testImportVotesIsAllOrNothing},
	{"RequestIDsAreRetriesOfOneRequestOnly", testRequestIDsAreRetriesOfOneRequestOnly},
	{"DeactivatedDelegateKeepsTheirVoteButCastsNoNewOne", testDeactivatedDelegateKeepsTheirVoteButCastsNoNewOne},
	{"StaffNeverVote", testStaffNeverVote},
	{"RetryAfterTheDeadlineReturnsThePoll", testRetryAfterTheDeadlineReturnsThePoll},
	// Written confirmations.
	{"ConfirmationsAreIssuedOncePerVoter", testConfirmationsAreIssuedOncePerVoter},
	{"ConfirmationPlansGoStale", testConfirmationPlansGoStale},
	{"ListConfirmationsFiltersAndPages", testListConfirmationsFiltersAndPages},
	// A confirmation's life after issue.
	{"ConfirmationStepsAreStoredWithTheirFiles", testConfirmationStepsAreStoredWithTheirFiles},
	{"AConfirmationStepIsAtomic", testAConfirmationStepIsAtomic},
	{"TheLastFinalConfirmationFinalizesThePoll", testTheLastFinalConfirmationFinalizesThePoll},
	{"TheDeadlineSettlesThePoll", testTheDeadlineSettlesThePoll},
	{"AStepPastTheDeadlineComesLate", testAStepPastTheDeadlineComesLate},
	{"PastTheDeadlineNothingDependsOnTheScheduler", testPastTheDeadlineNothingDependsOnTheScheduler},
	{"FindConfirmationBySHA256", testFindConfirmationBySHA256},
	{"AConfirmationStepRetriedIsOneStep", testAConfirmationStepRetriedIsOneStep},
	// The audit trail and access.
	{"EveryChangeAppendsOneChainedEvent", testEveryChangeAppendsOneChainedEvent},
	{"RefusedChangeLeavesNoEvent", testRefusedChangeLeavesNoEvent},
	{"VerifyAgainstAHeadRecordedElsewhere", testVerifyAgainstAHeadRecordedElsewhere},
	{"AuthenticateRefusesRevokedExpiredAndDeactivated", testAuthenticateRefusesRevokedExpiredAndDeactivated},
	{"AuthenticateSeesEveryChangeAtOnce", testAuthenticateSeesEveryChangeAtOnce},
}

// Run runs the whole suite against the stores open makes, one subtest per behaviour.
func Run(t *testing.T, open Factory) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// Audit is the caller of the changes the suite makes.
var Audit = bq.Audit{Actor: "tokens/1", Credential: "tokens/1", RequestID: "test"}

// Clock is a clock a test moves: by hand with Advance, or a second per reading with Tick.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to 08:00 UTC on 27 November 2026.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
}

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Tick moves the clock on by a second and reads it, so that every change a store makes on
// it has a time of its own.
func (c *Clock) Tick() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

// newStore opens a store on a clock that ticks a second per reading.
func newStore(t *testing.T, open Factory) store.Store {
	t.Helper()
	return open(t, NewClock().Tick)
}

// MustPerson creates a person whose phone number is made from n, so that n tells people
// apart.
func MustPerson(t testing.TB, s store.Store, name string, delegate bool, n int) *bq.Person {
	t.Helper()
	p, err := s.CreatePerson(context.Background(), Audit, &bq.Person{FullName: name, Delegate: delegate, Phone: fmt.Sprintf("+8490000%04d", n)})
	if err != nil {
		t.Fatalf("CreatePerson(%s): %v", name, err)
	}
	return p
}

// MustToken creates a token of the given role and returns its secret with it.
func MustToken(t testing.TB, s store.Store, role bq.TokenRole, person int64, expire time.Time) (string, *bq.Token) {
	t.Helper()
	secret, hash, err := bq.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateToken(context.Background(), Audit, &bq.Token{Name: "t", Role: role, PersonID: person, Hash: hash, ExpireTime: expire}, bq.RequestKey{})
	if err != nil {
		t.Fatal(err)
	}
	return secret, tok
}

func wantCode(t *testing.T, err error, code bq.Code) {
	t.Helper()
	if got := bq.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}
