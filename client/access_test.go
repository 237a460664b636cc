package client

import (
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/testcert"
	"github.com/bieuquyet/bieuquyet/server"
)

// runAs runs the client against addr with the given token instead of the admin's.
func runAs(t *testing.T, addr, secret string, args ...string) result {
	t.Helper()
	return run(t, "", append([]string{"--addr", addr, "--token", secret}, args...)...)
}

// createToken runs token create with args and returns what it printed before the secret,
// and the secret, which must come last on stdout after a warning on stderr.
func createToken(t *testing.T, addr string, args ...string) (out, secret string) {
	t.Helper()
	r := run(t, addr, append([]string{"token", "create"}, args...)...)
	if r.code != 0 || r.stderr != "warning: the token's secret is shown only this once, here: keep it now, somewhere safe\n" {
		t.Fatalf("token create %s:\n%s", strings.Join(args, " "), r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	secret = lines[len(lines)-1]
	if !bq.LooksLikeToken(secret) {
		t.Fatalf("the last line of token create is not a secret:\n%s", r)
	}
	return strings.Join(lines[:len(lines)-1], "\n") + "\n", secret
}

func TestWhoAmIAdmin(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	out := mustRun(t, addr, "whoami")
	for name, want := range map[string]string{"actor": "tokens/1", "token": "tokens/1", "display_name": "admin", "role": "admin"} {
		if got := field(t, out, name); got != want {
			t.Errorf("whoami %s = %q, want %q", name, got, want)
		}
	}
	if strings.Contains(out, "person:") || strings.Contains(out, "GROUP") {
		t.Errorf("whoami of an admin token shows a person:\n%s", out)
	}

	var doc map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, addr, "--output", "json", "whoami")), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["actor"] != "tokens/1" || doc["token"].(map[string]any)["role"] != "TOKEN_ROLE_ADMIN" {
		t.Errorf("whoami as JSON: %v", doc)
	}
}

func TestSecretariatToken(t *testing.T) {
	t.Parallel()
	addr := startServer(t)

	out, secret := createToken(t, addr, "--role", "secretariat", "--name", "Văn phòng - Thư ký", "--ttl", "24h")
	for name, want := range map[string]string{"name": "tokens/2", "display_name": "Văn phòng - Thư ký", "role": "secretariat", "created_by": "tokens/1"} {
		if got := field(t, out, name); got != want {
			t.Errorf("created %s = %q, want %q", name, got, want)
		}
	}
	expires, err := time.Parse("2006-01-02 15:04:05 -07:00", field(t, out, "expires"))
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(expires); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("--ttl 24h: the token expires in %v", d)
	}

	// The secret printed is the token.
	r := runAs(t, addr, secret, "whoami")
	if r.code != 0 || field(t, r.stdout, "role") != "secretariat" || field(t, r.stdout, "actor") != "tokens/2" ||
		field(t, r.stdout, "display_name") != "Văn phòng - Thư ký" {
		t.Errorf("whoami with the new secret:\n%s", r)
	}
	// The secretariat reads the audit trail, but only an admin manages tokens.
	if r := runAs(t, addr, secret, "audit", "head"); r.code != 0 {
		t.Errorf("audit head as secretariat:\n%s", r)
	}
	r = runAs(t, addr, secret, "token", "list")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "permission denied") {
		t.Errorf("token list as secretariat:\n%s", r)
	}

	// As JSON, the whole response, secret included.
	var doc map[string]any
	r = run(t, addr, "--output", "json", "token", "create", "--role", "admin", "--name", "máy chủ")
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil {
		t.Fatalf("token create as JSON: %v\n%s", err, r)
	}
	if s, _ := doc["secret"].(string); !bq.LooksLikeToken(s) || doc["token"].(map[string]any)["name"] != "tokens/3" {
		t.Errorf("token create as JSON: %v", doc)
	}
}

