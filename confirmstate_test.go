package bieuquyet

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// The confirmation deadline of the fixtures: three days after t0, when they are issued.
var confirmDeadline = t0.Add(72 * time.Hour)

// confirmingPoll is pollIn's poll with its confirmations issued.
func confirmingPoll() *Poll {
	p := pollIn(StateConfirming)
	p.Eligible, p.ConfirmationDeadline = 7, confirmDeadline
	return p
}

// issued is person's confirmation of a vote for options, awaiting signature.
func issued(t *testing.T, person int64, options ...int) *Confirmation {
	t.Helper()
	p := confirmingPoll()
	v := &VoteRecord{ID: 40 + person, PollID: p.ID, PersonID: person, FullName: "Đại biểu", Options: options,
		Source: SourceZalo, RecordTime: t0.Add(-time.Hour)}
	c, err := NewConfirmation(10+person, p, v, t0, confirmDeadline)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	signedPDF = &ConfirmationFile{Kind: FileSignedPDF, MediaType: "application/pdf", SHA256: "aa", Size: 3, Content: []byte("pdf")}
	scanPNG   = &ConfirmationFile{Kind: FileScan, MediaType: "image/png", SHA256: "bb", Size: 3, Content: []byte("png")}
	badPDF    = &ConfirmationFile{Kind: FileSignedPDF, MediaType: "application/pdf", SHA256: "cc", Size: 3}
)

// The statuses a confirmation can be in, each reached by the domain's own steps from an
// issued confirmation of person 5 for "Tán thành".
const (
	inAwaiting = "awaiting"
	inSigned   = "signed"
	inMismatch = "mismatch"
	inResolved = "mismatch resolved"
	inRejected = "rejected"
	inDeclined = "declined"
	inOverdue  = "overdue"
)

var everyStatus = []string{inAwaiting, inSigned, inMismatch, inResolved, inRejected, inDeclined, inOverdue}

// confirmationIn returns a confirmation in status, and the events that took it there.
func confirmationIn(t *testing.T, status string) (*Confirmation, []*ConfirmationEvent) {
	t.Helper()
	c := issued(t, 5, OptionInFavour)
	p := confirmingPoll()
	at := t0.Add(time.Hour)
	var events []*ConfirmationEvent
	take := func(e *ConfirmationEvent, err error) {
		t.Helper()
		if err != nil || e == nil {
			t.Fatalf("reaching %s: %v", status, err)
		}
		events = append(events, e)
	}
	switch status {
	case inAwaiting:
	case inSigned:
		take(c.Sign(at, "people/5", signedPDF))
	case inMismatch:
		take(c.RecordPaper(at, "tokens/1", []int{1}, p, scanPNG))
	case inResolved:
		take(c.RecordPaper(at, "tokens/1", []int{1}, p, scanPNG))
		take(c.Resolve(at.Add(time.Minute), "people/1", "đại biểu xác nhận đã ghi nhầm trên Zalo"))
	case inRejected:
		take(c.Reject(at, "people/5", "bad_signature", "the signature does not verify", badPDF))
	case inDeclined:
		take(c.Decline(at, "tokens/1", "không đồng ý với kết quả ghi nhận", []int{2}, p))
	case inOverdue:
		take(c.MarkOverdue(confirmDeadline), nil)
	default:
		t.Fatalf("no status %q", status)
	}
	return c, events
}

// A step as the table calls it, at now.
type confirmStep func(c *Confirmation, now time.Time) (*ConfirmationEvent, error)

