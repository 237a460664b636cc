package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// CheckIntegrity runs SQLite's own checks of the file: `PRAGMA integrity_check` (every
// page, index and constraint) and `PRAGMA foreign_key_check`. It returns nil when both
// find nothing, else an error naming what they found. It reads the whole database, so it
// is for tools (the crash test, a check after a restore), not for requests.
func (s *Store) CheckIntegrity(ctx context.Context) error {
	conn, err := s.read.Conn(ctx)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	fk, err := conn.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	for fk.Next() {
		var table, parent string
		var rowid *int64
		var index int64
		if err := fk.Scan(&table, &rowid, &parent, &index); err != nil {
			fk.Close()
			return fmt.Errorf("foreign key check: %w", err)
		}
		row := "without rowid"
		if rowid != nil {
			row = fmt.Sprintf("rowid %d", *rowid)
		}
		problems = append(problems, fmt.Sprintf("%s %s: no row in %s for its foreign key %d", table, row, parent, index))
	}
	if err := errors.Join(fk.Err(), fk.Close()); err != nil {
		return fmt.Errorf("foreign key check: %w", err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("the database file is damaged: %s", strings.Join(problems, "; "))
	}
	return nil
}
