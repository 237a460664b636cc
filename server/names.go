package server

import (
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	bq "github.com/bieuquyet/bieuquyet"
)

// parseName reads a resource name "collection/{id}" and names field in the error.
func parseName(field, collection, name string) (int64, error) {
	rest, ok := strings.CutPrefix(name, collection+"/")
	if name == "" {
		return 0, bq.Invalid(field, "is required")
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if !ok || err != nil || id <= 0 {
		return 0, bq.Invalid(field, "%q is not a %s name like %s/12", name, collection, collection)
	}
	return id, nil
}

func personName(id int64) string { return fmt.Sprintf("people/%d", id) }
func groupName(id int64) string  { return fmt.Sprintf("groups/%d", id) }

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
