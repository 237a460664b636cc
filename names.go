package bieuquyet

import (
	"strconv"
	"strings"
)

// Resource names (AIP-122) are built and read here only: they are hashed into the audit
// chain and the electorate hash, so two spellings of one resource ("polls/3", "polls/03",
// "polls/+3") would make two histories. Only the canonical form is read back.

// Collection is the first segment of a top-level resource name.
type Collection string

// The collections.
const (
	People        Collection = "people"
	Groups        Collection = "groups"
	Polls         Collection = "polls"
	Tokens        Collection = "tokens"
	Confirmations Collection = "confirmations" // under a poll: polls/{poll}/confirmations/{id}
)

// CouncilName is the name of the council, a singleton.
const CouncilName = "council"

// Name returns "collection/{id}".
func (c Collection) Name(id int64) string { return string(c) + "/" + strconv.FormatInt(id, 10) }

// PersonName returns "people/{id}".
func PersonName(id int64) string { return People.Name(id) }

// GroupName returns "groups/{id}".
func GroupName(id int64) string { return Groups.Name(id) }

// PollName returns "polls/{id}".
func PollName(id int64) string { return Polls.Name(id) }

// TokenName returns "tokens/{id}".
func TokenName(id int64) string { return Tokens.Name(id) }

// ConfirmationName returns "polls/{poll}/confirmations/{id}".
func ConfirmationName(poll, id int64) string { return PollName(poll) + "/" + Confirmations.Name(id) }

// ParseName reads "collection/{id}" in its canonical form; field names the request field
// in the error.
func ParseName(field string, c Collection, name string) (int64, error) {
	if name == "" {
		return 0, Invalid(field, "is required")
	}
	rest, ok := strings.CutPrefix(name, string(c)+"/")
	id, idOK := parseID(rest)
	if !ok || !idOK {
		return 0, Invalid(field, "%q is not a %s name like %s", name, c, c.Name(12))
	}
	return id, nil
}

// ParseConfirmationName reads "polls/{poll}/confirmations/{id}".
func ParseConfirmationName(field, name string) (poll, id int64, err error) {
	if name == "" {
		return 0, 0, Invalid(field, "is required")
	}
	parts := strings.Split(name, "/")
	if len(parts) == 4 && parts[0] == string(Polls) && parts[2] == string(Confirmations) {
		p, okP := parseID(parts[1])
		c, okC := parseID(parts[3])
		if okP && okC {
			return p, c, nil
		}
	}
	return 0, 0, Invalid(field, "%q is not a confirmation name like %s", name, ConfirmationName(3, 12))
}

// parseID accepts only the canonical decimal form of a positive id: no sign, no leading
// zero, no space, nothing an int64 cannot hold.
func parseID(s string) (int64, bool) {
	if s == "" || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// PersonLabel names a person for people to read, with the resource name beside the name:
// "Nguyễn Văn A (people/12)".
func PersonLabel(fullName string, id int64) string { return fullName + " (" + PersonName(id) + ")" }

// GroupLabel names a group the same way: "HĐND - Ban Pháp chế (groups/3)".
func GroupLabel(displayName string, id int64) string {
	return displayName + " (" + GroupName(id) + ")"
}
