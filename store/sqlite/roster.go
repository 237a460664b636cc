package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// GetCouncil returns the council, or a not-found error before it is set up.
func (s *Store) GetCouncil(ctx context.Context) (*bq.Council, error) {
	var c *bq.Council
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = getCouncil(ctx, tx)
		return err
	})
	return c, err
}

func getCouncil(ctx context.Context, tx *sql.Tx) (*bq.Council, error) {
	var c bq.Council
	var t int64
	err := tx.QueryRowContext(ctx, `SELECT name, term, place, update_time FROM council WHERE id = 1`).Scan(&c.Name, &c.Term, &c.Place, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bq.Errorf(bq.CodeNotFound, "the council is not set up yet: import a roster or update the council")
	}
	if err != nil {
		return nil, err
	}
	c.UpdateTime = fromNanos(t)
	return &c, nil
}

// UpdateCouncil reads the council (zero before it is set up), lets fn change it, and
// writes it back in the same transaction.
func (s *Store) UpdateCouncil(ctx context.Context, a bq.Audit, fn func(*bq.Council) error) (*bq.Council, error) {
	var out *bq.Council
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c, err := getCouncil(ctx, tx)
		if bq.ErrorCode(err) == bq.CodeNotFound {
			c, err = &bq.Council{}, nil
		}
		if err != nil {
			return err
		}
		before := *c
		if err := fn(c); err != nil {
			return err
		}
		if err := putCouncil(ctx, tx, c, s.now()); err != nil {
			return err
		}
		out = c
		return s.record(ctx, tx, a, "UpdateCouncil", "council", "%s", councilDiff(&before, c))
	})
	return out, err
}

func councilDiff(old, c *bq.Council) string {
	var diff []string
	diff = diffText(diff, "name", old.Name, c.Name)
	diff = diffText(diff, "term", old.Term, c.Term)
	diff = diffText(diff, "place", old.Place, c.Place)
	if len(diff) == 0 {
		return "no change"
	}
	return strings.Join(diff, "; ")
}

func putCouncil(ctx context.Context, tx *sql.Tx, c *bq.Council, now time.Time) error {
	c.UpdateTime = now.UTC()
	_, err := tx.ExecContext(ctx, `INSERT INTO council (id, name, term, place, update_time) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, term = excluded.term, place = excluded.place, update_time = excluded.update_time`,
		c.Name, c.Term, c.Place, nanos(c.UpdateTime))
	return err
}

const personColumns = `id, full_name, title, delegate, phone, zalo_name, email, signing_identity, active, create_time, update_time`

type scanner interface{ Scan(...any) error }

func scanPerson(r scanner) (*bq.Person, error) {
	var p bq.Person
	var ct, ut int64
	var identity string
	if err := r.Scan(&p.ID, &p.FullName, &p.Title, &p.Delegate, &p.Phone, &p.ZaloName, &p.Email, &identity, &p.Active, &ct, &ut); err != nil {
		return nil, err
	}
	// A value stored before identities were structured comes back as an unknown identity
	// holding its text, so writing the row back keeps it byte for byte (state digests).
	p.SigningIdentity = bq.StoredSigningIdentity(identity)
	p.CreateTime, p.UpdateTime = fromNanos(ct), fromNanos(ut)
	return &p, nil
}

func getPerson(ctx context.Context, tx *sql.Tx, id int64) (*bq.Person, error) {
	p, err := scanPerson(tx.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, bq.Errorf(bq.CodeNotFound, "people/%d does not exist", id)
	}
	return p, err
}

