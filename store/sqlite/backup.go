package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/bieuquyet/bieuquyet/store"
)

// backupStep is how many pages one step of Backup copies; between steps it sees whether
// it was cancelled. A variable so that a test can make a small database take many steps.
var backupStep = 1024

// BackupResult is what Backup copied and found in the copy.
type BackupResult struct {
	Pages         int // database pages copied
	PageSize      int // bytes per page
	SchemaVersion int
	// Audit is the copy's audit trail, verified whole: its head is the newest change the
	// copy holds.
	Audit *store.AuditVerdict
}

// ErrSchemaMismatch is returned by Backup for a database of another schema version than
// this build's: it could not check the copy's audit trail, nor should anything migrate a
// database it only means to copy.
var ErrSchemaMismatch = errors.New("schema version mismatch")

// Backup copies the database at src to dst with SQLite's online backup API, while a
// server may be writing to it, and replaces dst only with a copy that checks out. It
// copies one snapshot: every change committed before it started, nothing half done. It
// takes no lock of the server's, and in WAL mode its reading blocks no writer.
//
// The copy is written to a temporary file beside dst, in rollback-journal mode so that it
// is one self-contained file. It must pass PRAGMA integrity_check and foreign_key_check,
// carry this build's schema version, and have an audit trail that verifies whole
// (VerifyAuditLog); only then is it synced and renamed to dst. On any failure nothing is
// left at dst (an older file there is kept as it was) and the temporary file is removed.
func Backup(ctx context.Context, src, dst string) (*BackupResult, error) {
	for _, p := range []string{src, dst} {
		if !plainPath(p) {
			return nil, fmt.Errorf("back up: %q is not a plain file path", p)
		}
	}
	info, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("back up: %w", err)
	}
	if info.IsDir() {
		return nil, fmt.Errorf("back up: %s is a folder, not a database file", src)
	}
	if out, err := os.Stat(dst); err == nil && os.SameFile(info, out) {
		return nil, fmt.Errorf("back up: %s is the database itself", dst)
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		// The temporary file's random name would only puzzle: name the folder instead.
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("back up: cannot write in the folder of %s: %w", dst, err)
	}
	tmp := f.Name()
	f.Close()
	res, err := backupTo(ctx, src, tmp)
	if err == nil {
		err = syncFile(tmp)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		removeDatabase(tmp)
		return nil, fmt.Errorf("back up: %w", err)
	}
	// The rename is durable only once the folder is synced; the copy is whole either way.
	if err := syncFile(filepath.Dir(dst)); err != nil {
		return nil, fmt.Errorf("back up: sync %s: %w", filepath.Dir(dst), err)
	}
	return res, nil
}

// backupTo copies src into the empty file tmp and checks the copy.
func backupTo(ctx context.Context, src, tmp string) (*BackupResult, error) {
	res := &BackupResult{}
	if err := copyDatabase(ctx, src, tmp, res); err != nil {
		return nil, err
	}
	if err := checkCopy(ctx, tmp, res); err != nil {
		return nil, err
	}
	return res, nil
}

// plainPath is Open's rule: a file path the driver will not read as a URI or parameters.
func plainPath(p string) bool {
	return p != "" && !strings.ContainsAny(p, "?#") && !strings.HasPrefix(p, "file:") && p != ":memory:"
}

