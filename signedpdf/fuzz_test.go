package signedpdf

import (
	"bytes"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
)

// Seeds: the issued confirmation and signed copies, read from testdata so that the fuzz
// corpus does not depend on keys generated at run time.
func seedFiles(f *testing.F) (issued []byte, signed [][]byte) {
	f.Helper()
	issued, err := os.ReadFile("testdata/issued.pdf")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"testdata/signed-pdfsign.pdf", "testdata/signed-own.pdf"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		signed = append(signed, b)
	}
	return issued, signed
}

func FuzzVerify(f *testing.F) {
	issued, signed := seedFiles(f)
	for _, s := range signed {
		f.Add(s[len(issued):])
	}
	f.Add([]byte("xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 >>\nstartxref\n115025\n%%EOF\n"))
	opt := Options{Roots: x509.NewCertPool(), IssueTime: time.Unix(0, 0), ReceiveTime: time.Now()}
	f.Fuzz(func(t *testing.T, tail []byte) {
		// The issued bytes are the service's own; only what follows them is fuzzed,
		// which is where a hostile file has its say.
		file := append(bytes.Clone(issued), tail...)
		_, err := Verify(issued, file, opt)
		var rej *Rejection
		if err != nil && !errors.As(err, &rej) {
			t.Fatalf("Verify returned a non-rejection error: %v", err)
		}
	})
}

func FuzzIdentify(f *testing.F) {
	issued, signed := seedFiles(f)
	f.Add(issued)
	for _, s := range signed {
		f.Add(s)
	}
	f.Add([]byte("%PDF-1.4\n%%EOF\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		id, err := Identify(file)
		if err == nil && len(id.IssuedSHA256) != 64 {
			t.Fatalf("Identify = %+v without an error", id)
		}
	})
}

// TestWriteSeeds rewrites the seed files in testdata when SIGNEDPDF_SEEDS is set.
func TestWriteSeeds(t *testing.T) {
	if os.Getenv("SIGNEDPDF_SEEDS") == "" {
		t.Skip("set SIGNEDPDF_SEEDS=1 to rewrite testdata")
	}
	fx := newFixture(t)
	files := map[string][]byte{
		"testdata/issued.pdf":         fx.issued,
		"testdata/signed-pdfsign.pdf": fx.signer.Sign(t, fx.issued, signtest.SignOptions{Visible: true, Time: fx.signTime()}),
		"testdata/signed-own.pdf":     signUpdate(t, appendObjStmUpdate(t, fx.issued, map[int]string{28: "<< /Subject (polls/3/confirmations/12) >>"}), fx.signer, signOpts{}),
	}
	for name, b := range files {
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkVerify verifies a confirmation signed by pdfsign with a visible widget: the
// work the server does for each file received.
func BenchmarkVerify(b *testing.B) {
	fx := newFixture(b)
	signed := fx.signer.Sign(b, fx.issued, signtest.SignOptions{Visible: true, Time: fx.signTime()})
	b.SetBytes(int64(len(signed)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(fx.issued, signed, fx.opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPoppler is BenchmarkVerify on poppler's update, which embeds a font.
func BenchmarkVerifyPoppler(b *testing.B) {
	fx := newFixture(b)
	signed := signtest.PopplerSign(b, fx.issued, fx.signer, signtest.PopplerOptions{})
	b.SetBytes(int64(len(signed)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Verify(fx.issued, signed, fx.opt); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerifyMutations is a deterministic fuzz run over the seed updates, byte edits that
// land mostly in PDF syntax, so that every `go test` exercises the hostile-input paths:
// each call returns a rejection (or success) quickly.
func TestVerifyMutations(t *testing.T) {
	issued, err := os.ReadFile("testdata/issued.pdf")
	if err != nil {
		t.Fatal(err)
	}
	var tails [][]byte
	for _, n := range []string{"testdata/signed-pdfsign.pdf", "testdata/signed-own.pdf"} {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		tails = append(tails, b[len(issued):])
	}
	opt := Options{Roots: x509.NewCertPool(), IssueTime: time.Unix(0, 0), ReceiveTime: time.Now()}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 1000 {
		tail := bytes.Clone(tails[r.IntN(len(tails))])
		for range 1 + r.IntN(4) {
			p := r.IntN(len(tail))
			switch r.IntN(3) {
			case 0:
				tail[p] = byte(r.IntN(256))
			case 1:
				tail = append(tail[:p:p], tail[min(len(tail), p+r.IntN(50)):]...)
			case 2:
				tail[p] = "0123456789 /<>[]()R"[r.IntN(19)]
			}
		}
		start := time.Now()
		_, err := Verify(issued, append(bytes.Clone(issued), tail...), opt)
		var rej *Rejection
		if err != nil && !errors.As(err, &rej) {
			t.Fatalf("case %d: %v", i, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("case %d took %v", i, d)
		}
	}
}
