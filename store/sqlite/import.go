package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	bq "github.com/bieuquyet/bieuquyet"
)

var errDryRun = errors.New("dry run")

// ApplyRoster makes the roster match a validated roster file in one transaction and says
// what changed. People are matched by phone and groups by display name; each group in
// the file gets exactly the members the file lists (the all-delegates group also keeps
// every active delegate). People and groups the file does not name are left alone. A dry
// run computes the same changes, with the ids that new rows would get, and rolls back. Problems that depend on what is
// already stored (a group's kind changing, a signing identity held by someone else) are
// reported per row like the file's own problems.
func (s *Store) ApplyRoster(ctx context.Context, a bq.Audit, f *bq.RosterFile, dryRun bool) ([]bq.Change, error) {
	var changes []bq.Change
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ap := &applier{ctx: ctx, tx: tx, s: s, personIDs: map[string]int64{}, groupIDs: map[string]int64{}}
		if err := ap.apply(f); err != nil {
			return err
		}
		changes = ap.changes
		// One event per change, so the trail of a person or a group shows what each
		// import did to it.
		for _, c := range changes {
			if err := s.record(ctx, tx, a, "ImportRoster", c.Target, "%s: %s", c.Action, c.Detail); err != nil {
				return err
			}
		}
		if dryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return changes, nil
}

type applier struct {
	ctx        context.Context
	tx         *sql.Tx
	s          *Store
	changes    []bq.Change
	violations bq.Violations
	personIDs  map[string]int64 // by phone
	groupIDs   map[string]int64 // by display name
}

func (a *applier) record(action, target, format string, args ...any) {
	a.changes = append(a.changes, bq.Change{Action: action, Target: target, Detail: fmt.Sprintf(format, args...)})
}

func (a *applier) apply(f *bq.RosterFile) error {
	if err := a.council(f.Council); err != nil {
		return err
	}
	for i := range f.People {
		if err := a.person(&f.People[i]); err != nil {
			return err
		}
	}
	for i := range f.Groups {
		if err := a.group(&f.Groups[i]); err != nil {
			return err
		}
	}
	if err := a.violations.Err("the roster file conflicts with the stored roster"); err != nil {
		return err
	}
	for i := range f.Groups {
		if err := a.members(&f.Groups[i], f.Members); err != nil {
			return err
		}
	}
	// The all-delegates group of the file already got every active delegate above, with
	// each addition reported; this catches people changed by the file whose group the file
	// does not name.
	synced, err := syncAllDelegates(a.ctx, a.tx)
	if err != nil {
		return err
	}
	for _, c := range synced {
		if c.added {
			a.record("add_member", bq.GroupName(c.groupID), "add %s to the all-delegates group: every active delegate belongs there", c.name)
		} else {
			a.record("remove_member", bq.GroupName(c.groupID), "remove %s from the all-delegates group: no longer an active delegate", c.name)
		}
	}
	return checkMemberships(a.ctx, a.tx)
}

func (a *applier) council(rc *bq.RosterCouncil) error {
	if rc == nil {
		return nil
	}
	cur, err := getCouncil(a.ctx, a.tx)
	switch {
	case bq.ErrorCode(err) == bq.CodeNotFound:
		a.record("create", "council", "council %q, %s", rc.Council.Name, rc.Council.Term)
	case err != nil:
		return err
	case cur.Name == rc.Council.Name && cur.Term == rc.Council.Term && cur.Place == rc.Council.Place:
		return nil
	default:
		a.record("update", "council", "%s", councilDiff(cur, &rc.Council))
	}
	c := rc.Council
	return putCouncil(a.ctx, a.tx, &c, a.s.now())
}

func diffText(diff []string, field, old, new string) []string {
	if old == new {
		return diff
	}
	return append(diff, fmt.Sprintf("%s %q → %q", field, old, new))
}

func (a *applier) person(rp *bq.RosterPerson) error {
	want := rp.Person
	cur, err := personByPhone(a.ctx, a.tx, want.Phone)
	if err != nil {
		return err
	}
	if cur != nil {
		want.ID = cur.ID
	}
	if err := checkPersonUnique(a.ctx, a.tx, &want); err != nil {
		var e *bq.Error
		if !errors.As(err, &e) {
			return err
		}
		a.violations.Add(bq.RowField(rp.Row, "signing_identity"), "%s", e.Message)
		return nil
	}
	if cur == nil {
		want.Active = true
		if err := insertPerson(a.ctx, a.tx, &want, a.s.now()); err != nil {
			return err
		}
		a.personIDs[want.Phone] = want.ID
		a.record("create", bq.PersonName(want.ID), "person %s, %s", want.FullName, want.Phone)
		return nil
	}
	a.personIDs[want.Phone] = cur.ID
	diff := personDiff(cur, &want)
	action := "update"
	if !cur.Active {
		action = "reactivate"
	}
	if len(diff) == 0 && cur.Active {
		return nil
	}
	want.Active, want.CreateTime = true, cur.CreateTime
	if err := updatePerson(a.ctx, a.tx, &want, a.s.now()); err != nil {
		return err
	}
	detail := want.FullName
	if len(diff) > 0 {
		detail += ": " + strings.Join(diff, "; ")
	}
	a.record(action, bq.PersonName(cur.ID), "%s", detail)
	return nil
}

