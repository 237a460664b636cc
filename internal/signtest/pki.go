package signtest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// OIDUID is the subject attribute userID (0.9.2342.19200300.100.1.1) in which the
// Vietnamese CAs put the holder's personal id, as "CMND:…" or "CCCD:…".
var OIDUID = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}

// OIDUnknownCritical is the private, meaningless extension DelegateOptions.UnknownCritical
// marks critical; a verifier must refuse a certificate it does not understand.
var OIDUnknownCritical = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1, 1}

// RSA 2048 generation costs tens to hundreds of milliseconds on a slow core, and suites
// make many certificates. Keys are therefore kept for the process: the n-th key a test asks
// for is the same key in every test. Within one test (its subtests included, since they
// share the top-level name) every key differs, so an impostor CA with a copied name never
// shares a key with the real one.
var keys struct {
	sync.Mutex
	pool []*pooledKey
	next map[string]int // top-level test name → index of its next key
}

type pooledKey struct {
	once sync.Once
	key  *rsa.PrivateKey
	err  error
}

func newKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	top, _, _ := strings.Cut(t.Name(), "/")
	keys.Lock()
	if keys.next == nil {
		keys.next = map[string]int{}
	}
	i, seen := keys.next[top]
	keys.next[top] = i + 1
	if !seen && top == t.Name() {
		// A rerun (-count) of the same test starts again from the first key.
		t.Cleanup(func() { keys.Lock(); delete(keys.next, top); keys.Unlock() })
	}
	for len(keys.pool) <= i {
		keys.pool = append(keys.pool, &pooledKey{})
	}
	k := keys.pool[i]
	keys.Unlock()
	// Generate outside the lock so that parallel tests generate different keys at once.
	k.once.Do(func() { k.key, k.err = rsa.GenerateKey(rand.Reader, 2048) })
	if k.err != nil {
		t.Fatalf("generate an RSA key: %v", k.err)
	}
	return k.key
}

// CA is a certificate authority shaped like the Vietnamese ones: a self-signed root and an
// intermediate under it, which issues the delegates' certificates.
type CA struct {
	Name            string
	Root            *x509.Certificate
	RootKey         *rsa.PrivateKey
	Intermediate    *x509.Certificate
	IntermediateKey *rsa.PrivateKey
}

// NewCA makes a root "{name} Root CA" and an issuing intermediate "{name}", valid from ten
// years ago for twenty years so that expired and not-yet-valid delegate certificates still
// fall inside their issuer's validity.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	now := time.Now()
	ca := &CA{Name: name, RootKey: newKey(t), IntermediateKey: newKey(t)}
	root := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name + " Root CA", Organization: []string{name}, Country: []string{"VN"}},
		NotBefore:    now.AddDate(-10, 0, 0), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	ca.Root = create(t, root, root, ca.RootKey, ca.RootKey)
	inter := &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"VN"}},
		NotBefore:    now.AddDate(-10, 0, 0), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	ca.Intermediate = create(t, inter, ca.Root, ca.IntermediateKey, ca.RootKey)
	return ca
}

// RootPEM returns the root certificate as PEM.
func (ca *CA) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Raw})
}

// IntermediatePEM returns the intermediate certificate as PEM.
func (ca *CA) IntermediatePEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Intermediate.Raw})
}

// WriteRoots writes each CA's root as a PEM file into a new temporary directory and
// returns it: what the service's --trust-roots DIR reads.
func WriteRoots(t testing.TB, cas ...*CA) string {
	t.Helper()
	dir := t.TempDir()
	for i, ca := range cas {
		name := strings.Map(func(r rune) rune {
			if r < 128 && (r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return r
			}
			return '_'
		}, ca.Name)
		// The index keeps two CAs of one name (a real one and an impostor) apart.
		writeFile(t, filepath.Join(dir, name+"-"+strconv.Itoa(i)+".pem"), ca.RootPEM())
	}
	return dir
}

// DelegateOptions describe a delegate's certificate. The zero value is a valid signing
// certificate for DelegateName.
type DelegateOptions struct {
	FullName     string // the subject's CN; DelegateName when empty
	UID          string // the subject's userID, e.g. "CCCD:079203000101"; none when empty
	SerialNumber string // the subject's serialNumber, e.g. "CMND:271234567"; none when empty
	// NotBefore and NotAfter default to an hour ago and a year from now. Expired and
	// NotYetValid set them (a year ago until yesterday; from tomorrow for a year) unless
	// they are given.
	NotBefore, NotAfter  time.Time
	Expired, NotYetValid bool
	// KeyEncipherment gives the key usage keyEncipherment alone, a certificate that must
	// not sign; the default is digitalSignature and contentCommitment (nonRepudiation).
	KeyEncipherment bool
	// UnknownCritical adds OIDUnknownCritical as a critical extension.
	UnknownCritical bool
}

// Signer is a delegate's certificate and key.
type Signer struct {
	Certificate *x509.Certificate
	Key         *rsa.PrivateKey
	Chain       []*x509.Certificate // the leaf, then the intermediate that issued it
	CA          *CA
}

// Delegate issues a certificate for a person from the CA's intermediate.
func (ca *CA) Delegate(t testing.TB, o DelegateOptions) *Signer {
	t.Helper()
	if o.FullName == "" {
		o.FullName = DelegateName
	}
	now := time.Now()
	nb, na := now.Add(-time.Hour), now.AddDate(1, 0, 0)
	switch {
	case o.Expired:
		nb, na = now.AddDate(-1, 0, 0), now.AddDate(0, 0, -1)
	case o.NotYetValid:
		nb, na = now.AddDate(0, 0, 1), now.AddDate(1, 0, 1)
	}
	if !o.NotBefore.IsZero() {
		nb = o.NotBefore
	}
	if !o.NotAfter.IsZero() {
		na = o.NotAfter
	}
	subject := pkix.Name{CommonName: o.FullName, Country: []string{"VN"}, SerialNumber: o.SerialNumber}
	if o.UID != "" {
		subject.ExtraNames = append(subject.ExtraNames, pkix.AttributeTypeAndValue{Type: OIDUID, Value: o.UID})
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(t), Subject: subject, NotBefore: nb, NotAfter: na,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	if o.KeyEncipherment {
		tmpl.KeyUsage = x509.KeyUsageKeyEncipherment
	}
	if o.UnknownCritical {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: OIDUnknownCritical, Critical: true, Value: []byte{0x05, 0x00}})
	}
	key := newKey(t)
	cert := create(t, tmpl, ca.Intermediate, key, ca.IntermediateKey)
	return &Signer{Certificate: cert, Key: key, Chain: []*x509.Certificate{cert, ca.Intermediate}, CA: ca}
}

// Fingerprint returns the hex SHA-256 of the leaf certificate's DER.
func (s *Signer) Fingerprint() string {
	sum := sha256.Sum256(s.Certificate.Raw)
	return hex.EncodeToString(sum[:])
}

// WritePEM writes the certificate chain (the leaf first, then the intermediate) and the
// PKCS#8 private key as PEM files into a new temporary directory.
func (s *Signer) WritePEM(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	var chain []byte
	for _, c := range s.Chain {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeFile(t, certFile, chain)
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	return certFile, keyFile
}

func create(t testing.TB, tmpl, parent *x509.Certificate, key, parentKey *rsa.PrivateKey) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatalf("create certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parse certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	return cert
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		t.Fatal(err)
	}
	return n.Add(n, big.NewInt(1))
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
