package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/rosterfile"
	"github.com/bieuquyet/bieuquyet/store"
)

type rosterServer struct {
	pb.UnimplementedRosterServiceServer
	base
	store store.RosterStore
}

// nfc puts text in composed form: Vietnamese typed on some keyboards arrives decomposed
// (NFD), and the same name must compare equal however it was typed.
func nfc(s string) string { return norm.NFC.String(s) }

func (r *rosterServer) GetCouncil(ctx context.Context, _ *pb.GetCouncilRequest) (*pb.GetCouncilResponse, error) {
	c, err := r.store.GetCouncil(ctx)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	return &pb.GetCouncilResponse{Council: councilPB(c)}, nil
}

func (r *rosterServer) UpdateCouncil(ctx context.Context, req *pb.UpdateCouncilRequest) (*pb.UpdateCouncilResponse, error) {
	in := req.GetCouncil()
	if in == nil {
		return nil, r.fail(ctx, bq.Invalid("council", "is required"))
	}
	paths, err := maskPaths(req.GetUpdateMask(), []string{"name", "term", "place"}, map[string]bool{
		"name": in.GetName() != "", "term": in.GetTerm() != "", "place": in.GetPlace() != ""})
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	c, err := r.store.UpdateCouncil(ctx, auditFrom(ctx), func(c *bq.Council) error {
		for _, p := range paths {
			switch p {
			case "name":
				c.Name = bq.CleanText(nfc(in.GetName()))
			case "term":
				c.Term = bq.CleanText(nfc(in.GetTerm()))
			case "place":
				c.Place = bq.CleanText(nfc(in.GetPlace()))
			}
		}
		return c.Validate("council").Err("invalid council")
	})
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	return &pb.UpdateCouncilResponse{Council: councilPB(c)}, nil
}

// maskPaths checks an update mask against the fields that may change. An empty mask means
// every field the request sets (AIP-134).
func maskPaths(mask *fieldmaskpb.FieldMask, allowed []string, set map[string]bool) ([]string, error) {
	if len(mask.GetPaths()) == 0 {
		var paths []string
		for _, p := range allowed {
			if set[p] {
				paths = append(paths, p)
			}
		}
		if len(paths) == 0 {
			return nil, bq.Invalid("update_mask", "nothing to change: set a field or name it in update_mask")
		}
		return paths, nil
	}
	for _, p := range mask.GetPaths() {
		ok := false
		for _, a := range allowed {
			ok = ok || p == a
		}
		if !ok {
			return nil, bq.Invalid("update_mask", "%q cannot be updated; the fields that can are %s", p, strings.Join(allowed, ", "))
		}
	}
	return mask.GetPaths(), nil
}

func (r *rosterServer) CreatePerson(ctx context.Context, req *pb.CreatePersonRequest) (*pb.CreatePersonResponse, error) {
	in := req.GetPerson()
	if in == nil {
		return nil, r.fail(ctx, bq.Invalid("person", "is required"))
	}
	p := personFromPB(in)
	p.Normalize()
	if err := p.Validate("person").Err("invalid person"); err != nil {
		return nil, r.fail(ctx, err)
	}
	out, err := r.store.CreatePerson(ctx, auditFrom(ctx), p)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	return &pb.CreatePersonResponse{Person: personPB(out)}, nil
}

func (r *rosterServer) GetPerson(ctx context.Context, req *pb.GetPersonRequest) (*pb.GetPersonResponse, error) {
	id, err := bq.ParseName("name", bq.People, req.GetName())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	p, err := r.store.GetPerson(ctx, id)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	return &pb.GetPersonResponse{Person: personPB(p)}, nil
}

