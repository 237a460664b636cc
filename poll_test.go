package bieuquyet

import (
	"testing"
	"time"
)

func TestRequiredAtTheEdges(t *testing.T) {
	tests := []struct {
		rule           DecisionRule
		eligible, cast int
		want           int
	}{
		{RuleMajorityOfAll, 57, 0, 29},  // more than half of 57
		{RuleMajorityOfAll, 7, 7, 4},    // more than half of 7
		{RuleMajorityOfAll, 58, 58, 30}, // exactly half (29) is not enough
		{RuleMajorityOfAll, 1, 1, 1},
		{RuleTwoThirdsOfAll, 57, 0, 38}, // two thirds of 57 is exactly 38
		{RuleTwoThirdsOfAll, 7, 0, 5},   // 14/3 = 4.67: at least 5
		{RuleTwoThirdsOfAll, 9, 0, 6},
		{RuleTwoThirdsOfAll, 10, 0, 7},
		{RuleMajorityOfCast, 57, 40, 21},
		{RuleMajorityOfCast, 57, 0, 1},
	}
	for _, tt := range tests {
		got, ok := tt.rule.Required(tt.eligible, tt.cast)
		if !ok || got != tt.want {
			t.Errorf("%s of %d (cast %d) = %d, want %d", tt.rule, tt.eligible, tt.cast, got, tt.want)
		}
	}
	if _, ok := RuleNone.Required(57, 57); ok {
		t.Error("an opinion poll requires nothing")
	}
}

func tally(p *Poll, inFavour, against, abstain int) *Tally {
	t := &Tally{Poll: p, Counts: []int{inFavour, against, abstain}, Voted: inFavour + against + abstain}
	t.Decide()
	return t
}

func TestOutcomes(t *testing.T) {
	closed := func(rule DecisionRule, eligible int) *Poll {
		return &Poll{Kind: KindVote, Rule: rule, Eligible: eligible, State: StateClosed, Options: VoteOptions}
	}
	tests := []struct {
		name                      string
		poll                      *Poll
		inFavour, against, absent int
		want                      Outcome
	}{
		{"exactly half of 58 fails", closed(RuleMajorityOfAll, 58), 29, 29, 0, OutcomeFailed},
		{"one more than half passes", closed(RuleMajorityOfAll, 58), 30, 28, 0, OutcomePassed},
		{"29 of 57 passes", closed(RuleMajorityOfAll, 57), 29, 0, 0, OutcomePassed},
		{"37 of 57 misses two thirds", closed(RuleTwoThirdsOfAll, 57), 37, 20, 0, OutcomeFailed},
		{"38 of 57 is two thirds", closed(RuleTwoThirdsOfAll, 57), 38, 0, 0, OutcomePassed},
		{"4 of 7 misses two thirds", closed(RuleTwoThirdsOfAll, 7), 4, 3, 0, OutcomeFailed},
		{"5 of 7 is two thirds", closed(RuleTwoThirdsOfAll, 7), 5, 0, 0, OutcomePassed},
		{"everyone abstains", closed(RuleMajorityOfCast, 7), 0, 0, 7, OutcomeFailed},
		{"nobody votes", closed(RuleMajorityOfAll, 7), 0, 0, 0, OutcomeFailed},
		{"majority of cast with abstentions", closed(RuleMajorityOfCast, 57), 11, 5, 5, OutcomePassed},
		{"open is pending", &Poll{Kind: KindVote, Rule: RuleMajorityOfAll, Eligible: 7, State: StateOpen}, 7, 0, 0, OutcomePending},
		{"cancelled", &Poll{Kind: KindVote, Rule: RuleMajorityOfAll, Eligible: 7, State: StateCancelled}, 7, 0, 0, OutcomeNotApplicable},
		{"opinion", &Poll{Kind: KindOpinion, Rule: RuleNone, Eligible: 7, State: StateClosed}, 7, 0, 0, OutcomeNotApplicable},
	}
	for _, tt := range tests {
		if got := tally(tt.poll, tt.inFavour, tt.against, tt.absent).Outcome; got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestPollValidate(t *testing.T) {
	now := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	ok := func() Poll {
		return Poll{Kind: KindVote, Title: "Thông qua kế hoạch", Question: "Đồng ý?", Rule: RuleMajorityOfAll, Deadline: now.Add(time.Hour)}
	}
	tests := []struct {
		name string
		edit func(*Poll)
		want string
	}{
		{"ok", func(*Poll) {}, ""},
		{"classified", func(p *Poll) { p.Classification = ClassMat }, "p.classification"},
		{"top secret", func(p *Poll) { p.Classification = ClassTuyetMat }, "p.classification"},
		{"vote without rule", func(p *Poll) { p.Rule = RuleNone }, "p.decision_rule"},
		{"vote with own options", func(p *Poll) { p.Options = []string{"Có", "Không"} }, "p.options"},
		{"deadline years away", func(p *Poll) { p.Deadline = now.AddDate(2, 0, 0) }, "p.deadline"},
		{"confirmation years later", func(p *Poll) { p.ConfirmationDeadline = now.AddDate(2, 0, 0) }, "p.confirmation_deadline"},
		{"confirmation before deadline", func(p *Poll) { p.ConfirmationDeadline = now }, "p.confirmation_deadline"},
		{"opinion with one option", func(p *Poll) { p.Kind, p.Rule, p.Options = KindOpinion, RuleNone, []string{"A"} }, "p.options"},
		{"opinion with a rule", func(p *Poll) { p.Kind, p.Options = KindOpinion, []string{"A", "B"} }, "p.decision_rule"},
		{"opinion repeats an option", func(p *Poll) {
			p.Kind, p.Rule, p.Options = KindOpinion, RuleNone, []string{"Phương án A", "phương án a"}
		}, "p.options[1]"},
	}
	for _, tt := range tests {
		p := ok()
		tt.edit(&p)
		p.Normalize()
		if got := fields(p.Validate("p", now)); got != tt.want {
			t.Errorf("%s: violations on %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestElectorateHashIgnoresOrder(t *testing.T) {
	if ElectorateHash([]int64{3, 1, 2}) != ElectorateHash([]int64{1, 2, 3}) || ElectorateHash([]int64{1, 2}) == ElectorateHash([]int64{1, 2, 3}) {
		t.Fatal("the hash must depend on the set, not the order")
	}
	// sha256("people/1\npeople/2\n")
	if got := ElectorateHash([]int64{2, 1}); got != "6065cf4c314a960a28e1963fbbab6facbcf59719d22213fbf152ac863f8d3d26" {
		t.Fatalf("hash %s", got)
	}
}
