package signedpdf

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"time"

	// Hashes a timestamp's imprint may use.
	_ "crypto/sha1"
	_ "crypto/sha512"

	"github.com/digitorus/pkcs7"
)

// sigInfo is a signature found in the final state, on its way to a Signature.
type sigInfo struct {
	field     string
	dict      Dict
	contents  []byte
	span      [2]int // the /Contents value's bytes in the file
	br        [4]int
	subFilter Name
	timestamp bool
	mTime     string // the dictionary's /M, unparsed
	p7        *pkcs7.PKCS7
	out       Signature
}

func (s *sigInfo) name() string {
	kind := "signature"
	if s.timestamp {
		kind = "timestamp"
	}
	if s.field != "" {
		return fmt.Sprintf("%s %q", kind, s.field)
	}
	return kind
}

// findSignatures lists every signature field of the final state that holds a value.
func findSignatures(d *doc) ([]*sigInfo, error) {
	cv, err := d.resolve(d.trailer["Root"])
	if err != nil {
		return nil, err
	}
	cat, ok := cv.(Dict)
	if !ok {
		return nil, errors.New("no catalog")
	}
	fs, err := fields(d, cat["AcroForm"])
	if err != nil {
		return nil, err
	}
	pages, _ := walkPages(d, cat["Pages"])
	var out []*sigInfo
	seen := map[Ref]bool{}
	for _, f := range fs {
		v, ok := f.dict["V"]
		if f.ft != "Sig" || !ok {
			continue
		}
		r, ok := v.(Ref)
		if !ok {
			// The ByteRange gap must be the /Contents of a dictionary we can locate in the
			// file; a direct value inside the field could not be told apart from a copy.
			return nil, errors.New("a signature value is not an indirect object")
		}
		if seen[r] {
			return nil, fmt.Errorf("two fields share signature object %d", r.Num)
		}
		seen[r] = true
		s, err := readSig(d, r)
		if err != nil {
			return nil, fmt.Errorf("signature object %d: %w", r.Num, err)
		}
		s.field = fieldName(d, f.dict)
		if len(s.field) > 1 && s.field[0] == '"' {
			s.field = s.field[1 : len(s.field)-1]
		} else {
			s.field = ""
		}
		s.out.Page, s.out.Rect = widgetPlace(d, pages, f)
		out = append(out, s)
	}
	return out, nil
}

// widgetPlace finds the page and rectangle of a signature field's widget: the field
// itself when merged with its widget, else its first kid.
func widgetPlace(d *doc, pages *pageTree, f field) (int, [4]float64) {
	w := f.dict
	if _, ok := w["Rect"]; !ok {
		kv, _ := d.resolve(f.dict["Kids"])
		if kids, ok := kv.(Array); ok && len(kids) > 0 {
			o, _ := d.resolve(kids[0])
			w, _ = o.(Dict)
		}
	}
	page := 0
	if p, ok := w["P"].(Ref); ok && pages != nil {
		for i, r := range pages.pages {
			if r == p {
				page = i + 1
			}
		}
	}
	return page, rect(d, w["Rect"])
}

