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

// PollFixture is a Ban (a committee) of seven delegates, one of them its leader, and one
// staff member, in a store whose clock the test moves by hand.
type PollFixture struct {
	Store   store.Store
	Clock   *Clock
	Ban     *bq.Group
	Members []int64 // the seven delegates, leader first
	Staff   int64
}

// NewPollFixture sets up the Ban in s, an empty store reading its time from clock.
func NewPollFixture(t testing.TB, s store.Store, clock *Clock) *PollFixture {
	t.Helper()
	f := &PollFixture{Store: s, Clock: clock}
	for i := 1; i <= 7; i++ {
		f.Members = append(f.Members, MustPerson(t, s, fmt.Sprintf("Đại biểu %d", i), true, i).ID)
	}
	f.Staff = MustPerson(t, s, "Chuyên viên", false, 99).ID
	ctx := context.Background()
	var err error
	if f.Ban, err = s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: f.Members[0]}); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(f.Members[1:], f.Staff) {
		if _, err := s.AddGroupMember(ctx, Audit, f.Ban.ID, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// newPollFixture sets up the Ban in a store from open.
func newPollFixture(t *testing.T, open Factory) *PollFixture {
	t.Helper()
	clock := NewClock()
	return NewPollFixture(t, open(t, clock.Now), clock)
}

// Open opens a poll of the whole Ban, due in an hour.
func (f *PollFixture) Open(t testing.TB, rule bq.DecisionRule) *bq.Poll {
	t.Helper()
	p := &bq.Poll{BodyID: f.Ban.ID, GroupID: f.Ban.ID, Kind: bq.KindVote, Title: "Thông qua báo cáo thẩm tra", Question: "Đồng ý?",
		Rule: rule, Deadline: f.Clock.Now().Add(time.Hour)}
	p.Normalize()
	out, err := f.Store.CreatePoll(context.Background(), Audit, p, bq.RequestKey{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Vote records person's choice of one option, by its text, as sent over Zalo.
func (f *PollFixture) Vote(t testing.TB, poll *bq.Poll, person int64, option string) error {
	t.Helper()
	_, err := f.Store.RecordVote(context.Background(), Audit, store.VoteRequest{PollID: poll.ID, PersonID: person, Options: []string{option}, Source: bq.SourceZalo})
	return err
}

func testPollFreezesItsElectorate(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfAll)
	if p.Eligible != 7 || p.ElectorateHash != bq.ElectorateHash(f.Members) {
		t.Fatalf("eligible %d, hash %s", p.Eligible, p.ElectorateHash)
	}
	late := MustPerson(t, f.Store, "Đại biểu mới", true, 50)
	if _, err := f.Store.AddGroupMember(ctx, Audit, f.Ban.ID, late.ID, ""); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.Vote(t, p, late.ID, "Tán thành"), bq.CodeFailedPrecondition)
	wantCode(t, f.Vote(t, p, f.Staff, "Tán thành"), bq.CodeFailedPrecondition) // staff never vote
	if err := f.Vote(t, p, f.Members[3], "tán THÀNH"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.Vote(t, p, f.Members[3], "Đồng ý"), bq.CodeInvalid)
	_, voters, err := f.Store.GetPoll(ctx, p.ID)
	if err != nil || len(voters) != 7 {
		t.Fatalf("electorate %v, %v", voters, err)
	}
	// A poll opened now takes the new member in.
	if p2 := f.Open(t, bq.RuleMajorityOfAll); p2.Eligible != 8 {
		t.Fatalf("second poll eligible %d", p2.Eligible)
	}
}

func testCreatePollRetryReturnsTheSamePollOnlyToItsOpener(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := &bq.Poll{BodyID: f.Ban.ID, GroupID: f.Ban.ID, Kind: bq.KindVote, Title: "Thông qua", Question: "Đồng ý?", Rule: bq.RuleMajorityOfAll, Deadline: f.Clock.Now().Add(time.Hour)}
	p.Normalize()
	key := bq.RequestKey{ID: "poll-1", Fingerprint: "f"}
	first, err := f.Store.CreatePoll(ctx, Audit, p, key)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.Store.CreatePoll(ctx, Audit, p, key)
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	other := Audit
	other.Actor = "people/5"
	out, err := f.Store.CreatePoll(ctx, other, p, key)
	wantCode(t, err, bq.CodeAlreadyExists)
	if out != nil {
		t.Fatal("another caller saw the poll")
	}
	if polls, _ := f.Store.ListPolls(ctx, store.PollFilter{Limit: 10}); len(polls) != 1 {
		t.Fatalf("%d polls, want 1", len(polls))
	}
}

func testVenueFollowsArticle7(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	all, err := f.Store.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Đại biểu khóa X", Kind: bq.KindAllDelegates, LeaderID: f.Members[0]})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := f.Store.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Thường trực khóa X", Kind: bq.KindStandingCommittee, LeaderID: f.Members[0]})
	if err != nil {
		t.Fatal(err)
	}
	try := func(body, group int64) error {
		p := &bq.Poll{BodyID: body, GroupID: group, Kind: bq.KindVote, Title: "x", Question: "y", Rule: bq.RuleMajorityOfAll, Deadline: f.Clock.Now().Add(time.Hour)}
		p.Normalize()
		_, err := f.Store.CreatePoll(ctx, Audit, p, bq.RequestKey{})
		return err
	}
	wantCode(t, try(all.ID, all.ID), bq.CodeFailedPrecondition)   // all delegates is not a body
	wantCode(t, try(f.Ban.ID, all.ID), bq.CodeFailedPrecondition) // a Ban polls its own group only
	wantCode(t, try(f.Ban.ID, tc.ID), bq.CodeFailedPrecondition)  // nor another body's
	if err := try(tc.ID, all.ID); err != nil {                    // the Standing Committee may poll everyone
		t.Fatal(err)
	}
	if err := try(tc.ID, tc.ID); err != nil {
		t.Fatal(err)
	}
}

func testVoteChangesAndWithdrawalsKeepHistory(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfAll)
	d := f.Members[2]
	for _, o := range []string{"Tán thành", "Không tán thành"} {
		if err := f.Vote(t, p, d, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Store.RecordVote(ctx, Audit, store.VoteRequest{PollID: p.ID, PersonID: d, Withdraw: true, Source: bq.SourceOther, Note: "gọi điện"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.Store.RecordVote(ctx, Audit, store.VoteRequest{PollID: p.ID, PersonID: d, Withdraw: true, Source: bq.SourceZalo})
	wantCode(t, err, bq.CodeFailedPrecondition) // nothing left to withdraw
	if err := f.Vote(t, p, f.Members[4], "Tán thành"); err != nil {
		t.Fatal(err)
	}
	hist, err := f.Store.ListVoteHistory(ctx, p.ID, d)
	if err != nil || len(hist) != 3 || hist[0].Options[0] != 0 || hist[1].Options[0] != 1 || !hist[2].Withdrawn() || hist[2].Note != "gọi điện" {
		t.Fatalf("history %+v, %v", hist, err)
	}
	tl, err := f.Store.GetTally(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tl.Counts[0] != 1 || tl.Counts[1] != 0 || tl.Voted != 1 || len(tl.Missing) != 6 || tl.Required != 4 || tl.Outcome != bq.OutcomePending {
		t.Fatalf("tally %+v", tl)
	}
	current, err := f.Store.ListVotes(ctx, p.ID, 0, 100)
	if err != nil || len(current) != 1 || current[0].PersonID != f.Members[4] {
		t.Fatalf("current votes %+v, %v", current, err)
	}
}

func testStateChangesOnlyByTheRules(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfAll)
	for _, d := range f.Members[:4] {
		if err := f.Vote(t, p, d, "Tán thành"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Store.ClosePoll(ctx, Audit, p.ID, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	_, err := f.Store.ClosePoll(ctx, Audit, p.ID, bq.RequestKey{})
	wantCode(t, err, bq.CodeFailedPrecondition)
	wantCode(t, f.Vote(t, p, f.Members[5], "Tán thành"), bq.CodeFailedPrecondition)
	tl, _ := f.Store.GetTally(ctx, p.ID)
	if tl.Outcome != bq.OutcomePassed || tl.Required != 4 {
		t.Fatalf("4 of 7 in favour: %s (need %d)", tl.Outcome, tl.Required)
	}
	c, err := f.Store.CancelPoll(ctx, Audit, p.ID, "nhập nhầm", bq.RequestKey{})
	if err != nil || c.State != bq.StateCancelled || c.CancelReason != "nhập nhầm" {
		t.Fatalf("cancel a closed poll: %+v, %v", c, err)
	}
	_, err = f.Store.CancelPoll(ctx, Audit, p.ID, "again", bq.RequestKey{})
	wantCode(t, err, bq.CodeFailedPrecondition)
	if tl, _ := f.Store.GetTally(ctx, p.ID); tl.Outcome != bq.OutcomeNotApplicable {
		t.Fatalf("cancelled outcome %s", tl.Outcome)
	}
}

func testDeadlineClosesThePoll(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfAll)
	if next, ok, err := f.Store.NextDeadline(ctx); err != nil || !ok || !next.Equal(p.Deadline) {
		t.Fatalf("next deadline %v %v %v", next, ok, err)
	}
	f.Clock.Advance(time.Hour)
	// Past the deadline a vote is refused even before the scheduler has run.
	wantCode(t, f.Vote(t, p, f.Members[1], "Tán thành"), bq.CodeFailedPrecondition)
	closed, err := f.Store.CloseDuePolls(ctx, bq.Audit{Actor: "system:scheduler"})
	if err != nil || len(closed) != 1 || closed[0] != p.ID {
		t.Fatalf("closed %v, %v", closed, err)
	}
	got, _, _ := f.Store.GetPoll(ctx, p.ID)
	if got.State != bq.StateClosed || !got.CloseTime.Equal(p.Deadline) {
		t.Fatalf("after deadline: %s at %v", got.State, got.CloseTime)
	}
	if _, ok, _ := f.Store.NextDeadline(ctx); ok {
		t.Fatal("no open poll is left")
	}
}

func testConcurrentVotesAreAllCountedOnce(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfCast)
	options := bq.VoteOptions
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for round := 0; round < 20; round++ {
		for i, d := range f.Members {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.Store.RecordVote(ctx, Audit, store.VoteRequest{PollID: p.ID, PersonID: d, Options: []string{options[(round+i)%3]},
					Source: bq.SourceZalo, Key: bq.RequestKey{ID: fmt.Sprintf("r%d-%d", round, d), Fingerprint: "f"}})
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	tl, err := f.Store.GetTally(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for o, n := range tl.Counts {
		sum += n
		if n != len(tl.Choices[o]) {
			t.Errorf("option %d: count %d but %d voters", o, n, len(tl.Choices[o]))
		}
	}
	if sum != 7 || tl.Voted != 7 || len(tl.Missing) != 0 {
		t.Fatalf("after 140 concurrent votes: %+v", tl)
	}
	all, _ := f.Store.ListAuditEvents(ctx, store.AuditFilter{Target: fmt.Sprintf("polls/%d", p.ID), Limit: 1000})
	if len(all) != 141 { // the opening and 140 votes
		t.Errorf("%d events for the poll, want 141", len(all))
	}
	if v := Verify(t, f.Store); !v.OK {
		t.Fatalf("chain after concurrent votes: %+v", v)
	}
	// A retry with a request id already used records nothing new.
	before, _ := f.Store.ListVoteHistory(ctx, p.ID, f.Members[0])
	rec, err := f.Store.RecordVote(ctx, Audit, store.VoteRequest{PollID: p.ID, PersonID: f.Members[0], Options: []string{"Tán thành"}, Source: bq.SourceZalo, Key: bq.RequestKey{ID: "r0-1", Fingerprint: "f"}})
	after, _ := f.Store.ListVoteHistory(ctx, p.ID, f.Members[0])
	var first int64
	for _, r := range before {
		if r.RequestID == "r0-1" {
			first = r.ID
		}
	}
	if err != nil || len(after) != len(before) || rec.ID != first {
		t.Fatalf("retry: %+v, %v (%d → %d records)", rec, err, len(before), len(after))
	}
}

func testImportVotesIsAllOrNothing(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfAll)
	if err := f.Vote(t, p, f.Members[0], "Tán thành"); err != nil {
		t.Fatal(err)
	}
	bad := []store.VoteEntry{{PersonID: f.Members[1], Options: []int{0}}, {PersonID: f.Staff, Options: []int{1}}}
	_, _, err := f.Store.ImportVotes(ctx, Audit, p.ID, bad, bq.SourceZalo, false, bq.RequestKey{})
	wantCode(t, err, bq.CodeFailedPrecondition)
	if tl, _ := f.Store.GetTally(ctx, p.ID); tl.Voted != 1 {
		t.Fatalf("a refused import recorded votes: %+v", tl)
	}
	good := []store.VoteEntry{{PersonID: f.Members[0], Options: []int{0}}, {PersonID: f.Members[1], Options: []int{1}}, {PersonID: f.Members[2], Options: []int{2}}}
	recs, unchanged, err := f.Store.ImportVotes(ctx, Audit, p.ID, good, bq.SourceZalo, true, bq.RequestKey{})
	if err != nil || len(recs) != 2 || unchanged != 1 {
		t.Fatalf("dry run: %d records, %d unchanged, %v", len(recs), unchanged, err)
	}
	if tl, _ := f.Store.GetTally(ctx, p.ID); tl.Voted != 1 {
		t.Fatal("a dry run recorded votes")
	}
	if _, _, err := f.Store.ImportVotes(ctx, Audit, p.ID, good, bq.SourceZalo, false, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	if tl, _ := f.Store.GetTally(ctx, p.ID); tl.Voted != 3 || tl.Counts[0] != 1 || tl.Counts[1] != 1 || tl.Counts[2] != 1 {
		t.Fatalf("after import: %+v", tl)
	}
	// Once closed, even a list that would change nothing is refused, not "unchanged".
	if _, err := f.Store.ClosePoll(ctx, Audit, p.ID, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.Store.ImportVotes(ctx, Audit, p.ID, good, bq.SourceZalo, false, bq.RequestKey{})
	wantCode(t, err, bq.CodeFailedPrecondition)
}
