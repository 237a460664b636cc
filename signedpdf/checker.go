package signedpdf

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
)

// Limits on the trust roots folder: a handful of CA roots is what a council trusts.
const (
	maxRootFiles = 200
	maxRootBytes = 1 << 20
)

// Checker is the service's bieuquyet.SignatureVerifier: Verify against the roots in a
// folder of PEM files, read afresh for every file checked, so that an operator adds or
// removes a CA without restarting the server.
type Checker struct {
	// RootsDir holds the trusted roots as PEM files (*.pem, *.crt, *.cer); empty or
	// missing trusts nothing, and every signature is then rejected as untrusted with a
	// sentence saying so.
	RootsDir string
	// SignatureArea is where new signature widgets may be drawn (Options.SignatureArea).
	SignatureArea [4]float64
}

var _ bq.SignatureVerifier = (*Checker)(nil)

// Identify implements bieuquyet.SignatureVerifier.
func (c *Checker) Identify(file []byte) (name, firstRevision string, err error) {
	id, err := Identify(file)
	if err != nil {
		return "", "", domainRejection(err)
	}
	return id.Name, id.IssuedSHA256, nil
}

// Verify implements bieuquyet.SignatureVerifier.
func (c *Checker) Verify(issued, file []byte, issue, receive time.Time) ([]bq.DocumentSignature, error) {
	roots, n, err := LoadRoots(c.RootsDir)
	if err != nil {
		return nil, err
	}
	res, err := Verify(issued, file, Options{Roots: roots, IssueTime: issue, ReceiveTime: receive, SignatureArea: c.SignatureArea})
	if err != nil {
		r := asRejection(err)
		if r == nil {
			return nil, err
		}
		if n == 0 && r.Reason == string(ReasonUntrusted) {
			r.Message += fmt.Sprintf(" (no trusted roots are configured: put the CAs' root certificates as PEM files in %s)", c.RootsDir)
		}
		return nil, r
	}
	out := make([]bq.DocumentSignature, len(res.Signatures))
	for i, s := range res.Signatures {
		out[i] = bq.DocumentSignature{
			SignerInfo:  bq.SignerInfo{Subject: subjectText(s), Issuer: s.Issuer, Serial: s.Serial, Fingerprint: s.Fingerprint, SigningTime: s.SigningTime},
			PersonalIDs: s.PersonalIDs, Timestamp: s.Timestamp,
		}
	}
	return out, nil
}

// subjectText writes a signer's subject for people: the common name, and the personal id
// the certificate carries, rather than Go's OID-and-hex form of the UID attribute.
func subjectText(s Signature) string {
	if s.Certificate == nil || s.Certificate.Subject.CommonName == "" {
		return s.Subject
	}
	parts := []string{"CN=" + s.Certificate.Subject.CommonName}
	for _, id := range s.PersonalIDs {
		parts = append(parts, "UID="+id)
	}
	return strings.Join(parts, ", ")
}

// domainRejection turns a *Rejection into the domain's, keeping its code; another error
// is returned as it is, typed as the domain's *Rejection when nil.
func domainRejection(err error) error {
	if r := asRejection(err); r != nil {
		return r
	}
	return err
}

func asRejection(err error) *bq.Rejection {
	var r *Rejection
	if errors.As(err, &r) {
		return &bq.Rejection{Reason: string(r.Reason), Message: r.Error()}
	}
	return nil
}

// LoadRoots reads the PEM certificates of a folder into a pool, and how many it found.
// A missing folder is no roots; an unreadable file or one without a certificate is an
// error naming it, so that a misconfiguration shows at once.
func LoadRoots(dir string) (*x509.CertPool, int, error) {
	pool := x509.NewCertPool()
	if dir == "" {
		return pool, 0, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return pool, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("trust roots: %w", err)
	}
	n := 0
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || !slices.Contains([]string{".pem", ".crt", ".cer"}, ext) {
			continue
		}
		if n++; n > maxRootFiles {
			return nil, 0, fmt.Errorf("trust roots: more than %d files in %s", maxRootFiles, dir)
		}
		path := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			return nil, 0, fmt.Errorf("trust roots: %w", err)
		}
		if info.Size() > maxRootBytes {
			return nil, 0, fmt.Errorf("trust roots: %s is over %d bytes", path, maxRootBytes)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, 0, fmt.Errorf("trust roots: %w", err)
		}
		if !pool.AppendCertsFromPEM(b) {
			return nil, 0, fmt.Errorf("trust roots: %s holds no PEM certificate", path)
		}
	}
	return pool, n, nil
}