// readSig reads a signature dictionary from its place in the file, noting where its
// /Contents lies.
func readSig(d *doc, r Ref) (*sigInfo, error) {
	e, ok := d.xref[r.Num]
	if !ok || e.kind != 1 {
		return nil, errors.New("not an object at a file offset")
	}
	spans := map[Name][2]int{}
	obj, err := readIndirect(d.b, e.off, spans, d.length)
	if err != nil {
		return nil, err
	}
	if obj.ref != r {
		return nil, fmt.Errorf("the xref points at object %d %d", obj.ref.Num, obj.ref.Gen)
	}
	sd, ok := obj.val.(Dict)
	if !ok {
		return nil, errors.New("not a dictionary")
	}
	s := &sigInfo{dict: sd}
	// Every value the checks rely on must be direct: an indirect /ByteRange or /Contents
	// could be swapped by a later update without touching the signed bytes.
	c, ok := sd["Contents"].(String)
	if !ok {
		return nil, errors.New("/Contents is not a direct string")
	}
	s.contents = []byte(c)
	s.span = spans["Contents"]
	ba, ok := sd["ByteRange"].(Array)
	if !ok || len(ba) != 4 {
		return nil, errors.New("/ByteRange is not a direct array of four numbers")
	}
	for i, x := range ba {
		n, ok := x.(int64)
		if !ok || n < 0 || n > int64(len(d.b)) {
			return nil, errors.New("/ByteRange is not four offsets in the file")
		}
		s.br[i] = int(n)
	}
	s.subFilter, _ = sd["SubFilter"].(Name)
	s.timestamp = sd["Type"] == Name("DocTimeStamp")
	if m, ok := sd["M"].(String); ok {
		s.mTime = string(m)
	}
	return s, nil
}

// verifyBytes checks the ByteRange and the cryptographic signature over it.
func (s *sigInfo) verifyBytes(file []byte) *Rejection {
	b, c, l := s.br[1], s.br[2], s.br[3]
	switch {
	case s.br[0] != 0:
		return reject(ReasonBadSignature, "%s: /ByteRange does not start at 0", s.name())
	case !(0 < b && b < c && c <= len(file) && l <= len(file)-c):
		return reject(ReasonBadSignature, "%s: /ByteRange %v is not two ranges in the file", s.name(), s.br)
	case s.span != [2]int{b, c} || file[b] != '<' || file[c-1] != '>':
		// The gap must be exactly this dictionary's /Contents hex string, or the signed
		// bytes could leave out something else (signature wrapping).
		return reject(ReasonBadSignature, "%s: the /ByteRange gap is not the signature's /Contents", s.name())
	}
	switch {
	case s.timestamp && s.subFilter == "ETSI.RFC3161":
	case !s.timestamp && (s.subFilter == "adbe.pkcs7.detached" || s.subFilter == "ETSI.CAdES.detached"):
	default:
		return reject(ReasonUnsupported, "%s: /SubFilter /%s", s.name(), s.subFilter)
	}
	if len(bytes.Trim(s.contents, "\x00")) == 0 {
		// A field whose signature was blanked in place (or reserved and never filled)
		// is a signature field without a signature.
		return reject(ReasonUnsigned, "%s: /Contents holds no signature", s.name())
	}
	der := trimDER(s.contents)
	signed := make([]byte, 0, b+l)
	signed = append(signed, file[:b]...)
	signed = append(signed, file[c:c+l]...)

	p7, err := parsePKCS7(der)
	if err != nil {
		return reject(ReasonBadSignature, "%s: %v", s.name(), err)
	}
	if len(p7.Signers) != 1 {
		return reject(ReasonBadSignature, "%s: %d signers, want one", s.name(), len(p7.Signers))
	}
	leaf := p7.GetOnlySigner()
	if leaf == nil {
		return reject(ReasonBadSignature, "%s: the signer's certificate is not in the signature", s.name())
	}
	s.p7 = p7
	s.fillCert(leaf)
	if s.timestamp {
		// The token signs its TSTInfo, which holds the hash of the signed bytes.
		gen, err := checkImprint(p7.Content, signed)
		if err != nil {
			return reject(ReasonBadSignature, "%s: %v", s.name(), err)
		}
		s.out.SigningTime, s.out.TimeSource, s.out.Timestamp = gen, "timestamp_token", true
	} else {
		p7.Content = signed
		var st time.Time
		if err := p7.UnmarshalSignedAttribute(pkcs7.OIDAttributeSigningTime, &st); err == nil {
			s.out.SigningTime, s.out.TimeSource = st, "signing_time_attribute"
		} else if s.mTime != "" {
			t, err := parseDate(textString(String(s.mTime)))
			if err != nil {
				return reject(ReasonSigningTime, "%s: /M: %v", s.name(), err)
			}
			s.out.SigningTime, s.out.TimeSource = t, "sig_dict_m"
		} else {
			s.out.TimeSource = "none"
		}
		// pkcs7 refuses a signingTime outside the certificate's validity as if the
		// signature were bad; it is a time problem, so say so first.
		if s.out.TimeSource == "signing_time_attribute" && (st.Before(leaf.NotBefore) || st.After(leaf.NotAfter)) {
			return reject(ReasonSigningTime, "%s: signed at %s, outside the certificate's validity %s to %s", s.name(),
				st.UTC().Format(time.RFC3339), leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
		}
	}
	if err := verifyPKCS7(p7); err != nil {
		return reject(ReasonBadSignature, "%s: %v", s.name(), err)
	}
	return nil
}

func parsePKCS7(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		// pkcs7 is not written for hostile input; a panic in it is a bad signature.
		if r := recover(); r != nil {
			p7, err = nil, fmt.Errorf("unreadable CMS: %v", r)
		}
	}()
	p7, err = pkcs7.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("unreadable CMS: %w", err)
	}
	return p7, nil
}

