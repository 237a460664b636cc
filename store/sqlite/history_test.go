package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// returnedFile is a file that came back, its content kept when accepted.
func returnedFile(kind bq.FileKind, data string, accepted bool) *bq.ConfirmationFile {
	sum := sha256.Sum256([]byte(data))
	f := &bq.ConfirmationFile{Kind: kind, MediaType: "application/pdf", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		ReceivedBy: storetest.Audit.Actor}
	if accepted {
		f.Content = []byte(data)
	}
	return f
}

// stepped takes a few steps of issuedPoll's confirmations: the first rejected, then
// signed; the second a paper copy with another choice; the third declined.
func stepped(t *testing.T) (*Store, string, []bq.Confirmation) {
	t.Helper()
	s, path, cs := issuedPoll(t)
	steps := []struct {
		c    bq.Confirmation
		step func(now time.Time, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error)
	}{
		{cs[0], func(now time.Time, _ *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
			return c.Reject(now, "people/1", "bad_signature", "the signature does not verify", returnedFile(bq.FileSignedPDF, "%PDF forged", false))
		}},
		{cs[0], func(now time.Time, _ *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
			return c.Sign(now, "people/1", returnedFile(bq.FileSignedPDF, "%PDF signed by the delegate", true))
		}},
		{cs[1], func(now time.Time, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
			return c.RecordPaper(now, "tokens/1", []int{2}, p, returnedFile(bq.FileScan, "PNG scan of the paper", true))
		}},
		{cs[2], func(now time.Time, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
			return c.Decline(now, "tokens/1", "không đồng ý", nil, p)
		}},
	}
	for _, st := range steps {
		if _, _, err := s.ChangeConfirmation(context.Background(), storetest.Audit, st.c.PollID, st.c.ID, "Step", bq.RequestKey{},
			func(p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) { return st.step(s.now(), p, c) }); err != nil {
			t.Fatal(err)
		}
	}
	return s, path, cs
}

// Someone with the database file rewrites a confirmation's history or a file that came
// back: each must show, naming the confirmation and the tables its state is read from.
func TestVerifyCatchesTamperedConfirmationHistory(t *testing.T) {
	cases := []struct {
		name, sql string
		target    int // index into the confirmations
	}{
		{"turn a rejection into a signature", `UPDATE confirmation_events SET to_status = 'signed' WHERE action = 'rejected'`, 0},
		{"turn the rejection and the status together", `UPDATE confirmation_events SET action = 'signed', to_status = 'signed', reason = '', detail = ''
			WHERE action = 'rejected'`, 0},
		{"change a written choice", `UPDATE confirmation_events SET written = '[1]' WHERE action = 'paper'`, 1},
		{"clear a written choice", `UPDATE confirmation_events SET written = NULL WHERE action = 'signed'`, 0},
		{"change a decline's reason", `UPDATE confirmation_events SET detail = 'đồng ý' WHERE action = 'declined'`, 2},
		{"mark a step late", `UPDATE confirmation_events SET late = 1 WHERE action = 'paper'`, 1},
		{"delete a step", `DELETE FROM confirmation_events WHERE action = 'rejected'`, 0},
		{"delete the only step", `DELETE FROM confirmation_events WHERE action = 'declined'`, 2},
		{"add a step", `INSERT INTO confirmation_events (confirmation_id, time, actor, action, from_status, to_status, written)
			VALUES (4, 0, 'people/4', 'signed', 'awaiting_signature', 'signed', '[0]')`, 3},
		{"change a byte of a kept file", `UPDATE confirmation_files SET content = CAST(replace(CAST(content AS TEXT), 'delegate', 'delegatf') AS BLOB)
			WHERE content IS NOT NULL AND kind = 'signed_pdf'`, 0},
		{"change a byte of a scan", `UPDATE confirmation_files SET content = CAST(replace(CAST(content AS TEXT), 'PNG', 'JPG') AS BLOB)
			WHERE kind = 'scan'`, 1},
		{"keep a rejected file after all", `UPDATE confirmation_files SET content = X'25504446' WHERE content IS NULL`, 0},
		{"change who sent a file", `UPDATE confirmation_files SET received_by = 'people/9' WHERE kind = 'scan'`, 1},
		{"delete a file", `DELETE FROM confirmation_files WHERE kind = 'scan'`, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, path, cs := stepped(t)
			if v := storetest.Verify(t, s); !v.OK {
				t.Fatalf("before tampering: %+v", v)
			}
			rawExec(t, path, tc.sql)
			v := storetest.Verify(t, s)
			if v.OK || v.Problem == "" {
				t.Fatalf("tampering not caught: %+v", v)
			}
			if want := cs[tc.target].Name(); v.Target != want || !strings.Contains(v.Problem, want) || !strings.Contains(v.Problem, "changed or removed") ||
				!strings.Contains(v.Problem, "confirmation_events") || !strings.Contains(v.Problem, "confirmation_files") {
				t.Errorf("verdict names %q: %s\nwant %s", v.Target, v.Problem, want)
			}
			t.Log(v.Problem)
		})
	}
}

