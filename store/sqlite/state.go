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
	"strings"

	bq "github.com/bieuquyet/bieuquyet"
)

// What an event vouches for. Each kind of target has a fixed list of tables, and of the
// columns of each that make up its state. One statement per table reads the target's
// rows there as one text: each row its columns as SQL literals (quote), rows in a fixed
// order, or nothing when the target has no row there. SQL literals say their type and
// where they end, so two different states never read alike, and the work stays inside
// SQLite, which keeps the vote path cheap. The digest is SHA-256 over these texts. The
// columns are named: one added to these tables is not covered until it is added here, and
// adding it changes every digest, so it needs a new stateTag and an event per target that
// binds the new form (as migration 0005 does).
const stateTag = "bieuquyet-state-v1"

// stateTable is the part of one table that belongs to a target: the rows whose key
// column is the target's id.
type stateTable struct {
	table, key, order string
	columns           []string
}

// addedTables were added to their kind after its digests were first written: such a
// table enters the digest, tagged with its name, only when the target has rows there, so
// every digest written before it was added still holds.
var addedTables = map[string]bool{"confirmation_events": true, "confirmation_files": true}

var stateTables = map[string][]stateTable{
	bq.CouncilName:    {{"council", "id", "id", []string{"id", "name", "term", "place", "update_time"}}},
	string(bq.People): {{"people", "id", "id", []string{"id", "full_name", "title", "delegate", "phone", "zalo_name", "email", "signing_identity", "active", "create_time", "update_time"}}},
	string(bq.Groups): {
		{"groups", "id", "id", []string{"id", "display_name", "kind", "zalo_link", "create_time", "update_time"}},
		{"group_members", "group_id", "person_id", []string{"person_id", "role"}},
	},
	string(bq.Tokens): {{"tokens", "id", "id", []string{"id", "name", "role", "person_id", "hash", "created_by", "create_time", "expire_time", "revoke_time"}}},
	// A poll's ballots and counts are not here: they follow from its votes rows, which its
	// events bind (VotesDigest), and VerifyAuditLog recomputes them.
	string(bq.Polls): {
		{"polls", "id", "id", []string{"id", "body_id", "group_id", "kind", "title", "question", "description", "options", "multiple_choice",
			"zalo_ref", "deadline", "decision_rule", "confirmation_deadline", "classification", "state", "cancel_reason", "opened_by",
			"electorate_hash", "eligible", "version", "request_id", "create_time", "close_time", "update_time"}},
		{"poll_electorate", "poll_id", "person_id", []string{"person_id", "full_name", "zalo_name", "phone"}},
	},
	// A confirmation's document is read whole, as a blob literal: a changed byte, digest or
	// status shows. It costs reading the document (tens of kilobytes) once per event on it.
	// Its history and the files that came back (schema 7) are read whole the same way.
	string(bq.Confirmations): {
		{"confirmations", "id", "id", []string{"id", "poll_id", "person_id", "vote_id", "options", "issue_time",
			"deadline", "status", "sha256", "size", "document"}},
		{"confirmation_events", "confirmation_id", "id", []string{"id", "confirmation_id", "time", "actor", "action", "from_status",
			"to_status", "written", "reason", "detail", "late", "file_id"}},
		{"confirmation_files", "confirmation_id", "id", []string{"id", "confirmation_id", "kind", "media_type", "sha256", "size",
			"content", "signer_subject", "signer_issuer", "signer_serial", "signer_fingerprint", "signing_time", "receive_time",
			"received_by"}},
	},
}

// stateQueries holds, for each kind, the statements that read its tables, taking the id
// as ?1.
var stateQueries = func() map[string][]string {
	qs := map[string][]string{}
	for kind, tables := range stateTables {
		for _, t := range tables {
			qs[kind] = append(qs[kind], t.sql(false))
		}
	}
	return qs
}()

// sql builds the statement that reads the table's part of a target. With extraRow, it
// reads one more row, its columns given as ?2, ?3, …: the state as it would be with it.
func (t stateTable) sql(extraRow bool) string {
	if t.order == t.key && !extraRow { // one row at most
		return fmt.Sprintf("SELECT %s FROM %s WHERE %s = ?1", literals(t.columns), t.table, t.key)
	}
	from := fmt.Sprintf("%s WHERE %s = ?1", t.table, t.key)
	if extraRow {
		params := make([]string, len(t.columns))
		for j := range params {
			params[j] = fmt.Sprintf("?%d", j+2)
		}
		from = fmt.Sprintf("(SELECT %s FROM %s UNION ALL SELECT %s)", strings.Join(t.columns, ", "), from, strings.Join(params, ", "))
	}
	return fmt.Sprintf("SELECT group_concat(%s, ';' ORDER BY %s) FROM %s", literals(t.columns), t.order, from)
}