func verifyPKCS7(p7 *pkcs7.PKCS7) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unverifiable CMS: %v", r)
		}
	}()
	// Verify checks the messageDigest attribute against Content and the signature over
	// the attributes; the chain is checked apart, against our roots at receipt.
	return p7.Verify()
}

// trimDER cuts a /Contents value to its DER length: signers pad the hex string with
// zeros to a size reserved before signing.
func trimDER(b []byte) []byte {
	if len(b) < 2 {
		return b
	}
	l := int(b[1])
	hdr := 2
	if l&0x80 != 0 {
		n := l & 0x7f
		if n == 0 || n > 4 || len(b) < 2+n {
			return b // indefinite length (BER): leave it to the parser
		}
		l = 0
		for _, c := range b[2 : 2+n] {
			l = l<<8 | int(c)
		}
		hdr += n
	}
	if l < 0 || hdr+l > len(b) {
		return b
	}
	return b[:hdr+l]
}

// tstInfo is RFC 3161's TSTInfo, as much as is checked.
type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint struct {
		HashAlgorithm pkix.AlgorithmIdentifier
		HashedMessage []byte
	}
	SerialNumber *big.Int
	GenTime      time.Time `asn1:"generalized"`
	// The optional fields after genTime (accuracy, ordering, nonce, tsa, extensions)
	// are not needed; encoding/asn1 leaves trailing elements of a SEQUENCE unread.
}

var hashByOID = []struct {
	oid asn1.ObjectIdentifier
	h   crypto.Hash
}{
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, crypto.SHA1},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, crypto.SHA256},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA384},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, crypto.SHA512},
}

