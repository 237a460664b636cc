package client

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/grpc"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/server"
)

// The poll tests hold their votes in Ban Pháp chế of the fixture roster: three delegates
// (Võ Văn Khải, its leader; Hồ Thị Tâm; Đặng Hữu Kiên) and one staff member, who does
// not vote.
const (
	banPhapChe = "HĐND - Ban Pháp chế"
	khai       = "0912.000.006"
	tam        = "+84 912 000 014"
	kien       = "0912.000.024"
)

// openVote opens a vote in Ban Pháp chế for an hour and returns its name.
func openVote(t *testing.T, addr string, args ...string) string {
	t.Helper()
	out := mustRun(t, addr, append([]string{"poll", "open", "--body", banPhapChe, "--title", "Dự thảo Nghị quyết về phí",
		"--question", "Đồng ý thông qua dự thảo?", "--for", "1h"}, args...)...)
	return field(t, out, "name")
}

func TestPollVoteLifecycle(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)

	opened := mustRun(t, addr, "poll", "open", "--body", banPhapChe, "--title", "Dự thảo Nghị quyết về phí",
		"--question", "Đồng ý thông qua dự thảo?", "--for", "1h", "--zalo-ref", "https://zalo.me/poll/1")
	poll := field(t, opened, "name")
	if poll != "polls/1" {
		t.Errorf("opened %s, want polls/1", poll)
	}
	for name, want := range map[string]string{"kind": "vote", "rule": "majority_of_all", "state": "open", "eligible": "3",
		"options": "1. Tán thành", "opened_by": "tokens/1", "zalo_ref": "https://zalo.me/poll/1", "classification": "none"} {
		if got := field(t, opened, name); got != want {
			t.Errorf("opened %s = %q, want %q", name, got, want)
		}
	}
	if !regexp.MustCompile(`(?m)^options: +1\. Tán thành\n +2\. Không tán thành\n +3\. Không biểu quyết\nrule: `).MatchString(opened) {
		t.Errorf("the options are not listed one a line, aligned:\n%s", opened)
	}
	deadline, err := time.Parse("2006-01-02 15:04:05 -07:00", field(t, opened, "deadline"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(deadline); d < 59*time.Minute || d > time.Hour {
		t.Errorf("--for 1h: the poll closes in %v", d)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(field(t, opened, "electorate_hash")) {
		t.Errorf("no electorate hash:\n%s", opened)
	}

	// show: the same fields, then the frozen electorate, without the staff member.
	shown := mustRun(t, addr, "poll", "show", "1")
	head, table, ok := strings.Cut(shown, "\n\n")
	if !ok || !strings.HasPrefix(table, "PERSON ") {
		t.Fatalf("no electorate table after the fields:\n%s", shown)
	}
	if field(t, head, "electorate_hash") != field(t, opened, "electorate_hash") || field(t, head, "title") != "Dự thảo Nghị quyết về phí" {
		t.Errorf("poll show differs from poll open:\n%s", shown)
	}
	voters := rows(t, table)
	if len(voters) != 3 || !regexp.MustCompile(`^people/\d+ +Võ Văn Khải +Võ Văn Khải$`).MatchString(voters[0]) || strings.Contains(table, "Chuyên viên") {
		t.Errorf("electorate:\n%s", table)
	}
	assertAligned(t, table, regexp.MustCompile(`(ZALO NAME|Võ Văn Khải|Hồ Thị Tâm|Đặng Hữu Kiên)$`))

	list := mustRun(t, addr, "poll", "list", "--group", banPhapChe, "--state", "open")
	if rs := rows(t, list); len(rs) != 1 || !regexp.MustCompile(`^polls/1 +Dự thảo Nghị quyết về phí +HĐND - Ban Pháp chế \(groups/5\) +vote +open +\S+ \S+ \+07:00 +3$`).MatchString(rs[0]) {
		t.Errorf("poll list:\n%s", list)
	}
	if got := mustRun(t, addr, "poll", "list", "--state", "closed"); got != "no polls\n" {
		t.Errorf("poll list --state closed = %q", got)
	}

	// Votes recorded by phone; the server matches the option whatever its case.
	vote := mustRun(t, addr, "vote", "record", poll, khai, "Tán thành")
	for name, want := range map[string]string{"person": "people/6", "full_name": "Võ Văn Khải", "choice": "Tán thành", "source": "zalo", "recorded_by": "tokens/1"} {
		if got := field(t, vote, name); got != want {
			t.Errorf("recorded %s = %q, want %q", name, got, want)
		}
	}
	if !strings.HasPrefix(field(t, vote, "request_id"), "cli-") {
		t.Errorf("the vote was sent without a request id:\n%s", vote)
	}
	if got := field(t, mustRun(t, addr, "vote", "record", "1", tam, "KHÔNG TÁN THÀNH"), "choice"); got != "Không tán thành" {
		t.Errorf("choice = %q, want Không tán thành", got)
	}
	// She changes her mind by phone, then takes her vote back.
	changed := mustRun(t, addr, "vote", "record", "1", tam, "tán thành", "--source", "other", "--note", "gọi điện thoại lúc 9 giờ")
	if field(t, changed, "source") != "other" || field(t, changed, "note") != "gọi điện thoại lúc 9 giờ" {
		t.Errorf("changed vote:\n%s", changed)
	}
	if got := field(t, mustRun(t, addr, "vote", "record", "--withdraw", "1", "0912000014"), "choice"); got != "withdrawn" {
		t.Errorf("withdrawn vote shows choice %q", got)
	}

	history := mustRun(t, addr, "vote", "history", poll, tam)
	hs := rows(t, history)
	if !strings.HasPrefix(history, "TIME ") || len(hs) != 3 {
		t.Fatalf("vote history:\n%s", history)
	}
	for i, re := range []string{
		` +Không tán thành +zalo +- +tokens/1$`,
		` +Tán thành +other +gọi điện thoại lúc 9 giờ +tokens/1$`,
		` +withdrawn +zalo +- +tokens/1$`,
	} {
		if !regexp.MustCompile(re).MatchString(hs[i]) {
			t.Errorf("history record %d = %q, want a match for %s", i+1, hs[i], re)
		}
	}
	assertAligned(t, history, regexp.MustCompile(`(CHOICE|Không|Tán|withdrawn)`))

	votes := mustRun(t, addr, "vote", "list", poll)
	if vs := rows(t, votes); len(vs) != 1 || !regexp.MustCompile(`^people/6 +Võ Văn Khải +Tán thành +zalo +tokens/1 +\S+`).MatchString(vs[0]) {
		t.Errorf("vote list:\n%s", votes)
	}

	tally := mustRun(t, addr, "poll", "tally", poll)
	want := "Tán thành         1  ██████████\n" +
		"Không tán thành   0\n" +
		"Không biểu quyết  0\n" +
		"Đã bỏ phiếu: 1/3\n" +
		"Chưa bỏ phiếu (2): Hồ Thị Tâm, Đặng Hữu Kiên\n" +
		"Đang biểu quyết: 1/3 tán thành, cần 2 để thông qua\n"
	if tally != want {
		t.Errorf("poll tally:\n%s\nwant\n%s", tally, want)
	}
	// A list naming someone outside the group is refused whole: Khải's line, which is
	// fine, is not recorded either.
	bad := "Không tán thành (2)\nVõ Văn Khải\nNguyễn Văn Ân\n"
	for _, dryRun := range []bool{true, false} {
		args := []string{"vote", "import", poll, "-"}
		if dryRun {
			args = append(args, "--dry-run")
		}
		r := runStdin(t, addr, strings.NewReader(bad), args...)
		problem := "  lines[3]: \"Nguyễn Văn Ân\" is not in the poll's electorate: a non-member, or a misspelt name\n"
		want, wantOut := "bieuquyet: invalid argument: the vote list has 1 problem\n"+problem, ""
		if dryRun { // a dry run gets every problem in its answer, and still exits 1
			want = "bieuquyet: the vote list has 1 problem; nothing would be recorded\n" + problem
			wantOut = "dry run: nothing would be recorded while the list has 1 problem\n"
		}
		if r.code != 1 || r.stdout != wantOut || r.stderr != want {
			t.Errorf("bieuquyet %s with a non-member:\n%s\nwant stderr:\n%s", strings.Join(args, " "), r, want)
		}
	}
	if hs := rows(t, mustRun(t, addr, "vote", "history", poll, khai)); len(hs) != 1 {
		t.Errorf("a refused import recorded a vote for Khải: %q", hs)
	}

	// The list as pasted from the Zalo poll, from a file: a dry run, then the import.
	file := filepath.Join(t.TempDir(), "zalo.txt")
	if err := os.WriteFile(file, []byte("Tán thành (2)\n Hồ Thị Tâm\nĐặng Hữu Kiên\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dry := mustRun(t, addr, "vote", "import", "--dry-run", poll, file)
	if dry != "Tán thành  2\ndry run: would record 2 votes, 0 unchanged\n" {
		t.Errorf("vote import --dry-run:\n%s", dry)
	}
	wantTable := regexp.MustCompile(`^PERSON +NAME +CHOICE\npeople/14 +Hồ Thị Tâm +Tán thành\npeople/24 +Đặng Hữu Kiên +Tán thành\n`)
	if got := mustRun(t, addr, "vote", "import", "--dry-run", "--verbose", poll, file); !wantTable.MatchString(got) || !strings.HasSuffix(got, "\n"+dry) {
		t.Errorf("vote import --dry-run --verbose:\n%s", got)
	}
	if got := mustRun(t, addr, "vote", "list", poll); len(rows(t, got)) != 1 {
		t.Errorf("a dry run recorded votes:\n%s", got)
	}
	imported := mustRun(t, addr, "vote", "import", "--verbose", poll, file)
	if !wantTable.MatchString(imported) || !strings.HasSuffix(imported, "\nrecorded: 2 votes, 0 unchanged\n") {
		t.Errorf("vote import:\n%s", imported)
	}
	assertAligned(t, strings.SplitN(imported, "\nTán thành  2\n", 2)[0], regexp.MustCompile(`(CHOICE|Tán thành)$`))
	if got := mustRun(t, addr, "vote", "import", poll, file); got != "recorded: 0 votes, 2 unchanged\n" {
		t.Errorf("the same list again = %q", got)
	}

	tally = mustRun(t, addr, "poll", "tally", poll)
	want = "Tán thành         3  " + strings.Repeat("█", 30) + "\n" +
		"Không tán thành   0\n" +
		"Không biểu quyết  0\n" +
		"Đã bỏ phiếu: 3/3\n" +
		"Đang biểu quyết: 3/3 tán thành, cần 2 để thông qua\n"
	if tally != want {
		t.Errorf("poll tally after the import:\n%s\nwant\n%s", tally, want)
	}
	// Deactivated while the poll is open: Kiên stays in the electorate, his vote stays
	// counted, he casts no new one, and the tally says so.
	mustRun(t, addr, "people", "deactivate", "0912000024")
	want = "Tán thành         3  " + strings.Repeat("█", 30) + "\n" +
		"Không tán thành   0\n" +
		"Không biểu quyết  0\n" +
		"Đã bỏ phiếu: 3/3\n" +
		"Phiếu vẫn được tính của người không còn hoạt động (1): Đặng Hữu Kiên\n" +
		"Đang biểu quyết: 3/3 tán thành, cần 2 để thông qua\n"
	if tally := mustRun(t, addr, "poll", "tally", poll); tally != want {
		t.Errorf("poll tally with a deactivated delegate:\n%s\nwant\n%s", tally, want)
	}
	if r := run(t, addr, "vote", "record", poll, "0912000024", "Không tán thành"); r.code != 1 || !strings.Contains(r.stderr, "was deactivated after polls/1 opened") {
		t.Errorf("a deactivated delegate's vote:\n%s", r)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, addr, "--output", "json", "poll", "tally", poll)), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["poll"] != poll || doc["outcome"] != "OUTCOME_PENDING" || doc["voted"] != float64(3) || doc["required"] != float64(2) {
		t.Errorf("poll tally as JSON is not the Tally: %v", doc)
	}

	// Closed, the vote passes and takes no more votes.
	closed := mustRun(t, addr, "poll", "close", poll)
	if field(t, closed, "state") != "closed" || field(t, closed, "closed") == "" {
		t.Errorf("poll close:\n%s", closed)
	}
	if got := mustRun(t, addr, "poll", "tally", poll); !strings.HasSuffix(got, "\nThông qua: 3/3 tán thành, cần 2\n") {
		t.Errorf("tally of the closed poll:\n%s", got)
	}
	r := run(t, addr, "vote", "record", poll, khai, "Không tán thành")
	if r.code != 1 || r.stdout != "" || r.stderr != "bieuquyet: failed precondition: polls/1 is closed: votes are recorded only while a poll is open\n" {
		t.Errorf("vote record in a closed poll:\n%s", r)
	}
	r = run(t, addr, "poll", "close", poll)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: failed precondition: ") {
		t.Errorf("closing twice:\n%s", r)
	}

	// Cancelling needs a reason.
	r = run(t, addr, "poll", "cancel", poll)
	if r.code != 2 || r.stdout != "" || r.stderr != "bieuquyet: poll cancel: --reason is required (run 'bieuquyet help poll cancel')\n" {
		t.Errorf("poll cancel without --reason:\n%s", r)
	}
	cancelled := mustRun(t, addr, "poll", "cancel", poll, "--reason", "Dự thảo được rút lại để sửa đổi")
	if field(t, cancelled, "state") != "cancelled" || field(t, cancelled, "cancel_reason") != "Dự thảo được rút lại để sửa đổi" {
		t.Errorf("poll cancel:\n%s", cancelled)
	}
	if got := mustRun(t, addr, "poll", "tally", poll); !strings.HasSuffix(got, "\nĐã hủy\n") {
		t.Errorf("tally of the cancelled poll:\n%s", got)
	}
	if got := mustRun(t, addr, "poll", "list", "--state", "cancelled"); len(rows(t, got)) != 1 {
		t.Errorf("poll list --state cancelled:\n%s", got)
	}
}

func TestOpinionPoll(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)

	opened := mustRun(t, addr, "poll", "open", "--body", banPhapChe, "--kind", "opinion", "--title", "Lịch giám sát",
		"--question", "Chọn các tuần giám sát", "--option", "Tuần 1", "--option", "Tuần 2", "--option", "Tuần thứ ba",
		"--multiple", "--deadline", time.Now().In(hcm(t)).Add(2*time.Hour).Format("2006-01-02 15:04"))
	poll := field(t, opened, "name")
	for name, want := range map[string]string{"kind": "opinion", "rule": "none", "multiple_choice": "yes"} {
		if got := field(t, opened, name); got != want {
			t.Errorf("opened %s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(opened, "\n                 3. Tuần thứ ba\n") {
		t.Errorf("the third option is not listed:\n%s", opened)
	}

	if got := field(t, mustRun(t, addr, "vote", "record", poll, khai, "tuần 1", "Tuần thứ ba"), "choice"); got != "Tuần 1; Tuần thứ ba" {
		t.Errorf("choice = %q", got)
	}
	mustRun(t, addr, "vote", "record", poll, kien, "Tuần thứ ba")
	tally := mustRun(t, addr, "poll", "tally", poll)
	want := "Tuần 1       1  ██████████\n" +
		"Tuần 2       0\n" +
		"Tuần thứ ba  2  " + strings.Repeat("█", 20) + "\n" +
		"Đã bỏ phiếu: 2/3\n" +
		"Chưa bỏ phiếu (1): Hồ Thị Tâm\n" +
		"Lấy ý kiến: không áp dụng quy tắc biểu quyết\n"
	if tally != want {
		t.Errorf("poll tally:\n%s\nwant\n%s", tally, want)
	}
}

// syncBuffer is a buffer that a goroutine writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// watchUntil runs poll watch with args until it has printed two tallies, recording a
// vote from record once the first is out, and returns what it printed and its result.
func watchUntil(t *testing.T, addr string, args []string, count func(string) int, record func()) result {
	t.Helper()
	secret, _ := adminTokens.Load(addr)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, append([]string{"--addr", addr, "--token", secret.(string), "--timeout", "1s"}, args...),
			strings.NewReader(""), &stdout, &stderr)
	}()
	wait := func(n int) {
		t.Helper()
		for start := time.Now(); count(stdout.String()) < n; time.Sleep(10 * time.Millisecond) {
			select {
			case code := <-done:
				t.Fatalf("poll watch ended early, exit %d:\n%s%s", code, stdout.String(), stderr.String())
			default:
			}
			if time.Since(start) > 10*time.Second {
				t.Fatalf("poll watch printed %d tallies in 10s, want %d:\n%s%s", count(stdout.String()), n, stdout.String(), stderr.String())
			}
		}
	}
	wait(1)
	// The watch must outlive --timeout: a stream has no deadline of its own.
	time.Sleep(1200 * time.Millisecond)
	record()
	wait(2)
	cancel()
	select {
	case code := <-done:
		return result{code, stdout.String(), stderr.String()}
	case <-time.After(10 * time.Second):
		t.Fatal("poll watch did not end when its context was cancelled")
	}
	return result{}
}

func TestPollWatch(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)
	poll := openVote(t, addr)

	header := regexp.MustCompile(`(?m)^phiên bản (\d+)$`)
	r := watchUntil(t, addr, []string{"poll", "watch", poll},
		func(out string) int { return len(header.FindAllString(out, -1)) },
		func() { mustRun(t, addr, "vote", "record", poll, khai, "Tán thành") })
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("poll watch:\n%s", r)
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Errorf("poll watch clears the screen of a pipe:\n%q", r.stdout)
	}
	tallies := strings.Split(r.stdout, "\n\n")
	if len(tallies) != 2 {
		t.Fatalf("poll watch printed %d tallies, want 2 separated by a blank line:\n%s", len(tallies), r.stdout)
	}
	var versions []int
	for _, m := range header.FindAllStringSubmatch(r.stdout, -1) {
		v, _ := strconv.Atoi(m[1])
		versions = append(versions, v)
	}
	if versions[1] <= versions[0] {
		t.Errorf("versions %v do not grow", versions)
	}
	if !strings.Contains(tallies[0], "\nĐã bỏ phiếu: 0/3\n") || !strings.HasSuffix(tallies[0], "\nĐang biểu quyết: 0/3 tán thành, cần 2 để thông qua") {
		t.Errorf("first tally:\n%s", tallies[0])
	}
	if !strings.Contains(tallies[1], "\nTán thành         1  ██████████\n") || !strings.Contains(tallies[1], "\nĐã bỏ phiếu: 1/3\n") {
		t.Errorf("second tally:\n%s", tallies[1])
	}

	// As JSON: one document a line, each a Tally.
	r = watchUntil(t, addr, []string{"--output", "json", "poll", "watch", strings.TrimPrefix(poll, "polls/")},
		func(out string) int { return strings.Count(out, "\n") },
		func() { mustRun(t, addr, "vote", "record", poll, tam, "Không tán thành") })
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("poll watch as JSON:\n%s", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("poll watch as JSON printed %d lines, want 2:\n%s", len(lines), r.stdout)
	}
	var last int
	for i, line := range lines {
		var doc struct {
			Poll    string
			Version string
			Voted   int
		}
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i+1, err, line)
		}
		v, _ := strconv.Atoi(doc.Version)
		if doc.Poll != poll || doc.Voted != i+1 || v <= last {
			t.Errorf("tally %d: %+v", i+1, doc)
		}
		last = v
	}
}