func TestPersonToken(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)

	out, secret := createToken(t, addr, "--role", "person", "--name", "Điện thoại của Chủ tịch", "--person", "0912 000 001")
	if got := field(t, out, "person"); got != "Nguyễn Văn Ân (people/1)" {
		t.Errorf("created a token for %q, want Nguyễn Văn Ân (people/1)", got)
	}
	token := field(t, out, "name")

	r := runAs(t, addr, secret, "whoami")
	if r.code != 0 {
		t.Fatalf("whoami as a person:\n%s", r)
	}
	for name, want := range map[string]string{"actor": "people/1", "token": token, "role": "person", "person": "people/1",
		"full_name": "Nguyễn Văn Ân", "phone": "+84912000001", "delegate": "yes"} {
		if got := field(t, r.stdout, name); got != want {
			t.Errorf("whoami %s = %q, want %q", name, got, want)
		}
	}
	_, table, ok := strings.Cut(r.stdout, "\n\n")
	if !ok || !strings.HasPrefix(table, "GROUP ") {
		t.Fatalf("no membership table after the fields:\n%s", r.stdout)
	}
	if !regexp.MustCompile(`(?m)^groups/\d+ +HĐND - Thường trực khóa X +member$`).MatchString(table) {
		t.Errorf("no Thường trực membership in:\n%s", table)
	}
	assertAligned(t, table, regexp.MustCompile(`\b(ROLE|member|leader|staff)$`))

	// token list shows it, for the person given any way.
	list := mustRun(t, addr, "token", "list")
	if got := len(rows(t, list)); got != 2 {
		t.Errorf("token list shows %d tokens, want 2:\n%s", got, list)
	}
	if !strings.HasPrefix(list, "NAME ") {
		t.Errorf("token list has no header:\n%s", list)
	}
	assertAligned(t, list, regexp.MustCompile(`\b(ROLE|admin|person) +(PERSON|-|Nguyễn Văn Ân \(people/1\)) `))
	for _, p := range []string{"people/1", "1", "+84912000001"} {
		mine := mustRun(t, addr, "token", "list", "--person", p)
		rs := rows(t, mine)
		if len(rs) != 1 || !regexp.MustCompile(`^`+token+` +Điện thoại của Chủ tịch +person +Nguyễn Văn Ân \(people/1\) +tokens/1 .* no$`).MatchString(rs[0]) {
			t.Errorf("token list --person %s:\n%s", p, mine)
		}
	}

	// Revoked, it stops working at once and leaves the default list.
	revoked := mustRun(t, addr, "token", "revoke", strings.TrimPrefix(token, "tokens/"))
	if field(t, revoked, "revoked") == "" {
		t.Errorf("token revoke:\n%s", revoked)
	}
	r = runAs(t, addr, secret, "whoami")
	if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, "bieuquyet: unauthenticated: ") {
		t.Errorf("whoami with a revoked token:\n%s", r)
	}
	if got := mustRun(t, addr, "token", "list", "--person", "people/1"); got != "no tokens\n" {
		t.Errorf("token list after the revocation = %q", got)
	}
	withRevoked := mustRun(t, addr, "token", "list", "--person", "people/1", "--revoked")
	if rs := rows(t, withRevoked); len(rs) != 1 || strings.HasSuffix(rs[0], " no") {
		t.Errorf("token list --revoked:\n%s", withRevoked)
	}
	if r := run(t, addr, "token", "revoke", token); r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: failed precondition: ") {
		t.Errorf("revoking twice:\n%s", r)
	}
}

func TestTokenListPages(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	for i := range 4 {
		createToken(t, addr, "--role", "secretariat", "--name", "thư ký "+strconv.Itoa(i))
	}
	first := run(t, addr, "token", "list", "--page-size", "2")
	if first.code != 0 || len(rows(t, first.stdout)) != 2 || !strings.HasPrefix(first.stderr, "more: --page-token ") {
		t.Errorf("first page:\n%s", first)
	}
	all := run(t, addr, "token", "list", "--page-size", "2", "--all")
	if all.code != 0 || all.stderr != "" || len(rows(t, all.stdout)) != 5 {
		t.Errorf("--all:\n%s", all)
	}
}

