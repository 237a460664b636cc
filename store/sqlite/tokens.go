package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

const tokenColumns = `id, name, role, COALESCE(person_id, 0), hash, created_by, create_time, expire_time, revoke_time`

func scanToken(r scanner) (*bq.Token, error) {
	var t bq.Token
	var hash []byte
	var ct, et, rt int64
	if err := r.Scan(&t.ID, &t.Name, &t.Role, &t.PersonID, &hash, &t.CreatedBy, &ct, &et, &rt); err != nil {
		return nil, err
	}
	copy(t.Hash[:], hash)
	t.CreateTime, t.ExpireTime = fromNanos(ct), fromNanos(et)
	if rt != 0 {
		t.RevokeTime = fromNanos(rt)
	}
	return &t, nil
}

// CreateToken stores a token (its hash) and returns it with its id. A person token needs
// an active person. A retry of the same request makes no second token: the first one gets
// the new hash, since its secret never reached the caller, who would otherwise hold none.
func (s *Store) CreateToken(ctx context.Context, a bq.Audit, t *bq.Token, key bq.RequestKey) (*bq.Token, error) {
	var out *bq.Token
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if prior, found, err := earlier(ctx, tx, a, "CreateToken", key); err != nil || found {
			if found {
				out, err = s.reissue(ctx, tx, a, prior, t.Hash)
			}
			return err
		}
		c := *t
		var personID any
		whom := string(c.Role)
		if c.Role == bq.TokenPerson {
			p, err := getPerson(ctx, tx, c.PersonID)
			if bq.ErrorCode(err) == bq.CodeNotFound {
				return bq.Invalid("token.person", "people/%d does not exist", c.PersonID)
			}
			if err != nil {
				return err
			}
			if !p.Active {
				return bq.Errorf(bq.CodeFailedPrecondition, "%s is deactivated", p.FullName)
			}
			personID = c.PersonID
			whom = "person " + bq.PersonLabel(p.FullName, p.ID)
		}
		c.CreatedBy, c.CreateTime = a.Actor, s.now().UTC()
		res, err := tx.ExecContext(ctx, `INSERT INTO tokens (name, role, person_id, hash, created_by, create_time, expire_time)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, c.Name, c.Role, personID, c.Hash[:], c.CreatedBy, nanos(c.CreateTime), nanos(c.ExpireTime))
		if err != nil {
			return err
		}
		if c.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		out = &c
		if err := s.remember(ctx, tx, a, "CreateToken", key, bq.TokenName(c.ID)); err != nil {
			return err
		}
		return s.record(ctx, tx, a, "CreateToken", bq.TokenName(c.ID), "created %s token %q, expires %s",
			whom, c.Name, c.ExpireTime.Format("2006-01-02 15:04 MST"))
	})
	return out, err
}

// reissue gives the token a retried CreateToken made a new hash, unless it was revoked
// since.
func (s *Store) reissue(ctx context.Context, tx *sql.Tx, a bq.Audit, name string, hash [32]byte) (*bq.Token, error) {
	id, err := bq.ParseName("result", bq.Tokens, name)
	if err != nil {
		return nil, fmt.Errorf("request result %q: %w", name, err)
	}
	t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
	if err != nil {
		return nil, err
	}
	if !t.RevokeTime.IsZero() {
		return nil, bq.Errorf(bq.CodeFailedPrecondition, "%s, which this request created, was revoked since", name)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE tokens SET hash = ? WHERE id = ?`, hash[:], id); err != nil {
		return nil, err
	}
	t.Hash = hash
	return t, s.record(ctx, tx, a, "CreateToken", name, "issued a new secret for %s token %q: the request was sent again, so the first secret never arrived", t.Role, t.Name)
}

// ListTokens returns tokens in id order. Secrets are never stored, so never listed.
func (s *Store) ListTokens(ctx context.Context, f store.TokenFilter) ([]bq.Token, error) {
	where, args := []string{"id > ?"}, []any{f.AfterID}
	if f.PersonID != 0 {
		where, args = append(where, "person_id = ?"), append(args, f.PersonID)
	}
	if !f.IncludeRevoked {
		where = append(where, "revoke_time = 0")
	}
	args = append(args, f.Limit)
	var out []bq.Token
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = collect(ctx, tx, scanToken, `SELECT `+tokenColumns+` FROM tokens WHERE `+strings.Join(where, " AND ")+` ORDER BY id LIMIT ?`, args...)
		return err
	})
	return out, err
}

// RevokeToken ends a token at once.
func (s *Store) RevokeToken(ctx context.Context, a bq.Audit, id int64) (*bq.Token, error) {
	var out *bq.Token
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return bq.Errorf(bq.CodeNotFound, "tokens/%d does not exist", id)
		}
		if err != nil {
			return err
		}
		if !t.RevokeTime.IsZero() {
			return bq.Errorf(bq.CodeFailedPrecondition, "tokens/%d was already revoked", id)
		}
		t.RevokeTime = s.now().UTC()
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoke_time = ? WHERE id = ?`, nanos(t.RevokeTime), id); err != nil {
			return err
		}
		out = t
		return s.record(ctx, tx, a, "RevokeToken", bq.TokenName(id), "revoked %s token %q", t.Role, t.Name)
	})
	return out, err
}

// Authenticate finds the principal behind a token's hash, with the person's group
// memberships for person tokens.
func (s *Store) Authenticate(ctx context.Context, hash [32]byte) (*bq.Principal, error) {
	gen := s.committed.Load()
	if p, ok := s.principals.get(hash, gen, s.now()); ok {
		return p, nil
	}
	var p *bq.Principal
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		t, err := scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE hash = ?`, hash[:]))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrBadToken
		}
		if err != nil {
			return err
		}
		if !t.RevokeTime.IsZero() || !s.now().Before(t.ExpireTime) {
			return store.ErrBadToken
		}
		p = &bq.Principal{TokenID: t.ID, TokenName: t.Name, TokenExpiry: t.ExpireTime, Role: t.Role}
		if t.Role != bq.TokenPerson {
			return nil
		}
		if p.Person, err = getPerson(ctx, tx, t.PersonID); err != nil {
			return err
		}
		if !p.Person.Active {
			return store.ErrBadToken
		}
		p.Groups, err = memberships(ctx, tx, t.PersonID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.principals.put(hash, gen, p)
	return p, nil
}

func memberships(ctx context.Context, tx *sql.Tx, personID int64) (map[int64]bq.Role, error) {
	rows, err := tx.QueryContext(ctx, `SELECT group_id, role FROM group_members WHERE person_id = ?`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bq.Role{}
	for rows.Next() {
		var g int64
		var r bq.Role
		if err := rows.Scan(&g, &r); err != nil {
			return nil, err
		}
		out[g] = r
	}
	return out, rows.Err()
}

// SharesGroup reports whether two people belong to a common group.
func (s *Store) SharesGroup(ctx context.Context, a, b int64) (bool, error) {
	var n int
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT count(*) FROM group_members x JOIN group_members y ON x.group_id = y.group_id
			WHERE x.person_id = ? AND y.person_id = ?`, a, b).Scan(&n)
	})
	return n > 0, err
}
