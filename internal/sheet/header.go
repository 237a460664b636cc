package sheet

import (
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
)

// Columns are the columns a sheet may have, named by its header row in any order, and
// how its cells are read.
type Columns struct {
	Known    []string // the columns, as Fold gives their names
	Required []string // those the header must name: each missing one is reported
	Unknown  string   // the problem of a header cell naming no known column
	// Fold gives the column name a header cell stands for; nil: the cell trimmed, in
	// lower case.
	Fold func(string) string
	// Clean gives the value of a data cell; nil: the cell trimmed.
	Clean func(string) string
}

// Header maps the columns of a sheet to the known ones.
type Header struct {
	cols  *Columns
	names []string       // by column index; "" for a column with no (known) name
	at    map[string]int // name → column index
}

// ReadHeader reads a header row, reporting a cell that is not valid UTF-8 or names an
// unknown column, a column named twice, and a required column missing. ok is false when
// it reported any.
func (c *Columns) ReadHeader(r Row, p *Problems) (h *Header, ok bool) {
	h = &Header{cols: c, names: make([]string, len(r.Cells)), at: map[string]int{}}
	before := p.Len()
	for i, cell := range r.Cells {
		if problem, bad := r.Bad[i]; bad {
			p.Cell(r.Num, "column_"+ColumnName(i), "%s", problem)
			continue
		}
		if !utf8.ValidString(cell) {
			p.Cell(r.Num, "column_"+ColumnName(i), "is not valid UTF-8")
			continue
		}
		name := c.fold(cell)
		switch {
		case name == "":
			continue
		case !slices.Contains(c.Known, name):
			p.Cell(r.Num, name, "%s", c.Unknown)
			continue
		}
		if first, dup := h.at[name]; dup {
			p.Cell(r.Num, name, "column appears twice, in columns %s and %s", ColumnName(first), ColumnName(i))
			continue
		}
		h.at[name] = i
		h.names[i] = name
	}
	for _, name := range c.Required {
		if !h.Has(name) {
			p.Cell(r.Num, name, "column is missing")
		}
	}
	return h, p.Len() == before
}

func (c *Columns) fold(s string) string {
	if c.Fold != nil {
		return c.Fold(s)
	}
	return strings.ToLower(strings.TrimSpace(s))
}

func (c *Columns) clean(s string) string {
	if c.Clean != nil {
		return c.Clean(s)
	}
	return strings.TrimSpace(s)
}

// Has reports whether the header names a column.
func (h *Header) Has(column string) bool {
	_, ok := h.at[column]
	return ok
}

// Record is one data row's cells by column name, with the row's problems: at most one
// per cell.
type Record struct {
	Num      int               // the row
	Cells    map[string]string // by column name; no empty cell
	Problems *Problems
	flagged  map[string]bool // the cells with a problem reported
}

// Record reads a data row's cells under the header's columns, reporting a cell that is
// not valid UTF-8 (its value is then read with U+FFFD for the invalid bytes), one that
// is not empty under no known column, one that a spreadsheet would take for a formula
// (see Formula), one longer than bieuquyet.MaxTextLen characters, and the problems the
// row has already (Row.Bad). A cell reported is read all the same; the file is refused.
func (h *Header) Record(r Row, p *Problems) *Record {
	rec := &Record{Num: r.Num, Cells: map[string]string{}, Problems: p}
	for i, c := range r.Cells {
		name := ""
		if i < len(h.names) {
			name = h.names[i]
		}
		field := name
		if name == "" {
			field = "column_" + ColumnName(i)
		}
		if problem, bad := r.Bad[i]; bad {
			rec.Bad(field, "%s", problem)
		}
		if !utf8.ValidString(c) {
			rec.Bad(field, "is not valid UTF-8")
			c = norm.NFC.String(strings.ToValidUTF8(c, "\uFFFD"))
		}
		c = h.cols.clean(c)
		if c == "" {
			continue
		}
		if name == "" {
			if i < len(h.names) {
				rec.Bad(field, "is in column %s, which has no header", ColumnName(i))
			} else {
				rec.Bad(field, "is in column %s, beyond the header's last column (%s)", ColumnName(i), ColumnName(len(h.names)-1))
			}
			continue
		}
		if Formula(c) {
			rec.Bad(field, "%q would run as a formula in a spreadsheet (it starts with %q); write the text without it", c, c[:1])
		}
		if utf8.RuneCountInString(c) > bieuquyet.MaxTextLen {
			rec.Bad(field, "is longer than %d characters", bieuquyet.MaxTextLen)
		}
		rec.Cells[name] = c
	}
	return rec
}

// Bad reports a problem with a cell, unless the cell has one already: one is enough.
func (r *Record) Bad(column, format string, args ...any) {
	if r.flagged[column] {
		return
	}
	if r.flagged == nil {
		r.flagged = map[string]bool{}
	}
	r.flagged[column] = true
	r.Problems.Cell(r.Num, column, format, args...)
}

// Flagged reports whether a cell has a problem reported.
func (r *Record) Flagged(column string) bool { return r.flagged[column] }

// ColumnName returns a column's spreadsheet name: 0 is A, 25 is Z, 26 is AA.
func ColumnName(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append(b, byte('A'+(i-1)%26))
	}
	for l, r := 0, len(b)-1; l < r; l, r = l+1, r-1 {
		b[l], b[r] = b[r], b[l]
	}
	return string(b)
}
