package sqlite

import (
	"context"
	"database/sql"
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
	problems, err := fileProblems(ctx, conn)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("the database file is damaged: %s", strings.Join(problems, "; "))
	}
	return nil
}

// querier is what runs a pragma: a connection or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// fileProblems runs integrity_check and foreign_key_check and returns what they found,
// one line each; none for a sound file. CheckIntegrity and the backup's check of its copy
// share it.
func fileProblems(ctx context.Context, q querier) ([]string, error) {
	integrity, err := pragmaRows(ctx, q, "PRAGMA integrity_check")
	if err != nil {
		return nil, fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	if len(integrity) != 1 || integrity[0] != "ok" {
		problems = integrity
	}
	fk, err := pragmaRows(ctx, q, "PRAGMA foreign_key_check")
	if err != nil {
		return nil, fmt.Errorf("foreign key check: %w", err)
	}
	for _, row := range fk {
		// table, rowid, parent, foreign key id
		problems = append(problems, "foreign key check: "+row)
	}
	return problems, nil
}

// pragmaRows runs a checking pragma and returns its rows, each one line.
func pragmaRows(ctx context.Context, q querier, pragma string) ([]string, error) {
	rows, err := q.QueryContext(ctx, pragma)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = v.String
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out, rows.Err()
}