func personByPhone(ctx context.Context, tx *sql.Tx, phone string) (*bq.Person, error) {
	p, err := scanPerson(tx.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE phone = ?`, phone))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return p, err
}

// CreatePerson adds an active person. The phone and the signing identity must be unused.
func (s *Store) CreatePerson(ctx context.Context, a bq.Audit, p *bq.Person) (*bq.Person, error) {
	var out *bq.Person
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c := *p
		c.Active = true
		if err := insertPerson(ctx, tx, &c, s.now()); err != nil {
			return err
		}
		if err := s.record(ctx, tx, a, "CreatePerson", bq.PersonName(c.ID), "created %s", describePerson(&c)); err != nil {
			return err
		}
		out = &c
		return s.syncAndRecord(ctx, tx, a, "CreatePerson")
	})
	return out, err
}

func describePerson(p *bq.Person) string {
	kind := "not a delegate"
	if p.Delegate {
		kind = "delegate"
	}
	return fmt.Sprintf("%s, %s, %s", p.FullName, p.Phone, kind)
}

// personDiff says which fields differ between two versions of a person.
func personDiff(cur, want *bq.Person) []string {
	var diff []string
	diff = diffText(diff, "full_name", cur.FullName, want.FullName)
	diff = diffText(diff, "title", cur.Title, want.Title)
	if cur.Delegate != want.Delegate {
		diff = append(diff, fmt.Sprintf("delegate %t → %t", cur.Delegate, want.Delegate))
	}
	diff = diffText(diff, "phone", cur.Phone, want.Phone)
	diff = diffText(diff, "zalo_name", cur.ZaloName, want.ZaloName)
	diff = diffText(diff, "email", cur.Email, want.Email)
	diff = diffText(diff, "signing_identity", cur.SigningIdentity.String(), want.SigningIdentity.String())
	return diff
}

func insertPerson(ctx context.Context, tx *sql.Tx, p *bq.Person, now time.Time) error {
	if err := checkPersonUnique(ctx, tx, p); err != nil {
		return err
	}
	p.CreateTime = now.UTC()
	p.UpdateTime = p.CreateTime
	res, err := tx.ExecContext(ctx, `INSERT INTO people (full_name, title, delegate, phone, zalo_name, email, signing_identity, active, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.FullName, p.Title, p.Delegate, p.Phone, p.ZaloName, p.Email, p.SigningIdentity.String(), p.Active, nanos(p.CreateTime), nanos(p.UpdateTime))
	if err != nil {
		return err
	}
	p.ID, err = res.LastInsertId()
	return err
}

// checkPersonUnique names the person who already holds p's phone or signing identity, so
// the caller learns whom they collide with rather than that a constraint failed.
func checkPersonUnique(ctx context.Context, tx *sql.Tx, p *bq.Person) error {
	var id int64
	var name string
	err := tx.QueryRowContext(ctx, `SELECT id, full_name FROM people WHERE phone = ? AND id <> ?`, p.Phone, p.ID).Scan(&id, &name)
	if err == nil {
		return &bq.Error{Code: bq.CodeAlreadyExists, Message: fmt.Sprintf("phone %s belongs to %s (people/%d)", p.Phone, name, id),
			Violations: []bq.Violation{{Field: "person.phone", Description: fmt.Sprintf("%s belongs to people/%d", p.Phone, id)}}}
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// Identities compare in their canonical text, the column's content.
	identity := p.SigningIdentity.String()
	if identity == "" {
		return nil
	}
	err = tx.QueryRowContext(ctx, `SELECT id, full_name FROM people WHERE signing_identity = ? AND id <> ?`, identity, p.ID).Scan(&id, &name)
	if err == nil {
		return &bq.Error{Code: bq.CodeAlreadyExists, Message: fmt.Sprintf("signing identity %s belongs to %s (people/%d)", p.SigningIdentity.Describe(), name, id),
			Violations: []bq.Violation{{Field: "person.signing_identity", Description: fmt.Sprintf("belongs to people/%d", id)}}}
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return nil
}

// GetPerson returns one person.
func (s *Store) GetPerson(ctx context.Context, id int64) (*bq.Person, error) {
	var p *bq.Person
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		p, err = getPerson(ctx, tx, id)
		return err
	})
	return p, err
}

// ListPeople returns people in id order after f.AfterID, at most f.Limit of them.
func (s *Store) ListPeople(ctx context.Context, f store.PeopleFilter) ([]bq.Person, error) {
	var where []string
	var args []any
	where = append(where, "id > ?")
	args = append(args, f.AfterID)
	if f.GroupID != 0 {
		where = append(where, "id IN (SELECT person_id FROM group_members WHERE group_id = ?)")
		args = append(args, f.GroupID)
	}
	if f.Delegate != nil {
		where = append(where, "delegate = ?")
		args = append(args, *f.Delegate)
	}
	if f.Active != nil {
		where = append(where, "active = ?")
		args = append(args, *f.Active)
	}
	if f.Phone != "" {
		where = append(where, "phone = ?")
		args = append(args, f.Phone)
	}
	args = append(args, f.Limit)
	var out []bq.Person
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if f.GroupID != 0 {
			if err := groupExists(ctx, tx, f.GroupID); err != nil {
				return err
			}
		}
		var err error
		out, err = collect(ctx, tx, scanPerson, `SELECT `+personColumns+` FROM people WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
		return err
	})
	return out, err
}

// UpdatePerson reads a person, lets fn change them, and writes them back in the same
// transaction. fn may not change ID or Active.
func (s *Store) UpdatePerson(ctx context.Context, a bq.Audit, id int64, fn func(*bq.Person) error) (*bq.Person, error) {
	var out *bq.Person
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := getPerson(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *p
		active := p.Active
		if err := fn(p); err != nil {
			return err
		}
		p.ID, p.Active = id, active
		if err := updatePerson(ctx, tx, p, s.now()); err != nil {
			return err
		}
		if err := s.syncAndRecord(ctx, tx, a, "UpdatePerson"); err != nil {
			return err
		}
		if err := checkMemberships(ctx, tx); err != nil {
			return err
		}
		out = p
		diff := personDiff(&before, p)
		if len(diff) == 0 {
			diff = []string{"no change"}
		}
		return s.record(ctx, tx, a, "UpdatePerson", bq.PersonName(id), "%s: %s", p.FullName, strings.Join(diff, "; "))
	})
	return out, err
}

func updatePerson(ctx context.Context, tx *sql.Tx, p *bq.Person, now time.Time) error {
	if err := checkPersonUnique(ctx, tx, p); err != nil {
		return err
	}
	p.UpdateTime = now.UTC()
	_, err := tx.ExecContext(ctx, `UPDATE people SET full_name = ?, title = ?, delegate = ?, phone = ?, zalo_name = ?, email = ?,
		signing_identity = ?, active = ?, update_time = ? WHERE id = ?`,
		p.FullName, p.Title, p.Delegate, p.Phone, p.ZaloName, p.Email, p.SigningIdentity.String(), p.Active, nanos(p.UpdateTime), p.ID)
	return err
}

// DeactivatePerson marks a person inactive and takes them out of every group. A group's
// leader cannot be deactivated until the group has another leader.
func (s *Store) DeactivatePerson(ctx context.Context, a bq.Audit, id int64) (*bq.Person, error) {
	var out *bq.Person
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		p, err := getPerson(ctx, tx, id)
		if err != nil {
			return err
		}
		if !p.Active {
			return bq.Errorf(bq.CodeFailedPrecondition, "%s (people/%d) is already deactivated", p.FullName, id)
		}
		var led []string
		rows, err := tx.QueryContext(ctx, `SELECT g.display_name FROM group_members m JOIN groups g ON g.id = m.group_id
			WHERE m.person_id = ? AND m.role = 'leader' ORDER BY g.id`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			led = append(led, fmt.Sprintf("%q", n))
		}
		rows.Close()
		if len(led) > 0 {
			return bq.Errorf(bq.CodeFailedPrecondition, "%s leads %s: give the group another leader first", p.FullName, strings.Join(led, ", "))
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE person_id = ?`, id)
		if err != nil {
			return err
		}
		left, err := res.RowsAffected()
		if err != nil {
			return err
		}
		p.Active = false
		if err := updatePerson(ctx, tx, p, s.now()); err != nil {
			return err
		}
		out = p
		return s.record(ctx, tx, a, "DeactivatePerson", bq.PersonName(id), "deactivated %s; left %d groups", p.FullName, left)
	})
	return out, err
}

