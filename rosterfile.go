package bieuquyet

import (
	"fmt"
	"strings"
)

// RosterFile is what one roster file says the roster should be: the council, people,
// groups and each group's complete membership. Applying it is all or nothing and
// idempotent: people are matched by phone and groups by display name, so importing the
// same file twice changes nothing the second time. People and groups the file does not
// name are left as they are; a group the file names gets exactly the members it lists.
type RosterFile struct {
	Council *RosterCouncil
	People  []RosterPerson
	Groups  []RosterGroup
	Members []RosterMember
}

// RosterCouncil is the council row of a roster file. Row is the spreadsheet's row number,
// counting the header as row 1, so errors point where the secretariat looks.
type RosterCouncil struct {
	Row     int
	Council Council
}

// RosterPerson is a person row.
type RosterPerson struct {
	Row    int
	Person Person
}

// RosterGroup is a group row; LeaderPhone names its leader, who must also have a member
// row in the group.
type RosterGroup struct {
	Row         int
	Group       Group
	LeaderPhone string
}

// RosterMember is a member row: one person's membership of one group. Role is member or
// staff; the leader is named on the group row.
type RosterMember struct {
	Row   int
	Group string
	Phone string
	Role  Role
}

// RowField names a column of a row in a violation: "rows[12].phone".
func RowField(row int, column string) string {
	return fmt.Sprintf("rows[%d].%s", row, column)
}

// Validate normalises the file in place and checks it on its own, without the store: every
// row's fields, duplicates, references between rows, and the leader and staff rules. It
// returns every problem it finds, each naming its row and column.
func (f *RosterFile) Validate() Violations {
	var vs Violations
	addAll := func(row int, got Violations, prefix string) {
		for _, v := range got {
			vs = append(vs, Violation{Field: RowField(row, strings.TrimPrefix(v.Field, prefix)), Description: v.Description})
		}
	}

	if c := f.Council; c != nil {
		c.Council.Name = CleanText(c.Council.Name)
		c.Council.Term = CleanText(c.Council.Term)
		c.Council.Place = CleanText(c.Council.Place)
		addAll(c.Row, c.Council.Validate("x"), "x.")
	}

	people := map[string]*RosterPerson{}
	identities := map[string]int{}
	for i := range f.People {
		rp := &f.People[i]
		rp.Person.Normalize()
		rp.Person.Active = true
		got := rp.Person.Validate("x")
		for j, v := range got {
			switch v.Field {
			case "x.full_name":
				got[j].Field = "x.name"
			case "x.signing_identity.kind", "x.signing_identity.value":
				got[j].Field = "x.signing_identity" // one column holds both
			}
		}
		addAll(rp.Row, got, "x.")
		if first, ok := people[rp.Person.Phone]; ok && rp.Person.Phone != "" {
			vs.Add(RowField(rp.Row, "phone"), "%s is already used by row %d", rp.Person.Phone, first.Row)
			continue
		}
		people[rp.Person.Phone] = rp
		// Identities compare in their canonical form, as the store compares them.
		if id := rp.Person.SigningIdentity.String(); id != "" {
			if first, ok := identities[id]; ok {
				vs.Add(RowField(rp.Row, "signing_identity"), "%s is already used by row %d", id, first)
			}
			identities[id] = rp.Row
		}
	}

	lookup := func(row int, column, phone string) *RosterPerson {
		n, err := NormalizePhone(phone)
		if err != nil {
			vs.Add(RowField(row, column), "%v", err)
			return nil
		}
		p, ok := people[n]
		if !ok {
			vs.Add(RowField(row, column), "%s is not the phone of any person row in this file", n)
		}
		return p
	}

	groups := map[string]*RosterGroup{}
	singletons := map[GroupKind]int{}
	for i := range f.Groups {
		rg := &f.Groups[i]
		rg.Group.Normalize()
		got := rg.Group.Validate("x")
		for j, v := range got {
			if v.Field == "x.display_name" {
				got[j].Field = "x.name"
			}
		}
		addAll(rg.Row, got, "x.")
		if first, ok := groups[rg.Group.DisplayName]; ok && rg.Group.DisplayName != "" {
			vs.Add(RowField(rg.Row, "name"), "group %q is already defined by row %d", rg.Group.DisplayName, first.Row)
			continue
		}
		groups[rg.Group.DisplayName] = rg
		if rg.Group.Kind.Singleton() {
			if first, ok := singletons[rg.Group.Kind]; ok {
				vs.Add(RowField(rg.Row, "kind"), "a roster has one %s group, and row %d defines it", rg.Group.Kind, first)
			}
			singletons[rg.Group.Kind] = rg.Row
		}
		if leader := lookup(rg.Row, "leader", rg.LeaderPhone); leader != nil {
			rg.LeaderPhone = leader.Person.Phone
			if !leader.Person.Delegate {
				vs.Add(RowField(rg.Row, "leader"), "%s (row %d) is not a delegate; a group's leader must be one", leader.Person.FullName, leader.Row)
			}
		}
	}

	type key struct{ group, phone string }
	seen := map[key]int{}
	for i := range f.Members {
		rm := &f.Members[i]
		rm.Group = CleanText(rm.Group)
		_, ok := groups[rm.Group]
		if !ok {
			if rm.Group == "" {
				vs.Add(RowField(rm.Row, "group"), "is required")
			} else {
				vs.Add(RowField(rm.Row, "group"), "%q is not defined by a group row in this file", rm.Group)
			}
		}
		p := lookup(rm.Row, "phone", rm.Phone)
		if p != nil {
			rm.Phone = p.Person.Phone
		}
		switch {
		case rm.Role == RoleLeader:
			vs.Add(RowField(rm.Row, "role"), "the leader is named in the group row's leader column; give the leader's own row the role member")
		case !rm.Role.Valid():
			vs.Add(RowField(rm.Row, "role"), "must be member or staff")
		case p != nil:
			if err := CheckMember(&p.Person, rm.Role); err != nil {
				vs.Add(RowField(rm.Row, "role"), "%v", err)
			}
		}
		if !ok || p == nil {
			continue
		}
		k := key{rm.Group, rm.Phone}
		if first, dup := seen[k]; dup {
			vs.Add(RowField(rm.Row, "phone"), "%s is already a member of %q by row %d", p.Person.FullName, rm.Group, first)
			continue
		}
		seen[k] = rm.Row
	}

	// The leader must be a member too: the group row names who leads, the member rows
	// list who belongs, and a leader who does not belong is a mistake worth catching.
	for i := range f.Groups {
		rg := &f.Groups[i]
		if rg.LeaderPhone == "" || groups[rg.Group.DisplayName] != rg {
			continue // a duplicate group row, already reported
		}
		p, ok := people[rg.LeaderPhone]
		if !ok {
			continue
		}
		if _, member := seen[key{rg.Group.DisplayName, rg.LeaderPhone}]; !member {
			vs.Add(RowField(rg.Row, "leader"), "%s is not a member of %q: add a member row for them", p.Person.FullName, rg.Group.DisplayName)
		}
	}
	return vs
}

// Change is one thing an import changes (or, in a dry run, would change).
type Change struct {
	Action string // create, update, reactivate, add_member, remove_member, set_role
	Target string // "people/12", "groups/3", "council"
	Detail string // what changed, for people to read
}