// literals is the SQL expression of a row as its columns' SQL literals, comma separated.
func literals(columns []string) string {
	q := make([]string, len(columns))
	for i, c := range columns {
		q[i] = "quote(" + c + ")"
	}
	return strings.Join(q, " || ',' || ")
}

// stateKinds lists the tables whose every row is a target, with the query of their names'
// parts (the id, and for a confirmation its poll), the schema version that created them,
// for VerifyAuditLog and the baseline of migration 0005.
var stateKinds = []struct {
	kind, ids, tables string
	schema            int
}{
	{bq.CouncilName, `SELECT id FROM council ORDER BY id`, "the council row", 1},
	{string(bq.People), `SELECT id FROM people ORDER BY id`, "the people row", 1},
	{string(bq.Groups), `SELECT id FROM groups ORDER BY id`, "the groups row or its group_members", 1},
	{string(bq.Tokens), `SELECT id FROM tokens ORDER BY id`, "the tokens row", 2},
	{string(bq.Polls), `SELECT id FROM polls ORDER BY id`, "the polls row or its poll_electorate", 3},
	{string(bq.Confirmations), `SELECT id, poll_id FROM confirmations ORDER BY id`, "the confirmations row (its document, digest or status), its confirmation_events (its history) or its confirmation_files", 6},
}

// targetKind returns the kind of state a target names and its id; ok is false for targets
// without state (a poll's body named in a refused call, a future kind). A confirmation,
// polls/{poll}/confirmations/{id}, is known by its own id; its row holds its poll.
func targetKind(target string) (kind string, id int64, ok bool) {
	if target == bq.CouncilName {
		return bq.CouncilName, 1, true
	}
	if _, id, err := bq.ParseConfirmationName("target", target); err == nil {
		return string(bq.Confirmations), id, true
	}
	coll, _, _ := strings.Cut(target, "/")
	if _, known := stateQueries[coll]; !known || coll == bq.CouncilName || coll == string(bq.Confirmations) {
		return "", 0, false
	}
	id, err := bq.ParseName("target", bq.Collection(coll), target)
	if err != nil {
		return "", 0, false
	}
	return coll, id, true
}

// targetName is the inverse of targetKind, from a row of its stateKinds query.
func targetName(kind string, row []any) string {
	switch kind {
	case bq.CouncilName:
		return bq.CouncilName
	case string(bq.Confirmations):
		return bq.ConfirmationName(row[1].(int64), row[0].(int64))
	}
	return bq.Collection(kind).Name(row[0].(int64))
}

