package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"math"
	"sort"
	"strings"

	bq "github.com/bieuquyet/bieuquyet"
)

// What an event vouches for. Each kind of target has a fixed list of queries, each taking
// the target's id, whose rows make up its state; the digest is SHA-256 over the rows in a
// length-prefixed, typed encoding. The columns are named: one added to these tables is not
// covered until it is added here, and adding it changes every digest, so it needs a new
// stateTag and an event per target that binds the new form (as migration 0005 does).
const stateTag = "bieuquyet-state-v1"

var stateQueries = map[string][]string{
	bq.CouncilName: {`SELECT id, name, term, place, update_time FROM council WHERE id = ?`},
	string(bq.People): {`SELECT id, full_name, title, delegate, phone, zalo_name, email, signing_identity, active, create_time, update_time
		FROM people WHERE id = ?`},
	string(bq.Groups): {
		`SELECT id, display_name, kind, zalo_link, create_time, update_time FROM groups WHERE id = ?`,
		`SELECT person_id, role FROM group_members WHERE group_id = ? ORDER BY person_id`,
	},
	string(bq.Tokens): {`SELECT id, name, role, person_id, hash, created_by, create_time, expire_time, revoke_time FROM tokens WHERE id = ?`},
	// A poll's ballots and counts are not here: they follow from its votes rows, which its
	// events bind one by one (VotesDigest), and VerifyAuditLog recomputes them.
	string(bq.Polls): {
		`SELECT id, body_id, group_id, kind, title, question, description, options, multiple_choice, zalo_ref, deadline,
			decision_rule, confirmation_deadline, classification, state, cancel_reason, opened_by, electorate_hash, eligible,
			version, request_id, create_time, close_time, update_time FROM polls WHERE id = ?`,
		`SELECT person_id, full_name, zalo_name, phone FROM poll_electorate WHERE poll_id = ? ORDER BY person_id`,
	},
}

// stateKinds lists the tables whose every row is a target, with the query of their ids,
// for VerifyAuditLog and the baseline of migration 0005.
var stateKinds = []struct {
	kind, ids, tables string
}{
	{bq.CouncilName, `SELECT id FROM council ORDER BY id`, "the council row"},
	{string(bq.People), `SELECT id FROM people ORDER BY id`, "the people row"},
	{string(bq.Groups), `SELECT id FROM groups ORDER BY id`, "the groups row or its group_members"},
	{string(bq.Tokens), `SELECT id FROM tokens ORDER BY id`, "the tokens row"},
	{string(bq.Polls), `SELECT id FROM polls ORDER BY id`, "the polls row or its poll_electorate"},
}

// targetKind returns the kind of state a target names and its id; ok is false for targets
// without state (a poll's body named in a refused call, a future kind).
func targetKind(target string) (kind string, id int64, ok bool) {
	if target == bq.CouncilName {
		return bq.CouncilName, 1, true
	}
	coll, _, _ := strings.Cut(target, "/")
	if _, known := stateQueries[coll]; !known || coll == bq.CouncilName {
		return "", 0, false
	}
	id, err := bq.ParseName("target", bq.Collection(coll), target)
	if err != nil {
		return "", 0, false
	}
	return coll, id, true
}

// targetName is the inverse of targetKind.
func targetName(kind string, id int64) string {
	if kind == bq.CouncilName {
		return bq.CouncilName
	}
	return bq.Collection(kind).Name(id)
}

// stateRows reads the rows that make up a target's state: one list of rows per query.
func stateRows(ctx context.Context, tx *sql.Tx, kind string, id int64) ([][][]any, error) {
	var out [][][]any
	for _, q := range stateQueries[kind] {
		rows, err := readRows(ctx, tx, q, id)
		if err != nil {
			return nil, fmt.Errorf("state of %s: %w", targetName(kind, id), err)
		}
		out = append(out, rows)
	}
	return out, nil
}

