package signedpdf

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
)

// fixture is an issued confirmation and what a test needs to verify a signed copy.
type fixture struct {
	ca     *signtest.CA
	signer *signtest.Signer
	paper  int64
	issued []byte
	opt    Options
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ca := signtest.NewCA(t, "VNPT-CA Test")
	p, issued := signtest.IssuedConfirmation(t, 12)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Root)
	return &fixture{
		ca: ca, signer: ca.Delegate(t, signtest.DelegateOptions{UID: "CCCD:079203000101"}),
		paper: 12, issued: issued,
		opt: Options{Roots: roots, IssueTime: p.IssueTime, ReceiveTime: time.Now()},
	}
}

// signTime is a signing time inside the fixture's window.
func (f *fixture) signTime() time.Time { return time.Now().Add(-time.Minute) }

func mustVerify(t *testing.T, issued, file []byte, opt Options) *Result {
	t.Helper()
	res, err := Verify(issued, file, opt)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

func wantReject(t *testing.T, issued, file []byte, opt Options, reason Reason, detail string) {
	t.Helper()
	_, err := Verify(issued, file, opt)
	var rej *Rejection
	if !errors.As(err, &rej) {
		t.Fatalf("Verify = %v, want a rejection %s", err, reason)
	}
	if rej.Reason != reason || !strings.Contains(rej.Detail, detail) {
		t.Fatalf("Verify = %s (%q), want %s with %q", rej.Reason, rej.Error(), reason, detail)
	}
}

func TestVerifyPdfsign(t *testing.T) {
	f := newFixture(t)
	for _, visible := range []bool{false, true} {
		signed := f.signer.Sign(t, f.issued, signtest.SignOptions{Visible: visible, Time: f.signTime()})
		res := mustVerify(t, f.issued, signed, f.opt)
		if len(res.Signatures) != 1 {
			t.Fatalf("%d signatures", len(res.Signatures))
		}
		s := res.Signatures[0]
		c := f.signer.Certificate
		if s.Fingerprint != f.signer.Fingerprint() || s.Serial != c.SerialNumber.Text(16) ||
			s.Subject != c.Subject.String() || s.Issuer != c.Issuer.String() || s.Certificate == nil {
			t.Errorf("certificate fields %+v", s)
		}
		if len(s.PersonalIDs) != 1 || s.PersonalIDs[0] != "CCCD:079203000101" {
			t.Errorf("PersonalIDs = %q", s.PersonalIDs)
		}
		if s.TimeSource != "signing_time_attribute" || s.SigningTime.Sub(f.signTime()).Abs() > 5*time.Second {
			t.Errorf("signing time %v from %s", s.SigningTime, s.TimeSource)
		}
		if s.Timestamp || s.Field == "" {
			t.Errorf("Timestamp %v, Field %q", s.Timestamp, s.Field)
		}
		if visible && (s.Page != 1 || s.Rect[0] < 340 || s.Rect[0] > 341) {
			t.Errorf("visible widget at page %d %v", s.Page, s.Rect)
		}
	}
	// A delegate with both a UID and a serialNumber, as some CAs issue.
	both := f.ca.Delegate(t, signtest.DelegateOptions{UID: "CCCD:079203000101", SerialNumber: "CMND:271234567"})
	res := mustVerify(t, f.issued, both.Sign(t, f.issued, signtest.SignOptions{Time: f.signTime()}), f.opt)
	if ids := strings.Join(res.Signatures[0].PersonalIDs, ","); ids != "CMND:271234567,CCCD:079203000101" && ids != "CCCD:079203000101,CMND:271234567" {
		t.Errorf("PersonalIDs = %s", ids)
	}
}

// addToDict returns a dictionary body with an entry added before its closing ">>".
func addToDict(body, entry string) string {
	i := strings.LastIndex(body, ">>")
	return body[:i] + entry + "\n" + body[i:]
}

// tailOffset returns the offset of the first s after the issued bytes.
func tailOffset(t *testing.T, issued, file []byte, s string) int {
	t.Helper()
	i := strings.Index(string(file[len(issued):]), s)
	if i < 0 {
		t.Fatalf("no %q after the issued bytes", s)
	}
	return len(issued) + i
}

func TestVerifyRejects(t *testing.T) {
	f := newFixture(t)
	issued := f.issued
	sign := func(file []byte) []byte {
		return f.signer.Sign(t, file, signtest.SignOptions{Visible: true, Time: f.signTime()})
	}
	signed := sign(issued)
	cat := catalogNum(t, issued)
	other := signtest.NewCA(t, "Impostor CA")
	otherRoots := x509.NewCertPool()
	otherRoots.AddCert(other.Root)
	_, issued13 := signtest.IssuedConfirmation(t, 13)
	withOpt := func(change func(*Options)) Options { o := f.opt; change(&o); return o }
	delegate := func(o signtest.DelegateOptions) []byte {
		s := f.ca.Delegate(t, o)
		at := f.signTime()
		if o.Expired {
			at = time.Now().AddDate(0, 0, -2)
		}
		return s.Sign(t, issued, signtest.SignOptions{Time: at})
	}

	tests := []struct {
		name   string
		file   []byte
		opt    Options
		reason Reason
		detail string
	}{
		{"empty", nil, f.opt, ReasonEmpty, ""},
		{"not a PDF", []byte("PK\x03\x04 a zip file"), f.opt, ReasonNotPDF, "header"},
		{"truncated inside the issued bytes", signtest.Truncate(signed, len(issued)/2), f.opt, ReasonTruncated, "bytes"},
		{"truncated inside the signature's update", signtest.Truncate(signed, len(signed)-8), f.opt, ReasonTruncated, "trailer"},
		{"another confirmation", sign(issued13), f.opt, ReasonNotIssuedPrefix, "differ"},
		{"a byte of the issued part flipped", signtest.FlipByte(signed, 200), f.opt, ReasonNotIssuedPrefix, "byte 200"},
		{"the issued document", issued, f.opt, ReasonUnsigned, "issued document"},
		{"signature blanked", signtest.StripSignature(signed), f.opt, ReasonUnsigned, "no signature"},
		{"a signed byte flipped", signtest.FlipByte(signed, tailOffset(t, issued, signed, "D:20")+3), f.opt, ReasonBadSignature, "digest"},
		{"update after signing", signtest.AppendAfterSigning(signed), f.opt, ReasonNotWholeFile, "added after signing"},
		{"page content changed after signing", signtest.ChangePageContent(signed), f.opt, ReasonNotWholeFile, "added after signing"},
		{"page content changed before signing", sign(signtest.ChangePageContent(issued)), f.opt, ReasonChanged, "page 1: /Contents changed"},
		{"page content changed in an xref stream", signUpdate(t, signtest.AppendUpdateXRefStream(issued, signtest.PageContentUpdate(issued)), f.signer, signOpts{}), f.opt, ReasonChanged, "page 1: /Contents changed"},
		{"page content changed in an object stream", signUpdate(t, appendObjStmUpdate(t, issued, map[int]string{3: addToDict(objectText(t, issued, 3), "/Rotate 90")}), f.signer, signOpts{}), f.opt, ReasonChanged, "page 1: /Rotate added"},
		{"annotation added before signing", sign(signtest.AddAnnotation(issued)), f.opt, ReasonChanged, "page 1: new annotation /FreeText"},
		{"open action added", sign(appendUpdate(t, issued, map[int]string{cat: addToDict(objectText(t, issued, cat), "/OpenAction [3 0 R /Fit]")}, "")), f.opt, ReasonChanged, "catalog: /OpenAction added"},
		{"resources changed", sign(appendUpdate(t, issued, map[int]string{2: addToDict(objectText(t, issued, 2), "/Pattern << >>")}, "")), f.opt, ReasonChanged, "page 1: /Resources changed"},
		{"encryption added", signUpdate(t, appendUpdate(t, issued, map[int]string{900: "<< /Filter /Standard /V 1 /R 2 /O <00> /U <00> /P -4 >>"}, "/Encrypt 900 0 R"), f.signer, signOpts{}), f.opt, ReasonChanged, "trailer: /Encrypt added"},
		{"untrusted root", signed, withOpt(func(o *Options) { o.Roots = otherRoots }), ReasonUntrusted, "does not chain to a trusted root"},
		{"no roots", signed, withOpt(func(o *Options) { o.Roots = nil }), ReasonUntrusted, "no trusted roots"},
		{"expired certificate", delegate(signtest.DelegateOptions{Expired: true}), f.opt, ReasonExpired, "valid from"},
		{"certificate not yet valid", signed, withOpt(func(o *Options) { o.ReceiveTime = f.signer.Certificate.NotBefore.Add(-time.Hour) }), ReasonExpired, "valid from"},
		{"key encipherment only", delegate(signtest.DelegateOptions{KeyEncipherment: true}), f.opt, ReasonKeyUsage, "not for digital signatures"},
		{"unknown critical extension", delegate(signtest.DelegateOptions{UnknownCritical: true}), f.opt, ReasonCriticalExtension, "1.3.6.1.4.1.55555.1.1"},
		{"signed before issue", signed, withOpt(func(o *Options) { o.IssueTime = time.Now().Add(time.Hour) }), ReasonSigningTime, "claims to be signed at"},
		{"signed after receipt", signed, withOpt(func(o *Options) { o.ReceiveTime = time.Now().Add(-time.Hour) }), ReasonSigningTime, "claims to be signed at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantReject(t, issued, tt.file, tt.opt, tt.reason, tt.detail)
		})
	}
}

