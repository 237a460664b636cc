package rosterfile

import (
	"bytes"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/bieuquyet/bieuquyet"
)

// TestSampleRoster checks the sample roster in examples/: both files parse, to the same
// roster, and it is the council of Điều 4.
func TestSampleRoster(t *testing.T) {
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile("../examples/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	csvFile, xlsxFile := read("roster.csv"), read("roster.xlsx")
	if first, _, _ := bytes.Cut(csvFile, []byte("\n")); string(first) != strings.Join(sampleHeader, ",") {
		t.Errorf("roster.csv starts with %q, want the header %q", first, strings.Join(sampleHeader, ","))
	}
	f := mustParse(t, csvFile, FormatDetect)
	if x := mustParse(t, xlsxFile, FormatDetect); !reflect.DeepEqual(x, f) {
		t.Errorf("roster.xlsx and roster.csv differ:\n%+v\n%+v", x, f)
	}

	if c := f.Council; c == nil || c.Council.Name != "Hội đồng nhân dân tỉnh Bình Dương" ||
		c.Council.Term != "khóa X, nhiệm kỳ 2021 - 2026" || c.Council.Place != "Bình Dương" {
		t.Errorf("council = %+v", f.Council)
	}

	people := map[string]bieuquyet.Person{}
	delegates := 0
	for _, p := range f.People {
		people[p.Person.Phone] = p.Person
		if p.Person.Delegate {
			delegates++
		}
		// Every delegate signs as a fictional Bình Dương citizen (province code 074);
		// staff sign nothing.
		id := p.Person.SigningIdentity
		if p.Person.Delegate != (id.Kind == bieuquyet.IdentityCCCD && strings.HasPrefix(id.Value, "074")) ||
			!p.Person.Delegate && !id.IsZero() {
			t.Errorf("row %d (%s, delegate %t) has signing identity %q", p.Row, p.Person.FullName, p.Person.Delegate, id)
		}
	}
	if delegates < 55 || delegates > 65 {
		t.Errorf("%d delegates, want about 60", delegates)
	}

	wantGroups := map[string]bieuquyet.GroupKind{
		"HĐND - Đại biểu khóa X":               bieuquyet.KindAllDelegates,
		"HĐND - Thường trực khóa X":            bieuquyet.KindStandingCommittee,
		"HĐND - Ban Kinh tế - Ngân sách":       bieuquyet.KindCommittee,
		"HĐND - Ban Văn hóa - Xã hội":          bieuquyet.KindCommittee,
		"HĐND - Ban Pháp chế":                  bieuquyet.KindCommittee,
		"HĐND - Tổ ĐB Thủ Dầu Một":             bieuquyet.KindDelegateGroup,
		"HĐND - Tổ ĐB Thuận An":                bieuquyet.KindDelegateGroup,
		"HĐND - Tổ ĐB Dĩ An":                   bieuquyet.KindDelegateGroup,
		"HĐND - Tổ ĐB Bến Cát":                 bieuquyet.KindDelegateGroup,
		"HĐND - Tổ ĐB Tân Uyên":                bieuquyet.KindDelegateGroup,
		"HĐND - Tổ ĐB Dầu Tiếng - Bàu Bàng":    bieuquyet.KindDelegateGroup,
		"HĐND - Tổ ĐB Phú Giáo - Bắc Tân Uyên": bieuquyet.KindDelegateGroup,
	}
	if len(f.Groups) != len(wantGroups) {
		t.Errorf("%d groups, want %d", len(f.Groups), len(wantGroups))
	}
	kinds := map[string]bieuquyet.GroupKind{}
	leaders := map[string]string{}
	for _, g := range f.Groups {
		name := g.Group.DisplayName
		kinds[name] = g.Group.Kind
		leaders[name] = g.LeaderPhone
		if want, ok := wantGroups[name]; !ok || g.Group.Kind != want {
			t.Errorf("group %q of kind %s is not one of Điều 4", name, g.Group.Kind)
		}
		if p := people[g.LeaderPhone]; !p.Delegate {
			t.Errorf("group %q: leader %s (%s) is not a delegate", name, g.LeaderPhone, p.FullName)
		}
		if !strings.HasPrefix(g.Group.ZaloLink, "https://zalo.me/g/") {
			t.Errorf("group %q: zalo_link %q", name, g.Group.ZaloLink)
		}
	}
	if a, s := leaders["HĐND - Đại biểu khóa X"], leaders["HĐND - Thường trực khóa X"]; a != s || people[a].Title != "Phó Chủ tịch HĐND tỉnh" {
		t.Errorf("the all-delegates and Standing Committee groups are led by %s and %s, want the same Phó Chủ tịch", a, s)
	}

	// Members: count each group's delegates and staff, and each delegate's Tổ.
	voting := map[string]int{}
	staff := map[string]int{}
	tos := map[string][]string{}
	for _, m := range f.Members {
		switch m.Role {
		case bieuquyet.RoleMember:
			voting[m.Group]++
			if kinds[m.Group] == bieuquyet.KindDelegateGroup {
				tos[m.Phone] = append(tos[m.Phone], m.Group)
			}
		case bieuquyet.RoleStaff:
			staff[m.Group]++
		}
	}
	for name, kind := range kinds {
		var lo, hi, st int
		switch kind {
		case bieuquyet.KindAllDelegates:
			lo, hi, st = delegates, delegates, 2
		case bieuquyet.KindStandingCommittee:
			lo, hi, st = 6, 6, 2
		case bieuquyet.KindCommittee:
			lo, hi, st = 8, 10, 2
		case bieuquyet.KindDelegateGroup:
			lo, hi, st = 8, 9, 1
		}
		if voting[name] < lo || voting[name] > hi || staff[name] != st {
			t.Errorf("group %q has %d delegates and %d staff, want %d–%d and %d", name, voting[name], staff[name], lo, hi, st)
		}
	}
	for phone, p := range people {
		if p.Delegate && len(tos[phone]) != 1 {
			t.Errorf("delegate %s (%s) is in the Tổ %q, want exactly one", p.FullName, phone, tos[phone])
		}
	}
}
