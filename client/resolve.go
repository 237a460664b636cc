package client

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/text/unicode/norm"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// personName turns a PERSON argument into a resource name: "people/12" and "12" are
// taken as they are, a phone number is looked up.
func (a *app) personName(ctx context.Context, cmd, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if id, ok := strings.CutPrefix(arg, "people/"); ok {
		if !isID(id) {
			return "", usageErrorf(cmd, "%q is not a person: use people/ID, ID or a phone number", arg)
		}
		return arg, nil
	}
	if looksLikePhone(arg) {
		resp, err := call(ctx, a, services.ListPeople, &pb.ListPeopleRequest{Phone: arg, PageSize: 1})
		if err != nil {
			return "", err
		}
		if len(resp.GetPeople()) == 0 {
			return "", fmt.Errorf("not found: no person has the phone number %s", arg)
		}
		return resp.GetPeople()[0].GetName(), nil
	}
	if isID(arg) {
		return "people/" + arg, nil
	}
	return "", usageErrorf(cmd, "%q is not a person: use people/ID, ID or a phone number", arg)
}

// tokenName turns a TOKEN argument, "tokens/7" or "7", into a resource name.
func tokenName(cmd, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if id := strings.TrimPrefix(arg, "tokens/"); isID(id) {
		return "tokens/" + id, nil
	}
	return "", usageErrorf(cmd, "%q is not a token: use tokens/ID or ID", arg)
}

// looksLikePhone tells a phone number from an id: a phone starts with + or 0, or is
// longer than ids get (more than 6 digits, perhaps grouped with spaces or dots).
func looksLikePhone(s string) bool {
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "0") {
		return true
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == ' ' || r == '.':
		default:
			return false
		}
	}
	return digits > 6
}

func isID(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// groupName turns a GROUP argument into a resource name: "groups/3" and "3" are taken as
// they are, anything else is a group's display name, looked up. Names compare in NFC,
// since Vietnamese typed on some keyboards arrives decomposed.
func (a *app) groupName(ctx context.Context, cmd, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if id, ok := strings.CutPrefix(arg, "groups/"); ok {
		if !isID(id) {
			return "", usageErrorf(cmd, "%q is not a group: use groups/ID, ID or the group's name", arg)
		}
		return arg, nil
	}
	if isID(arg) {
		return "groups/" + arg, nil
	}
	if arg == "" {
		return "", usageErrorf(cmd, "GROUP is empty")
	}
	groups, _, err := a.listGroups(ctx, &pb.ListGroupsRequest{}, true)
	if err != nil {
		return "", err
	}
	want := canonicalName(arg)
	var near []string
	for _, g := range groups {
		got := canonicalName(g.GetDisplayName())
		if got == want {
			return g.GetName(), nil
		}
		if strings.EqualFold(got, want) {
			near = append(near, fmt.Sprintf("%q", g.GetDisplayName()))
		}
	}
	msg := fmt.Sprintf("not found: no group is named %q", arg)
	if len(near) > 0 {
		msg += "; did you mean " + orList(near) + "?"
	}
	return "", fmt.Errorf("%s", msg)
}

// canonicalName is a display name as the server keeps it: NFC, white space folded.
func canonicalName(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}
