package bieuquyet

import (
	"slices"
	"time"
)

// A confirmation's life after it is issued (issue 6/7):
//
//	AWAITING_SIGNATURE → SIGNED    the written choice equals the issued one
//	                   → MISMATCH  a paper copy with another choice; the leader resolves it
//	                   → REJECTED  a submission that failed verification; another may follow
//	                   → DECLINED  the delegate declined, with their reason (and choice)
//	                   → OVERDUE   the confirmation deadline passed first
//
// REJECTED moves on as AWAITING_SIGNATURE does. SIGNED, DECLINED, OVERDUE and a resolved
// MISMATCH are final: the poll is finalized when every confirmation is, or at its
// confirmation deadline. Whatever arrives for an OVERDUE confirmation is still recorded,
// marked late, and changes neither its status nor the result.

// ConfirmationAction names one step of a confirmation's history.
type ConfirmationAction string

// The steps.
const (
	ActionSigned   ConfirmationAction = "signed"   // a digitally signed copy verified
	ActionPaper    ConfirmationAction = "paper"    // the Office attested an ink-signed paper copy
	ActionRejected ConfirmationAction = "rejected" // a submission failed verification
	ActionDeclined ConfirmationAction = "declined"
	ActionOverdue  ConfirmationAction = "overdue"
	ActionResolved ConfirmationAction = "resolved" // the body's leader settled a mismatch
	ActionReissued ConfirmationAction = "reissued" // the leader re-issued it with the corrected choice
)

// FileKind says what a returned file is.
type FileKind string

// The kinds of returned files.
const (
	FileSignedPDF FileKind = "signed_pdf"
	FileScan      FileKind = "scan"   // a scan of the ink-signed paper: PDF, PNG or JPEG
	FileIssued    FileKind = "issued" // a document issued before a re-issue superseded it
)

// SignerInfo is what a verified digital signature says of its signer.
type SignerInfo struct {
	Subject     string
	Issuer      string
	Serial      string
	Fingerprint string    // hex SHA-256 of the signing certificate
	SigningTime time.Time // as claimed by the signature, checked to lie between issue and receipt
}

// ConfirmationFile is a file that came back for a confirmation. Content is kept for
// accepted files only: a rejected one is known by its digest and size.
type ConfirmationFile struct {
	ID          int64
	Kind        FileKind
	MediaType   string // application/pdf, image/png or image/jpeg
	SHA256      string
	Size        int64
	Signer      *SignerInfo // for a signed PDF that verified
	ReceiveTime time.Time
	ReceivedBy  string // the actor who sent it
	Content     []byte
}

// ConfirmationEvent is one step of a confirmation's history.
type ConfirmationEvent struct {
	ID             int64
	ConfirmationID int64
	Time           time.Time
	Actor          string
	Action         ConfirmationAction
	From, To       ConfirmationStatus
	// Written is the choice the delegate wrote (option indices, ascending): the issued
	// choice for a signed copy, what the paper shows, or what a decline states. Nil when
	// nothing was written.
	Written []int
	// Reason is a rejection's code (e.g. "bad_signature") or a resolution's kind.
	Reason string
	// Detail is a rejection's message, a decline's stated reason or a resolution's note.
	Detail string
	Late   bool // arrived after the confirmation was overdue: recorded, not counted
	File   *ConfirmationFile
	// Document is a re-issue's new document; the one it supersedes is File. Written is
	// then the corrected choice the new document confirms, and Time its issue time.
	Document []byte
}

// Resolution kinds: how the body's leader settled a mismatch.
const (
	ResolutionWrittenCounts = "written_counts"
	ResolutionReissued      = "reissued"
)

// Resolution is how a mismatch was settled.
type Resolution struct {
	Kind  string
	Note  string
	Actor string
	Time  time.Time
}

// Final reports whether the confirmation's status will not change: signed, declined,
// overdue, or a mismatch the leader resolved.
func (c *Confirmation) Final() bool {
	switch c.Status {
	case StatusSigned, StatusDeclined, StatusOverdue:
		return true
	case StatusMismatch:
		return c.Resolution != nil
	}
	return false
}

// Counted returns the written choice the confirmed tally counts: that of a signed
// confirmation or of a resolved mismatch.
func (c *Confirmation) Counted() ([]int, bool) {
	switch {
	case c.Status == StatusSigned, c.Status == StatusMismatch && c.Resolution != nil:
		return c.Written, true
	}
	return nil, false
}

