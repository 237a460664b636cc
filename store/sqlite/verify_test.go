package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/rosterfile"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// busy is a store that has seen every kind of write: the sample roster imported and
// edited, tokens, polls of each kind with votes, changes, withdrawals and an import,
// closed, cancelled and still open, and denials.
type busy struct {
	s     *Store
	path  string
	clock *storetest.Clock
	ban   *bq.Group // a committee, with votes in pollBan
	all   *bq.Group // the all-delegates group
	// open still takes votes; ban is closed, opinion cancelled, due closed at its deadline.
	open, pollBan, opinion, due *bq.Poll
	openVoters                  []int64
	left                        int64    // a delegate deactivated
	leftGroups                  []string // the groups they were in
	gone                        int64    // a staff member deactivated, not in the roster file
}

func newBusy(t *testing.T) *busy {
	t.Helper()
	ctx := context.Background()
	b := &busy{clock: storetest.NewClock()}
	b.path = filepath.Join(t.TempDir(), "busy.db")
	var err error
	if b.s, err = Open(ctx, b.path, Options{Now: b.clock.Now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.s.Close() })
	s := b.s
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(time.Second)
	}
	csv, err := os.ReadFile("../../examples/roster.csv")
	step(err)
	file, err := rosterfile.Parse(csv, rosterfile.FormatCSV)
	step(err)
	_, err = s.ApplyRoster(ctx, storetest.Audit, file, false)
	step(err)

	groups, err := s.ListGroups(ctx, store.GroupFilter{Limit: 100})
	step(err)
	var sc *bq.Group
	for i := range groups {
		switch g := &groups[i]; {
		case g.Kind == bq.KindAllDelegates:
			b.all = g
		case g.Kind == bq.KindStandingCommittee:
			sc = g
		case g.Kind == bq.KindCommittee && b.ban == nil:
			b.ban = g
		}
	}
	_, err = s.UpdateCouncil(ctx, storetest.Audit, func(c *bq.Council) error { c.Place = "Thủ Dầu Một"; return nil })
	step(err)
	_, err = s.UpdateGroup(ctx, storetest.Audit, b.ban.ID, func(g *bq.Group) error { g.ZaloLink = "https://zalo.me/g/moi"; return nil })
	step(err)
	var member, staff int64
	leaders := map[int64]bool{}
	for _, g := range groups {
		leaders[g.LeaderID] = true
	}
	for _, m := range b.ban.Members {
		if m.Role == bq.RoleMember && !leaders[m.PersonID] && member == 0 {
			member = m.PersonID
		}
	}
	_, err = s.UpdatePerson(ctx, storetest.Audit, member, func(p *bq.Person) error { p.Title = "Ủy viên"; return nil })
	step(err)
	newcomer, err := s.CreatePerson(ctx, storetest.Audit, &bq.Person{FullName: "Đỗ Văn Mới", Delegate: true, Phone: "+84911000001"})
	step(err)
	helper, err := s.CreatePerson(ctx, storetest.Audit, &bq.Person{FullName: "Trần Thị Giúp", Phone: "+84911000002"})
	step(err)
	staff = helper.ID
	_, err = s.AddGroupMember(ctx, storetest.Audit, b.ban.ID, newcomer.ID, "")
	step(err)
	_, err = s.AddGroupMember(ctx, storetest.Audit, b.ban.ID, staff, "")
	step(err)
	_, err = s.RemoveGroupMember(ctx, storetest.Audit, b.ban.ID, staff)
	step(err)
	_, err = s.AddGroupMember(ctx, storetest.Audit, sc.ID, staff, "")
	step(err)
	// A delegate who leaves the delegates leaves the all-delegates group too.
	_, err = s.RemoveGroupMember(ctx, storetest.Audit, b.ban.ID, newcomer.ID)
	step(err)
	_, err = s.UpdatePerson(ctx, storetest.Audit, newcomer.ID, func(p *bq.Person) error { p.Delegate = false; return nil })
	step(err)
	// Deactivation takes a delegate out of every group at once.
	b.left = member
	in, err := s.ListGroups(ctx, store.GroupFilter{MemberID: member, Limit: 100})
	step(err)
	for _, g := range in {
		b.leftGroups = append(b.leftGroups, bq.GroupName(g.ID))
	}
	_, err = s.DeactivatePerson(ctx, storetest.Audit, member)
	step(err)
	_, err = s.DeactivatePerson(ctx, storetest.Audit, staff)
	step(err)
	b.gone = staff

	mkToken := func(role bq.TokenRole, person int64) *bq.Token {
		_, hash, err := bq.NewTokenSecret()
		step(err)
		tok, err := s.CreateToken(ctx, storetest.Audit, &bq.Token{Name: "t", Role: role, PersonID: person, Hash: hash, ExpireTime: b.clock.Now().Add(time.Hour)}, bq.RequestKey{})
		step(err)
		return tok
	}
	mkToken(bq.TokenAdmin, 0)
	revoked := mkToken(bq.TokenPerson, b.ban.LeaderID)
	_, err = s.RevokeToken(ctx, storetest.Audit, revoked.ID)
	step(err)

	for _, g := range []**bq.Group{&b.ban, &b.all, &sc} {
		*g, err = s.GetGroup(ctx, (*g).ID)
		step(err)
	}
	open := func(body, group *bq.Group, kind bq.PollKind, options []string, deadline time.Duration) *bq.Poll {
		p := &bq.Poll{BodyID: body.ID, GroupID: group.ID, Kind: kind, Title: "Biểu quyết " + group.DisplayName, Question: "Đồng ý?",
			Options: options, Rule: bq.RuleMajorityOfAll, Deadline: b.clock.Now().Add(deadline)}
		if kind == bq.KindOpinion {
			p.Rule, p.MultipleChoice = bq.RuleNone, true
		}
		p.Normalize()
		out, err := s.CreatePoll(ctx, storetest.Audit, p, bq.RequestKey{})
		step(err)
		return out
	}
	vote := func(p *bq.Poll, person int64, options ...string) {
		_, err := s.RecordVote(ctx, storetest.Audit, store.VoteRequest{PollID: p.ID, PersonID: person, Options: options, Withdraw: len(options) == 0, Source: bq.SourceZalo, Note: "qua Zalo"})
		step(err)
	}
	voters := func(g *bq.Group) []int64 {
		var ids []int64
		for _, m := range g.Members {
			if m.Role.Votes() {
				ids = append(ids, m.PersonID)
			}
		}
		return ids
	}

	b.pollBan = open(b.ban, b.ban, bq.KindVote, nil, time.Hour)
	bv := voters(b.ban)
	for i, id := range bv {
		vote(b.pollBan, id, bq.VoteOptions[i%3])
	}
	vote(b.pollBan, bv[0], bq.VoteOptions[1])
	vote(b.pollBan, bv[1])
	var entries []store.VoteEntry
	for _, id := range bv[1:3] {
		entries = append(entries, store.VoteEntry{PersonID: id, Options: []int{0}})
	}
	_, _, err = s.ImportVotes(ctx, storetest.Audit, b.pollBan.ID, entries, bq.SourceOther, false, bq.RequestKey{})
	step(err)
	_, err = s.ClosePoll(ctx, storetest.Audit, b.pollBan.ID, bq.RequestKey{})
	step(err)

	b.opinion = open(sc, sc, bq.KindOpinion, []string{"Phương án A", "Phương án B", "Phương án C"}, time.Hour)
	scv := voters(sc)
	vote(b.opinion, scv[0], "Phương án A", "Phương án C")
	vote(b.opinion, scv[1], "Phương án B")
	_, err = s.CancelPoll(ctx, storetest.Audit, b.opinion.ID, "trùng nội dung", bq.RequestKey{})
	step(err)

	b.due = open(sc, b.all, bq.KindVote, nil, time.Minute)
	av := voters(b.all)
	for i, id := range av[:20] {
		vote(b.due, id, bq.VoteOptions[i%2])
	}
	b.clock.Advance(time.Minute)
	_, err = s.CloseDuePolls(ctx, bq.Audit{Actor: "system:scheduler", RequestID: "deadline"})
	step(err)

	b.open = open(sc, sc, bq.KindVote, nil, time.Hour)
	b.openVoters = scv
	for _, id := range scv {
		vote(b.open, id, bq.VoteOptions[0])
	}
	vote(b.open, scv[0])

	caller := bq.Audit{Actor: fmt.Sprintf("people/%d", scv[1]), Credential: "tokens/9", RequestID: "r"}
	for range 5 {
		step(s.RecordDenied(ctx, caller, "GetPerson", "people/3", "people/3 shares no group with the caller"))
	}
	step(s.RecordDenied(ctx, caller, "UpdatePerson", "people/3", "only the Office changes people"))
	// The same file again puts back what was edited since.
	_, err = s.ApplyRoster(ctx, storetest.Audit, file, false)
	step(err)
	return b
}