func TestAuditList(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	today := time.Now().Format(time.DateOnly)
	importFixture(t, addr)

	all := mustRun(t, addr, "audit", "list", "--all")
	events := rows(t, all)
	if !strings.HasPrefix(all, "SEQ ") || !regexp.MustCompile(`^1 .* local:test +CreateToken +done +tokens/1 +created admin token "admin"`).MatchString(events[0]) {
		t.Fatalf("audit list --all:\n%s", all)
	}
	imports := 0
	for i, e := range events {
		if !strings.HasPrefix(e, strconv.Itoa(i+1)+" ") {
			t.Errorf("event %d is not in order: %q", i+1, e)
		}
		if regexp.MustCompile(` tokens/1 +ImportRoster +done `).MatchString(e) {
			imports++
		}
	}
	if imports != len(events)-1 || imports < fixturePeople {
		t.Errorf("%d of %d events are ImportRoster:\n%s", imports, len(events), all)
	}

	// Filters.
	group := mustRun(t, addr, "audit", "list", "--target", "groups/2")
	rs := rows(t, group)
	if len(rs) < 2 {
		t.Errorf("audit list --target groups/2:\n%s", group)
	}
	for _, e := range rs {
		if !regexp.MustCompile(` ImportRoster +done +HĐND - Thường trực khóa X \(groups/2\) +(create|add_member): `).MatchString(e) {
			t.Errorf("audit list --target groups/2 shows %q", e)
		}
	}
	if !strings.Contains(group, `create: group "HĐND - Thường trực khóa X"`) {
		t.Errorf("no creation of the group in:\n%s", group)
	}
	byActor := mustRun(t, addr, "audit", "list", "--all", "--actor", "tokens/1")
	if got := len(rows(t, byActor)); got != imports {
		t.Errorf("audit list --actor tokens/1 shows %d events, want %d", got, imports)
	}
	if got := mustRun(t, addr, "audit", "list", "--all", "--since", today); got != all {
		t.Errorf("audit list --since %s:\n%s\nwant\n%s", today, got, all)
	}
	if got := mustRun(t, addr, "audit", "list", "--until", today); got != "no events\n" {
		t.Errorf("audit list --until %s = %q", today, got)
	}
	future := time.Now().Add(time.Hour).Format(time.RFC3339)
	if got := mustRun(t, addr, "audit", "list", "--since", future); got != "no events\n" {
		t.Errorf("audit list --since %s = %q", future, got)
	}

	// Pages.
	page := run(t, addr, "audit", "list", "--page-size", "5")
	if page.code != 0 || len(rows(t, page.stdout)) != 5 || !strings.HasPrefix(page.stderr, "more: --page-token ") {
		t.Errorf("audit list --page-size 5:\n%s", page)
	}
	if got := mustRun(t, addr, "audit", "list", "--page-size", "7", "--all"); got != all {
		t.Errorf("audit list --page-size 7 --all differs from --all:\n%s", got)
	}

	var doc struct{ Events []map[string]any }
	if err := json.Unmarshal([]byte(mustRun(t, addr, "--output", "json", "audit", "list", "--target", "council")), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Events) != 1 || doc.Events[0]["action"] != "ImportRoster" || doc.Events[0]["hash"] == nil {
		t.Errorf("audit list as JSON: %v", doc)
	}
}

func TestAuditVerify(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	importFixture(t, addr)

	head := strings.TrimSuffix(mustRun(t, addr, "audit", "head"), "\n")
	m := regexp.MustCompile(`^(\d+):([0-9a-f]{64})$`).FindStringSubmatch(head)
	if m == nil {
		t.Fatalf("audit head = %q, want SEQ:HEX", head)
	}
	intact := "audit trail intact: " + m[1] + " events, head " + m[1] + " " + m[2] + "\n"
	for _, args := range [][]string{{"audit", "verify"}, {"audit", "verify", "--head", head}, {"audit", "verify", "--head", "1:" + hashOf(t, addr, 1), "--head", head}} {
		if got := mustRun(t, addr, args...); got != intact {
			t.Errorf("bieuquyet %s = %q, want %q", strings.Join(args, " "), got, intact)
		}
	}

	// A head that is not what the trail holds.
	wrong := m[1] + ":" + strings.Repeat("0", 64)
	r := run(t, addr, "audit", "verify", "--head", wrong)
	want := "audit trail BROKEN at event " + m[1] + ": its hash differs from the head recorded for it earlier: the trail was rewritten\n"
	if r.code != 1 || r.stdout != want || r.stderr != "" {
		t.Errorf("audit verify --head %s:\n%s\nwant stdout %q", wrong, r, want)
	}

	// An event edited in the database, behind the server's back.
	path, _ := dbPaths.Load(addr)
	db, err := sql.Open("sqlite3", path.(string)+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE audit_events SET summary = summary || '!' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	r = run(t, addr, "audit", "verify")
	want = "audit trail BROKEN at event 2: its hash does not match its contents: the event was altered\n"
	if r.code != 1 || r.stdout != want || r.stderr != "" {
		t.Errorf("audit verify of a tampered trail:\n%s\nwant stdout %q", r, want)
	}
	r = run(t, addr, "--output", "json", "audit", "verify")
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 1 || doc["ok"] != nil || doc["firstBadSeq"] != "2" {
		t.Errorf("audit verify of a tampered trail as JSON: %v\n%s", err, r)
	}
}

// hashOf returns the hash of event seq, in hex, as audit list --output json shows it.
func hashOf(t *testing.T, addr string, seq int) string {
	t.Helper()
	var doc struct {
		Events []struct {
			Seq  string
			Hash []byte
		}
	}
	r := run(t, addr, "--output", "json", "audit", "list", "--page-size", strconv.Itoa(seq))
	if err := json.Unmarshal([]byte(r.stdout), &doc); r.code != 0 || err != nil {
		t.Fatalf("audit list as JSON: %v\n%s", err, r)
	}
	e := doc.Events[seq-1]
	if e.Seq != strconv.Itoa(seq) {
		t.Fatalf("event %d has seq %s", seq, e.Seq)
	}
	return hex.EncodeToString(e.Hash)
}

// TestTLS serves over mutual TLS: the client needs the CA and its own certificate.
func TestTLS(t *testing.T) {
	t.Parallel()
	certs := testcert.New(t)
	cert, err := tls.LoadX509KeyPair(certs.ServerCert, certs.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(certs.CA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate")
	}
	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	addr := startServerWith(t, server.Config{Options: []grpc.ServerOption{grpc.Creds(creds)}})

	r := run(t, addr, "--tls-ca", certs.CA, "--tls-cert", certs.ClientCert, "--tls-key", certs.ClientKey, "whoami")
	if r.code != 0 || field(t, r.stdout, "role") != "admin" {
		t.Errorf("whoami over mutual TLS:\n%s", r)
	}
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr string // a regular expression for the one line of stderr
	}{
		{"no client certificate", []string{"--tls-ca", certs.CA}, 1,
			// The alert "certificate required" may lose the race with the server's close.
			`^bieuquyet: cannot reach the server at 127\.0\.0\.1:\d+: `},
		{"another CA", []string{"--tls-ca", certs.OtherCA, "--tls-cert", certs.ClientCert, "--tls-key", certs.ClientKey}, 1,
			`^bieuquyet: cannot reach the server at .*: certificate signed by unknown authority$`},
		{"plaintext", nil, 1, `^bieuquyet: cannot reach the server at `},
		{"certificate without its key", []string{"--tls-ca", certs.CA, "--tls-cert", certs.ClientCert}, 2,
			`^bieuquyet: --tls-cert and --tls-key go together `},
	} {
		r := run(t, addr, append(tt.args, "--timeout", "10s", "whoami")...)
		if r.code != tt.code || r.stdout != "" || !regexp.MustCompile(tt.stderr).MatchString(strings.TrimSuffix(r.stderr, "\n")) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: whoami:\n%s\nwant stderr matching %s", tt.name, r, tt.stderr)
		}
	}
}

