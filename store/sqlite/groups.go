package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

func scanGroup(r scanner) (*bq.Group, error) {
	var g bq.Group
	var ct, ut int64
	if err := r.Scan(&g.ID, &g.DisplayName, &g.Kind, &g.ZaloLink, &ct, &ut); err != nil {
		return nil, err
	}
	g.CreateTime, g.UpdateTime = fromNanos(ct), fromNanos(ut)
	return &g, nil
}

const groupColumns = `id, display_name, kind, zalo_link, create_time, update_time`

func getGroup(ctx context.Context, tx *sql.Tx, id int64) (*bq.Group, error) {
	g, err := scanGroup(tx.QueryRowContext(ctx, `SELECT `+groupColumns+` FROM groups WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bq.Errorf(bq.CodeNotFound, "groups/%d does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	if err := loadMembers(ctx, tx, []*bq.Group{g}); err != nil {
		return nil, err
	}
	return g, nil
}

func groupExists(ctx context.Context, tx *sql.Tx, id int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM groups WHERE id = ?`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return bq.Errorf(bq.CodeNotFound, "groups/%d does not exist", id)
	}
	return nil
}

// loadMembers fills in the members of groups with one query: leader first, then members,
// then staff, each by name.
func loadMembers(ctx context.Context, tx *sql.Tx, groups []*bq.Group) error {
	if len(groups) == 0 {
		return nil
	}
	byID := make(map[int64]*bq.Group, len(groups))
	marks := make([]string, len(groups))
	args := make([]any, len(groups))
	for i, g := range groups {
		byID[g.ID] = g
		g.Members, g.LeaderID = nil, 0
		marks[i], args[i] = "?", g.ID
	}
	rows, err := tx.QueryContext(ctx, `SELECT m.group_id, m.person_id, p.full_name, p.delegate, m.role
		FROM group_members m JOIN people p ON p.id = m.person_id
		WHERE m.group_id IN (`+strings.Join(marks, ",")+`)
		ORDER BY m.group_id, p.id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var gid int64
		var m bq.Member
		if err := rows.Scan(&gid, &m.PersonID, &m.FullName, &m.Delegate, &m.Role); err != nil {
			return err
		}
		g := byID[gid]
		g.Members = append(g.Members, m)
		if m.Role == bq.RoleLeader {
			g.LeaderID = m.PersonID
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	// Names sort in Vietnamese order (Đ after D, Ngô before Nguyễn), which SQLite's byte
	// order does not know.
	coll := collate.New(language.Vietnamese)
	rank := map[bq.Role]int{bq.RoleLeader: 0, bq.RoleMember: 1, bq.RoleStaff: 2}
	for _, g := range groups {
		sort.SliceStable(g.Members, func(i, j int) bool {
			a, b := g.Members[i], g.Members[j]
			if rank[a.Role] != rank[b.Role] {
				return rank[a.Role] < rank[b.Role]
			}
			return coll.CompareString(a.FullName, b.FullName) < 0
		})
	}
	return nil
}

// CreateGroup adds a group with its leader as first member. For the all-delegates group
// every active delegate joins at once.
func (s *Store) CreateGroup(ctx context.Context, a bq.Audit, g *bq.Group) (*bq.Group, error) {
	var out *bq.Group
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		id, err := insertGroup(ctx, tx, g, s.now())
		if err != nil {
			return err
		}
		if err := setLeader(ctx, tx, id, g.LeaderID, "group.leader"); err != nil {
			return err
		}
		// Filling a new all-delegates group is what creating it means: its own event
		// counts the members, rather than one event each.
		if _, err := syncAllDelegates(ctx, tx); err != nil {
			return err
		}
		if out, err = getGroup(ctx, tx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, a, "CreateGroup", bq.GroupName(id), "created %q (%s), leader %s, %d members",
			out.DisplayName, out.Kind, out.Members[0].FullName, len(out.Members))
	})
	return out, err
}

func insertGroup(ctx context.Context, tx *sql.Tx, g *bq.Group, now time.Time) (int64, error) {
	if err := checkGroupUnique(ctx, tx, g); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO groups (display_name, kind, zalo_link, create_time, update_time) VALUES (?, ?, ?, ?, ?)`,
		g.DisplayName, g.Kind, g.ZaloLink, nanos(now), nanos(now))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// checkGroupUnique names the group that already has g's display name, or g's kind where
// only one group of that kind may exist.
func checkGroupUnique(ctx context.Context, tx *sql.Tx, g *bq.Group) error {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM groups WHERE display_name = ? AND id <> ?`, g.DisplayName, g.ID).Scan(&id)
	if err == nil {
		return &bq.Error{Code: bq.CodeAlreadyExists, Message: fmt.Sprintf("group %q already exists (groups/%d)", g.DisplayName, id),
			Violations: []bq.Violation{{Field: "group.display_name", Description: fmt.Sprintf("already used by groups/%d", id)}}}
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if !g.Kind.Singleton() {
		return nil
	}
	var name string
	err = tx.QueryRowContext(ctx, `SELECT id, display_name FROM groups WHERE kind = ? AND id <> ?`, g.Kind, g.ID).Scan(&id, &name)
	if err == nil {
		return &bq.Error{Code: bq.CodeAlreadyExists, Message: fmt.Sprintf("the roster already has its %s group: %q (groups/%d)", g.Kind, name, id),
			Violations: []bq.Violation{{Field: "group.kind", Description: fmt.Sprintf("only one %s group may exist", g.Kind)}}}
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	return err
}

// setLeader makes personID the leader of group id; the previous leader stays a member.
func setLeader(ctx context.Context, tx *sql.Tx, groupID, personID int64, field string) error {
	p, err := getPerson(ctx, tx, personID)
	if bq.ErrorCode(err) == bq.CodeNotFound {
		return bq.Invalid(field, "people/%d does not exist", personID)
	}
	if err != nil {
		return err
	}
	if err := bq.CheckMember(p, bq.RoleLeader); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE group_members SET role = 'member' WHERE group_id = ? AND role = 'leader'`, groupID); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO group_members (group_id, person_id, role) VALUES (?, ?, 'leader')
		ON CONFLICT (group_id, person_id) DO UPDATE SET role = 'leader'`, groupID, personID)
	return err
}

// GetGroup returns one group with its members.
func (s *Store) GetGroup(ctx context.Context, id int64) (*bq.Group, error) {
	var g *bq.Group
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		g, err = getGroup(ctx, tx, id)
		return err
	})
	return g, err
}

// ListGroups returns groups with their members in id order after f.AfterID.
func (s *Store) ListGroups(ctx context.Context, f store.GroupFilter) ([]bq.Group, error) {
	where, args := []string{"id > ?"}, []any{f.AfterID}
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, f.Kind)
	}
	if f.DisplayName != "" {
		where, args = append(where, "display_name = ?"), append(args, f.DisplayName)
	}
	if f.MemberID != 0 {
		where, args = append(where, "id IN (SELECT group_id FROM group_members WHERE person_id = ?)"), append(args, f.MemberID)
	}
	args = append(args, f.Limit)
	var out []bq.Group
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if out, err = collect(ctx, tx, scanGroup, `SELECT `+groupColumns+` FROM groups WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...); err != nil {
			return err
		}
		gs := make([]*bq.Group, len(out))
		for i := range out {
			gs[i] = &out[i]
		}
		return loadMembers(ctx, tx, gs)
	})
	return out, err
}

