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

// Seeds are read from testdata, so that the fuzz corpus does not depend on keys
// generated at run time: the issued confirmation with a pdfsign signature and with one
// made by signUpdate over an object-stream update, and a small hand-made document (a
// few hundred bytes, so the fuzzer runs fast) with a signUpdate signature.
func readSeed(f testing.TB, name string) []byte {
	f.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

var seedPairs = [][2]string{
	{"issued.pdf", "signed-pdfsign.pdf"},
	{"issued.pdf", "signed-own.pdf"},
	{"small-issued.pdf", "small-signed.pdf"},
}

func FuzzVerify(f *testing.F) {
	issued := [2][]byte{readSeed(f, "issued.pdf"), readSeed(f, "small-issued.pdf")}
	for _, p := range seedPairs {
		small := p[0] == "small-issued.pdf"
		i := 0
		if small {
			i = 1
		}
		f.Add(small, readSeed(f, p[1])[len(issued[i]):])
	}
	f.Add(true, []byte("xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 1 /Prev 0 >>\nstartxref\n0\n%%EOF\n"))
	opt := Options{Roots: x509.NewCertPool(), IssueTime: time.Unix(0, 0), ReceiveTime: time.Now()}
	f.Fuzz(func(t *testing.T, small bool, tail []byte) {
		// The issued bytes are the service's own; only what follows them is fuzzed,
		// which is where a hostile file has its say.
		base := issued[0]
		if small {
			base = issued[1]
		}
		file := append(bytes.Clone(base), tail...)
		_, err := Verify(base, file, opt)
		var rej *Rejection
		if err != nil && !errors.As(err, &rej) {
			t.Fatalf("Verify returned a non-rejection error: %v", err)
		}
	})
}

func FuzzIdentify(f *testing.F) {
	for _, name := range []string{"small-issued.pdf", "small-signed.pdf", "issued.pdf", "signed-pdfsign.pdf", "signed-own.pdf"} {
		f.Add(readSeed(f, name))
	}
	f.Add([]byte("%PDF-1.4\n%%EOF\n"))
	f.Fuzz(func(t *testing.T, file []byte) {
		id, err := Identify(file)
		if err == nil && len(id.IssuedSHA256) != 64 {
			t.Fatalf("Identify = %+v without an error", id)
		}
	})
}

// smallIssued is a minimal one-page document with an Info /Subject, standing in for a
// confirmation where the fuzzer needs small inputs.
func smallIssued() []byte {
	return makePDF(
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << >> >>"),
		stream("", []byte("0 0 m 100 100 l S")),
	)
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
		"testdata/small-issued.pdf":   smallIssued(),
		"testdata/small-signed.pdf":   signUpdate(t, smallIssued(), fx.signer, signOpts{}),
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
	issued := readSeed(t, "issued.pdf")
	var tails [][]byte
	for _, p := range seedPairs[:2] {
		tails = append(tails, readSeed(t, p[1])[len(issued):])
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
