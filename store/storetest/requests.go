package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// A request id names one request of one caller (AIP-155): sent again, the same request
// gets the first answer and changes nothing; anything else reusing the id is refused and
// changes nothing either.
func testRequestIDsAreRetriesOfOneRequestOnly(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfAll)
	other := Audit
	other.Actor = "people/3"
	vote := func(a bq.Audit, option string, key bq.RequestKey) (*bq.VoteRecord, error) {
		return f.Store.RecordVote(ctx, a, store.VoteRequest{PollID: p.ID, PersonID: f.Members[1], Options: []string{option}, Source: bq.SourceZalo, Key: key})
	}
	key := bq.RequestKey{ID: "vote-1", Fingerprint: "tan-thanh"}
	first, err := vote(Audit, "Tán thành", key)
	if err != nil {
		t.Fatal(err)
	}
	again, err := vote(Audit, "Tán thành", key)
	if err != nil || again.ID != first.ID || strings.Join(again.Choice, "") != "Tán thành" {
		t.Fatalf("retry: %+v, %v; want record %d", again, err, first.ID)
	}
	// The defect this guards against: another choice under a used id answered OK with
	// the first record and dropped the new choice.
	changed := bq.RequestKey{ID: "vote-1", Fingerprint: "khong-tan-thanh"}
	if rec, err := vote(Audit, "Không tán thành", changed); bq.ErrorCode(err) != bq.CodeAlreadyExists || rec != nil {
		t.Errorf("another choice under a used id: %+v, %v; want already_exists", rec, err)
	}
	if rec, err := vote(other, "Tán thành", key); bq.ErrorCode(err) != bq.CodeAlreadyExists || rec != nil {
		t.Errorf("another caller under a used id: %+v, %v; want already_exists", rec, err)
	}
	// An id is one request, whatever the method.
	if _, err := f.Store.ClosePoll(ctx, Audit, p.ID, key); bq.ErrorCode(err) != bq.CodeAlreadyExists {
		t.Errorf("a vote's id reused to close: %v", err)
	}
	if h, _ := f.Store.ListVoteHistory(ctx, p.ID, f.Members[1]); len(h) != 1 {
		t.Errorf("%d records, want 1", len(h))
	}

	imp := bq.RequestKey{ID: "import-1", Fingerprint: "list"}
	entries := []store.VoteEntry{{PersonID: f.Members[2], Options: []int{0}}, {PersonID: f.Members[3], Options: []int{1}}}
	recs, _, err := f.Store.ImportVotes(ctx, Audit, p.ID, entries, bq.SourceZalo, false, imp)
	if err != nil || len(recs) != 2 {
		t.Fatalf("import: %d records, %v", len(recs), err)
	}
	replay, unchanged, err := f.Store.ImportVotes(ctx, Audit, p.ID, entries, bq.SourceZalo, false, imp)
	if err != nil || len(replay) != 2 || replay[0].ID != recs[0].ID || unchanged != 0 {
		t.Errorf("import retry: %d records (first %v), %d unchanged, %v; want the first answer", len(replay), replay, unchanged, err)
	}
	if _, _, err := f.Store.ImportVotes(ctx, Audit, p.ID, entries[:1], bq.SourceZalo, false, bq.RequestKey{ID: "import-1", Fingerprint: "other list"}); bq.ErrorCode(err) != bq.CodeAlreadyExists {
		t.Errorf("another list under a used id: %v", err)
	}

	closeKey := bq.RequestKey{ID: "close-1", Fingerprint: "c"}
	closed, err := f.Store.ClosePoll(ctx, Audit, p.ID, closeKey)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := f.Store.ClosePoll(ctx, Audit, p.ID, closeKey); err != nil || again.State != bq.StateClosed || again.ID != closed.ID {
		t.Errorf("close retry: %+v, %v; want the closed poll, no error", again, err)
	}
	cancelKey := bq.RequestKey{ID: "cancel-1", Fingerprint: "c"}
	if _, err := f.Store.CancelPoll(ctx, Audit, p.ID, "nhầm", cancelKey); err != nil {
		t.Fatal(err)
	}
	if again, err := f.Store.CancelPoll(ctx, Audit, p.ID, "nhầm", cancelKey); err != nil || again.State != bq.StateCancelled {
		t.Errorf("cancel retry: %+v, %v", again, err)
	}
	events, _ := f.Store.ListAuditEvents(ctx, store.AuditFilter{Target: bq.PollName(p.ID), Limit: 100})
	if len(events) != 6 { // open, a vote, two imported votes, close, cancel
		t.Errorf("%d events for the poll, want 6: retries must append none", len(events))
	}

	tokKey := bq.RequestKey{ID: "token-1", Fingerprint: "t"}
	tok := &bq.Token{Name: "thư ký", Role: bq.TokenSecretariat, Hash: [32]byte{1}, ExpireTime: f.Clock.Now().Add(24 * time.Hour)}
	first1, err := f.Store.CreateToken(ctx, Audit, tok, tokKey)
	if err != nil {
		t.Fatal(err)
	}
	retry := *tok
	retry.Hash = [32]byte{2}
	second, err := f.Store.CreateToken(ctx, Audit, &retry, tokKey)
	if err != nil || second.ID != first1.ID {
		t.Fatalf("token retry: %+v, %v; want the same token", second, err)
	}
	if _, err := f.Store.Authenticate(ctx, [32]byte{2}); err != nil {
		t.Errorf("the retry's secret does not work: %v", err)
	}
	if _, err := f.Store.Authenticate(ctx, [32]byte{1}); err == nil {
		t.Error("the first secret, never received, still works")
	}
	if toks, _ := f.Store.ListTokens(ctx, store.TokenFilter{Limit: 100}); len(toks) != 1 {
		t.Errorf("%d tokens, want 1", len(toks))
	}
}