// Every step from every status: what is allowed, what it records, and what it leaves
// the confirmation as; a step on an overdue confirmation is recorded late and changes
// nothing; a refused step is FAILED_PRECONDITION and changes nothing.
func TestConfirmationSteps(t *testing.T) {
	p := confirmingPoll()
	const declineReason = "tôi không tham gia biểu quyết này"
	const resolveNote = "Thường trực HĐND thống nhất tính theo phiếu ghi"
	steps := map[string]struct {
		do      confirmStep
		action  ConfirmationAction
		from    []string // the statuses it is allowed from, besides inOverdue (late)
		late    bool     // allowed, late, on an overdue confirmation
		to      ConfirmationStatus
		written []int
		reason  string
		detail  string
		file    *ConfirmationFile
	}{
		"sign": {
			do: func(c *Confirmation, now time.Time) (*ConfirmationEvent, error) {
				return c.Sign(now, "people/5", signedPDF)
			},
			action: ActionSigned, from: []string{inAwaiting, inRejected}, late: true, to: StatusSigned, written: []int{0}, file: signedPDF,
		},
		"paper as issued": {
			do: func(c *Confirmation, now time.Time) (*ConfirmationEvent, error) {
				return c.RecordPaper(now, "tokens/1", []int{0}, p, scanPNG)
			},
			action: ActionPaper, from: []string{inAwaiting, inRejected}, late: true, to: StatusSigned, written: []int{0}, file: scanPNG,
		},
		"paper with no written choice": { // the issued one, as printed
			do: func(c *Confirmation, now time.Time) (*ConfirmationEvent, error) {
				return c.RecordPaper(now, "tokens/1", nil, p, scanPNG)
			},
			action: ActionPaper, from: []string{inAwaiting, inRejected}, late: true, to: StatusSigned, written: []int{0}, file: scanPNG,
		},
		"paper with another choice": {
			do: func(c *Confirmation, now time.Time) (*ConfirmationEvent, error) {
				return c.RecordPaper(now, "tokens/1", []int{2}, p, scanPNG)
			},
			action: ActionPaper, from: []string{inAwaiting, inRejected}, late: true, to: StatusMismatch, written: []int{2}, file: scanPNG,
		},
		"reject": {
			do: func(c *Confirmation, now time.Time) (*ConfirmationEvent, error) {
				return c.Reject(now, "people/5", "wrong_signer", "signed by someone else", badPDF)
			},
			action: ActionRejected, from: []string{inAwaiting, inRejected}, late: true, to: StatusRejected,
			reason: "wrong_signer", detail: "signed by someone else", file: badPDF,
		},
		"decline": {
			do: func(c *Confirmation, now time.Time) (*ConfirmationEvent, error) {
				return c.Decline(now, "tokens/1", "  tôi không tham gia\tbiểu quyết này ", nil, p)
			},
			action: ActionDeclined, from: []string{inAwaiting, inRejected}, late: true, to: StatusDeclined, detail: declineReason,
		},
		"decline with a choice": {
			do: func(c *Confirmation, now time.Time) (*ConfirmationEvent, error) {
				return c.Decline(now, "tokens/1", declineReason, []int{1}, p)
			},
			action: ActionDeclined, from: []string{inAwaiting, inRejected}, late: true, to: StatusDeclined, written: []int{1}, detail: declineReason,
		},
		"resolve": { // never late: there is no mismatch to resolve on an overdue confirmation
			do: func(c *Confirmation, now time.Time) (*ConfirmationEvent, error) {
				return c.Resolve(now, "people/1", resolveNote)
			},
			action: ActionResolved, from: []string{inMismatch}, to: StatusMismatch, written: []int{1},
			reason: ResolutionWrittenCounts, detail: resolveNote,
		},
	}
	now := t0.Add(2 * time.Hour)
	for name, st := range steps {
		for _, from := range everyStatus {
			t.Run(name+" from "+from, func(t *testing.T) {
				c, history := confirmationIn(t, from)
				before := *c
				e, err := st.do(c, now)
				allowed := slices.Contains(st.from, from)
				late := from == inOverdue && st.late
				if !allowed && !late {
					if ErrorCode(err) != CodeFailedPrecondition || e != nil {
						t.Fatalf("%v, %+v; want failed_precondition", err, e)
					}
					if !strings.Contains(err.Error(), c.Name()) {
						t.Errorf("the refusal does not name %s: %v", c.Name(), err)
					}
					if !reflect.DeepEqual(*c, before) {
						t.Errorf("a refused step changed the confirmation:\n%+v\nwas\n%+v", *c, before)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				wantFrom, wantTo := before.Status, st.to
				if late {
					wantTo = StatusOverdue
				}
				if e.ConfirmationID != c.ID || !e.Time.Equal(now) || e.Action != st.action || e.From != wantFrom || e.To != wantTo ||
					e.Late != late || !slices.Equal(e.Written, st.written) || e.Reason != st.reason || e.Detail != st.detail || e.File != st.file {
					t.Fatalf("event %+v", e)
				}
				if late {
					if !reflect.DeepEqual(*c, before) {
						t.Errorf("a late step changed the confirmation:\n%+v\nwas\n%+v", *c, before)
					}
				} else {
					if c.Status != st.to || !c.StatusTime.Equal(now) {
						t.Errorf("status %s at %v, want %s at %v", c.Status, c.StatusTime, st.to, now)
					}
					if !slices.Equal(c.Written, st.written) {
						t.Errorf("written %v, want %v", c.Written, st.written)
					}
					switch st.action {
					case ActionRejected:
						if c.Reason != st.reason || c.Detail != st.detail {
							t.Errorf("reason %q detail %q", c.Reason, c.Detail)
						}
					case ActionResolved:
						if r := c.Resolution; r == nil || r.Kind != ResolutionWrittenCounts || r.Note != resolveNote || r.Actor != "people/1" || !r.Time.Equal(now) {
							t.Errorf("resolution %+v", r)
						}
						if c.Evidence != scanPNG {
							t.Errorf("a resolution replaced the evidence: %+v", c.Evidence)
						}
					default: // a rejection before is superseded, its file with it
						if c.Reason != "" || c.Detail != st.detail {
							t.Errorf("reason %q detail %q, want %q", c.Reason, c.Detail, st.detail)
						}
						if c.Evidence != st.file {
							t.Errorf("evidence %+v, want %+v", c.Evidence, st.file)
						}
					}
					if st.file != nil && c.Evidence != st.file {
						t.Errorf("evidence %+v, want %+v", c.Evidence, st.file)
					}
					if st.action != ActionResolved && c.Resolution != nil {
						t.Errorf("resolution %+v", c.Resolution)
					}
				}
				// The store rebuilds a confirmation by replaying its events onto the
				// issued one: that must give what the steps gave.
				replayed := issued(t, 5, OptionInFavour)
				for _, h := range append(history, e) {
					replayed.Apply(h)
				}
				if !reflect.DeepEqual(*replayed, *c) {
					t.Errorf("replay gives\n%+v\nthe steps gave\n%+v", *replayed, *c)
				}
			})
		}
	}
}

// A refusal says why, in the confirmation's own terms.
func TestConfirmationRefusalsSayWhy(t *testing.T) {
	p := confirmingPoll()
	now := t0.Add(2 * time.Hour)
	for _, tc := range []struct {
		from    string
		says    string
		mustNot string
	}{
		{inSigned, "is signed already", ""},
		{inMismatch, "a mismatch for the leader to resolve", ""},
		{inResolved, "resolved", "for the leader to resolve"},
		{inDeclined, "was declined", ""},
	} {
		c, _ := confirmationIn(t, tc.from)
		_, err := c.RecordPaper(now, "tokens/1", nil, p, scanPNG)
		if ErrorCode(err) != CodeFailedPrecondition || !strings.Contains(err.Error(), tc.says) ||
			tc.mustNot != "" && strings.Contains(err.Error(), tc.mustNot) {
			t.Errorf("paper on %s: %v; want it to say %q", tc.from, err, tc.says)
		}
	}
}

// MarkOverdue takes an awaiting or rejected confirmation to OVERDUE from its deadline
// on, and leaves every other alone.
func TestMarkOverdue(t *testing.T) {
	for _, tc := range []struct {
		from string
		at   time.Time
		due  bool
	}{
		{inAwaiting, confirmDeadline.Add(-time.Nanosecond), false},
		{inAwaiting, confirmDeadline, true},
		{inAwaiting, confirmDeadline.Add(time.Hour), true},
		{inRejected, confirmDeadline.Add(-time.Minute), false},
		{inRejected, confirmDeadline, true},
		{inSigned, confirmDeadline.Add(time.Hour), false},
		{inMismatch, confirmDeadline.Add(time.Hour), false}, // an unresolved mismatch stays one
		{inResolved, confirmDeadline.Add(time.Hour), false},
		{inDeclined, confirmDeadline.Add(time.Hour), false},
		{inOverdue, confirmDeadline.Add(time.Hour), false}, // once
	} {
		c, history := confirmationIn(t, tc.from)
		before := *c
		e := c.MarkOverdue(tc.at)
		if !tc.due {
			if e != nil || !reflect.DeepEqual(*c, before) {
				t.Errorf("%s at %v: made overdue: %+v", tc.from, tc.at, e)
			}
			continue
		}
		if e == nil {
			t.Errorf("%s at %v: not made overdue", tc.from, tc.at)
			continue
		}
		if e.Action != ActionOverdue || e.Actor != "system:scheduler" || e.From != before.Status || e.To != StatusOverdue ||
			!e.Time.Equal(tc.at) || e.Late || e.File != nil || e.Written != nil {
			t.Errorf("%s: event %+v", tc.from, e)
		}
		if c.Status != StatusOverdue || !c.StatusTime.Equal(tc.at) || !c.Final() {
			t.Errorf("%s: %s at %v", tc.from, c.Status, c.StatusTime)
		}
		replayed := issued(t, 5, OptionInFavour)
		for _, h := range append(history, e) {
			replayed.Apply(h)
		}
		if !reflect.DeepEqual(*replayed, *c) {
			t.Errorf("%s: replay gives\n%+v\nthe steps gave\n%+v", tc.from, *replayed, *c)
		}
	}
}

// hasViolation reports whether err is CodeInvalid naming field.
func hasViolation(err error, field string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeInvalid && Violations(e.Violations).Has(field)
}

// What a step is given is checked, and a step refused for it changes nothing.
func TestConfirmationStepInput(t *testing.T) {
	p := confirmingPoll()
	multi := confirmingPoll()
	multi.Kind, multi.Rule, multi.MultipleChoice, multi.Options = KindOpinion, RuleNone, true, []string{"A", "B", "C"}
	now := t0.Add(2 * time.Hour)
	long := strings.Repeat("a", 1001)
	for _, tc := range []struct {
		name  string
		from  string
		do    func(c *Confirmation) (*ConfirmationEvent, error)
		field string // "" when allowed
	}{
		{"paper: not an option", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.RecordPaper(now, "tokens/1", []int{3}, p, scanPNG)
		}, "written_options"},
		{"paper: a negative option", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.RecordPaper(now, "tokens/1", []int{-1}, p, scanPNG)
		}, "written_options"},
		{"paper: two choices in a one-choice poll", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.RecordPaper(now, "tokens/1", []int{0, 1}, p, scanPNG)
		}, "written_options"},
		{"paper: late, still checked", inOverdue, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.RecordPaper(now, "tokens/1", []int{7}, p, scanPNG)
		}, "written_options"},
		{"decline: no reason", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) { return c.Decline(now, "tokens/1", "", nil, p) }, "reason"},
		{"decline: only spaces", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", " \t\n ", nil, p)
		}, "reason"},
		{"decline: a control character", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", "không\x00đồng ý", nil, p)
		}, "reason"},
		{"decline: a direction override", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", "lý do \u202ethật", nil, p)
		}, "reason"},
		{"decline: not UTF-8", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", "l\xffý do", nil, p)
		}, "reason"},
		{"decline: over 1000 characters", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", long, nil, p)
		}, "reason"},
		{"decline: 1000 characters", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", long[1:], nil, p)
		}, ""},
		{"decline: 1000 Vietnamese characters, 3000 bytes", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", strings.Repeat("ệ", 1000), nil, p)
		}, ""},
		{"decline: a choice not an option", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", "lý do", []int{3}, p)
		}, "written_options"},
		{"decline: two choices in a one-choice poll", inRejected, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", "lý do", []int{0, 2}, p)
		}, "written_options"},
		{"decline: two choices in a multiple-choice poll", inAwaiting, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", "lý do", []int{2, 0}, multi)
		}, ""},
		{"resolve: no note", inMismatch, func(c *Confirmation) (*ConfirmationEvent, error) { return c.Resolve(now, "people/1", "  ") }, "note"},
		{"resolve: a control character", inMismatch, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Resolve(now, "people/1", "ghi\x1bchú")
		}, "note"},
		{"resolve: a zero width space", inMismatch, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Resolve(now, "people/1", "ghi\u200bchú")
		}, "note"},
		{"resolve: over 1000 characters", inMismatch, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Resolve(now, "people/1", long)
		}, "note"},
		{"resolve: 1000 characters", inMismatch, func(c *Confirmation) (*ConfirmationEvent, error) {
			return c.Resolve(now, "people/1", long[1:])
		}, ""},
	} {
		c, _ := confirmationIn(t, tc.from)
		before := *c
		e, err := tc.do(c)
		if tc.field == "" {
			if err != nil || e == nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if !hasViolation(err, tc.field) || e != nil {
			t.Errorf("%s: %v; want invalid naming %s", tc.name, err, tc.field)
		}
		if !reflect.DeepEqual(*c, before) {
			t.Errorf("%s: a refused step changed the confirmation", tc.name)
		}
	}
	// A written choice is kept ascending, whatever order it was given in.
	c, _ := confirmationIn(t, inAwaiting)
	if e, err := c.Decline(now, "tokens/1", "lý do", []int{2, 0}, multi); err != nil || !slices.Equal(e.Written, []int{0, 2}) {
		t.Errorf("decline of a multiple choice: %+v, %v", e, err)
	}
}

