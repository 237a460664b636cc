package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// The life of a confirmation after issue, through ChangeConfirmation, the history it
// keeps and the finalization of its poll.

// confirmDue is how long the suite's delegates have to confirm.
const confirmDue = 48 * time.Hour

// confirmingBanPoll issues the confirmations of closedBanPoll, due in confirmDue: one
// for "Tán thành", one for "Không tán thành", one for "Không biểu quyết", in that order.
func confirmingBanPoll(t *testing.T, f *PollFixture) (*bq.Poll, []bq.Confirmation) {
	t.Helper()
	ctx := context.Background()
	p, _, _ := closedBanPoll(t, f)
	plan, err := f.Store.PlanConfirmations(ctx, p.ID, f.Clock.Now().Add(confirmDue))
	if err != nil {
		t.Fatal(err)
	}
	p, cs, err := f.Store.IssueConfirmations(ctx, Audit, plan, fakeDocuments(plan), bq.RequestKey{})
	if err != nil {
		t.Fatal(err)
	}
	return p, cs
}

// returned is a file that came back, as the server describes it: the content is kept
// only when the file is accepted.
func returned(f *PollFixture, kind bq.FileKind, data string, accepted bool) *bq.ConfirmationFile {
	sum := sha256.Sum256([]byte(data))
	file := &bq.ConfirmationFile{Kind: kind, MediaType: "application/pdf", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		ReceiveTime: f.Clock.Now(), ReceivedBy: Audit.Actor}
	if kind == bq.FileScan {
		file.MediaType = "image/png"
	}
	if accepted {
		file.Content = []byte(data)
	}
	return file
}

// change takes one step of c's life through the store, at the clock's time.
type stepFunc func(now time.Time, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error)

func (f *PollFixture) change(c bq.Confirmation, action string, step stepFunc) (*bq.Confirmation, *bq.Poll, error) {
	return f.Store.ChangeConfirmation(context.Background(), Audit, c.PollID, c.ID, action, bq.RequestKey{},
		func(p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) { return step(f.Clock.Now(), p, c) })
}

func (f *PollFixture) mustChange(t *testing.T, c bq.Confirmation, action string, step stepFunc) (*bq.Confirmation, *bq.Poll) {
	t.Helper()
	after, p, err := f.change(c, action, step)
	if err != nil {
		t.Fatalf("%s of %s: %v", action, c.Name(), err)
	}
	return after, p
}

func sign(file *bq.ConfirmationFile) stepFunc {
	return func(now time.Time, _ *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		return c.Sign(now, Audit.Actor, file)
	}
}

func reject(reason string, file *bq.ConfirmationFile) stepFunc {
	return func(now time.Time, _ *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		return c.Reject(now, Audit.Actor, reason, "the file failed verification: "+reason, file)
	}
}

func paper(written []int, file *bq.ConfirmationFile) stepFunc {
	return func(now time.Time, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		return c.RecordPaper(now, Audit.Actor, written, p, file)
	}
}

func decline(reason string) stepFunc {
	return func(now time.Time, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		return c.Decline(now, Audit.Actor, reason, nil, p)
	}
}

func resolve(note string) stepFunc {
	return func(now time.Time, _ *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		return c.Resolve(now, Audit.Actor, note)
	}
}

