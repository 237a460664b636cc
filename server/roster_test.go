package server

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

func (h *harness) person(t *testing.T, name, phone string, delegate bool) *pb.Person {
	t.Helper()
	resp, err := h.roster.CreatePerson(context.Background(), &pb.CreatePersonRequest{Person: &pb.Person{FullName: name, Phone: phone, Delegate: delegate}})
	if err != nil {
		t.Fatalf("CreatePerson(%s): %v", name, err)
	}
	return resp.GetPerson()
}

func TestCouncilIsDataSetByUpdate(t *testing.T) {
	h := startStore(t)
	ctx := context.Background()
	_, err := h.roster.UpdateCouncil(ctx, &pb.UpdateCouncilRequest{Council: &pb.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương"}})
	wantStatus(t, err, codes.InvalidArgument, "council.term", "council.place")
	_, err = h.roster.GetCouncil(ctx, &pb.GetCouncilRequest{})
	wantStatus(t, err, codes.NotFound)
	full := &pb.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương"}
	if _, err := h.roster.UpdateCouncil(ctx, &pb.UpdateCouncilRequest{Council: full}); err != nil {
		t.Fatal(err)
	}
	resp, err := h.roster.UpdateCouncil(ctx, &pb.UpdateCouncilRequest{
		Council: &pb.Council{Term: "khóa XI, nhiệm kỳ 2026 - 2031"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"term"}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.GetCouncil(); c.GetName() != full.GetName() || c.GetTerm() != "khóa XI, nhiệm kỳ 2026 - 2031" {
		t.Errorf("after masked update: %v", c)
	}
	_, err = h.roster.UpdateCouncil(ctx, &pb.UpdateCouncilRequest{Council: full, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"update_time"}}})
	wantStatus(t, err, codes.InvalidArgument, "update_mask")
}

func TestPeopleLifecycle(t *testing.T) {
	h := startStore(t)
	ctx := context.Background()
	// Decomposed (NFD) input is stored composed, and the phone in one spelling.
	nfd := "Nguye\u0302\u0303n Va\u0306n An"
	p := h.person(t, nfd, "0900 000 001", true)
	if p.GetFullName() != "Nguyễn Văn An" || p.GetPhone() != "+84900000001" || !p.GetActive() || p.GetName() != "people/1" {
		t.Fatalf("created %v", p)
	}
	_, err := h.roster.CreatePerson(ctx, &pb.CreatePersonRequest{Person: &pb.Person{FullName: "Người Khác", Phone: "+84 900.000.001"}})
	wantStatus(t, err, codes.AlreadyExists)
	_, err = h.roster.CreatePerson(ctx, &pb.CreatePersonRequest{Person: &pb.Person{Phone: "12", Email: "x"}})
	wantStatus(t, err, codes.InvalidArgument, "person.full_name", "person.phone", "person.email")

	upd, err := h.roster.UpdatePerson(ctx, &pb.UpdatePersonRequest{
		Person:     &pb.Person{Name: p.GetName(), Title: "Phó Trưởng ban Pháp chế", Delegate: false},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := upd.GetPerson(); got.GetTitle() != "Phó Trưởng ban Pháp chế" || !got.GetDelegate() {
		t.Fatalf("a masked update touched more than the mask: %v", got)
	}
	_, err = h.roster.UpdatePerson(ctx, &pb.UpdatePersonRequest{Person: &pb.Person{Name: "people/99", Title: "x"}})
	wantStatus(t, err, codes.NotFound)
	_, err = h.roster.GetPerson(ctx, &pb.GetPersonRequest{Name: "persons/1"})
	wantStatus(t, err, codes.InvalidArgument, "name")

	for i := 2; i <= 7; i++ {
		h.person(t, fmt.Sprintf("Thư ký %d", i), fmt.Sprintf("09000000%02d", i), false)
	}
	d, err := h.roster.DeactivatePerson(ctx, &pb.DeactivatePersonRequest{Name: "people/7"})
	if err != nil || d.GetPerson().GetActive() {
		t.Fatalf("deactivate: %v, %v", d, err)
	}
	_, err = h.roster.DeactivatePerson(ctx, &pb.DeactivatePersonRequest{Name: "people/7"})
	wantStatus(t, err, codes.FailedPrecondition)

	// Pages of 4 over the 5 active non-delegates... and then the filter may not change.
	active, delegate := true, false
	first, err := h.roster.ListPeople(ctx, &pb.ListPeopleRequest{PageSize: 4, Active: &active, Delegate: &delegate})
	if err != nil || len(first.GetPeople()) != 4 || first.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", first, err)
	}
	second, err := h.roster.ListPeople(ctx, &pb.ListPeopleRequest{PageSize: 4, Active: &active, Delegate: &delegate, PageToken: first.GetNextPageToken()})
	if err != nil || len(second.GetPeople()) != 1 || second.GetNextPageToken() != "" || second.GetPeople()[0].GetName() != "people/6" {
		t.Fatalf("second page: %v, %v", second, err)
	}
	_, err = h.roster.ListPeople(ctx, &pb.ListPeopleRequest{PageSize: 4, PageToken: first.GetNextPageToken()})
	wantStatus(t, err, codes.InvalidArgument, "page_token")
	byPhone, err := h.roster.ListPeople(ctx, &pb.ListPeopleRequest{Phone: "0900000001"})
	if err != nil || len(byPhone.GetPeople()) != 1 || byPhone.GetPeople()[0].GetName() != "people/1" {
		t.Fatalf("by phone: %v, %v", byPhone, err)
	}
}

func TestGroupsKeepTheirRules(t *testing.T) {
	h := startStore(t)
	ctx := context.Background()
	head := h.person(t, "Trần Văn Trưởng", "0900000001", true)
	member := h.person(t, "Lê Thị Thành", "0900000002", true)
	clerk := h.person(t, "Phạm Thị Thư", "0900000003", false)

	_, err := h.roster.CreateGroup(ctx, &pb.CreateGroupRequest{Group: &pb.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: pb.GroupKind_GROUP_KIND_COMMITTEE}})
	wantStatus(t, err, codes.InvalidArgument, "group.leader")
	_, err = h.roster.CreateGroup(ctx, &pb.CreateGroupRequest{Group: &pb.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: pb.GroupKind_GROUP_KIND_COMMITTEE, Leader: clerk.GetName()}})
	wantStatus(t, err, codes.FailedPrecondition)
	created, err := h.roster.CreateGroup(ctx, &pb.CreateGroupRequest{Group: &pb.Group{
		DisplayName: "HĐND - Ban Pháp chế", Kind: pb.GroupKind_GROUP_KIND_COMMITTEE, Leader: head.GetName(), ZaloLink: "https://zalo.me/g/phapche"}})
	if err != nil {
		t.Fatal(err)
	}
	g := created.GetGroup()
	if _, err := h.roster.AddGroupMember(ctx, &pb.AddGroupMemberRequest{Group: g.GetName(), Person: member.GetName()}); err != nil {
		t.Fatal(err)
	}
	added, err := h.roster.AddGroupMember(ctx, &pb.AddGroupMemberRequest{Group: g.GetName(), Person: clerk.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if got := added.GetGroup(); got.GetVotingMemberCount() != 2 || len(got.GetMembers()) != 3 || got.GetMembers()[2].GetRole() != pb.MemberRole_MEMBER_ROLE_STAFF {
		t.Fatalf("members: %v", got)
	}
	_, err = h.roster.AddGroupMember(ctx, &pb.AddGroupMemberRequest{Group: g.GetName(), Person: clerk.GetName()})
	wantStatus(t, err, codes.AlreadyExists)
	_, err = h.roster.RemoveGroupMember(ctx, &pb.RemoveGroupMemberRequest{Group: g.GetName(), Person: head.GetName()})
	wantStatus(t, err, codes.FailedPrecondition)
	_, err = h.roster.AddGroupMember(ctx, &pb.AddGroupMemberRequest{Group: "groups/9", Person: head.GetName()})
	wantStatus(t, err, codes.NotFound)

	upd, err := h.roster.UpdateGroup(ctx, &pb.UpdateGroupRequest{Group: &pb.Group{Name: g.GetName(), Leader: member.GetName()}})
	if err != nil {
		t.Fatal(err)
	}
	if upd.GetGroup().GetLeader() != member.GetName() {
		t.Fatalf("leader = %s", upd.GetGroup().GetLeader())
	}
	removed, err := h.roster.RemoveGroupMember(ctx, &pb.RemoveGroupMemberRequest{Group: g.GetName(), Person: head.GetName()})
	if err != nil || len(removed.GetGroup().GetMembers()) != 2 {
		t.Fatalf("remove the former leader: %v, %v", removed, err)
	}
	_, err = h.roster.UpdateGroup(ctx, &pb.UpdateGroupRequest{Group: &pb.Group{Name: g.GetName(), ZaloLink: "zalo.me/g/x"}})
	wantStatus(t, err, codes.InvalidArgument, "group.zalo_link")
	got, err := h.roster.GetGroup(ctx, &pb.GetGroupRequest{Name: g.GetName()})
	if err != nil || got.GetGroup().GetZaloLink() != "https://zalo.me/g/phapche" {
		t.Fatalf("a refused update changed the group: %v, %v", got, err)
	}
	list, err := h.roster.ListGroups(ctx, &pb.ListGroupsRequest{Kind: pb.GroupKind_GROUP_KIND_DELEGATE_GROUP})
	if err != nil || len(list.GetGroups()) != 0 {
		t.Fatalf("kind filter: %v, %v", list, err)
	}
	list, err = h.roster.ListGroups(ctx, &pb.ListGroupsRequest{})
	if err != nil || len(list.GetGroups()) != 1 || !proto.Equal(list.GetGroups()[0], got.GetGroup()) {
		t.Fatalf("list: %v, %v", list, err)
	}
}

func TestSigningIdentity(t *testing.T) {
	h := startStore(t)
	ctx := context.Background()
	cccd := &pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CCCD, Value: " 074085000101 "}
	resp, err := h.roster.CreatePerson(ctx, &pb.CreatePersonRequest{Person: &pb.Person{FullName: "Nguyễn Văn An", Phone: "0900000001", Delegate: true, SigningIdentity: cccd}})
	if err != nil {
		t.Fatal(err)
	}
	p := resp.GetPerson()
	if id := p.GetSigningIdentity(); id.GetKind() != cccd.GetKind() || id.GetValue() != "074085000101" {
		t.Fatalf("created with identity %v", id)
	}

	bad := []struct {
		id    *pb.SigningIdentity
		field string
	}{
		{&pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CCCD, Value: "74085000101"}, "person.signing_identity.value"},
		{&pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CMND, Value: "27123456x"}, "person.signing_identity.value"},
		{&pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CERT_SHA256, Value: "ab:cd"}, "person.signing_identity.value"},
		{&pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CCCD}, "person.signing_identity.value"},
		{&pb.SigningIdentity{Value: "074085000102"}, "person.signing_identity.kind"},
		{&pb.SigningIdentity{Kind: 9, Value: "074085000102"}, "person.signing_identity.kind"},
	}
	for _, tt := range bad {
		_, err := h.roster.CreatePerson(ctx, &pb.CreatePersonRequest{Person: &pb.Person{FullName: "Trần Thị Bình", Phone: "0900000002", SigningIdentity: tt.id}})
		wantStatus(t, err, codes.InvalidArgument, tt.field)
		_, err = h.roster.UpdatePerson(ctx, &pb.UpdatePersonRequest{Person: &pb.Person{Name: p.GetName(), SigningIdentity: tt.id}})
		wantStatus(t, err, codes.InvalidArgument, tt.field)
	}

	// Two people never share an identity.
	other := h.person(t, "Trần Thị Bình", "0900000002", true)
	_, err = h.roster.UpdatePerson(ctx, &pb.UpdatePersonRequest{Person: &pb.Person{Name: other.GetName(), SigningIdentity: cccd}})
	wantStatus(t, err, codes.AlreadyExists)

	// A fingerprint is kept as bare lower-case hex; an empty mask takes the identity set.
	fp := "3F:0C:5A:7E:9B:1D:2C:4F:6A:8E:0B:1C:3D:5F:7A:9E:2B:4C:6D:8F:0A:1E:3C:5B:7D:9F:1A:2C:4E:6B:8D:0F"
	upd, err := h.roster.UpdatePerson(ctx, &pb.UpdatePersonRequest{Person: &pb.Person{Name: other.GetName(),
		SigningIdentity: &pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CERT_SHA256, Value: fp}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := upd.GetPerson().GetSigningIdentity().GetValue(); got != "3f0c5a7e9b1d2c4f6a8e0b1c3d5f7a9e2b4c6d8f0a1e3c5b7d9f1a2c4e6b8d0f" {
		t.Errorf("fingerprint stored as %q", got)
	}

	// Naming the field in the mask with no identity unbinds.
	upd, err = h.roster.UpdatePerson(ctx, &pb.UpdatePersonRequest{Person: &pb.Person{Name: p.GetName()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"signing_identity"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := upd.GetPerson(); got.GetSigningIdentity() != nil || got.GetFullName() != "Nguyễn Văn An" {
		t.Errorf("after unbinding: %v", got)
	}
}

// A value stored before identities had kinds goes out as UNSPECIFIED with its text.
func TestIdentityPBKeepsUnknownText(t *testing.T) {
	for _, tt := range []struct {
		id   bq.SigningIdentity
		want *pb.SigningIdentity
	}{
		{bq.SigningIdentity{}, nil},
		{bq.StoredSigningIdentity("MST:0301234567"), &pb.SigningIdentity{Value: "MST:0301234567"}},
		{bq.SigningIdentity{Kind: bq.IdentityCMND, Value: "271234567"}, &pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CMND, Value: "271234567"}},
	} {
		if got := identityPB(tt.id); !proto.Equal(got, tt.want) {
			t.Errorf("identityPB(%+v) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
