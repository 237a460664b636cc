package bieuquyet

// MaxRequestIDLen bounds a request id, which is stored.
const MaxRequestIDLen = 100

// RequestKey makes a write safe to retry (AIP-155): ID is the caller's request_id and
// Fingerprint a digest of the request without it. The zero key promises nothing.
type RequestKey struct {
	ID          string
	Fingerprint string
}

// UsedRequest is what a request id was first used for.
type UsedRequest struct {
	Actor       string
	Action      string
	Fingerprint string
	Result      string // what the first call made, in its method's own terms
}

// Retry decides what a second use of an id is: the same request from the same caller is
// a retry, which gets the first call's result and changes nothing; anything else is
// refused, neither acting nor showing what the id was used for.
func (k RequestKey) Retry(used *UsedRequest, actor, action string) error {
	if used.Actor == actor && used.Action == action && used.Fingerprint != "" && used.Fingerprint == k.Fingerprint {
		return nil
	}
	return Errorf(CodeAlreadyExists, "request_id %q was already used for another request; send a new id for a new request", k.ID)
}