// TestPollWatchEnds checks that a watch ends by itself, exit 0, when the poll is
// cancelled: the server ends the stream after the last tally.
func TestPollWatchEnds(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)
	poll := openVote(t, addr)

	secret, _ := adminTokens.Load(addr)
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(t.Context(), []string{"--addr", addr, "--token", secret.(string), "poll", "watch", poll},
			strings.NewReader(""), &stdout, &stderr)
	}()
	for start := time.Now(); !strings.Contains(stdout.String(), "phiên bản"); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no tally in 10s:\n%s%s", stdout.String(), stderr.String())
		}
	}
	mustRun(t, addr, "poll", "cancel", poll, "--reason", "nhầm nội dung")
	select {
	case code := <-done:
		if code != 0 || stderr.String() != "" || !strings.HasSuffix(stdout.String(), "\nĐã hủy\n") {
			t.Errorf("poll watch of a cancelled poll: exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("poll watch did not end when the poll was cancelled:\n%s", stdout.String())
	}
}

// TestPollErrors checks the poll and vote commands' usage errors and the server's
// refusals, as one line (plus field violations) on stderr.
func TestPollErrors(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)
	poll := openVote(t, addr)
	open := []string{"poll", "open", "--body", banPhapChe, "--title", "T", "--question", "Q"}

	tests := []struct {
		name   string
		args   []string
		code   int
		stderr []string
	}{
		{"no deadline", open, 2, []string{`^bieuquyet: poll open: --deadline or --for is required \(run 'bieuquyet help poll open'\)$`}},
		{"both deadlines", append(open, "--for", "1h", "--deadline", "2030-01-01 08:00"), 2,
			[]string{`^bieuquyet: poll open: give --deadline or --for, not both `}},
		{"negative duration", append(open, "--for", "-1h"), 2, []string{`^bieuquyet: poll open: --for must be positive, not -1h0m0s `}},
		{"bad deadline", append(open, "--deadline", "tomorrow"), 2,
			[]string{`^bieuquyet: poll open: invalid value "tomorrow" for flag -deadline: must be RFC 3339, as in 2026-03-01T17:00:00\+07:00, or a date and time in --tz, as in "2026-03-01 17:00" `}},
		{"no question", []string{"poll", "open", "--body", banPhapChe, "--title", "T", "--for", "1h"}, 2,
			[]string{`^bieuquyet: poll open: --question is required `}},
		{"bad rule", append(open, "--for", "1h", "--rule", "unanimous"), 2,
			[]string{`^bieuquyet: poll open: invalid value "unanimous" for flag -rule: must be majority_of_all, two_thirds_of_all, majority_of_cast or none `}},
		{"bad poll", []string{"poll", "show", "people/1"}, 2, []string{`^bieuquyet: poll show: "people/1" is not a poll: use polls/ID or ID `}},
		{"no option", []string{"vote", "record", poll, khai}, 2,
			[]string{`^bieuquyet: vote record: missing OPTION: give the option chosen, or --withdraw `}},
		{"no person", []string{"vote", "record", poll}, 2, []string{`^bieuquyet: vote record: missing PERSON `}},
		{"withdraw with an option", []string{"vote", "record", poll, khai, "Tán thành", "--withdraw"}, 2,
			[]string{`^bieuquyet: vote record: --withdraw takes no OPTION `}},
		{"no reason", []string{"poll", "cancel", poll}, 2, []string{`^bieuquyet: poll cancel: --reason is required `}},

		{"classified", append(open, "--for", "1h", "--classification", "mat"), 1, []string{
			`^bieuquyet: invalid argument: invalid poll$`,
			`^  poll\.classification: classified matters \(Mật, Tối mật, Tuyệt mật\) may not be put to a Zalo poll \(Điều 3\.1-3\.2\)$`,
		}},
		{"past deadline", append(open, "--deadline", "2020-01-01T08:00:00+07:00"), 1, []string{
			`^bieuquyet: invalid argument: poll\.deadline: must be in the future$`,
		}},
		{"opinion poll of one option", append(open, "--for", "1h", "--kind", "opinion", "--option", "Có"), 1, []string{
			`^bieuquyet: invalid argument: invalid poll$`, `^  poll\.options: an opinion poll has 2 to 20 options$`,
		}},
		{"not an option", []string{"vote", "record", poll, khai, "Đồng ý"}, 1,
			[]string{`^bieuquyet: invalid argument: options: "Đồng ý" is not an option of polls/1; the options are `}},
		{"not in the electorate", []string{"vote", "record", poll, "0912000001", "Tán thành"}, 1,
			[]string{`^bieuquyet: failed precondition: Nguyễn Văn Ân \(people/1\) is not in the electorate of polls/1: it was frozen when the poll opened`}},
		{"other source without a note", []string{"vote", "record", poll, khai, "Tán thành", "--source", "other"}, 1,
			[]string{`^bieuquyet: invalid argument: invalid vote$`, `^  note: is required when the vote did not come from the Zalo poll`}},
		{"no such poll", []string{"poll", "tally", "99"}, 1, []string{`^bieuquyet: not found: polls/99 does not exist$`}},
		{"empty reason", []string{"poll", "cancel", poll, "--reason", " "}, 1,
			[]string{`^bieuquyet: invalid argument: invalid cancellation$`, `^  reason: is required: a cancellation is recorded with its reason$`}},
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
	if got := mustRun(t, addr, "poll", "list"); len(rows(t, got)) != 1 {
		t.Errorf("a refused poll was opened:\n%s", got)
	}
	if got := mustRun(t, addr, "vote", "list", poll); got != "no votes\n" {
		t.Errorf("a refused vote was recorded:\n%s", got)
	}
}

// TestVoteImportSizeLimit checks that a vote list over 2 MiB is refused before it is
// sent: the address is dead, so anything sent would fail as unreachable instead.
func TestVoteImportSizeLimit(t *testing.T) {
	t.Parallel()
	big := filepath.Join(t.TempDir(), "votes.txt")
	if err := os.WriteFile(big, make([]byte, maxVoteListSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	dead := deadAddr(t)
	r := run(t, dead, "vote", "import", "1", big)
	want := "bieuquyet: vote list " + big + " is 2.0 MiB (2097153 bytes), over the limit of 2 MiB; nothing was sent\n"
	if r.code != 1 || r.stdout != "" || r.stderr != want {
		t.Errorf("file:\n%s\nwant stderr %q", r, want)
	}
	r = runStdin(t, dead, bytes.NewReader(make([]byte, maxVoteListSize+1)), "vote", "import", "1", "-")
	want = "bieuquyet: vote list standard input is larger than 2 MiB, the limit; nothing was sent\n"
	if r.code != 1 || r.stdout != "" || r.stderr != want {
		t.Errorf("stdin:\n%s\nwant stderr %q", r, want)
	}
}

// TestOutcomeWords checks the outcome line at the edges of the rules: more than half of
// 57 is 29, of 7 is 4; two thirds of 57 is 38; a majority of the votes cast counts
// against the votes cast.
func TestOutcomeWords(t *testing.T) {
	t.Parallel()
	const (
		all     = pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL
		twoThds = pb.DecisionRule_DECISION_RULE_TWO_THIRDS_OF_ALL
		cast    = pb.DecisionRule_DECISION_RULE_MAJORITY_OF_CAST
		none    = pb.DecisionRule_DECISION_RULE_NONE
		passed  = pb.Outcome_OUTCOME_PASSED
		failed  = pb.Outcome_OUTCOME_FAILED
		pending = pb.Outcome_OUTCOME_PENDING
		na      = pb.Outcome_OUTCOME_NOT_APPLICABLE
		open    = pb.PollState_POLL_STATE_OPEN
		closed  = pb.PollState_POLL_STATE_CLOSED
		final   = pb.PollState_POLL_STATE_FINALIZED
		gone    = pb.PollState_POLL_STATE_CANCELLED
	)
	tests := []struct {
		rule                              pb.DecisionRule
		state                             pb.PollState
		outcome                           pb.Outcome
		inFavour, voted, eligible, needed int32
		want                              string
	}{
		{all, closed, passed, 29, 40, 57, 29, "Thông qua: 29/57 tán thành, cần 29"},
		{all, closed, failed, 28, 57, 57, 29, "Không thông qua: 28/57 tán thành, cần 29"},
		{all, final, passed, 31, 57, 57, 29, "Thông qua: 31/57 tán thành, cần 29"},
		{all, open, pending, 20, 31, 57, 29, "Đang biểu quyết: 20/57 tán thành, cần 29 để thông qua"},
		{all, open, pending, 57, 57, 57, 29, "Đang biểu quyết: 57/57 tán thành, cần 29 để thông qua"},
		{all, closed, passed, 4, 4, 7, 4, "Thông qua: 4/7 tán thành, cần 4"},
		{all, closed, failed, 3, 7, 7, 4, "Không thông qua: 3/7 tán thành, cần 4"},
		{all, closed, failed, 0, 0, 57, 29, "Không thông qua: 0/57 tán thành, cần 29"},
		{twoThds, closed, passed, 38, 50, 57, 38, "Thông qua: 38/57 tán thành, cần 38"},
		{twoThds, closed, failed, 37, 57, 57, 38, "Không thông qua: 37/57 tán thành, cần 38"},
		{twoThds, closed, passed, 5, 5, 7, 5, "Thông qua: 5/7 tán thành, cần 5"},
		{cast, closed, passed, 4, 7, 57, 4, "Thông qua: 4/7 phiếu tán thành, cần 4"},
		{cast, closed, failed, 3, 6, 57, 4, "Không thông qua: 3/6 phiếu tán thành, cần 4"},
		{cast, open, pending, 0, 0, 57, 1, "Đang biểu quyết: 0/0 phiếu tán thành, cần 1 để thông qua"},
		{none, open, na, 12, 30, 57, 0, "Lấy ý kiến: không áp dụng quy tắc biểu quyết"},
		{none, closed, na, 12, 30, 57, 0, "Lấy ý kiến: không áp dụng quy tắc biểu quyết"},
		{all, gone, na, 30, 40, 57, 29, "Đã hủy"},
		{none, gone, na, 3, 3, 57, 0, "Đã hủy"},
		{all, closed, pb.Outcome_OUTCOME_UNSPECIFIED, 1, 1, 3, 2, "Kết quả chưa xác định: OUTCOME_UNSPECIFIED"},
	}
	for _, tt := range tests {
		tally := &pb.Tally{DecisionRule: tt.rule, State: tt.state, Outcome: tt.outcome, Voted: tt.voted,
			Eligible: tt.eligible, Required: tt.needed, Options: []*pb.OptionCount{
				{Option: "Tán thành", Count: tt.inFavour}, {Option: "Không tán thành", Count: tt.voted - tt.inFavour}}}
		if got := outcomeWords(tally); got != tt.want {
			t.Errorf("%s %s %s %d/%d/%d: got %q, want %q", tt.rule, tt.state, tt.outcome, tt.inFavour, tt.voted, tt.eligible, got, tt.want)
		}
	}
	if got := outcomeWords(&pb.Tally{Outcome: pending, Eligible: 3, Required: 2}); got != "Đang biểu quyết: 0/3 tán thành, cần 2 để thông qua" {
		t.Errorf("a tally without options: %q", got)
	}
}

func TestTallyBar(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		count, eligible int32
		blocks          int
	}{
		{0, 57, 0}, {1, 57, 1}, {29, 57, 15}, {31, 57, 16}, {57, 57, 30}, {1, 3, 10}, {2, 3, 20}, {1, 200, 1}, {3, 0, 0}, {60, 57, 30},
	} {
		if got := tallyBar(tt.count, tt.eligible); got != strings.Repeat("█", tt.blocks) {
			t.Errorf("tallyBar(%d, %d) = %d blocks, want %d", tt.count, tt.eligible, len([]rune(got)), tt.blocks)
		}
	}
}

func TestPollName(t *testing.T) {
	t.Parallel()
	for arg, want := range map[string]string{"polls/7": "polls/7", "7": "polls/7", " 12 ": "polls/12", "polls/0": "", "07": "", "people/7": "", "": ""} {
		got, err := pollName("poll show", arg)
		if got != want || (err == nil) != (want != "") {
			t.Errorf("pollName(%q) = %q, %v; want %q", arg, got, err, want)
		}
	}
}

// hcm is the council's zone, in which the client reads times without an offset.
func hcm(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestTimeZone checks that times are shown in the council's zone by default, in --tz or
// BIEUQUYET_TZ when given, and that a deadline without an offset is read in that zone.
// It sets the environment, so it does not run in parallel.
func TestTimeZone(t *testing.T) {
	addr := startServer(t)
	importFixture(t, addr)
	open := []string{"poll", "open", "--body", banPhapChe, "--title", "T", "--question", "Q"}
	// A morning ten days from now, within the year a poll may last.
	day := time.Now().In(hcm(t)).AddDate(0, 0, 10).Format(time.DateOnly)
	morning := day + " 08:00"
	show := func(t *testing.T, loc string, hhmm string) string {
		t.Helper()
		z, err := time.LoadLocation(loc)
		if err != nil {
			t.Fatal(err)
		}
		at, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hhmm, hcm(t))
		if err != nil {
			t.Fatal(err)
		}
		return at.In(z).Format("2006-01-02 15:04:05 -07:00")
	}

	opened := mustRun(t, addr, append(open, "--deadline", morning)...)
	if got := field(t, opened, "deadline"); got != day+" 08:00:00 +07:00" {
		t.Errorf("deadline %s in the default zone = %q", morning, got)
	}
	if got := field(t, opened, "created"); !strings.HasSuffix(got, " +07:00") {
		t.Errorf("created = %q, want it in +07:00", got)
	}
	poll := field(t, opened, "name")
	if got := field(t, mustRun(t, addr, "--tz", "UTC", "poll", "show", poll), "deadline"); got != show(t, "UTC", "08:00") {
		t.Errorf("--tz UTC: deadline = %q, want %q", got, show(t, "UTC", "08:00"))
	}
	utc := field(t, mustRun(t, addr, append([]string{"--tz", "UTC"}, append(open, "--deadline", morning)...)...), "name")
	if got := field(t, mustRun(t, addr, "poll", "show", utc), "deadline"); got != day+" 15:00:00 +07:00" {
		t.Errorf("deadline %s given in UTC, shown in the default zone = %q", morning, got)
	}
	// An offset given wins over the zone.
	offset := field(t, mustRun(t, addr, append(open, "--deadline", day+"T08:00:00Z")...), "name")
	if got := field(t, mustRun(t, addr, "poll", "show", offset), "deadline"); got != day+" 15:00:00 +07:00" {
		t.Errorf("deadline %sT08:00:00Z = %q", day, got)
	}
	list := mustRun(t, addr, "poll", "list")
	if !strings.Contains(list, day+" 08:00:00 +07:00") || strings.Contains(list, "+00:00") {
		t.Errorf("poll list is not in the default zone:\n%s", list)
	}

	t.Setenv(envTZ, "Europe/Paris")
	if got, want := field(t, mustRun(t, addr, "poll", "show", poll), "deadline"), show(t, "Europe/Paris", "08:00"); got != want {
		t.Errorf("%s=Europe/Paris: deadline = %q, want %q", envTZ, got, want)
	}
	if got := field(t, mustRun(t, addr, "--tz", "Asia/Ho_Chi_Minh", "poll", "show", poll), "deadline"); got != day+" 08:00:00 +07:00" {
		t.Errorf("--tz over %s: deadline = %q", envTZ, got)
	}
	r := run(t, addr, "--tz", "Mars/Olympus", "poll", "show", poll)
	if r.code != 2 || r.stdout != "" || !strings.HasPrefix(r.stderr, "bieuquyet: --tz: unknown time zone Mars/Olympus") {
		t.Errorf("--tz Mars/Olympus:\n%s", r)
	}

	// A date alone, for audit list, is midnight in the zone.
	var since timeFlag
	if err := since.Set("2026-03-01"); err != nil {
		t.Fatal(err)
	}
	if got, want := since.at(hcm(t)), time.Date(2026, 2, 28, 17, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("2026-03-01 in Asia/Ho_Chi_Minh = %v, want %v", got, want)
	}
}

// callCounter counts the calls a test server receives, by method name ("GetPerson").
type callCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *callCounter) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	c.mu.Lock()
	c.n[info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]]++
	c.mu.Unlock()
	return handler(ctx, req)
}

