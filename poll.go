package bieuquyet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// PollKind says whether a poll decides (a vote) or gathers opinions.
type PollKind string

// The poll kinds of Điều 7.2: "biểu quyết" and "lấy ý kiến".
const (
	KindVote    PollKind = "vote"
	KindOpinion PollKind = "opinion"
)

// VoteOptions are the fixed options of a vote, in this order: in favour, against, abstain.
var VoteOptions = []string{"Tán thành", "Không tán thành", "Không biểu quyết"}

// OptionInFavour is the index of "Tán thành" in VoteOptions, the option decision rules
// count.
const OptionInFavour = 0

// MaxPollSpan bounds how far ahead a deadline may be.
const MaxPollSpan = 366 * 24 * time.Hour

// Opinion polls have between MinOptions and MaxOptions options.
const (
	MinOptions = 2
	MaxOptions = 20
)

// DecisionRule is how a vote's result is decided, chosen when the poll opens.
type DecisionRule string

// The decision rules. Vietnamese local-government law passes a council resolution with
// more than half of all delegates; some matters need two thirds of all delegates; other
// bodies may decide by a majority of the votes cast; an opinion poll passes nothing.
const (
	RuleMajorityOfAll  DecisionRule = "majority_of_all"
	RuleTwoThirdsOfAll DecisionRule = "two_thirds_of_all"
	RuleMajorityOfCast DecisionRule = "majority_of_cast"
	RuleNone           DecisionRule = "none"
)

// Required returns how many votes in favour pass under the rule, with exact integer
// arithmetic: "more than half" of 57 is 29 and of 7 is 4; two thirds of 57 is 38 and of 7
// is 5. Abstentions count as cast: a delegate who abstains took part. ok is false for
// RuleNone.
func (r DecisionRule) Required(eligible, cast int) (n int, ok bool) {
	switch r {
	case RuleMajorityOfAll:
		return eligible/2 + 1, true
	case RuleTwoThirdsOfAll:
		return (2*eligible + 2) / 3, true
	case RuleMajorityOfCast:
		return cast/2 + 1, true
	}
	return 0, false
}

// Valid reports whether r is a known rule.
func (r DecisionRule) Valid() bool {
	return r == RuleMajorityOfAll || r == RuleTwoThirdsOfAll || r == RuleMajorityOfCast || r == RuleNone
}

// Classification is a security marking (Điều 3.1-3.2). Classified matters may not go
// through Zalo at all, so any poll marked so is refused.
type Classification string

// The classifications. Only ClassNone may be polled.
const (
	ClassNone     Classification = "none"
	ClassMat      Classification = "mat"       // Mật
	ClassToiMat   Classification = "toi_mat"   // Tối mật
	ClassTuyetMat Classification = "tuyet_mat" // Tuyệt mật
)

// PollState is where a poll is in its life. States change only by the poll's methods.
type PollState string

// The poll states: OPEN → CLOSED → CONFIRMING → FINALIZED, or CANCELLED from OPEN or
// CLOSED.
const (
	StateOpen       PollState = "open"
	StateClosed     PollState = "closed"
	StateConfirming PollState = "confirming"
	StateFinalized  PollState = "finalized"
	StateCancelled  PollState = "cancelled"
)

// Outcome is a poll's result under its rule.
type Outcome string

// The outcomes.
const (
	OutcomePending       Outcome = "pending" // still open
	OutcomePassed        Outcome = "passed"
	OutcomeFailed        Outcome = "failed"
	OutcomeNotApplicable Outcome = "not_applicable" // an opinion poll, or cancelled
)

// Poll is one vote or opinion poll opened by a body in a group.
type Poll struct {
	ID                   int64
	BodyID               int64 // the group whose body opened it: Standing Committee, a Ban or a Tổ
	GroupID              int64 // where it is held: the body's own group, or all delegates for the Standing Committee
	Kind                 PollKind
	Title                string
	Question             string
	Description          string
	Options              []string
	MultipleChoice       bool
	ZaloRef              string // link or message id of the Zalo poll
	Deadline             time.Time
	Rule                 DecisionRule
	ConfirmationDeadline time.Time
	Classification       Classification
	State                PollState
	CancelReason         string
	OpenedBy             string // actor
	ElectorateHash       string // hex SHA-256 of the frozen electorate, see ElectorateHash
	Eligible             int
	CreateTime           time.Time
	CloseTime            time.Time
	UpdateTime           time.Time
}

