package client

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// personName turns a PERSON argument into a resource name: "people/12" and "12" are
// taken as they are, a phone number is looked up.
func (a *app) personName(ctx context.Context, cmd, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if strings.HasPrefix(arg, "people/") {
		if name, ok := resourceName(bq.People, arg); ok {
			return name, nil
		}
		return "", usageErrorf(cmd, "%q is not a person: use people/ID, ID or a phone number", arg)
	}
	if looksLikePhone(arg) {
		resp, err := call(ctx, a, services.ListPeople, &pb.ListPeopleRequest{Phone: arg, PageSize: 1})
		if err != nil {
			return "", err
		}
		if len(resp.GetPeople()) == 0 {
			return "", fmt.Errorf("not found: no person has the phone number %s", arg)
		}
		p := resp.GetPeople()[0]
		a.rememberName(p.GetName(), p.GetFullName())
		return p.GetName(), nil
	}
	if name, ok := resourceName(bq.People, arg); ok {
		return name, nil
	}
	return "", usageErrorf(cmd, "%q is not a person: use people/ID, ID or a phone number", arg)
}

// tokenName turns a TOKEN argument, "tokens/7" or "7", into a resource name.
func tokenName(cmd, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if name, ok := resourceName(bq.Tokens, arg); ok {
		return name, nil
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

// resourceName reads "collection/ID", or a bare ID, into the resource name the domain
// builds: the one spelling the server accepts.
func resourceName(c bq.Collection, arg string) (string, bool) {
	if !strings.HasPrefix(arg, string(c)+"/") {
		arg = string(c) + "/" + arg
	}
	id, err := bq.ParseName("", c, arg)
	if err != nil {
		return "", false
	}
	return c.Name(id), true
}

// groupName turns a GROUP argument into a resource name: "groups/3" and "3" are taken as
// they are, anything else is a group's display name, looked up. Names compare in NFC,
// since Vietnamese typed on some keyboards arrives decomposed.
func (a *app) groupName(ctx context.Context, cmd, arg string) (string, error) {
	arg = strings.TrimSpace(arg)
	if strings.HasPrefix(arg, "groups/") {
		if name, ok := resourceName(bq.Groups, arg); ok {
			return name, nil
		}
		return "", usageErrorf(cmd, "%q is not a group: use groups/ID, ID or the group's name", arg)
	}
	if name, ok := resourceName(bq.Groups, arg); ok {
		return name, nil
	}
	if arg == "" {
		return "", usageErrorf(cmd, "GROUP is empty")
	}
	groups, _, err := a.listGroups(ctx, &pb.ListGroupsRequest{}, true)
	if err != nil {
		return "", err
	}
	// Every group the caller sees is at hand: label needs no other listing.
	for _, g := range groups {
		a.rememberName(g.GetName(), g.GetDisplayName())
	}
	a.groupsListed = true
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

// resolveOptions turns the OPTION arguments of vote record into the poll's own option
// texts. An option is given by its number, as poll show lists them from 1, or by its text
// in any case, with or without its diacritics ("tan thanh" for "Tán thành"), when that
// names one option only. The text is compared whole: "khong tan thanh" is "Không tán
// thành", never "Tán thành". When the caller may not read the poll, the arguments go to
// the server as they are, which matches them exactly but for case.
func (a *app) resolveOptions(ctx context.Context, poll string, args []string) ([]string, error) {
	resp, err := call(ctx, a, services.GetPoll, &pb.GetPollRequest{Name: poll})
	if status.Code(err) == codes.PermissionDenied {
		return args, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]string, len(args))
	for i, arg := range args {
		if out[i], err = matchOption(resp.GetPoll(), arg); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// matchOption finds the option of p that arg names: first its exact text (but for case,
// white space and Unicode normal form), then its number, then its text folded by
// foldOption. Ambiguous or unknown, the error lists the options with their numbers.
func matchOption(p *pb.Poll, arg string) (string, error) {
	options := p.GetOptions()
	want := canonicalName(arg)
	for _, o := range options {
		if strings.EqualFold(canonicalName(o), want) {
			return o, nil
		}
	}
	if n, err := strconv.Atoi(want); err == nil && n >= 1 && n <= len(options) {
		return options[n-1], nil
	}
	folded := foldOption(arg)
	var matches []int
	for i, o := range options {
		if foldOption(o) == folded {
			matches = append(matches, i)
		}
	}
	switch {
	case len(matches) == 1:
		return options[matches[0]], nil
	case len(matches) > 1:
		return "", fmt.Errorf("invalid argument: options: %q may be any of %s of %s: give its number or its exact text",
			arg, numbered(options, matches), p.GetName())
	}
	return "", fmt.Errorf("invalid argument: options: %q is not an option of %s; the options are %s (give the number or the text)",
		arg, p.GetName(), numbered(options, nil))
}

// numbered lists options as poll show numbers them, from 1: `1 "Tán thành", 2 "Không
// tán thành"`; only those at the indexes in only, when given.
func numbered(options []string, only []int) string {
	if only == nil {
		for i := range options {
			only = append(only, i)
		}
	}
	parts := make([]string, len(only))
	for k, i := range only {
		parts[k] = fmt.Sprintf("%d %q", i+1, options[i])
	}
	return strings.Join(parts, ", ")
}

// foldOption is an option's text as typed on a keyboard without Vietnamese: without
// diacritics (đ and Đ are d), in lower case, with white space folded.
func foldOption(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
