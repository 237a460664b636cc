package client

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bieuquyet/bieuquyet/pdf"
	"github.com/bieuquyet/bieuquyet/server"
)

// startConfirmServer is startServer with documents: the real server with its PDF
// renderer, as bieuquyet-server wires it.
func startConfirmServer(t *testing.T) string {
	t.Helper()
	return startServerWith(t, server.Config{Renderer: pdf.New()})
}

// closedVote opens a vote in Ban Pháp chế, in which Võ Văn Khải (its leader) and Hồ Thị
// Tâm vote and Đặng Hữu Kiên does not, closes it and returns its name.
func closedVote(t *testing.T, addr string) string {
	t.Helper()
	poll := openVote(t, addr)
	mustRun(t, addr, "vote", "record", poll, khai, "Tán thành")
	mustRun(t, addr, "vote", "record", poll, tam, "Không tán thành")
	mustRun(t, addr, "poll", "close", poll)
	return poll
}

// fileSum is the hex SHA-256 of a file.
func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkPDF checks that path is a PDF of pages pages, with pdfinfo when it is installed.
func checkPDF(t *testing.T, path string, pages int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "%PDF-") {
		t.Errorf("%s is not a PDF: it starts %q", path, b[:min(len(b), 16)])
	}
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Logf("pdfinfo is not installed: %s not checked further", path)
		return
	}
	out, err := exec.Command("pdfinfo", path).CombinedOutput()
	if err != nil {
		t.Errorf("pdfinfo %s: %v\n%s", path, err, out)
		return
	}
	m := regexp.MustCompile(`(?m)^Pages: +(\d+)$`).FindSubmatch(out)
	if m == nil || pages > 0 && string(m[1]) != strconv.Itoa(pages) {
		t.Errorf("pdfinfo %s: want %d pages:\n%s", path, pages, out)
	}
}