// Final and Counted say what stays and what the confirmed tally counts.
func TestFinalAndCounted(t *testing.T) {
	for _, tc := range []struct {
		status  string
		final   bool
		counted []int // nil when not counted
	}{
		{inAwaiting, false, nil},
		{inRejected, false, nil},
		{inMismatch, false, nil},
		{inSigned, true, []int{0}},
		{inResolved, true, []int{1}}, // the written choice counts
		{inDeclined, true, nil},      // a decline's stated choice never counts
		{inOverdue, true, nil},
	} {
		c, _ := confirmationIn(t, tc.status)
		w, ok := c.Counted()
		if c.Final() != tc.final || ok != (tc.counted != nil) || !slices.Equal(w, tc.counted) {
			t.Errorf("%s: final %v, counted %v %v; want %v, %v", tc.status, c.Final(), w, ok, tc.final, tc.counted)
		}
	}
}

func TestPollSettled(t *testing.T) {
	final := func(status string) Confirmation { c, _ := confirmationIn(t, status); return *c }
	allFinal := []Confirmation{final(inSigned), final(inDeclined), final(inResolved), final(inOverdue)}
	oneOwed := append(slices.Clone(allFinal), final(inMismatch))
	before := confirmDeadline.Add(-time.Second)
	for _, tc := range []struct {
		name  string
		state PollState
		noDue bool // the poll has no confirmation deadline
		cs    []Confirmation
		now   time.Time
		want  bool
	}{
		{"all final", StateConfirming, false, allFinal, before, true},
		{"an unresolved mismatch", StateConfirming, false, oneOwed, before, false},
		{"one awaiting", StateConfirming, false, append(slices.Clone(allFinal), final(inAwaiting)), before, false},
		{"one rejected", StateConfirming, false, append(slices.Clone(allFinal), final(inRejected)), before, false},
		{"at the deadline", StateConfirming, false, oneOwed, confirmDeadline, true},
		{"after the deadline", StateConfirming, false, oneOwed, confirmDeadline.Add(time.Hour), true},
		{"no deadline", StateConfirming, true, oneOwed, confirmDeadline.Add(time.Hour), false},
		{"nothing to confirm", StateConfirming, false, nil, before, true},
		{"closed", StateClosed, false, allFinal, confirmDeadline.Add(time.Hour), false},
		{"finalized already", StateFinalized, false, allFinal, confirmDeadline.Add(time.Hour), false},
		{"cancelled", StateCancelled, false, nil, confirmDeadline.Add(time.Hour), false},
	} {
		p := confirmingPoll()
		p.State = tc.state
		if tc.noDue {
			p.ConfirmationDeadline = time.Time{}
		}
		if got := PollSettled(p, tc.cs, tc.now); got != tc.want {
			t.Errorf("%s: settled %v, want %v", tc.name, got, tc.want)
		}
	}
}

