package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/digitorus/pkcs7"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
	"github.com/bieuquyet/bieuquyet/pdf"
)

const valid = "Signature Validation: Signature is Valid."

// The roster's delegates with a signing identity. "Lê Văn Vĩnh" is a name pdfsign cannot
// write as /Name, so that signature goes without one.
var delegates = []person{
	{"074163000101", "CCCD:074163000101", "Nguyễn Văn An"},
	{"074174000102", "CCCD:074174000102", "Trần Thị Bình"},
	{"074085000103", "CCCD:074085000103", "Lê Văn Vĩnh"},
}

// writeRoster writes a roster CSV of a council, the three delegates, a delegate without
// a signing identity and a staff member with one, in a group, as rosterfile reads it.
func writeRoster(t *testing.T) string {
	t.Helper()
	rows := [][]string{
		{"record", "name", "term", "place", "kind", "leader", "title", "delegate", "phone", "signing_identity", "group", "role"},
		{"council", "Hội đồng nhân dân tỉnh Bình Dương", "khóa X, nhiệm kỳ 2021 - 2026", "Bình Dương"},
		{"person", delegates[0].Name, "", "", "", "", "Trưởng Ban Pháp chế HĐND tỉnh", "yes", "0900 000 101", delegates[0].Identity},
		{"person", delegates[1].Name, "", "", "", "", "Đại biểu HĐND tỉnh", "yes", "0900 000 102", delegates[1].Identity},
		{"person", delegates[2].Name, "", "", "", "", "Đại biểu HĐND tỉnh", "yes", "0900 000 103", delegates[2].Identity},
		{"person", "Phạm Mỹ Vy", "", "", "", "", "Đại biểu HĐND tỉnh", "yes", "0900 000 104"},
		{"person", "Đỗ Xuân Hải", "", "", "", "", "Chuyên viên", "no", "0900 000 201", "CCCD:074085000201"},
		{"group", "HĐND - Ban Pháp chế", "", "", "committee", "0900 000 101"},
	}
	for _, phone := range []string{"0900 000 101", "0900 000 102", "0900 000 103", "0900 000 104"} {
		rows = append(rows, []string{"member", "", "", "", "", "", "", "", phone, "", "HĐND - Ban Pháp chế", "member"})
	}
	rows = append(rows, []string{"member", "", "", "", "", "", "", "", "0900 000 201", "", "HĐND - Ban Pháp chế", "staff"})
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for _, r := range rows {
		r = append(r, make([]string, 12-len(r))...)
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return signtest.WriteTemp(t, "roster.csv", b.Bytes())
}

// runOK runs a command that must succeed and returns its standard output.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("%s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// confirmation renders an issued confirmation for a delegate's name and writes it.
func confirmation(t *testing.T, dir, name string, id int64) (string, []byte) {
	t.Helper()
	p := signtest.Paper(id)
	p.Person.FullName = name
	b, err := pdf.New().Confirmation(p)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("confirmation-%d.pdf", id))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b
}

// signerOf returns the signing certificate of a file's last signature and the others
// in its CMS.
func signerOf(t *testing.T, signed []byte) (*x509.Certificate, []*x509.Certificate) {
	t.Helper()
	r, ok := signtest.ByteRange(signed)
	if !ok {
		t.Fatal("no /ByteRange")
	}
	der, err := hex.DecodeString(string(signed[r[1]+1 : r[2]-1]))
	if err != nil {
		t.Fatal(err)
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		t.Fatal(err)
	}
	p7.Content = append(append([]byte(nil), signed[:r[1]]...), signed[r[2]:r[2]+r[3]]...)
	if err := p7.Verify(); err != nil {
		t.Errorf("the CMS does not verify: %v", err)
	}
	return p7.GetOnlySigner(), p7.Certificates
}