// actions lists the actions of the audit events on target, oldest first.
func actions(t *testing.T, s store.Store, target string) []string {
	t.Helper()
	events, err := s.ListAuditEvents(context.Background(), store.AuditFilter{Target: target, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range events {
		out = append(out, e.Action)
	}
	return out
}

func mustVerify(t *testing.T, s store.Store) {
	t.Helper()
	if v := Verify(t, s); !v.OK {
		t.Fatalf("verify: %+v", v)
	}
}

// A step is stored with its file and the new status, appends an audit event on the
// confirmation, and shows in the history, oldest first; the file's content is kept
// for an accepted file only, and read by ConfirmationFile alone.
func testConfirmationStepsAreStoredWithTheirFiles(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, cs := confirmingBanPoll(t, f)
	c := cs[0]

	f.Clock.Advance(time.Hour)
	bad := returned(f, bq.FileSignedPDF, "%PDF-1.7 signed by someone else", false)
	after, poll := f.mustChange(t, c, "SubmitSignedConfirmation", reject("wrong_signer", bad))
	rejectTime := f.Clock.Now()
	if after.Status != bq.StatusRejected || after.Reason != "wrong_signer" || !after.StatusTime.Equal(rejectTime) || poll.State != bq.StateConfirming {
		t.Fatalf("after a rejection: %+v, poll %s", after, poll.State)
	}
	f.Clock.Advance(time.Hour)
	good := returned(f, bq.FileSignedPDF, "%PDF-1.7 signed by the delegate", true)
	good.Signer = &bq.SignerInfo{Subject: "CN=Đại biểu 1", Issuer: "CN=VNPT-CA", Serial: "0a1b", Fingerprint: strings.Repeat("ab", 32),
		SigningTime: f.Clock.Now().Add(-time.Minute)}
	after, poll = f.mustChange(t, c, "SubmitSignedConfirmation", sign(good))
	signTime := f.Clock.Now()
	if after.Status != bq.StatusSigned || !slices.Equal(after.Written, c.Options) || !slices.Equal(after.WrittenChoice, c.Choice) ||
		after.Reason != "" || !after.StatusTime.Equal(signTime) || poll.State != bq.StateConfirming {
		t.Fatalf("after signing: %+v, poll %s", after, poll.State)
	}

	// As stored, and as read back.
	got, err := f.Store.GetConfirmation(ctx, p.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != bq.StatusSigned || !slices.Equal(got.Written, c.Options) || !slices.Equal(got.WrittenChoice, c.Choice) ||
		!got.StatusTime.Equal(signTime) || got.SHA256 != c.SHA256 {
		t.Fatalf("stored: %+v", got)
	}
	if e := got.Evidence; e == nil || e.SHA256 != good.SHA256 || e.Content != nil || e.Signer == nil || e.Signer.Serial != "0a1b" {
		t.Fatalf("evidence %+v", got.Evidence)
	}
	if list, err := f.Store.ListConfirmations(ctx, store.ConfirmationFilter{PollID: p.ID, Status: bq.StatusSigned, Limit: 10}); err != nil ||
		len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("signed ones: %+v, %v", list, err)
	}

	history, err := f.Store.ConfirmationHistory(ctx, p.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(history) != 2 {
		t.Fatalf("history: %+v", history)
	}
	r, s := history[0], history[1]
	if r.ConfirmationID != c.ID || r.Action != bq.ActionRejected || r.From != bq.StatusAwaitingSignature || r.To != bq.StatusRejected ||
		r.Reason != "wrong_signer" || !strings.Contains(r.Detail, "wrong_signer") || !r.Time.Equal(rejectTime) || r.Actor != Audit.Actor || r.Late || r.Written != nil {
		t.Errorf("rejection step %+v", r)
	}
	if s.Action != bq.ActionSigned || s.From != bq.StatusRejected || s.To != bq.StatusSigned || !slices.Equal(s.Written, c.Options) ||
		!s.Time.Equal(signTime) || s.ID <= r.ID {
		t.Errorf("signing step %+v", s)
	}
	for i, want := range []*bq.ConfirmationFile{bad, good} {
		got := history[i].File
		if got == nil || got.ID == 0 || got.Kind != want.Kind || got.MediaType != want.MediaType || got.SHA256 != want.SHA256 ||
			got.Size != want.Size || !got.ReceiveTime.Equal(want.ReceiveTime) || got.ReceivedBy != want.ReceivedBy || got.Content != nil {
			t.Errorf("file of step %d: %+v, want %+v without content", i, got, want)
		}
	}
	if sg := history[1].File.Signer; sg == nil || *sg != *good.Signer {
		t.Errorf("signer %+v, want %+v", sg, good.Signer)
	}
	if history[0].File.Signer != nil {
		t.Errorf("a rejected file has a signer: %+v", history[0].File.Signer)
	}

	// The content, of the accepted file only.
	kept, err := f.Store.ConfirmationFile(ctx, p.ID, c.ID, history[1].File.ID)
	if err != nil || !bytes.Equal(kept.Content, good.Content) || kept.SHA256 != good.SHA256 {
		t.Fatalf("accepted file: %+v, %v", kept, err)
	}
	dropped, err := f.Store.ConfirmationFile(ctx, p.ID, c.ID, history[0].File.ID)
	if err != nil || dropped.Content != nil || dropped.SHA256 != bad.SHA256 || dropped.Size != bad.Size {
		t.Fatalf("rejected file: %+v, %v", dropped, err)
	}
	_, err = f.Store.ConfirmationFile(ctx, p.ID, cs[1].ID, history[1].File.ID) // another confirmation's
	wantCode(t, err, bq.CodeNotFound)
	_, err = f.Store.ConfirmationFile(ctx, p.ID+1, c.ID, history[1].File.ID) // under another poll's name
	wantCode(t, err, bq.CodeNotFound)
	_, err = f.Store.ConfirmationFile(ctx, p.ID, c.ID, 999)
	wantCode(t, err, bq.CodeNotFound)
	_, err = f.Store.ConfirmationHistory(ctx, p.ID, 999)
	wantCode(t, err, bq.CodeNotFound)
	if none, err := f.Store.ConfirmationHistory(ctx, p.ID, cs[1].ID); err != nil || len(none) != 0 {
		t.Fatalf("history of an untouched confirmation: %+v, %v", none, err)
	}
	_, _, err = f.change(bq.Confirmation{PollID: p.ID, ID: 999}, "SubmitSignedConfirmation", sign(good))
	wantCode(t, err, bq.CodeNotFound)

	// A paper copy and a decline, with what they record.
	scan := returned(f, bq.FileScan, "\x89PNG scan", true)
	after, _ = f.mustChange(t, cs[1], "RecordPaperConfirmation", paper([]int{0}, scan))
	if after.Status != bq.StatusMismatch || !slices.Equal(after.Written, []int{0}) || after.WrittenChoice[0] != bq.VoteOptions[0] || after.Evidence == nil {
		t.Fatalf("paper with another choice: %+v", after)
	}
	after, _ = f.mustChange(t, cs[2], "DeclineConfirmation", decline("đi công tác nước ngoài"))
	if after.Status != bq.StatusDeclined || after.Detail != "đi công tác nước ngoài" {
		t.Fatalf("declined: %+v", after)
	}

	// One event per step, on the confirmation itself.
	if got, want := actions(t, f.Store, c.Name()), []string{"GenerateConfirmations", "SubmitSignedConfirmation", "SubmitSignedConfirmation"}; !slices.Equal(got, want) {
		t.Errorf("events of %s: %v, want %v", c.Name(), got, want)
	}
	if got, want := actions(t, f.Store, cs[1].Name()), []string{"GenerateConfirmations", "RecordPaperConfirmation"}; !slices.Equal(got, want) {
		t.Errorf("events of %s: %v, want %v", cs[1].Name(), got, want)
	}
	mustVerify(t, f.Store)
}

// A step whose change func fails changes nothing: no status, no history, no event.
func testAConfirmationStepIsAtomic(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, cs := confirmingBanPoll(t, f)
	headBefore, _, err := f.Store.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("the verifier failed")
	good := returned(f, bq.FileSignedPDF, "%PDF signed", true)
	_, _, err = f.change(cs[0], "SubmitSignedConfirmation", func(now time.Time, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		if _, err := c.Sign(now, Audit.Actor, good); err != nil { // decided, then failed
			return nil, err
		}
		return nil, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("a failed change: %v, want it returned", err)
	}
	// The domain's refusals.
	_, _, err = f.change(cs[0], "ResolveMismatch", resolve("không có gì để giải quyết"))
	wantCode(t, err, bq.CodeFailedPrecondition)
	_, _, err = f.change(cs[0], "DeclineConfirmation", decline(""))
	wantCode(t, err, bq.CodeInvalid)
	_, _, err = f.change(cs[0], "RecordPaperConfirmation", paper([]int{9}, good))
	wantCode(t, err, bq.CodeInvalid)

	got, err := f.Store.GetConfirmation(ctx, p.ID, cs[0].ID)
	if err != nil || got.Status != bq.StatusAwaitingSignature || got.Evidence != nil || got.Written != nil {
		t.Fatalf("after refused steps: %+v, %v", got, err)
	}
	if h, err := f.Store.ConfirmationHistory(ctx, p.ID, cs[0].ID); err != nil || len(h) != 0 {
		t.Fatalf("history after refused steps: %+v, %v", h, err)
	}
	if headAfter, _, _ := f.Store.AuditHead(ctx); headAfter != headBefore {
		t.Fatalf("refused steps appended %d events", headAfter-headBefore)
	}
	mustVerify(t, f.Store)
}

// The poll is finalized by the step that makes its last confirmation final, and the
// tally, which carries the confirmations, changes version with every step.
func testTheLastFinalConfirmationFinalizesThePoll(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, cs := confirmingBanPoll(t, f)
	tally, err := f.Store.GetTally(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tally.Confirmations) != 3 || tally.Confirmations[0].Status != bq.StatusAwaitingSignature {
		t.Fatalf("tally of a confirming poll: %+v", tally.Confirmations)
	}
	version := tally.Version
	steps := []struct {
		c      bq.Confirmation
		action string
		step   stepFunc
		status bq.ConfirmationStatus
	}{
		{cs[0], "SubmitSignedConfirmation", reject("bad_signature", returned(f, bq.FileSignedPDF, "x", false)), bq.StatusRejected},
		{cs[0], "SubmitSignedConfirmation", sign(returned(f, bq.FileSignedPDF, "y", true)), bq.StatusSigned},
		{cs[1], "DeclineConfirmation", decline("không đồng ý"), bq.StatusDeclined},
		{cs[2], "RecordPaperConfirmation", paper([]int{1}, returned(f, bq.FileScan, "z", true)), bq.StatusMismatch},
		{cs[2], "ResolveMismatch", resolve("tính theo phiếu ghi"), bq.StatusMismatch},
	}
	for i, st := range steps {
		f.Clock.Advance(time.Minute)
		after, poll := f.mustChange(t, st.c, st.action, st.step)
		last := i == len(steps)-1
		if after.Status != st.status || (poll.State == bq.StateFinalized) != last {
			t.Fatalf("step %d (%s): %s, poll %s", i, st.action, after.Status, poll.State)
		}
		tally, err := f.Store.GetTally(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if tally.Version <= version {
			t.Fatalf("step %d: tally version %d, was %d", i, tally.Version, version)
		}
		version = tally.Version
		for _, c := range tally.Confirmations {
			if c.ID == st.c.ID && c.Status != st.status {
				t.Fatalf("step %d: the tally shows %s as %s", i, c.Name(), c.Status)
			}
		}
		if last && (tally.Poll.State != bq.StateFinalized || tally.Confirmations[2].Resolution == nil) {
			t.Fatalf("the final tally: %s, %+v", tally.Poll.State, tally.Confirmations[2])
		}
	}
	stored, _, err := f.Store.GetPoll(ctx, p.ID)
	if err != nil || stored.State != bq.StateFinalized {
		t.Fatalf("stored poll: %+v, %v", stored, err)
	}
	if got := actions(t, f.Store, bq.PollName(p.ID)); got[len(got)-1] != "FinalizePoll" || slices.Index(got, "FinalizePoll") != len(got)-1 {
		t.Errorf("events of the poll: %v, want one FinalizePoll last", got)
	}
	// Finalized: its result is official, and nothing is left to step.
	_, _, err = f.change(cs[2], "ResolveMismatch", resolve("lại"))
	wantCode(t, err, bq.CodeFailedPrecondition)
	_, _, err = f.change(cs[0], "SubmitSignedConfirmation", sign(returned(f, bq.FileSignedPDF, "again", true)))
	wantCode(t, err, bq.CodeFailedPrecondition)
	if _, err := f.Store.SettleDuePolls(ctx, Audit); err != nil {
		t.Fatal(err)
	}
	f.Clock.Advance(confirmDue)
	if done, err := f.Store.SettleDuePolls(ctx, Audit); err != nil || len(done) != 0 {
		t.Fatalf("settle a finalized poll: %v, %v", done, err)
	}
	mustVerify(t, f.Store)
}

// At the confirmation deadline what is still owed becomes overdue and the poll is
// finalized, with an unresolved mismatch left as it is; a finalized poll refuses every
// step but a late one, which is recorded and changes nothing.
func testTheDeadlineSettlesThePoll(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, cs := confirmingBanPoll(t, f)
	deadline := cs[0].Deadline
	if !deadline.Equal(f.Clock.Now().Add(confirmDue)) || !p.ConfirmationDeadline.Equal(deadline) {
		t.Fatalf("deadline %v, poll's %v", deadline, p.ConfirmationDeadline)
	}
	f.Clock.Advance(time.Hour)
	f.mustChange(t, cs[0], "SubmitSignedConfirmation", reject("bad_signature", returned(f, bq.FileSignedPDF, "x", false)))
	f.mustChange(t, cs[1], "RecordPaperConfirmation", paper([]int{0}, returned(f, bq.FileScan, "y", true)))
	scheduler := bq.Audit{Actor: "system:scheduler", RequestID: "deadline"}

	f.Clock.Advance(deadline.Sub(f.Clock.Now()) - time.Nanosecond)
	head, _, _ := f.Store.AuditHead(ctx)
	if done, err := f.Store.SettleDuePolls(ctx, scheduler); err != nil || len(done) != 0 {
		t.Fatalf("before the deadline: %v, %v", done, err)
	}
	if now, _, _ := f.Store.AuditHead(ctx); now != head {
		t.Fatalf("settling before the deadline appended %d events", now-head)
	}
	if next, ok, err := f.Store.NextDeadline(ctx); err != nil || !ok || !next.Equal(deadline) {
		t.Fatalf("next deadline %v %v, %v; want %v", next, ok, err, deadline)
	}

	f.Clock.Advance(time.Nanosecond)
	done, err := f.Store.SettleDuePolls(ctx, scheduler)
	if err != nil || !slices.Equal(done, []int64{p.ID}) {
		t.Fatalf("at the deadline: %v, %v", done, err)
	}
	list, err := f.Store.ListConfirmations(ctx, store.ConfirmationFilter{PollID: p.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bq.ConfirmationStatus{bq.StatusOverdue, bq.StatusMismatch, bq.StatusOverdue} {
		if list[i].Status != want {
			t.Errorf("%s is %s, want %s", list[i].Name(), list[i].Status, want)
		}
		if want == bq.StatusOverdue && !list[i].StatusTime.Equal(deadline) {
			t.Errorf("%s overdue as of %v, want %v", list[i].Name(), list[i].StatusTime, deadline)
		}
	}
	if list[0].Reason != "bad_signature" {
		t.Errorf("an overdue rejection forgot its reason: %+v", list[0])
	}
	if got := actions(t, f.Store, cs[2].Name()); !slices.Equal(got, []string{"GenerateConfirmations", "MarkOverdue"}) {
		t.Errorf("events of %s: %v", cs[2].Name(), got)
	}
	events, err := f.Store.ListAuditEvents(ctx, store.AuditFilter{Target: bq.PollName(p.ID), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if e := events[len(events)-1]; e.Action != "FinalizePoll" || e.Actor != scheduler.Actor {
		t.Errorf("the poll's last event: %+v", e)
	}
	if got, _, _ := f.Store.GetPoll(ctx, p.ID); got.State != bq.StateFinalized {
		t.Fatalf("poll %s", got.State)
	}
	if _, ok, _ := f.Store.NextDeadline(ctx); ok {
		t.Error("a finalized poll still has a deadline due")
	}
	if done, err := f.Store.SettleDuePolls(ctx, scheduler); err != nil || len(done) != 0 {
		t.Fatalf("settle again: %v, %v", done, err)
	}

	// The mismatch can no longer be resolved: the result is official.
	f.Clock.Advance(time.Hour)
	_, _, err = f.change(cs[1], "ResolveMismatch", resolve("quá hạn"))
	wantCode(t, err, bq.CodeFailedPrecondition)
	// A signed copy that comes late is recorded, and counts for nothing.
	late := returned(f, bq.FileSignedPDF, "%PDF late", true)
	after, poll := f.mustChange(t, cs[2], "SubmitSignedConfirmation", sign(late))
	if after.Status != bq.StatusOverdue || after.Written != nil || poll.State != bq.StateFinalized {
		t.Fatalf("after a late submission: %+v, poll %s", after, poll.State)
	}
	history, err := f.Store.ConfirmationHistory(ctx, p.ID, cs[2].ID)
	if err != nil || len(history) != 2 {
		t.Fatalf("history: %+v, %v", history, err)
	}
	if h := history[1]; !h.Late || h.Action != bq.ActionSigned || h.From != bq.StatusOverdue || h.To != bq.StatusOverdue || h.File == nil || h.File.SHA256 != late.SHA256 {
		t.Errorf("the late step: %+v", h)
	}
	if kept, err := f.Store.ConfirmationFile(ctx, p.ID, cs[2].ID, history[1].File.ID); err != nil || !bytes.Equal(kept.Content, late.Content) {
		t.Errorf("the late file: %+v, %v", kept, err)
	}
	// A late rejection is recorded too, and forgets nothing.
	f.mustChange(t, cs[0], "SubmitSignedConfirmation", reject("wrong_signer", returned(f, bq.FileSignedPDF, "w", false)))
	if got, _ := f.Store.GetConfirmation(ctx, p.ID, cs[0].ID); got.Status != bq.StatusOverdue || got.Reason != "bad_signature" {
		t.Errorf("after a late rejection: %+v", got)
	}
	tally, err := f.Store.GetTally(ctx, p.ID)
	if err != nil || tally.Poll.State != bq.StateFinalized {
		t.Fatalf("tally: %+v, %v", tally, err)
	}
	if r := bq.Reconcile(tally, tally.Confirmations); !r.Official || r.Confirmed.Confirmed != 0 || r.Confirmed.Outcome != bq.OutcomeFailed {
		t.Errorf("reconciliation: %+v", r.Confirmed)
	}
	mustVerify(t, f.Store)
}

// A step that comes after the deadline, before the scheduler ran, makes its confirmation
// overdue first, is recorded late, and settles the poll.
func testAStepPastTheDeadlineComesLate(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, cs := confirmingBanPoll(t, f)
	f.Clock.Advance(confirmDue + time.Minute)
	after, poll := f.mustChange(t, cs[0], "SubmitSignedConfirmation", sign(returned(f, bq.FileSignedPDF, "%PDF", true)))
	if after.Status != bq.StatusOverdue || poll.State != bq.StateFinalized {
		t.Fatalf("a signature after the deadline: %s, poll %s", after.Status, poll.State)
	}
	history, err := f.Store.ConfirmationHistory(ctx, p.ID, cs[0].ID)
	if err != nil || len(history) != 2 {
		t.Fatalf("history %+v, %v", history, err)
	}
	if o, s := history[0], history[1]; o.Action != bq.ActionOverdue || o.Late || !o.Time.Equal(f.Clock.Now()) || s.Action != bq.ActionSigned || !s.Late {
		t.Errorf("history: %+v, %+v", o, s)
	}
	if got := actions(t, f.Store, cs[0].Name()); !slices.Equal(got, []string{"GenerateConfirmations", "MarkOverdue", "SubmitSignedConfirmation"}) {
		t.Errorf("events of %s: %v", cs[0].Name(), got)
	}
	for _, c := range cs[1:] {
		if got, _ := f.Store.GetConfirmation(ctx, p.ID, c.ID); got.Status != bq.StatusOverdue {
			t.Errorf("%s is %s", c.Name(), got.Status)
		}
	}
	// Refused past the deadline: the overdue marking goes with the refusal.
	g := newPollFixture(t, open)
	q, ds := confirmingBanPoll(t, g)
	g.Clock.Advance(confirmDue)
	_, _, err = g.change(ds[0], "DeclineConfirmation", decline(""))
	wantCode(t, err, bq.CodeInvalid)
	if got, _ := g.Store.GetConfirmation(ctx, q.ID, ds[0].ID); got.Status != bq.StatusAwaitingSignature {
		t.Errorf("a refused step left %s %s", got.Name(), got.Status)
	}
	mustVerify(t, f.Store)
	mustVerify(t, g.Store)
}

// Past the confirmation deadline the result is official whether or not the scheduler has
// run yet: a mismatch is no longer resolved, and whatever comes is recorded late.
func testPastTheDeadlineNothingDependsOnTheScheduler(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, cs := confirmingBanPoll(t, f)
	f.mustChange(t, cs[1], "RecordPaperConfirmation", paper([]int{0}, returned(f, bq.FileScan, "scan", true)))
	f.Clock.Advance(confirmDue)
	_, _, err := f.change(cs[1], "ResolveMismatch", resolve("sau hạn"))
	wantCode(t, err, bq.CodeFailedPrecondition)
	if got, _ := f.Store.GetConfirmation(ctx, p.ID, cs[1].ID); got.Resolution != nil {
		t.Fatalf("resolved after the deadline: %+v", got.Resolution)
	}
	// A late step settles the poll as the scheduler would have, before it is recorded.
	after, poll := f.mustChange(t, cs[0], "SubmitSignedConfirmation", sign(returned(f, bq.FileSignedPDF, "%PDF", true)))
	if after.Status != bq.StatusOverdue || poll.State != bq.StateFinalized {
		t.Fatalf("a signature after the deadline: %s, poll %s", after.Status, poll.State)
	}
	events, err := f.Store.ListAuditEvents(ctx, store.AuditFilter{Target: bq.PollName(p.ID), Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if e := events[len(events)-1]; e.Action != "FinalizePoll" || e.Actor != "system:scheduler" {
		t.Errorf("the poll was finalized by %+v", e)
	}
	_, _, err = f.change(cs[1], "ResolveMismatch", resolve("sau hạn"))
	wantCode(t, err, bq.CodeFailedPrecondition)
	mustVerify(t, f.Store)
}

// A file that names no confirmation is traced by the digest of the document issued.
func testFindConfirmationBySHA256(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, cs := confirmingBanPoll(t, f)
	for _, c := range cs {
		for _, digest := range []string{c.SHA256, strings.ToUpper(c.SHA256)} {
			got, err := f.Store.FindConfirmationBySHA256(ctx, digest)
			if err != nil || got.ID != c.ID || got.PollID != p.ID || got.Status != c.Status {
				t.Fatalf("find %s: %+v, %v", digest, got, err)
			}
		}
	}
	// Found with its history.
	file := returned(f, bq.FileSignedPDF, "%PDF signed", true)
	f.mustChange(t, cs[1], "SubmitSignedConfirmation", sign(file))
	if got, err := f.Store.FindConfirmationBySHA256(ctx, cs[1].SHA256); err != nil || got.Status != bq.StatusSigned {
		t.Fatalf("find after a step: %+v, %v", got, err)
	}
	for _, digest := range []string{file.SHA256, strings.Repeat("0", 64), "", "not hex"} {
		_, err := f.Store.FindConfirmationBySHA256(ctx, digest)
		wantCode(t, err, bq.CodeNotFound)
	}
}

// A step retried with its request id (the answer was lost) is taken once: the retry gets
// the confirmation as it is and its change is not called; the id used for another
// confirmation's step, or by another caller, is refused.
func testAConfirmationStepRetriedIsOneStep(t *testing.T, open Factory) {
	f := newPollFixture(t, open)
	ctx := context.Background()
	p, cs := confirmingBanPoll(t, f)
	key := bq.RequestKey{ID: "cli-decline-1", Fingerprint: "f1"}
	step := func(p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		return c.Decline(f.Clock.Now(), Audit.Actor, "Tôi vắng mặt", nil, p)
	}
	first, _, err := f.Store.ChangeConfirmation(ctx, Audit, p.ID, cs[1].ID, "DeclineConfirmation", key, step)
	if err != nil || first.Status != bq.StatusDeclined {
		t.Fatalf("decline: %+v, %v", first, err)
	}
	called := false
	again, _, err := f.Store.ChangeConfirmation(ctx, Audit, p.ID, cs[1].ID, "DeclineConfirmation", key,
		func(p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) { called = true; return step(p, c) })
	if err != nil || called || again.Status != bq.StatusDeclined || again.Detail != "Tôi vắng mặt" {
		t.Fatalf("retry: %+v, %v (change called: %v)", again, err, called)
	}
	if h, err := f.Store.ConfirmationHistory(ctx, p.ID, cs[1].ID); err != nil || len(h) != 1 {
		t.Fatalf("history after a retry: %d steps, %v; want 1", len(h), err)
	}
	other := bq.RequestKey{ID: key.ID, Fingerprint: "f2"}
	_, _, err = f.Store.ChangeConfirmation(ctx, Audit, p.ID, cs[2].ID, "DeclineConfirmation", other, step)
	wantCode(t, err, bq.CodeAlreadyExists)
	if c, _ := f.Store.GetConfirmation(ctx, p.ID, cs[2].ID); c.Status != bq.StatusAwaitingSignature {
		t.Fatalf("the reused id changed %s: %s", c.Name(), c.Status)
	}
	mustVerify(t, f.Store)
}
