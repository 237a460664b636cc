package bieuquyet

import (
	"crypto/subtle"
	"strings"
	"unicode/utf8"
)

// IdentityKind says what a signing identity's value is.
type IdentityKind string

// The kinds of signing identity. A signed confirmation counts as the delegate's when its
// signing certificate is the one bound by fingerprint, or when the certificate's subject
// carries the delegate's personal id number (Vietnamese personal certificates put the
// CCCD or CMND number in the subject's UID or serialNumber attribute).
const (
	// IdentityCCCD is a Căn cước công dân (now Căn cước) number: exactly 12 digits.
	IdentityCCCD IdentityKind = "cccd"
	// IdentityCMND is a Chứng minh nhân dân number: 9 digits, or 12 for the late ones.
	IdentityCMND IdentityKind = "cmnd"
	// IdentityCertSHA256 is the SHA-256 of the signing certificate's DER encoding: 64 hex
	// digits, kept lower-case.
	IdentityCertSHA256 IdentityKind = "cert_sha256"
	// IdentityUnknown is a stored value written before identities were structured, kept
	// as its raw text so that nothing is lost and stored rows stay as they were hashed
	// into the audit trail. It never matches a certificate; write a real identity over it.
	IdentityUnknown IdentityKind = "unknown"
)

// SigningIdentity binds a person to the certificates that sign for them. The zero value
// binds none.
type SigningIdentity struct {
	Kind  IdentityKind
	Value string
}

// validIdentities says what a valid identity looks like, for error messages.
const validIdentities = "write CCCD:079203000101 (12 digits), CMND:271234567 (9 or 12 digits) or SHA256: and the certificate's 64-hex-digit fingerprint"

// ParseSigningIdentity reads the text form of a signing identity: a kind, then ':' or
// spaces, then the value, as in "CCCD:079203000101", "cccd 079203000101",
// "CMND:271234567" or "SHA256:AB:CD:…" (a fingerprint may be split by colons or spaces
// and written in either case). The kind is read without regard to case. An empty text is
// the zero identity. A bad text is a CodeInvalid error naming field and saying what a
// valid value looks like.
func ParseSigningIdentity(field, s string) (SigningIdentity, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return SigningIdentity{}, nil
	}
	bad := func(why string) (SigningIdentity, error) {
		shown := s
		if utf8.RuneCountInString(shown) > 100 {
			shown = string([]rune(shown)[:100]) + "…"
		}
		return SigningIdentity{}, Invalid(field, "%q is not a signing identity: %s", shown, why)
	}
	i := strings.IndexAny(s, ": \t")
	if i < 0 {
		return bad(validIdentities)
	}
	word, value := s[:i], strings.TrimSpace(s[i+1:])
	if s[i] != ':' && strings.HasPrefix(value, ":") { // "CCCD : 079203000101"
		value = value[1:]
	}
	var kind IdentityKind
	switch strings.ToLower(word) {
	case "cccd":
		kind = IdentityCCCD
	case "cmnd":
		kind = IdentityCMND
	case "sha256", "sha-256", "cert_sha256":
		kind = IdentityCertSHA256
	default:
		return bad(validIdentities)
	}
	id := SigningIdentity{Kind: kind, Value: value}.normalized()
	if why := id.problem(); why != "" {
		return bad(why)
	}
	return id, nil
}

// StoredSigningIdentity reads a signing identity as a store keeps it, String's text. Any
// other text, such as a free-text value stored before identities were structured, is kept
// as an IdentityUnknown holding it, so that StoredSigningIdentity(s).String() == s always.
func StoredSigningIdentity(s string) SigningIdentity {
	if s == "" {
		return SigningIdentity{}
	}
	if id, err := ParseSigningIdentity("", s); err == nil && id.String() == s {
		return id
	}
	return SigningIdentity{Kind: IdentityUnknown, Value: s}
}

// String is the canonical text form: "CCCD:079203000101", "CMND:271234567",
// "SHA256:<64 lower-case hex digits>", the raw text of an unknown identity, and "" for the
// zero identity. Stores keep it, and two people may not share it.
func (id SigningIdentity) String() string {
	switch id.Kind {
	case "":
		return id.Value
	case IdentityCCCD:
		return "CCCD:" + id.Value
	case IdentityCMND:
		return "CMND:" + id.Value
	case IdentityCertSHA256:
		return "SHA256:" + id.Value
	case IdentityUnknown:
		return id.Value
	}
	return string(id.Kind) + ":" + id.Value
}

// IsZero reports whether the identity binds nothing.
func (id SigningIdentity) IsZero() bool { return id == SigningIdentity{} }