// syncChange is one membership of the all-delegates group that syncAllDelegates made or
// ended.
type syncChange struct {
	groupID, personID int64
	name              string
	added             bool
}

// syncAllDelegates keeps the all-delegates group holding exactly the active delegates
// (plus its staff), whatever changed about people, and says what it changed. Every write
// that touches people or creates that group calls it, so the rule holds by construction.
func syncAllDelegates(ctx context.Context, tx *sql.Tx) ([]syncChange, error) {
	var changes []syncChange
	collect := func(added bool, query string) error {
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			c := syncChange{added: added}
			if err := rows.Scan(&c.groupID, &c.personID, &c.name); err != nil {
				return err
			}
			changes = append(changes, c)
		}
		return rows.Err()
	}
	if err := collect(true, `SELECT g.id, p.id, p.full_name FROM groups g, people p
		WHERE g.kind = 'all_delegates' AND p.delegate = 1 AND p.active = 1
		  AND NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.person_id = p.id)`); err != nil {
		return nil, err
	}
	if err := collect(false, `SELECT m.group_id, m.person_id, p.full_name FROM group_members m JOIN people p ON p.id = m.person_id
		WHERE m.role = 'member' AND m.group_id IN (SELECT id FROM groups WHERE kind = 'all_delegates')
		  AND (p.delegate = 0 OR p.active = 0)`); err != nil {
		return nil, err
	}
	for _, c := range changes {
		var err error
		if c.added {
			_, err = tx.ExecContext(ctx, `INSERT INTO group_members (group_id, person_id, role) VALUES (?, ?, 'member')`, c.groupID, c.personID)
		} else {
			_, err = tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND person_id = ?`, c.groupID, c.personID)
		}
		if err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// syncAndRecord runs syncAllDelegates and appends an event for each membership it
// changed, so the all-delegates group's own history shows who joined and left.
func (s *Store) syncAndRecord(ctx context.Context, tx *sql.Tx, a bq.Audit, action string) error {
	changes, err := syncAllDelegates(ctx, tx)
	if err != nil {
		return err
	}
	for _, c := range changes {
		what := "added %s (people/%d): every active delegate belongs to this group"
		if !c.added {
			what = "removed %s (people/%d): no longer an active delegate"
		}
		if err := s.record(ctx, tx, a, action, bq.GroupName(c.groupID), what, c.name, c.personID); err != nil {
			return err
		}
	}
	return nil
}

// checkMemberships verifies the membership rules over the whole roster after a change:
// every group has a leader; leaders and members are active delegates; staff are active
// non-delegates. Rosters are small, so checking everything is cheap and leaves no rule to
// a code path that forgot it.
func checkMemberships(ctx context.Context, tx *sql.Tx) error {
	var problems []string
	rows, err := tx.QueryContext(ctx, `SELECT g.display_name, p.full_name, m.role, p.delegate, p.active
		FROM group_members m JOIN groups g ON g.id = m.group_id JOIN people p ON p.id = m.person_id
		WHERE (m.role IN ('leader', 'member') AND (p.delegate = 0 OR p.active = 0))
		   OR (m.role = 'staff' AND (p.delegate = 1 OR p.active = 0))
		ORDER BY g.id, p.id LIMIT 20`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var group, name, role string
		var delegate, active bool
		if err := rows.Scan(&group, &name, &role, &delegate, &active); err != nil {
			rows.Close()
			return err
		}
		switch {
		case !active:
			problems = append(problems, fmt.Sprintf("%s is deactivated but still in %q", name, group))
		case delegate:
			problems = append(problems, fmt.Sprintf("%s is a delegate but staff in %q (make them a member)", name, group))
		default:
			problems = append(problems, fmt.Sprintf("%s is not a delegate but the %s of %q", name, role, group))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.QueryContext(ctx, `SELECT display_name FROM groups g
		WHERE NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.id AND m.role = 'leader') ORDER BY id LIMIT 20`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var group string
		if err := rows.Scan(&group); err != nil {
			rows.Close()
			return err
		}
		problems = append(problems, fmt.Sprintf("%q has no leader", group))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		return bq.Errorf(bq.CodeFailedPrecondition, "the change would break the roster's rules: %s", strings.Join(problems, "; "))
	}
	return nil
}