// TestPlaintextBeyondLoopback checks that the client refuses to send a token in clear to
// an address other than loopback, before anything crosses the network, unless told with
// --insecure that something else encrypts the traffic.
func TestPlaintextBeyondLoopback(t *testing.T) {
	t.Parallel()
	for _, addr := range []string{"hdnd.example.vn:50051", "192.0.2.1:50051", "[2001:db8::1]:50051", "0.0.0.0:50051",
		"dns:///hdnd.example.vn:50051", "hdnd.example.vn", "ipv4:127.0.0.1:1,192.0.2.1:1", "localhost.example.vn:1"} {
		r := run(t, "", "--addr", addr, "--token", "x", "whoami")
		want := "bieuquyet: refusing to send the token in clear to " + addr + ", which is not a loopback address: " +
			"give --tls-ca FILE to use TLS, or --insecure if something else encrypts the traffic (run 'bieuquyet help')\n"
		if r.code != 2 || r.stdout != "" || r.stderr != want {
			t.Errorf("plaintext to %s:\n%s\nwant stderr %q", addr, r, want)
		}
	}
	// With --insecure the call goes out: to a TEST-NET address nobody answers.
	r := run(t, "", "--addr", "192.0.2.1:50051", "--insecure", "--timeout", "100ms", "--token", "x", "whoami")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: deadline exceeded: ") && !strings.HasPrefix(r.stderr, "bieuquyet: cannot reach") {
		t.Errorf("plaintext to 192.0.2.1 with --insecure:\n%s", r)
	}
	// Help never connects, so it needs neither.
	if r := run(t, "", "--addr", "hdnd.example.vn:50051", "whoami", "--help"); r.code != 0 {
		t.Errorf("help with a remote address:\n%s", r)
	}
	// Loopback, in every spelling, needs no TLS: the server is down, so the call fails
	// as unreachable, not as a usage error.
	for _, addr := range []string{"127.0.0.1:1", "127.1.2.3:1", "localhost:1", "LOCALHOST:1", "[::1]:1", "dns:///localhost:1",
		"passthrough:///127.0.0.1:1", "ipv4:127.0.0.1:1,127.0.0.2:1", "unix:///tmp/nothing-here.sock"} {
		if err := checkPlaintext(addr, connConfig{}); err != nil || !loopbackTarget(addr) {
			t.Errorf("plaintext to %s: %v", addr, err)
		}
	}
	if r := run(t, "", "--addr", "localhost:"+strings.Split(deadAddr(t), ":")[1], "whoami"); r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: cannot reach") {
		t.Errorf("plaintext to localhost:\n%s", r)
	}
}
