package client

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/server"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// The fixture roster, testdata/roster.csv: the twelve groups of a provincial council
// (all delegates, the Standing Committee, three Ban and seven Tổ), 27 delegates and
// 10 staff and secretaries, with phones in several spellings.
const (
	fixtureRoster      = "testdata/roster.csv"
	fixtureGroups      = 12
	fixturePeople      = 37
	fixtureMemberships = 47
	// sampleRoster is the example the project ships; another change adds it.
	sampleRoster = "../examples/roster.csv"
)

// startServer serves the real server over a fresh store on loopback TCP and returns
// its address.
func startServer(t *testing.T) string {
	t.Helper()
	return startServerWith(t, server.Config{})
}

// startServerWith is startServer with the server configured by cfg, whose Store it sets.
// It records the admin token in adminTokens and the database file in dbPaths.
func startServerWith(t *testing.T, cfg server.Config) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "test.db")
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	cfg.Store = st
	srv := server.New(cfg)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	secret, hash, err := bq.NewTokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateToken(ctx, bq.Audit{Actor: "local:test"}, &bq.Token{Name: "admin", Role: bq.TokenAdmin, Hash: hash, ExpireTime: time.Now().Add(time.Hour)}, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	adminTokens.Store(lis.Addr().String(), secret)
	dbPaths.Store(lis.Addr().String(), path)
	go srv.Serve(lis)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return lis.Addr().String()
}

// adminTokens holds the admin token of each test server, by address: tests run in
// parallel, so the token cannot travel in the environment.
var adminTokens sync.Map

// dbPaths holds the database file of each test server, by address, for tests that
// reach past the server into the store.
var dbPaths sync.Map

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

// result is what a user sees of one run.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\n--- stdout:\n" + r.stdout + "--- stderr:\n" + r.stderr
}

// run runs the client against addr, as `bieuquyet --addr addr args...`.
func run(t *testing.T, addr string, args ...string) result {
	t.Helper()
	return runStdin(t, addr, nil, args...)
}