// receive checks that something may come back for c: awaiting, or rejected before. An
// overdue confirmation still receives, late. It does not look at the clock: the store
// makes a confirmation past its deadline overdue (MarkOverdue) before any step, so that
// step is recorded before what arrived late.
func (c *Confirmation) receive(what string) (late bool, err error) {
	switch c.Status {
	case StatusAwaitingSignature, StatusRejected:
		return false, nil
	case StatusOverdue:
		return true, nil
	case StatusSigned:
		return false, Errorf(CodeFailedPrecondition, "%s is signed already: there is nothing more to %s", c.Name(), what)
	case StatusMismatch:
		if c.Resolution != nil {
			return false, Errorf(CodeFailedPrecondition, "%s has a written choice already, a mismatch %s resolved: there is nothing more to %s", c.Name(), c.Resolution.Actor, what)
		}
		return false, Errorf(CodeFailedPrecondition, "%s has a written choice already (a mismatch for the leader to resolve): there is nothing more to %s", c.Name(), what)
	case StatusDeclined:
		return false, Errorf(CodeFailedPrecondition, "%s was declined: there is nothing more to %s", c.Name(), what)
	}
	return false, Errorf(CodeFailedPrecondition, "%s is %s", c.Name(), c.Status)
}

// step applies a new event to c and returns it: a late one changes nothing.
func (c *Confirmation) step(e *ConfirmationEvent) *ConfirmationEvent {
	e.ConfirmationID, e.From = c.ID, c.Status
	if e.Late {
		e.To = c.Status
	}
	c.Apply(e)
	return e
}

// MarkOverdue makes c overdue when its deadline has passed and nothing final came back.
// It returns nil when c is not due.
func (c *Confirmation) MarkOverdue(now time.Time) *ConfirmationEvent {
	if now.Before(c.Deadline) || (c.Status != StatusAwaitingSignature && c.Status != StatusRejected) {
		return nil
	}
	return c.step(&ConfirmationEvent{Time: now.UTC(), Actor: "system:scheduler", Action: ActionOverdue, To: StatusOverdue})
}

// Sign records a digitally signed copy that verified: the delegate signed the issued
// document, so the written choice is the issued one.
func (c *Confirmation) Sign(now time.Time, actor string, f *ConfirmationFile) (*ConfirmationEvent, error) {
	late, err := c.receive("sign")
	if err != nil {
		return nil, err
	}
	return c.step(&ConfirmationEvent{Time: now.UTC(), Actor: actor, Action: ActionSigned, To: StatusSigned,
		Written: slices.Clone(c.Options), Late: late, File: f}), nil
}

// RecordPaper records an ink-signed paper copy the Office attests, with the choice the
// delegate marked on it: SIGNED when it is the issued choice, else MISMATCH.
func (c *Confirmation) RecordPaper(now time.Time, actor string, written []int, p *Poll, f *ConfirmationFile) (*ConfirmationEvent, error) {
	late, err := c.receive("attest")
	if err != nil {
		return nil, err
	}
	written, err = writtenChoice(p, written, c.Options)
	if err != nil {
		return nil, err
	}
	to := StatusSigned
	if !slices.Equal(written, c.Options) {
		to = StatusMismatch
	}
	return c.step(&ConfirmationEvent{Time: now.UTC(), Actor: actor, Action: ActionPaper, To: to, Written: written, Late: late, File: f}), nil
}

// Reject records a submission that failed verification, with its reason; another may
// follow.
func (c *Confirmation) Reject(now time.Time, actor, reason, detail string, f *ConfirmationFile) (*ConfirmationEvent, error) {
	late, err := c.receive("submit")
	if err != nil {
		return nil, err
	}
	return c.step(&ConfirmationEvent{Time: now.UTC(), Actor: actor, Action: ActionRejected, To: StatusRejected,
		Reason: reason, Detail: detail, Late: late, File: f}), nil
}

// Decline records that the delegate declined to confirm, with their stated reason and,
// when they stated one, their choice.
func (c *Confirmation) Decline(now time.Time, actor, reason string, choice []int, p *Poll) (*ConfirmationEvent, error) {
	reason = CleanText(reason)
	if err := checkNote("reason", reason, "the delegate's stated reason for declining"); err != nil {
		return nil, err
	}
	late, err := c.receive("decline")
	if err != nil {
		return nil, err
	}
	var written []int
	if len(choice) > 0 {
		if written, err = writtenChoice(p, choice, nil); err != nil {
			return nil, err
		}
	}
	return c.step(&ConfirmationEvent{Time: now.UTC(), Actor: actor, Action: ActionDeclined, To: StatusDeclined,
		Written: written, Detail: reason, Late: late}), nil
}

