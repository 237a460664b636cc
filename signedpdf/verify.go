package signedpdf

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Reason is why a file is rejected: a stable snake_case code the server maps to its API.
type Reason string

// The reasons, in the order Verify checks them.
const (
	// ReasonEmpty: the file has no bytes.
	ReasonEmpty Reason = "empty"
	// ReasonNotPDF: the file does not start with a PDF header.
	ReasonNotPDF Reason = "not_pdf"
	// ReasonTruncated: the file is a strict prefix of the issued document, or has no
	// end-of-file trailer (startxref, %%EOF) where one must be.
	ReasonTruncated Reason = "truncated"
	// ReasonNotIssuedPrefix: the issued document's bytes are not the file's first bytes:
	// it was rewritten rather than incrementally updated, or is another document.
	ReasonNotIssuedPrefix Reason = "not_issued_prefix"
	// ReasonMalformed: the bytes after the issued document cannot be read as PDF
	// revisions (bad xref, object, stream, or signature dictionary structure).
	ReasonMalformed Reason = "malformed"
	// ReasonTooComplex: reading the file would exceed a limit on objects, nesting,
	// decompressed size, revisions or comparison work.
	ReasonTooComplex Reason = "too_complex"
	// ReasonUnsigned: the file is the issued document, or adds no signature field with
	// a signature value.
	ReasonUnsigned Reason = "unsigned"
	// ReasonUnsupported: a signature of a kind this package does not verify (a
	// SubFilter other than adbe.pkcs7.detached, ETSI.CAdES.detached, ETSI.RFC3161).
	ReasonUnsupported Reason = "unsupported_signature"
	// ReasonBadSignature: a signature's ByteRange is malformed, its CMS does not parse,
	// has other than one signer, or does not verify over the signed bytes (the file was
	// altered after signing), or a timestamp's imprint does not match.
	ReasonBadSignature Reason = "bad_signature"
	// ReasonNotWholeFile: a signature does not cover the whole issued document, or the
	// last signature does not reach the end of the file (something was appended after
	// signing).
	ReasonNotWholeFile Reason = "not_whole_file"
	// ReasonChanged: an update after the issued document changes something a signer may
	// not change (page content or resources, pages, annotations other than signature
	// widgets, form values, catalog entries, encryption); Detail names it.
	ReasonChanged Reason = "changed"
	// ReasonCriticalExtension: the signer's certificate (or one in its chain) has a
	// critical extension this verifier does not understand.
	ReasonCriticalExtension Reason = "critical_extension"
	// ReasonExpired: the signer's certificate (or its chain) is not valid at the time
	// the file was received: expired or not yet valid.
	ReasonExpired Reason = "expired"
	// ReasonUntrusted: the signer's certificate does not chain to a trusted root.
	ReasonUntrusted Reason = "untrusted"
	// ReasonKeyUsage: the signer's certificate is not for signing: its KeyUsage has
	// neither digitalSignature nor contentCommitment (nonRepudiation).
	ReasonKeyUsage Reason = "key_usage"
	// ReasonSigningTime: the claimed signing time lies outside [issue time, receive
	// time] (with clock skew), outside the certificate's validity, or cannot be read.
	ReasonSigningTime Reason = "signing_time"
)

var reasonText = map[Reason]string{
	ReasonEmpty:             "the file is empty",
	ReasonNotPDF:            "the file is not a PDF",
	ReasonTruncated:         "the file is truncated",
	ReasonNotIssuedPrefix:   "the file does not begin with the issued document",
	ReasonMalformed:         "the file's additions cannot be read",
	ReasonTooComplex:        "the file is too complex to check",
	ReasonUnsigned:          "the file is not signed",
	ReasonUnsupported:       "the file has a kind of signature that cannot be checked",
	ReasonBadSignature:      "a signature does not verify",
	ReasonNotWholeFile:      "a signature does not cover the whole file",
	ReasonChanged:           "the file changes the document after it was issued",
	ReasonCriticalExtension: "the signer's certificate has an unknown critical extension",
	ReasonExpired:           "the signer's certificate is not valid at the time of receipt",
	ReasonUntrusted:         "the signer's certificate is not from a trusted authority",
	ReasonKeyUsage:          "the signer's certificate is not for signing",
	ReasonSigningTime:       "the signing time is not plausible",
}