// downgradeToSchema6 turns a database back into what the version before schema 7 wrote:
// no confirmation history. Its confirmations must have no steps.
func downgradeToSchema6(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var steps int
	if err := db.QueryRow(`SELECT count(*) FROM confirmation_events`).Scan(&steps); err != nil || steps != 0 {
		t.Fatalf("a schema 6 database has no history: %d steps, %v", steps, err)
	}
	for _, q := range []string{
		`DROP TABLE confirmation_events`, `DROP TABLE confirmation_files`, `DROP INDEX confirmations_by_sha256`, `PRAGMA user_version = 6`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// A database from schema 6, with confirmations issued, upgrades to 7 and its trail still
// verifies: the history tables enter a confirmation's state only once it has rows there,
// so the digests written before them hold. Steps taken after are bound as usual.
func TestUpgradeToConfirmationHistoryKeepsDigests(t *testing.T) {
	ctx := context.Background()
	s, path, cs := issuedPoll(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	downgradeToSchema6(t, path)
	s, err := Open(ctx, path, Options{Now: storetest.NewClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version int
	if err := s.read.QueryRow(`PRAGMA user_version`).Scan(&version); err != nil || version != SchemaVersion() {
		t.Fatalf("schema %d after the upgrade, %v; want %d", version, err, SchemaVersion())
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("after the upgrade: %+v", v)
	}
	if _, _, err := s.ChangeConfirmation(ctx, storetest.Audit, cs[0].PollID, cs[0].ID, "SubmitSignedConfirmation", bq.RequestKey{},
		func(_ *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
			return c.Sign(s.now(), "people/1", returnedFile(bq.FileSignedPDF, "%PDF signed", true))
		}); err != nil {
		t.Fatal(err)
	}
	if c, err := s.FindConfirmationBySHA256(ctx, cs[1].SHA256); err != nil || c.ID != cs[1].ID {
		t.Fatalf("find by digest after the upgrade: %+v, %v", c, err)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("after a step: %+v", v)
	}
	// Tampering shows, with a confirmation untouched since schema 6 and one stepped after.
	rawExec(t, path, fmt.Sprintf(`UPDATE confirmations SET status = 'declined' WHERE id = %d`, cs[1].ID))
	if v := storetest.Verify(t, s); v.OK || v.Target != cs[1].Name() {
		t.Fatalf("a status changed after the upgrade: %+v", v)
	}
	rawExec(t, path, fmt.Sprintf(`UPDATE confirmations SET status = 'awaiting_signature' WHERE id = %d`, cs[1].ID))
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("put back: %+v", v)
	}
	rawExec(t, path, `UPDATE confirmation_events SET written = '[2]'`)
	if v := storetest.Verify(t, s); v.OK || v.Target != cs[0].Name() {
		t.Fatalf("a step changed after the upgrade: %+v", v)
	}
}