// Changes a signer may make: metadata, in any of the xref forms.
func TestVerifyAllowsMetadata(t *testing.T) {
	f := newFixture(t)
	info := signtest.InfoUpdate(f.issued)
	for name, file := range map[string][]byte{
		"table":         signtest.AppendUpdate(f.issued, info),
		"xref stream":   signtest.AppendUpdateXRefStream(f.issued, info),
		"object stream": appendObjStmUpdate(t, f.issued, map[int]string{28: string(info[28])}),
	} {
		t.Run(name, func(t *testing.T) {
			signed := signUpdate(t, file, f.signer, signOpts{})
			mustVerify(t, f.issued, signed, f.opt)
		})
	}
}

func TestVerifyOwnSigner(t *testing.T) {
	f := newFixture(t)
	mustVerify(t, f.issued, signUpdate(t, f.issued, f.signer, signOpts{}), f.opt)
}

func TestVerifyPoppler(t *testing.T) {
	f := newFixture(t)
	signed := signtest.PopplerSign(t, f.issued, f.signer, signtest.PopplerOptions{FieldName: "DaiBieu"})
	res := mustVerify(t, f.issued, signed, f.opt)
	if len(res.Signatures) != 1 || res.Signatures[0].Field != "DaiBieu" {
		t.Fatalf("signatures %+v", res.Signatures)
	}
	if s := res.Signatures[0]; s.TimeSource != "sig_dict_m" || time.Since(s.SigningTime) > time.Minute {
		// pdfsig's CMS has no signingTime attribute; /M is the claim.
		t.Errorf("poppler signing time %v from %s", s.SigningTime, s.TimeSource)
	}
	// A second signature by pdfsig over the first: both verify, in file order.
	twice := signtest.PopplerSign(t, signed, f.signer, signtest.PopplerOptions{FieldName: "DaiBieu2"})
	res = mustVerify(t, f.issued, twice, f.opt)
	if len(res.Signatures) != 2 || res.Signatures[0].Field != "DaiBieu" || res.Signatures[1].Field != "DaiBieu2" {
		t.Fatalf("signatures %+v", res.Signatures)
	}
	if p := os.Getenv("SIGNEDPDF_DUMP_POPPLER"); p != "" {
		if err := os.WriteFile(p, signed, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Rejections reached with hand-made updates signed by signUpdate.
func TestVerifyRejectsHandMade(t *testing.T) {
	f := newFixture(t)
	issued := f.issued
	page := objectText(t, issued, 3)
	size := int(func() int64 { tr, _ := lastTrailer(t, issued); return tr["Size"].(int64) }())
	sign := func(o signOpts) []byte { return signUpdate(t, issued, f.signer, o) }
	signed := sign(signOpts{})
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)

	tests := []struct {
		name   string
		file   []byte
		reason Reason
		detail string
	}{
		{"new text field", sign(signOpts{extra: map[int]string{900: "<< /FT /Tx /T (Y kien) /V (Khong tan thanh) >>"}, fields: "900 0 R"}), ReasonChanged, `form: new /Tx field "Y kien"`},
		{"new text widget", sign(signOpts{extra: map[int]string{900: "<< /Type /Annot /Subtype /Widget /FT /Tx /T (x) /Rect [0 0 10 10] >>"}, annots: "900 0 R"}), ReasonChanged, "page 1: new widget of a /Tx field"},
		{"new link", sign(signOpts{extra: map[int]string{900: "<< /Type /Annot /Subtype /Link /Rect [0 0 10 10] >>"}, annots: "900 0 R"}), ReasonChanged, "page 1: new annotation /Link"},
		{"widget with an action", sign(signOpts{widget: "/AA << /PO << /S /JavaScript /JS (app.alert(1)) >> >>"}), ReasonChanged, "page 1: new signature widget with an action /AA"},
		{"javascript in /Names", signUpdate(t, appendUpdate(t, issued, map[int]string{29: strings.Replace(objectText(t, issued, 29), "/EmbeddedFiles", "/JavaScript << /Names [(a) << /S /JavaScript /JS (1) >>] >> /EmbeddedFiles", 1)}, ""), f.signer, signOpts{}), ReasonChanged, "catalog: /Names changed"},
		{"page added", sign(signOpts{extra: map[int]string{
			900: page,
			1:   strings.Replace(strings.Replace(objectText(t, issued, 1), "/Kids [3 0 R ]", "/Kids [3 0 R 900 0 R]", 1), "/Count 1", "/Count 2", 1),
		}}), ReasonChanged, "page 2 added"},
		{"xfa form", sign(signOpts{catalog: "", fields: "] /XFA (x) /Foo ["}), ReasonChanged, "form: /XFA added"},
		{"too deeply nested", sign(signOpts{catalog: "/Foo " + deep}), ReasonTooComplex, "nesting"},
		{"unsupported subfilter", sign(signOpts{subFilter: "adbe.x509.rsa_sha1"}), ReasonUnsupported, "adbe.x509.rsa_sha1"},
		{"garbage update after signing", append(bytes.Clone(signed), fmt.Sprintf("xref\n0 1\nzzz\ntrailer\n<< >>\nstartxref\n%d\n%%%%EOF\n", len(signed))...), ReasonMalformed, "xref"},
		{"xref loop", append(bytes.Clone(signed), fmt.Sprintf("xref\n0 0\ntrailer\n<< /Size %d /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", size, len(signed), len(signed))...), ReasonMalformed, "loops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantReject(t, issued, tt.file, f.opt, tt.reason, tt.detail)
		})
	}
}

func TestVerifyTimestampAndCAdES(t *testing.T) {
	f := newFixture(t)
	tsa := f.ca.Delegate(t, signtest.DelegateOptions{FullName: "Test TSA"})
	for _, o := range []signOpts{{timestamp: true}, {subFilter: "ETSI.CAdES.detached"}} {
		signed := signUpdate(t, f.issued, tsa, o)
		res := mustVerify(t, f.issued, signed, f.opt)
		s := res.Signatures[0]
		if s.Timestamp != o.timestamp {
			t.Errorf("%+v: Timestamp = %v", o, s.Timestamp)
		}
		if o.timestamp && (s.TimeSource != "timestamp_token" || time.Since(s.SigningTime) > time.Minute) {
			t.Errorf("timestamp: time %v from %s", s.SigningTime, s.TimeSource)
		}
	}
	// A token over other bytes is refused.
	signed := signUpdate(t, f.issued, tsa, signOpts{timestamp: true})
	bad := signtest.FlipByte(signed, tailOffset(t, f.issued, signed, "/M (D:")+8)
	wantReject(t, f.issued, bad, f.opt, ReasonBadSignature, "imprint")
}

func TestVerifySignatureArea(t *testing.T) {
	f := newFixture(t)
	opt := f.opt
	opt.SignatureArea = signtest.SignatureRect
	// pdfsign's visible stamp goes in the area; an invisible one is empty.
	for _, visible := range []bool{false, true} {
		mustVerify(t, f.issued, f.signer.Sign(t, f.issued, signtest.SignOptions{Visible: visible, Time: f.signTime()}), opt)
	}
	mustVerify(t, f.issued, signtest.PopplerSign(t, f.issued, f.signer, signtest.PopplerOptions{}), opt)
	// A stamp over the whole page could hide the ticked box.
	big := signUpdate(t, f.issued, f.signer, signOpts{widget: "/Rect [0 0 595 842] /AP << /N 900 0 R >>", extra: map[int]string{
		900: string(stream("/Type /XObject /Subtype /Form /BBox [0 0 595 842]", []byte("1 1 1 rg 0 0 595 842 re f"))),
	}})
	wantReject(t, f.issued, big, opt, ReasonChanged, "page 1: signature widget at [0 0 595 842] outside the signature area")
	// Without the option, the caller decides from Signature.Rect.
	if res := mustVerify(t, f.issued, big, f.opt); res.Signatures[0].Rect != [4]float64{0, 0, 595, 842} {
		t.Errorf("Rect = %v", res.Signatures[0].Rect)
	}
}
