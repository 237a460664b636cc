package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// openTest opens a fresh database file on a clock that ticks a second per reading.
func openTest(t testing.TB) (*Store, string) {
	t.Helper()
	return openOn(t, storetest.NewClock().Tick)
}

// openOn opens a fresh database file on the clock now.
func openOn(t testing.TB, now func() time.Time) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	s, err := Open(context.Background(), path, Options{Now: now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenSetsDurablePragmasOnEveryPool(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.read.ExecContext(ctx, `INSERT INTO council (id, name, term, place, update_time) VALUES (1, 'x', 'x', 'x', 0)`); err == nil {
		t.Error("the read pool wrote to the database")
	}
	for name, db := range map[string]*sql.DB{"write": s.write, "read": s.read} {
		for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "temp_store": "2"} {
			var got string
			if err := db.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatalf("%s pool: PRAGMA %s: %v", name, pragma, err)
			}
			if got != want {
				t.Errorf("%s pool: PRAGMA %s = %q, want %q", name, pragma, got, want)
			}
		}
	}
}

func TestOpenRecordsSchemaVersionAndReopens(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	var v int
	if err := s.write.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion() || v < 1 {
		t.Fatalf("user_version = %d, want %d", v, SchemaVersion())
	}
	if _, err := s.CreatePerson(ctx, storetest.Audit, &bq.Person{FullName: "Trần Thị Bình", Delegate: true, Phone: "+84900000001"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	people, err := s2.ListPeople(ctx, store.PeopleFilter{Limit: 10})
	if err != nil || len(people) != 1 || people[0].FullName != "Trần Thị Bình" {
		t.Fatalf("after reopen: %v, %v", people, err)
	}
}

func TestOpenRefusesNewerSchemaAndLeavesItAlone(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	future := SchemaVersion() + 5
	if _, err := s.write.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(future)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := Open(ctx, path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer database: %v, want ErrNewerSchema", err)
	}
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v int
	if err := raw.QueryRow("PRAGMA user_version").Scan(&v); err != nil || v != future {
		t.Fatalf("user_version after refusal = %d (%v), want %d untouched", v, err, future)
	}
}

func TestOpenRejectsNonFilePaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "a.db?mode=memory"} {
		if s, err := Open(context.Background(), p, Options{}); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", p)
		}
	}
}