// UpdateGroup reads a group, lets fn change its display name, link or leader, and writes
// it back in the same transaction. The kind of a group never changes.
func (s *Store) UpdateGroup(ctx context.Context, a bq.Audit, id int64, fn func(*bq.Group) error) (*bq.Group, error) {
	var out *bq.Group
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := getGroup(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *g
		kind, leader := g.Kind, g.LeaderID
		if err := fn(g); err != nil {
			return err
		}
		if g.Kind != kind {
			return bq.Invalid("group.kind", "the kind of a group cannot change once created")
		}
		g.ID = id
		if err := checkGroupUnique(ctx, tx, g); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE groups SET display_name = ?, zalo_link = ?, update_time = ? WHERE id = ?`,
			g.DisplayName, g.ZaloLink, nanos(s.now()), id); err != nil {
			return err
		}
		if g.LeaderID != leader {
			if err := setLeader(ctx, tx, id, g.LeaderID, "group.leader"); err != nil {
				return err
			}
		}
		if out, err = getGroup(ctx, tx, id); err != nil {
			return err
		}
		var diff []string
		diff = diffText(diff, "display_name", before.DisplayName, out.DisplayName)
		diff = diffText(diff, "zalo_link", before.ZaloLink, out.ZaloLink)
		if out.LeaderID != leader {
			diff = append(diff, fmt.Sprintf("leader %s → %s", bq.PersonLabel(memberName(&before, leader), leader), bq.PersonLabel(memberName(out, out.LeaderID), out.LeaderID)))
		}
		if len(diff) == 0 {
			diff = []string{"no change"}
		}
		return s.record(ctx, tx, a, "UpdateGroup", bq.GroupName(id), "%q: %s", out.DisplayName, strings.Join(diff, "; "))
	})
	return out, err
}

// AddGroupMember adds a person to a group. An empty role picks member for a delegate and
// staff for anyone else; the leader is set with UpdateGroup.
func (s *Store) AddGroupMember(ctx context.Context, a bq.Audit, groupID, personID int64, role bq.Role) (*bq.Group, error) {
	var out *bq.Group
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := getGroup(ctx, tx, groupID)
		if err != nil {
			return err
		}
		p, err := getPerson(ctx, tx, personID)
		if err != nil {
			return err
		}
		if role == "" {
			role = bq.RoleStaff
			if p.Delegate {
				role = bq.RoleMember
			}
		}
		if role == bq.RoleLeader {
			return bq.Invalid("role", "the leader is set with UpdateGroup, not added")
		}
		for _, m := range g.Members {
			if m.PersonID == personID {
				if g.Kind == bq.KindAllDelegates && m.Role == bq.RoleMember {
					return bq.Errorf(bq.CodeAlreadyExists, "%s is a delegate, and every active delegate is a member of %q", p.FullName, g.DisplayName)
				}
				return bq.Errorf(bq.CodeAlreadyExists, "%s is already the %s of %q", p.FullName, m.Role, g.DisplayName)
			}
		}
		if err := bq.CheckMember(p, role); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, person_id, role) VALUES (?, ?, ?)`, groupID, personID, role); err != nil {
			return err
		}
		out, err = s.membershipChanged(ctx, tx, a, "AddGroupMember", groupID, "added %s (people/%d) as %s", p.FullName, personID, role)
		return err
	})
	return out, err
}

