package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

func TestCheckIntegrity(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	if err := s.CheckIntegrity(ctx); err != nil {
		t.Fatalf("CheckIntegrity of a fresh database: %v", err)
	}

	// A membership of a group and a person that do not exist, written past the store
	// with foreign keys off, as a damaged or hand-edited file would hold it.
	raw, err := sql.Open("sqlite3", path+"?_foreign_keys=off")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`INSERT INTO group_members (group_id, person_id, role) VALUES (999, 998, 'member')`); err != nil {
		t.Fatal(err)
	}
	err = s.CheckIntegrity(ctx)
	if err == nil || !strings.Contains(err.Error(), "group_members") {
		t.Fatalf("CheckIntegrity with a dangling membership = %v, want an error naming group_members", err)
	}
}
