package sqlite

import (
	"maps"
	"sync"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
)

// Every call authenticates: a read transaction of three queries, a fifth of a vote's CPU
// on the server. What it reads changes only through the store's own write transactions
// (tokens, people, groups, memberships), so principals are kept between calls and all
// dropped after any such commit, and after principalTTL at most, which bounds what a
// write by another process (the sqlite3 shell) could leave unseen. Votes do not drop
// them: they change nothing a principal holds.
const (
	principalTTL      = 2 * time.Second
	maxCachedPrincpal = 4096
)

type principalCache struct {
	mu      sync.Mutex
	entries map[[32]byte]cachedPrincipal
}

type cachedPrincipal struct {
	p      bq.Principal
	gen    int64     // committed when it was read, before the read began
	filled time.Time // the wall clock: the TTL is real time whatever the store's clock
}

// get returns a copy of the principal for hash if it was read since the last commit,
// within the TTL, and its token has not expired since.
func (c *principalCache) get(hash [32]byte, gen int64, now time.Time) (*bq.Principal, bool) {
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if !ok || e.gen != gen || time.Since(e.filled) > principalTTL || !now.Before(e.p.TokenExpiry) {
		return nil, false
	}
	p := e.p
	p.Groups = maps.Clone(e.p.Groups)
	if e.p.Person != nil {
		person := *e.p.Person
		p.Person = &person
	}
	return &p, true
}

// put keeps a principal read at generation gen.
func (c *principalCache) put(hash [32]byte, gen int64, p *bq.Principal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedPrincpal {
		c.entries = map[[32]byte]cachedPrincipal{}
	}
	e := cachedPrincipal{p: *p, gen: gen, filled: time.Now()}
	e.p.Groups = maps.Clone(p.Groups)
	if p.Person != nil {
		person := *p.Person
		e.p.Person = &person
	}
	c.entries[hash] = e
}
