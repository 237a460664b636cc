package signtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// PopplerOptions adjust a signature made by PopplerSign. pdfsig 22.12 has no option for
// the signing time, the signer's name, the location or a rectangle: its signature is
// invisible, adbe.pkcs7.detached and made now ("-etsi is not supported yet with
// -add-signature").
type PopplerOptions struct {
	Reason    string // -reason; DefaultReason when empty
	FieldName string // -new-signature-field-name; pdfsig picks a random one when empty
}

// NSSDB makes an NSS database in a new temporary directory with each CA's root trusted
// for signing ("C,,"), and returns it as "sql:DIR", for pdfsig -nssdir: with it pdfsig
// validates certificates against these roots. It needs certutil (libnss3-tools).
func NSSDB(t testing.TB, cas ...*CA) string {
	t.Helper()
	db := "sql:" + t.TempDir()
	mustRun(t, "certutil", "-N", "-d", db, "--empty-password")
	for i, ca := range cas {
		root := WriteTemp(t, "root.pem", ca.RootPEM())
		mustRun(t, "certutil", "-A", "-d", db, "-n", "root-"+strconv.Itoa(i)+"-"+ca.Name, "-t", "C,C,C", "-a", "-i", root)
	}
	return db
}

// PopplerSign signs file with poppler's pdfsig -add-signature, as the signer's key and
// chain imported into a fresh NSS database (by way of a PKCS#12 file made with openssl).
// pdfsig writes its own incremental update; PopplerSign fails the test unless file is a
// prefix of the result. It needs pdfsig (poppler-utils, 21.x or later), certutil and
// pk12util (libnss3-tools) and openssl.
func PopplerSign(t testing.TB, file []byte, s *Signer, o PopplerOptions) []byte {
	t.Helper()
	if o.Reason == "" {
		o.Reason = DefaultReason
	}
	Tool(t, "pdfsig", "poppler-utils")
	db := NSSDB(t, s.CA)
	dir := t.TempDir()
	certFile, keyFile := s.WritePEM(t)
	// pk12util refuses a PKCS#12 without a password, so give it one.
	const nick, pass = "signtest-delegate", "signtest"
	p12 := filepath.Join(dir, "delegate.p12")
	mustRun(t, "openssl", "pkcs12", "-export", "-inkey", keyFile, "-in", certFile, "-name", nick, "-out", p12, "-passout", "pass:"+pass)
	mustRun(t, "pk12util", "-i", p12, "-d", db, "-W", pass, "-K", "")
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := writeFile(in, file); err != nil {
		t.Fatal(err)
	}
	args := []string{"-add-signature", "-nssdir", db, "-nick", nick, "-reason", o.Reason}
	if o.FieldName != "" {
		args = append(args, "-new-signature-field-name", o.FieldName)
	}
	mustRun(t, "pdfsig", append(args, in, out)...)
	signed, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	MustExtend(t, file, signed)
	return signed
}

func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, ok := Run(t, name, args...)
	if !ok {
		t.Fatalf("%s %s:\n%s", name, strings.Join(args, " "), out)
	}
	return out
}