// A delegate deactivated while a poll is open stays in its frozen electorate: the vote
// they cast before counts, no new one is taken, and the tally marks them.
func testDeactivatedDelegateKeepsTheirVoteButCastsNoNewOne(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfAll)
	voted, silent := f.Members[1], f.Members[2]
	if err := f.Vote(t, p, voted, "Tán thành"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{voted, silent} {
		if _, err := f.Store.DeactivatePerson(ctx, Audit, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []int64{voted, silent} {
		err := f.Vote(t, p, id, "Không tán thành")
		if bq.ErrorCode(err) != bq.CodeFailedPrecondition || !strings.Contains(err.Error(), "was deactivated") {
			t.Errorf("vote of deactivated people/%d: %v; want failed_precondition", id, err)
		}
	}
	tl, err := f.Store.GetTally(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if tl.Counts[0] != 1 || tl.Voted != 1 || tl.Poll.Eligible != 7 || tl.Poll.ElectorateHash != bq.ElectorateHash(f.Members) {
		t.Errorf("tally: counts %v, voted %d, eligible %d: the electorate must stay frozen", tl.Counts, tl.Voted, tl.Poll.Eligible)
	}
	if len(tl.Choices[0]) != 1 || !tl.Choices[0][0].Deactivated {
		t.Errorf("the counted vote of a deactivated delegate is not marked: %+v", tl.Choices[0])
	}
	for _, m := range tl.Missing {
		if m.Deactivated != (m.PersonID == silent) {
			t.Errorf("missing %+v: deactivated mark wrong", m)
		}
	}
	_, voters, _ := f.Store.GetPoll(ctx, p.ID)
	if len(voters) != 7 {
		t.Errorf("electorate has %d voters, want 7", len(voters))
	}
}

// Staff are told they never vote, not that they missed the electorate.
func testStaffNeverVote(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	p := f.Open(t, bq.RuleMajorityOfAll)
	err := f.Vote(t, p, f.Staff, "Tán thành")
	if bq.ErrorCode(err) != bq.CodeFailedPrecondition || !strings.Contains(err.Error(), "Chuyên viên (people/8) is staff, not a delegate: staff never vote") {
		t.Errorf("vote of staff: %v", err)
	}
}

// A poll opened with a request id is returned to a retry of that request even once its
// deadline has passed: the retry must not be refused for a deadline "in the past".
func testRetryAfterTheDeadlineReturnsThePoll(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p := &bq.Poll{BodyID: f.Ban.ID, GroupID: f.Ban.ID, Kind: bq.KindVote, Title: "Thông qua", Question: "Đồng ý?",
		Rule: bq.RuleMajorityOfAll, Deadline: f.Clock.Now().Add(time.Hour)}
	p.Normalize()
	key := bq.RequestKey{ID: "open-late", Fingerprint: "f"}
	first, err := f.Store.CreatePoll(ctx, Audit, p, key)
	if err != nil {
		t.Fatal(err)
	}
	f.Clock.Advance(2 * time.Hour)
	again, err := f.Store.CreatePoll(ctx, Audit, p, key)
	if err != nil || again.ID != first.ID {
		t.Fatalf("retry after the deadline: %+v, %v; want polls/%d", again, err, first.ID)
	}
	if _, err := f.Store.CreatePoll(ctx, Audit, p, bq.RequestKey{}); bq.ErrorCode(err) != bq.CodeInvalid {
		t.Errorf("a new poll with a past deadline: %v; want invalid", err)
	}
}