// reconcileFixture is a poll of seven whose recorded votes and confirmations a test sets.
type reconcileFixture struct {
	poll   *Poll
	tally  *Tally
	cs     []Confirmation
	voters map[int64]*Voter
}

func newReconcileFixture(p *Poll) *reconcileFixture {
	f := &reconcileFixture{poll: p, tally: &Tally{Poll: p, Counts: make([]int, len(p.Options)), Choices: make([][]Voter, len(p.Options))},
		voters: map[int64]*Voter{}}
	for id := int64(1); id <= int64(p.Eligible); id++ {
		f.voters[id] = &Voter{PersonID: id, FullName: "Đại biểu"}
	}
	return f
}

// vote records person's choice; a person never given one is missing.
func (f *reconcileFixture) vote(person int64, options ...int) {
	f.tally.Voted++
	for _, o := range options {
		f.tally.Counts[o]++
		f.tally.Choices[o] = append(f.tally.Choices[o], *f.voters[person])
	}
}

// confirm issues person's confirmation of their vote and takes it to status, with the
// written choice of a mismatch.
func (f *reconcileFixture) confirm(t *testing.T, person int64, status string, options []int, written ...int) {
	t.Helper()
	v := &VoteRecord{ID: 40 + person, PollID: f.poll.ID, PersonID: person, Options: options, Source: SourceZalo, RecordTime: t0}
	c, err := NewConfirmation(10+person, f.poll, v, t0, confirmDeadline)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Hour)
	switch status {
	case inAwaiting:
	case inSigned:
		_, err = c.Sign(at, "people/x", nil)
	case inMismatch, inResolved:
		if _, err = c.RecordPaper(at, "tokens/1", written, f.poll, nil); err == nil && status == inResolved {
			_, err = c.Resolve(at, "people/1", "phiếu ghi được tính")
		}
	case inRejected:
		_, err = c.Reject(at, "people/x", "bad_signature", "x", nil)
	case inDeclined:
		_, err = c.Decline(at, "tokens/1", "không xác nhận", written, f.poll)
	case inOverdue:
		c.MarkOverdue(confirmDeadline)
	}
	if err != nil {
		t.Fatal(err)
	}
	f.cs = append(f.cs, *c)
}