func (r *rosterServer) ListPeople(ctx context.Context, req *pb.ListPeopleRequest) (*pb.ListPeopleResponse, error) {
	size, err := pageSize("page_size", req.GetPageSize())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	f := store.PeopleFilter{Limit: size + 1, Delegate: req.Delegate, Active: req.Active}
	if req.GetGroup() != "" {
		if f.GroupID, err = bq.ParseName("group", bq.Groups, req.GetGroup()); err != nil {
			return nil, r.fail(ctx, err)
		}
	}
	if req.GetPhone() != "" {
		if f.Phone, err = bq.NormalizePhone(req.GetPhone()); err != nil {
			return nil, r.fail(ctx, bq.Invalid("phone", "%v", err))
		}
	}
	filter := fmt.Sprintf("%d|%v|%v|%s", f.GroupID, fmtBool(f.Delegate), fmtBool(f.Active), f.Phone)
	if f.AfterID, err = parsePageToken("page_token", req.GetPageToken(), filter); err != nil {
		return nil, r.fail(ctx, err)
	}
	people, err := r.store.ListPeople(ctx, f)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	resp := &pb.ListPeopleResponse{}
	if len(people) > size {
		people = people[:size]
		resp.NextPageToken = pageToken(people[size-1].ID, filter)
	}
	for i := range people {
		resp.People = append(resp.People, personPB(&people[i]))
	}
	return resp, nil
}

func fmtBool(b *bool) string {
	if b == nil {
		return "-"
	}
	return fmt.Sprint(*b)
}

var personFields = []string{"full_name", "title", "delegate", "phone", "zalo_name", "email", "signing_identity"}

func (r *rosterServer) UpdatePerson(ctx context.Context, req *pb.UpdatePersonRequest) (*pb.UpdatePersonResponse, error) {
	in := req.GetPerson()
	if in == nil {
		return nil, r.fail(ctx, bq.Invalid("person", "is required"))
	}
	id, err := bq.ParseName("person.name", bq.People, in.GetName())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	paths, err := maskPaths(req.GetUpdateMask(), personFields, map[string]bool{
		"full_name": in.GetFullName() != "", "title": in.GetTitle() != "", "delegate": in.GetDelegate(),
		"phone": in.GetPhone() != "", "zalo_name": in.GetZaloName() != "", "email": in.GetEmail() != "",
		"signing_identity": in.GetSigningIdentity().GetKind() != pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_UNSPECIFIED || in.GetSigningIdentity().GetValue() != ""})
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	src := personFromPB(in)
	p, err := r.store.UpdatePerson(ctx, auditFrom(ctx), id, func(p *bq.Person) error {
		for _, path := range paths {
			switch path {
			case "full_name":
				p.FullName = src.FullName
			case "title":
				p.Title = src.Title
			case "delegate":
				p.Delegate = src.Delegate
			case "phone":
				p.Phone = src.Phone
			case "zalo_name":
				p.ZaloName = src.ZaloName
			case "email":
				p.Email = src.Email
			case "signing_identity":
				p.SigningIdentity = src.SigningIdentity
			}
		}
		p.Normalize()
		return p.Validate("person").Err("invalid person")
	})
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	r.access.fire() // who belongs where may have changed: open streams look again
	return &pb.UpdatePersonResponse{Person: personPB(p)}, nil
}

func (r *rosterServer) DeactivatePerson(ctx context.Context, req *pb.DeactivatePersonRequest) (*pb.DeactivatePersonResponse, error) {
	id, err := bq.ParseName("name", bq.People, req.GetName())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	p, err := r.store.DeactivatePerson(ctx, auditFrom(ctx), id)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	r.access.fire() // who belongs where may have changed: open streams look again
	return &pb.DeactivatePersonResponse{Person: personPB(p)}, nil
}