// take returns the counts so far and starts again from zero.
func (c *callCounter) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// startCountingServer is startServer with every unary call counted.
func startCountingServer(t *testing.T) (string, *callCounter) {
	t.Helper()
	c := &callCounter{n: map[string]int{}}
	return startServerWith(t, server.Config{Options: []grpc.ServerOption{grpc.ChainUnaryInterceptor(c.intercept)}}), c
}

// TestNamesBesideReferences checks that tables name the people and groups they refer to,
// "Võ Văn Khải (people/6)", and that the names cost one lookup per distinct reference at
// most: a listing of all groups, and people one by one or, when many, one listing.
func TestNamesBesideReferences(t *testing.T) {
	t.Parallel()
	addr, calls := startCountingServer(t)
	importFixture(t, addr)
	_, secret := createToken(t, addr, "--role", "person", "--name", "Điện thoại", "--person", khai)

	// Khải, who leads Ban Pháp chế, opens a poll himself.
	r := runAs(t, addr, secret, "poll", "open", "--body", banPhapChe, "--title", "T", "--question", "Q", "--for", "1h")
	if r.code != 0 {
		t.Fatalf("poll open as the leader:\n%s", r)
	}
	for name, want := range map[string]string{"body": "HĐND - Ban Pháp chế (groups/5)", "group": "HĐND - Ban Pháp chế (groups/5)",
		"opened_by": "Võ Văn Khải (people/6)"} {
		if got := field(t, r.stdout, name); got != want {
			t.Errorf("poll open: %s = %q, want %q", name, got, want)
		}
	}
	calls.take()
	mustRun(t, addr, "poll", "open", "--body", banPhapChe, "--title", "T2", "--question", "Q", "--for", "1h")
	if n := calls.take(); n["ListGroups"] != 1 || n["GetGroup"] != 0 {
		t.Errorf("poll open by group name made calls %v; want one ListGroups for the name and the label", n)
	}
	mustRun(t, addr, "vote", "record", "1", tam, "Tán thành")
	calls.take()

	show := mustRun(t, addr, "poll", "show", "1")
	if got := field(t, show, "opened_by"); got != "Võ Văn Khải (people/6)" {
		t.Errorf("poll show: opened_by = %q", got)
	}
	if n := calls.take(); n["GetPerson"] != 1 || n["ListGroups"] != 1 || len(n) != 3 {
		t.Errorf("poll show made calls %v; want GetPoll, one ListGroups, one GetPerson", n)
	}
	list := mustRun(t, addr, "poll", "list")
	if rs := rows(t, list); len(rs) != 2 || !strings.Contains(rs[0], " HĐND - Ban Pháp chế (groups/5) ") {
		t.Errorf("poll list:\n%s", list)
	}
	tokens := mustRun(t, addr, "token", "list")
	if !regexp.MustCompile(`(?m) person +Võ Văn Khải \(people/6\) +tokens/1 `).MatchString(tokens) {
		t.Errorf("token list:\n%s", tokens)
	}
	calls.take()

	// The audit trail refers to every person and group of the roster: names come from
	// one listing of each, whatever the number of events.
	audit := mustRun(t, addr, "audit", "list", "--all")
	if !regexp.MustCompile(`(?m) Võ Văn Khải \(people/6\) +CreatePoll +done +polls/1 `).MatchString(audit) ||
		!regexp.MustCompile(`(?m) tokens/1 +ImportRoster +done +Hồ Thị Tâm \(people/14\) `).MatchString(audit) {
		t.Errorf("audit list does not name people:\n%s", audit)
	}
	if n := calls.take(); n["ListPeople"] != 1 || n["ListGroups"] != 1 || n["GetPerson"] != 0 {
		t.Errorf("audit list made calls %v; want one ListPeople and one ListGroups", n)
	}
	// JSON shows the response as it is, and looks nothing up.
	mustRun(t, addr, "--output", "json", "audit", "list", "--all")
	if n := calls.take(); len(n) != 1 {
		t.Errorf("audit list as JSON made calls %v", n)
	}
}

