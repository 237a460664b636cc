package bieuquyet

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

func pollIn(state PollState) *Poll {
	return &Poll{ID: 7, State: state, Deadline: t0.Add(time.Hour), Kind: KindVote, Options: VoteOptions, Rule: RuleMajorityOfAll}
}

// Every transition from every state: the allowed ones change the state, the rest are
// refused with FAILED_PRECONDITION and change nothing.
func TestPollTransitions(t *testing.T) {
	now := t0.Add(2 * time.Minute)
	transitions := map[string]struct {
		from map[PollState]bool
		to   PollState
		do   func(*Poll) error
	}{
		"close":   {map[PollState]bool{StateOpen: true}, StateClosed, func(p *Poll) error { return p.Close(now) }},
		"cancel":  {map[PollState]bool{StateOpen: true, StateClosed: true}, StateCancelled, func(p *Poll) error { return p.Cancel(now, "nhầm câu hỏi") }},
		"confirm": {map[PollState]bool{StateClosed: true}, StateConfirming, func(p *Poll) error { return p.StartConfirming(now, time.Time{}) }},
		"final":   {map[PollState]bool{StateConfirming: true}, StateFinalized, func(p *Poll) error { return p.Finalize(now) }},
	}
	for name, tr := range transitions {
		for _, from := range []PollState{StateOpen, StateClosed, StateConfirming, StateFinalized, StateCancelled} {
			p := pollIn(from)
			before := *p
			err := tr.do(p)
			if tr.from[from] {
				if err != nil || p.State != tr.to || !p.UpdateTime.Equal(now) {
					t.Errorf("%s from %s: %v, state %s; want %s", name, from, err, p.State, tr.to)
				}
				continue
			}
			if ErrorCode(err) != CodeFailedPrecondition {
				t.Errorf("%s from %s: %v, want failed_precondition", name, from, err)
			}
			if p.State != before.State || !p.UpdateTime.Equal(before.UpdateTime) || !p.CloseTime.Equal(before.CloseTime) {
				t.Errorf("%s from %s changed the poll although refused", name, from)
			}
		}
	}
}

func TestCloseAndCancelTimes(t *testing.T) {
	p := pollIn(StateOpen)
	if p.CloseAtDeadline(t0) {
		t.Fatal("closed before its deadline")
	}
	late := t0.Add(3 * time.Hour)
	if !p.CloseAtDeadline(late) || p.State != StateClosed || !p.CloseTime.Equal(p.Deadline) {
		t.Fatalf("CloseAtDeadline: state %s, close time %v; want closed as of the deadline", p.State, p.CloseTime)
	}
	if p.CloseAtDeadline(late) {
		t.Error("closed twice")
	}
	c := pollIn(StateClosed)
	c.CloseTime = t0
	if err := c.Cancel(late, "lý do"); err != nil || !c.CloseTime.Equal(t0) || c.CancelReason != "lý do" {
		t.Errorf("cancel of a closed poll: %v, close time %v, reason %q", err, c.CloseTime, c.CancelReason)
	}
	if err := pollIn(StateOpen).Cancel(late, ""); ErrorCode(err) != CodeInvalid {
		t.Errorf("cancel without reason: %v", err)
	}
}

func TestConfirmationDeadline(t *testing.T) {
	now := t0.Add(2 * time.Hour)
	given := now.Add(48 * time.Hour)
	own := now.Add(72 * time.Hour)
	for _, tc := range []struct {
		name      string
		own, give time.Time
		want      time.Time
		code      Code
	}{
		{"given wins", own, given, given, ""},
		{"poll's own", own, time.Time{}, own, ""},
		{"default", time.Time{}, time.Time{}, now.Add(DefaultConfirmationPeriod), ""},
		{"past", time.Time{}, now.Add(-time.Minute), time.Time{}, CodeInvalid},
	} {
		p := pollIn(StateClosed)
		p.ConfirmationDeadline = tc.own
		err := p.StartConfirming(now, tc.give)
		if ErrorCode(err) != tc.code || (tc.code == "" && !p.ConfirmationDeadline.Equal(tc.want)) {
			t.Errorf("%s: %v, deadline %v; want %v (%q)", tc.name, err, p.ConfirmationDeadline, tc.want, tc.code)
		}
	}
}

// Who may vote, and when: the electorate frozen at opening, active delegates only, and
// only while the poll is open and before its deadline.
func TestAcceptVote(t *testing.T) {
	delegate := &Person{ID: 5, FullName: "Lê Văn Năm", Delegate: true, Active: true}
	voter := &Voter{PersonID: 5, FullName: "Lê Văn Năm"}
	staff := &Person{ID: 9, FullName: "Trần Thư Ký", Active: true}
	latecomer := &Person{ID: 6, FullName: "Đỗ Mới Vào", Delegate: true, Active: true}
	gone := &Person{ID: 5, FullName: "Lê Văn Năm", Delegate: true}
	for _, tc := range []struct {
		name   string
		state  PollState
		at     time.Time
		person *Person
		voter  *Voter
		want   string // "" accepts; else a piece of the message
	}{
		{"delegate of the electorate", StateOpen, t0, delegate, voter, ""},
		{"staff", StateOpen, t0, staff, nil, "is staff, not a delegate: staff never vote"},
		{"added after opening", StateOpen, t0, latecomer, nil, "Đỗ Mới Vào (people/6) is not in the electorate of polls/7"},
		{"deactivated after opening", StateOpen, t0, gone, voter, "was deactivated after polls/7 opened"},
		{"closed poll", StateClosed, t0, delegate, voter, "polls/7 is closed"},
		{"at the deadline", StateOpen, t0.Add(time.Hour), delegate, voter, "passed its deadline"},
	} {
		err := pollIn(tc.state).AcceptVote(tc.at, tc.person, tc.voter)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.want != "" && (ErrorCode(err) != CodeFailedPrecondition || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v; want failed_precondition saying %q", tc.name, err, tc.want)
		}
	}
}

func TestOpenFreezesTheElectorate(t *testing.T) {
	body := &Group{ID: 3, Kind: KindCommittee, DisplayName: "HĐND - Ban Pháp chế", Members: []Member{
		{PersonID: 4, Role: RoleLeader}, {PersonID: 2, Role: RoleMember}, {PersonID: 8, Role: RoleStaff}}}
	p := &Poll{Deadline: t0.Add(time.Hour)}
	voters, err := p.Open(body, body, "people/4", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(voters) != 2 || p.Eligible != 2 || p.ElectorateHash != ElectorateHash([]int64{2, 4}) || p.State != StateOpen || p.OpenedBy != "people/4" {
		t.Errorf("Open: voters %v, poll %+v", voters, p)
	}
	empty := &Group{ID: 4, Kind: KindCommittee, DisplayName: "HĐND - Ban Trống", Members: []Member{{PersonID: 8, Role: RoleStaff}}}
	if _, err := (&Poll{Deadline: t0.Add(time.Hour)}).Open(empty, empty, "x", t0); ErrorCode(err) != CodeFailedPrecondition {
		t.Errorf("a group without delegates: %v", err)
	}
	// The deadline must lie ahead when the poll opens (a retry of an opened poll never
	// gets here: the store returns it first).
	if _, err := (&Poll{Deadline: t0}).Open(body, body, "x", t0); ErrorCode(err) != CodeInvalid || !strings.Contains(err.Error(), "poll.deadline: must be in the future") {
		t.Errorf("a deadline now: %v", err)
	}
}
