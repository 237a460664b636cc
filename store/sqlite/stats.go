package sqlite

import (
	"context"
	"database/sql"

	bq "github.com/bieuquyet/bieuquyet"
)

// These counts are for monitoring (internal/metrics reads them at each scrape), not part
// of the storage contract: the server never needs them. Each is one aggregate query over
// a table that holds a council's polls, small beside the votes.

// OpenPolls counts the polls taking votes.
func (s *Store) OpenPolls(ctx context.Context) (int, error) {
	var n int
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM polls WHERE state = ?`, bq.StateOpen).Scan(&n)
	})
	return n, err
}

// ConfirmationsByStatus counts the issued confirmations in each status; a status no
// confirmation is in is missing from the map.
func (s *Store) ConfirmationsByStatus(ctx context.Context) (map[bq.ConfirmationStatus]int, error) {
	out := map[bq.ConfirmationStatus]int{}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT status, count(*) FROM confirmations GROUP BY status`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var status bq.ConfirmationStatus
			var n int
			if err := rows.Scan(&status, &n); err != nil {
				return err
			}
			out[status] = n
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