// TestOptionSpellings checks that vote record takes an option by its number, as poll
// show lists it, or by its text without diacritics or case, and names the options with
// their numbers when it cannot tell which is meant.
func TestOptionSpellings(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)
	poll := openVote(t, addr)
	if !strings.Contains(mustRun(t, addr, "poll", "show", poll), " 3. Không biểu quyết\n") {
		t.Fatal("poll show does not number the options from 1")
	}
	for arg, want := range map[string]string{
		"1": "Tán thành", "2": "Không tán thành", " 3 ": "Không biểu quyết",
		"tan thanh": "Tán thành", "khong tan thanh": "Không tán thành", "KHONG  BIEU QUYET": "Không biểu quyết",
		"Tán Thành": "Tán thành", norm.NFD.String("không tán thành"): "Không tán thành",
	} {
		if got := field(t, mustRun(t, addr, "vote", "record", poll, khai, arg), "choice"); got != want {
			t.Errorf("vote record %q: choice %q, want %q", arg, got, want)
		}
	}
	for _, arg := range []string{"4", "0", "tan", "thanh", "dong y"} {
		r := run(t, addr, "vote", "record", poll, khai, arg)
		want := `bieuquyet: invalid argument: options: "` + strings.TrimSpace(arg) + `" is not an option of ` + poll +
			`; the options are 1 "Tán thành", 2 "Không tán thành", 3 "Không biểu quyết" (give the number or the text)` + "\n"
		if r.code != 1 || r.stdout != "" || r.stderr != want {
			t.Errorf("vote record %q:\n%s\nwant stderr %q", arg, r, want)
		}
	}
}