func (f *reconcileFixture) reconcile() *Reconciliation {
	for id := int64(1); id <= int64(f.poll.Eligible); id++ {
		voted := false
		for _, vs := range f.tally.Choices {
			for _, v := range vs {
				voted = voted || v.PersonID == id
			}
		}
		if !voted {
			f.tally.Missing = append(f.tally.Missing, *f.voters[id])
		}
	}
	f.tally.Decide()
	return Reconcile(f.tally, f.cs)
}

// The reconciliation sets the recorded votes beside the written choices that count, and
// decides the confirmed result under the poll's rule over every eligible delegate: a
// confirmation missing is a vote missing.
func TestReconcile(t *testing.T) {
	yes, no, abstain := []int{0}, []int{1}, []int{2}
	t.Run("passes on the votes, fails on the confirmations", func(t *testing.T) {
		f := newReconcileFixture(confirmingPoll())
		for id := int64(1); id <= 5; id++ {
			f.vote(id, 0)
		}
		f.vote(6, 1) // 7 never voted
		f.confirm(t, 1, inSigned, yes)
		f.confirm(t, 2, inSigned, yes)
		f.confirm(t, 3, inAwaiting, yes)
		f.confirm(t, 4, inDeclined, yes)
		f.confirm(t, 5, inOverdue, yes)
		f.confirm(t, 6, inSigned, no)
		r := f.reconcile()
		if r.Recorded.Outcome != OutcomePassed || r.Recorded.Required != 4 {
			t.Fatalf("recorded: %s, required %d", r.Recorded.Outcome, r.Recorded.Required)
		}
		want := ConfirmedTally{Counts: []int{2, 1, 0}, Confirmed: 3, Required: 4, Outcome: OutcomeFailed}
		if !reflect.DeepEqual(r.Confirmed, want) || r.Official || r.Poll != f.poll {
			t.Errorf("confirmed %+v, official %v; want %+v", r.Confirmed, r.Official, want)
		}
		if len(r.Rows) != 7 {
			t.Fatalf("%d rows", len(r.Rows))
		}
		for i, row := range r.Rows {
			id := int64(i + 1)
			wantRecorded := map[int64][]int{1: yes, 2: yes, 3: yes, 4: yes, 5: yes, 6: no}[id]
			counted := id == 1 || id == 2 || id == 6
			if row.Voter.PersonID != id || !slices.Equal(row.Recorded, wantRecorded) || row.Counted != counted ||
				(row.Confirmation == nil) != (id == 7) || row.Confirmation != nil && row.Confirmation.PersonID != id {
				t.Errorf("row %d: %+v", id, row)
			}
		}
	})
	t.Run("a resolved mismatch counts what was written", func(t *testing.T) {
		f := newReconcileFixture(confirmingPoll())
		for id := int64(1); id <= 7; id++ {
			f.vote(id, 1)
		}
		for id := int64(1); id <= 3; id++ {
			f.confirm(t, id, inResolved, no, 0) // voted against on Zalo, wrote in favour
		}
		f.confirm(t, 4, inMismatch, no, 0) // not resolved: not counted
		f.confirm(t, 5, inSigned, no)
		f.confirm(t, 6, inDeclined, no, 0) // a decline's choice never counts
		f.confirm(t, 7, inRejected, no)
		r := f.reconcile()
		want := ConfirmedTally{Counts: []int{3, 1, 0}, Confirmed: 4, Required: 4, Outcome: OutcomeFailed}
		if r.Recorded.Outcome != OutcomeFailed || !reflect.DeepEqual(r.Confirmed, want) {
			t.Errorf("recorded %s; confirmed %+v, want %+v", r.Recorded.Outcome, r.Confirmed, want)
		}
	})
	t.Run("finalized and passed, a deactivated delegate counted", func(t *testing.T) {
		p := confirmingPoll()
		p.State = StateFinalized
		f := newReconcileFixture(p)
		f.voters[2].Deactivated = true
		for id := int64(1); id <= 6; id++ {
			f.vote(id, 0)
		}
		f.vote(7, 2)
		for id := int64(1); id <= 4; id++ {
			f.confirm(t, id, inSigned, yes)
		}
		f.confirm(t, 5, inOverdue, yes)
		f.confirm(t, 6, inOverdue, yes)
		f.confirm(t, 7, inSigned, abstain)
		r := f.reconcile()
		want := ConfirmedTally{Counts: []int{4, 0, 1}, Confirmed: 5, Required: 4, Outcome: OutcomePassed}
		if !reflect.DeepEqual(r.Confirmed, want) || !r.Official {
			t.Errorf("confirmed %+v, official %v; want %+v", r.Confirmed, r.Official, want)
		}
		if row := r.Rows[1]; !row.Voter.Deactivated || !row.Counted {
			t.Errorf("the deactivated delegate's row: %+v", row)
		}
	})
	t.Run("two thirds of all", func(t *testing.T) {
		p := confirmingPoll()
		p.Rule = RuleTwoThirdsOfAll
		f := newReconcileFixture(p)
		for id := int64(1); id <= 7; id++ {
			f.vote(id, 0)
			f.confirm(t, id, map[bool]string{true: inSigned, false: inAwaiting}[id <= 4], yes)
		}
		r := f.reconcile()
		if r.Confirmed.Required != 5 || r.Confirmed.Outcome != OutcomeFailed || r.Recorded.Outcome != OutcomePassed {
			t.Errorf("confirmed %+v, recorded %s", r.Confirmed, r.Recorded.Outcome)
		}
	})
	t.Run("majority of cast counts the confirmed only", func(t *testing.T) {
		p := confirmingPoll()
		p.Rule = RuleMajorityOfCast
		f := newReconcileFixture(p)
		for id := int64(1); id <= 7; id++ {
			f.vote(id, map[bool]int{true: 0, false: 1}[id <= 4])
		}
		f.confirm(t, 1, inSigned, yes)
		f.confirm(t, 2, inSigned, yes)
		f.confirm(t, 5, inSigned, no)
		r := f.reconcile()
		want := ConfirmedTally{Counts: []int{2, 1, 0}, Confirmed: 3, Required: 2, Outcome: OutcomePassed}
		if !reflect.DeepEqual(r.Confirmed, want) {
			t.Errorf("confirmed %+v, want %+v", r.Confirmed, want)
		}
	})
	t.Run("an opinion poll decides nothing", func(t *testing.T) {
		p := confirmingPoll()
		p.Kind, p.Rule, p.MultipleChoice, p.Options = KindOpinion, RuleNone, true, []string{"A", "B", "C"}
		f := newReconcileFixture(p)
		f.vote(1, 0, 2)
		f.vote(2, 1)
		f.confirm(t, 1, inSigned, []int{0, 2})
		f.confirm(t, 2, inResolved, []int{1}, 0, 1)
		r := f.reconcile()
		want := ConfirmedTally{Counts: []int{2, 1, 1}, Confirmed: 2, Outcome: OutcomeNotApplicable}
		if !reflect.DeepEqual(r.Confirmed, want) || r.Recorded.Outcome != OutcomeNotApplicable {
			t.Errorf("confirmed %+v, want %+v; recorded %s", r.Confirmed, want, r.Recorded.Outcome)
		}
		if !slices.Equal(r.Rows[0].Recorded, []int{0, 2}) || r.Rows[2].Recorded != nil || r.Rows[2].Confirmation != nil {
			t.Errorf("rows %+v", r.Rows)
		}
	})
	t.Run("a closed poll is pending", func(t *testing.T) {
		p := confirmingPoll()
		p.State = StateClosed
		f := newReconcileFixture(p)
		f.vote(1, 0)
		r := f.reconcile()
		if r.Confirmed.Outcome != OutcomePending || r.Confirmed.Confirmed != 0 || r.Official {
			t.Errorf("confirmed %+v", r.Confirmed)
		}
	})
}

