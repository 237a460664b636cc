package signtest

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"fmt"
	"testing"
	"time"
	"unicode/utf16"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/pdf"
	dpdf "github.com/digitorus/pdf"
	"github.com/digitorus/pdfsign/sign"
)

// The signature's defaults, as a delegate's signing app would fill them in.
const (
	DefaultReason   = "Xác nhận kết quả biểu quyết"
	DefaultLocation = "Bình Dương"
)

// SignatureRect is the confirmation's signature area as a PDF rectangle [llx lly urx ury]
// in points on an A4 page, from pdf.SignatureX, Y, W and H (millimetres from the top left).
var SignatureRect = func() [4]float64 {
	const mm, pageH = 72 / 25.4, 841.89
	llx, ury := pdf.SignatureX*mm, pageH-pdf.SignatureY*mm
	return [4]float64{llx, ury - pdf.SignatureH*mm, llx + pdf.SignatureW*mm, ury}
}()

// SignOptions adjust a signature made by Sign. The zero value is an invisible approval
// signature made now, with the signer's CN as name and the default reason and location.
type SignOptions struct {
	// Time is the signing time, in /M and in the CMS signingTime attribute. When it is
	// zero, the CMS is digitorus/pkcs7's own (stamped with the wall clock, as any Go signer
	// using it would be) and /M is now in the council's zone. When it is set, the CMS is
	// rebuilt by this package with the same attributes and that time.
	Time     time.Time
	Name     string // /Name; the certificate's CN when empty
	Reason   string // /Reason; DefaultReason when empty
	Location string // /Location; DefaultLocation when empty
	Contact  string // /ContactInfo; none when empty
	// Visible puts the signature's widget in SignatureRect on page 1 with a picture of a
	// handwritten stroke as its appearance. pdfsign then rewrites the page object to add
	// the widget to its /Annots. VisibleText draws pdfsign's text appearance (the Name in
	// Times-Roman, garbled for Vietnamese) over the picture.
	Visible, VisibleText bool
	// OmitIntermediate leaves the intermediate out of the PKCS#7, as some signing apps do;
	// a verifier must then find it elsewhere or fail.
	OmitIntermediate bool
	// Certification makes a certification (DocMDP, no changes allowed) signature instead
	// of an approval signature.
	Certification bool
	Digest        crypto.Hash // SHA-256 when zero
}

// Sign signs file with github.com/digitorus/pdfsign/sign: a detached PKCS#7
// (adbe.pkcs7.detached) approval signature appended as an incremental update. It fails
// the test unless file is an exact prefix of the result.
func (s *Signer) Sign(t testing.TB, file []byte, o SignOptions) []byte {
	t.Helper()
	if o.Name == "" && !pdfsignSafe(s.Certificate.Subject.CommonName) {
		t.Logf("signtest: pdfsign cannot write the name %q (see pdfsignSafe); the signature has no /Name", s.Certificate.Subject.CommonName)
	}
	signed, err := s.SignE(file, o)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// SignE is Sign outside tests: it returns an error instead of failing a test. When o.Name
// is empty and pdfsign cannot write the certificate's CN (see pdfsignSafe), the signature
// has no /Name.
func (s *Signer) SignE(file []byte, o SignOptions) ([]byte, error) {
	at := o.Time
	if at.IsZero() {
		at = time.Now().In(bq.CouncilZone)
	}
	if o.Name == "" {
		o.Name = s.Certificate.Subject.CommonName
		if !pdfsignSafe(o.Name) {
			o.Name = ""
		}
	}
	if o.Reason == "" {
		o.Reason = DefaultReason
	}
	if o.Location == "" {
		o.Location = DefaultLocation
	}
	if o.Digest == 0 {
		o.Digest = crypto.SHA256
	}
	for _, f := range []string{o.Name, o.Reason, o.Location, o.Contact} {
		if !pdfsignSafe(f) {
			return nil, fmt.Errorf("signtest: pdfsign would write %q as a broken PDF string (see pdfsignSafe)", f)
		}
	}
	chain := s.Chain
	if o.OmitIntermediate {
		chain = chain[:1]
	}
	data := sign.SignData{
		Signature: sign.SignDataSignature{
			CertType: sign.ApprovalSignature,
			Info: sign.SignDataSignatureInfo{
				Name: o.Name, Location: o.Location, Reason: o.Reason, ContactInfo: o.Contact, Date: at,
			},
		},
		Signer:            s.Key,
		DigestAlgorithm:   o.Digest,
		Certificate:       s.Certificate,
		CertificateChains: [][]*x509.Certificate{chain},
	}
	if o.Certification {
		data.Signature.CertType = sign.CertificationSignature
		data.Signature.DocMDPPerm = sign.DoNotAllowAnyChangesPerms
	}
	if o.Visible {
		r := SignatureRect
		data.Appearance = sign.Appearance{
			Visible: true, Page: 1, LowerLeftX: r[0], LowerLeftY: r[1], UpperRightX: r[2], UpperRightY: r[3],
			Image: stampPNG(), ImageAsWatermark: o.VisibleText,
		}
	}
	in := bytes.NewReader(file)
	rdr, err := dpdf.NewReader(in, int64(len(file)))
	if err != nil {
		return nil, fmt.Errorf("pdfsign: read the file to sign: %w", err)
	}
	var out bytes.Buffer
	if err := sign.Sign(in, &out, rdr, int64(len(file)), data); err != nil {
		return nil, fmt.Errorf("pdfsign: sign: %w", err)
	}
	signed := out.Bytes()
	if !o.Time.IsZero() {
		// digitorus/pkcs7 stamps the CMS with the wall clock; put the chosen time in it.
		if err := resign(signed, s.Certificate, chain, s.Key, o.Digest, o.Time); err != nil {
			return nil, fmt.Errorf("signtest: re-sign with the signing time %v: %w", o.Time, err)
		}
	}
	if err := Extends(file, signed); err != nil {
		return nil, err
	}
	return signed, nil
}

// MustExtend fails the test unless after is before followed by more bytes: an
// incremental update that leaves every byte of the earlier revision in place.
func MustExtend(t testing.TB, before, after []byte) {
	t.Helper()
	if err := Extends(before, after); err != nil {
		t.Fatal(err)
	}
}

// Extends returns an error unless after is before followed by more bytes.
func Extends(before, after []byte) error {
	if len(after) <= len(before) || !bytes.Equal(after[:len(before)], before) {
		n := 0
		for n < len(before) && n < len(after) && before[n] == after[n] {
			n++
		}
		return fmt.Errorf("not an incremental update: %d bytes became %d, the first %d are kept", len(before), len(after), n)
	}
	return nil
}

// pdfsignSafe reports whether pdfsign writes s as a well-formed PDF string. pdfsign writes
// a non-ASCII text as UTF-16BE bytes between parentheses without escaping them, so any
// character with a byte 0x28 "(", 0x29 ")", 0x5C "\" or 0x0D in its UTF-16 code (the
// Vietnamese "Ĩ" U+0128 and "ĩ" U+0129, or an ASCII parenthesis in a non-ASCII text)
// breaks the signature dictionary ("Lê Văn Vĩnh" cannot be a /Name). ASCII texts are
// escaped properly.
func pdfsignSafe(s string) bool {
	ascii := true
	for _, r := range s {
		if r >= 0x80 {
			ascii = false
		}
	}
	if ascii {
		return true
	}
	for _, u := range utf16.Encode([]rune(s)) {
		for _, b := range []byte{byte(u >> 8), byte(u)} {
			if b == '(' || b == ')' || b == '\\' || b == '\r' {
				return false
			}
		}
	}
	return true
}
