package signtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Tool returns the path of an external command. When it is missing the test is skipped,
// naming the Debian package that provides it, unless the environment variable CI is set:
// there a missing tool is a broken CI machine, and the test fails.
func Tool(t testing.TB, name, aptPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (apt-get install %s), and CI is set", name, aptPackage)
		}
		t.Skipf("%s is not installed (apt-get install %s)", name, aptPackage)
	}
	return path
}

// The Debian packages of the tools used here.
var aptPackages = map[string]string{
	"pdfsig": "poppler-utils", "pdftotext": "poppler-utils", "pdftoppm": "poppler-utils", "qpdf": "qpdf",
	"certutil": "libnss3-tools", "pk12util": "libnss3-tools", "openssl": "openssl",
}

// Run runs a tool (one of pdfsig, pdftotext, qpdf, certutil, pk12util, openssl) and
// returns its standard output and standard error together, and whether it exited 0.
// Checkers such as pdfsig and qpdf report a bad file with a non-zero status, which is an
// answer, not a failure, so the test only fails when the tool cannot be run at all.
func Run(t testing.TB, name string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(Tool(t, name, aptPackages[name]), args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out.String(), err == nil
}

// WriteTemp writes b into a new temporary directory as name and returns its path.
func WriteTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := writeFile(path, b); err != nil {
		t.Fatal(err)
	}
	return path
}

// PDFSig runs poppler's pdfsig on file, with the certificate check off (-nocert) unless
// nssdir is given, and returns its output and whether it exited 0.
func PDFSig(t testing.TB, file []byte, nssdir string) (string, bool) {
	t.Helper()
	args := []string{"-nocert"}
	if nssdir != "" {
		args = []string{"-nssdir", nssdir}
	}
	return Run(t, "pdfsig", append(args, WriteTemp(t, "doc.pdf", file))...)
}