func (a *applier) group(rg *bq.RosterGroup) error {
	want := rg.Group
	var id int64
	var kind bq.GroupKind
	var link string
	err := a.tx.QueryRowContext(a.ctx, `SELECT id, kind, zalo_link FROM groups WHERE display_name = ?`, want.DisplayName).Scan(&id, &kind, &link)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if err := checkGroupUnique(a.ctx, a.tx, &want); err != nil {
			var e *bq.Error
			if !errors.As(err, &e) {
				return err
			}
			a.violations.Add(bq.RowField(rg.Row, "kind"), "%s", e.Message)
			return nil
		}
		id, err := insertGroup(a.ctx, a.tx, &want, a.s.now())
		if err != nil {
			return err
		}
		a.groupIDs[want.DisplayName] = id
		a.record("create", bq.GroupName(id), "group %q (%s)", want.DisplayName, want.Kind)
		return nil
	case err != nil:
		return err
	}
	a.groupIDs[want.DisplayName] = id
	if kind != want.Kind {
		a.violations.Add(bq.RowField(rg.Row, "kind"), "group %q exists as %s (groups/%d), and a group's kind cannot change", want.DisplayName, kind, id)
		return nil
	}
	if link == want.ZaloLink {
		return nil
	}
	if _, err := a.tx.ExecContext(a.ctx, `UPDATE groups SET zalo_link = ?, update_time = ? WHERE id = ?`, want.ZaloLink, nanos(a.s.now()), id); err != nil {
		return err
	}
	a.record("update", bq.GroupName(id), "%q: %s", want.DisplayName, strings.Join(diffText(nil, "zalo_link", link, want.ZaloLink), ""))
	return nil
}

// members gives one group of the file exactly the membership the file lists.
func (a *applier) members(rg *bq.RosterGroup, rows []bq.RosterMember) error {
	gid := a.groupIDs[rg.Group.DisplayName]
	want := map[int64]bq.Role{}
	for _, m := range rows {
		if m.Group == rg.Group.DisplayName {
			want[a.personIDs[m.Phone]] = m.Role
		}
	}
	want[a.personIDs[rg.LeaderPhone]] = bq.RoleLeader
	if rg.Group.Kind == bq.KindAllDelegates {
		// The all-delegates group holds every active delegate, listed or not, as the people
		// are after this file's person rows.
		rs, err := a.tx.QueryContext(a.ctx, `SELECT id FROM people WHERE delegate = 1 AND active = 1`)
		if err != nil {
			return err
		}
		for rs.Next() {
			var id int64
			if err := rs.Scan(&id); err != nil {
				rs.Close()
				return err
			}
			if _, listed := want[id]; !listed {
				want[id] = bq.RoleMember
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	cur := map[int64]bq.Role{}
	names := map[int64]string{}
	rs, err := a.tx.QueryContext(a.ctx, `SELECT m.person_id, m.role, p.full_name FROM group_members m
		JOIN people p ON p.id = m.person_id WHERE m.group_id = ?`, gid)
	if err != nil {
		return err
	}
	for rs.Next() {
		var id int64
		var role bq.Role
		var name string
		if err := rs.Scan(&id, &role, &name); err != nil {
			rs.Close()
			return err
		}
		cur[id], names[id] = role, name
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return err
	}
	target := bq.GroupName(gid)
	// Removals and demotions first, so the one-leader index never sees two leaders.
	for _, id := range sortedIDs(cur) {
		role, ok := want[id]
		switch {
		case !ok:
			if _, err := a.tx.ExecContext(a.ctx, `DELETE FROM group_members WHERE group_id = ? AND person_id = ?`, gid, id); err != nil {
				return err
			}
			a.record("remove_member", target, "remove %s from %q", names[id], rg.Group.DisplayName)
		case role != cur[id] && role != bq.RoleLeader:
			if err := a.setRole(gid, id, role); err != nil {
				return err
			}
			a.record("set_role", target, "%s in %q: %s → %s", names[id], rg.Group.DisplayName, cur[id], role)
		}
	}
	for _, id := range sortedIDs(want) {
		role := want[id]
		old, ok := cur[id]
		if ok && (old == role || role != bq.RoleLeader) {
			continue
		}
		if err := a.setRole(gid, id, role); err != nil {
			return err
		}
		name := names[id]
		if name == "" {
			if err := a.tx.QueryRowContext(a.ctx, `SELECT full_name FROM people WHERE id = ?`, id).Scan(&name); err != nil {
				return err
			}
		}
		if ok {
			a.record("set_role", target, "%s in %q: %s → %s", name, rg.Group.DisplayName, old, role)
		} else {
			a.record("add_member", target, "add %s to %q as %s", name, rg.Group.DisplayName, role)
		}
	}
	return nil
}

func (a *applier) setRole(gid, pid int64, role bq.Role) error {
	_, err := a.tx.ExecContext(a.ctx, `INSERT INTO group_members (group_id, person_id, role) VALUES (?, ?, ?)
		ON CONFLICT (group_id, person_id) DO UPDATE SET role = excluded.role`, gid, pid, role)
	if err == nil {
		err = touchGroup(a.ctx, a.tx, gid, a.s.now())
	}
	return err
}

func sortedIDs(m map[int64]bq.Role) []int64 {
	ids := make([]int64, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}