// chains checks that cert chains to the roots in dir/roots with crypto/x509, for a
// signature, and that its subject is the delegate's.
func chains(t *testing.T, dir string, cert *x509.Certificate, others []*x509.Certificate, want person) {
	t.Helper()
	roots := x509.NewCertPool()
	files, _ := filepath.Glob(filepath.Join(dir, rootsDir, "*"))
	if len(files) != 1 {
		t.Fatalf("roots/ holds %v, want one file", files)
	}
	pemBytes, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if !roots.AppendCertsFromPEM(pemBytes) || bytes.Contains(pemBytes, []byte("PRIVATE")) {
		t.Fatalf("roots/ is not a PEM root certificate alone")
	}
	inter := x509.NewCertPool()
	for _, c := range others {
		inter.AddCert(c)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the signer does not chain to roots/: %v", err)
	}
	uid := ""
	for _, a := range cert.Subject.Names {
		if a.Type.Equal(signtest.OIDUID) {
			uid, _ = a.Value.(string)
		}
	}
	if cert.Subject.CommonName != want.Name || uid != want.Identity {
		t.Errorf("signed by %q (UID %q), want %q (%s)", cert.Subject.CommonName, uid, want.Name, want.Identity)
	}
}

func TestInitSignTamper(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "testca")
	out := runOK(t, "init", "--dir", dir, "--roster", writeRoster(t))
	if want := "test CA in " + dir + ": 3 delegate certificates (1 delegates without a CCCD or CMND signing identity have none); trust " + filepath.Join(dir, "roots"); !strings.HasPrefix(out, want) {
		t.Errorf("init says %q, want it to start %q", out, want)
	}
	tsv, err := os.ReadFile(filepath.Join(dir, peopleFile))
	if err != nil {
		t.Fatal(err)
	}
	wantTSV := "number\tidentity\tname\n"
	for _, p := range delegates {
		wantTSV += p.Number + "\t" + p.Identity + "\t" + p.Name + "\n"
		for _, ext := range []string{".pem", ".key"} {
			if _, err := os.Stat(filepath.Join(dir, peopleDir, p.Number+ext)); err != nil {
				t.Error(err)
			}
		}
	}
	if string(tsv) != wantTSV {
		t.Errorf("people.tsv:\n%s\nwant:\n%s", tsv, wantTSV)
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"init", "--dir", dir, "--roster", writeRoster(t)}, &bytes.Buffer{}, &stderr); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("a second init = %v, want a refusal naming --force", err)
	}

	work := t.TempDir()
	for i, p := range delegates {
		t.Run(p.Name, func(t *testing.T) {
			file, issued := confirmation(t, work, p.Name, int64(20+i))
			out := runOK(t, "sign", "--dir", dir, file)
			dst := strings.TrimSuffix(file, ".pdf") + "-signed.pdf"
			if want := fmt.Sprintf("signed %s polls/3/confirmations/%d as %s (%s) -> %s\n", file, 20+i, p.Name, p.Identity, dst); out != want {
				t.Errorf("sign says %q, want %q", out, want)
			}
			signed, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if err := signtest.Extends(issued, signed); err != nil {
				t.Error(err)
			}
			if out, ok := signtest.PDFSig(t, signed, ""); !ok || !strings.Contains(out, valid) || !strings.Contains(out, "Total document signed") {
				t.Errorf("pdfsig:\n%s", out)
			}
			cert, others := signerOf(t, signed)
			chains(t, dir, cert, others, p)
		})
	}

	// Signed by another delegate, into another directory.
	file, issued := confirmation(t, work, delegates[0].Name, 30)
	outDir := filepath.Join(work, "out")
	out = runOK(t, "sign", file, "--dir", dir, "--as", delegates[1].Identity, "--out", outDir, "--visible")
	if !strings.Contains(out, " as "+delegates[1].Name+" ") {
		t.Errorf("sign --as says %q", out)
	}
	signed, err := os.ReadFile(filepath.Join(outDir, filepath.Base(file)))
	if err != nil {
		t.Fatal(err)
	}
	if err := signtest.Extends(issued, signed); err != nil {
		t.Error(err)
	}
	cert, others := signerOf(t, signed)
	chains(t, dir, cert, others, delegates[1])
	signedFile := signtest.WriteTemp(t, "signed.pdf", signed)

	for _, tc := range []struct {
		mode string
		want []string // in pdfsig's output
	}{
		{"flip", []string{"Digest Mismatch"}},
		{"sig", []string{"Signature is Invalid"}},
		{"strip", []string{"Input couldn't be parsed as a CMS signature"}},
		{"append", []string{valid, "Not total document signed"}},
		{"page", []string{valid, "Not total document signed"}},
		{"annot", []string{valid, "Not total document signed"}},
	} {
		t.Run("tamper "+tc.mode, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "tampered.pdf")
			if out := runOK(t, "tamper", "--mode", tc.mode, signedFile, dst); !strings.HasPrefix(out, "wrote "+dst+": ") {
				t.Errorf("tamper says %q", out)
			}
			b, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := signtest.PDFSig(t, b, "")
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("pdfsig lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestByTitle(t *testing.T) {
	people := []person{
		{"1", "CCCD:1", "Lê Văn An"},
		{"2", "CCCD:2", "Lê Văn An Bình"},
		{"3", "CCCD:3", "Trần Thị Bình"},
		{"4", "CCCD:4", "Trần Thị Bình"},
	}
	for _, tc := range []struct {
		title string
		want  string
		err   error
	}{
		{"PHIẾU XÁC NHẬN KẾT QUẢ BIỂU QUYẾT - Lê Văn An - Thông qua Nghị quyết - Phần 2", "1", nil},
		{"PHIẾU XÁC NHẬN KẾT QUẢ LẤY Ý KIẾN - Lê Văn An Bình - Thông qua", "2", nil},
		{"PHIẾU XÁC NHẬN KẾT QUẢ BIỂU QUYẾT - Trần Thị Bình - Thông qua", "", errAmbiguous},
		{"PHIẾU XÁC NHẬN KẾT QUẢ BIỂU QUYẾT - Lê Văn - Thông qua", "", errNoDelegate},
		{"Báo cáo", "", errNoDelegate},
	} {
		p, err := byTitle(people, tc.title)
		if !errors.Is(err, tc.err) || p.Number != tc.want {
			t.Errorf("%q: %v, %v; want %q, %v", tc.title, p.Number, err, tc.want, tc.err)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{nil, exitUsage},
		{[]string{"bogus"}, exitUsage},
		{[]string{"help"}, exitOK},
		{[]string{"init"}, exitUsage},
		{[]string{"init", "--dir", t.TempDir(), "--nope"}, exitUsage},
		{[]string{"sign", "--dir", t.TempDir()}, exitUsage},
		{[]string{"sign", "--dir", t.TempDir(), "x.pdf"}, exitFail}, // no CA there
		{[]string{"tamper", "--mode", "melt", "a", "b"}, exitUsage},
		{[]string{"tamper", "--mode", "flip", "a"}, exitUsage},
		{[]string{"tamper", "--mode", "flip", "/nonexistent.pdf", "b"}, exitFail},
	} {
		var stdout, stderr bytes.Buffer
		code := exitCode(run(context.Background(), tc.args, &stdout, &stderr), &stderr)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d; stderr:\n%s", tc.args, code, tc.code, stderr.String())
		}
		if code != exitOK && !strings.HasPrefix(stderr.String(), "bieuquyet-testca") && !strings.Contains(stderr.String(), "\nbieuquyet-testca") {
			t.Errorf("%q: stderr %q", tc.args, stderr.String())
		}
	}
}

func TestPersonOf(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"CCCD:074163000101", "CCCD:074163000101"},
		{" cccd : 074163000101 ", "CCCD:074163000101"},
		{"CMND:271234567", "CMND:271234567"},
		{"CCCD:27123456", ""},
		{"SHA256:abcd", ""},
		{"", ""},
	} {
		p, ok := personOf(tc.in, "A")
		if p.Identity != tc.want || ok != (tc.want != "") {
			t.Errorf("personOf(%q) = %q, %v; want %q", tc.in, p.Identity, ok, tc.want)
		}
	}
}
