package client

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bieuquyet/bieuquyet/internal/testcert"
)

func TestPeopleSigningIdentity(t *testing.T) {
	t.Parallel()
	addr := startServer(t)

	created := mustRun(t, addr, "people", "create", "--full-name", "Nguyễn Thị Hồng", "--phone", "0987 654 321",
		"--delegate", "--signing-identity", "cccd:074185000101")
	if got := field(t, created, "signing_identity"); got != "CCCD 074185000101" {
		t.Errorf("created signing_identity = %q", got)
	}
	list := mustRun(t, addr, "people", "list")
	if !regexp.MustCompile(`(?m)^people/1 .* CCCD 074185000101 +yes$`).MatchString(list) {
		t.Errorf("people list does not show the identity:\n%s", list)
	}

	// Mistakes are refused before anything is sent, with what a valid value looks like.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"people", "update", "1", "--signing-identity", "CCCD:74185000101"},
			`^bieuquyet: people update: invalid value "CCCD:74185000101" for flag -signing-identity: "CCCD:74185000101" is not a signing identity: a CCCD number has exactly 12 digits`},
		{[]string{"people", "update", "1", "--signing-identity", "MST:0301234567"},
			`is not a signing identity: write CCCD:079203000101 \(12 digits\), CMND:271234567`},
		{[]string{"people", "update", "1", "--signing-identity", "cmnd:271234567", "--signing-cert", "x.pem"},
			`^bieuquyet: people update: give --signing-identity or --signing-cert, not both`},
	} {
		r := run(t, addr, tt.args...)
		if r.code != 2 || !regexp.MustCompile(tt.want).MatchString(r.stderr) {
			t.Errorf("bieuquyet %s:\n%s", strings.Join(tt.args, " "), r)
		}
	}

	// A certificate, PEM or DER, binds its fingerprint.
	certs := testcert.New(t)
	pemBytes, err := os.ReadFile(certs.ClientCert)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	sum := sha256.Sum256(block.Bytes)
	want := "SHA256 " + hex.EncodeToString(sum[:])
	der := filepath.Join(t.TempDir(), "client.cer")
	if err := os.WriteFile(der, block.Bytes, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{certs.ClientCert, der} {
		got := mustRun(t, addr, "people", "update", "1", "--signing-cert", file)
		if field(t, got, "signing_identity") != want || field(t, got, "full_name") != "Nguyễn Thị Hồng" {
			t.Errorf("people update --signing-cert %s:\n%s", file, got)
		}
	}
	list = mustRun(t, addr, "people", "list")
	if !strings.Contains(list, " "+want[:len("SHA256 ")+16]+"… ") {
		t.Errorf("people list does not show the fingerprint's start:\n%s", list)
	}
	chain := filepath.Join(t.TempDir(), "chain.pem")
	ca, _ := os.ReadFile(certs.CA)
	if err := os.WriteFile(chain, append(pemBytes, ca...), 0o600); err != nil {
		t.Fatal(err)
	}
	for file, says := range map[string]string{
		certs.ClientKey: "has no PEM CERTIFICATE block",
		chain:           "holds more than one certificate",
		"missing.pem":   "no such file",
	} {
		r := run(t, addr, "people", "update", "1", "--signing-cert", file)
		if r.code == 0 || !strings.Contains(r.stderr, says) {
			t.Errorf("people update --signing-cert %s:\n%s", file, r)
		}
	}

	// An empty identity unbinds; the other fields stay.
	got := mustRun(t, addr, "people", "update", "1", "--signing-identity", "")
	if strings.Contains(got, "signing_identity") || field(t, got, "delegate") != "yes" {
		t.Errorf("people update --signing-identity \"\":\n%s", got)
	}
}
