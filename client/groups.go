package client

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// groupFlags pairs each flag of groups update with the field it sets.
var groupFlags = []string{
	"name", "display_name",
	"zalo-link", "zalo_link",
	"leader", "leader",
}

var groupsCommands = []*command{
	{
		path:     "groups list",
		synopsis: "[--kind " + kindSynopsis + "] [--page-size N] [--page-token T] [--all]",
		summary:  "list groups with their leaders and member counts: all of them, or a page at a time with --page-size",
		setup: func(fs *flag.FlagSet) action {
			kind := enumFlag{allowed: kindList}
			fs.Var(&kind, "kind", "only groups of this kind: "+orList(kindList))
			pages := pageVars(fs, "groups")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := pages.check(fs.Name()); err != nil {
					return err
				}
				groups, next, err := a.listGroups(ctx, &pb.ListGroupsRequest{
					Kind: enumFromWord(kindWords, kind.value), PageToken: pages.token, PageSize: pages.pageSize()}, pages.follow())
				if err != nil {
					return err
				}
				resp := &pb.ListGroupsResponse{Groups: groups, NextPageToken: next}
				return a.showPage(resp, func(w io.Writer) error { return groupsTable(w, groups) })
			}
		},
	},
	{
		path:    "groups get",
		args:    []string{"GROUP"},
		summary: "show a group and its members",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				name, err := a.groupName(ctx, fs.Name(), args[0])
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.GetGroup, &pb.GetGroupRequest{Name: name})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.groupDetail(w, resp.GetGroup()) })
			}
		},
	},
	{
		path:     "groups create",
		synopsis: "--name S --kind " + kindSynopsis + " --leader PERSON [--zalo-link URL]",
		summary:  "add a group; its leader, a delegate, becomes its first member",
		setup: func(fs *flag.FlagSet) action {
			g := &pb.Group{}
			kind := enumFlag{allowed: kindList}
			fs.StringVar(&g.DisplayName, "name", "", `the group's name, exactly as the council writes it, e.g. "HĐND - Ban Pháp chế"`)
			fs.Var(&kind, "kind", "the group's kind: "+orList(kindList))
			leader := fs.String("leader", "", "the group's leader (PERSON), a delegate")
			fs.StringVar(&g.ZaloLink, "zalo-link", "", "link to the Zalo group (https)")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := requireFlags(fs, "name", "kind", "leader"); err != nil {
					return err
				}
				g.Kind = enumFromWord(kindWords, kind.value)
				var err error
				if g.Leader, err = a.personName(ctx, fs.Name(), *leader); err != nil {
					return err
				}
				resp, err := call(ctx, a, services.CreateGroup, &pb.CreateGroupRequest{Group: g})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.groupDetail(w, resp.GetGroup()) })
			}
		},
	},
	{
		path:     "groups update",
		args:     []string{"GROUP"},
		synopsis: "[--name S] [--zalo-link URL] [--leader PERSON]",
		summary:  "change a group's name, Zalo link or leader (only those given); a new leader joins the group",
		setup: func(fs *flag.FlagSet) action {
			g := &pb.Group{}
			fs.StringVar(&g.DisplayName, "name", "", "the group's new name")
			fs.StringVar(&g.ZaloLink, "zalo-link", "", "link to the Zalo group (https); empty removes it")
			leader := fs.String("leader", "", "the group's new leader (PERSON), a delegate")
			return func(ctx context.Context, a *app, args []string) error {
				paths := maskPaths(fs, groupFlags...)
				if len(paths) == 0 {
					return nothingToUpdate(fs, groupFlags...)
				}
				var err error
				if g.Name, err = a.groupName(ctx, fs.Name(), args[0]); err != nil {
					return err
				}
				if visited(fs)["leader"] {
					if g.Leader, err = a.personName(ctx, fs.Name(), *leader); err != nil {
						return err
					}
				}
				resp, err := call(ctx, a, services.UpdateGroup, &pb.UpdateGroupRequest{
					Group: g, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.groupDetail(w, resp.GetGroup()) })
			}
		},
	},
	{
		path:     "groups add-member",
		args:     []string{"GROUP", "PERSON"},
		synopsis: "[--role member|staff]",
		summary:  "add a person to a group: a delegate as member, anyone else as staff (the default picks by delegate)",
		setup: func(fs *flag.FlagSet) action {
			role := enumFlag{allowed: []string{"member", "staff"}}
			fs.Var(&role, "role", "member (a delegate, who votes) or staff (not a delegate; never votes)")
			return func(ctx context.Context, a *app, args []string) error {
				group, person, err := a.membership(ctx, fs.Name(), args)
				if err != nil {
					return err
				}
				req := &pb.AddGroupMemberRequest{Group: group, Person: person}
				switch role.value {
				case "member":
					req.Role = pb.MemberRole_MEMBER_ROLE_MEMBER
				case "staff":
					req.Role = pb.MemberRole_MEMBER_ROLE_STAFF
				}
				resp, err := call(ctx, a, services.AddGroupMember, req)
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.groupDetail(w, resp.GetGroup()) })
			}
		},
	},
	{
		path:    "groups remove-member",
		args:    []string{"GROUP", "PERSON"},
		summary: "take a person out of a group (not its leader)",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, args []string) error {
				group, person, err := a.membership(ctx, fs.Name(), args)
				if err != nil {
					return err
				}
				resp, err := call(ctx, a, services.RemoveGroupMember, &pb.RemoveGroupMemberRequest{Group: group, Person: person})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error { return a.groupDetail(w, resp.GetGroup()) })
			}
		},
	},
}