// copyDatabase copies src into dst page by page.
func copyDatabase(ctx context.Context, src, dst string, res *BackupResult) error {
	srcDB, err := sql.Open("sqlite3", fmt.Sprintf("%s?_busy_timeout=%d&_query_only=1", src, busyTimeout.Milliseconds()))
	if err != nil {
		return err
	}
	defer srcDB.Close()
	sc, err := srcDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer sc.Close()
	// One read transaction holds the snapshot for every step. Without it each step would
	// read anew, and any commit of the server's between two steps would start the copy
	// over, maybe forever under a steady stream of votes. In WAL mode a reader blocks no
	// writer; only checkpoints wait, and the WAL grows for the while.
	if _, err := sc.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	defer sc.ExecContext(context.Background(), "ROLLBACK")
	var tables int
	if err := sc.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if err := sc.QueryRowContext(ctx, "PRAGMA user_version").Scan(&res.SchemaVersion); err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	if err := sameSchema(src, res.SchemaVersion); err != nil {
		return err
	}

	dstDB, err := sql.Open("sqlite3", fmt.Sprintf("%s?_busy_timeout=%d", dst, busyTimeout.Milliseconds()))
	if err != nil {
		return err
	}
	defer dstDB.Close()
	dc, err := dstDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open the copy: %w", err)
	}
	defer dc.Close()
	err = dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			to, ok1 := d.(*sqlite3.SQLiteConn)
			from, ok2 := s.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return fmt.Errorf("driver connections are %T and %T, not *sqlite3.SQLiteConn", d, s)
			}
			return copyPages(ctx, to, from, res)
		})
	})
	if err != nil {
		return fmt.Errorf("copy %s: %w", src, err)
	}
	// The copied header says WAL, as the server's file does; a backup is better one file
	// that needs no -wal or -shm beside it. The server switches it back when it opens it.
	var mode string
	if err := dc.QueryRowContext(ctx, "PRAGMA journal_mode = DELETE").Scan(&mode); err != nil {
		return fmt.Errorf("the copy: set journal mode: %w", err)
	}
	if mode != "delete" {
		return fmt.Errorf("the copy: journal mode is %q, want delete", mode)
	}
	return nil
}

// copyPages runs the backup's steps until it is done.
func copyPages(ctx context.Context, to, from *sqlite3.SQLiteConn, res *BackupResult) error {
	b, err := to.Backup("main", from, "main")
	if err != nil {
		return err
	}
	// The driver reports SQLITE_BUSY and SQLITE_LOCKED as a step not done: wait a little
	// when one makes no progress, up to the busy timeout the store uses everywhere.
	var stalled time.Duration
	remaining := -1
	for {
		done, err := b.Step(backupStep)
		if err != nil {
			b.Finish()
			return err
		}
		if done {
			break
		}
		if err := ctx.Err(); err != nil {
			b.Finish()
			return err
		}
		if r := b.Remaining(); r == remaining {
			if stalled > busyTimeout {
				b.Finish()
				return errors.New("the database stayed locked")
			}
			time.Sleep(10 * time.Millisecond)
			stalled += 10 * time.Millisecond
		} else {
			remaining, stalled = r, 0
		}
	}
	res.Pages = b.PageCount()
	return b.Finish()
}

// sameSchema refuses a schema version other than this build's.
func sameSchema(what string, version int) error {
	if want := SchemaVersion(); version != want {
		return fmt.Errorf("%w: %s has schema version %d and this build knows %d: back it up with the bieuquyet-server that serves it", ErrSchemaMismatch, what, version, want)
	}
	return nil
}

// checkCopy reads the copy back, read-only, and fails unless it is whole.
func checkCopy(ctx context.Context, path string, res *BackupResult) error {
	db, err := sql.Open("sqlite3", fmt.Sprintf("%s?_busy_timeout=%d&_query_only=1", path, busyTimeout.Milliseconds()))
	if err != nil {
		return err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("open the copy: %w", err)
	}
	defer tx.Rollback()
	var version, pages int
	for _, p := range []struct {
		pragma string
		into   *int
	}{{"user_version", &version}, {"page_size", &res.PageSize}, {"page_count", &pages}} {
		if err := tx.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(p.into); err != nil {
			return fmt.Errorf("the copy: read %s: %w", p.pragma, err)
		}
	}
	if err := sameSchema("the copy", version); err != nil {
		return err
	}
	if pages != res.Pages {
		return fmt.Errorf("the copy has %d pages, the backup copied %d", pages, res.Pages)
	}
	problems, err := fileProblems(ctx, tx)
	if err != nil {
		return fmt.Errorf("the copy: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the copy fails its integrity check: %s", strings.Join(problems, "; "))
	}
	v, err := verifyAudit(ctx, tx, nil)
	if err != nil {
		return fmt.Errorf("the copy: verify the audit trail: %w", err)
	}
	if !v.OK {
		where := fmt.Sprintf("event %d", v.BadSeq)
		if v.Target != "" {
			where += ", " + v.Target
		}
		return fmt.Errorf("the copy's audit trail does not verify (%s: %s): the database itself is likely at fault; check it with `bieuquyet audit verify`", where, v.Problem)
	}
	res.Audit = v
	return nil
}

// syncFile flushes a file, or a folder's entries, to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// removeDatabase removes a database file and whatever SQLite may have left beside it.
func removeDatabase(path string) {
	for _, suffix := range []string{"", "-journal", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
}