func TestMatchOption(t *testing.T) {
	t.Parallel()
	p := &pb.Poll{Name: "polls/4", Options: []string{"Đường Đông", "Duong dong", "Phương án 1", "1"}}
	for arg, want := range map[string]string{
		"Duong dong":  "Duong dong", // the exact text first
		"đường đông":  "Đường Đông",
		"1":           "1", // an option's text before a number
		"2":           "Duong dong",
		"phuong an 1": "Phương án 1",
	} {
		if got, err := matchOption(p, arg); got != want || err != nil {
			t.Errorf("matchOption(%q) = %q, %v; want %q", arg, got, err, want)
		}
	}
	_, err := matchOption(p, "đuong đong")
	if want := `invalid argument: options: "đuong đong" may be any of 1 "Đường Đông", 2 "Duong dong" of polls/4: give its number or its exact text`; err == nil || err.Error() != want {
		t.Errorf("an ambiguous option: %v, want %s", err, want)
	}
}

// TestVoteImportProblems checks that a dry run of a vote list lists every problem the
// server finds, and exits 1; as does the import, refused.
func TestVoteImportProblems(t *testing.T) {
	t.Parallel()
	addr := startProblemServer(t)
	importFixture(t, addr)
	poll := openVote(t, addr)
	bad := "Không tán thành (3)\nVõ Văn Khải\nNguyễn Văn Ân\nAi Đó\n"
	problems := "  lines[3]: \"Nguyễn Văn Ân\" is not in the poll's electorate: a non-member, or a misspelt name\n" +
		"  lines[4]: \"Ai Đó\" is not in the poll's electorate: a non-member, or a misspelt name\n"
	r := runStdin(t, addr, strings.NewReader(bad), "vote", "import", poll, "-", "--dry-run")
	want := result{1, "dry run: nothing would be recorded while the list has 2 problems\n",
		"bieuquyet: the vote list has 2 problems; nothing would be recorded\n" + problems}
	if r != want {
		t.Errorf("vote import --dry-run of a bad list:\n%s\nwant\n%s", r, want)
	}
	r = runStdin(t, addr, strings.NewReader(bad), "vote", "import", poll, "-")
	want = result{1, "", "bieuquyet: invalid argument: the vote list has 2 problems\n" + problems}
	if r != want {
		t.Errorf("vote import of a bad list:\n%s\nwant\n%s", r, want)
	}
	// As JSON, the answer with its problems on stdout; still exit 1.
	r = runStdin(t, addr, strings.NewReader(bad), "--output", "json", "vote", "import", poll, "-", "--dry-run")
	var doc struct{ Problems []map[string]string }
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || len(doc.Problems) != 2 || doc.Problems[1]["field"] != "lines[4]" {
		t.Errorf("vote import --dry-run as JSON: %v\n%s", err, r)
	}
}