// checkImprint parses a timestamp token's TSTInfo and checks that its message imprint
// is the hash of signed; it returns the token's time.
func checkImprint(content, signed []byte) (time.Time, error) {
	var ti tstInfo
	if _, err := asn1.Unmarshal(content, &ti); err != nil {
		return time.Time{}, fmt.Errorf("unreadable timestamp token: %w", err)
	}
	for _, h := range hashByOID {
		if ti.MessageImprint.HashAlgorithm.Algorithm.Equal(h.oid) {
			w := h.h.New()
			w.Write(signed)
			if !bytes.Equal(w.Sum(nil), ti.MessageImprint.HashedMessage) {
				return time.Time{}, errors.New("the timestamp's message imprint is not the hash of the signed bytes")
			}
			return ti.GenTime, nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp imprint hash %v not supported", ti.MessageImprint.HashAlgorithm.Algorithm)
}

var (
	oidUID          = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
)

func (s *sigInfo) fillCert(leaf *x509.Certificate) {
	sum := sha256.Sum256(leaf.Raw)
	s.out.Field = s.field
	s.out.Certificate = leaf
	s.out.Subject = leaf.Subject.String()
	s.out.Issuer = leaf.Issuer.String()
	if leaf.SerialNumber != nil {
		s.out.Serial = leaf.SerialNumber.Text(16)
	}
	s.out.Fingerprint = hex.EncodeToString(sum[:])
	for _, atv := range leaf.Subject.Names {
		if atv.Type.Equal(oidUID) || atv.Type.Equal(oidSerialNumber) {
			if v, ok := atv.Value.(string); ok {
				s.out.PersonalIDs = append(s.out.PersonalIDs, v)
			}
		}
	}
}

// who names a certificate for people: its common name, quoted, or its whole subject.
func who(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return c.Subject.String()
}

// verifyCert checks the signer's certificate and the claimed signing time.
func (s *sigInfo) verifyCert(opt Options) *Rejection {
	leaf := s.out.Certificate
	if len(leaf.UnhandledCriticalExtensions) > 0 {
		return reject(ReasonCriticalExtension, "%s: %s has critical extension %v", s.name(), who(leaf), leaf.UnhandledCriticalExtensions[0])
	}
	at := opt.ReceiveTime
	if at.Before(leaf.NotBefore) || at.After(leaf.NotAfter) {
		return reject(ReasonExpired, "%s: %s is valid from %s to %s, received %s", s.name(), who(leaf),
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	if opt.Roots == nil {
		return reject(ReasonUntrusted, "%s: no trusted roots are configured", s.name())
	}
	inter := x509.NewCertPool()
	for _, c := range s.p7.Certificates {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: opt.Roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var ce x509.CertificateInvalidError
		var uce x509.UnhandledCriticalExtension
		switch {
		case errors.As(err, &uce):
			return reject(ReasonCriticalExtension, "%s: %v", s.name(), err)
		case errors.As(err, &ce) && ce.Reason == x509.Expired:
			return reject(ReasonExpired, "%s: %v", s.name(), err)
		}
		if c := expiredIssuer(leaf, s.p7.Certificates, at); c != nil {
			return reject(ReasonExpired, "%s: %s in the chain is valid from %s to %s", s.name(), who(c),
				c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
		}
		return reject(ReasonUntrusted, "%s: the certificate of %s, issued by %q, does not chain to a trusted root", s.name(), who(leaf), leaf.Issuer.CommonName)
	}
	for _, c := range chains[0] {
		if len(c.UnhandledCriticalExtensions) > 0 {
			return reject(ReasonCriticalExtension, "%s: %s in the chain has critical extension %v", s.name(), who(c), c.UnhandledCriticalExtensions[0])
		}
	}
	if leaf.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
		return reject(ReasonKeyUsage, "%s: %s is not for digital signatures or non-repudiation", s.name(), leaf.Subject)
	}
	if s.out.TimeSource != "none" {
		t, lo, hi := s.out.SigningTime, opt.IssueTime.Add(-opt.ClockSkew), opt.ReceiveTime.Add(opt.ClockSkew)
		if t.Before(lo) || t.After(hi) {
			return reject(ReasonSigningTime, "%s: claims to be signed at %s, the document was issued at %s and received at %s", s.name(),
				t.UTC().Format(time.RFC3339), opt.IssueTime.UTC().Format(time.RFC3339), opt.ReceiveTime.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// expiredIssuer follows the embedded certificates up from leaf, by signature, and returns
// the first one not valid at t. Go's Verify reports an expired intermediate only as
// "unknown authority", which would misname the reason.
func expiredIssuer(leaf *x509.Certificate, certs []*x509.Certificate, t time.Time) *x509.Certificate {
	c := leaf
	for i := 0; i < len(certs); i++ {
		var parent *x509.Certificate
		for _, p := range certs {
			if p != c && bytes.Equal(p.RawSubject, c.RawIssuer) && c.CheckSignatureFrom(p) == nil {
				parent = p
				break
			}
		}
		if parent == nil {
			return nil
		}
		if t.Before(parent.NotBefore) || t.After(parent.NotAfter) {
			return parent
		}
		c = parent
	}
	return nil
}