// bindTo binds p to the certificate with this fingerprint.
func bindTo(p *Person, fingerprint string) *Person {
	p.SigningIdentity = SigningIdentity{Kind: IdentityCertSHA256, Value: fingerprint}
	return p
}

func signatureBy(fingerprint string) DocumentSignature {
	return DocumentSignature{SignerInfo: SignerInfo{Subject: "CN=" + fingerprint, Fingerprint: fingerprint}}
}

func timestamp() DocumentSignature {
	return DocumentSignature{SignerInfo: SignerInfo{Subject: "CN=TSA", Fingerprint: "tsa"}, Timestamp: true}
}

// CheckSigner: every signature but a document timestamp is the delegate's own.
func TestCheckSigner(t *testing.T) {
	delegate := func() *Person { return &Person{ID: 5, FullName: "Lê Văn Năm", Delegate: true, Active: true} }
	ab12, cd34 := "ab12"+strings.Repeat("0", 60), "cd34"+strings.Repeat("0", 60)
	good, other := signatureBy(ab12), signatureBy(cd34)
	for _, tc := range []struct {
		name   string
		person *Person
		sigs   []DocumentSignature
		reason string // "" accepts
		last   string // the fingerprint of the signature returned
		says   []string
	}{
		{"signed", bindTo(delegate(), ab12), []DocumentSignature{good, timestamp()}, "", ab12, nil},
		{"signed twice", bindTo(delegate(), ab12), []DocumentSignature{good, timestamp(), good}, "", ab12, nil},
		{"no signatures", bindTo(delegate(), ab12), nil, "unsigned", "", nil},
		{"timestamps only", bindTo(delegate(), ab12), []DocumentSignature{timestamp(), timestamp()}, "unsigned", "", nil},
		{"unbound", delegate(), []DocumentSignature{good}, "unbound", "", []string{"Lê Văn Năm (people/5) has no signing identity",
			"bieuquyet people update people/5 --signing-identity", "then submit again"}},
		{"wrong signer", bindTo(delegate(), ab12), []DocumentSignature{other}, "wrong_signer", "", []string{"signature 1", "cd34", "Lê Văn Năm (people/5)"}},
		{"the delegate and another", bindTo(delegate(), ab12), []DocumentSignature{good, other}, "wrong_signer", "", []string{"signature 2", "cd34"}},
		{"another and the delegate", bindTo(delegate(), ab12), []DocumentSignature{other, good}, "wrong_signer", "", []string{"signature 1"}},
	} {
		s, rej := CheckSigner(tc.person, tc.sigs)
		if tc.reason == "" {
			if rej != nil || s == nil || s.Fingerprint != tc.last || s.Timestamp {
				t.Errorf("%s: %+v, %v", tc.name, s, rej)
			}
			continue
		}
		if rej == nil || rej.Reason != tc.reason || s != nil {
			t.Errorf("%s: %+v, %+v; want %s", tc.name, s, rej, tc.reason)
			continue
		}
		for _, w := range tc.says {
			if !strings.Contains(rej.Message, w) {
				t.Errorf("%s: %q does not say %q", tc.name, rej.Message, w)
			}
		}
	}
}