// Resolve records how the body's leader settled a mismatch: the written choice counts.
func (c *Confirmation) Resolve(now time.Time, actor, note string) (*ConfirmationEvent, error) {
	note = CleanText(note)
	switch {
	case c.Status != StatusMismatch:
		return nil, Errorf(CodeFailedPrecondition, "%s is %s: only a mismatch is resolved", c.Name(), c.Status)
	case c.Resolution != nil:
		return nil, Errorf(CodeFailedPrecondition, "%s was resolved already by %s", c.Name(), c.Resolution.Actor)
	}
	if err := checkNote("note", note, "how the mismatch was settled"); err != nil {
		return nil, err
	}
	return c.step(&ConfirmationEvent{Time: now.UTC(), Actor: actor, Action: ActionResolved, To: StatusMismatch,
		Written: slices.Clone(c.Written), Reason: ResolutionWrittenCounts, Detail: note}), nil
}

// Reissue records that the body's leader settled a mismatch by re-issuing the
// confirmation with the corrected choice: doc is the new document, issued now, and the
// confirmation awaits the delegate's signature on it again, by the same deadline. The
// document it supersedes is kept as the step's file.
func (c *Confirmation) Reissue(now time.Time, actor, note string, choice []int, p *Poll, doc []byte, superseded *ConfirmationFile) (*ConfirmationEvent, error) {
	note = CleanText(note)
	switch {
	case c.Status != StatusMismatch:
		return nil, Errorf(CodeFailedPrecondition, "%s is %s: only a mismatch is re-issued", c.Name(), c.Status)
	case c.Resolution != nil:
		return nil, Errorf(CodeFailedPrecondition, "%s was resolved already by %s", c.Name(), c.Resolution.Actor)
	case len(doc) == 0:
		return nil, Errorf(CodeInvalid, "a re-issue needs its new document")
	}
	if err := checkNote("note", note, "why the confirmation is re-issued"); err != nil {
		return nil, err
	}
	corrected, err := writtenChoice(p, choice, nil)
	if err != nil {
		return nil, Invalid("options", "the corrected choice is required: %s", err)
	}
	e := c.step(&ConfirmationEvent{Time: now.UTC(), Actor: actor, Action: ActionReissued, To: StatusAwaitingSignature,
		Written: corrected, Reason: ResolutionReissued, Detail: note, File: superseded, Document: doc})
	c.SetDocument(doc)
	return e, nil
}

// checkNote checks a required free text of a confirmation's history.
func checkNote(field, s, what string) error {
	if s == "" {
		return Invalid(field, "is required: %s", what)
	}
	var vs Violations
	checkTextLimits(&vs, field, s, true, 1000, Unprintable)
	return vs.Err("invalid " + field)
}

// writtenChoice checks a written choice against the poll; none given means the issued
// one.
func writtenChoice(p *Poll, written, issued []int) ([]int, error) {
	if len(written) == 0 {
		if issued == nil {
			return nil, Invalid("written_options", "is required")
		}
		return slices.Clone(issued), nil
	}
	if err := p.CheckChoice("written_options", written); err != nil {
		return nil, err
	}
	w := slices.Clone(written)
	slices.Sort(w)
	return w, nil
}

// Apply replays an event onto c: the store rebuilds a confirmation from its history.
func (c *Confirmation) Apply(e *ConfirmationEvent) {
	if e.Late {
		return
	}
	c.Status, c.StatusTime = e.To, e.Time
	if e.File != nil {
		c.Evidence = e.File
	}
	switch e.Action {
	case ActionSigned, ActionPaper, ActionDeclined:
		// What came back supersedes a rejection before: its reason, and its file, which is
		// no evidence of a decline.
		c.Written = e.Written
		c.Reason, c.Detail, c.Evidence = "", e.Detail, e.File
	case ActionRejected:
		c.Reason, c.Detail = e.Reason, e.Detail
	case ActionResolved:
		c.Resolution = &Resolution{Kind: e.Reason, Note: e.Detail, Actor: e.Actor, Time: e.Time}
	case ActionReissued:
		// A new document confirms the corrected choice and awaits a signature; what came
		// back for the old one is history.
		c.Options, c.IssueTime = slices.Clone(e.Written), e.Time
		c.Written, c.WrittenChoice, c.Reason, c.Detail, c.Evidence = nil, nil, "", "", nil
		c.Reissued = &Resolution{Kind: ResolutionReissued, Note: e.Detail, Actor: e.Actor, Time: e.Time}
	}
}

// PollSettled reports whether a confirming poll can be finalized: every confirmation is
// final, or the confirmation deadline has passed.
func PollSettled(p *Poll, cs []Confirmation, now time.Time) bool {
	if p.State != StateConfirming {
		return false
	}
	if !p.ConfirmationDeadline.IsZero() && !now.Before(p.ConfirmationDeadline) {
		return true
	}
	for i := range cs {
		if !cs[i].Final() {
			return false
		}
	}
	return true
}

