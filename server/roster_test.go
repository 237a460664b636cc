package server

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

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
