package sheet

import (
	"container/heap"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bieuquyet/bieuquyet"
)

// MaxViolations bounds the violations in one error, so that a file that is not what it
// should be at all does not produce an error the size of the file.
const MaxViolations = 1000

// FieldContent names the whole file in violations.
const FieldContent = "content"

// Problems collects violations, each with the row or line it names (0 for the whole
// file), so that they can be listed in the order of the file. It keeps only the
// MaxViolations first in that order, and counts the others: a file of a million bad
// lines must not cost a million messages. The zero value is empty.
type Problems struct {
	kept problemHeap // the first MaxViolations, the last of them on top
	n    int         // every violation added, kept or not
}

type problem struct {
	pos, seq int // the row or line, then the order in which it was added
	v        bieuquyet.Violation
}

func (a problem) before(b problem) bool {
	return a.pos < b.pos || a.pos == b.pos && a.seq < b.seq
}

// problemHeap is a max-heap: its top is the problem listed last.
type problemHeap []problem

func (h problemHeap) Len() int           { return len(h) }
func (h problemHeap) Less(i, j int) bool { return h[j].before(h[i]) }
func (h problemHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *problemHeap) Push(x any)        { *h = append(*h, x.(problem)) }
func (h *problemHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// add counts a violation, and keeps it if it is among the first MaxViolations. The
// description is only written when it is kept.
func (p *Problems) add(pos int, field string, describe func() string) {
	q := problem{pos: pos, seq: p.n}
	p.n++
	if len(p.kept) == MaxViolations {
		if !q.before(p.kept[0]) {
			return
		}
		heap.Pop(&p.kept)
	}
	q.v = bieuquyet.Violation{Field: field, Description: describe()}
	heap.Push(&p.kept, q)
}

// Add adds a violation of field, at the row or line pos.
func (p *Problems) Add(pos int, field, format string, args ...any) {
	p.add(pos, field, func() string { return fmt.Sprintf(format, args...) })
}

// File adds a violation of the whole file.
func (p *Problems) File(format string, args ...any) {
	p.Add(0, FieldContent, format, args...)
}

// Cell adds a violation of a cell: the field "rows[12].phone".
func (p *Problems) Cell(row int, column, format string, args ...any) {
	p.Add(row, bieuquyet.RowField(row, column), format, args...)
}

// Len returns the number of violations, kept or not.
func (p *Problems) Len() int { return p.n }

// Reset forgets every violation.
func (p *Problems) Reset() { *p = Problems{} }

// Merge adds violations found by another check, each at the row its field names (see
// RowOf), leaving out those of a field that has a violation already: ours is the more
// precise, and one problem per cell is enough. Only the violations kept are compared,
// so past MaxViolations the count may include a cell twice; the list never does, since
// a cell's later violation comes after its first.
func (p *Problems) Merge(vs bieuquyet.Violations) {
	seen := map[string]bool{}
	for _, q := range p.kept {
		seen[q.v.Field] = true
	}
	for _, v := range vs {
		if !seen[v.Field] {
			p.add(RowOf(v.Field), v.Field, func() string { return v.Description })
		}
	}
}

// Err returns nil when there is no violation, else one CodeInvalid error listing them in
// the order of the file, at most MaxViolations of them. what names the file in the
// message: "the roster file" has 3 problems.
func (p *Problems) Err(what string) error {
	if p.n == 0 {
		return nil
	}
	list := append([]problem(nil), p.kept...)
	sort.Slice(list, func(i, j int) bool { return list[i].before(list[j]) })
	msg := fmt.Sprintf("%s has %d problems", what, p.n)
	if p.n == 1 {
		msg = what + " has 1 problem"
	}
	if p.n > len(list) {
		msg += fmt.Sprintf("; the first %d are listed", len(list))
	}
	vs := make([]bieuquyet.Violation, len(list))
	for i, q := range list {
		vs[i] = q.v
	}
	return &bieuquyet.Error{Code: bieuquyet.CodeInvalid, Message: msg, Violations: vs}
}

// RowOf returns the row a field such as "rows[12].phone" names, or 0.
func RowOf(field string) int {
	rest, ok := strings.CutPrefix(field, "rows[")
	if !ok {
		return 0
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return 0
	}
	return n
}
