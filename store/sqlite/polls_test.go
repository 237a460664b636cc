package sqlite

import (
	"strings"
	"testing"

	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// newPollFixture sets up storetest's Ban in a fresh database file, on a clock the test
// moves by hand, and returns the *Store beneath it for tests that look at SQLite itself.
func newPollFixture(t testing.TB) (*Store, *storetest.PollFixture) {
	t.Helper()
	clock := storetest.NewClock()
	s, _ := openOn(t, clock.Now)
	return s, storetest.NewPollFixture(t, s, clock)
}

// The vote path must cost what a poll's size costs, whatever the database holds: each of
// its lookups must use an index, never scan a table. SQLite uses a partial index only
// when the query implies the index's condition, which is easy to lose in an edit.
func TestVotePathUsesIndexes(t *testing.T) {
	s, _ := newPollFixture(t)
	for _, q := range []string{
		voteSelect + `WHERE v.request_id = 'x' AND v.request_id <> ''`,
		`SELECT id FROM polls WHERE request_id = 'x' AND request_id <> ''`,
		`SELECT state, options, multiple_choice, deadline FROM polls WHERE id = 1`,
		`SELECT full_name FROM poll_electorate WHERE poll_id = 1 AND person_id = 1`,
		`SELECT options FROM ballots WHERE poll_id = 1 AND person_id = 1`,
		`UPDATE poll_counts SET count = count + 1 WHERE poll_id = 1 AND option = 0`,
		`SELECT seq, hash FROM audit_head WHERE id = 1`,
		strings.Replace(electorateOfPoll, "?", "1", 1),
		strings.Replace(pollsRow, "?", "1", 1),
		strings.NewReplacer("?1", "1", "?2", "0").Replace(bumpVersion),
		strings.Replace(duePolls, "?", "0", 1),
		`SELECT min(deadline) FROM polls WHERE state = 'open'`,
	} {
		rows, err := s.read.Query("EXPLAIN QUERY PLAN " + q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") {
				t.Errorf("%s\n  scans a table: %v", q, plan)
			}
		}
	}
}
