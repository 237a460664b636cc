package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// pollFixture is a Ban of seven delegates (one the leader) and one staff member.
type pollFixture struct {
	s       *Store
	clock   *testClock
	ban     *bq.Group
	members []int64 // the seven delegates, leader first
	staff   int64
}

func newPollFixture(t testing.TB) *pollFixture {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "polls.db"), Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &pollFixture{s: s, clock: clock}
	for i := 1; i <= 7; i++ {
		f.members = append(f.members, mustPerson(t, s, fmt.Sprintf("Đại biểu %d", i), true, i).ID)
	}
	f.staff = mustPerson(t, s, "Chuyên viên", false, 99).ID
	ctx := context.Background()
	if f.ban, err = s.CreateGroup(ctx, testAudit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: f.members[0]}); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(f.members[1:], f.staff) {
		if _, err := s.AddGroupMember(ctx, testAudit, f.ban.ID, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *pollFixture) open(t testing.TB, rule bq.DecisionRule) *bq.Poll {
	t.Helper()
	p := &bq.Poll{BodyID: f.ban.ID, GroupID: f.ban.ID, Kind: bq.KindVote, Title: "Thông qua báo cáo thẩm tra", Question: "Đồng ý?",
		Rule: rule, Deadline: f.clock.Now().Add(time.Hour)}
	p.Normalize()
	out, err := f.s.CreatePoll(context.Background(), testAudit, p, "")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *pollFixture) vote(t *testing.T, poll *bq.Poll, person int64, option string) error {
	t.Helper()
	_, err := f.s.RecordVote(context.Background(), testAudit, store.VoteRequest{PollID: poll.ID, PersonID: person, Options: []string{option}, Source: bq.SourceZalo})
	return err
}

func TestPollFreezesItsElectorate(t *testing.T) {
	f := newPollFixture(t)
	ctx := context.Background()
	p := f.open(t, bq.RuleMajorityOfAll)
	if p.Eligible != 7 || p.ElectorateHash != bq.ElectorateHash(f.members) {
		t.Fatalf("eligible %d, hash %s", p.Eligible, p.ElectorateHash)
	}
	late := mustPerson(t, f.s, "Đại biểu mới", true, 50)
	if _, err := f.s.AddGroupMember(ctx, testAudit, f.ban.ID, late.ID, ""); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.vote(t, p, late.ID, "Tán thành"), bq.CodeFailedPrecondition)
	wantCode(t, f.vote(t, p, f.staff, "Tán thành"), bq.CodeFailedPrecondition) // staff never vote
	if err := f.vote(t, p, f.members[3], "tán THÀNH"); err != nil {
		t.Fatal(err)
	}
	wantCode(t, f.vote(t, p, f.members[3], "Đồng ý"), bq.CodeInvalid)
	_, voters, err := f.s.GetPoll(ctx, p.ID)
	if err != nil || len(voters) != 7 {
		t.Fatalf("electorate %v, %v", voters, err)
	}
	// A poll opened now takes the new member in.
	if p2 := f.open(t, bq.RuleMajorityOfAll); p2.Eligible != 8 {
		t.Fatalf("second poll eligible %d", p2.Eligible)
	}
}

func TestCreatePollRetryReturnsTheSamePollOnlyToItsOpener(t *testing.T) {
	f := newPollFixture(t)
	ctx := context.Background()
	p := &bq.Poll{BodyID: f.ban.ID, GroupID: f.ban.ID, Kind: bq.KindVote, Title: "Thông qua", Question: "Đồng ý?", Rule: bq.RuleMajorityOfAll, Deadline: f.clock.Now().Add(time.Hour)}
	p.Normalize()
	first, err := f.s.CreatePoll(ctx, testAudit, p, "poll-1")
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.s.CreatePoll(ctx, testAudit, p, "poll-1")
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry: %+v, %v", again, err)
	}
	other := testAudit
	other.Actor = "people/5"
	out, err := f.s.CreatePoll(ctx, other, p, "poll-1")
	wantCode(t, err, bq.CodeAlreadyExists)
	if out != nil {
		t.Fatal("another caller saw the poll")
	}
	if polls, _ := f.s.ListPolls(ctx, store.PollFilter{Limit: 10}); len(polls) != 1 {
		t.Fatalf("%d polls, want 1", len(polls))
	}
}

func TestVenueFollowsArticle7(t *testing.T) {
	f := newPollFixture(t)
	ctx := context.Background()
	all, err := f.s.CreateGroup(ctx, testAudit, &bq.Group{DisplayName: "HĐND - Đại biểu khóa X", Kind: bq.KindAllDelegates, LeaderID: f.members[0]})
	if err != nil {
		t.Fatal(err)
	}
	tc, err := f.s.CreateGroup(ctx, testAudit, &bq.Group{DisplayName: "HĐND - Thường trực khóa X", Kind: bq.KindStandingCommittee, LeaderID: f.members[0]})
	if err != nil {
		t.Fatal(err)
	}
	try := func(body, group int64) error {
		p := &bq.Poll{BodyID: body, GroupID: group, Kind: bq.KindVote, Title: "x", Question: "y", Rule: bq.RuleMajorityOfAll, Deadline: f.clock.Now().Add(time.Hour)}
		p.Normalize()
		_, err := f.s.CreatePoll(ctx, testAudit, p, "")
		return err
	}
	wantCode(t, try(all.ID, all.ID), bq.CodeFailedPrecondition)   // all delegates is not a body
	wantCode(t, try(f.ban.ID, all.ID), bq.CodeFailedPrecondition) // a Ban polls its own group only
	wantCode(t, try(f.ban.ID, tc.ID), bq.CodeFailedPrecondition)  // nor another body's
	if err := try(tc.ID, all.ID); err != nil {                    // the Standing Committee may poll everyone
		t.Fatal(err)
	}
	if err := try(tc.ID, tc.ID); err != nil {
		t.Fatal(err)
	}
}