// Re-issuing settles a mismatch (only an unresolved one) with a new document confirming
// the corrected choice, awaiting a signature again; replaying its step gives the same
// confirmation; a new mismatch afterwards can be settled again.
func TestReissue(t *testing.T) {
	p := confirmingPoll()
	at := t0.Add(2 * time.Hour)
	doc := []byte("%PDF new")
	for _, status := range everyStatus {
		if status == inMismatch {
			continue
		}
		c, _ := confirmationIn(t, status)
		before := *c
		if _, err := c.Reissue(at, "people/1", "sửa", []int{1}, p, doc, nil); ErrorCode(err) != CodeFailedPrecondition {
			t.Errorf("re-issue from %s: %v, want failed_precondition", status, err)
		}
		if !reflect.DeepEqual(*c, before) {
			t.Errorf("a refused re-issue from %s changed the confirmation", status)
		}
	}
	c, events := confirmationIn(t, inMismatch)
	if _, err := c.Reissue(at, "people/1", "sửa", nil, p, doc, nil); ErrorCode(err) != CodeInvalid {
		t.Errorf("without a corrected choice: %v", err)
	}
	if _, err := c.Reissue(at, "people/1", "", []int{1}, p, doc, nil); ErrorCode(err) != CodeInvalid {
		t.Errorf("without a note: %v", err)
	}
	old := &ConfirmationFile{Kind: FileIssued, SHA256: c.SHA256}
	e, err := c.Reissue(at, "people/1", "Văn phòng ghi nhầm", []int{1}, p, doc, old)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != StatusAwaitingSignature || !slices.Equal(c.Options, []int{1}) || c.Written != nil || c.Resolution != nil ||
		c.Reissued == nil || c.Reissued.Note != "Văn phòng ghi nhầm" || !c.IssueTime.Equal(at) || c.Size != int64(len(doc)) || c.Evidence != nil {
		t.Fatalf("re-issued: %+v", c)
	}
	if e.Action != ActionReissued || e.From != StatusMismatch || e.To != StatusAwaitingSignature || e.File != old || !slices.Equal(e.Written, []int{1}) {
		t.Errorf("the step: %+v", e)
	}
	replayed := issued(t, 5, OptionInFavour)
	for _, ev := range append(events, e) {
		replayed.Apply(ev)
	}
	replayed.SHA256, replayed.Size = c.SHA256, c.Size // the store keeps the document in the row
	if !reflect.DeepEqual(*replayed, *c) {
		t.Errorf("replay:\n%+v\nwant\n%+v", replayed, c)
	}
	// Signed as re-issued: the corrected choice is written and counts.
	if _, err := c.Sign(at.Add(time.Hour), "people/5", signedPDF); err != nil {
		t.Fatal(err)
	}
	if w, ok := c.Counted(); !ok || !slices.Equal(w, []int{1}) {
		t.Errorf("counted %v, %v", w, ok)
	}
}
