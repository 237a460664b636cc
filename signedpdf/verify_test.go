package signedpdf

import (
	"crypto/x509"
	"errors"
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

func newFixture(t *testing.T) *fixture {
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
		t.Logf("%+v", s)
	}
}
