package bieuquyet

import "time"

// A poll's life is decided here and only here; the store loads a poll, calls one of these
// methods and saves what it decided, in one transaction. A transition that the poll's
// state does not allow is CodeFailedPrecondition.
//
//	OPEN ──Close/CloseAtDeadline──▶ CLOSED ──StartConfirming──▶ CONFIRMING ──Finalize──▶ FINALIZED
//	  └──────────Cancel──────────────┴──▶ CANCELLED

// DefaultConfirmationPeriod is how long delegates have to confirm in writing when neither
// the caller nor the poll names a confirmation deadline.
const DefaultConfirmationPeriod = 7 * 24 * time.Hour

// Electorate returns who may vote in a poll held in g: its leader and its delegate
// members, never staff (Điều 7.2; staff receive messages, they do not vote).
func (g *Group) Electorate() []int64 {
	var ids []int64
	for _, m := range g.Members {
		if m.Role.Votes() {
			ids = append(ids, m.PersonID)
		}
	}
	return ids
}

// Open starts a new poll, opened by body in group by actor at now: it applies Điều 7.2
// (who may poll where) and freezes the electorate (Điều 3.5: nobody added later votes).
// It returns the electorate, which the store keeps with the names of the moment.
//
// That the deadline lies ahead is checked here, not in Validate: a retry of a poll already
// opened (its request id known to the store, which looks it up first) must get that poll
// back even once its deadline has passed.
func (p *Poll) Open(body, group *Group, actor string, now time.Time) ([]int64, error) {
	if !p.Deadline.After(now) {
		return nil, Invalid("poll.deadline", "must be in the future")
	}
	if err := CheckVenue(body, group); err != nil {
		return nil, err
	}
	voters := group.Electorate()
	if len(voters) == 0 {
		return nil, Errorf(CodeFailedPrecondition, "%q has no delegates to vote", group.DisplayName)
	}
	p.BodyID, p.GroupID = body.ID, group.ID
	p.State, p.OpenedBy = StateOpen, actor
	p.CreateTime, p.UpdateTime = now.UTC(), now.UTC()
	p.ElectorateHash, p.Eligible = ElectorateHash(voters), len(voters)
	return voters, nil
}

// AcceptsVotes says whether the poll takes votes at now: only while open and before its
// deadline, even when the scheduler has not closed it yet.
func (p *Poll) AcceptsVotes(now time.Time) error {
	switch {
	case p.State != StateOpen:
		return Errorf(CodeFailedPrecondition, "%s is %s: votes are recorded only while a poll is open", PollName(p.ID), p.State)
	case !now.Before(p.Deadline):
		return Errorf(CodeFailedPrecondition, "%s passed its deadline at %s", PollName(p.ID), p.Deadline.Format("2006-01-02 15:04:05 MST"))
	}
	return nil
}

// AcceptVote says whether a choice of person may be recorded at now. voter is the
// person's entry in the frozen electorate, nil when they have none; person is who they
// are in the roster today.
func (p *Poll) AcceptVote(now time.Time, person *Person, voter *Voter) error {
	if err := p.AcceptsVotes(now); err != nil {
		return err
	}
	who := PersonLabel(person.FullName, person.ID)
	switch {
	case !person.Delegate && voter == nil:
		return Errorf(CodeFailedPrecondition, "%s is staff, not a delegate: staff never vote", who)
	case voter == nil:
		return Errorf(CodeFailedPrecondition, "%s is not in the electorate of %s: it was frozen when the poll opened, and only the group's delegates of that moment vote (Điều 3.5)", who, PollName(p.ID))
	case !person.Active:
		return Errorf(CodeFailedPrecondition, "%s was deactivated after %s opened: their earlier vote stays counted, no new one is taken", who, PollName(p.ID))
	}
	return nil
}

// Close closes an open poll at now.
func (p *Poll) Close(now time.Time) error {
	if p.State != StateOpen {
		return Errorf(CodeFailedPrecondition, "%s is %s; only an open poll can be closed", PollName(p.ID), p.State)
	}
	p.State, p.CloseTime, p.UpdateTime = StateClosed, now.UTC(), now.UTC()
	return nil
}

// CloseAtDeadline closes an open poll whose deadline has passed by now, as of its
// deadline, and reports whether it did.
func (p *Poll) CloseAtDeadline(now time.Time) bool {
	if p.State != StateOpen || now.Before(p.Deadline) {
		return false
	}
	p.State, p.CloseTime, p.UpdateTime = StateClosed, p.Deadline.UTC(), now.UTC()
	return true
}

// Cancel cancels an open or closed poll, for a reason that is kept (Điều 9.4: nothing is
// removed silently). Once confirmations are issued the poll can no longer be cancelled.
func (p *Poll) Cancel(now time.Time, reason string) error {
	if p.State != StateOpen && p.State != StateClosed {
		return Errorf(CodeFailedPrecondition, "%s is %s; only an open or closed poll can be cancelled", PollName(p.ID), p.State)
	}
	if reason == "" {
		return Invalid("reason", "is required: a cancellation is recorded with its reason")
	}
	if p.CloseTime.IsZero() {
		p.CloseTime = now.UTC()
	}
	p.State, p.CancelReason, p.UpdateTime = StateCancelled, reason, now.UTC()
	return nil
}

// StartConfirming moves a closed poll to CONFIRMING, when the written confirmations are
// issued. The confirmation deadline is the one given, else the poll's own, else
// DefaultConfirmationPeriod from now; it must lie ahead.
func (p *Poll) StartConfirming(now, deadline time.Time) error {
	if p.State != StateClosed {
		return Errorf(CodeFailedPrecondition, "%s is %s; confirmations are issued for a closed poll", PollName(p.ID), p.State)
	}
	switch {
	case !deadline.IsZero():
	case !p.ConfirmationDeadline.IsZero():
		deadline = p.ConfirmationDeadline
	default:
		deadline = now.Add(DefaultConfirmationPeriod)
	}
	if !deadline.After(now) {
		return Invalid("confirmation_deadline", "%s has passed", deadline.UTC().Format(time.RFC3339))
	}
	p.State, p.ConfirmationDeadline, p.UpdateTime = StateConfirming, deadline.UTC(), now.UTC()
	return nil
}

// Finalize makes a confirming poll's result official.
func (p *Poll) Finalize(now time.Time) error {
	if p.State != StateConfirming {
		return Errorf(CodeFailedPrecondition, "%s is %s; only a poll whose confirmations are issued can be finalized", PollName(p.ID), p.State)
	}
	p.State, p.UpdateTime = StateFinalized, now.UTC()
	return nil
}