// Reconciliation sets a poll's recorded choices beside what was confirmed in writing.
type Reconciliation struct {
	Poll *Poll
	Rows []ReconciliationRow // one per delegate of the electorate, in person order
	// Recorded is the tally of the recorded votes, decided under the poll's rule.
	Recorded *Tally
	// Confirmed counts only the written choices of signed and resolved confirmations,
	// against the same eligible delegates: a missing confirmation is a missing vote.
	Confirmed ConfirmedTally
	Official  bool // the poll is finalized: Confirmed is its official result
}

// ReconciliationRow is one delegate's line.
type ReconciliationRow struct {
	Voter        Voter
	Recorded     []int         // the recorded choice; nil without a vote
	Confirmation *Confirmation // nil when none was issued (no vote)
	Counted      bool          // the written choice is in the confirmed tally
}

// ConfirmedTally is the count of written choices.
type ConfirmedTally struct {
	Counts    []int
	Confirmed int // delegates whose written choice counts
	Required  int
	Outcome   Outcome
}

// Reconcile builds the reconciliation from a decided tally of the recorded votes and the
// poll's confirmations.
func Reconcile(t *Tally, cs []Confirmation) *Reconciliation {
	p := t.Poll
	r := &Reconciliation{Poll: p, Recorded: t, Official: p.State == StateFinalized}
	recorded := map[int64][]int{}
	voters := map[int64]Voter{}
	for o, vs := range t.Choices {
		for _, v := range vs {
			recorded[v.PersonID] = append(recorded[v.PersonID], o)
			voters[v.PersonID] = v
		}
	}
	for _, v := range t.Missing {
		voters[v.PersonID] = v
	}
	byPerson := map[int64]*Confirmation{}
	for i := range cs {
		byPerson[cs[i].PersonID] = &cs[i]
	}
	ids := make([]int64, 0, len(voters))
	for id := range voters {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	r.Confirmed.Counts = make([]int, len(p.Options))
	for _, id := range ids {
		row := ReconciliationRow{Voter: voters[id], Recorded: recorded[id], Confirmation: byPerson[id]}
		if c := row.Confirmation; c != nil {
			if w, ok := c.Counted(); ok {
				row.Counted = true
				r.Confirmed.Confirmed++
				for _, o := range w {
					if o >= 0 && o < len(r.Confirmed.Counts) {
						r.Confirmed.Counts[o]++
					}
				}
			}
		}
		r.Rows = append(r.Rows, row)
	}
	required, ok := p.Rule.Required(p.Eligible, r.Confirmed.Confirmed)
	if ok {
		r.Confirmed.Required = required
	}
	switch {
	case !ok || p.Kind == KindOpinion || p.State == StateCancelled:
		r.Confirmed.Outcome = OutcomeNotApplicable
	case p.State != StateConfirming && p.State != StateFinalized:
		r.Confirmed.Outcome = OutcomePending
	case len(r.Confirmed.Counts) > OptionInFavour && r.Confirmed.Counts[OptionInFavour] >= required:
		r.Confirmed.Outcome = OutcomePassed
	default:
		r.Confirmed.Outcome = OutcomeFailed
	}
	return r
}

// CheckSigner checks that the delegate signed: every signature but a document timestamp
// is by a certificate bound to p's signing identity. It returns the delegate's last
// signature.
func CheckSigner(p *Person, sigs []DocumentSignature) (*DocumentSignature, *Rejection) {
	var last *DocumentSignature
	for i := range sigs {
		s := &sigs[i]
		if s.Timestamp {
			continue
		}
		if !p.SigningIdentity.Matches(s.Fingerprint, s.PersonalIDs) {
			if p.SigningIdentity.IsZero() {
				return nil, Reject("unbound", "%s has no signing identity, so no signature can be theirs: bind their certificate with "+
					"`bieuquyet people update %s --signing-identity cccd:NUMBER` (the CCCD in their certificate) or --signing-cert FILE.pem, then submit again",
					PersonLabel(p.FullName, p.ID), PersonName(p.ID))
			}
			return nil, Reject("wrong_signer", "signature %d is by %q (certificate sha256 %s), not by %s, whose signing identity is %s: a confirmation is signed by its delegate alone",
				i+1, s.Subject, s.Fingerprint, PersonLabel(p.FullName, p.ID), p.SigningIdentity)
		}
		last = s
	}
	if last == nil {
		return nil, Reject("unsigned", "the file carries no signature of the delegate, only document timestamps")
	}
	return last, nil
}