func runStdin(t *testing.T, addr string, stdin io.Reader, args ...string) result {
	t.Helper()
	if addr != "" {
		args = append([]string{"--addr", addr}, args...)
		if secret, ok := adminTokens.Load(addr); ok {
			args = append([]string{"--token", secret.(string)}, args...)
		}
	}
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	code := Run(t.Context(), args, stdin, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// mustRun runs a command that must succeed and say nothing on stderr.
func mustRun(t *testing.T, addr string, args ...string) string {
	t.Helper()
	r := run(t, addr, args...)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("bieuquyet %s:\n%s", strings.Join(args, " "), r)
	}
	return r.stdout
}

// importFixture imports the fixture roster into the server at addr.
func importFixture(t *testing.T, addr string) {
	t.Helper()
	mustRun(t, addr, "roster", "import", fixtureRoster)
}

// field returns the value of a "field: value" line, failing when there is none.
func field(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `: +(.*)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", name, out)
	}
	return m[1]
}

// rows returns the lines of a table below its header.
func rows(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) == 0 {
		t.Fatalf("no table in %q", out)
	}
	return lines[1:]
}

// assertAligned checks that, on every line, the first match of column starts at the
// same display column: tables align by what the terminal shows, not by bytes.
func assertAligned(t *testing.T, out string, column *regexp.Regexp) {
	t.Helper()
	want := -1
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		loc := column.FindStringIndex(line)
		if loc == nil {
			t.Fatalf("no %v in line %q", column, line)
		}
		got := cellWidth.StringWidth(line[:loc[0]])
		if want < 0 {
			want = got
		}
		if got != want {
			t.Errorf("column %v starts at display column %d in %q, want %d", column, got, line, want)
		}
	}
}

func TestRosterImport(t *testing.T) {
	t.Parallel()
	checkImport(t, startServer(t), fixtureRoster, fixtureGroups)
}

// TestSampleRoster imports the example roster the project ships, when it is there.
func TestSampleRoster(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	checkImport(t, addr, sampleRoster, 12)

	// The same roster from Excel changes nothing.
	xlsx := strings.TrimSuffix(sampleRoster, ".csv") + ".xlsx"
	if got, want := mustRun(t, addr, "roster", "import", xlsx), "no changes: the roster already matches "+xlsx+"\n"; got != want {
		t.Errorf("importing %s after %s = %q, want %q", xlsx, sampleRoster, got, want)
	}
}

// TestReadmeWalkthrough runs the commands the README shows, on the sample roster.
func TestReadmeWalkthrough(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	for _, args := range [][]string{
		{"roster", "import", sampleRoster, "--dry-run"},
		{"roster", "import", sampleRoster},
		{"council", "get"},
		{"groups", "list"},
		{"groups", "get", "HĐND - Ban Pháp chế"},
		{"people", "list", "--group", "HĐND - Tổ ĐB Dĩ An", "--delegate"},
		{"people", "get", "0900000101"},
		{"--output", "json", "groups", "get", "3"},
		{"people", "create", "--full-name", "Nguyễn Thị Mới", "--phone", "0900 000 999", "--delegate", "--title", "Đại biểu HĐND tỉnh"},
		{"groups", "add-member", "HĐND - Ban Pháp chế", "0900000999"},
		{"groups", "update", "HĐND - Ban Pháp chế", "--leader", "0900000999"},
		{"people", "update", "0900000999", "--title", "Trưởng ban Pháp chế"},
		{"council", "update", "--term", "khóa XI, nhiệm kỳ 2026 - 2031"},
	} {
		mustRun(t, addr, args...)
	}
}

// checkImport imports file as a secretary would: a dry run, the import, then the same
// file again, which must change nothing.
func checkImport(t *testing.T, addr, file string, groups int) {
	t.Helper()

	// By default, a few lines: the changes counted by kind, then the total.
	dry := mustRun(t, addr, "roster", "import", "--dry-run", file)
	summary := regexp.MustCompile(`^create +the council, (\d+) people, ` + strconv.Itoa(groups) + ` groups\n` +
		`add_member +(\d+) memberships in ` + strconv.Itoa(groups) + ` groups\n` +
		`dry run: would make (\d+) changes; nothing was changed\n$`)
	m := summary.FindStringSubmatch(dry)
	if m == nil {
		t.Fatalf("the dry run does not count the changes by kind:\n%s", dry)
	}
	people, _ := strconv.Atoi(m[1])
	memberships, _ := strconv.Atoi(m[2])
	dryChanges, _ := strconv.Atoi(m[3])
	if 1+people+groups+memberships != dryChanges {
		t.Errorf("the dry run counts 1+%d+%d+%d changes and says %d in all", people, groups, memberships, dryChanges)
	}
	// --verbose lists each change before.
	verbose := mustRun(t, addr, "roster", "import", "--dry-run", "--verbose", file)
	if !strings.HasPrefix(verbose, "ACTION") || !strings.HasSuffix(verbose, "\n"+dry) {
		t.Errorf("the verbose dry run is not the change table and the summary:\n%s", verbose)
	}
	if got := len(rows(t, verbose)) - 3; got != dryChanges {
		t.Errorf("the verbose dry run lists %d changes and says %d", got, dryChanges)
	}
	assertAligned(t, strings.SplitN(verbose, "\ncreate ", 2)[0], regexp.MustCompile(`(TARGET|council|people/\d+|groups/\d+)`))
	if out := mustRun(t, addr, "groups", "list"); out != "no groups\n" {
		t.Errorf("after a dry run, groups list = %q, want no groups", out)
	}

	// The import makes the changes the dry run announced, and says what the file holds.
	out := mustRun(t, addr, "roster", "import", file)
	if !strings.HasPrefix(out, strings.SplitN(dry, "\ndry run:", 2)[0]+"\n") {
		t.Errorf("the import counts other changes than its dry run:\n%s\ndry run:\n%s", out, dry)
	}
	imported := regexp.MustCompile(`(?m)^imported: (\d+) groups, (\d+) people, (\d+) memberships; (\d+) changes$`)
	m = imported.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no import summary in:\n%s", out)
	}
	if m[1] != strconv.Itoa(groups) {
		t.Errorf("imported %s groups, want %d", m[1], groups)
	}
	if file == fixtureRoster {
		if want := strconv.Itoa(fixturePeople); m[2] != want {
			t.Errorf("imported %s people, want %s", m[2], want)
		}
		if want := strconv.Itoa(fixtureMemberships); m[3] != want {
			t.Errorf("imported %s memberships, want %s", m[3], want)
		}
	}
	if m[4] != strconv.Itoa(dryChanges) {
		t.Errorf("the import made %s changes; the dry run said %d", m[4], dryChanges)
	}

	for _, dryRun := range []bool{true, false} {
		a := []string{"roster", "import", file}
		if dryRun {
			a = append(a, "--dry-run")
		}
		if got, want := mustRun(t, addr, a...), "no changes: the roster already matches "+file+"\n"; got != want {
			t.Errorf("bieuquyet %s = %q, want %q", strings.Join(a, " "), got, want)
		}
	}

	list := mustRun(t, addr, "groups", "list")
	if got := len(rows(t, list)); got != groups {
		t.Errorf("groups list shows %d groups, want %d:\n%s", got, groups, list)
	}
	if !strings.HasPrefix(list, "GROUP ") {
		t.Errorf("groups list has no header:\n%s", list)
	}
	// The display names hold Đ and letters with two diacritics: the kind column must
	// still line up.
	assertAligned(t, list, regexp.MustCompile(`\b(KIND|all_delegates|standing_committee|committee|delegate_group)\b`))
	assertAligned(t, list, regexp.MustCompile(`\b(MEMBERS|\d+) +(VOTING|\d+)$`))
}

func TestGroupsGetByName(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)

	const name = "HĐND - Ban Pháp chế"
	byName := mustRun(t, addr, "groups", "get", name)
	if got := field(t, byName, "display_name"); got != name {
		t.Errorf("display_name = %q, want %q", got, name)
	}
	if got := field(t, byName, "kind"); got != "committee" {
		t.Errorf("kind = %q, want committee", got)
	}
	if got := field(t, byName, "leader"); !regexp.MustCompile(`^Võ Văn Khải \(people/\d+\)$`).MatchString(got) {
		t.Errorf("leader = %q, want Võ Văn Khải (people/N)", got)
	}
	_, table, ok := strings.Cut(byName, "\n\n")
	if !ok || !strings.HasPrefix(table, "ROLE ") {
		t.Fatalf("no member table after the fields:\n%s", byName)
	}
	members := rows(t, table)
	if len(members) != 4 || !strings.HasPrefix(members[0], "leader  Võ Văn Khải") {
		t.Errorf("members of %s:\n%s", name, table)
	}
	if !regexp.MustCompile(`(?m)^staff +Chuyên viên Ban Pháp chế +people/\d+ +no$`).MatchString(table) {
		t.Errorf("no staff row in:\n%s", table)
	}
	assertAligned(t, table, regexp.MustCompile(`(PERSON|people/\d+)`))

	// The same group by its id, its resource name, and its name typed decomposed (NFD)
	// or with stray spaces.
	group := field(t, byName, "name")
	for _, arg := range []string{group, strings.TrimPrefix(group, "groups/"), norm.NFD.String(name), "  HĐND -  Ban Pháp chế "} {
		if got := mustRun(t, addr, "groups", "get", arg); got != byName {
			t.Errorf("groups get %q =\n%s\nwant\n%s", arg, got, byName)
		}
	}
}

func TestPeopleLifecycle(t *testing.T) {
	t.Parallel()
	addr := startServer(t)

	created := mustRun(t, addr, "people", "create", "--full-name", "Nguyễn Thị Hồng", "--phone", "0987 654 321",
		"--title", "Đại biểu HĐND tỉnh", "--delegate", "--email", "hong.nt@example.vn")
	person := field(t, created, "name")
	if person != "people/1" {
		t.Errorf("created %s, want people/1", person)
	}
	for name, want := range map[string]string{"full_name": "Nguyễn Thị Hồng", "phone": "+84987654321", "delegate": "yes", "active": "yes"} {
		if got := field(t, created, name); got != want {
			t.Errorf("created %s = %q, want %q", name, got, want)
		}
	}

	// A person is found by resource name, id, and phone in any spelling.
	for _, arg := range []string{"people/1", "1", "0987654321", "0987 654 321", "+84 987.654.321", "987654321"} {
		got := mustRun(t, addr, "people", "get", arg)
		if field(t, got, "name") != person {
			t.Errorf("people get %q:\n%s", arg, got)
		}
	}

	// Only the flags given change: the name and e-mail stay.
	updated := mustRun(t, addr, "people", "update", "0987654321", "--title", "Chuyên viên", "--delegate=false")
	for name, want := range map[string]string{"title": "Chuyên viên", "delegate": "no", "full_name": "Nguyễn Thị Hồng", "email": "hong.nt@example.vn"} {
		if got := field(t, updated, name); got != want {
			t.Errorf("updated %s = %q, want %q", name, got, want)
		}
	}
	// Flags before the argument work too; an empty value clears the field.
	updated = mustRun(t, addr, "people", "update", "--email", "", person)
	if strings.Contains(updated, "email:") {
		t.Errorf("email not cleared:\n%s", updated)
	}

	deactivated := mustRun(t, addr, "people", "deactivate", "+84987654321")
	if got := field(t, deactivated, "active"); got != "no" {
		t.Errorf("after deactivate, active = %q", got)
	}
	if r := run(t, addr, "people", "deactivate", person); r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: failed precondition: ") {
		t.Errorf("deactivating twice:\n%s", r)
	}

	list := mustRun(t, addr, "people", "list", "--active=false")
	if rs := rows(t, list); len(rs) != 1 || !strings.HasPrefix(rs[0], "people/1  Nguyễn Thị Hồng") {
		t.Errorf("people list --active=false:\n%s", list)
	}
	for _, active := range []string{"--active", "--active=true"} {
		if got := mustRun(t, addr, "people", "list", active); got != "no people\n" {
			t.Errorf("people list %s = %q", active, got)
		}
	}
	if got := mustRun(t, addr, "people", "list"); len(rows(t, got)) != 1 {
		t.Errorf("people list without --active does not show the deactivated person:\n%s", got)
	}
}

func TestPeopleListPages(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)

	first := run(t, addr, "people", "list", "--page-size", "5")
	if first.code != 0 || len(rows(t, first.stdout)) != 5 {
		t.Fatalf("first page:\n%s", first)
	}
	m := regexp.MustCompile(`^more: --page-token (\S+) `).FindStringSubmatch(first.stderr)
	if m == nil {
		t.Fatalf("no page token on stderr:\n%s", first)
	}
	second := run(t, addr, "people", "list", "--page-size", "5", "--page-token", m[1])
	if second.code != 0 || !strings.HasPrefix(rows(t, second.stdout)[0], "people/6 ") {
		t.Errorf("second page:\n%s", second)
	}

	all := run(t, addr, "people", "list", "--page-size", "5", "--all")
	if all.code != 0 || all.stderr != "" || len(rows(t, all.stdout)) != fixturePeople {
		t.Errorf("--all:\n%s", all)
	}
	assertAligned(t, all.stdout, regexp.MustCompile(`(DELEGATE +PHONE|(yes|no) +\+84)`))

	// Filters, with the group given by name.
	staff := mustRun(t, addr, "people", "list", "--delegate=false", "--group", "HĐND - Ban Pháp chế")
	if rs := rows(t, staff); len(rs) != 1 || !strings.Contains(rs[0], "Chuyên viên Ban Pháp chế") {
		t.Errorf("staff of Ban Pháp chế:\n%s", staff)
	}
	byPhone := mustRun(t, addr, "people", "list", "--phone", "0912.000.001")
	if rs := rows(t, byPhone); len(rs) != 1 || !strings.Contains(rs[0], "Nguyễn Văn Ân") {
		t.Errorf("--phone:\n%s", byPhone)
	}
}

func TestGroupCommands(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)

	const name = "HĐND - Tổ ĐB Thử nghiệm"
	created := mustRun(t, addr, "groups", "create", "--name", name, "--kind", "delegate_group",
		"--leader", "0912000001", "--zalo-link", "https://zalo.me/g/thu")
	group := field(t, created, "name")
	if got := field(t, created, "leader"); got != "Nguyễn Văn Ân (people/1)" {
		t.Errorf("leader = %q", got)
	}

	added := mustRun(t, addr, "groups", "add-member", name, "+84 912 000 002")
	if !regexp.MustCompile(`(?m)^member +Trần Thị Bích +people/2 +yes$`).MatchString(added) {
		t.Errorf("add-member:\n%s", added)
	}
	added = mustRun(t, addr, "groups", "add-member", "--role", "staff", group, "0912000030")
	if got := field(t, added, "members"); got != "3" {
		t.Errorf("members = %s after adding two:\n%s", got, added)
	}
	if got := field(t, added, "voting_members"); got != "2" {
		t.Errorf("voting_members = %s; staff do not vote:\n%s", got, added)
	}

	updated := mustRun(t, addr, "groups", "update", group, "--leader", "2", "--zalo-link", "https://zalo.me/g/moi")
	if got := field(t, updated, "leader"); got != "Trần Thị Bích (people/2)" {
		t.Errorf("leader after update = %q", got)
	}
	if got := field(t, updated, "display_name"); got != name {
		t.Errorf("display_name changed to %q; only --leader and --zalo-link were given", got)
	}

	removed := mustRun(t, addr, "groups", "remove-member", name, "people/1")
	if strings.Contains(removed, "people/1 ") {
		t.Errorf("people/1 still a member:\n%s", removed)
	}

	committees := mustRun(t, addr, "groups", "list", "--kind", "committee")
	if got := len(rows(t, committees)); got != 3 {
		t.Errorf("%d committees:\n%s", got, committees)
	}

	council := mustRun(t, addr, "council", "update", "--place", "Thủ Dầu Một")
	if got := field(t, council, "place"); got != "Thủ Dầu Một" {
		t.Errorf("place = %q", got)
	}
	if got := field(t, mustRun(t, addr, "council", "get"), "name"); got != "Hội đồng nhân dân tỉnh Bình Dương" {
		t.Errorf("council name = %q; only --place was given", got)
	}
}

// TestErrors checks each class of error: its exit code and the one line (plus field
// violations) a user reads on stderr. Nothing goes to stdout.
func TestErrors(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "people", "create", "--full-name", "Nguyễn Văn Ân", "--phone", "0912000001", "--delegate")
	mustRun(t, addr, "groups", "create", "--name", "HĐND - Ban Pháp chế", "--kind", "committee", "--leader", "people/1")

	tests := []struct {
		name string
		args []string
		code int
		// stderr is the whole of stderr, as regular expressions, one per line.
		stderr []string
	}{
		{"unknown flag", []string{"people", "list", "--bogus"}, 2,
			[]string{`^bieuquyet: people list: flag provided but not defined: -bogus \(run 'bieuquyet help people list'\)$`}},
		{"global flag after the command", []string{"people", "list", "--output", "json"}, 2,
			[]string{`^bieuquyet: people list: flag provided but not defined: -output: --output is a global flag and goes before the command `}},
		{"bad flag value", []string{"people", "list", "--delegate=maybe"}, 2,
			[]string{`^bieuquyet: people list: invalid boolean value "maybe" for -delegate: must be true or false \(run 'bieuquyet help people list'\)$`}},
		{"bad kind", []string{"groups", "list", "--kind", "ban"}, 2,
			[]string{`^bieuquyet: groups list: invalid value "ban" for flag -kind: must be all_delegates, standing_committee, committee or delegate_group `}},
		{"bad output", []string{"--output", "xml", "council", "get"}, 2,
			[]string{`^bieuquyet: invalid value "xml" for flag -output: must be table or json \(run 'bieuquyet help'\)$`}},
		{"unknown command", []string{"frobnicate"}, 2,
			[]string{`^bieuquyet: unknown command "frobnicate"; the commands are council, people, groups, roster, poll, vote, confirm, whoami, token, audit \(run 'bieuquyet help'\)$`}},
		{"unknown subcommand", []string{"people", "delete", "1"}, 2,
			[]string{`^bieuquyet: people: unknown command "delete"; the people commands are list, get, create, update, deactivate \(run 'bieuquyet help people'\)$`}},
		{"no command", nil, 2, []string{`^bieuquyet: no command given \(run 'bieuquyet help'\)$`}},
		{"missing argument", []string{"people", "get"}, 2, []string{`^bieuquyet: people get: missing PERSON `}},
		{"missing arguments", []string{"groups", "add-member"}, 2, []string{`^bieuquyet: groups add-member: missing GROUP and PERSON `}},
		{"extra argument", []string{"people", "get", "1", "2"}, 2, []string{`^bieuquyet: people get: unexpected argument "2" `}},
		{"missing required flag", []string{"people", "create", "--full-name", "X"}, 2, []string{`^bieuquyet: people create: --phone is required `}},
		{"nothing to update", []string{"people", "update", "1"}, 2,
			[]string{`^bieuquyet: people update: nothing to update: give at least one of --full-name, --title, --delegate, `}},
		{"bad person", []string{"people", "get", "Nguyễn"}, 2, []string{`^bieuquyet: people get: "Nguyễn" is not a person: use people/ID, ID or a phone number `}},
		{"bool flag without =", []string{"people", "update", "--delegate", "false", "1"}, 2,
			[]string{`^bieuquyet: people update: unexpected argument "false": give a yes-or-no flag its value with =, as in --delegate=false `}},
		{"filter flag without =", []string{"people", "list", "--active", "false"}, 2,
			[]string{`^bieuquyet: people list: unexpected argument "false": give a yes-or-no flag its value with =, as in --active=false `}},
		{"filter flag with true after a space", []string{"people", "list", "--delegate", "true"}, 2,
			[]string{`^bieuquyet: people list: unexpected argument "true": give a yes-or-no flag its value with =, as in --delegate=true `}},
		{"bad timeout", []string{"--timeout", "0s", "council", "get"}, 2, []string{`^bieuquyet: --timeout must be positive`}},
		{"one-word command with an argument", []string{"whoami", "me"}, 2, []string{`^bieuquyet: whoami: unexpected argument "me" \(run 'bieuquyet help whoami'\)$`}},
		{"token flag after the command", []string{"whoami", "--token", "x"}, 2,
			[]string{`^bieuquyet: whoami: flag provided but not defined: -token: --token is a global flag and goes before the command `}},
		{"token without role", []string{"token", "create", "--name", "X"}, 2, []string{`^bieuquyet: token create: --role is required `}},
		{"bad token role", []string{"token", "create", "--name", "X", "--role", "root"}, 2,
			[]string{`^bieuquyet: token create: invalid value "root" for flag -role: must be admin, secretariat or person `}},
		{"person token without person", []string{"token", "create", "--role", "person", "--name", "X"}, 2,
			[]string{`^bieuquyet: token create: --person is required for a person token `}},
		{"admin token with person", []string{"token", "create", "--role", "admin", "--name", "X", "--person", "1"}, 2,
			[]string{`^bieuquyet: token create: --person goes only with --role person `}},
		{"negative ttl", []string{"token", "create", "--role", "admin", "--name", "X", "--ttl", "-1h"}, 2,
			[]string{`^bieuquyet: token create: --ttl must be positive, not -1h0m0s `}},
		{"bad token", []string{"token", "revoke", "people/1"}, 2, []string{`^bieuquyet: token revoke: "people/1" is not a token: use tokens/ID or ID `}},
		{"bad head", []string{"audit", "verify", "--head", "3"}, 2,
			[]string{`^bieuquyet: audit verify: invalid value "3" for flag -head: must be SEQ:HEX, as 'bieuquyet audit head' prints it `}},
		{"short head", []string{"audit", "verify", "--head", "3:abcd"}, 2,
			[]string{`^bieuquyet: audit verify: invalid value "3:abcd" for flag -head: HEX must be 64 hexadecimal digits, a SHA-256 hash `}},
		{"bad time", []string{"audit", "list", "--since", "yesterday"}, 2,
			[]string{`^bieuquyet: audit list: invalid value "yesterday" for flag -since: must be RFC 3339, as in 2026-03-01T08:00:00\+07:00, or a date, as in 2026-03-01 `}},
		{"empty time range", []string{"audit", "list", "--since", "2026-03-02", "--until", "2026-03-01"}, 2,
			[]string{`^bieuquyet: audit list: --since must be before --until `}},

		{"deadline", []string{"--timeout", "1ns", "council", "get"}, 1,
			[]string{`^bieuquyet: deadline exceeded: no answer from 127\.0\.0\.1:\d+ within 1ns \(see --timeout\)$`}},
		{"not found", []string{"people", "get", "people/99"}, 1, []string{`^bieuquyet: not found: people/99 does not exist$`}},
		{"no council yet", []string{"council", "get"}, 1, []string{`^bieuquyet: not found: the council is not set up yet`}},
		{"phone not found", []string{"people", "get", "0912 999 999"}, 1, []string{`^bieuquyet: not found: no person has the phone number 0912 999 999$`}},
		{"group name not found", []string{"groups", "get", "HĐND - Ban Không Có"}, 1, []string{`^bieuquyet: not found: no group is named "HĐND - Ban Không Có"$`}},
		{"bad phone to look up", []string{"people", "get", "0123"}, 1,
			[]string{`^bieuquyet: invalid argument: phone: must have 10 digits \(or 11 for a landline\) counting the leading 0$`}},
		{"invalid argument with violations", []string{"people", "create", "--full-name", " ", "--phone", "12345", "--email", "nope"}, 1, []string{
			`^bieuquyet: invalid argument: invalid person$`,
			`^  person.full_name: is required$`,
			`^  person.phone: must have 10 digits \(or 11 for a landline\) counting the leading 0$`,
			`^  person.email: "nope" is not an e-mail address$`,
		}},
		{"already exists", []string{"people", "create", "--full-name", "Trần Thị Bích", "--phone", "+84 912 000 001"}, 1,
			[]string{`^bieuquyet: already exists: `}},
		{"failed precondition", []string{"groups", "remove-member", "HĐND - Ban Pháp chế", "0912000001"}, 1,
			[]string{`^bieuquyet: failed precondition: Nguyễn Văn Ân leads "HĐND - Ban Pháp chế": give the group another leader first$`}},
		{"token not found", []string{"token", "revoke", "tokens/99"}, 1, []string{`^bieuquyet: not found: tokens/99 does not exist$`}},
		{"ttl too long", []string{"token", "create", "--role", "admin", "--name", "X", "--ttl", "20000h"}, 1,
			[]string{`^bieuquyet: invalid argument: invalid token$`, `^  ttl: may be at most `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, addr, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tt.code, r)
			}
			if r.stdout != "" {
				t.Errorf("stdout is not empty:\n%s", r)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != len(tt.stderr) || !strings.HasSuffix(r.stderr, "\n") {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(tt.stderr), r.stderr)
			}
			for i, re := range tt.stderr {
				if !regexp.MustCompile(re).MatchString(lines[i]) {
					t.Errorf("stderr line %d = %q, want a match for %s", i+1, lines[i], re)
				}
			}
		})
	}
}

// TestRosterImportBadFile checks that a bad file changes nothing and that every problem
// is listed with its row and column, and that a dry run exits 1 for them.
func TestRosterImportBadFile(t *testing.T) {
	t.Parallel()
	for _, server := range []struct {
		name  string
		start func(t *testing.T) string
	}{{"refusing", startServer}, {"listing problems", startProblemServer}} {
		t.Run(server.name, func(t *testing.T) {
			addr := server.start(t)
			problems := "  rows[4].phone: +84912000001 is already used by row 3\n" +
				"  rows[5].phone: must have 10 digits (or 11 for a landline) counting the leading 0\n" +
				"  rows[8].group: \"HĐND - Ban Không Có\" is not defined by a group row in this file\n" +
				"  rows[8].phone: +84912000009 is not the phone of any person row in this file\n"
			refused := result{1, "", "bieuquyet: invalid argument: the roster file has 4 problems\n" + problems}
			listed := result{1, "dry run: nothing would change while the file has 4 problems\n",
				"bieuquyet: the roster file has 4 problems; nothing would change\n" + problems}
			for _, dryRun := range []bool{true, false} {
				args := []string{"roster", "import", "testdata/bad-roster.csv"}
				if dryRun {
					args = append(args, "--dry-run")
				}
				// A server lists a dry run's problems in its answer; a real import it refuses.
				r := run(t, addr, args...)
				if server.name == "listing problems" && dryRun && r != listed {
					t.Errorf("bieuquyet %s:\n%s\nwant\n%s", strings.Join(args, " "), r, listed)
				} else if r != refused && (!dryRun || r != listed) {
					t.Errorf("bieuquyet %s:\n%s\nwant\n%s", strings.Join(args, " "), r, refused)
				}
			}
			if got := mustRun(t, addr, "people", "list"); got != "no people\n" {
				t.Errorf("a bad file changed the roster: people list = %q", got)
			}
		})
	}
}

// startProblemServer is startServer as the server answers a dry run with problems: with
// the problems in the response instead of an error. It turns the refusal of a dry run
// into such a response.
func startProblemServer(t *testing.T) string {
	t.Helper()
	listProblems := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		resp, err := handler(ctx, req)
		st, _ := status.FromError(err)
		if st.Code() != codes.InvalidArgument {
			return resp, err
		}
		var problems []*pb.Problem
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					problems = append(problems, &pb.Problem{Field: v.GetField(), Description: v.GetDescription()})
				}
			}
		}
		switch r := req.(type) {
		case *pb.ImportRosterRequest:
			if r.GetDryRun() {
				return &pb.ImportRosterResponse{DryRun: true, Problems: problems}, nil
			}
		case *pb.ImportVotesRequest:
			if r.GetDryRun() {
				return &pb.ImportVotesResponse{DryRun: true, Problems: problems}, nil
			}
		}
		return resp, err
	}
	return startServerWith(t, server.Config{Options: []grpc.ServerOption{grpc.ChainUnaryInterceptor(listProblems)}})
}

// TestRosterImportSizeLimit checks that a file over 8 MiB is refused before it is sent:
// the address is dead, so anything sent would fail as unreachable instead.
func TestRosterImportSizeLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big.csv")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxRosterSize + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	dead := deadAddr(t)

	tests := []struct {
		name  string
		file  string
		stdin io.Reader
		want  string
	}{
		{"file", big, nil,
			"bieuquyet: roster file " + big + " is 8.0 MiB (8388609 bytes), over the limit of 8 MiB; nothing was sent\n"},
		{"stdin", "-", bytes.NewReader(make([]byte, maxRosterSize+1)),
			"bieuquyet: roster file standard input is larger than 8 MiB, the limit; nothing was sent\n"},
		{"missing file", filepath.Join(dir, "nope.csv"), nil,
			"bieuquyet: read roster file: open " + filepath.Join(dir, "nope.csv") + ": no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runStdin(t, dead, tt.stdin, "roster", "import", tt.file)
			if r.code != 1 || r.stdout != "" || r.stderr != tt.want {
				t.Errorf("got\n%s\nwant stderr %q", r, tt.want)
			}
		})
	}

	// A file of exactly 8 MiB is sent: the server reads it and refuses its content.
	if err := os.Truncate(big, maxRosterSize); err != nil {
		t.Fatal(err)
	}
	r := run(t, startServer(t), "roster", "import", big)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: invalid argument: the roster file has") {
		t.Errorf("8 MiB file:\n%s", r)
	}
}

func TestRosterImportStdin(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	content, err := os.ReadFile(fixtureRoster)
	if err != nil {
		t.Fatal(err)
	}
	r := runStdin(t, addr, bytes.NewReader(content), "roster", "import", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "\nimported: 12 groups, 37 people, 47 memberships; ") {
		t.Errorf("import from stdin:\n%s", r)
	}
}

// TestJSONOutput checks that --output json prints one JSON document per command, with
// every page merged for --all.
func TestJSONOutput(t *testing.T) {
	t.Parallel()
	addr := startServer(t)

	parse := func(t *testing.T, args ...string) map[string]any {
		t.Helper()
		out := mustRun(t, addr, append([]string{"--output", "json"}, args...)...)
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("bieuquyet --output json %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return doc
	}

	doc := parse(t, "roster", "import", "--dry-run", fixtureRoster)
	if doc["dryRun"] != true || len(doc["changes"].([]any)) == 0 {
		t.Errorf("dry run: %v", doc)
	}
	doc = parse(t, "roster", "import", fixtureRoster)
	if doc["groups"] != float64(fixtureGroups) || doc["people"] != float64(fixturePeople) {
		t.Errorf("import: groups %v, people %v", doc["groups"], doc["people"])
	}
	if _, ok := doc["dryRun"]; ok {
		t.Errorf("dryRun false is printed; EmitUnpopulated should be off")
	}

	doc = parse(t, "people", "list", "--all", "--page-size", "10")
	if got := len(doc["people"].([]any)); got != fixturePeople {
		t.Errorf("people list --all: %d people, want %d", got, fixturePeople)
	}
	if _, ok := doc["nextPageToken"]; ok {
		t.Errorf("people list --all has a next page token")
	}

	doc = parse(t, "groups", "list")
	groups := doc["groups"].([]any)
	if len(groups) != fixtureGroups {
		t.Fatalf("groups list: %d groups", len(groups))
	}
	if kind := groups[0].(map[string]any)["kind"]; kind != "GROUP_KIND_ALL_DELEGATES" {
		t.Errorf("first group's kind = %v", kind)
	}

	doc = parse(t, "groups", "get", "HĐND - Ban Pháp chế")
	if g := doc["group"].(map[string]any); g["displayName"] != "HĐND - Ban Pháp chế" || len(g["members"].([]any)) != 4 {
		t.Errorf("groups get: %v", g)
	}
	doc = parse(t, "people", "get", "0912000001")
	if p := doc["person"].(map[string]any); p["fullName"] != "Nguyễn Văn Ân" {
		t.Errorf("people get: %v", p)
	}
	doc = parse(t, "council", "get")
	if c := doc["council"].(map[string]any); c["place"] != "Bình Dương" {
		t.Errorf("council get: %v", c)
	}
}

func TestServerDown(t *testing.T) {
	dead := deadAddr(t)
	want := "bieuquyet: cannot reach the server at " + dead + ": connection refused\n"
	for _, args := range [][]string{
		{"--addr", dead, "council", "get"},
		{"--addr", dead, "groups", "get", "HĐND - Ban Pháp chế"},
		{"--addr", dead, "--timeout", "2s", "people", "get", "0912000001"},
	} {
		r := run(t, "", args...)
		if r.code != 1 || r.stdout != "" || r.stderr != want {
			t.Errorf("bieuquyet %s:\n%s\nwant stderr %q", strings.Join(args, " "), r, want)
		}
	}

	// Without --addr, BIEUQUYET_ADDR names the server.
	t.Setenv(envAddr, dead)
	if r := run(t, "", "council", "get"); r.code != 1 || r.stderr != want {
		t.Errorf("with %s=%s:\n%s", envAddr, dead, r)
	}
	live := startServer(t)
	t.Setenv(envAddr, live)
	if r := run(t, "", "people", "list"); r.code != 1 || !strings.Contains(r.stderr, "unauthenticated: no bearer token") {
		t.Errorf("with %s set to a live server and no token:\n%s", envAddr, r)
	}
	secret, _ := adminTokens.Load(live)
	t.Setenv(envToken, secret.(string))
	if r := run(t, "", "people", "list"); r.code != 0 || r.stdout != "no people\n" {
		t.Errorf("with %s and %s set:\n%s", envAddr, envToken, r)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := run(t, "", args...)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("bieuquyet %s:\n%s", strings.Join(args, " "), r)
		}
		for _, c := range commands {
			if !strings.Contains(r.stdout, "\n  "+c.path) {
				t.Errorf("bieuquyet %s does not list %q", strings.Join(args, " "), c.path)
			}
		}
	}
	for _, args := range [][]string{{"help", "people", "create"}, {"people", "create", "-h"}, {"people", "create", "--help"}} {
		r := run(t, "", args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: bieuquyet people create --full-name S --phone P") ||
			!strings.Contains(r.stdout, "-signing-identity ID\n") {
			t.Errorf("bieuquyet %s:\n%s", strings.Join(args, " "), r)
		}
	}
	r := run(t, "", "help", "whoami")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: bieuquyet whoami\n") {
		t.Errorf("help whoami:\n%s", r)
	}
	r = run(t, "", "help", "token")
	if r.code != 0 || !strings.Contains(r.stdout, "token revoke TOKEN") || strings.Contains(r.stdout, "audit list") {
		t.Errorf("help token:\n%s", r)
	}
	r = run(t, "", "help", "groups")
	if r.code != 0 || !strings.Contains(r.stdout, "groups add-member GROUP PERSON") || strings.Contains(r.stdout, "people list") {
		t.Errorf("help groups:\n%s", r)
	}
	if r := run(t, "", "help", "nope"); r.code != 2 {
		t.Errorf("help nope:\n%s", r)
	}
}

func TestLooksLikePhone(t *testing.T) {
	t.Parallel()
	for arg, want := range map[string]bool{
		"0912345678": true, "+84912345678": true, "912 345 678": true, "912.345.678": true, "0123": true,
		"12": false, "123456": false, "people/12": false, "Nguyễn": false, "1234567": true,
	} {
		if got := looksLikePhone(arg); got != want {
			t.Errorf("looksLikePhone(%q) = %v, want %v", arg, got, want)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		pos     []string
		role    string
		verbose bool
	}{
		{[]string{"g", "p"}, []string{"g", "p"}, "", false},
		{[]string{"--role", "staff", "g", "p"}, []string{"g", "p"}, "staff", false},
		{[]string{"g", "--role=staff", "p", "-v"}, []string{"g", "p"}, "staff", true},
		{[]string{"g", "--", "-v", "--role"}, []string{"g", "-v", "--role"}, "", false},
	}
	for _, tt := range tests {
		fs := newFlagSet("test")
		role := fs.String("role", "", "")
		verbose := fs.Bool("v", false, "")
		pos, err := parseInterspersed(fs, tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		if strings.Join(pos, "|") != strings.Join(tt.pos, "|") || *role != tt.role || *verbose != tt.verbose {
			t.Errorf("%q: got %q, role %q, -v %v", tt.args, pos, *role, *verbose)
		}
	}
}

// TestHelpEverywhere checks that every command and every group of commands answers
// --help, -h and -help with its usage on stdout and exit 0, and never reaches a server:
// there is none.
func TestHelpEverywhere(t *testing.T) {
	t.Parallel()
	dead := deadAddr(t)
	type check struct {
		args []string
		want string // what stdout must start with
	}
	var checks []check
	for _, c := range commands {
		words := strings.Fields(c.path)
		for _, h := range []string{"--help", "-h", "-help"} {
			checks = append(checks, check{append(append([]string{}, words...), h), "Usage: " + usageLine(c) + "\n"})
		}
		checks = append(checks, check{append([]string{"help"}, words...), "Usage: " + usageLine(c) + "\n"})
		// Help wins over missing arguments and flags given before it.
		if len(c.args) > 0 {
			checks = append(checks, check{append(append([]string{}, words...), "x", "--help"), "Usage: " + usageLine(c) + "\n"})
		}
	}
	for _, topic := range topics() {
		if !hasSubcommands(topic) {
			continue
		}
		for _, h := range []string{"--help", "-h", "-help", "help"} {
			checks = append(checks, check{[]string{topic, h}, "bieuquyet is the command-line client"})
		}
		checks = append(checks, check{[]string{"help", topic}, "bieuquyet is the command-line client"})
	}
	for _, h := range []string{"--help", "-h", "-help", "help"} {
		checks = append(checks, check{[]string{h}, "bieuquyet is the command-line client"}, check{[]string{"help", h}, "bieuquyet is the command-line client"})
	}
	for _, tt := range checks {
		r := run(t, "", append([]string{"--addr", dead}, tt.args...)...)
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, tt.want) {
			t.Errorf("bieuquyet %s:\n%s\nwant stdout starting %q", strings.Join(tt.args, " "), r, tt.want)
			continue
		}
		if !strings.HasPrefix(tt.want, "bieuquyet") || !hasSubcommands(tt.args[len(tt.args)-1]) && !hasSubcommands(tt.args[0]) {
			continue
		}
		// A group's help lists its commands and no others.
		topic := tt.args[0]
		if topic == "help" {
			topic = tt.args[1]
		}
		for _, c := range commands {
			mine := strings.HasPrefix(c.path, topic+" ")
			if listed := strings.Contains(r.stdout, "\n  "+c.path); listed != mine {
				t.Errorf("bieuquyet %s: lists %q: %v, want %v", strings.Join(tt.args, " "), c.path, listed, mine)
			}
		}
	}
}

// TestBoolFlags checks that every yes-or-no flag of every command takes one form:
// --x for yes, --x=false for no, and never a value after a space.
func TestBoolFlags(t *testing.T) {
	t.Parallel()
	n := 0
	for _, c := range commands {
		fs := newFlagSet(c.path)
		c.setup(fs)
		fs.VisitAll(func(f *flag.Flag) {
			_, opt := f.Value.(*optBool)
			if !opt && f.DefValue != "false" && f.DefValue != "true" {
				return
			}
			n++
			b, ok := f.Value.(interface{ IsBoolFlag() bool })
			if !ok || !b.IsBoolFlag() {
				t.Errorf("%s --%s takes a value: want a yes-or-no flag", c.path, f.Name)
			}
		})
		if strings.Contains(c.synopsis, "true|false") || strings.Contains(c.synopsis, "=true") {
			t.Errorf("%s: the synopsis spells a yes-or-no flag with a value: %s", c.path, c.synopsis)
		}
	}
	if n < 8 {
		t.Errorf("found %d yes-or-no flags; the walk is broken", n)
	}
}

// TestInvisibleCharacters checks that names from the server with characters a terminal
// does not show (a right-to-left override, a zero width space, a byte order mark, a line
// separator) are printed escaped in tables and fields, and stay JSON in JSON, escaped.
func TestInvisibleCharacters(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	const fullName = "Nguyễn\u202eVăn\u200bÂn\ufeff"
	const escaped = `Nguyễn\u202eVăn\u200bÂn\ufeff`
	// The server refuses such text now; a database written before it did, or by another
	// tool, may still hold some, so the person is written straight into the store.
	path, _ := dbPaths.Load(addr)
	st, err := sqlite.Open(context.Background(), path.(string), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.CreatePerson(context.Background(), bq.Audit{Actor: "local:test"}, &bq.Person{FullName: fullName,
		Title: "Đại biểu\u2028HĐND\u061c", Phone: "+84912000001", Delegate: true, Active: true})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"people", "list"}, {"people", "get", "1"}} {
		out := mustRun(t, addr, args...)
		for _, r := range out {
			if r != '\n' && invisible(r) {
				t.Errorf("bieuquyet %s prints %U raw:\n%s", strings.Join(args, " "), r, out)
			}
		}
		if !strings.Contains(out, escaped) {
			t.Errorf("bieuquyet %s does not show the name escaped, %s:\n%s", strings.Join(args, " "), escaped, out)
		}
	}
	out := mustRun(t, addr, "--output", "json", "people", "get", "1")
	if strings.ContainsAny(out, "\u202e\u200b\ufeff\u2028\u061c") || !strings.Contains(out, `\u202e`) {
		t.Errorf("JSON output carries invisible characters raw:\n%s", out)
	}
	var doc struct {
		Person struct{ FullName, Title string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Person.FullName != fullName {
		t.Errorf("JSON output reads back as %q, %v; want %q", doc.Person.FullName, err, fullName)
	}
	// A server message quoting the name is escaped too.
	r := run(t, addr, "people", "create", "--full-name", "X", "--phone", "0912000001")
	if r.code != 1 || strings.ContainsAny(r.stderr, "\u202e\u200b\ufeff") {
		t.Errorf("an error naming the person:\n%s", r)
	}
}

// TestListsShowEverything checks that a list shows every item by default, past the
// server's page of 50, in few calls; and one page when asked with --page-size.
func TestListsShowEverything(t *testing.T) {
	t.Parallel()
	addr, calls := startCountingServer(t)
	out := mustRun(t, addr, "roster", "import", sampleRoster)
	people, _ := strconv.Atoi(regexp.MustCompile(`(?m)^imported: \d+ groups, (\d+) people`).FindStringSubmatch(out)[1])
	if people <= 50 {
		t.Fatalf("the sample has %d people: it proves nothing", people)
	}
	calls.take()
	for _, tt := range []struct {
		args  []string
		items int
	}{
		{[]string{"people", "list"}, people},
		{[]string{"people", "list", "--active"}, people},
		{[]string{"audit", "list", "--actor", "local:test"}, 1},
	} {
		r := run(t, addr, tt.args...)
		if r.code != 0 || r.stderr != "" || len(rows(t, r.stdout)) != tt.items {
			t.Errorf("bieuquyet %s: %d rows, want %d\n%s", strings.Join(tt.args, " "), len(rows(t, r.stdout)), tt.items, r)
		}
	}
	if n := calls.take(); n["ListPeople"] != 2 {
		t.Errorf("two people lists took %d calls, want 2", n["ListPeople"])
	}
	r := run(t, addr, "audit", "list")
	if events := len(rows(t, r.stdout)); r.code != 0 || r.stderr != "" || events < people+12 {
		t.Errorf("audit list shows %d events:\n%s", events, r.stderr)
	}
	r = run(t, addr, "people", "list", "--page-size", "50")
	if r.code != 0 || len(rows(t, r.stdout)) != 50 || !strings.HasPrefix(r.stderr, "more: --page-token ") {
		t.Errorf("people list --page-size 50:\n%s", r)
	}
}
