// Package sqlite keeps the service's state in SQLite. It is the only package with SQL.
// Every exported method runs in one transaction, so a failed call leaves nothing behind.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// Uniqueness is checked by query inside each write transaction (one writer, BEGIN
	// IMMEDIATE), so that callers learn whom they collide with; no constraint error needs
	// classifying.
	"github.com/mattn/go-sqlite3"

	"github.com/bieuquyet/bieuquyet/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// driverName is the driver with the settings the DSN cannot make: temporary files in
// memory. The biggest of them is the journal of a savepoint (each vote of a group commit
// has one), which only a rollback to the savepoint reads; on disk it cost some 25 writes
// a vote. Durability rests on the WAL alone.
const driverName = "sqlite3-bieuquyet"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA temp_store = MEMORY", nil)
		return err
	}})
}

// busyTimeout is how long a connection waits for another process's lock (the offline
// token command, a backup) before giving up.
const busyTimeout = 10 * time.Second

// Store is the SQLite back-end of the storage contract.
var _ store.Store = (*Store)(nil)

// Store is an open database. Writes go through one connection, so they never wait on each
// other inside SQLite and a later group commit has one place to live; reads use a pool.
type Store struct {
	write *sql.DB
	read  *sql.DB
	now   func() time.Time
	log   *slog.Logger
	watch VoteObserver

	// The vote writer (see RecordVote). votes is unbuffered: a vote is queued only when
	// the writer takes it, so none is left behind at Close.
	votes      chan *voteJob
	quit       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	// opened is set once Open succeeded: only then does Close write (it folds the
	// pending denial runs), so a database Open refused is left as it was.
	opened bool
	// denialsDue is when the earliest pending denial run ends, as far as this store knows
	// (0: not known yet); until then a write need not look for runs to fold.
	denialsDue atomic.Int64
	// writes counts the write transactions other than the vote writer's (inTx), so that
	// the writer knows when what it keeps (cache) may be stale.
	writes atomic.Int64
	cache  writerCache
	// committed counts the ends of those transactions, committed or not: a principal read
	// before one ended may be stale after it (principals).
	committed  atomic.Int64
	principals principalCache
}

// Options tune Open. The zero value is fine for production.
type Options struct {
	// Now is the clock; tests inject their own.
	Now func() time.Time
	// Logger receives the store's own messages (migrations applied).
	Logger *slog.Logger
	// Observer, when set, learns of every batch the vote writer commits (metrics).
	Observer VoteObserver
}

// VoteObserver learns of each transaction of the vote writer (see RecordVote): how many
// votes it carried and how long it took, from BEGIN to the end of COMMIT, fsync included.
// It is called on the writer's goroutine, between batches, so it must return at once.
type VoteObserver interface {
	ObserveVoteBatch(size int, took time.Duration)
}

// Open opens (creating if needed) the database at path, checks that its pragmas took,
// and applies pending migrations. A database written by a newer version is refused and
// left untouched.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if !plainPath(path) {
		return nil, fmt.Errorf("open store: %q is not a plain file path", path)
	}
	s := &Store{now: opts.Now, log: opts.Logger, watch: opts.Observer}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// synchronous=FULL: a vote is acknowledged only once it is on disk, even across a
	// power cut; the driver's WAL default (NORMAL) could lose the last commits.
	params := fmt.Sprintf("_journal_mode=WAL&_synchronous=FULL&_foreign_keys=on&_busy_timeout=%d", busyTimeout.Milliseconds())
	var err error
	// IMMEDIATE transactions take the write lock at BEGIN, so a writer never fails half
	// way through when another process (the offline token command) writes too. The one
	// write connection keeps its prepared statements: preparing cost the vote path more
	// than running them did.
	if s.write, err = sql.Open(driverName, path+"?"+params+"&_txlock=immediate&_stmt_cache_size=64"); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetConnMaxIdleTime(0)
	// query_only, not mode=ro: the driver honours mode=ro only in file: URIs, and
	// checkPragmas reads query_only back.
	if s.read, err = sql.Open(driverName, path+"?"+params+"&_query_only=1"); err != nil {
		s.write.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	s.read.SetMaxOpenConns(8)
	s.votes, s.quit, s.writerDone = make(chan *voteJob), make(chan struct{}), make(chan struct{})
	if err := s.init(ctx); err != nil {
		close(s.writerDone)
		s.Close()
		return nil, err
	}
	s.opened = true
	go s.writeVotes()
	return s, nil
}