// startWatch runs poll watch with args in the background until it has printed a tally,
// and returns its output and a channel that gives its exit code.
func startWatch(t *testing.T, addr string, args ...string) (*syncBuffer, *syncBuffer, <-chan int) {
	t.Helper()
	secret, _ := adminTokens.Load(addr)
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(t.Context(), append([]string{"--addr", addr, "--token", secret.(string)}, args...),
			strings.NewReader(""), &stdout, &stderr)
	}()
	for start := time.Now(); !strings.Contains(stdout.String(), "phiên bản"); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("no tally in 10s:\n%s%s", stdout.String(), stderr.String())
		}
	}
	return &stdout, &stderr, done
}

// TestPollWatchEndsWhenClosed checks that a watch ends, exit 0, once the poll closes,
// with the result; and that with --follow it goes on until the poll is finalized or
// cancelled.
func TestPollWatchEndsWhenClosed(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)
	poll := openVote(t, addr)
	mustRun(t, addr, "vote", "record", poll, khai, "1")

	stdout, stderr, done := startWatch(t, addr, "poll", "watch", poll)
	followOut, followErr, following := startWatch(t, addr, "poll", "watch", poll, "--follow")
	mustRun(t, addr, "poll", "close", poll)
	select {
	case code := <-done:
		if code != 0 || stderr.String() != "" || !strings.HasSuffix(stdout.String(), "\nKhông thông qua: 1/3 tán thành, cần 2\n") {
			t.Errorf("poll watch of a closed poll: exit %d\n%s%s", code, stdout.String(), stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("poll watch did not end when the poll closed:\n%s", stdout.String())
	}

	// --follow: still watching once closed, and until the poll is cancelled.
	for start := time.Now(); !strings.Contains(followOut.String(), "Không thông qua"); time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 10*time.Second {
			t.Fatalf("poll watch --follow did not show the closed poll:\n%s%s", followOut.String(), followErr.String())
		}
	}
	select {
	case code := <-following:
		t.Fatalf("poll watch --follow ended when the poll closed: exit %d\n%s%s", code, followOut.String(), followErr.String())
	case <-time.After(300 * time.Millisecond):
	}
	mustRun(t, addr, "poll", "cancel", poll, "--reason", "thử")
	select {
	case code := <-following:
		if code != 0 || followErr.String() != "" || !strings.HasSuffix(followOut.String(), "\nĐã hủy\n") {
			t.Errorf("poll watch --follow of a cancelled poll: exit %d\n%s%s", code, followOut.String(), followErr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("poll watch --follow did not end when the poll was cancelled:\n%s", followOut.String())
	}

	// A watch of a closed poll shows its tally once and ends.
	if got := mustRun(t, addr, "poll", "watch", poll); !strings.HasSuffix(got, "\nĐã hủy\n") || strings.Count(got, "phiên bản") != 1 {
		t.Errorf("poll watch of a cancelled poll:\n%s", got)
	}
}

// TestElectorateDeactivated checks that poll show marks the delegates deactivated since
// the poll opened, and adds no column when there are none.
func TestElectorateDeactivated(t *testing.T) {
	t.Parallel()
	a := &app{loc: time.UTC}
	p := &pb.Poll{Name: "polls/1", Electorate: []*pb.Voter{
		{Person: "people/6", FullName: "Võ Văn Khải", ZaloName: "Khải"},
		{Person: "people/14", FullName: "Hồ Thị Tâm", ZaloName: "Tâm", Deactivated: true},
	}}
	var b strings.Builder
	if err := a.pollDetail(&b, p); err != nil {
		t.Fatal(err)
	}
	want := "\nPERSON     NAME         ZALO NAME  DEACTIVATED\npeople/6   Võ Văn Khải  Khải       no\npeople/14  Hồ Thị Tâm   Tâm        yes\n"
	if !strings.HasSuffix(b.String(), want) {
		t.Errorf("poll show with a deactivated delegate:\n%s\nwant it to end with:\n%s", b.String(), want)
	}
	p.Electorate[1].Deactivated = false
	b.Reset()
	if err := a.pollDetail(&b, p); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "DEACTIVATED") {
		t.Errorf("a DEACTIVATED column with nobody deactivated:\n%s", b.String())
	}
}
