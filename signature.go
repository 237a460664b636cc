package bieuquyet

import (
	"fmt"
	"time"
)

// What comes back for a confirmation is checked by packages of its own, which the domain
// reaches through these interfaces as it reaches documents through DocumentRenderer:
// signedpdf checks digitally signed PDFs, qrscan reads the QR code on a paper scan.

// SignatureVerifier checks digitally signed confirmations.
type SignatureVerifier interface {
	// Identify says which confirmation a returned file claims to be: the name in its
	// metadata ("" when it has none), and the hex SHA-256 of its first revision, which is
	// the issued document's digest when the file is an incremental update of it.
	Identify(file []byte) (name, firstRevision string, err error)
	// Verify checks file against the document issued at issue and received at receive:
	// the issued bytes are a prefix, what follows only signs them, every signature
	// verifies and chains to the trusted roots, the last covers the whole file. It
	// returns the signatures in file order, or a *Rejection.
	Verify(issued, file []byte, issue, receive time.Time) ([]DocumentSignature, error)
}

// DocumentSignature is one verified signature of a returned file.
type DocumentSignature struct {
	SignerInfo
	// PersonalIDs are the subject's UID and serialNumber values, where Vietnamese
	// personal certificates carry the holder's id number ("CCCD:079203000101").
	PersonalIDs []string
	// Timestamp marks a document timestamp: it vouches for a time, not for a signer.
	Timestamp bool
}

// Rejection is why a returned file is refused: a stable code and a sentence.
type Rejection struct {
	Reason  string
	Message string
}

func (r *Rejection) Error() string { return r.Message }

// Reject makes a Rejection.
func Reject(reason, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// ScanReader reads the QR payloads drawn on a scan of a paper confirmation: a PDF, PNG or
// JPEG.
type ScanReader interface {
	// MediaType names what the file is (application/pdf, image/png or image/jpeg), or
	// refuses it with CodeInvalid.
	MediaType(file []byte) (string, error)
	// Payloads returns the text of every QR code found, in no set order.
	Payloads(file []byte) ([]string, error)
}