// Rejection is why a file is not accepted.
type Rejection struct {
	Reason Reason
	// Detail names what is wrong, for people: "page 1: /Contents changed".
	Detail string
}

func (r *Rejection) Error() string {
	s, ok := reasonText[r.Reason]
	if !ok {
		s = string(r.Reason)
	}
	if r.Detail != "" {
		s += ": " + r.Detail
	}
	return s
}

func reject(reason Reason, format string, a ...any) *Rejection {
	return &Rejection{Reason: reason, Detail: fmt.Sprintf(format, a...)}
}

// readErr turns an error from reading the file into a rejection: too_complex for a
// limit, changed for a change, malformed otherwise.
func readErr(where string, err error) *Rejection {
	var ce *changeErr
	switch {
	case errors.As(err, &ce):
		return reject(ReasonChanged, "%s", ce.what)
	case errors.Is(err, errLimit):
		return reject(ReasonTooComplex, "%s: %v", where, err)
	}
	return reject(ReasonMalformed, "%s: %v", where, err)
}

// Options are what Verify checks a file against.
type Options struct {
	// Roots are the trusted root certificates; the file's own certificates serve only
	// as intermediates. Nil trusts nothing.
	Roots *x509.CertPool
	// IssueTime is when the confirmation was issued: no signature is older.
	IssueTime time.Time
	// ReceiveTime is when the file was received: certificates must be valid then, and no
	// signature is newer. Required.
	ReceiveTime time.Time
	// ClockSkew is allowed on both ends of the signing time's window; 0 means 5 minutes.
	ClockSkew time.Duration
	// SignatureArea, when not all zero, is the rectangle [llx lly urx ury] (PDF points)
	// that new signature widgets must lie in (to a point), or be empty: a widget's
	// appearance is drawn over the page, and one as large as the page could hide the
	// issued content behind a signature stamp. For a confirmation it is the signature
	// area of docs/confirmation-format.md.
	SignatureArea [4]float64
}

// Result is a file accepted by Verify.
type Result struct {
	// Signatures in file order; the last one covers the whole file.
	Signatures []Signature
}

// Signature is one verified signature.
type Signature struct {
	// Field is the signature field's /T.
	Field string
	// Subject and Issuer are the leaf certificate's names in RFC 2253 form
	// (pkix.Name.String).
	Subject, Issuer string
	// Serial is the leaf certificate's serial number in lower-case hexadecimal, without
	// a prefix or leading zeros.
	Serial string
	// Fingerprint is the lower-case hex SHA-256 of the leaf certificate's DER.
	Fingerprint string
	// SigningTime is the claimed time of signing; zero when the file claims none.
	SigningTime time.Time
	// TimeSource says where SigningTime comes from: "signing_time_attribute" (the CMS
	// signingTime signed attribute), "sig_dict_m" (the signature dictionary's /M, which is
	// not signed by the CMS), "timestamp_token" (a document timestamp's genTime), or
	// "none".
	TimeSource string
	// Timestamp is true for a document timestamp (/Type /DocTimeStamp): a time
	// authority's token, not a person's signature.
	Timestamp bool
	// PersonalIDs are the raw values of the subject's UID (0.9.2342.19200300.100.1.1)
	// and serialNumber (2.5.4.5) attributes, such as "CCCD:079203000101".
	PersonalIDs []string
	// Certificate is the signer's (leaf) certificate.
	Certificate *x509.Certificate
	// Page and Rect place the signature's widget: the 1-based page and its /Rect in PDF
	// points; Page is 0 for a signature without a widget on a page.
	Page int
	Rect [4]float64
}

// Identity is what a file says it is.
type Identity struct {
	// Name is the confirmation's name from the final revision's Info /Subject, such as
	// "polls/3/confirmations/12"; empty when the file has none or it cannot be read.
	Name string
	// IssuedSHA256 is the lower-case hex SHA-256 of the first revision: the bytes up to
	// and including the first %%EOF line and its end of line. It equals the issued
	// document's digest when the file is an incremental update of it.
	IssuedSHA256 string
}