func (r *rosterServer) CreateGroup(ctx context.Context, req *pb.CreateGroupRequest) (*pb.CreateGroupResponse, error) {
	in := req.GetGroup()
	if in == nil {
		return nil, r.fail(ctx, bq.Invalid("group", "is required"))
	}
	g := &bq.Group{DisplayName: nfc(in.GetDisplayName()), Kind: kindFromPB(in.GetKind()), ZaloLink: in.GetZaloLink()}
	g.Normalize()
	vs := g.Validate("group")
	if in.GetLeader() == "" {
		vs.Add("group.leader", "is required: every group has a leader")
	} else if id, err := bq.ParseName("group.leader", bq.People, in.GetLeader()); err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	} else {
		g.LeaderID = id
	}
	if err := vs.Err("invalid group"); err != nil {
		return nil, r.fail(ctx, err)
	}
	out, err := r.store.CreateGroup(ctx, auditFrom(ctx), g)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	return &pb.CreateGroupResponse{Group: groupPB(out)}, nil
}

func (r *rosterServer) GetGroup(ctx context.Context, req *pb.GetGroupRequest) (*pb.GetGroupResponse, error) {
	id, err := bq.ParseName("name", bq.Groups, req.GetName())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	g, err := r.store.GetGroup(ctx, id)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	return &pb.GetGroupResponse{Group: groupPB(g)}, nil
}

func (r *rosterServer) ListGroups(ctx context.Context, req *pb.ListGroupsRequest) (*pb.ListGroupsResponse, error) {
	size, err := pageSize("page_size", req.GetPageSize())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	f := store.GroupFilter{Limit: size + 1}
	if p := principalFrom(ctx); p != nil && p.Person != nil {
		f.MemberID = p.Person.ID // people see the groups they belong to, nothing else
	}
	if req.GetKind() != pb.GroupKind_GROUP_KIND_UNSPECIFIED {
		if f.Kind = kindFromPB(req.GetKind()); f.Kind == "" {
			return nil, r.fail(ctx, bq.Invalid("kind", "%d is not a group kind", req.GetKind()))
		}
	}
	filter := fmt.Sprintf("%s|%d", f.Kind, f.MemberID)
	if f.AfterID, err = parsePageToken("page_token", req.GetPageToken(), filter); err != nil {
		return nil, r.fail(ctx, err)
	}
	groups, err := r.store.ListGroups(ctx, f)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	resp := &pb.ListGroupsResponse{}
	if len(groups) > size {
		groups = groups[:size]
		resp.NextPageToken = pageToken(groups[size-1].ID, filter)
	}
	for i := range groups {
		resp.Groups = append(resp.Groups, groupPB(&groups[i]))
	}
	return resp, nil
}

func (r *rosterServer) UpdateGroup(ctx context.Context, req *pb.UpdateGroupRequest) (*pb.UpdateGroupResponse, error) {
	in := req.GetGroup()
	if in == nil {
		return nil, r.fail(ctx, bq.Invalid("group", "is required"))
	}
	id, err := bq.ParseName("group.name", bq.Groups, in.GetName())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	paths, err := maskPaths(req.GetUpdateMask(), []string{"display_name", "zalo_link", "leader"}, map[string]bool{
		"display_name": in.GetDisplayName() != "", "zalo_link": in.GetZaloLink() != "", "leader": in.GetLeader() != ""})
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	var leader int64
	for _, p := range paths {
		if p == "leader" {
			if leader, err = bq.ParseName("group.leader", bq.People, in.GetLeader()); err != nil {
				return nil, r.fail(ctx, err)
			}
		}
	}
	g, err := r.store.UpdateGroup(ctx, auditFrom(ctx), id, func(g *bq.Group) error {
		for _, p := range paths {
			switch p {
			case "display_name":
				g.DisplayName = nfc(in.GetDisplayName())
			case "zalo_link":
				g.ZaloLink = in.GetZaloLink()
			case "leader":
				g.LeaderID = leader
			}
		}
		g.Normalize()
		return g.Validate("group").Err("invalid group")
	})
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	r.access.fire() // who belongs where may have changed: open streams look again
	return &pb.UpdateGroupResponse{Group: groupPB(g)}, nil
}

