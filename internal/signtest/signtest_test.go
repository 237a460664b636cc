package signtest

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"
)

const valid = "Signature Validation: Signature is Valid."

// check runs qpdf --check and pdfsig on a signed file and returns pdfsig's output; it fails
// the test unless qpdf finds the file sound and pdfsig finds every signature valid.
func check(t *testing.T, file []byte) string {
	t.Helper()
	if out, ok := Run(t, "qpdf", "--check", WriteTemp(t, "doc.pdf", file)); !ok || strings.Contains(out, "WARNING") {
		t.Errorf("qpdf --check:\n%s", out)
	}
	out, ok := PDFSig(t, file, "")
	if !ok || !strings.Contains(out, valid) || strings.Contains(out, "Invalid") {
		t.Errorf("pdfsig does not find the signature valid:\n%s", out)
	}
	return out
}

func pdftotext(t *testing.T, file []byte) string {
	t.Helper()
	out, ok := Run(t, "pdftotext", "-enc", "UTF-8", WriteTemp(t, "doc.pdf", file), "-")
	if !ok {
		t.Fatalf("pdftotext: %s", out)
	}
	return out
}

func TestIssuedConfirmation(t *testing.T) {
	p, a := IssuedConfirmation(t, 12)
	_, b := IssuedConfirmation(t, 12)
	_, c := IssuedConfirmation(t, 13)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Error("the same id should give the same bytes, another id other bytes")
	}
	if p.Name() != "polls/3/confirmations/12" || p.Person.FullName != DelegateName {
		t.Errorf("paper %s for %q", p.Name(), p.Person.FullName)
	}
	if txt := pdftotext(t, a); !strings.Contains(txt, DelegateName) || !strings.Contains(txt, "Số: 12/PXN-HĐND") {
		t.Errorf("pdftotext lacks the name or the number:\n%s", txt)
	}
}

func TestPKI(t *testing.T) {
	ca := NewCA(t, "VNPT-CA")
	other := NewCA(t, "VNPT-CA") // an impostor: the same names, other keys
	s := ca.Delegate(t, DelegateOptions{UID: "CCCD:079203000101", SerialNumber: "CMND:271234567"})
	roots := x509.NewCertPool()
	roots.AddCert(ca.Root)
	inter := x509.NewCertPool()
	inter.AddCert(ca.Intermediate)
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := s.Certificate.Verify(opts); err != nil {
		t.Errorf("the delegate's chain does not verify: %v", err)
	}
	if s.Key.N.BitLen() != 2048 || ca.RootKey.Equal(other.RootKey) || ca.RootKey.Equal(s.Key) || ca.IntermediateKey.Equal(other.IntermediateKey) {
		t.Error("keys must be RSA 2048 and differ within a test")
	}
	if _, err := s.Certificate.Verify(x509.VerifyOptions{Roots: pool(other.Root), Intermediates: pool(other.Intermediate), KeyUsages: opts.KeyUsages}); err == nil {
		t.Error("the impostor CA's root verifies the delegate")
	}
	subj := s.Certificate.Subject
	if subj.CommonName != DelegateName || subj.SerialNumber != "CMND:271234567" {
		t.Errorf("subject %v", subj)
	}
	uid := ""
	for _, a := range subj.Names {
		if a.Type.Equal(OIDUID) {
			uid, _ = a.Value.(string)
		}
	}
	if uid != "CCCD:079203000101" {
		t.Errorf("UID = %q", uid)
	}
	if s.Certificate.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment || len(s.Chain) != 2 || s.Chain[1] != ca.Intermediate {
		t.Errorf("key usage %v, chain of %d", s.Certificate.KeyUsage, len(s.Chain))
	}
	if len(s.Fingerprint()) != 64 {
		t.Errorf("fingerprint %q", s.Fingerprint())
	}

	for _, tc := range []struct {
		name string
		o    DelegateOptions
		bad  string
	}{
		{"expired", DelegateOptions{Expired: true}, "expired"},
		{"not yet valid", DelegateOptions{NotYetValid: true}, "not yet valid"},
		{"unknown critical extension", DelegateOptions{UnknownCritical: true}, "unhandled critical extension"},
	} {
		s := ca.Delegate(t, tc.o)
		if _, err := s.Certificate.Verify(opts); err == nil || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("%s: Verify = %v, want %q", tc.name, err, tc.bad)
		}
	}
	if s := ca.Delegate(t, DelegateOptions{KeyEncipherment: true}); s.Certificate.KeyUsage != x509.KeyUsageKeyEncipherment {
		t.Errorf("KeyEncipherment gave %v", s.Certificate.KeyUsage)
	}

	dir := WriteRoots(t, ca, other)
	files, _ := filepath.Glob(filepath.Join(dir, "*.pem"))
	if len(files) != 2 {
		t.Errorf("WriteRoots wrote %v", files)
	}
	certFile, keyFile := s.WritePEM(t)
	chain, _ := os.ReadFile(certFile)
	if blk, rest := pem.Decode(chain); blk == nil || !bytes.Equal(blk.Bytes, s.Certificate.Raw) || !bytes.Contains(rest, ca.IntermediatePEM()) {
		t.Error("the certificate file is not the leaf, then the intermediate")
	}
	if k, _ := os.ReadFile(keyFile); !bytes.Contains(k, []byte("PRIVATE KEY")) {
		t.Error("no key in the key file")
	}
}

