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
	"fmt"
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

// poolKey returns the test's next key from the pool; see keys.
func poolKey(t testing.TB) (*rsa.PrivateKey, error) {
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
	k.once.Do(func() { k.key, k.err = freshKey() })
	return k.key, k.err
}

// freshKey generates a new RSA 2048 key, for the functions that take no testing.TB.
func freshKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate an RSA key: %w", err)
	}
	return k, nil
}

// keySource makes the keys of one CA or certificate: pooledKey in tests, freshKey outside.
type keySource func() (*rsa.PrivateKey, error)

func testKeys(t testing.TB) keySource {
	return func() (*rsa.PrivateKey, error) { t.Helper(); return poolKey(t) }
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
// fall inside their issuer's validity. Its keys come from the test's key pool.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	ca, err := newCA(name, testKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// NewCAE is NewCA outside tests: it generates new keys and returns an error instead of
// failing a test.
func NewCAE(name string) (*CA, error) {
	return newCA(name, freshKey)
}

func newCA(name string, newKey keySource) (*CA, error) {
	now := time.Now()
	rootKey, err := newKey()
	if err != nil {
		return nil, err
	}
	interKey, err := newKey()
	if err != nil {
		return nil, err
	}
	ca := &CA{Name: name, RootKey: rootKey, IntermediateKey: interKey}
	root := &x509.Certificate{
		Subject:   pkix.Name{CommonName: name + " Root CA", Organization: []string{name}, Country: []string{"VN"}},
		NotBefore: now.AddDate(-10, 0, 0), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if ca.Root, err = create(root, root, ca.RootKey, ca.RootKey); err != nil {
		return nil, err
	}
	inter := &x509.Certificate{
		Subject:   pkix.Name{CommonName: name, Organization: []string{name}, Country: []string{"VN"}},
		NotBefore: now.AddDate(-10, 0, 0), NotAfter: now.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: 0, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	if ca.Intermediate, err = create(inter, ca.Root, ca.IntermediateKey, ca.RootKey); err != nil {
		return nil, err
	}
	return ca, nil
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
	if err := WriteRootsE(dir, cas...); err != nil {
		t.Fatal(err)
	}
	return dir
}

// WriteRootsE writes each CA's root as a PEM file into dir, which must exist, named after
// the CA and its index: "VNPT-CA-0.pem".
func WriteRootsE(dir string, cas ...*CA) error {
	for i, ca := range cas {
		// The index keeps two CAs of one name (a real one and an impostor) apart.
		if err := writeFile(filepath.Join(dir, fileName(ca.Name)+"-"+strconv.Itoa(i)+".pem"), ca.RootPEM()); err != nil {
			return err
		}
	}
	return nil
}

// fileName keeps the ASCII letters, digits and hyphens of name and writes '_' for the rest.
func fileName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, name)
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

// Delegate issues a certificate for a person from the CA's intermediate, with a key from
// the test's key pool.
func (ca *CA) Delegate(t testing.TB, o DelegateOptions) *Signer {
	t.Helper()
	s, err := ca.delegate(o, testKeys(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// DelegateE is Delegate outside tests: it generates a new key and returns an error
// instead of failing a test.
func (ca *CA) DelegateE(o DelegateOptions) (*Signer, error) {
	return ca.delegate(o, freshKey)
}

func (ca *CA) delegate(o DelegateOptions, newKey keySource) (*Signer, error) {
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
		Subject: subject, NotBefore: nb, NotAfter: na,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	if o.KeyEncipherment {
		tmpl.KeyUsage = x509.KeyUsageKeyEncipherment
	}
	if o.UnknownCritical {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: OIDUnknownCritical, Critical: true, Value: []byte{0x05, 0x00}})
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	cert, err := create(tmpl, ca.Intermediate, key, ca.IntermediateKey)
	if err != nil {
		return nil, err
	}
	return &Signer{Certificate: cert, Key: key, Chain: []*x509.Certificate{cert, ca.Intermediate}, CA: ca}, nil
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
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := s.Save(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// Save writes the certificate chain (the leaf first, then the intermediate) to certFile
// and the PKCS#8 private key to keyFile, as PEM; LoadSigner reads them back.
func (s *Signer) Save(certFile, keyFile string) error {
	if err := writeFile(certFile, certsPEM(s.Chain...)); err != nil {
		return err
	}
	return writeKey(keyFile, s.Key)
}

// LoadSigner reads a signer saved by Save: the chain in certFile, the leaf first, and
// the key in keyFile, which must be the leaf's. The signer's CA is ca, which may be nil.
func LoadSigner(certFile, keyFile string, ca *CA) (*Signer, error) {
	chain, err := readCerts(certFile)
	if err != nil {
		return nil, err
	}
	key, err := readKey(keyFile)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(chain[0].PublicKey) {
		return nil, fmt.Errorf("%s: the key is not the key of the certificate in %s", keyFile, certFile)
	}
	return &Signer{Certificate: chain[0], Key: key, Chain: chain, CA: ca}, nil
}

// The files Save and LoadCA use in a CA's directory.
const (
	RootFile            = "root.pem"
	RootKeyFile         = "root.key"
	IntermediateFile    = "intermediate.pem"
	IntermediateKeyFile = "intermediate.key"
)

// Save writes the CA's certificates and PKCS#8 keys as PEM files into dir, which must
// exist: RootFile, RootKeyFile, IntermediateFile and IntermediateKeyFile. The keys are
// written readable by their owner only.
func (ca *CA) Save(dir string) error {
	for _, f := range []struct {
		name string
		b    []byte
	}{{RootFile, ca.RootPEM()}, {IntermediateFile, ca.IntermediatePEM()}} {
		if err := writeFile(filepath.Join(dir, f.name), f.b); err != nil {
			return err
		}
	}
	if err := writeKey(filepath.Join(dir, RootKeyFile), ca.RootKey); err != nil {
		return err
	}
	return writeKey(filepath.Join(dir, IntermediateKeyFile), ca.IntermediateKey)
}

// LoadCA reads a CA saved by Save from dir. Its name is the intermediate's common name.
func LoadCA(dir string) (*CA, error) {
	ca := &CA{}
	for _, f := range []struct {
		name string
		cert **x509.Certificate
		key  **rsa.PrivateKey
	}{{RootFile, &ca.Root, &ca.RootKey}, {IntermediateFile, &ca.Intermediate, &ca.IntermediateKey}} {
		certs, err := readCerts(filepath.Join(dir, f.name))
		if err != nil {
			return nil, err
		}
		keyFile := filepath.Join(dir, strings.TrimSuffix(f.name, ".pem")+".key")
		key, err := readKey(keyFile)
		if err != nil {
			return nil, err
		}
		if !key.PublicKey.Equal(certs[0].PublicKey) {
			return nil, fmt.Errorf("%s: the key is not the key of the certificate in %s", keyFile, f.name)
		}
		*f.cert, *f.key = certs[0], key
	}
	if err := ca.Intermediate.CheckSignatureFrom(ca.Root); err != nil {
		return nil, fmt.Errorf("%s: the intermediate is not issued by the root: %w", dir, err)
	}
	ca.Name = ca.Intermediate.Subject.CommonName
	return ca, nil
}

func certsPEM(certs ...*x509.Certificate) []byte {
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// readCerts reads the certificates of a PEM file, at least one.
func readCerts(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", path)
	}
	return certs, nil
}

// readKey reads a PKCS#8 RSA private key from a PEM file.
func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PEM PRIVATE KEY", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, not an RSA key", path, k)
	}
	return rk, nil
}

func writeKey(path string, key *rsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// create signs tmpl with parentKey, giving it a random serial number.
func create(tmpl, parent *x509.Certificate, key, parentKey *rsa.PrivateKey) (*x509.Certificate, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = n.Add(n, big.NewInt(1))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}

// writeFile writes b to path, readable by its owner only: the test PKI's files include
// private keys.
func writeFile(path string, b []byte) error {
	return os.WriteFile(path, b, 0o600)
}
