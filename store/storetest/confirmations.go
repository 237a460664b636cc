package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// fakeDocuments stands for a renderer: one distinct document per planned confirmation.
func fakeDocuments(plan *store.ConfirmationPlan) [][]byte {
	docs := make([][]byte, len(plan.Confirmations))
	for i, c := range plan.Confirmations {
		docs[i] = []byte(fmt.Sprintf("%%PDF-1.4 %s %s %v %s", c.Name(), bq.PersonName(c.PersonID), c.Options, c.IssueTime.Format(time.RFC3339Nano)))
	}
	return docs
}

// closedBanPoll opens a poll in the Ban, records the votes of the brief (one withdrawn,
// one changed, three never cast) and closes it. It returns the delegates with a current
// choice, in person order, and their options.
func closedBanPoll(t *testing.T, f *PollFixture) (*bq.Poll, []int64, [][]int) {
	t.Helper()
	ctx := context.Background()
	p := f.Open(t, bq.RuleMajorityOfAll)
	m := f.Members
	for _, v := range []struct {
		who    int64
		option string
	}{{m[0], "Tán thành"}, {m[1], "Không tán thành"}, {m[2], "Tán thành"}, {m[3], "Tán thành"}, {m[3], "Không biểu quyết"}} {
		if err := f.Vote(t, p, v.who, v.option); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.Store.RecordVote(ctx, Audit, store.VoteRequest{PollID: p.ID, PersonID: m[2], Withdraw: true, Source: bq.SourceZalo}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.ClosePoll(ctx, Audit, p.ID, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	return p, []int64{m[0], m[1], m[3]}, [][]int{{0}, {1}, {2}}
}

func testConfirmationsAreIssuedOncePerVoter(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	open1 := f.Open(t, bq.RuleMajorityOfAll)
	_, err := f.Store.PlanConfirmations(ctx, open1.ID, time.Time{})
	wantCode(t, err, bq.CodeFailedPrecondition) // only a closed poll
	_, err = f.Store.PlanConfirmations(ctx, 999, time.Time{})
	wantCode(t, err, bq.CodeNotFound)

	p, voters, options := closedBanPoll(t, f)
	_, err = f.Store.PlanConfirmations(ctx, p.ID, f.Clock.Now().Add(-time.Minute))
	wantCode(t, err, bq.CodeInvalid) // a deadline that has passed

	f.Clock.Advance(time.Hour)
	plan, err := f.Store.PlanConfirmations(ctx, p.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	issue := f.Clock.Now()
	if plan.Issued || !plan.IssueTime.Equal(issue) || !plan.Deadline.Equal(issue.Add(bq.DefaultConfirmationPeriod)) || len(plan.Confirmations) != len(voters) {
		t.Fatalf("plan: issued %v, issue %v, deadline %v, %d confirmations", plan.Issued, plan.IssueTime, plan.Deadline, len(plan.Confirmations))
	}
	for i, c := range plan.Confirmations {
		if c.ID != int64(i+1) || c.PollID != p.ID || c.PersonID != voters[i] || fmt.Sprint(c.Options) != fmt.Sprint(options[i]) ||
			c.VoteID == 0 || c.FullName == "" || c.Status != bq.StatusAwaitingSignature || c.SHA256 != "" {
			t.Fatalf("planned confirmation %d: %+v", i, c)
		}
	}
	docs := fakeDocuments(plan)
	f.Clock.Advance(time.Second) // the commit may come after the plan: the plan's time stands
	key := bq.RequestKey{ID: "confirm-1", Fingerprint: "f"}
	poll, issued, err := f.Store.IssueConfirmations(ctx, Audit, plan, docs, key)
	if err != nil {
		t.Fatal(err)
	}
	if poll.State != bq.StateConfirming || !poll.ConfirmationDeadline.Equal(plan.Deadline) || len(issued) != len(voters) {
		t.Fatalf("issued: poll %s, deadline %v, %d confirmations", poll.State, poll.ConfirmationDeadline, len(issued))
	}
	for i, c := range issued {
		sum := sha256.Sum256(docs[i])
		if c.SHA256 != hex.EncodeToString(sum[:]) || c.Size != int64(len(docs[i])) || !c.IssueTime.Equal(issue) {
			t.Fatalf("confirmation %d: %+v", i, c)
		}
		got, doc, err := f.Store.ConfirmationDocument(ctx, p.ID, c.ID)
		if err != nil || !bytes.Equal(doc, docs[i]) || got.SHA256 != c.SHA256 || got.FullName != c.FullName || !got.VoteTime.Equal(c.VoteTime) {
			t.Fatalf("document of %s: %+v, %d bytes, %v", c.Name(), got, len(doc), err)
		}
	}
	if got, _, _ := f.Store.GetPoll(ctx, p.ID); got.State != bq.StateConfirming {
		t.Fatalf("stored poll is %s", got.State)
	}

	// Again: the same confirmations, never new ones, never other bytes.
	again, err := f.Store.PlanConfirmations(ctx, p.ID, time.Time{})
	if err != nil || !again.Issued || len(again.Confirmations) != len(issued) || again.Confirmations[0].SHA256 != issued[0].SHA256 {
		t.Fatalf("plan of an issued poll: %+v, %v", again, err)
	}
	for _, k := range []bq.RequestKey{key, {}, {ID: "confirm-2", Fingerprint: "f"}} {
		_, same, err := f.Store.IssueConfirmations(ctx, Audit, again, nil, k)
		if err != nil || len(same) != len(issued) {
			t.Fatalf("issue again with %v: %d, %v", k, len(same), err)
		}
		for i := range same {
			if same[i].ID != issued[i].ID || same[i].SHA256 != issued[i].SHA256 {
				t.Fatalf("issue again: %+v, want %+v", same[i], issued[i])
			}
		}
	}
	// A stale plan with other documents changes nothing either.
	if _, same, err := f.Store.IssueConfirmations(ctx, Audit, plan, [][]byte{[]byte("x"), []byte("y"), []byte("z")}, bq.RequestKey{}); err != nil || same[0].SHA256 != issued[0].SHA256 {
		t.Fatalf("issue a stale plan: %v", err)
	}
	other := Audit
	other.Actor = "people/5"
	_, _, err = f.Store.IssueConfirmations(ctx, other, again, nil, key)
	wantCode(t, err, bq.CodeAlreadyExists)
	_, err = f.Store.CancelPoll(ctx, Audit, p.ID, "muộn", bq.RequestKey{})
	wantCode(t, err, bq.CodeFailedPrecondition) // issued confirmations are never taken back

	// One event per confirmation, on its own name, and one on the poll.
	for _, c := range issued {
		events, err := f.Store.ListAuditEvents(ctx, store.AuditFilter{Target: c.Name(), Limit: 10})
		if err != nil || len(events) != 1 || events[0].Action != "GenerateConfirmations" {
			t.Fatalf("events of %s: %+v, %v", c.Name(), events, err)
		}
	}
	events, err := f.Store.ListAuditEvents(ctx, store.AuditFilter{Target: bq.PollName(p.ID), Limit: 100})
	if err != nil || events[len(events)-1].Action != "GenerateConfirmations" {
		t.Fatalf("events of the poll: %v", err)
	}
	if v, err := f.Store.VerifyAuditLog(ctx); err != nil || !v.OK {
		t.Fatalf("verify: %+v, %v", v, err)
	}
}

func testConfirmationPlansGoStale(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	a, _, _ := closedBanPoll(t, f)
	b, _, _ := closedBanPoll(t, f)
	c := f.Open(t, bq.RuleMajorityOfAll)
	if err := f.Vote(t, c, f.Members[0], "Tán thành"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store.ClosePoll(ctx, Audit, c.ID, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	planA, err := f.Store.PlanConfirmations(ctx, a.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	planB, err := f.Store.PlanConfirmations(ctx, b.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	planC, err := f.Store.PlanConfirmations(ctx, c.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if planA.Confirmations[0].ID != planB.Confirmations[0].ID {
		t.Fatalf("plans of two polls number from %d and %d", planA.Confirmations[0].ID, planB.Confirmations[0].ID)
	}
	if _, _, err := f.Store.IssueConfirmations(ctx, Audit, planA, fakeDocuments(planA), bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	// B's ids were taken by A: plan again.
	if _, _, err := f.Store.IssueConfirmations(ctx, Audit, planB, fakeDocuments(planB), bq.RequestKey{}); !errors.Is(err, store.ErrStalePlan) {
		t.Fatalf("issue a plan whose ids were taken: %v, want ErrStalePlan", err)
	}
	planB, err = f.Store.PlanConfirmations(ctx, b.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	_, issued, err := f.Store.IssueConfirmations(ctx, Audit, planB, fakeDocuments(planB), bq.RequestKey{})
	if err != nil || issued[0].ID != int64(len(planA.Confirmations))+1 {
		t.Fatalf("issue a new plan: %v", err)
	}
	// C was cancelled since its plan: the domain's refusal, not a stale plan.
	if _, err := f.Store.CancelPoll(ctx, Audit, c.ID, "nhầm", bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.Store.IssueConfirmations(ctx, Audit, planC, fakeDocuments(planC), bq.RequestKey{})
	wantCode(t, err, bq.CodeFailedPrecondition)
	if list, _ := f.Store.ListConfirmations(ctx, store.ConfirmationFilter{PollID: c.ID, Limit: 10}); len(list) != 0 {
		t.Fatalf("a cancelled poll has %d confirmations", len(list))
	}
	if v, err := f.Store.VerifyAuditLog(ctx); err != nil || !v.OK {
		t.Fatalf("verify: %+v, %v", v, err)
	}
}

func testListConfirmationsFiltersAndPages(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, voters, _ := closedBanPoll(t, f)
	plan, err := f.Store.PlanConfirmations(ctx, p.ID, f.Clock.Now().Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Store.IssueConfirmations(ctx, Audit, plan, fakeDocuments(plan), bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	var after int64
	for {
		page, err := f.Store.ListConfirmations(ctx, store.ConfirmationFilter{PollID: p.ID, AfterPerson: after, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			seen = append(seen, c.PersonID)
			if !c.Deadline.Equal(f.Clock.Now().Add(48 * time.Hour)) {
				t.Fatalf("deadline %v", c.Deadline)
			}
		}
		if len(page) < 2 {
			break
		}
		after = page[len(page)-1].PersonID
	}
	if fmt.Sprint(seen) != fmt.Sprint(voters) {
		t.Fatalf("pages give %v, want %v", seen, voters)
	}
	own, err := f.Store.ListConfirmations(ctx, store.ConfirmationFilter{PollID: p.ID, PersonID: voters[1], Limit: 10})
	if err != nil || len(own) != 1 || own[0].PersonID != voters[1] {
		t.Fatalf("own: %+v, %v", own, err)
	}
	for status, want := range map[bq.ConfirmationStatus]int{bq.StatusAwaitingSignature: 3, bq.StatusSigned: 0} {
		list, err := f.Store.ListConfirmations(ctx, store.ConfirmationFilter{PollID: p.ID, Status: status, Limit: 10})
		if err != nil || len(list) != want {
			t.Fatalf("status %s: %d, %v", status, len(list), err)
		}
	}
	_, err = f.Store.ListConfirmations(ctx, store.ConfirmationFilter{PollID: 999, Limit: 10})
	wantCode(t, err, bq.CodeNotFound)
	c := own[0]
	if got, err := f.Store.GetConfirmation(ctx, p.ID, c.ID); err != nil || got.SHA256 != c.SHA256 {
		t.Fatalf("get: %+v, %v", got, err)
	}
	_, err = f.Store.GetConfirmation(ctx, p.ID+1, c.ID) // under another poll's name
	wantCode(t, err, bq.CodeNotFound)
	_, _, err = f.Store.ConfirmationDocument(ctx, p.ID, 999)
	wantCode(t, err, bq.CodeNotFound)
}