func pool(cs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range cs {
		p.AddCert(c)
	}
	return p
}

func TestSign(t *testing.T) {
	t.Setenv("TZ", "UTC") // pdfsig prints the signing time in the local zone
	ca := NewCA(t, "VNPT-CA")
	s := ca.Delegate(t, DelegateOptions{UID: "CCCD:079203000101"})
	_, issued := IssuedConfirmation(t, 12)
	at := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		o    SignOptions
	}{
		{"invisible", SignOptions{}},
		{"visible", SignOptions{Visible: true, Time: at}},
		{"without the intermediate", SignOptions{OmitIntermediate: true, Time: at}},
		{"certification", SignOptions{Certification: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signed := s.Sign(t, issued, tc.o) // Sign checks the prefix
			out := check(t, signed)
			for _, want := range []string{"Signer Certificate Common Name: " + DelegateName, "UID=CCCD:079203000101", "adbe.pkcs7.detached", "Total document signed"} {
				if !strings.Contains(out, want) {
					t.Errorf("pdfsig lacks %q:\n%s", want, out)
				}
			}
			if !tc.o.Time.IsZero() && !strings.Contains(out, "Signing Time: Nov 30 2026 09:15:00") {
				t.Errorf("pdfsig does not show the chosen signing time:\n%s", out)
			}
			checkCMS(t, signed, s, !tc.o.OmitIntermediate)
			if txt := pdftotext(t, signed); !strings.Contains(txt, DelegateName) {
				t.Errorf("pdftotext lost the delegate's name:\n%s", txt)
			}
			if !bytes.Contains(signed, []byte("/Reason (\xfe\xff")) {
				t.Error("no Unicode /Reason")
			}
		})
	}

	// pdfsign cannot write "ĩ" in a /Name: Sign leaves the name out rather than break the file.
	v := ca.Delegate(t, DelegateOptions{FullName: "Lê Văn Vĩnh"})
	out := check(t, v.Sign(t, issued, SignOptions{}))
	if !strings.Contains(out, "Common Name: Lê Văn Vĩnh") {
		t.Errorf("pdfsig:\n%s", out)
	}
}