// Normalize cleans the poll's text in place.
func (p *Poll) Normalize() {
	p.Title = CleanText(p.Title)
	p.Question = strings.TrimSpace(p.Question)
	p.Description = strings.TrimSpace(p.Description)
	p.ZaloRef = strings.TrimSpace(p.ZaloRef)
	for i := range p.Options {
		p.Options[i] = CleanText(p.Options[i])
	}
	if p.Kind == KindVote && len(p.Options) == 0 {
		p.Options = append([]string(nil), VoteOptions...)
	}
	if p.Classification == "" {
		p.Classification = ClassNone
	}
}

// Validate checks a new poll against the rules of Điều 3 and 7.2 that need no roster;
// prefix names the message in violations.
func (p *Poll) Validate(prefix string, now time.Time) Violations {
	var vs Violations
	checkText(&vs, prefix+".title", p.Title, true)
	checkLongText(&vs, prefix+".question", p.Question, true)
	checkLongText(&vs, prefix+".description", p.Description, false)
	checkText(&vs, prefix+".zalo_ref", p.ZaloRef, false)
	switch p.Classification {
	case ClassNone:
	case ClassMat, ClassToiMat, ClassTuyetMat:
		vs.Add(prefix+".classification", "classified matters (Mật, Tối mật, Tuyệt mật) may not be put to a Zalo poll (Điều 3.1-3.2)")
	default:
		vs.Add(prefix+".classification", "must be none, mat, toi_mat or tuyet_mat")
	}
	switch p.Kind {
	case KindVote:
		if strings.Join(p.Options, "\n") != strings.Join(VoteOptions, "\n") {
			vs.Add(prefix+".options", "a vote's options are fixed: %s", strings.Join(VoteOptions, ", "))
		}
		if p.MultipleChoice {
			vs.Add(prefix+".multiple_choice", "a vote takes one choice")
		}
		if p.Rule == RuleNone || !p.Rule.Valid() {
			vs.Add(prefix+".decision_rule", "a vote needs majority_of_all, two_thirds_of_all or majority_of_cast")
		}
	case KindOpinion:
		if len(p.Options) < MinOptions || len(p.Options) > MaxOptions {
			vs.Add(prefix+".options", "an opinion poll has %d to %d options", MinOptions, MaxOptions)
		}
		seen := map[string]int{}
		for i, o := range p.Options {
			f := fmt.Sprintf("%s.options[%d]", prefix, i)
			checkText(&vs, f, o, true)
			if j, dup := seen[strings.ToLower(o)]; dup && o != "" {
				vs.Add(f, "repeats option %d", j)
			}
			seen[strings.ToLower(o)] = i
		}
		if p.Rule != RuleNone {
			vs.Add(prefix+".decision_rule", "an opinion poll passes nothing: its rule is none")
		}
	default:
		vs.Add(prefix+".kind", "must be vote or opinion")
	}
	switch {
	case p.Deadline.IsZero():
		vs.Add(prefix+".deadline", "is required")
	case p.Deadline.Sub(now) > MaxPollSpan:
		vs.Add(prefix+".deadline", "may be at most a year away: Zalo polls are for urgent work (Điều 7.2)")
	}
	switch c := p.ConfirmationDeadline; {
	case c.IsZero():
	case !c.After(p.Deadline):
		vs.Add(prefix+".confirmation_deadline", "must be after the poll's deadline")
	case c.Sub(p.Deadline) > MaxPollSpan:
		vs.Add(prefix+".confirmation_deadline", "may be at most a year after the poll's deadline")
	}
	return vs
}

// checkLongText checks a multi-line text: the rules of checkText, but line breaks and tabs
// are allowed and the limit is longer.
func checkLongText(vs *Violations, field, s string, required bool) {
	const maxLong = 5000
	checkTextLimits(vs, field, s, required, maxLong, func(r rune) bool {
		return Unprintable(r) && r != '\n' && r != '\t' && r != '\r'
	})
}

// CheckVenue applies Điều 7.2: a poll is opened by the Standing Committee, a Ban or a Tổ,
// in its own group; the Standing Committee may also poll all delegates.
func CheckVenue(body, group *Group) error {
	switch body.Kind {
	case KindStandingCommittee, KindCommittee, KindDelegateGroup:
	default:
		return Errorf(CodeFailedPrecondition, "%q cannot open polls: only the Standing Committee, a Ban or a Tổ may (Điều 7.2)", body.DisplayName)
	}
	if body.ID == group.ID {
		return nil
	}
	if body.Kind == KindStandingCommittee && group.Kind == KindAllDelegates {
		return nil
	}
	return Errorf(CodeFailedPrecondition, "%q may poll only its own group, not %q (Điều 7.2)", body.DisplayName, group.DisplayName)
}