func TestAnUntouchedStoreVerifiesAfterEveryKindOfWrite(t *testing.T) {
	b := newBusy(t)
	if v := storetest.Verify(t, b.s); !v.OK {
		t.Fatalf("verdict %+v", v)
	}
	// Reopened, with the denial runs folded at Close, and after more writes.
	if err := b.s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), b.path, Options{Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("after reopening: %+v", v)
	}
	events, err := s.ListAuditEvents(context.Background(), store.AuditFilter{Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	var folded bool
	for _, e := range events {
		if e.Version != bq.AuditV2 {
			t.Fatalf("event %d has version %d", e.Seq, e.Version)
		}
		if e.Outcome == bq.OutcomeDone && len(e.State) == 0 {
			t.Errorf("event %d (%s %s) vouches for no state", e.Seq, e.Action, e.Target)
		}
		folded = folded || strings.HasPrefix(e.Summary, "denied 4 more times")
	}
	if !folded {
		t.Error("the run of denials was not folded at Close")
	}
	if _, err := s.RecordVote(context.Background(), storetest.Audit, store.VoteRequest{PollID: b.open.ID, PersonID: b.openVoters[0], Options: []string{bq.VoteOptions[2]}, Source: bq.SourceZalo}); err != nil {
		t.Fatal(err)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("after more writes: %+v", v)
	}
}

// Deactivating a person takes them out of every group with one event on the person; each
// group they left gets its own event, so that the group's trail vouches for its members.
func TestDeactivationIsRecordedOnEveryGroupLeft(t *testing.T) {
	b := newBusy(t)
	ctx := context.Background()
	events, err := b.s.ListAuditEvents(ctx, store.AuditFilter{Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if e.Action == "DeactivatePerson" && strings.Contains(e.Summary+e.Target, fmt.Sprintf("people/%d", b.left)) {
			got = append(got, e.Target)
		}
	}
	want := append([]string{bq.PersonName(b.left)}, b.leftGroups...)
	if len(want) < 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("deactivation events on %v, want %v", got, want)
	}
}

// Someone with the database file changes the state beneath the store: each change must
// show, naming what disagrees with the trail.
func TestVerifyCatchesTamperedState(t *testing.T) {
	type tamper struct {
		name   string
		sql    func(b *busy) string
		target func(b *busy) string
		says   string
	}
	poll := func(p func(b *busy) *bq.Poll) func(b *busy) string {
		return func(b *busy) string { return bq.PollName(p(b).ID) }
	}
	pollBan := func(b *busy) *bq.Poll { return b.pollBan }
	pollOpen := func(b *busy) *bq.Poll { return b.open }
	cases := []tamper{
		{"change a superseded vote", func(b *busy) string {
			return fmt.Sprintf(`UPDATE votes SET options = '[2]' WHERE id = (SELECT min(id) FROM votes WHERE poll_id = %d)`, b.pollBan.ID)
		}, poll(pollBan), "votes row"},
		{"change a current vote", func(b *busy) string {
			return fmt.Sprintf(`UPDATE votes SET options = '[1]', note = '' WHERE id = (SELECT max(id) FROM votes WHERE poll_id = %d)`, b.pollBan.ID)
		}, poll(pollBan), "votes"},
		{"delete the latest vote", func(*busy) string { return `DELETE FROM votes WHERE id = (SELECT max(id) FROM votes)` },
			poll(pollOpen), "is missing"},
		{"insert a vote", func(b *busy) string {
			return fmt.Sprintf(`INSERT INTO votes (poll_id, person_id, options, source, recorded_by, record_time)
				SELECT poll_id, person_id, '[1]', 'zalo', 'tokens/1', 0 FROM poll_electorate WHERE poll_id = %d LIMIT 1`, b.open.ID)
		}, poll(pollOpen), "in no event"},
		{"move a vote to another poll", func(b *busy) string {
			return fmt.Sprintf(`UPDATE votes SET poll_id = %d WHERE id = (SELECT min(id) FROM votes WHERE poll_id = %d)`, b.open.ID, b.pollBan.ID)
		}, poll(pollBan), "votes"},
		{"change a ballot", func(b *busy) string {
			return fmt.Sprintf(`UPDATE ballots SET options = CASE options WHEN '[0]' THEN '[1]' ELSE '[0]' END
				WHERE poll_id = %d AND person_id = (SELECT min(person_id) FROM ballots WHERE poll_id = %d)`, b.pollBan.ID, b.pollBan.ID)
		}, poll(pollBan), "ballots"},
		{"delete a ballot", func(b *busy) string {
			return fmt.Sprintf(`DELETE FROM ballots WHERE poll_id = %d AND person_id = (SELECT max(person_id) FROM ballots WHERE poll_id = %d)`, b.open.ID, b.open.ID)
		}, poll(pollOpen), "ballots"},
		{"add to a count", func(b *busy) string {
			return fmt.Sprintf(`UPDATE poll_counts SET count = count + 1 WHERE poll_id = %d AND option = 0`, b.pollBan.ID)
		}, poll(pollBan), "poll_counts"},
		{"close a poll without an event", func(b *busy) string {
			return fmt.Sprintf(`UPDATE polls SET state = 'closed' WHERE id = %d`, b.open.ID)
		}, poll(pollOpen), "polls row"},
		{"reopen a cancelled poll", func(b *busy) string {
			return fmt.Sprintf(`UPDATE polls SET state = 'open', cancel_reason = '' WHERE id = %d`, b.opinion.ID)
		}, func(b *busy) string { return bq.PollName(b.opinion.ID) }, "polls row"},
		{"change the frozen electorate", func(b *busy) string {
			return fmt.Sprintf(`UPDATE poll_electorate SET phone = '+84999999999' WHERE poll_id = %d AND person_id = (SELECT min(person_id) FROM poll_electorate WHERE poll_id = %d)`, b.due.ID, b.due.ID)
		}, func(b *busy) string { return bq.PollName(b.due.ID) }, "poll_electorate"},
		{"rename a person", func(*busy) string { return `UPDATE people SET full_name = 'Kẻ Giả Mạo' WHERE id = 5` },
			func(*busy) string { return "people/5" }, "people row"},
		{"reactivate a person", func(b *busy) string { return fmt.Sprintf(`UPDATE people SET active = 1 WHERE id = %d`, b.gone) },
			func(b *busy) string { return bq.PersonName(b.gone) }, "people row"},
		{"add a person", func(*busy) string {
			return `INSERT INTO people (full_name, delegate, phone, create_time, update_time) VALUES ('Người Lạ', 1, '+84922000000', 0, 0)`
		}, func(b *busy) string {
			var id int64
			b.s.read.QueryRow(`SELECT max(id) FROM people`).Scan(&id)
			return bq.PersonName(id)
		}, "no event"},
		{"change a member's role", func(b *busy) string {
			return fmt.Sprintf(`UPDATE group_members SET role = 'staff' WHERE group_id = %d AND person_id = (SELECT min(person_id) FROM group_members WHERE group_id = %d AND role = 'member')`, b.ban.ID, b.ban.ID)
		}, func(b *busy) string { return bq.GroupName(b.ban.ID) }, "group_members"},
		{"add a member", func(b *busy) string {
			return fmt.Sprintf(`INSERT INTO group_members (group_id, person_id, role) VALUES (%d, %d, 'staff')`, b.ban.ID, b.gone)
		}, func(b *busy) string { return bq.GroupName(b.ban.ID) }, "group_members"},
		{"unrevoke a token", func(*busy) string { return `UPDATE tokens SET revoke_time = 0` },
			func(*busy) string { return "tokens/2" }, "tokens row"},
		{"rename the council", func(*busy) string { return `UPDATE council SET name = 'Hội đồng khác'` },
			func(*busy) string { return "council" }, "council row"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := newBusy(t)
			if v := storetest.Verify(t, b.s); !v.OK {
				t.Fatalf("before tampering: %+v", v)
			}
			rawExec(t, b.path, tc.sql(b))
			v := storetest.Verify(t, b.s)
			if v.OK || v.Problem == "" {
				t.Fatalf("tampering not caught: %+v", v)
			}
			if want := tc.target(b); v.Target != want || !strings.Contains(v.Problem, want) || !strings.Contains(v.Problem, tc.says) {
				t.Errorf("verdict names %q: %s\nwant %s and %q", v.Target, v.Problem, want, tc.says)
			}
			t.Log(v.Problem)
		})
	}
}