// Identify reads which confirmation a file claims to be. Only an empty file, a file that
// is not PDF, or one without any %%EOF is an error (a *Rejection); a missing or
// unreadable /Subject gives an empty Name, so that the caller falls back to the digest.
func Identify(file []byte) (id Identity, err error) {
	defer func() {
		// The parser is written not to panic; this keeps a missed case from taking
		// the server down.
		if r := recover(); r != nil {
			id, err = Identity{}, reject(ReasonMalformed, "internal error reading the file: %v", r)
		}
	}()
	if len(file) == 0 {
		return Identity{}, reject(ReasonEmpty, "")
	}
	if !bytes.HasPrefix(file, []byte("%PDF-")) {
		return Identity{}, reject(ReasonNotPDF, "no %%PDF- header")
	}
	n := firstRevisionEnd(file)
	if n < 0 {
		return Identity{}, reject(ReasonTruncated, "no %%EOF")
	}
	sum := sha256.Sum256(file[:n])
	id.IssuedSHA256 = hex.EncodeToString(sum[:])
	d, _, err := open(file, &budget{})
	if err != nil {
		return id, nil
	}
	iv, err := d.resolve(d.trailer["Info"])
	if err != nil {
		return id, nil
	}
	info, _ := iv.(Dict)
	sv, err := d.resolve(info["Subject"])
	if err != nil {
		return id, nil
	}
	if s, ok := sv.(String); ok {
		id.Name = textString(s)
	}
	return id, nil
}

// firstRevisionEnd is the offset after the first "%%EOF" and its end of line (CR, LF or
// CRLF), or -1.
func firstRevisionEnd(b []byte) int {
	i := bytes.Index(b, []byte("%%EOF"))
	if i < 0 {
		return -1
	}
	i += len("%%EOF")
	switch {
	case bytes.HasPrefix(b[i:], []byte("\r\n")):
		i += 2
	case i < len(b) && (b[i] == '\r' || b[i] == '\n'):
		i++
	}
	return i
}

