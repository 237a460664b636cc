package bieuquyet

import (
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxTextLen bounds every free-text field, counted in characters.
const MaxTextLen = 300

// Council is the body whose roster this is. Its name, term and place are data, never
// constants: councils merge and terms end.
type Council struct {
	Name       string // "Hội đồng nhân dân tỉnh Bình Dương"
	Term       string // "khóa X, nhiệm kỳ 2021 - 2026"
	Place      string // "Bình Dương", as written before the date on documents
	UpdateTime time.Time
}

// Validate checks a council's fields; prefix names the message in violations.
func (c *Council) Validate(prefix string) Violations {
	var vs Violations
	checkText(&vs, prefix+".name", c.Name, true)
	checkText(&vs, prefix+".term", c.Term, true)
	checkText(&vs, prefix+".place", c.Place, true)
	return vs
}

// Person is anyone in the roster: a delegate, who votes, or staff and secretaries, who do
// not. People are deactivated, never deleted, so history keeps its references.
type Person struct {
	ID       int64
	FullName string
	Title    string // "Phó Chủ tịch HĐND tỉnh", "Chuyên viên"
	Delegate bool
	// Phone is the number behind the person's Zalo account (Điều 10.2), normalised by
	// NormalizePhone; it is unique in the roster and is how imports recognise people.
	Phone    string
	ZaloName string
	Email    string
	// SigningIdentity binds the certificates that sign for this person: by personal id
	// number (CCCD, CMND) or by the certificate's fingerprint. A signed confirmation is
	// the delegate's only when its certificate Matches it. Two people never share one.
	SigningIdentity SigningIdentity
	Active          bool
	CreateTime      time.Time
	UpdateTime      time.Time
}

// Normalize cleans the person's text fields in place: trims and folds white space and
// normalises the phone number when it parses.
func (p *Person) Normalize() {
	p.FullName = CleanText(p.FullName)
	p.Title = CleanText(p.Title)
	p.ZaloName = CleanText(p.ZaloName)
	p.Email = strings.TrimSpace(p.Email)
	p.SigningIdentity = p.SigningIdentity.normalized()
	if n, err := NormalizePhone(p.Phone); err == nil {
		p.Phone = n
	}
}

// Validate checks a normalised person; prefix names the message in violations.
func (p *Person) Validate(prefix string) Violations {
	var vs Violations
	checkText(&vs, prefix+".full_name", p.FullName, true)
	checkText(&vs, prefix+".title", p.Title, false)
	checkText(&vs, prefix+".zalo_name", p.ZaloName, false)
	p.SigningIdentity.check(&vs, prefix+".signing_identity")
	if _, err := NormalizePhone(p.Phone); err != nil {
		vs.Add(prefix+".phone", "%v", err)
	}
	checkText(&vs, prefix+".email", p.Email, false)
	if p.Email != "" {
		if a, err := mail.ParseAddress(p.Email); err != nil || a.Address != p.Email {
			vs.Add(prefix+".email", "%q is not an e-mail address", p.Email)
		}
	}
	return vs
}

// GroupKind is one of the kinds of group of Điều 4.
type GroupKind string

// The group kinds. At most one all-delegates group and one Standing Committee group
// exist in a roster; committees (Ban) and delegate groups (Tổ) are as many as the council
// has.
const (
	KindAllDelegates      GroupKind = "all_delegates"
	KindStandingCommittee GroupKind = "standing_committee"
	KindCommittee         GroupKind = "committee"
	KindDelegateGroup     GroupKind = "delegate_group"
)

// GroupKinds lists the kinds in the order of Điều 4.
var GroupKinds = []GroupKind{KindAllDelegates, KindStandingCommittee, KindCommittee, KindDelegateGroup}

// Valid reports whether k is a known kind.
func (k GroupKind) Valid() bool {
	for _, g := range GroupKinds {
		if k == g {
			return true
		}
	}
	return false
}

// Singleton reports whether a roster holds at most one group of this kind.
func (k GroupKind) Singleton() bool {
	return k == KindAllDelegates || k == KindStandingCommittee
}

// Role is a person's role in a group.
type Role string

// The member roles. The leader and members are delegates and vote; staff (civil servants
// serving a Ban, a Tổ's secretary, the Office) receive messages and never vote.
const (
	RoleLeader Role = "leader"
	RoleMember Role = "member"
	RoleStaff  Role = "staff"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleLeader || r == RoleMember || r == RoleStaff }

// Votes reports whether a member with this role is part of the group's electorate.
func (r Role) Votes() bool { return r == RoleLeader || r == RoleMember }

// CheckMember says whether a person may hold a role: voting roles need an active
// delegate, staff must not be a delegate (a delegate in a group always votes there).
func CheckMember(p *Person, role Role) error {
	switch {
	case !p.Active:
		return Errorf(CodeFailedPrecondition, "%s is deactivated", p.FullName)
	case role.Votes() && !p.Delegate:
		return Errorf(CodeFailedPrecondition, "%s is not a delegate, so cannot be a %s of a group (staff do not vote)", p.FullName, role)
	case role == RoleStaff && p.Delegate:
		return Errorf(CodeFailedPrecondition, "%s is a delegate, so joins a group as a member, not as staff", p.FullName)
	}
	return nil
}

// Member is one person's membership of a group.
type Member struct {
	PersonID int64
	FullName string
	Delegate bool
	Role     Role
}

// Group is one of the council's Zalo groups. It has exactly one leader, who is a delegate
// and a member. The all-delegates group always holds every active delegate: the store
// keeps it so whenever people change.
type Group struct {
	ID          int64
	DisplayName string // exactly as the council writes it: "HĐND - Ban Pháp chế"
	Kind        GroupKind
	ZaloLink    string
	LeaderID    int64
	Members     []Member
	CreateTime  time.Time
	UpdateTime  time.Time
}

// Normalize cleans the group's text fields in place.
func (g *Group) Normalize() {
	g.DisplayName = CleanText(g.DisplayName)
	g.ZaloLink = strings.TrimSpace(g.ZaloLink)
}

// Validate checks a normalised group's own fields (not its members); prefix names the
// message in violations.
func (g *Group) Validate(prefix string) Violations {
	var vs Violations
	checkText(&vs, prefix+".display_name", g.DisplayName, true)
	if !g.Kind.Valid() {
		vs.Add(prefix+".kind", "must be one of %s", joinKinds())
	}
	checkText(&vs, prefix+".zalo_link", g.ZaloLink, false)
	if g.ZaloLink != "" {
		if err := CheckLink(g.ZaloLink); err != nil {
			vs.Add(prefix+".zalo_link", "%v", err)
		}
	}
	return vs
}

// VotingMembers counts the members who vote: the leader and the delegates.
func (g *Group) VotingMembers() int {
	n := 0
	for _, m := range g.Members {
		if m.Role.Votes() {
			n++
		}
	}
	return n
}

// CheckLink accepts an absolute https URL, which is what Zalo's group links are.
func CheckLink(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return Errorf(CodeInvalid, "%q is not an https link", s)
	}
	return nil
}