// rawExec changes the database as someone with the file and the sqlite3 shell would:
// another connection, foreign keys off.
func rawExec(t *testing.T, path, query string) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(query)
	if err != nil {
		t.Fatalf("tamper: %v", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("tamper changed nothing: %s", query)
	}
}

// A database from before schema 5 upgrades with its trail intact: its events keep
// version 1 and verify as they did, and one event per stored target binds the state as
// found, so that tampering after the upgrade shows, for rows written before it too.
func TestUpgradeBindsTheStateStoredBefore(t *testing.T) {
	ctx := context.Background()
	b := newBusy(t)
	if err := b.s.Close(); err != nil {
		t.Fatal(err)
	}
	old := downgradeToSchema4(t, b.path)
	s, err := Open(ctx, b.path, Options{Now: b.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("after the upgrade: %+v", v)
	}
	var targets int
	for _, k := range stateKinds {
		rows, err := readRowsDB(s.read, k.ids)
		if err != nil {
			t.Fatal(err)
		}
		targets += len(rows)
	}
	events := allEvents(t, s)
	if len(events) != old+targets {
		t.Fatalf("%d events after the upgrade, want %d old and %d binding the state", len(events), old, targets)
	}
	for i, e := range events {
		if want := map[bool]int{true: bq.AuditV1, false: bq.AuditV2}[i < old]; e.Version != want {
			t.Fatalf("event %d has version %d, want %d", e.Seq, e.Version, want)
		}
		if i >= old && (e.Actor != baselineAudit.Actor || e.Action != "BindState" || len(e.State) == 0) {
			t.Fatalf("event %d: %+v", e.Seq, e)
		}
	}
	if _, err := s.RecordVote(ctx, storetest.Audit, store.VoteRequest{PollID: b.open.ID, PersonID: b.openVoters[1], Options: []string{bq.VoteOptions[1]}, Source: bq.SourceZalo}); err != nil {
		t.Fatal(err)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("after a vote: %+v", v)
	}
	rawExec(t, b.path, fmt.Sprintf(`UPDATE votes SET note = 'sửa' WHERE id = (SELECT min(id) FROM votes WHERE poll_id = %d)`, b.open.ID))
	if v := storetest.Verify(t, s); v.OK || v.Target != bq.PollName(b.open.ID) {
		t.Fatalf("a vote written before the upgrade, changed after: %+v", v)
	}
}

// downgradeToSchema4 turns a database back into what the version before schema 5 wrote:
// no state columns, events hashed in version 1. It returns the number of events.
func downgradeToSchema4(t *testing.T, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var events []*bq.AuditEvent
	rows, err := db.Query(`SELECT ` + eventColumns + ` FROM audit_events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	rows.Close()
	for _, q := range []string{
		`DROP TABLE confirmation_events`, `DROP TABLE confirmation_files`, `DROP TABLE confirmations`,
		`DROP INDEX audit_events_state`, `DROP INDEX votes_poll_id`, `DROP TABLE audit_denials`,
		`ALTER TABLE audit_events DROP COLUMN version`, `ALTER TABLE audit_events DROP COLUMN state`,
		`ALTER TABLE audit_events DROP COLUMN votes_through`, `ALTER TABLE audit_events DROP COLUMN votes_digest`,
		`PRAGMA user_version = 4`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	prev := bq.GenesisHash
	for _, e := range events {
		e.Version, e.State, e.VotesThrough, e.VotesDigest = bq.AuditV1, nil, 0, nil
		e.PrevHash, e.Hash = prev, e.ComputeHash(prev)
		if _, err := db.Exec(`UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?`, e.PrevHash, e.Hash, e.Seq); err != nil {
			t.Fatal(err)
		}
		prev = e.Hash
	}
	if _, err := db.Exec(`UPDATE audit_head SET hash = ?`, prev); err != nil {
		t.Fatal(err)
	}
	return len(events)
}

func readRowsDB(db *sql.DB, query string) ([][]any, error) {
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return readRows(context.Background(), tx, query)
}

// What record adds to every write, the vote path included, must read indexes only: its
// cost must not grow with the trail or with the votes the database holds. (Sorting the
// rows of one target, a poll's electorate at most, is fine.)
func TestRecordUsesIndexes(t *testing.T) {
	s, _ := openTest(t)
	queries := []string{newestMarked, votesOfPoll, newestVote, voteByID, countInRun, openRuns, dueRuns, `SELECT min(fold_time) FROM audit_denials`}
	for _, qs := range stateQueries {
		queries = append(queries, qs...)
	}
	for _, q := range queries {
		params := strings.Count(q, "?")
		if strings.Contains(q, "?1") {
			params = 1
		}
		rows, err := s.read.Query("EXPLAIN QUERY PLAN "+q, make([]any, params)...)
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
			if strings.HasPrefix(step, "SCAN ") && step != "SCAN CONSTANT ROW" {
				t.Errorf("%s\n  scans a table: %v", q, plan)
			}
		}
	}
}
