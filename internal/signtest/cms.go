package signtest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

var (
	oidData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSigningCertV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidRSA           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidDigest        = map[crypto.Hash]asn1.ObjectIdentifier{
		crypto.SHA256: {2, 16, 840, 1, 101, 3, 4, 2, 1},
		crypto.SHA384: {2, 16, 840, 1, 101, 3, 4, 2, 2},
		crypto.SHA512: {2, 16, 840, 1, 101, 3, 4, 2, 3},
	}
)

// detachedCMS builds a detached CMS SignedData over content, signed by key for leaf, with
// the given signing time: what github.com/digitorus/pkcs7 makes, except that its signing
// time is always the wall clock. The signed attributes are content type, signing time,
// message digest and the ESS signing-certificate-v2 that PAdES expects.
func detachedCMS(content []byte, leaf *x509.Certificate, certs []*x509.Certificate, key *rsa.PrivateKey, h crypto.Hash, at time.Time) ([]byte, error) {
	digestOID, ok := oidDigest[h]
	if !ok {
		return nil, fmt.Errorf("digest %v is not supported", h)
	}
	sum := func(b []byte) []byte { d := h.New(); d.Write(b); return d.Sum(nil) }
	algorithm := func(b *cryptobyte.Builder, oid asn1.ObjectIdentifier) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1NULL()
		})
	}
	attr := func(oid asn1.ObjectIdentifier, value func(b *cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(oid)
			b.AddASN1(cbasn1.SET, value)
		})
		return b.BytesOrPanic()
	}
	attrs := [][]byte{
		attr(oidContentType, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) }),
		attr(oidSigningTime, func(b *cryptobyte.Builder) { b.AddASN1UTCTime(at.UTC()) }),
		attr(oidMessageDigest, func(b *cryptobyte.Builder) { b.AddASN1OctetString(sum(content)) }),
		attr(oidSigningCertV2, func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SigningCertificateV2
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // certs
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ESSCertIDv2
						if h != crypto.SHA256 { // SHA-256 is the default and DER leaves it out
							b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(digestOID) })
						}
						b.AddASN1OctetString(sum(leaf.Raw))
					})
				})
			})
		}),
	}
	// DER orders a SET OF by the elements' encodings.
	slices.SortFunc(attrs, bytes.Compare)
	joined := bytes.Join(attrs, nil)
	// The signature covers the attributes encoded as a SET, though they are written as [0].
	var set cryptobyte.Builder
	set.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { b.AddBytes(joined) })
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, sum(set.BytesOrPanic()))
	if err != nil {
		return nil, err
	}

	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // ContentInfo
		b.AddASN1ObjectIdentifier(oidSignedData)
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignedData
				b.AddASN1Int64(1)
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) { algorithm(b, digestOID) })
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { b.AddASN1ObjectIdentifier(oidData) })
				b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
					for _, c := range certs {
						b.AddBytes(c.Raw)
					}
				})
				b.AddASN1(cbasn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // SignerInfo
						b.AddASN1Int64(1)
						b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
							b.AddBytes(leaf.RawIssuer)
							b.AddASN1BigInt(leaf.SerialNumber)
						})
						algorithm(b, digestOID)
						b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(joined) })
						algorithm(b, oidRSA)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return b.Bytes()
}

var byteRangeRE = regexp.MustCompile(`/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]`)

// ByteRange returns the four numbers of the last /ByteRange in file.
func ByteRange(file []byte) ([4]int, bool) {
	var r [4]int
	all := byteRangeRE.FindAllSubmatch(file, -1)
	if len(all) == 0 {
		return r, false
	}
	m := all[len(all)-1]
	for i := range r {
		r[i], _ = strconv.Atoi(string(m[i+1]))
	}
	return r, true
}

// resign replaces the CMS in the last signature of signed (its /ByteRange and /Contents
// as pdfsign wrote them) by one made with detachedCMS, in place.
func resign(signed []byte, leaf *x509.Certificate, certs []*x509.Certificate, key *rsa.PrivateKey, h crypto.Hash, at time.Time) error {
	r, ok := ByteRange(signed)
	if !ok || r[0] != 0 || r[1]+2 > r[2] || r[2]+r[3] != len(signed) || signed[r[1]] != '<' || signed[r[2]-1] != '>' {
		return fmt.Errorf("no usable /ByteRange %v", r)
	}
	content := append(append([]byte(nil), signed[:r[1]]...), signed[r[2]:]...)
	cms, err := detachedCMS(content, leaf, certs, key, h, at)
	if err != nil {
		return err
	}
	room := signed[r[1]+1 : r[2]-1]
	if hex.EncodedLen(len(cms)) > len(room) {
		return fmt.Errorf("the CMS takes %d hex digits, the placeholder %d", hex.EncodedLen(len(cms)), len(room))
	}
	for i := range room {
		room[i] = '0'
	}
	hex.Encode(room, cms)
	return nil
}
