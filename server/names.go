package server

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"

	bq "github.com/bieuquyet/bieuquyet"
)

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// pageSize applies the defaults of AIP-158.
func pageSize(field string, n int32) (int, error) {
	switch {
	case n < 0:
		return 0, bq.Invalid(field, "must not be negative")
	case n == 0:
		return defaultPageSize, nil
	case n > maxPageSize:
		return maxPageSize, nil
	}
	return int(n), nil
}

// A page token is opaque to callers: the last id returned and a hash of the filter, so a
// token used with a different filter is refused instead of silently skipping rows.
func pageToken(afterID int64, filter string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%d:%d", afterID, filterHash(filter))))
}

func parsePageToken(field, token, filter string) (int64, error) {
	if token == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	var after int64
	var hash uint32
	if err == nil {
		_, err = fmt.Sscanf(string(raw), "%d:%d", &after, &hash)
	}
	if err != nil || after < 0 {
		return 0, bq.Invalid(field, "is not a page token this server issued")
	}
	if hash != filterHash(filter) {
		return 0, bq.Invalid(field, "was issued for a different filter")
	}
	return after, nil
}

func filterHash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