const kindSynopsis = "all_delegates|standing_committee|committee|delegate_group"

func (a *app) membership(ctx context.Context, cmd string, args []string) (group, person string, err error) {
	if group, err = a.groupName(ctx, cmd, args[0]); err != nil {
		return "", "", err
	}
	if person, err = a.personName(ctx, cmd, args[1]); err != nil {
		return "", "", err
	}
	return group, person, nil
}

// listGroups lists the groups req asks for (any kind for UNSPECIFIED): one page, or with
// all every page from req's page token on, as listPages does.
func (a *app) listGroups(ctx context.Context, req *pb.ListGroupsRequest, all bool) ([]*pb.Group, string, error) {
	if all && req.PageSize == 0 {
		req.PageSize = maxPageSize // fewer calls
	}
	return listPages(ctx, a, services.ListGroups, req, &req.PageToken, all, (*pb.ListGroupsResponse).GetGroups)
}

// leaderName names a group's leader as label does, "Võ Văn Khải (people/6)", from the
// group's own members.
func leaderName(g *pb.Group) string {
	for _, m := range g.GetMembers() {
		if m.GetPerson() == g.GetLeader() && m.GetFullName() != "" {
			return m.GetFullName() + " (" + g.GetLeader() + ")"
		}
	}
	return g.GetLeader()
}

func groupsTable(w io.Writer, groups []*pb.Group) error {
	if len(groups) == 0 {
		_, err := fmt.Fprintln(w, "no groups")
		return err
	}
	t := newTable("GROUP", "NAME", "KIND", "LEADER", "MEMBERS", "VOTING")
	for _, g := range groups {
		t.add(g.GetName(), g.GetDisplayName(), enumWord(kindWords, g.GetKind()), leaderName(g),
			strconv.Itoa(len(g.GetMembers())), strconv.Itoa(int(g.GetVotingMemberCount())))
	}
	return t.write(w)
}

// groupDetail prints a group's fields, then its members as a table.
func (a *app) groupDetail(w io.Writer, g *pb.Group) error {
	leader := leaderName(g)
	if err := fields(w,
		"name", g.GetName(),
		"display_name", g.GetDisplayName(),
		"kind", enumWord(kindWords, g.GetKind()),
		"zalo_link", g.GetZaloLink(),
		"leader", leader,
		"members", strconv.Itoa(len(g.GetMembers())),
		"voting_members", strconv.Itoa(int(g.GetVotingMemberCount())),
		"created", a.when(g.GetCreateTime()),
		"updated", a.when(g.GetUpdateTime()),
	); err != nil {
		return err
	}
	if len(g.GetMembers()) == 0 {
		return nil
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	t := newTable("ROLE", "NAME", "PERSON", "DELEGATE")
	for _, m := range g.GetMembers() {
		t.add(enumWord(roleWords, m.GetRole()), m.GetFullName(), m.GetPerson(), yesNo(m.GetDelegate()))
	}
	return t.write(w)
}