// textString decodes a PDF text string: UTF-16BE or UTF-8 with a byte order mark, else
// PDFDocEncoding (read as Latin-1, which it equals for every character we write).
func textString(s String) string {
	b := []byte(s)
	switch {
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		b = b[2:]
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		return string(utf16.Decode(u))
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		if utf8.Valid(b[3:]) {
			return string(b[3:])
		}
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// Verify checks that file is the issued document signed as the service requires, and
// returns its signatures. A file that is not is rejected with a *Rejection; other
// errors are the caller's (a bad issued document or Options).
func Verify(issued, file []byte, opt Options) (res *Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, reject(ReasonMalformed, "internal error reading the file: %v", r)
		}
	}()
	if opt.ReceiveTime.IsZero() {
		return nil, errors.New("signedpdf: Options.ReceiveTime is required")
	}
	if opt.ClockSkew == 0 {
		opt.ClockSkew = 5 * time.Minute
	}
	switch {
	case len(file) == 0:
		return nil, reject(ReasonEmpty, "")
	case !bytes.HasPrefix(file, []byte("%PDF-")):
		return nil, reject(ReasonNotPDF, "no %%PDF- header")
	case len(file) < len(issued) && bytes.HasPrefix(issued, file):
		return nil, reject(ReasonTruncated, "the file has %d of the issued document's %d bytes", len(file), len(issued))
	case !bytes.HasPrefix(file, issued):
		return nil, reject(ReasonNotIssuedPrefix, "the first %d bytes differ from the issued document at byte %d", len(issued), firstDiff(issued, file))
	case len(file) == len(issued):
		return nil, reject(ReasonUnsigned, "the file is the issued document")
	}

	bud := &budget{}
	issuedOff, err := startxref(issued)
	if err != nil {
		return nil, fmt.Errorf("signedpdf: issued document: %w", err)
	}
	a := newDoc(issued, bud)
	secs, err := a.chain(issuedOff, -1)
	if err != nil {
		return nil, fmt.Errorf("signedpdf: issued document: %w", err)
	}
	a.apply(secs)

	tail := file[len(issued):]
	if !bytes.Contains(tail, []byte("startxref")) || !bytes.Contains(tail, []byte("%%EOF")) {
		return nil, reject(ReasonTruncated, "the bytes after the issued document end without a trailer")
	}
	off, err := startxref(file)
	if err != nil {
		return nil, reject(ReasonTruncated, "%v", err)
	}
	if off < len(issued) {
		return nil, reject(ReasonMalformed, "the last startxref points into the issued document")
	}
	b := newDoc(file, bud)
	newSecs, err := b.chain(off, issuedOff)
	if err != nil {
		return nil, readErr("revisions", err)
	}
	for _, s := range newSecs {
		if s.off < len(issued) {
			return nil, reject(ReasonMalformed, "an xref section after the issued document lies inside it")
		}
	}
	b.apply(secs)
	b.apply(newSecs)

	sigs, err := findSignatures(b)
	if err != nil {
		return nil, readErr("signatures", err)
	}
	if len(sigs) == 0 {
		return nil, reject(ReasonUnsigned, "no signature field has a signature")
	}
	sort.Slice(sigs, func(i, j int) bool { return sigs[i].br[1] < sigs[j].br[1] })
	for i := range sigs {
		if rej := sigs[i].verifyBytes(file); rej != nil {
			return nil, rej
		}
	}
	for i, s := range sigs {
		if s.br[1] < len(issued) {
			return nil, reject(ReasonNotWholeFile, "%s covers %d bytes, the issued document has %d", s.name(), s.br[1], len(issued))
		}
		if i == len(sigs)-1 && s.br[2]+s.br[3] != len(file) {
			return nil, reject(ReasonNotWholeFile, "%s does not reach the end of the file: something was added after signing", s.name())
		}
	}
	if err := compareStates(a, b, opt.SignatureArea); err != nil {
		return nil, readErr("comparison", err)
	}
	res = &Result{}
	for i := range sigs {
		if rej := sigs[i].verifyCert(opt); rej != nil {
			return nil, rej
		}
		res.Signatures = append(res.Signatures, sigs[i].out)
	}
	return res, nil
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// parseDate reads a PDF date, D:YYYYMMDDHHmmSSOHH'mm', every part after the year optional.
func parseDate(s string) (time.Time, error) {
	if len(s) >= 2 && s[:2] == "D:" {
		s = s[2:]
	}
	bad := fmt.Errorf("bad PDF date %q", s)
	num := func(n int) (int, bool) {
		if len(s) < n {
			return 0, false
		}
		for i := 0; i < n; i++ {
			if s[i] < '0' || s[i] > '9' {
				return 0, false
			}
		}
		v, _ := strconv.Atoi(s[:n])
		s = s[n:]
		return v, true
	}
	year, ok := num(4)
	if !ok {
		return time.Time{}, bad
	}
	f := []int{1, 1, 0, 0, 0}
	for i := range f {
		v, ok := num(2)
		if !ok {
			break
		}
		f[i] = v
	}
	if f[0] < 1 || f[0] > 12 || f[1] < 1 || f[1] > 31 || f[2] > 23 || f[3] > 59 || f[4] > 59 {
		return time.Time{}, bad
	}
	loc := time.UTC
	if len(s) > 0 {
		sign := s[0]
		s = s[1:]
		switch sign {
		case 'Z':
		case '+', '-':
			hh, ok := num(2)
			if !ok || hh > 23 {
				return time.Time{}, bad
			}
			mm := 0
			if len(s) > 0 && s[0] == '\'' {
				s = s[1:]
				if v, ok := num(2); ok && v < 60 {
					mm = v
				}
			}
			offset := hh*3600 + mm*60
			if sign == '-' {
				offset = -offset
			}
			loc = time.FixedZone("", offset)
		default:
			return time.Time{}, bad
		}
	}
	return time.Date(year, time.Month(f[0]), f[1], f[2], f[3], f[4], 0, loc), nil
}
