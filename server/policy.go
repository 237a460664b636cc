package server

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// policies says, for every RPC, who may call it and how the target's group limits it.
// A method missing here is denied to everyone (and a test fails), so a new RPC is born
// closed. Admin and secretariat are the Office (Điều 5); people's rights follow from the
// roster: they see the groups they belong to, and nobody outside a group sees inside it
// (Điều 3.5).
var policies = map[string]rule{
	pb.RosterService_GetCouncil_FullMethodName:        anyone,
	pb.RosterService_UpdateCouncil_FullMethodName:     admin,
	pb.RosterService_CreatePerson_FullMethodName:      admin,
	pb.RosterService_GetPerson_FullMethodName:         personVisible(func(r any) string { return r.(*pb.GetPersonRequest).GetName() }),
	pb.RosterService_ListPeople_FullMethodName:        groupMember(func(r any) string { return r.(*pb.ListPeopleRequest).GetGroup() }),
	pb.RosterService_UpdatePerson_FullMethodName:      admin,
	pb.RosterService_DeactivatePerson_FullMethodName:  admin,
	pb.RosterService_CreateGroup_FullMethodName:       admin,
	pb.RosterService_GetGroup_FullMethodName:          groupMember(func(r any) string { return r.(*pb.GetGroupRequest).GetName() }),
	pb.RosterService_ListGroups_FullMethodName:        anyone, // people see their own groups: the handler filters
	pb.RosterService_UpdateGroup_FullMethodName:       admin,
	pb.RosterService_AddGroupMember_FullMethodName:    admin,
	pb.RosterService_RemoveGroupMember_FullMethodName: admin,
	pb.RosterService_ImportRoster_FullMethodName:      admin,

	pb.AccessService_CreateToken_FullMethodName: admin,
	pb.AccessService_ListTokens_FullMethodName:  admin,
	pb.AccessService_RevokeToken_FullMethodName: admin,
	pb.AccessService_WhoAmI_FullMethodName:      anyone,

	pb.AuditService_ListAuditEvents_FullMethodName: office,
	pb.AuditService_VerifyAuditLog_FullMethodName:  office,
	pb.AuditService_GetAuditHead_FullMethodName:    office,
}

// rule decides one call. It returns nil to allow, a *denial to refuse, or another error
// (a malformed resource name) for the caller to fix.
type rule func(ctx context.Context, az authorizer, p *bq.Principal, req any) error

// authorizer answers the questions rules ask of the roster beyond the principal itself.
type authorizer interface {
	SharesGroup(ctx context.Context, a, b int64) (bool, error)
}

// denial is a refusal by policy: the reason goes to the caller, the target to the audit.
type denial struct{ target, reason string }

func (d *denial) Error() string { return d.reason }

func deny(target, format string, args ...any) error {
	return &denial{target: target, reason: fmt.Sprintf(format, args...)}
}

func anyone(context.Context, authorizer, *bq.Principal, any) error { return nil }

func admin(_ context.Context, _ authorizer, p *bq.Principal, req any) error {
	if p.IsAdmin() {
		return nil
	}
	return deny(requestTarget(req), "only an admin may do this")
}

func office(_ context.Context, _ authorizer, p *bq.Principal, req any) error {
	if p.IsOffice() {
		return nil
	}
	return deny(requestTarget(req), "only the Office (admin or secretariat) may do this")
}

// groupMember allows the Office, and people who belong to the group the request names.
// A person must name a group: listing across groups would show groups they are not in.
func groupMember(group func(any) string) rule {
	return func(_ context.Context, _ authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		name := group(req)
		if name == "" {
			return deny("", "name a group you belong to: only the Office sees across groups")
		}
		id, err := parseName("group", "groups", name)
		if err != nil {
			return err
		}
		if !p.MemberOf(id) {
			return deny(name, "you are not a member of %s", name)
		}
		return nil
	}
}

// personVisible allows the Office, the person themself, and people who share a group with
// them: members of a group know each other.
func personVisible(person func(any) string) rule {
	return func(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		name := person(req)
		id, err := parseName("name", "people", name)
		if err != nil {
			return err
		}
		if p.Person.ID == id {
			return nil
		}
		shared, err := az.SharesGroup(ctx, p.Person.ID, id)
		if err != nil {
			return err
		}
		if !shared {
			return deny(name, "%s is in none of your groups", name)
		}
		return nil
	}
}

// requestTarget names the resource a request is about, for the audit of a refusal: its
// name, group or person field, or those of the resource it carries.
func requestTarget(req any) string {
	m, ok := req.(proto.Message)
	if !ok {
		return ""
	}
	msg := m.ProtoReflect()
	for _, field := range []protoreflect.Name{"name", "group", "person"} {
		if fd := msg.Descriptor().Fields().ByName(field); fd != nil {
			switch fd.Kind() {
			case protoreflect.StringKind:
				if s := msg.Get(fd).String(); s != "" {
					return s
				}
			case protoreflect.MessageKind:
				if msg.Has(fd) {
					if s := requestTarget(msg.Get(fd).Message().Interface()); s != "" {
						return s
					}
				}
			}
		}
	}
	return ""
}
