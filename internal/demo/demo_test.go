// Package demo holds demo.sh, which `make demo` runs: a poll's whole life against the
// real binaries. Its test runs the script as CI would.
package demo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemo builds the binaries, runs demo.sh in a temporary folder and checks that it
// ends with the official result, within the minute the demo promises.
func TestDemo(t *testing.T) {
	for _, tool := range []string{"bash", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is missing", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "bin")
	for _, pkg := range []string{"./cmd/bieuquyet", "./cmd/bieuquyet-server", "./internal/cmd/bieuquyet-testca"} {
		build := exec.Command("go", "build", "-o", filepath.Join(bin, filepath.Base(pkg)), pkg)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	work := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "internal", "demo", "demo.sh"), work)
	cmd.Env = append(os.Environ(), "BIN="+bin)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	t.Logf("demo.sh took %v", took)
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"REJECTED sua-sau-khi-ky.pdf",
		"status:       mismatch (đã giải quyết)",
		"6 accepted, 0 rejected, 0 failed; polls/1 is finalized",
		"The confirmed result is official: polls/1 is finalized.",
		"audit trail intact",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"bieuquyet.db", "sua-sau-khi-ky.pdf", "scan.png", "bao-cao-chinh-thuc.pdf", "da-ky/polls-1-001-Ngo-Thanh-Thang.pdf"} {
		if _, err := os.Stat(filepath.Join(work, f)); err != nil {
			t.Error(err)
		}
	}
	if took > time.Minute {
		t.Errorf("demo.sh took %v; it must take under a minute", took)
	}
}