func TestConfirmations(t *testing.T) {
	t.Parallel()
	addr := startConfirmServer(t)
	importFixture(t, addr)
	poll := closedVote(t, addr)

	// generate: a table of what was issued, then how many and when due.
	r := run(t, addr, "confirm", "generate", poll, "--deadline", "2030-01-02 17:00")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("confirm generate:\n%s", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 4 || !regexp.MustCompile(`^NAME +PERSON +CHOICE +SHA256 +SIZE$`).MatchString(lines[0]) {
		t.Fatalf("confirm generate:\n%s", r.stdout)
	}
	if want := "2 confirmations issued for " + poll + ", due 2030-01-02 17:00:00 +07:00; the poll is confirming"; lines[3] != want {
		t.Errorf("confirm generate ends %q, want %q", lines[3], want)
	}
	row := regexp.MustCompile(`^(` + poll + `/confirmations/\d+) +(.+) \((people/\d+)\) +(Tán thành|Không tán thành) +([0-9a-f]{12}) +\d+\.\d KB$`)
	issued := map[string]string{} // confirmation name by voter
	for _, l := range lines[1:3] {
		m := row.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("confirm generate row %q", l)
		}
		issued[m[2]] = m[1]
	}
	if len(issued) != 2 || issued["Võ Văn Khải"] == "" || issued["Hồ Thị Tâm"] == "" {
		t.Errorf("confirmations issued to %v, want Võ Văn Khải and Hồ Thị Tâm (Đặng Hữu Kiên did not vote)", issued)
	}
	assertAligned(t, strings.Join(lines[:3], "\n"), regexp.MustCompile(`(CHOICE|Tán thành|Không tán thành)`))

	// remind: the message for the Zalo group, naming who owes a signed confirmation.
	title := field(t, mustRun(t, addr, "poll", "show", poll), "title")
	remind := "Kính gửi các đồng chí đại biểu,\n" +
		"Thực hiện khoản 2 Điều 7 Quy chế, Văn phòng đề nghị các đồng chí có tên dưới đây ký và gửi lại Phiếu xác nhận kết quả biểu quyết \"" + title + "\" trước 17 giờ 00 phút, ngày 02/01/2030:\n" +
		"1. Võ Văn Khải\n" +
		"2. Hồ Thị Tâm\n" +
		"Trân trọng cảm ơn.\n"
	if got := mustRun(t, addr, "confirm", "remind", poll); got != remind {
		t.Errorf("confirm remind:\n%s\nwant\n%s", got, remind)
	}

	// Again, with its own request id: the same confirmations, no more.
	again := mustRun(t, addr, "confirm", "generate", poll)
	if strings.Join(strings.Split(again, "\n")[:3], "\n") != strings.Join(lines[:3], "\n") {
		t.Errorf("confirm generate again:\n%s\nfirst:\n%s", again, r.stdout)
	}

	// list: every confirmation with its status; JSON has the full digests.
	list := mustRun(t, addr, "confirm", "list", poll)
	ls := rows(t, list)
	if !strings.HasPrefix(list, "NAME ") || len(ls) != 2 || !strings.Contains(list, " STATUS ") {
		t.Fatalf("confirm list:\n%s", list)
	}
	for _, l := range ls {
		if !strings.Contains(l, " awaiting_signature ") {
			t.Errorf("confirm list row %q has no status awaiting_signature", l)
		}
	}
	if got := mustRun(t, addr, "confirm", "list", poll, "--status", "signed"); got != "no confirmations\n" {
		t.Errorf("confirm list --status signed = %q", got)
	}
	if got := rows(t, mustRun(t, addr, "confirm", "list", poll, "--page-size", "1", "--all")); len(got) != 2 {
		t.Errorf("confirm list --page-size 1 --all: %d rows", len(got))
	}
	var listed struct {
		Confirmations []struct {
			Name, FullName, Sha256, FileName string
			SizeBytes                        string
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, addr, "--output", "json", "confirm", "list", poll)), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.Confirmations) != 2 {
		t.Fatalf("confirm list as JSON: %+v", listed)
	}

	// download --dir: one PDF per voter, under the server's name, with the digest it
	// reports; nothing on stderr off a terminal.
	dir := filepath.Join(t.TempDir(), "xac-nhan")
	r = run(t, addr, "confirm", "download", poll, "--dir", dir)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("confirm download --dir:\n%s", r)
	}
	if !regexp.MustCompile(`^2 confirmations of ` + poll + ` in ` + regexp.QuoteMeta(dir) + `: 2 saved \(\d+\.\d KB\)\n$`).MatchString(r.stdout) {
		t.Errorf("confirm download --dir says %q", r.stdout)
	}
	files := dirFiles(t, dir)
	if len(files) != 2 {
		t.Fatalf("the folder holds %q, want 2 files", files)
	}
	byName := map[string]string{} // file name by confirmation name
	for _, c := range listed.Confirmations {
		path := filepath.Join(dir, c.FileName)
		if got := fileSum(t, path); got != c.Sha256 {
			t.Errorf("%s has SHA-256 %s, the server reports %s", path, got, c.Sha256)
		}
		checkPDF(t, path, 1)
		byName[c.Name] = c.FileName
	}
	if fn := byName[issued["Hồ Thị Tâm"]]; !strings.Contains(fn, "Ho-Thi-Tam") || !strings.HasSuffix(fn, ".pdf") {
		t.Errorf("Hồ Thị Tâm's confirmation is saved as %q: a person sorting the folder would not find her", fn)
	}

	// Again: both already there, nothing downloaded; a spoiled one is downloaded again.
	r = run(t, addr, "confirm", "download", poll, "--dir", dir)
	if r.code != 0 || !strings.HasSuffix(r.stdout, ": 0 saved (0 B), 2 already there\n") {
		t.Errorf("confirm download --dir again:\n%s", r)
	}
	spoiled := filepath.Join(dir, byName[issued["Võ Văn Khải"]])
	if err := os.WriteFile(spoiled, []byte("not the document"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, addr, "confirm", "download", poll, "--dir", dir)
	if r.code != 0 || !strings.Contains(r.stdout, ": 1 saved (") || !strings.HasSuffix(r.stdout, ", 1 already there\n") {
		t.Errorf("confirm download --dir with one file spoiled:\n%s", r)
	}
	checkPDF(t, spoiled, 1)

	// download NAME -o FILE, and -o - to standard output: the same bytes.
	name := issued["Hồ Thị Tâm"]
	one := filepath.Join(t.TempDir(), "tam.pdf")
	r = run(t, addr, "confirm", "download", name, "-o", one)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "saved: "+one+", "+name+", ") {
		t.Errorf("confirm download NAME -o FILE:\n%s", r)
	}
	want := fileSum(t, filepath.Join(dir, byName[name]))
	if got := fileSum(t, one); got != want {
		t.Errorf("-o FILE has SHA-256 %s, --dir %s", got, want)
	}
	if r := run(t, addr, "confirm", "download", name, "-o", one); r.code != 0 || !strings.HasPrefix(r.stdout, "already there: ") {
		t.Errorf("confirm download NAME -o FILE again:\n%s", r)
	}
	r = run(t, addr, "confirm", "download", name, "-o", "-")
	if sum := sha256.Sum256([]byte(r.stdout)); r.code != 0 || r.stderr != "" || hex.EncodeToString(sum[:]) != want {
		t.Errorf("confirm download NAME -o - gives other bytes (exit %d, stderr %q)", r.code, r.stderr)
	}
}