// checkCMS checks the last signature with github.com/digitorus/pkcs7, the verifier's
// library, as well as with poppler: chained says whether the CMS carries the intermediate.
func checkCMS(t *testing.T, signed []byte, s *Signer, chained bool) {
	t.Helper()
	r, ok := ByteRange(signed)
	if !ok {
		t.Fatal("no /ByteRange")
	}
	// Keep the zero padding: poppler's (NSS's) CMS is BER with indefinite lengths, whose
	// end-of-contents octets are zeros too, so trimming zeros would cut the CMS.
	der, err := hex.DecodeString(string(signed[r[1]+1 : r[2]-1]))
	if err != nil {
		t.Fatalf("/Contents: %v", err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatalf("pkcs7.Parse: %v", err)
	}
	p7.Content = append(append([]byte(nil), signed[:r[1]]...), signed[r[2]:r[2]+r[3]]...)
	err = p7.VerifyWithChain(pool(s.CA.Root))
	if chained && err != nil {
		t.Errorf("pkcs7 verify: %v", err)
	}
	if !chained && (err == nil || !strings.Contains(err.Error(), "unknown authority")) {
		t.Errorf("pkcs7 verify without the intermediate: %v, want unknown authority", err)
	}
	if err := p7.Verify(); err != nil {
		t.Errorf("pkcs7 verify, chain aside: %v", err)
	}
	if p7.GetOnlySigner() == nil || !p7.GetOnlySigner().Equal(s.Certificate) {
		t.Error("pkcs7: the signer is not the delegate")
	}
}

func TestAppendUpdate(t *testing.T) {
	_, issued := IssuedConfirmation(t, 12)
	tr, err := ReadTrailer(issued)
	if err != nil || tr.Root != "29 0 R" || tr.Info != "28 0 R" || tr.Size != 30 {
		t.Fatalf("ReadTrailer = %+v, %v", tr, err)
	}
	if page, err := Page(issued); err != nil || page != 3 {
		t.Fatalf("Page = %d, %v", page, err)
	}
	extra := map[int][]byte{tr.Size: []byte("<< /Test (signtest) >>")}
	for name, update := range map[string]func([]byte, map[int][]byte) []byte{"table": AppendUpdate, "stream": AppendUpdateXRefStream} {
		t.Run(name, func(t *testing.T) {
			a := update(issued, PageContentUpdate(issued))
			b := update(a, extra)
			c := AppendUpdate(b, AnnotationUpdate(b)) // a classic section after a stream, too
			for _, f := range [][]byte{a, b, c} {
				MustExtend(t, issued, f)
				if out, ok := Run(t, "qpdf", "--check", WriteTemp(t, "doc.pdf", f)); !ok || strings.Contains(out, "WARNING") {
					t.Errorf("qpdf --check:\n%s", out)
				}
			}
			if got := string(Object(c, tr.Size)); got != "<< /Test (signtest) >>" {
				t.Errorf("object %d = %q", tr.Size, got)
			}
			if tr2, _ := ReadTrailer(b); tr2.Size != tr.Size+1+boolInt(name == "stream") || tr2.Root != tr.Root || tr2.StartXRef <= len(a)-40 {
				t.Errorf("the second update's trailer is %+v", tr2)
			}
			out, _ := Run(t, "qpdf", "--show-npages", WriteTemp(t, "doc.pdf", c))
			if strings.TrimSpace(out) != "1" {
				t.Errorf("qpdf --show-npages: %s", out)
			}
			if txt, _ := Run(t, "pdftotext", "-raw", WriteTemp(t, "doc.pdf", c), "-"); !strings.Contains(txt, ChangedText) || !strings.Contains(txt, DelegateName) {
				t.Errorf("pdftotext does not show the changed page:\n%s", txt)
			}
		})
	}
}

// sigDigit returns the offset of a decimal digit in the last bytes of the CMS hex, which
// hold the RSA signature value; FlipByte keeps it a digit.
func sigDigit(signed []byte, r [4]int) int {
	end := r[1] + 1 + len(bytes.TrimRight(signed[r[1]+1:r[2]-1], "0"))
	for i := end - 20; ; i-- {
		if signed[i] >= '0' && signed[i] <= '9' {
			return i
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTamper checks each tampered file with qpdf and with poppler's pdfsig (22.12), whose
// messages are what the comments quote.
func TestTamper(t *testing.T) {
	ca := NewCA(t, "VNPT-CA")
	s := ca.Delegate(t, DelegateOptions{})
	_, issued := IssuedConfirmation(t, 12)
	signed := s.Sign(t, issued, SignOptions{})
	visible := s.Sign(t, issued, SignOptions{Visible: true})
	r, _ := ByteRange(signed)
	date := bytes.Index(signed, []byte("/CreationDate (D:2026")) + len("/CreationDate (D:2026")
	const notTotal, mismatch = "Not total document signed", "Signature Validation: Digest Mismatch."
	for _, tc := range []struct {
		name      string
		file      []byte
		qpdfOK    bool
		want      []string // in pdfsig's output
		unwanted  []string
		pdfsigErr bool // pdfsig exits non-zero
	}{
		// A changed byte in the signed range: the digest no longer matches.
		{"flip a signed byte", FlipByte(signed, date), true, []string{mismatch, "Total document signed"}, []string{valid}, false},
		// A changed byte in the CMS itself (its signature value, near the end).
		{"flip a byte of the signature", FlipByte(signed, sigDigit(signed, r)), true, []string{"Signature Validation: Signature is Invalid."}, []string{valid}, false},
		// Updates after signing: the signature is still valid for what it covers, and
		// poppler says it does not cover the whole file.
		{"append after signing", AppendAfterSigning(signed), true, []string{valid, notTotal}, nil, false},
		{"change the page content", ChangePageContent(signed), true, []string{valid, notTotal}, nil, false},
		{"change the page content, xref stream", AppendUpdateXRefStream(signed, PageContentUpdate(signed)), true, []string{valid, notTotal}, nil, false},
		{"add an annotation", AddAnnotation(signed), true, []string{valid, notTotal}, nil, false},
		{"add an annotation to a visible signature", AddAnnotation(visible), true, []string{valid, notTotal}, nil, false},
		// The signature's /Contents zeroed: poppler cannot parse a CMS.
		{"signature stripped", StripSignature(signed), true, []string{"Input couldn't be parsed as a CMS signature", "Unknown Validation Failure"}, []string{valid}, false},
		// The never-signed file.
		{"unsigned", issued, true, []string{"does not contain any signatures"}, []string{valid}, true},
		// Cut inside the trailer: the byte range runs past the end.
		{"truncated", Truncate(signed, len(signed)-10), false, []string{"Illegal values in ByteRange array"}, []string{valid}, false},
		// Cut back to the issued file: no signature left.
		{"truncated to the issued file", Truncate(signed, len(issued)), true, []string{"does not contain any signatures"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, ok := Run(t, "qpdf", "--check", WriteTemp(t, "doc.pdf", tc.file))
			if sound := ok && !strings.Contains(out, "WARNING"); sound != tc.qpdfOK {
				t.Errorf("qpdf --check (sound = %v, want %v):\n%s", sound, tc.qpdfOK, out)
			}
			out, ok = PDFSig(t, tc.file, "")
			if ok == tc.pdfsigErr {
				t.Errorf("pdfsig exited 0 = %v:\n%s", ok, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("pdfsig lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.unwanted {
				if strings.Contains(out, w) {
					t.Errorf("pdfsig says %q:\n%s", w, out)
				}
			}
			t.Logf("pdfsig:\n%s", out)
		})
	}
	if !bytes.Equal(StripSignature(signed)[:r[1]], signed[:r[1]]) || len(StripSignature(signed)) != len(signed) {
		t.Error("StripSignature changed more than /Contents")
	}
}

func TestPopplerSign(t *testing.T) {
	ca := NewCA(t, "VNPT-CA")
	s := ca.Delegate(t, DelegateOptions{UID: "CCCD:079203000101"})
	_, issued := IssuedConfirmation(t, 12)
	signed := PopplerSign(t, issued, s, PopplerOptions{FieldName: "Chu ky dai bieu"}) // checks the prefix
	out := check(t, signed)
	for _, want := range []string{"Signature Field Name: Chu ky dai bieu", "Common Name: " + DelegateName, "adbe.pkcs7.detached", "Total document signed"} {
		if !strings.Contains(out, want) {
			t.Errorf("pdfsig lacks %q:\n%s", want, out)
		}
	}
	checkCMS(t, signed, s, true)
	if txt := pdftotext(t, signed); !strings.Contains(txt, DelegateName) {
		t.Errorf("pdftotext lost the delegate's name:\n%s", txt)
	}
	// A second signature, by poppler over pdfsign's: the first no longer covers the file.
	both := PopplerSign(t, s.Sign(t, issued, SignOptions{}), s, PopplerOptions{})
	out = check(t, both)
	if !strings.Contains(out, "Signature #2") || strings.Count(out, valid) != 2 || !strings.Contains(out, "Not total document signed") {
		t.Errorf("pdfsig on two signatures:\n%s", out)
	}
	// The tamper helpers read poppler's output too (its page has an indirect /Annots).
	if out, _ := PDFSig(t, AddAnnotation(signed), ""); !strings.Contains(out, "Not total document signed") || !strings.Contains(out, valid) {
		t.Errorf("pdfsig after an annotation:\n%s", out)
	}
	if out, _ := PDFSig(t, ChangePageContent(signed), ""); !strings.Contains(out, "Not total document signed") {
		t.Errorf("pdfsig after a page change:\n%s", out)
	}
	if txt, _ := Run(t, "pdftotext", "-raw", WriteTemp(t, "doc.pdf", ChangePageContent(signed)), "-"); !strings.Contains(txt, ChangedText) {
		t.Errorf("pdftotext does not show the changed page:\n%s", txt)
	}
}

// TestCertificateValidation records what pdfsig 22.12 says of each kind of certificate
// when the CA's root is trusted in its NSS database.
func TestCertificateValidation(t *testing.T) {
	ca := NewCA(t, "VNPT-CA")
	impostor := NewCA(t, "VNPT-CA")
	db := NSSDB(t, ca)
	_, issued := IssuedConfirmation(t, 12)
	const unknownIssue = "Certificate Validation: Unknown issue with Certificate or corrupted data."
	for _, tc := range []struct {
		name   string
		signer *Signer
		o      SignOptions
		want   string
	}{
		{"valid", ca.Delegate(t, DelegateOptions{}), SignOptions{}, "Certificate Validation: Certificate is Trusted."},
		{"expired", ca.Delegate(t, DelegateOptions{Expired: true}), SignOptions{}, "Certificate Validation: Certificate has Expired"},
		// poppler checks at the present time, not at the signing time.
		{"expired, signed while valid", ca.Delegate(t, DelegateOptions{Expired: true}), SignOptions{Time: time.Now().AddDate(0, -6, 0)}, "Certificate Validation: Certificate has Expired"},
		// Surprising: pdfsig 22.12 calls a certificate that is not valid yet trusted.
		{"not yet valid", ca.Delegate(t, DelegateOptions{NotYetValid: true}), SignOptions{}, "Certificate Validation: Certificate is Trusted."},
		{"unknown critical extension", ca.Delegate(t, DelegateOptions{UnknownCritical: true}), SignOptions{}, unknownIssue},
		{"key encipherment only", ca.Delegate(t, DelegateOptions{KeyEncipherment: true}), SignOptions{}, unknownIssue},
		{"impostor CA", impostor.Delegate(t, DelegateOptions{}), SignOptions{}, "Certificate Validation: Certificate issuer is unknown."},
		{"intermediate left out", ca.Delegate(t, DelegateOptions{}), SignOptions{OmitIntermediate: true}, "Certificate Validation: Certificate issuer is unknown."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _ := PDFSig(t, tc.signer.Sign(t, issued, tc.o), db)
			if !strings.Contains(out, tc.want) || !strings.Contains(out, valid) {
				t.Errorf("pdfsig lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestInfoString(t *testing.T) {
	p, issued := IssuedConfirmation(t, 12)
	title, err := InfoString(issued, "Title")
	if want := "PHIẾU XÁC NHẬN KẾT QUẢ BIỂU QUYẾT - " + DelegateName + " - " + p.Poll.Title; err != nil || title != want {
		t.Errorf("Title = %q, %v; want %q", title, err, want)
	}
	signed := NewCA(t, "VNPT-CA").Delegate(t, DelegateOptions{}).Sign(t, issued, SignOptions{})
	if subject, err := InfoString(AppendAfterSigning(signed), "Subject"); err != nil || subject != p.Name() {
		t.Errorf("Subject = %q, %v; want %q", subject, err, p.Name())
	}
	for _, tc := range []struct{ in, want string }{
		{`(a\(b\)\\c\101\n)`, "a(b)\\cA\n"},
		{"(line\\\ncontinued)", "linecontinued"},
		{`<FEFF0054 1EA1>`, "Tạ"},
		{`<41424>`, "AB@"},
	} {
		b, err := pdfString([]byte(tc.in))
		if got := textString(b); err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	ca := NewCA(t, "bieuquyet TEST CA")
	s := ca.Delegate(t, DelegateOptions{UID: "CCCD:074163000101"})
	dir := t.TempDir()
	if err := ca.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := LoadCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != ca.Name || !got.Root.Equal(ca.Root) || !got.Intermediate.Equal(ca.Intermediate) ||
		!got.RootKey.Equal(ca.RootKey) || !got.IntermediateKey.Equal(ca.IntermediateKey) {
		t.Error("LoadCA did not read back what Save wrote")
	}
	certFile, keyFile := s.WritePEM(t)
	ls, err := LoadSigner(certFile, keyFile, got)
	if err != nil {
		t.Fatal(err)
	}
	if !ls.Certificate.Equal(s.Certificate) || !ls.Key.Equal(s.Key) || len(ls.Chain) != 2 || !ls.Chain[1].Equal(ca.Intermediate) {
		t.Error("LoadSigner did not read back what Save wrote")
	}
	other := ca.Delegate(t, DelegateOptions{})
	_, otherKey := other.WritePEM(t)
	if _, err := LoadSigner(certFile, otherKey, got); err == nil {
		t.Error("LoadSigner accepted another certificate's key")
	}
	if fi, err := os.Stat(filepath.Join(dir, RootKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("root key: %v, %v", fi, err)
	}
}

func TestWithoutTB(t *testing.T) {
	ca, err := NewCAE("bieuquyet TEST CA")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ca.DelegateE(DelegateOptions{FullName: "Lê Văn Vĩnh", UID: "CCCD:074163000101"})
	if err != nil {
		t.Fatal(err)
	}
	_, issued := IssuedConfirmation(t, 12)
	signed, err := s.SignE(issued, SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkCMS(t, signed, s, true)
	check(t, signed)
	if _, err := s.SignE(issued, SignOptions{Reason: "(Vĩnh)"}); err == nil {
		t.Error("SignE accepted a reason pdfsign cannot write")
	}
	if err := Extends(issued, issued); err == nil {
		t.Error("Extends accepted an unchanged file")
	}
}
