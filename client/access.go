package client

import (
	"context"
	"flag"
	"fmt"
	"io"

	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

var accessCommands = []*command{
	{
		path:    "whoami",
		summary: "show who the token stands for: its role and, for a person, the person and their groups",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, _ []string) error {
				resp, err := call(ctx, a, services.WhoAmI, &pb.WhoAmIRequest{})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return whoamiReport(w, resp) })
			}
		},
	},
	{
		path:     "token create",
		synopsis: "--role admin|secretariat|person --name S [--person PERSON] [--ttl DURATION] [--request-id ID]",
		summary:  "make a token and print its secret last, on a line of its own: the only time it is shown",
		setup: func(fs *flag.FlagSet) action {
			role := enumFlag{allowed: tokenRoleList}
			fs.Var(&role, "role", "admin (the Office's administrator), secretariat (the Office's secretaries) or person (one person of the roster, with --person)")
			name := fs.String("name", "", `who or what the token is for, e.g. "Văn phòng - Nguyễn Thị Thư"`)
			person := fs.String("person", "", "the person a person token stands for (PERSON)")
			ttl := fs.Duration("ttl", 0, "how long the token lives, e.g. 720h (the server's default is 2160h, 90 days; at most two years)")
			reqID := requestIDVar(fs)
			return func(ctx context.Context, a *app, _ []string) error {
				if err := requireFlags(fs, "role", "name"); err != nil {
					return err
				}
				id, err := requestID(fs, reqID)
				if err != nil {
					return err
				}
				set := visited(fs)
				switch {
				case role.value == "person" && !set["person"]:
					return usageErrorf(fs.Name(), "--person is required for a person token")
				case role.value != "person" && set["person"]:
					return usageErrorf(fs.Name(), "--person goes only with --role person")
				case set["ttl"] && *ttl <= 0:
					return usageErrorf(fs.Name(), "--ttl must be positive, not %v", *ttl)
				}
				// A retry with the request id gives the same token a fresh secret instead of
				// making a second token.
				req := &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: *name, Role: enumFromWord(tokenRoleWords, role.value)}, RequestId: id}
				if set["person"] {
					if req.Token.Person, err = a.personName(ctx, fs.Name(), *person); err != nil {
						return err
					}
				}
				if set["ttl"] {
					req.Ttl = durationpb.New(*ttl)
				}
				resp, err := call(ctx, a, services.CreateToken, req)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stderr, "warning: the token's secret is shown only this once, here: keep it now, somewhere safe")
				if a.json {
					return a.printJSON(resp)
				}
				a.lookupNames(ctx, resp.GetToken().GetPerson(), resp.GetToken().GetCreatedBy())
				if err := a.tokenFields(a.stdout, resp.GetToken()); err != nil {
					return err
				}
				_, err = fmt.Fprintln(a.stdout, printable(resp.GetSecret()))
				return err
			}
		},
	},
	{
		path:     "token list",
		synopsis: "[--person PERSON] [--revoked] [--page-size N] [--page-token T] [--all]",
		summary:  "list tokens in id order, never their secrets: all of them, or a page at a time with --page-size",
		setup: func(fs *flag.FlagSet) action {
			person := fs.String("person", "", "only the tokens of this person (PERSON)")
			revoked := fs.Bool("revoked", false, "include revoked tokens")
			pages := pageVars(fs, "tokens")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := pages.check(fs.Name()); err != nil {
					return err
				}
				req := &pb.ListTokensRequest{PageSize: pages.pageSize(), PageToken: pages.token, ShowRevoked: *revoked}
				if *person != "" {
					var err error
					if req.Person, err = a.personName(ctx, fs.Name(), *person); err != nil {
						return err
					}
				}
				tokens, next, err := listPages(ctx, a, services.ListTokens, req, &req.PageToken, pages.follow(),
					(*pb.ListTokensResponse).GetTokens)
				if err != nil {
					return err
				}
				resp := &pb.ListTokensResponse{Tokens: tokens, NextPageToken: next}
				var refs []string
				for _, t := range tokens {
					refs = append(refs, t.GetPerson(), t.GetCreatedBy())
				}
				a.lookupNames(ctx, refs...)
				return a.showPage(resp, func(w io.Writer) error { return a.tokensTable(w, tokens) })
			}
		},
	},
	{
		path:    "token revoke",
		args:    []string{"TOKEN"},
		summary: "end a token at once; calls with it fail from then on",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := tokenName(fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.RevokeToken, &pb.RevokeTokenRequest{Name: name})
				if err != nil {
					return err
				}
				a.lookupNames(ctx, resp.GetToken().GetPerson(), resp.GetToken().GetCreatedBy())
				return a.show(resp, func(w io.Writer) error { return a.tokenFields(w, resp.GetToken()) })
			}
		},
	},
}

// whoamiReport prints the caller's token and, for a person, the person's fields and
// their groups as a table.
func whoamiReport(w io.Writer, r *pb.WhoAmIResponse) error {
	t, p := r.GetToken(), r.GetPerson()
	pairs := []string{
		"actor", r.GetActor(),
		"token", t.GetName(),
		"display_name", t.GetDisplayName(),
		"role", enumWord(tokenRoleWords, t.GetRole()),
	}
	if p != nil {
		pairs = append(pairs,
			"person", p.GetName(),
			"full_name", p.GetFullName(),
			"title", p.GetTitle(),
			"phone", p.GetPhone(),
			"delegate", yesNo(p.GetDelegate()),
			"signing_identity", identityText(p.GetSigningIdentity()),
		)
	}
	if err := fields(w, pairs...); err != nil || p == nil {
		return err
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	if len(r.GetMemberships()) == 0 {
		_, err := fmt.Fprintln(w, "no groups")
		return err
	}
	tb := newTable("GROUP", "NAME", "ROLE")
	for _, m := range r.GetMemberships() {
		tb.add(m.GetGroup(), m.GetDisplayName(), enumWord(roleWords, m.GetRole()))
	}
	return tb.write(w)
}

func (a *app) tokenFields(w io.Writer, t *pb.Token) error {
	return fields(w,
		"name", t.GetName(),
		"display_name", t.GetDisplayName(),
		"role", enumWord(tokenRoleWords, t.GetRole()),
		"person", a.label(t.GetPerson()),
		"created_by", a.label(t.GetCreatedBy()),
		"created", a.when(t.GetCreateTime()),
		"expires", a.when(t.GetExpireTime()),
		"revoked", a.when(t.GetRevokeTime()),
	)
}

func (a *app) tokensTable(w io.Writer, tokens []*pb.Token) error {
	if len(tokens) == 0 {
		_, err := fmt.Fprintln(w, "no tokens")
		return err
	}
	t := newTable("NAME", "DISPLAY NAME", "ROLE", "PERSON", "CREATED BY", "EXPIRES", "REVOKED")
	for _, tok := range tokens {
		person, revoked := "-", "no"
		if tok.GetPerson() != "" {
			person = a.label(tok.GetPerson())
		}
		if tok.GetRevokeTime() != nil {
			revoked = a.when(tok.GetRevokeTime())
		}
		t.add(tok.GetName(), tok.GetDisplayName(), enumWord(tokenRoleWords, tok.GetRole()), person, a.label(tok.GetCreatedBy()),
			a.when(tok.GetExpireTime()), revoked)
	}
	return t.write(w)
}