// readRows returns every row of a query as the driver's values: int64, float64, string,
// []byte or nil.
func readRows(ctx context.Context, tx *sql.Tx, query string, args ...any) ([][]any, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		row := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range row {
			ptrs[i] = &row[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// stateDigest is the SHA-256 of a target's rows as stateRows read them.
func stateDigest(target string, tables [][][]any) ([]byte, error) {
	h := sha256.New()
	h.Write([]byte(stateTag))
	writeString(h, target)
	for _, rows := range tables {
		writeUvarint(h, uint64(len(rows)))
		for _, row := range rows {
			if err := writeRow(h, row); err != nil {
				return nil, fmt.Errorf("state of %s: %w", target, err)
			}
		}
	}
	return h.Sum(nil), nil
}

// targetState reads and digests a target's state; nil for a target without state.
func targetState(ctx context.Context, tx *sql.Tx, target string) ([]byte, error) {
	kind, id, ok := targetKind(target)
	if !ok {
		return nil, nil
	}
	tables, err := stateRows(ctx, tx, kind, id)
	if err != nil {
		return nil, err
	}
	return stateDigest(target, tables)
}

// The votes rows of a poll are bound in a running digest: each row extends the digest of
// the rows before it, so an event folds in only the rows recorded since the poll's event
// before (one, for a vote) and the vote path stays as cheap as the poll is small.
const (
	votesTag     = "bieuquyet-votes-v1"
	voteColumns  = `id, poll_id, person_id, options, source, note, recorded_by, request_id, record_time`
	votesOfPoll  = `SELECT ` + voteColumns + ` FROM votes WHERE poll_id = ? AND id > ? ORDER BY id`
	newestMarked = `SELECT seq, state, votes_through, votes_digest FROM audit_events
		WHERE target = ? AND length(state) > 0 ORDER BY seq DESC LIMIT 1`
)

// foldVote extends a poll's running digest with one votes row.
func foldVote(prev []byte, row []any) ([]byte, error) {
	h := sha256.New()
	h.Write([]byte(votesTag))
	writeString(h, string(prev))
	if err := writeRow(h, row); err != nil {
		return nil, fmt.Errorf("votes row %v: %w", row[0], err)
	}
	return h.Sum(nil), nil
}

// mark is what the newest state-bearing event of a target says about it.
type mark struct {
	seq          int64
	state        []byte
	votesThrough int64
	votesDigest  []byte
}

// newestMark returns the newest event that vouches for target's state, or nil.
func newestMark(ctx context.Context, tx *sql.Tx, target string) (*mark, error) {
	var m mark
	err := tx.QueryRowContext(ctx, newestMarked, target).Scan(&m.seq, &m.state, &m.votesThrough, &m.votesDigest)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// bindState fills in what e vouches for: the digest of its target's state as the
// transaction now holds it, and for a poll the votes rows recorded since its event before.
func bindState(ctx context.Context, tx *sql.Tx, e *bq.AuditEvent) error {
	kind, id, ok := targetKind(e.Target)
	if !ok {
		return nil
	}
	tables, err := stateRows(ctx, tx, kind, id)
	if err != nil {
		return err
	}
	if e.State, err = stateDigest(e.Target, tables); err != nil {
		return err
	}
	if kind != string(bq.Polls) {
		return nil
	}
	prev, err := newestMark(ctx, tx, e.Target)
	if err != nil {
		return err
	}
	if prev != nil {
		e.VotesThrough, e.VotesDigest = prev.votesThrough, prev.votesDigest
	}
	rows, err := readRows(ctx, tx, votesOfPoll, id, e.VotesThrough)
	if err != nil {
		return fmt.Errorf("votes of %s: %w", e.Target, err)
	}
	for _, row := range rows {
		if e.VotesDigest, err = foldVote(e.VotesDigest, row); err != nil {
			return err
		}
		e.VotesThrough = row[0].(int64)
	}
	return nil
}

// recordDepartures appends an event on each group a deactivated person left. Deactivation
// takes a person out of every group with one event, on the person; without these, the
// groups' newest events would no longer vouch for their members. A group gets an event
// only if its members now are exactly those its newest event vouched for, less this
// person: a change made outside the service is left for VerifyAuditLog to find.
func (s *Store) recordDepartures(ctx context.Context, tx *sql.Tx, a bq.Audit, action string, personID int64) error {
	var name string
	var active bool
	err := tx.QueryRowContext(ctx, `SELECT full_name, active FROM people WHERE id = ?`, personID).Scan(&name, &active)
	if errors.Is(err, sql.ErrNoRows) || err == nil && active {
		return nil
	}
	if err != nil {
		return err
	}
	ids, err := readRows(ctx, tx, `SELECT id FROM groups WHERE id NOT IN (SELECT group_id FROM group_members WHERE person_id = ?) ORDER BY id`, personID)
	if err != nil {
		return err
	}
	for _, row := range ids {
		gid := row[0].(int64)
		target := bq.GroupName(gid)
		m, err := newestMark(ctx, tx, target)
		if err != nil {
			return err
		}
		if m == nil {
			continue
		}
		tables, err := stateRows(ctx, tx, string(bq.Groups), gid)
		if err != nil {
			return err
		}
		for _, role := range []bq.Role{bq.RoleMember, bq.RoleStaff} {
			before := withMember(tables, personID, role)
			d, err := stateDigest(target, before)
			if err != nil {
				return err
			}
			if bytes.Equal(d, m.state) {
				if err := s.record(ctx, tx, a, action, target, "removed %s (people/%d), who was %s: deactivated", name, personID, role); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// withMember returns a group's state rows with one more member, in person order.
func withMember(tables [][][]any, personID int64, role bq.Role) [][][]any {
	members := append([][]any(nil), tables[1]...)
	i := sort.Search(len(members), func(i int) bool { return members[i][0].(int64) >= personID })
	members = append(members[:i], append([][]any{{personID, string(role)}}, members[i:]...)...)
	return [][][]any{tables[0], members}
}

func writeRow(h hash.Hash, row []any) error {
	writeUvarint(h, uint64(len(row)))
	for _, v := range row {
		switch x := v.(type) {
		case nil:
			h.Write([]byte{'n'})
		case int64:
			h.Write([]byte{'i'})
			var n [binary.MaxVarintLen64]byte
			h.Write(n[:binary.PutVarint(n[:], x)])
		case float64:
			h.Write([]byte{'f'})
			writeUvarint(h, math.Float64bits(x))
		case string:
			h.Write([]byte{'s'})
			writeString(h, x)
		case []byte:
			h.Write([]byte{'b'})
			writeString(h, string(x))
		default:
			return fmt.Errorf("a column holds a %T", v)
		}
	}
	return nil
}

func writeString(h hash.Hash, s string) {
	writeUvarint(h, uint64(len(s)))
	h.Write([]byte(s))
}

func writeUvarint(h hash.Hash, u uint64) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], u)])
}

// baselineAudit is who binds, at the upgrade to schema 5, the state stored before.
var baselineAudit = bq.Audit{Actor: "system:upgrade", RequestID: "schema-5"}

// afterMigration does, in a migration's transaction, what its SQL cannot.
func (s *Store) afterMigration(ctx context.Context, tx *sql.Tx, version int) error {
	if version != 5 {
		return nil
	}
	// Events before schema 5 vouch for no state. One event per stored target binds the
	// state as found, so that from here on VerifyAuditLog checks every row; what happened
	// to the rows before cannot be vouched for. An empty database gets no event.
	for _, k := range stateKinds {
		ids, err := readRows(ctx, tx, k.ids)
		if err != nil {
			return err
		}
		for _, row := range ids {
			if err := s.record(ctx, tx, baselineAudit, "BindState", targetName(k.kind, row[0].(int64)),
				"the trail vouches for this state from here on: it was stored before events carried state"); err != nil {
				return err
			}
		}
	}
	return nil
}
