package server

import (
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/protobuf/proto"

	bq "github.com/bieuquyet/bieuquyet"
)

// requestKey reads a write's request_id (AIP-155) and fingerprints the rest of the request,
// so that a retry can be told from another request that reuses the id. The fingerprint
// is the SHA-256 of the request's deterministic encoding without its id.
func requestKey(req interface {
	proto.Message
	GetRequestId() string
}) (bq.RequestKey, error) {
	id := req.GetRequestId()
	if id == "" {
		return bq.RequestKey{}, nil
	}
	if len(id) > bq.MaxRequestIDLen {
		return bq.RequestKey{}, bq.Invalid("request_id", "is longer than %d characters", bq.MaxRequestIDLen)
	}
	for _, r := range id {
		if r <= ' ' || r > '~' {
			return bq.RequestKey{}, bq.Invalid("request_id", "may hold only printable ASCII characters without spaces, such as a UUID")
		}
	}
	c := proto.Clone(req)
	m := c.ProtoReflect()
	m.Clear(m.Descriptor().Fields().ByName("request_id"))
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return bq.RequestKey{}, err
	}
	sum := sha256.Sum256(b)
	return bq.RequestKey{ID: id, Fingerprint: hex.EncodeToString(sum[:])}, nil
}
