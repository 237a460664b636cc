package bieuquyet

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// TokenRole is what a bearer token stands for. Admin and secretariat tokens belong to the
// Office (Điều 5), whose people need not be in the roster; a person token belongs to one
// person of the roster, whose rights follow from the roster: a delegate, staff, and the
// leader of the groups they lead.
type TokenRole string

// The token roles.
const (
	TokenAdmin       TokenRole = "admin"
	TokenSecretariat TokenRole = "secretariat"
	TokenPerson      TokenRole = "person"
)

// Valid reports whether r is a known token role.
func (r TokenRole) Valid() bool {
	return r == TokenAdmin || r == TokenSecretariat || r == TokenPerson
}

// Token is a bearer credential. Only the SHA-256 of its secret is stored: the secret is
// shown once, when the token is created.
type Token struct {
	ID         int64
	Name       string // who or what it is for: "Văn phòng - Nguyễn Thị Quản trị"
	Role       TokenRole
	PersonID   int64 // for TokenPerson only
	Hash       [32]byte
	CreatedBy  string // the actor who created it
	CreateTime time.Time
	ExpireTime time.Time
	RevokeTime time.Time // zero while not revoked
}

// MaxTokenTTL bounds how long a token may live.
const MaxTokenTTL = 2 * 366 * 24 * time.Hour

// tokenPrefix makes a token recognisable in a config file or a leaked paste.
const tokenPrefix = "bq_"

// NewTokenSecret returns a fresh secret of 256 random bits and its hash.
func NewTokenSecret() (string, [32]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", [32]byte{}, fmt.Errorf("token secret: %w", err)
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, HashToken(secret), nil
}

// HashToken is the stored form of a secret.
func HashToken(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// LooksLikeToken reports whether s has the shape of a secret, so a malformed header is
// refused before any lookup.
func LooksLikeToken(s string) bool {
	return strings.HasPrefix(s, tokenPrefix) && len(s) == len(tokenPrefix)+43
}

// Validate checks a token about to be created.
func (t *Token) Validate(prefix string, now time.Time) Violations {
	var vs Violations
	checkText(&vs, prefix+".display_name", t.Name, true)
	switch {
	case !t.Role.Valid():
		vs.Add(prefix+".role", "must be admin, secretariat or person")
	case t.Role == TokenPerson && t.PersonID == 0:
		vs.Add(prefix+".person", "is required for a person token")
	case t.Role != TokenPerson && t.PersonID != 0:
		vs.Add(prefix+".person", "only a person token names a person")
	}
	switch {
	case !t.ExpireTime.After(now):
		vs.Add(prefix+".expire_time", "must be in the future")
	case t.ExpireTime.Sub(now) > MaxTokenTTL:
		vs.Add(prefix+".expire_time", "may be at most two years away")
	}
	return vs
}

// Principal is an authenticated caller: a token and, for person tokens, the person with
// their group memberships as they were when the call began.
type Principal struct {
	TokenID     int64
	TokenName   string
	TokenExpiry time.Time
	Role        TokenRole
	Person      *Person        // nil for admin and secretariat
	Groups      map[int64]Role // the person's memberships, by group id
}

// Actor names the principal in the audit trail: the person for a person token (nobody
// acts for someone else, Điều 8.3 and 10.7), else the token.
func (p *Principal) Actor() string {
	if p.Person != nil {
		return PersonName(p.Person.ID)
	}
	return TokenName(p.TokenID)
}

// Credential names the token the principal used.
func (p *Principal) Credential() string { return TokenName(p.TokenID) }

// IsAdmin reports whether the principal holds an admin token.
func (p *Principal) IsAdmin() bool { return p.Role == TokenAdmin }

// IsOffice reports whether the principal is the Office: admin or secretariat.
func (p *Principal) IsOffice() bool { return p.Role == TokenAdmin || p.Role == TokenSecretariat }

// MemberOf reports whether the principal's person belongs to group id in any role.
func (p *Principal) MemberOf(group int64) bool {
	_, ok := p.Groups[group]
	return ok
}

// Leads reports whether the principal's person leads group id.
func (p *Principal) Leads(group int64) bool { return p.Groups[group] == RoleLeader }

// Audit says who asks for a change, for the event the change appends.
type Audit struct {
	Actor      string // "people/12", "tokens/3", or "local:bieuquyet-server" offline
	Credential string // "tokens/3"; empty offline
	RequestID  string
}