func (r *rosterServer) AddGroupMember(ctx context.Context, req *pb.AddGroupMemberRequest) (*pb.AddGroupMemberResponse, error) {
	gid, pid, err := parseMembership(req.GetGroup(), req.GetPerson())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	var role bq.Role
	switch req.GetRole() {
	case pb.MemberRole_MEMBER_ROLE_UNSPECIFIED:
	case pb.MemberRole_MEMBER_ROLE_MEMBER:
		role = bq.RoleMember
	case pb.MemberRole_MEMBER_ROLE_STAFF:
		role = bq.RoleStaff
	case pb.MemberRole_MEMBER_ROLE_LEADER:
		return nil, r.fail(ctx, bq.Invalid("role", "the leader is set with UpdateGroup, not added"))
	default:
		return nil, r.fail(ctx, bq.Invalid("role", "%d is not a member role", req.GetRole()))
	}
	g, err := r.store.AddGroupMember(ctx, auditFrom(ctx), gid, pid, role)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	return &pb.AddGroupMemberResponse{Group: groupPB(g)}, nil
}

func (r *rosterServer) RemoveGroupMember(ctx context.Context, req *pb.RemoveGroupMemberRequest) (*pb.RemoveGroupMemberResponse, error) {
	gid, pid, err := parseMembership(req.GetGroup(), req.GetPerson())
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	g, err := r.store.RemoveGroupMember(ctx, auditFrom(ctx), gid, pid)
	if err != nil {
		return nil, r.fail(ctx, err)
	}
	r.access.fire() // who belongs where may have changed: open streams look again
	return &pb.RemoveGroupMemberResponse{Group: groupPB(g)}, nil
}

func parseMembership(group, person string) (int64, int64, error) {
	gid, err := bq.ParseName("group", bq.Groups, group)
	if err != nil {
		return 0, 0, err
	}
	pid, err := bq.ParseName("person", bq.People, person)
	return gid, pid, err
}

func (r *rosterServer) ImportRoster(ctx context.Context, req *pb.ImportRosterRequest) (*pb.ImportRosterResponse, error) {
	var format rosterfile.Format
	switch req.GetFormat() {
	case pb.RosterFormat_ROSTER_FORMAT_UNSPECIFIED:
		format = rosterfile.FormatDetect
	case pb.RosterFormat_ROSTER_FORMAT_CSV:
		format = rosterfile.FormatCSV
	case pb.RosterFormat_ROSTER_FORMAT_XLSX:
		format = rosterfile.FormatXLSX
	default:
		return nil, r.fail(ctx, bq.Invalid("format", "%d is not a roster format", req.GetFormat()))
	}
	f, err := rosterfile.Parse(req.GetContent(), format)
	var changes []bq.Change
	if err == nil {
		changes, err = r.store.ApplyRoster(ctx, auditFrom(ctx), f, req.GetDryRun())
	}
	if err != nil {
		// A dry run answers with every problem; a refused import's error carries only
		// the first ones (see withViolations).
		if ps, ok := problems(err); ok && req.GetDryRun() {
			return &pb.ImportRosterResponse{DryRun: true, Problems: ps}, nil
		}
		return nil, r.fail(ctx, err)
	}
	if !req.GetDryRun() && len(changes) > 0 {
		r.access.fire()
	}
	resp := &pb.ImportRosterResponse{DryRun: req.GetDryRun(), People: int32(len(f.People)), Groups: int32(len(f.Groups)), Memberships: int32(len(f.Members))}
	for _, c := range changes {
		resp.Changes = append(resp.Changes, &pb.RosterChange{Action: c.Action, Target: c.Target, Detail: c.Detail})
	}
	return resp, nil
}

func councilPB(c *bq.Council) *pb.Council {
	return &pb.Council{Name: c.Name, Term: c.Term, Place: c.Place, UpdateTime: timestamppb.New(c.UpdateTime)}
}

func personFromPB(in *pb.Person) *bq.Person {
	return &bq.Person{
		FullName: nfc(in.GetFullName()), Title: nfc(in.GetTitle()), Delegate: in.GetDelegate(), Phone: in.GetPhone(),
		ZaloName: nfc(in.GetZaloName()), Email: in.GetEmail(), SigningIdentity: identityFromPB(in.GetSigningIdentity()),
	}
}

