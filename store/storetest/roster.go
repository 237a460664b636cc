package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

func memberRoles(g *bq.Group) map[int64]bq.Role {
	m := map[int64]bq.Role{}
	for _, x := range g.Members {
		m[x.PersonID] = x.Role
	}
	return m
}

func testAllDelegatesGroupHoldsEveryActiveDelegate(t *testing.T, open Factory) {
	s := newStore(t, open)
	ctx := context.Background()
	leader := MustPerson(t, s, "Lê Văn Chủ", true, 1)
	a := MustPerson(t, s, "Phạm Thị An", true, 2)
	staff := MustPerson(t, s, "Võ Văn Nhân Viên", false, 3)
	g, err := s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Đại biểu khóa X", Kind: bq.KindAllDelegates, LeaderID: leader.ID})
	if err != nil {
		t.Fatal(err)
	}
	if roles := memberRoles(g); len(roles) != 2 || roles[leader.ID] != bq.RoleLeader || roles[a.ID] != bq.RoleMember {
		t.Fatalf("members after create = %v", roles)
	}
	late := MustPerson(t, s, "Đỗ Văn Muộn", true, 4)
	if _, err := s.AddGroupMember(ctx, Audit, g.ID, staff.ID, ""); err != nil {
		t.Fatalf("add staff: %v", err)
	}
	g, _ = s.GetGroup(ctx, g.ID)
	if roles := memberRoles(g); roles[late.ID] != bq.RoleMember || roles[staff.ID] != bq.RoleStaff || g.VotingMembers() != 3 {
		t.Fatalf("a new delegate must join at once: %v", roles)
	}
	if _, err := s.DeactivatePerson(ctx, Audit, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePerson(ctx, Audit, late.ID, func(p *bq.Person) error { p.Delegate = false; return nil }); err != nil {
		t.Fatal(err)
	}
	g, _ = s.GetGroup(ctx, g.ID)
	if roles := memberRoles(g); len(roles) != 2 || roles[leader.ID] != bq.RoleLeader || roles[staff.ID] != bq.RoleStaff {
		t.Fatalf("deactivated and former delegates must leave: %v", roles)
	}
	_, err = s.RemoveGroupMember(ctx, Audit, g.ID, leader.ID)
	wantCode(t, err, bq.CodeFailedPrecondition)
	_, err = s.AddGroupMember(ctx, Audit, g.ID, leader.ID, bq.RoleMember)
	wantCode(t, err, bq.CodeAlreadyExists)
}

func testGroupRulesRefuseAndChangeNothing(t *testing.T, open Factory) {
	s := newStore(t, open)
	ctx := context.Background()
	head := MustPerson(t, s, "Nguyễn Văn Trưởng", true, 1)
	member := MustPerson(t, s, "Trần Thị Thành", true, 2)
	clerk := MustPerson(t, s, "Hồ Thị Thư", false, 3)
	_, err := s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: clerk.ID})
	wantCode(t, err, bq.CodeFailedPrecondition)
	if gs, _ := s.ListGroups(ctx, store.GroupFilter{Limit: 10}); len(gs) != 0 {
		t.Fatalf("a refused CreateGroup left %d groups", len(gs))
	}
	g, err := s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: head.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: head.ID})
	wantCode(t, err, bq.CodeAlreadyExists)
	_, err = s.AddGroupMember(ctx, Audit, g.ID, clerk.ID, bq.RoleMember)
	wantCode(t, err, bq.CodeFailedPrecondition)
	_, err = s.AddGroupMember(ctx, Audit, g.ID, member.ID, bq.RoleStaff)
	wantCode(t, err, bq.CodeFailedPrecondition)
	if _, err := s.AddGroupMember(ctx, Audit, g.ID, member.ID, bq.RoleMember); err != nil {
		t.Fatal(err)
	}
	// A member who stops being a delegate would vote without the right to.
	_, err = s.UpdatePerson(ctx, Audit, member.ID, func(p *bq.Person) error { p.Delegate = false; return nil })
	wantCode(t, err, bq.CodeFailedPrecondition)
	if p, _ := s.GetPerson(ctx, member.ID); !p.Delegate {
		t.Fatal("a refused UpdatePerson changed the person")
	}
	_, err = s.DeactivatePerson(ctx, Audit, head.ID)
	wantCode(t, err, bq.CodeFailedPrecondition)
	// Moving the leadership keeps the old leader as a member.
	g, err = s.UpdateGroup(ctx, Audit, g.ID, func(g *bq.Group) error { g.LeaderID = member.ID; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if roles := memberRoles(g); roles[member.ID] != bq.RoleLeader || roles[head.ID] != bq.RoleMember || g.LeaderID != member.ID {
		t.Fatalf("after leader change: %v", roles)
	}
	_, err = s.UpdateGroup(ctx, Audit, g.ID, func(g *bq.Group) error { g.Kind = bq.KindDelegateGroup; return nil })
	wantCode(t, err, bq.CodeInvalid)
}

func testCreatePersonRefusesTakenPhoneAndIdentity(t *testing.T, open Factory) {
	s := newStore(t, open)
	ctx := context.Background()
	p := MustPerson(t, s, "Lý Văn Một", true, 1)
	_, err := s.CreatePerson(ctx, Audit, &bq.Person{FullName: "Lý Văn Hai", Phone: p.Phone})
	wantCode(t, err, bq.CodeAlreadyExists)
	cccd := bq.SigningIdentity{Kind: bq.IdentityCCCD, Value: "074203000101"}
	got, err := s.UpdatePerson(ctx, Audit, p.ID, func(p *bq.Person) error { p.SigningIdentity = cccd; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetPerson(ctx, got.ID); err != nil || got.SigningIdentity != cccd {
		t.Fatalf("stored identity read back as %+v, %v; want %+v", got.SigningIdentity, err, cccd)
	}
	_, err = s.CreatePerson(ctx, Audit, &bq.Person{FullName: "Lý Văn Ba", Phone: "+84900000999", SigningIdentity: cccd})
	wantCode(t, err, bq.CodeAlreadyExists)
	people, _ := s.ListPeople(ctx, store.PeopleFilter{Limit: 10})
	if len(people) != 1 {
		t.Fatalf("refused creates left %d people", len(people))
	}

	// Another kind is another identity.
	cert := bq.SigningIdentity{Kind: bq.IdentityCertSHA256, Value: "3f0c5a7e9b1d2c4f6a8e0b1c3d5f7a9e2b4c6d8f0a1e3c5b7d9f1a2c4e6b8d0f"}
	other, err := s.CreatePerson(ctx, Audit, &bq.Person{FullName: "Lý Văn Bốn", Phone: "+84900000998", SigningIdentity: cert})
	if err != nil {
		t.Fatal(err)
	}
	if other.SigningIdentity != cert {
		t.Fatalf("created with identity %+v, want %+v", other.SigningIdentity, cert)
	}
	_, err = s.UpdatePerson(ctx, Audit, other.ID, func(p *bq.Person) error { p.SigningIdentity = cccd; return nil })
	wantCode(t, err, bq.CodeAlreadyExists)
}

func rosterFile(leaderPhone string, members ...string) *bq.RosterFile {
	f := &bq.RosterFile{Council: &bq.RosterCouncil{Row: 2, Council: bq.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương"}}}
	for i, ph := range []string{"+84900000001", "+84900000002", "+84900000003"} {
		f.People = append(f.People, bq.RosterPerson{Row: 3 + i, Person: bq.Person{FullName: fmt.Sprintf("Đại biểu %d", i+1), Delegate: true, Phone: ph}})
	}
	f.Groups = []bq.RosterGroup{{Row: 6, Group: bq.Group{DisplayName: "HĐND - Tổ ĐB Dĩ An", Kind: bq.KindDelegateGroup}, LeaderPhone: leaderPhone}}
	for i, ph := range members {
		f.Members = append(f.Members, bq.RosterMember{Row: 7 + i, Group: "HĐND - Tổ ĐB Dĩ An", Phone: ph, Role: bq.RoleMember})
	}
	return f
}

func testApplyRosterIsIdempotentAndDryRunChangesNothing(t *testing.T, open Factory) {
	s := newStore(t, open)
	ctx := context.Background()
	f := rosterFile("+84900000001", "+84900000001", "+84900000002")
	if vs := f.Validate(); len(vs) > 0 {
		t.Fatalf("fixture invalid: %v", vs)
	}
	dry, err := s.ApplyRoster(ctx, Audit, f, true)
	if err != nil || len(dry) == 0 {
		t.Fatalf("dry run: %v, %v", dry, err)
	}
	if _, err := s.GetCouncil(ctx); bq.ErrorCode(err) != bq.CodeNotFound {
		t.Fatalf("a dry run set up the council: %v", err)
	}
	real, err := s.ApplyRoster(ctx, Audit, f, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(real) != len(dry) {
		t.Errorf("dry run said %d changes, the import made %d", len(dry), len(real))
	}
	again, err := s.ApplyRoster(ctx, Audit, f, false)
	if err != nil || len(again) != 0 {
		t.Fatalf("second import: %v changes %v, want none", again, err)
	}
	// The file is the whole truth about its groups: a new leader, one member gone.
	f2 := rosterFile("+84900000003", "+84900000003", "+84900000002")
	if vs := f2.Validate(); len(vs) > 0 {
		t.Fatalf("fixture invalid: %v", vs)
	}
	changes, err := s.ApplyRoster(ctx, Audit, f2, false)
	if err != nil {
		t.Fatal(err)
	}
	gs, _ := s.ListGroups(ctx, store.GroupFilter{Limit: 10})
	if len(gs) != 1 || len(gs[0].Members) != 2 || gs[0].Members[0].FullName != "Đại biểu 3" || gs[0].Members[0].Role != bq.RoleLeader {
		t.Fatalf("after second file: %+v (changes %v)", gs, changes)
	}
}

// The all-delegates group's own history shows each delegate who joined or left it,
// whichever write made them.
func testAllDelegatesChangesAreRecorded(t *testing.T, open Factory) {
	s := newStore(t, open)
	ctx := context.Background()
	leader := MustPerson(t, s, "Lê Văn Chủ", true, 1)
	g, err := s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Đại biểu khóa X", Kind: bq.KindAllDelegates, LeaderID: leader.ID})
	if err != nil {
		t.Fatal(err)
	}
	p := MustPerson(t, s, "Phạm Thị Mới", true, 2)
	if _, err := s.UpdatePerson(ctx, Audit, p.ID, func(p *bq.Person) error { p.Delegate = false; return nil }); err != nil {
		t.Fatal(err)
	}
	f := &bq.RosterFile{People: []bq.RosterPerson{{Row: 2, Person: bq.Person{FullName: "Đỗ Văn Nhập", Delegate: true, Phone: "+84900000003"}}}}
	if vs := f.Validate(); len(vs) > 0 {
		t.Fatal(vs)
	}
	changes, err := s.ApplyRoster(ctx, Audit, f, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[1].Action != "add_member" || changes[1].Target != fmt.Sprintf("groups/%d", g.ID) {
		t.Fatalf("import changes %+v", changes)
	}
	events, _ := s.ListAuditEvents(ctx, store.AuditFilter{Target: fmt.Sprintf("groups/%d", g.ID), Limit: 100})
	var got []string
	for _, e := range events {
		got = append(got, e.Action)
	}
	if want := "CreateGroup,CreatePerson,UpdatePerson,ImportRoster"; strings.Join(got, ",") != want {
		t.Fatalf("events of the all-delegates group: %v, want %s", got, want)
	}
}