func (s *Store) init(ctx context.Context) error {
	// The write connection creates the file and switches it to WAL; it must exist before
	// read-only connections can open it.
	if err := checkPragmas(ctx, s.write, false); err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	return checkPragmas(ctx, s.read, true)
}

// checkPragmas reads the settings back: the driver applies them silently and a typo or
// an old driver would otherwise leave the store less durable than it claims.
func checkPragmas(ctx context.Context, db *sql.DB, readOnly bool) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer conn.Close()
	want := []struct {
		pragma string
		value  string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
		{"query_only", map[bool]string{false: "0", true: "1"}[readOnly]},
		{"temp_store", "2"}, // MEMORY
	}
	for _, w := range want {
		var got string
		if err := conn.QueryRowContext(ctx, "PRAGMA "+w.pragma).Scan(&got); err != nil {
			return fmt.Errorf("open store: read pragma %s: %w", w.pragma, err)
		}
		if !strings.EqualFold(got, w.value) {
			return fmt.Errorf("open store: pragma %s is %q, want %q", w.pragma, got, w.value)
		}
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var ms []migration
	for i, name := range names {
		var v int
		if _, err := fmt.Sscanf(strings.TrimPrefix(name, "migrations/"), "%04d_", &v); err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: file names must be numbered 0001_, 0002_, … without gaps", name)
		}
		b, err := migrationFiles.ReadFile(name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion is the schema version this build writes.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err) // the embedded files are fixed at build time; a test covers them
	}
	return len(ms)
}

// ErrNewerSchema is returned by Open for a database written by a newer version.
var ErrNewerSchema = errors.New("database was written by a newer version of bieuquyet")

func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	var current int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
		return fmt.Errorf("open store: read schema version: %w", err)
	}
	if current > len(ms) {
		return fmt.Errorf("open store: %w (schema version %d; this build knows up to %d): upgrade bieuquyet-server, the database was not changed", ErrNewerSchema, current, len(ms))
	}
	for _, m := range ms[current:] {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			if err := s.afterMigration(ctx, tx, m.version); err != nil {
				return err
			}
			// user_version is part of the database header, so it commits with the schema.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("open store: apply %s: %w", m.name, err)
		}
		s.log.Info("applied migration", "version", m.version, "file", m.name)
	}
	return nil
}

// Close folds the pending runs of repeated denials into the audit trail and closes the
// database. WAL contents are checkpointed by SQLite as the last connection closes.
func (s *Store) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		close(s.quit)
		<-s.writerDone
		if s.opened {
			errs = append(errs, s.endDenialRuns(context.Background()))
		}
	})
	<-s.writerDone
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	return errors.Join(errs...)
}

// inTx runs fn in a write transaction and commits when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	// Counted while this transaction holds the one write connection: the vote writer,
	// which checks the count inside its own transactions, sees it in any transaction
	// that follows this one.
	s.writes.Add(1)
	defer s.committed.Add(1) // after the commit: a principal read before it is then stale
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// readTx runs fn in a read transaction, so that what it reads is one consistent snapshot.
func (s *Store) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// collect runs a query in tx and scans every row it returns.
func collect[T any](ctx context.Context, tx *sql.Tx, scan func(scanner) (*T, error), query string, args ...any) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, rows.Err()
}

func nanos(t time.Time) int64 { return t.UTC().UnixNano() }

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