func personPB(p *bq.Person) *pb.Person {
	return &pb.Person{
		Name: bq.PersonName(p.ID), FullName: p.FullName, Title: p.Title, Delegate: p.Delegate, Phone: p.Phone,
		ZaloName: p.ZaloName, Email: p.Email, SigningIdentity: identityPB(p.SigningIdentity), Active: p.Active,
		CreateTime: timestamppb.New(p.CreateTime), UpdateTime: timestamppb.New(p.UpdateTime),
	}
}

var identityKinds = map[pb.SigningIdentityKind]bq.IdentityKind{
	pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CCCD:        bq.IdentityCCCD,
	pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CMND:        bq.IdentityCMND,
	pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CERT_SHA256: bq.IdentityCertSHA256,
}

// identityFromPB maps a signing identity as sent; Person.Normalize and Validate check it,
// naming person.signing_identity.kind or .value. A kind this server does not know keeps
// its number, so that the violation can name it.
func identityFromPB(in *pb.SigningIdentity) bq.SigningIdentity {
	k := in.GetKind()
	kind, ok := identityKinds[k]
	if !ok && k != pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_UNSPECIFIED {
		kind = bq.IdentityKind(strconv.Itoa(int(k)))
	}
	return bq.SigningIdentity{Kind: kind, Value: in.GetValue()}
}

// identityPB maps a stored identity; an unknown one (free text from before identities
// were structured) goes out as UNSPECIFIED with its text.
func identityPB(id bq.SigningIdentity) *pb.SigningIdentity {
	if id.IsZero() {
		return nil
	}
	for k, kind := range identityKinds {
		if kind == id.Kind {
			return &pb.SigningIdentity{Kind: k, Value: id.Value}
		}
	}
	return &pb.SigningIdentity{Value: id.String()}
}

var kinds = map[pb.GroupKind]bq.GroupKind{
	pb.GroupKind_GROUP_KIND_ALL_DELEGATES:      bq.KindAllDelegates,
	pb.GroupKind_GROUP_KIND_STANDING_COMMITTEE: bq.KindStandingCommittee,
	pb.GroupKind_GROUP_KIND_COMMITTEE:          bq.KindCommittee,
	pb.GroupKind_GROUP_KIND_DELEGATE_GROUP:     bq.KindDelegateGroup,
}

func kindFromPB(k pb.GroupKind) bq.GroupKind { return kinds[k] }

func kindPB(k bq.GroupKind) pb.GroupKind {
	for p, d := range kinds {
		if d == k {
			return p
		}
	}
	return pb.GroupKind_GROUP_KIND_UNSPECIFIED
}

var roles = map[bq.Role]pb.MemberRole{
	bq.RoleLeader: pb.MemberRole_MEMBER_ROLE_LEADER,
	bq.RoleMember: pb.MemberRole_MEMBER_ROLE_MEMBER,
	bq.RoleStaff:  pb.MemberRole_MEMBER_ROLE_STAFF,
}

func groupPB(g *bq.Group) *pb.Group {
	out := &pb.Group{
		Name: bq.GroupName(g.ID), DisplayName: g.DisplayName, Kind: kindPB(g.Kind), ZaloLink: g.ZaloLink,
		VotingMemberCount: int32(g.VotingMembers()), CreateTime: timestamppb.New(g.CreateTime), UpdateTime: timestamppb.New(g.UpdateTime),
	}
	if g.LeaderID != 0 {
		out.Leader = bq.PersonName(g.LeaderID)
	}
	for _, m := range g.Members {
		out.Members = append(out.Members, &pb.GroupMember{Person: bq.PersonName(m.PersonID), FullName: m.FullName, Role: roles[m.Role], Delegate: m.Delegate})
	}
	return out
}
