package client

import (
	"context"
	"flag"
	"fmt"
	"io"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// personFlags pairs each flag of people update with the field it sets, in the order of
// Person.
var personFlags = []string{
	"full-name", "full_name",
	"title", "title",
	"delegate", "delegate",
	"phone", "phone",
	"zalo-name", "zalo_name",
	"email", "email",
	"signing-identity", "signing_identity",
}

// personVars declares the flags that set a person's fields.
func personVars(fs *flag.FlagSet, p *pb.Person, delegateUsage string) {
	fs.StringVar(&p.FullName, "full-name", "", "full name, e.g. \"Nguyễn Văn Ân\"")
	fs.StringVar(&p.Title, "title", "", "title, e.g. \"Phó Chủ tịch HĐND tỉnh\"")
	fs.BoolVar(&p.Delegate, "delegate", false, delegateUsage)
	fs.StringVar(&p.Phone, "phone", "", "phone number of the person's Zalo account, e.g. \"0912 345 678\"")
	fs.StringVar(&p.ZaloName, "zalo-name", "", "display name in Zalo")
	fs.StringVar(&p.Email, "email", "", "e-mail address")
	fs.StringVar(&p.SigningIdentity, "signing-identity", "", "identity of the person's signing certificate")
}

var peopleCommands = []*command{
	{
		path:     "people list",
		synopsis: "[--group GROUP] [--delegate|--delegate=false] [--active|--active=false] [--phone P] [--page-size N] [--page-token T] [--all]",
		summary:  "list people in id order: all of them, or a page at a time with --page-size",
		setup: func(fs *flag.FlagSet) action {
			var delegate, active optBool
			group := fs.String("group", "", "only members of this group")
			fs.Var(&delegate, "delegate", "only delegates (--delegate) or only non-delegates (--delegate=false)")
			fs.Var(&active, "active", "only active (--active) or only deactivated (--active=false) people")
			phone := fs.String("phone", "", "only the person with this phone number")
			pages := pageVars(fs, "people")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := pages.check(fs.Name()); err != nil {
					return err
				}
				req := &pb.ListPeopleRequest{PageSize: pages.pageSize(), PageToken: pages.token, Phone: *phone,
					Delegate: delegate.ptr(), Active: active.ptr()}
				if *group != "" {
					name, err := a.groupName(ctx, fs.Name(), *group)
					if err != nil {
						return err
					}
					req.Group = name
				}
				people, next, err := listPages(ctx, a, services.ListPeople, req, &req.PageToken, pages.follow(),
					(*pb.ListPeopleResponse).GetPeople)
				if err != nil {
					return err
				}
				resp := &pb.ListPeopleResponse{People: people, NextPageToken: next}
				return a.showPage(resp, func(w io.Writer) error { return peopleTable(w, people) })
			}
		},
	},
	{
		path:    "people get",
		args:    []string{"PERSON"},
		summary: "show one person",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := a.personName(ctx, fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.GetPerson, &pb.GetPersonRequest{Name: name})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.personFields(w, resp.GetPerson()) })
			}
		},
	},
	{
		path:     "people create",
		synopsis: "--full-name S --phone P [--title S] [--delegate] [--zalo-name S] [--email S] [--signing-identity S]",
		summary:  "add a person (a delegate with --delegate; staff or a secretary without)",
		setup: func(fs *flag.FlagSet) action {
			p := &pb.Person{}
			personVars(fs, p, "the person is a delegate of the council, who votes")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := requireFlags(fs, "full-name", "phone"); err != nil {
					return err
				}
				resp, err := call(ctx, a, services.CreatePerson, &pb.CreatePersonRequest{Person: p})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.personFields(w, resp.GetPerson()) })
			}
		},
	},
	{
		path:     "people update",
		args:     []string{"PERSON"},
		synopsis: "[--full-name S] [--title S] [--delegate|--delegate=false] [--phone P] [--zalo-name S] [--email S] [--signing-identity S]",
		summary:  "change a person's fields: exactly those given (an empty value clears a field)",
		setup: func(fs *flag.FlagSet) action {
			p := &pb.Person{}
			personVars(fs, p, "whether the person is a delegate: --delegate or --delegate=false")
			return func(ctx context.Context, a *app, args []string) error {
				paths := maskPaths(fs, personFlags...)
				if len(paths) == 0 {
					return nothingToUpdate(fs, personFlags...)
				}
				name, err := a.personName(ctx, fs.Name(), args[0])
				if err != nil {
					return err
				}
				p.Name = name
				resp, err := call(ctx, a, services.UpdatePerson, &pb.UpdatePersonRequest{
					Person: p, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.personFields(w, resp.GetPerson()) })
			}
		},
	},
	{
		path:    "people deactivate",
		args:    []string{"PERSON"},
		summary: "mark a person inactive and take them out of every group (people are never deleted)",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := a.personName(ctx, fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.DeactivatePerson, &pb.DeactivatePersonRequest{Name: name})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.personFields(w, resp.GetPerson()) })
			}
		},
	},
}

func peopleTable(w io.Writer, people []*pb.Person) error {
	if len(people) == 0 {
		_, err := fmt.Fprintln(w, "no people")
		return err
	}
	t := newTable("PERSON", "FULL NAME", "TITLE", "DELEGATE", "PHONE", "ACTIVE")
	for _, p := range people {
		t.add(p.GetName(), p.GetFullName(), p.GetTitle(), yesNo(p.GetDelegate()), p.GetPhone(), yesNo(p.GetActive()))
	}
	return t.write(w)
}

func (a *app) personFields(w io.Writer, p *pb.Person) error {
	return fields(w,
		"name", p.GetName(),
		"full_name", p.GetFullName(),
		"title", p.GetTitle(),
		"delegate", yesNo(p.GetDelegate()),
		"phone", p.GetPhone(),
		"zalo_name", p.GetZaloName(),
		"email", p.GetEmail(),
		"signing_identity", p.GetSigningIdentity(),
		"active", yesNo(p.GetActive()),
		"created", a.when(p.GetCreateTime()),
		"updated", a.when(p.GetUpdateTime()),
	)
}