// readState reads a target's state: one text per table of stateTables, nil where the
// target has no row; a table added later appears, as its name and its text, only when
// the target has rows there.
func readState(ctx context.Context, tx *sql.Tx, kind string, id int64) ([]any, error) {
	out := make([]any, 0, len(stateQueries[kind]))
	for i, q := range stateQueries[kind] {
		var text any
		if err := tx.QueryRowContext(ctx, q, id).Scan(&text); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("state of %s %d: %w", kind, id, err)
		}
		if t := stateTables[kind][i]; addedTables[t.table] {
			if text != nil {
				out = append(out, t.table, text)
			}
			continue
		}
		out = append(out, text)
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

// stateDigest is the SHA-256 of a target's state as readState reads it.
func stateDigest(target string, tables []any) ([]byte, error) {
	h := sha256.New()
	h.Write([]byte(stateTag))
	writeString(h, target)
	if err := writeRow(h, tables); err != nil {
		return nil, fmt.Errorf("state of %s: %w", target, err)
	}
	return h.Sum(nil), nil
}

// targetState reads and digests a target's state; nil for a target without state.
func targetState(ctx context.Context, tx *sql.Tx, target string) ([]byte, error) {
	kind, id, ok := targetKind(target)
	if !ok {
		return nil, nil
	}
	tables, err := readState(ctx, tx, kind, id)
	if err != nil {
		return nil, err
	}
	return stateDigest(target, tables)
}

// A poll's votes rows are bound one by one: each event on a poll names the poll's newest
// votes row (VotesThrough) and the SHA-256 of its text (VotesDigest). A vote appends its
// row and its event in one transaction, so every row is the newest of some event, and
// binding it costs reading that one row. Rows stored before schema 5 are bound together
// by the event migration 0005 appends for the poll: its VotesDigest is a running digest
// over all the poll's rows up to VotesThrough. A row reads as its columns' SQL literals,
// as state does.
const (
	voteRowTag    = "bieuquyet-vote-row-v1"
	votesRangeTag = "bieuquyet-votes-v1"
	voteText      = `quote(id) || ',' || quote(poll_id) || ',' || quote(person_id) || ',' || quote(options) || ',' ||
		quote(source) || ',' || quote(note) || ',' || quote(recorded_by) || ',' || quote(request_id) || ',' || quote(record_time)`
	// votesOfPoll reads a poll's rows as VerifyAuditLog needs them.
	votesOfPoll = `SELECT id, person_id, options, ` + voteText + ` FROM votes WHERE poll_id = ? ORDER BY id`
	// newestVote and voteByID read a poll's newest votes row: two statements cost half
	// of one with a subquery, or with ORDER BY id DESC LIMIT 1.
	newestVote   = `SELECT max(id) FROM votes WHERE poll_id = ?`
	voteByID     = `SELECT ` + voteText + ` FROM votes WHERE id = ?`
	newestMarked = `SELECT seq, state, votes_through FROM audit_events
		WHERE target = ? AND length(state) > 0 ORDER BY seq DESC LIMIT 1`
)

// voteDigest is what an event says of the votes row it names.
func voteDigest(text string) []byte {
	h := sha256.New()
	h.Write([]byte(voteRowTag))
	writeString(h, text)
	return h.Sum(nil)
}

// foldVotes extends a running digest over a poll's rows with one more.
func foldVotes(prev []byte, text string) []byte {
	h := sha256.New()
	h.Write([]byte(votesRangeTag))
	writeString(h, string(prev))
	writeString(h, text)
	return h.Sum(nil)
}

// mark is what the newest state-bearing event of a target says about it.
type mark struct {
	seq          int64
	state        []byte
	votesThrough int64
}

// newestMark returns the newest event that vouches for target's state, or nil.
func newestMark(ctx context.Context, tx *sql.Tx, target string) (*mark, error) {
	var m mark
	err := tx.QueryRowContext(ctx, newestMarked, target).Scan(&m.seq, &m.state, &m.votesThrough)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// bindState fills in what e vouches for: the digest of its target's state as the
// transaction now holds it, and for a poll its newest votes row, or with allVotes every
// row up to it.
func bindState(ctx context.Context, tx *sql.Tx, e *bq.AuditEvent, allVotes bool) error {
	kind, id, ok := targetKind(e.Target)
	if !ok {
		return nil
	}
	tables, err := readState(ctx, tx, kind, id)
	if err != nil {
		return err
	}
	if e.State, err = stateDigest(e.Target, tables); err != nil || kind != string(bq.Polls) {
		return err
	}
	var newest sql.NullInt64
	if err := tx.QueryRowContext(ctx, newestVote, id).Scan(&newest); err != nil || !newest.Valid {
		return err
	}
	e.VotesThrough = newest.Int64
	var text string
	if err := tx.QueryRowContext(ctx, voteByID, e.VotesThrough).Scan(&text); err != nil {
		return fmt.Errorf("votes of %s: %w", e.Target, err)
	}
	if !allVotes {
		e.VotesDigest = voteDigest(text)
		return nil
	}
	rows, err := readRows(ctx, tx, votesOfPoll, id)
	if err != nil {
		return fmt.Errorf("votes of %s: %w", e.Target, err)
	}
	for _, row := range rows {
		e.VotesDigest = foldVotes(e.VotesDigest, row[3].(string))
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
	groups := stateTables[string(bq.Groups)]
	withMember := groups[1].sql(true)
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
		tables, err := readState(ctx, tx, string(bq.Groups), gid)
		if err != nil {
			return err
		}
		for _, role := range []bq.Role{bq.RoleMember, bq.RoleStaff} {
			if err := tx.QueryRowContext(ctx, withMember, gid, personID, string(role)).Scan(&tables[1]); err != nil {
				return err
			}
			d, err := stateDigest(target, tables)
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
		if k.schema > version {
			continue // its table comes later, and starts bound
		}
		ids, err := readRows(ctx, tx, k.ids)
		if err != nil {
			return err
		}
		for _, row := range ids {
			if err := s.appendChange(ctx, tx, baselineAudit, "BindState", targetName(k.kind, row), true,
				"the trail vouches for this state from here on: it was stored before events carried state"); err != nil {
				return err
			}
		}
	}
	return nil
}