func TestVoteChangesAndWithdrawalsKeepHistory(t *testing.T) {
	f := newPollFixture(t)
	ctx := context.Background()
	p := f.open(t, bq.RuleMajorityOfAll)
	d := f.members[2]
	for _, o := range []string{"Tán thành", "Không tán thành"} {
		if err := f.vote(t, p, d, o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.RecordVote(ctx, testAudit, store.VoteRequest{PollID: p.ID, PersonID: d, Withdraw: true, Source: bq.SourceOther, Note: "gọi điện"}); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.RecordVote(ctx, testAudit, store.VoteRequest{PollID: p.ID, PersonID: d, Withdraw: true, Source: bq.SourceZalo})
	wantCode(t, err, bq.CodeFailedPrecondition) // nothing left to withdraw
	if err := f.vote(t, p, f.members[4], "Tán thành"); err != nil {
		t.Fatal(err)
	}
	hist, err := f.s.ListVoteHistory(ctx, p.ID, d)
	if err != nil || len(hist) != 3 || hist[0].Options[0] != 0 || hist[1].Options[0] != 1 || !hist[2].Withdrawn() || hist[2].Note != "gọi điện" {
		t.Fatalf("history %+v, %v", hist, err)
	}
	tl, err := f.s.GetTally(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tl.Counts[0] != 1 || tl.Counts[1] != 0 || tl.Voted != 1 || len(tl.Missing) != 6 || tl.Required != 4 || tl.Outcome != bq.OutcomePending {
		t.Fatalf("tally %+v", tl)
	}
	current, err := f.s.ListVotes(ctx, p.ID, 0, 100)
	if err != nil || len(current) != 1 || current[0].PersonID != f.members[4] {
		t.Fatalf("current votes %+v, %v", current, err)
	}
}

func TestStateChangesOnlyByTheRules(t *testing.T) {
	f := newPollFixture(t)
	ctx := context.Background()
	p := f.open(t, bq.RuleMajorityOfAll)
	for _, d := range f.members[:4] {
		if err := f.vote(t, p, d, "Tán thành"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.s.ClosePoll(ctx, testAudit, p.ID); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.ClosePoll(ctx, testAudit, p.ID)
	wantCode(t, err, bq.CodeFailedPrecondition)
	wantCode(t, f.vote(t, p, f.members[5], "Tán thành"), bq.CodeFailedPrecondition)
	tl, _ := f.s.GetTally(ctx, p.ID)
	if tl.Outcome != bq.OutcomePassed || tl.Required != 4 {
		t.Fatalf("4 of 7 in favour: %s (need %d)", tl.Outcome, tl.Required)
	}
	c, err := f.s.CancelPoll(ctx, testAudit, p.ID, "nhập nhầm")
	if err != nil || c.State != bq.StateCancelled || c.CancelReason != "nhập nhầm" {
		t.Fatalf("cancel a closed poll: %+v, %v", c, err)
	}
	_, err = f.s.CancelPoll(ctx, testAudit, p.ID, "again")
	wantCode(t, err, bq.CodeFailedPrecondition)
	if tl, _ := f.s.GetTally(ctx, p.ID); tl.Outcome != bq.OutcomeNotApplicable {
		t.Fatalf("cancelled outcome %s", tl.Outcome)
	}
}

func TestDeadlineClosesThePoll(t *testing.T) {
	f := newPollFixture(t)
	ctx := context.Background()
	p := f.open(t, bq.RuleMajorityOfAll)
	if next, ok, err := f.s.NextDeadline(ctx); err != nil || !ok || !next.Equal(p.Deadline) {
		t.Fatalf("next deadline %v %v %v", next, ok, err)
	}
	f.clock.Advance(time.Hour)
	// Past the deadline a vote is refused even before the scheduler has run.
	wantCode(t, f.vote(t, p, f.members[1], "Tán thành"), bq.CodeFailedPrecondition)
	closed, err := f.s.CloseDuePolls(ctx, bq.Audit{Actor: "system:scheduler"})
	if err != nil || len(closed) != 1 || closed[0] != p.ID {
		t.Fatalf("closed %v, %v", closed, err)
	}
	got, _, _ := f.s.GetPoll(ctx, p.ID)
	if got.State != bq.StateClosed || !got.CloseTime.Equal(p.Deadline) {
		t.Fatalf("after deadline: %s at %v", got.State, got.CloseTime)
	}
	if _, ok, _ := f.s.NextDeadline(ctx); ok {
		t.Fatal("no open poll is left")
	}
}

func TestConcurrentVotesAreAllCountedOnce(t *testing.T) {
	f := newPollFixture(t)
	ctx := context.Background()
	p := f.open(t, bq.RuleMajorityOfCast)
	options := bq.VoteOptions
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for round := 0; round < 20; round++ {
		for i, d := range f.members {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.s.RecordVote(ctx, testAudit, store.VoteRequest{PollID: p.ID, PersonID: d, Options: []string{options[(round+i)%3]},
					Source: bq.SourceZalo, RequestID: fmt.Sprintf("r%d-%d", round, d)})
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
	tl, err := f.s.GetTally(ctx, p.ID)
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
	all, _ := f.s.ListAuditEvents(ctx, store.AuditFilter{Target: fmt.Sprintf("polls/%d", p.ID), Limit: 1000})
	if len(all) != 141 { // the opening and 140 votes
		t.Errorf("%d events for the poll, want 141", len(all))
	}
	if v := verify(t, f.s); !v.OK {
		t.Fatalf("chain after concurrent votes: %+v", v)
	}
	// A retry with a request id already used records nothing new.
	before, _ := f.s.ListVoteHistory(ctx, p.ID, f.members[0])
	rec, err := f.s.RecordVote(ctx, testAudit, store.VoteRequest{PollID: p.ID, PersonID: f.members[0], Options: []string{"Tán thành"}, Source: bq.SourceZalo, RequestID: "r0-1"})
	after, _ := f.s.ListVoteHistory(ctx, p.ID, f.members[0])
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

func TestImportVotesIsAllOrNothing(t *testing.T) {
	f := newPollFixture(t)
	ctx := context.Background()
	p := f.open(t, bq.RuleMajorityOfAll)
	if err := f.vote(t, p, f.members[0], "Tán thành"); err != nil {
		t.Fatal(err)
	}
	bad := []store.VoteEntry{{PersonID: f.members[1], Options: []int{0}}, {PersonID: f.staff, Options: []int{1}}}
	_, _, err := f.s.ImportVotes(ctx, testAudit, p.ID, bad, bq.SourceZalo, false)
	wantCode(t, err, bq.CodeFailedPrecondition)
	if tl, _ := f.s.GetTally(ctx, p.ID); tl.Voted != 1 {
		t.Fatalf("a refused import recorded votes: %+v", tl)
	}
	good := []store.VoteEntry{{PersonID: f.members[0], Options: []int{0}}, {PersonID: f.members[1], Options: []int{1}}, {PersonID: f.members[2], Options: []int{2}}}
	recs, unchanged, err := f.s.ImportVotes(ctx, testAudit, p.ID, good, bq.SourceZalo, true)
	if err != nil || len(recs) != 2 || unchanged != 1 {
		t.Fatalf("dry run: %d records, %d unchanged, %v", len(recs), unchanged, err)
	}
	if tl, _ := f.s.GetTally(ctx, p.ID); tl.Voted != 1 {
		t.Fatal("a dry run recorded votes")
	}
	if _, _, err := f.s.ImportVotes(ctx, testAudit, p.ID, good, bq.SourceZalo, false); err != nil {
		t.Fatal(err)
	}
	if tl, _ := f.s.GetTally(ctx, p.ID); tl.Voted != 3 || tl.Counts[0] != 1 || tl.Counts[1] != 1 || tl.Counts[2] != 1 {
		t.Fatalf("after import: %+v", tl)
	}
	// Once closed, even a list that would change nothing is refused, not "unchanged".
	if _, err := f.s.ClosePoll(ctx, testAudit, p.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.s.ImportVotes(ctx, testAudit, p.ID, good, bq.SourceZalo, false)
	wantCode(t, err, bq.CodeFailedPrecondition)
}

// The vote path must cost what a poll's size costs, whatever the database holds: each of
// its lookups must use an index, never scan a table. SQLite uses a partial index only
// when the query implies the index's condition, which is easy to lose in an edit.
func TestVotePathUsesIndexes(t *testing.T) {
	f := newPollFixture(t)
	for _, q := range []string{
		voteSelect + `WHERE v.request_id = 'x' AND v.request_id <> ''`,
		`SELECT id FROM polls WHERE request_id = 'x' AND request_id <> ''`,
		`SELECT state, options, multiple_choice, deadline FROM polls WHERE id = 1`,
		`SELECT full_name FROM poll_electorate WHERE poll_id = 1 AND person_id = 1`,
		`SELECT options FROM ballots WHERE poll_id = 1 AND person_id = 1`,
		`UPDATE poll_counts SET count = count + 1 WHERE poll_id = 1 AND option = 0`,
		`SELECT seq, hash FROM audit_head WHERE id = 1`,
		strings.Replace(duePolls, "?", "0", 1),
		`SELECT min(deadline) FROM polls WHERE state = 'open'`,
	} {
		rows, err := f.s.read.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") {
				t.Errorf("%s\n  scans a table: %v", q, plan)
			}
		}
	}
}
