package sheet

import (
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
// file), so that they can be listed in the order of the file. The zero value is empty.
type Problems struct {
	list []problem
}

type problem struct {
	pos int
	v   bieuquyet.Violation
}

// Add adds a violation of field, at the row or line pos.
func (p *Problems) Add(pos int, field, format string, args ...any) {
	p.list = append(p.list, problem{pos, bieuquyet.Violation{Field: field, Description: fmt.Sprintf(format, args...)}})
}

// File adds a violation of the whole file.
func (p *Problems) File(format string, args ...any) {
	p.Add(0, FieldContent, format, args...)
}

// Cell adds a violation of a cell: the field "rows[12].phone".
func (p *Problems) Cell(row int, column, format string, args ...any) {
	p.Add(row, bieuquyet.RowField(row, column), format, args...)
}

// Len returns the number of violations.
func (p *Problems) Len() int { return len(p.list) }

// Reset forgets every violation.
func (p *Problems) Reset() { p.list = nil }

// Merge adds violations found by another check, each at the row its field names (see
// RowOf), leaving out those of a field that has a violation already: ours is the more
// precise, and one problem per cell is enough.
func (p *Problems) Merge(vs bieuquyet.Violations) {
	seen := map[string]bool{}
	for _, q := range p.list {
		seen[q.v.Field] = true
	}
	for _, v := range vs {
		if !seen[v.Field] {
			p.list = append(p.list, problem{RowOf(v.Field), v})
		}
	}
}

// Err returns nil when there is no violation, else one CodeInvalid error listing them in
// the order of the file, at most MaxViolations of them. what names the file in the
// message: "the roster file" has 3 problems.
func (p *Problems) Err(what string) error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].pos < p.list[j].pos })
	n := len(p.list)
	msg := fmt.Sprintf("%s has %d problems", what, n)
	if n == 1 {
		msg = what + " has 1 problem"
	}
	if n > MaxViolations {
		msg += fmt.Sprintf("; the first %d are listed", MaxViolations)
		n = MaxViolations
	}
	vs := make([]bieuquyet.Violation, n)
	for i := range vs {
		vs[i] = p.list[i].v
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
