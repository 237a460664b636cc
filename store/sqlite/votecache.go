package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	bq "github.com/bieuquyet/bieuquyet"
)

// writerCache is what the vote writer keeps between its transactions: the poll, the
// frozen electorate (and the text of it that a poll's state digest reads) and the people
// that votes need. None of it changes when a vote is recorded, and while the writer is
// the only writer nothing else changes it. So the writer drops it all whenever anything
// else may have written since it was read:
//
//   - another write transaction of this store (inTx counts them in Store.writes);
//   - another connection, another process included (PRAGMA data_version, which SQLite
//     changes for commits made on other connections);
//   - another write connection (the pool opened a new one: data_version is per
//     connection).
//
// Only the writer goroutine uses it.
type writerCache struct {
	writes      int64 // Store.writes when the cache was checked
	dataVersion int64
	conn        any // the driver connection data_version was read on
	polls       map[int64]*pollCache
	people      map[int64]*bq.Person

	// head is the audit trail's head as the current transaction has it, after the vote
	// writer's own appends; nil until read. It is kept for one transaction only, and
	// dropped when a savepoint is rolled back or anything else may append.
	head *chainHead
}

// pollCache is what a vote needs of its poll.
type pollCache struct {
	poll       *bq.Poll // its state, options and deadline; not its version or update time
	voters     map[int64]*bq.Voter
	electorate any // the poll_electorate part of the poll's state (stateTables)
	// row is the polls row as its state reads it, each column its SQL literal; a vote
	// changes only the version and the update time.
	row []string
}

// chainHead is the newest event of the audit trail.
type chainHead struct {
	seq  int64
	hash []byte
}

// check starts a transaction of the writer: it drops what may be stale.
func (c *writerCache) check(ctx context.Context, tx *sql.Tx, conn any, writes int64) error {
	c.head = nil
	var dv int64
	if err := tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&dv); err != nil {
		return err
	}
	if c.polls == nil || writes != c.writes || dv != c.dataVersion || conn != c.conn {
		c.polls, c.people = map[int64]*pollCache{}, map[int64]*bq.Person{}
		c.writes, c.dataVersion, c.conn = writes, dv, conn
	}
	return nil
}

// poll returns the poll's part of the cache, reading it when it is not there.
func (c *writerCache) poll(ctx context.Context, tx *sql.Tx, id int64) (*pollCache, error) {
	if pc := c.polls[id]; pc != nil {
		return pc, nil
	}
	p, err := getPoll(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	pc := &pollCache{poll: p, voters: map[int64]*bq.Voter{}}
	rows, err := tx.QueryContext(ctx, electorateOfPoll, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v bq.Voter
		if err := rows.Scan(&v.PersonID, &v.FullName, &v.ZaloName, &v.Phone); err != nil {
			return nil, err
		}
		pc.voters[v.PersonID] = &v
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := tx.QueryRowContext(ctx, electorateState, id).Scan(&pc.electorate); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("state of polls %d: %w", id, err)
	}
	pc.row = make([]string, len(pollsState.columns))
	ptrs := make([]any, len(pc.row))
	for i := range pc.row {
		ptrs[i] = &pc.row[i]
	}
	if err := tx.QueryRowContext(ctx, pollsRow, id).Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("state of polls %d: %w", id, err)
	}
	c.polls[id] = pc
	return pc, nil
}

// person returns a person as the roster has them, reading them when not cached.
func (c *writerCache) person(ctx context.Context, tx *sql.Tx, id int64) (*bq.Person, error) {
	if p := c.people[id]; p != nil {
		return p, nil
	}
	p, err := getPerson(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	c.people[id] = p
	return p, nil
}

// The vote path reads its poll's state as readState does, in fewer statements: the polls
// row as the statement that bumps its version returns it, the electorate from the cache,
// and the newest votes row as its insert returns it.
var (
	pollsState      = stateTables[string(bq.Polls)][0]
	electorateState = stateQueries[string(bq.Polls)][1]
	// bumpPoll counts a change of the poll and returns its row as its state reads it.
	bumpPoll = `UPDATE polls SET version = version + 1, update_time = ?2 WHERE id = ?1 RETURNING ` + literals(pollsState.columns)
	// electorateOfPoll reads a poll's frozen electorate.
	electorateOfPoll = `SELECT person_id, full_name, zalo_name, phone FROM poll_electorate WHERE poll_id = ?`
	// pollsRow reads the polls row's columns as SQL literals, one by one.
	pollsRow = `SELECT ` + quoted(pollsState.columns) + ` FROM polls WHERE id = ?`
	// bumpVersion counts a change of the poll and returns its version.
	bumpVersion = `UPDATE polls SET version = version + 1, update_time = ?2 WHERE id = ?1 RETURNING version`
	// versionColumn and updateColumn are where a vote changes the polls row.
	versionColumn = slices.Index(pollsState.columns, "version")
	updateColumn  = slices.Index(pollsState.columns, "update_time")
	// insertVote appends a votes row and returns its id and its text, as bindState reads
	// them.
	insertVote = `INSERT INTO votes (poll_id, person_id, options, source, note, recorded_by, request_id, record_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id, ` + voteText
)

// quoted lists the columns' SQL literals, as many results.
func quoted(columns []string) string {
	q := make([]string, len(columns))
	for i, c := range columns {
		q[i] = "quote(" + c + ")"
	}
	return strings.Join(q, ", ")
}

// rowText is the polls row after a vote, as its state reads it (literals): the cached
// columns, with the new version and update time, integers, whose literals are their
// decimal digits. VerifyAuditLog, which reads the row with SQLite's own quote, holds the
// two to the same text.
func (pc *pollCache) rowText(version, updateTime int64) string {
	parts := slices.Clone(pc.row)
	parts[versionColumn] = strconv.FormatInt(version, 10)
	parts[updateColumn] = strconv.FormatInt(updateTime, 10)
	return strings.Join(parts, ",")
}

func init() {
	// The shortcut above relies on the polls kind being these two tables, in this order,
	// and the first one read by its primary key, with the two columns a vote changes.
	t := stateTables[string(bq.Polls)]
	if len(t) != 2 || versionColumn < 0 || updateColumn < 0 || t[0].table != "polls" || t[0].key != t[0].order || t[1].table != "poll_electorate" || addedTables[t[1].table] ||
		!strings.HasPrefix(stateQueries[string(bq.Polls)][0], "SELECT "+literals(pollsState.columns)+" FROM polls WHERE id = ?1") {
		panic("sqlite: the vote path's state shortcut no longer matches stateTables")
	}
}

// voteState is what a vote's event binds, as the vote path read it: the poll's two state
// tables (the polls row and the electorate) and its newest votes row.
type voteState struct {
	pollRow, electorate any
	voteID              int64
	voteText            string
}