// TestPollReport checks that poll report saves the tally report, checked against its
// digest, in a file or on standard output.
func TestPollReport(t *testing.T) {
	t.Parallel()
	addr := startConfirmServer(t)
	importFixture(t, addr)
	poll := closedVote(t, addr)
	r := run(t, addr, "confirm", "generate", poll)

	// poll report: the tally report, checked against its digest.
	report := filepath.Join(t.TempDir(), "bao-cao.pdf")
	r = run(t, addr, "poll", "report", poll, "-o", report)
	m := regexp.MustCompile(`^saved: ` + regexp.QuoteMeta(report) + `, the tally report of ` + poll + `, [\d.]+ [KM]?B, sha256 ([0-9a-f]{64})\n$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("poll report:\n%s", r)
	}
	if got := fileSum(t, report); got != m[1] {
		t.Errorf("the report has SHA-256 %s, the server reports %s", got, m[1])
	}
	checkPDF(t, report, 0)
	// On standard output: the report drawn anew, whose print time may fall in the next
	// minute, so it is checked as a PDF rather than against the first one's digest.
	r = run(t, addr, "poll", "report", poll, "-o", "-")
	if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "%PDF-") {
		t.Fatalf("poll report -o - (exit %d, stderr %q)", r.code, r.stderr)
	}
	out := filepath.Join(t.TempDir(), "stdout.pdf")
	if err := os.WriteFile(out, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	checkPDF(t, out, 0)
}

// TestConfirmationsOfADelegate checks that a delegate's person token reaches their own
// confirmation only.
func TestConfirmationsOfADelegate(t *testing.T) {
	t.Parallel()
	addr := startConfirmServer(t)
	importFixture(t, addr)
	poll := closedVote(t, addr)
	r := run(t, addr, "confirm", "generate", poll, "--for", "72h")
	if r.code != 0 {
		t.Fatalf("confirm generate:\n%s", r)
	}
	due, err := time.Parse("2006-01-02 15:04:05 -07:00", regexp.MustCompile(`due (.+);`).FindStringSubmatch(r.stdout)[1])
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(due); d < 71*time.Hour || d > 72*time.Hour {
		t.Errorf("--for 72h: due in %v", d)
	}
	var all struct {
		Confirmations []struct{ Name, Person, FileName, Sha256 string }
	}
	if err := json.Unmarshal([]byte(mustRun(t, addr, "--output", "json", "confirm", "list", poll)), &all); err != nil || len(all.Confirmations) != 2 {
		t.Fatalf("confirm list as JSON: %v %+v", err, all)
	}

	_, secret := createToken(t, addr, "--role", "person", "--name", "Điện thoại của Tâm", "--person", tam)
	mine := runAs(t, addr, secret, "confirm", "list", poll)
	ls := rows(t, mine.stdout)
	if mine.code != 0 || len(ls) != 1 || !strings.Contains(ls[0], "Hồ Thị Tâm") {
		t.Fatalf("confirm list as Hồ Thị Tâm:\n%s", mine)
	}
	dir := t.TempDir()
	if r := runAs(t, addr, secret, "confirm", "download", poll, "--dir", dir); r.code != 0 || len(dirFiles(t, dir)) != 1 {
		t.Errorf("confirm download --dir as Hồ Thị Tâm:\n%s\nfiles %q", r, dirFiles(t, dir))
	}
	for _, c := range all.Confirmations {
		if strings.Contains(ls[0], c.Name+" ") {
			if got := fileSum(t, filepath.Join(dir, c.FileName)); got != c.Sha256 {
				t.Errorf("her own confirmation has SHA-256 %s, want %s", got, c.Sha256)
			}
			continue
		}
		// Someone else's: refused, and nothing written.
		out := filepath.Join(t.TempDir(), "other.pdf")
		r := runAs(t, addr, secret, "confirm", "download", c.Name, "-o", out)
		if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "permission denied") && !strings.Contains(r.stderr, "not found") {
			t.Errorf("downloading %s as Hồ Thị Tâm:\n%s", c.Name, r)
		}
		if _, err := os.Stat(out); err == nil || len(dirFiles(t, filepath.Dir(out))) != 0 {
			t.Errorf("a refused download left a file")
		}
	}
	// She may not read the report, which is for the leaders.
	if r := runAs(t, addr, secret, "poll", "report", poll, "-o", filepath.Join(t.TempDir(), "r.pdf")); r.code != 1 || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("poll report as a delegate:\n%s", r)
	}
}

// TestConfirmUsage checks the help of each command and that bad command lines are
// refused before any call: there is no server.
func TestConfirmUsage(t *testing.T) {
	t.Parallel()
	dead := deadAddr(t)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"confirm", "generate", "--help"}, []string{"Usage: bieuquyet confirm generate POLL [--deadline TIME | --for DURATION] [--request-id ID]\n", "-deadline TIME", "-for duration", "-request-id"}},
		{[]string{"confirm", "list", "--help"}, []string{"Usage: bieuquyet confirm list POLL [--status awaiting_signature|signed|", "-status", "-page-size"}},
		{[]string{"confirm", "download", "--help"}, []string{"Usage: bieuquyet confirm download POLL|CONFIRMATION (--dir DIR | -o FILE)\n", "-dir string", "-o FILE"}},
		{[]string{"poll", "report", "--help"}, []string{"Usage: bieuquyet poll report POLL -o FILE\n", "-o FILE"}},
		{[]string{"help", "confirm"}, []string{"confirm generate POLL", "confirm list POLL", "confirm download POLL|CONFIRMATION",
			"confirm show CONFIRMATION", "confirm submit FILE...", "confirm attest FILE", "confirm decline CONFIRMATION", "confirm resolve CONFIRMATION"}},
	} {
		r := run(t, "", append([]string{"--addr", dead}, tt.args...)...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("bieuquyet %s:\n%s", strings.Join(tt.args, " "), r)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("bieuquyet %s does not say %q:\n%s", strings.Join(tt.args, " "), w, r.stdout)
			}
		}
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"confirm"}, "missing subcommand: generate, list, remind, download, show, submit, attest, decline, resolve"},
		{[]string{"confirm", "generate"}, "confirm generate: missing POLL"},
		{[]string{"confirm", "generate", "x"}, `confirm generate: "x" is not a poll`},
		{[]string{"confirm", "generate", "1", "--for", "1h", "--deadline", "2030-01-01 17:00"}, "give --deadline or --for, not both"},
		{[]string{"confirm", "generate", "1", "--for", "-1h"}, "--for must be positive"},
		{[]string{"confirm", "generate", "1", "--deadline", "tomorrow"}, `invalid value "tomorrow" for flag -deadline`},
		{[]string{"confirm", "generate", "1", "--request-id", ""}, "--request-id must have 1 to 64 characters"},
		{[]string{"confirm", "list", "1", "--status", "lost"}, "must be awaiting_signature, signed, mismatch, rejected, declined or overdue"},
		{[]string{"confirm", "list", "1", "2"}, `unexpected argument "2"`},
		{[]string{"confirm", "download", "1"}, "--dir DIR is required with a POLL"},
		{[]string{"confirm", "download", "1", "-o", "x.pdf"}, "-o takes one CONFIRMATION"},
		{[]string{"confirm", "download", "polls/1/confirmations/2"}, "-o FILE is required with a CONFIRMATION"},
		{[]string{"confirm", "download", "polls/1/confirmations/2", "--dir", "d"}, "--dir takes a POLL"},
		{[]string{"confirm", "download", "polls/1/confirmations/x", "-o", "f"}, `"polls/1/confirmations/x" is not a confirmation`},
		{[]string{"confirm", "download", "abc", "--dir", "d"}, `"abc" is neither a poll nor a confirmation`},
		{[]string{"poll", "report", "1"}, "-o FILE is required"},
		{[]string{"poll", "report", "1", "-o", ""}, "-o is empty"},
		{[]string{"poll", "report", "-o", "f"}, "missing POLL"},
	} {
		r := run(t, "", append([]string{"--addr", dead}, tt.args...)...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("bieuquyet %s:\n%s\nwant a usage error saying %q", strings.Join(tt.args, " "), r, tt.want)
		}
	}
}

// TestConfirmUnavailable checks that a download from a server that is down fails with
// the usual message, after trying again, and leaves nothing behind.
func TestConfirmUnavailable(t *testing.T) {
	t.Parallel()
	dead := deadAddr(t)
	out := filepath.Join(t.TempDir(), "f.pdf")
	r := run(t, "", "--addr", dead, "confirm", "download", "polls/1/confirmations/2", "-o", out)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: cannot reach the server at "+dead) {
		t.Errorf("download from a dead server:\n%s", r)
	}
	if files := dirFiles(t, filepath.Dir(out)); len(files) != 0 {
		t.Errorf("a failed download left %q", files)
	}
}