// ElectorateHash is the hex SHA-256 of the sorted electorate, one "people/{id}" a line,
// so anyone holding the list can check later that it did not change.
func ElectorateHash(personIDs []int64) string {
	ids := append([]int64(nil), personIDs...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(PersonName(id) + "\n")
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:])
}

// VoteSource says how a choice reached the secretariat.
type VoteSource string

// The sources: the Zalo poll itself, or another channel (a phone call when the app
// failed, Điều 10.8), which needs a note.
const (
	SourceZalo  VoteSource = "zalo"
	SourceOther VoteSource = "other"
)

// Voter is a member of a poll's frozen electorate, with the names as they were when the
// poll opened.
type Voter struct {
	PersonID int64
	FullName string
	ZaloName string
	Phone    string
	// Deactivated marks a delegate deactivated after the poll opened: they stay in the
	// frozen electorate and a vote recorded before stays counted, but no new one is taken.
	Deactivated bool
}

// VoteRecord is one recorded choice, or a withdrawal (no options). Every record is kept:
// the latest one of a delegate is their vote.
type VoteRecord struct {
	ID         int64
	PollID     int64
	PersonID   int64
	FullName   string   // as in the electorate
	Options    []int    // indices into the poll's options; empty when withdrawn
	Choice     []string // the texts of Options
	Source     VoteSource
	Note       string
	RecordedBy string // actor
	RequestID  string
	RecordTime time.Time
}

// Withdrawn reports whether the record takes the delegate's vote back.
func (v *VoteRecord) Withdrawn() bool { return len(v.Options) == 0 }

// CheckChoice validates the options of a choice against a poll.
func (p *Poll) CheckChoice(field string, options []int) error {
	if len(options) > 1 && !p.MultipleChoice {
		return Invalid(field, "poll %d takes one choice", p.ID)
	}
	seen := map[int]bool{}
	for _, o := range options {
		if o < 0 || o >= len(p.Options) {
			return Invalid(field, "%d is not an option of poll %d (0 to %d)", o, p.ID, len(p.Options)-1)
		}
		if seen[o] {
			return Invalid(field, "option %d is given twice", o)
		}
		seen[o] = true
	}
	return nil
}

// OptionIndices reads a choice given as option texts (compared after CleanText, in any
// case) as indices into the poll's options; a text that is no option is a CodeInvalid
// error naming field.
func (p *Poll) OptionIndices(field string, texts []string) ([]int, error) {
	var out []int
	for _, t := range texts {
		found := -1
		for i, o := range p.Options {
			if strings.EqualFold(CleanText(t), o) {
				found = i
			}
		}
		if found < 0 {
			quoted := make([]string, len(p.Options))
			for i, o := range p.Options {
				quoted[i] = strconv.Quote(o)
			}
			return nil, Invalid(field, "%q is not an option of %s; the options are %s", t, PollName(p.ID), strings.Join(quoted, ", "))
		}
		out = append(out, found)
	}
	return out, nil
}

// Tally is a poll's count at one moment. Version grows with every change of votes or
// state, so watchers can tell new from old.
type Tally struct {
	Poll     *Poll
	Version  int64
	Counts   []int     // per option
	Choices  [][]Voter // per option, who chose it
	Voted    int       // delegates with a current choice
	Missing  []Voter   // delegates of the electorate without one
	Required int       // votes in favour needed; 0 without a rule
	Outcome  Outcome
	// Confirmations are the poll's written confirmations, once issued: Reconcile sets
	// what they confirm beside the recorded count.
	Confirmations []Confirmation
}

// Decide fills in Required and Outcome from the counts, under the poll's rule and state.
func (t *Tally) Decide() {
	p := t.Poll
	required, ok := p.Rule.Required(p.Eligible, t.Voted)
	if ok {
		t.Required = required
	}
	switch {
	case !ok || p.Kind == KindOpinion || p.State == StateCancelled:
		t.Outcome = OutcomeNotApplicable
	case p.State == StateOpen:
		t.Outcome = OutcomePending
	case t.Counts[OptionInFavour] >= required:
		t.Outcome = OutcomePassed
	default:
		t.Outcome = OutcomeFailed
	}
}