// RemoveGroupMember takes a person out of a group.
func (s *Store) RemoveGroupMember(ctx context.Context, a bq.Audit, groupID, personID int64) (*bq.Group, error) {
	var out *bq.Group
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		g, err := getGroup(ctx, tx, groupID)
		if err != nil {
			return err
		}
		var found *bq.Member
		for i := range g.Members {
			if g.Members[i].PersonID == personID {
				found = &g.Members[i]
			}
		}
		switch {
		case found == nil:
			who := bq.PersonName(personID)
			if p, err := getPerson(ctx, tx, personID); err == nil {
				who = bq.PersonLabel(p.FullName, personID)
			}
			return bq.Errorf(bq.CodeNotFound, "%s is not a member of %q", who, g.DisplayName)
		case found.Role == bq.RoleLeader:
			return bq.Errorf(bq.CodeFailedPrecondition, "%s leads %q: give the group another leader first", found.FullName, g.DisplayName)
		case g.Kind == bq.KindAllDelegates && found.Role == bq.RoleMember:
			return bq.Errorf(bq.CodeFailedPrecondition, "%q holds every active delegate; deactivate %s instead", g.DisplayName, found.FullName)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND person_id = ?`, groupID, personID); err != nil {
			return err
		}
		out, err = s.membershipChanged(ctx, tx, a, "RemoveGroupMember", groupID, "removed %s (people/%d), who was %s", found.FullName, personID, found.Role)
		return err
	})
	return out, err
}

// membershipChanged finishes a change of a group's members: the group's update time, the
// audit event, and the group as it now is.
func (s *Store) membershipChanged(ctx context.Context, tx *sql.Tx, a bq.Audit, action string, groupID int64, format string, args ...any) (*bq.Group, error) {
	if err := touchGroup(ctx, tx, groupID, s.now()); err != nil {
		return nil, err
	}
	if err := s.record(ctx, tx, a, action, bq.GroupName(groupID), format, args...); err != nil {
		return nil, err
	}
	return getGroup(ctx, tx, groupID)
}

func touchGroup(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE groups SET update_time = ? WHERE id = ?`, nanos(now), id)
	return err
}

// memberName is the name of a member of g, or "" when they are none.
func memberName(g *bq.Group, id int64) string {
	for _, m := range g.Members {
		if m.PersonID == id {
			return m.FullName
		}
	}
	return ""
}
