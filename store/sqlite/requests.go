package sqlite

import (
	"context"
	"database/sql"
	"errors"

	bq "github.com/bieuquyet/bieuquyet"
)

// earlier looks up a request id for a write about to run in tx. found is false for a new
// id (or none); for a retry of the same request it returns what the first call made, and
// for any other use of the id the domain's refusal.
func earlier(ctx context.Context, tx *sql.Tx, a bq.Audit, action string, key bq.RequestKey) (result string, found bool, err error) {
	if key.ID == "" {
		return "", false, nil
	}
	var u bq.UsedRequest
	err = tx.QueryRowContext(ctx, `SELECT actor, action, fingerprint, result FROM requests WHERE request_id = ?`, key.ID).
		Scan(&u.Actor, &u.Action, &u.Fingerprint, &u.Result)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if err := key.Retry(&u, a.Actor, action); err != nil {
		return "", false, err
	}
	return u.Result, true, nil
}

// remember records what a write with a request id made, in its transaction.
func (s *Store) remember(ctx context.Context, tx *sql.Tx, a bq.Audit, action string, key bq.RequestKey, result string) error {
	if key.ID == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO requests (request_id, actor, action, fingerprint, result, create_time) VALUES (?, ?, ?, ?, ?, ?)`,
		key.ID, a.Actor, action, key.Fingerprint, result, nanos(s.now()))
	return err
}
