package bieuquyet

import (
	"strings"
	"testing"
)

func fields(vs Violations) string {
	var s []string
	for _, v := range vs {
		s = append(s, v.Field)
	}
	return strings.Join(s, ",")
}

func TestPersonValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Person
		want string
	}{
		{"ok", Person{FullName: "Nguyễn Văn An", Phone: "0900000001", Email: "an@example.vn"}, ""},
		{"no name", Person{Phone: "0900000001"}, "p.full_name"},
		{"bad phone", Person{FullName: "A", Phone: "12"}, "p.phone"},
		{"bad email", Person{FullName: "A", Phone: "0900000001", Email: "An <an@example.vn>"}, "p.email"},
		{"control char", Person{FullName: "A\x07", Phone: "0900000001"}, "p.full_name"},
		{"too long", Person{FullName: strings.Repeat("ă", MaxTextLen+1), Phone: "0900000001"}, "p.full_name"},
		{"bad utf8", Person{FullName: "A", Title: "\xff", Phone: "0900000001"}, "p.title"},
		{"cccd", Person{FullName: "A", Phone: "0900000001", SigningIdentity: SigningIdentity{IdentityCCCD, " 079203000101 "}}, ""},
		{"fingerprint with colons", Person{FullName: "A", Phone: "0900000001", SigningIdentity: SigningIdentity{IdentityCertSHA256, strings.Repeat("AB:", 31) + "AB"}}, ""},
		{"short cccd", Person{FullName: "A", Phone: "0900000001", SigningIdentity: SigningIdentity{IdentityCCCD, "0792030001"}}, "p.signing_identity.value"},
		{"kind without value", Person{FullName: "A", Phone: "0900000001", SigningIdentity: SigningIdentity{Kind: IdentityCMND}}, "p.signing_identity.value"},
		{"value without kind", Person{FullName: "A", Phone: "0900000001", SigningIdentity: SigningIdentity{Value: "079203000101"}}, "p.signing_identity.kind"},
		{"bad kind", Person{FullName: "A", Phone: "0900000001", SigningIdentity: SigningIdentity{"mst", "0301234567"}}, "p.signing_identity.kind"},
		{"legacy text kept", Person{FullName: "A", Phone: "0900000001", SigningIdentity: SigningIdentity{IdentityUnknown, "MST:0301234567"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Normalize()
			if got := fields(p.Validate("p")); got != tt.want {
				t.Errorf("violations on %s, want %q", got, tt.want)
			}
		})
	}
}

func TestCheckMember(t *testing.T) {
	delegate := &Person{FullName: "Đại biểu", Delegate: true, Active: true}
	clerk := &Person{FullName: "Thư ký", Active: true}
	gone := &Person{FullName: "Đã nghỉ", Delegate: true}
	tests := []struct {
		p    *Person
		role Role
		ok   bool
	}{
		{delegate, RoleLeader, true}, {delegate, RoleMember, true}, {delegate, RoleStaff, false},
		{clerk, RoleStaff, true}, {clerk, RoleMember, false}, {clerk, RoleLeader, false},
		{gone, RoleMember, false},
	}
	for _, tt := range tests {
		if err := CheckMember(tt.p, tt.role); (err == nil) != tt.ok {
			t.Errorf("CheckMember(%s, %s) = %v, want ok=%v", tt.p.FullName, tt.role, err, tt.ok)
		}
	}
}

func TestGroupValidate(t *testing.T) {
	g := Group{DisplayName: "  HĐND -  Ban Pháp chế ", Kind: KindCommittee, ZaloLink: "http://zalo.me/g/abc"}
	g.Normalize()
	if g.DisplayName != "HĐND - Ban Pháp chế" {
		t.Errorf("display name not cleaned: %q", g.DisplayName)
	}
	if got := fields(g.Validate("g")); got != "g.zalo_link" {
		t.Errorf("violations on %q, want g.zalo_link (http is refused)", got)
	}
	g = Group{DisplayName: "X", Kind: "ban"}
	if got := fields(g.Validate("g")); got != "g.kind" {
		t.Errorf("violations on %q, want g.kind", got)
	}
}