func joinKinds() string {
	s := make([]string, len(GroupKinds))
	for i, k := range GroupKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// CleanText trims a text and folds each run of white space into one space, so that names
// typed with stray spaces compare equal.
func CleanText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Text checks a short free text: valid UTF-8, no control or invisible characters, at most
// MaxTextLen characters, and present when required.
func (vs *Violations) Text(field, s string, required bool) { checkText(vs, field, s, required) }

func checkText(vs *Violations, field, s string, required bool) {
	checkTextLimits(vs, field, s, required, MaxTextLen, Unprintable)
}

// Unprintable reports the runes no text of the service may hold: control characters, and
// the invisible ones of Unicode's format category (U+200B zero width space, U+FEFF, the
// direction overrides such as U+202E that make a name read backwards), and the line and
// paragraph separators. They would reach the audit trail and terminals unseen.
func Unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// checkTextLimits is the one text check: valid UTF-8, present when required, at most max
// characters, no rune that bad reports.
func checkTextLimits(vs *Violations, field, s string, required bool, max int, bad func(rune) bool) {
	switch {
	case !utf8.ValidString(s):
		vs.Add(field, "is not valid UTF-8")
	case required && s == "":
		vs.Add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		vs.Add(field, "is longer than %d characters", max)
	default:
		if i := strings.IndexFunc(s, bad); i >= 0 {
			r, _ := utf8.DecodeRuneInString(s[i:])
			vs.Add(field, "contains an invisible or control character (U+%04X) at byte %d", r, i)
		}
	}
}
