package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// voteIDs reads every vote record's id from the database file at path.
func voteIDs(t *testing.T, path string) map[int64]bool {
	t.Helper()
	db, err := sql.Open("sqlite3", path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT id FROM votes`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// wantNoFiles fails when dir holds anything but the names given.
func wantNoFiles(t *testing.T, dir string, except ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	for _, e := range except {
		keep[e] = true
	}
	for _, e := range entries {
		if !keep[e.Name()] {
			t.Errorf("%s left behind in %s", e.Name(), dir)
		}
	}
}

// TestBackupWhileVotesAreWritten copies the database in many small steps while votes
// keep coming: the copy verifies, holds every vote acknowledged before the backup
// started, and restores into a store that verifies and takes votes again.
func TestBackupWhileVotesAreWritten(t *testing.T) {
	defer func(n int) { backupStep = n }(backupStep)
	backupStep = 2 // a small database still takes many steps, with commits between them

	s, f := newPollFixture(t)
	p := f.Open(t, bq.RuleMajorityOfAll)
	ctx, stop := context.WithCancel(context.Background())
	var (
		mu    sync.Mutex
		acked []int64
		wg    sync.WaitGroup
		errs  = make(chan error, len(f.Members))
	)
	for w, person := range f.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				rec, err := s.RecordVote(ctx, storetest.Audit, store.VoteRequest{PollID: p.ID, PersonID: person,
					Options: []string{bq.VoteOptions[(w+i)%3]}, Source: bq.SourceZalo})
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				mu.Lock()
				acked = append(acked, rec.ID)
				mu.Unlock()
			}
		}()
	}
	ackedBefore := func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]int64(nil), acked...)
	}
	// Let the votes flow first, so that the copy has many to hold.
	for len(ackedBefore()) < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	before := ackedBefore()
	out := filepath.Join(t.TempDir(), "backup.db")
	res, err := Backup(context.Background(), s.path(t), out)
	during := len(ackedBefore()) - len(before)
	stop()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("RecordVote during the backup: %v", err)
	}
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	t.Logf("%d pages in steps of %d; %d votes acknowledged while it ran", res.Pages, backupStep, during)
	if res.Pages < 10*backupStep || res.PageSize == 0 || res.SchemaVersion != SchemaVersion() {
		t.Errorf("result %+v: want many steps' worth of pages, their size and this build's schema", res)
	}
	if res.Audit == nil || !res.Audit.OK || res.Audit.HeadSeq == 0 || res.Audit.Count != res.Audit.HeadSeq {
		t.Errorf("the copy's audit verdict: %+v", res.Audit)
	}
	// One self-contained file: the header says rollback journal (1), not WAL (2).
	if b, err := os.ReadFile(out); err != nil || len(b) < 20 || b[18] != 1 || b[19] != 1 {
		t.Errorf("the copy is not in rollback-journal mode: %v", err)
	}
	copied := voteIDs(t, out)
	for _, id := range before {
		if !copied[id] {
			t.Errorf("vote %d was acknowledged before the backup started but is not in the copy", id)
		}
	}
	wantNoFiles(t, filepath.Dir(out), "backup.db")

	// Restore: the file alone, into a new place, opened as the server would open it.
	restored := filepath.Join(t.TempDir(), "restored.db")
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(restored, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(context.Background(), restored, Options{Now: f.Clock.Now})
	if err != nil {
		t.Fatalf("open the restored copy: %v", err)
	}
	defer r.Close()
	v, err := r.VerifyAuditLog(context.Background(), store.KnownHead{Seq: res.Audit.HeadSeq, Hash: res.Audit.HeadHash})
	if err != nil || !v.OK || v.HeadSeq != res.Audit.HeadSeq {
		t.Fatalf("the restored copy verifies: %+v, %v", v, err)
	}
	if _, err := r.RecordVote(context.Background(), storetest.Audit, store.VoteRequest{PollID: p.ID, PersonID: f.Members[0],
		Options: []string{bq.VoteOptions[0]}, Source: bq.SourceZalo}); err != nil {
		t.Fatalf("a vote in the restored store: %v", err)
	}
	if v, err := r.VerifyAuditLog(context.Background()); err != nil || !v.OK || v.HeadSeq != res.Audit.HeadSeq+1 {
		t.Fatalf("the restored store after a vote: %+v, %v", v, err)
	}
}

// path returns the database file of a store opened by openOn.
func (s *Store) path(t *testing.T) string {
	t.Helper()
	var seq int
	var name, file string
	if err := s.read.QueryRow(`PRAGMA database_list`).Scan(&seq, &name, &file); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestBackupFailsCleanly(t *testing.T) {
	s, path := openTest(t)
	storetest.FiveEvents(t, s)
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.db")
	if err := os.WriteFile(old, []byte("the previous backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(t.TempDir(), "newer.db")
	raw, err := sql.Open("sqlite3", newer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA user_version = 999`); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	for _, tc := range []struct {
		name, src, dst string
		is             error
	}{
		{"folder missing", path, filepath.Join(dir, "no", "such", "folder", "b.db"), os.ErrNotExist},
		{"under a file", path, filepath.Join(notDir, "b.db"), nil},
		{"onto itself", path, path, nil},
		{"no database", filepath.Join(dir, "missing.db"), filepath.Join(dir, "b.db"), os.ErrNotExist},
		{"newer schema", newer, filepath.Join(dir, "b.db"), ErrSchemaMismatch},
		{"newer schema over an older backup", newer, old, ErrSchemaMismatch},
		{"a URI", "file:" + path, filepath.Join(dir, "b.db"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Backup(context.Background(), tc.src, tc.dst)
			if err == nil {
				t.Fatalf("Backup(%s, %s) = %+v", tc.src, tc.dst, res)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Backup: %v, want %v", err, tc.is)
			}
			t.Logf("%v", err)
		})
	}
	wantNoFiles(t, dir, "file", "old.db")
	if b, err := os.ReadFile(old); err != nil || string(b) != "the previous backup" {
		t.Errorf("a failed backup changed the file at --out: %q, %v", b, err)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Errorf("the database after failed backups: %+v", v)
	}
}

func TestBackupRefusesATamperedTrail(t *testing.T) {
	s, path := openTest(t)
	storetest.FiveEvents(t, s)
	if _, err := s.write.Exec(`UPDATE audit_events SET summary = summary || '!' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	_, err := Backup(context.Background(), path, filepath.Join(dir, "b.db"))
	if err == nil || !regexp.MustCompile(`audit trail does not verify \(event 3: .+\)`).MatchString(err.Error()) {
		t.Fatalf("Backup of a tampered trail: %v", err)
	}
	wantNoFiles(t, dir)
}