// normalized trims the value and writes a fingerprint as bare lower-case hex.
func (id SigningIdentity) normalized() SigningIdentity {
	switch id.Kind {
	case IdentityCCCD, IdentityCMND:
		id.Value = strings.TrimSpace(id.Value)
	case IdentityCertSHA256:
		id.Value = strings.ToLower(strings.NewReplacer(":", "", " ", "", "\t", "").Replace(id.Value))
	}
	return id
}

// problem says what is wrong with a normalised identity of a known kind's value, or "".
func (id SigningIdentity) problem() string {
	switch id.Kind {
	case IdentityCCCD:
		if len(id.Value) != 12 || !allDigits(id.Value) {
			return "a CCCD number has exactly 12 digits, as CCCD:079203000101"
		}
	case IdentityCMND:
		if (len(id.Value) != 9 && len(id.Value) != 12) || !allDigits(id.Value) {
			return "a CMND number has 9 or 12 digits, as CMND:271234567"
		}
	case IdentityCertSHA256:
		if len(id.Value) != 64 || !allHex(id.Value) {
			return "a certificate's SHA-256 fingerprint has 64 hex digits, as SHA256:3f0c…e91a (colons allowed)"
		}
	}
	return ""
}

// check validates a normalised identity; field names it in violations
// ("person.signing_identity"), and its parts as field.kind and field.value. An unknown
// identity read from a store passes: it was checked as text when written, and it never
// matches.
func (id SigningIdentity) check(vs *Violations, field string) {
	switch id.Kind {
	case "":
		if id.Value != "" {
			vs.Add(field+".kind", "is required with a value: one of %s, %s, %s", IdentityCCCD, IdentityCMND, IdentityCertSHA256)
		}
	case IdentityCCCD, IdentityCMND, IdentityCertSHA256:
		if id.Value == "" {
			vs.Add(field+".value", "is required for a %s identity", id.Kind)
		} else if why := id.problem(); why != "" {
			vs.Add(field+".value", "%q is not valid: %s", id.Value, why)
		}
	case IdentityUnknown:
		checkText(vs, field+".value", id.Value, true)
	default:
		vs.Add(field+".kind", "%q is not a kind of signing identity: use %s, %s or %s", id.Kind, IdentityCCCD, IdentityCMND, IdentityCertSHA256)
	}
}

// Matches reports whether a signing certificate is this identity's. fingerprint is the
// hex SHA-256 of the certificate's DER encoding, in either case (colons allowed); personalIDs are the raw
// values of the certificate subject's UID and serialNumber attributes.
//
// A fingerprint identity matches its fingerprint only. A CCCD or CMND identity matches a
// personal id written as its digits, bare or after the prefix CCCD, CMND, CMT or CC
// followed by ':', '-' or a space, in any case: "CCCD:079203000101", "CMND-271234567",
// "079203000101". A 12-digit CMND and a CCCD with the same digits are one person's
// number (the 12-digit CMND carried over into the CCCD), so either kind matches either
// prefix; a CCCD or CC prefix before anything but 12 digits is malformed and matches
// nothing. Other ids (tax codes "MST:…", passports "HC:…") and unknown identities never
// match.
func (id SigningIdentity) Matches(fingerprint string, personalIDs []string) bool {
	switch id.Kind {
	case IdentityCertSHA256:
		if len(id.Value) != 64 {
			return false
		}
		fp := SigningIdentity{Kind: IdentityCertSHA256, Value: fingerprint}.normalized().Value
		return subtle.ConstantTimeCompare([]byte(fp), []byte(id.Value)) == 1
	case IdentityCCCD, IdentityCMND:
		if id.problem() != "" {
			return false
		}
		for _, raw := range personalIDs {
			if n, ok := personalNumber(raw); ok && n == id.Value {
				return true
			}
		}
	}
	return false
}

// personalNumber reads the digits of a certificate subject's personal id: bare digits, or
// digits after CCCD, CMND, CMT or CC and a ':', '-' or space.
func personalNumber(raw string) (string, bool) {
	s := strings.TrimSpace(raw)
	twelve := false
	for _, p := range []string{"CCCD", "CMND", "CMT", "CC"} { // CCCD before CC
		if len(s) > len(p) && strings.EqualFold(s[:len(p)], p) && strings.ContainsRune(":- ", rune(s[len(p)])) {
			s = strings.TrimSpace(s[len(p)+1:])
			twelve = p == "CCCD" || p == "CC"
			break
		}
	}
	if s == "" || !allDigits(s) || (twelve && len(s) != 12) {
		return "", false
	}
	return s, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func allHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Describe is the identity for people to read: "CCCD 079203000101", "SHA256 3f0c…".
func (id SigningIdentity) Describe() string {
	s := id.String()
	if id.Kind == IdentityUnknown || id.Kind == "" {
		return s
	}
	return strings.Replace(s, ":", " ", 1)
}
