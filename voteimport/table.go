package voteimport

import (
	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet"
)

// The columns of a CSV or XLSX vote list. A row names its delegate by phone, else by
// Zalo name, else by full name; when it gives several, they must name the same voter.
const (
	colOption   = "option"
	colPhone    = "phone"
	colZaloName = "zalo_name"
	colName     = "name"
)

// identity lists the columns naming the delegate, in the order they are relied on.
var identity = []string{colPhone, colZaloName, colName}

// header is the header a vote list must have: option, and at least one of identity.
var header = &sheet.Columns{
	Known:    []string{colOption, colPhone, colZaloName, colName},
	Required: []string{colOption},
	Unknown:  "unknown column; the columns are option, and phone, zalo_name or name (the full name) to name the delegate",
	Fold:     fold,
	Clean:    clean,
}

// unzipLimit bounds what the sheet of an XLSX file (with its shared strings) may unpack
// to, against ZIP bombs: a list of MaxRows rows of a phone, an option and two names, the
// longest one could write, unpacks to 3 MiB.
const unzipLimit = 8 << 20

// readTable reads a CSV or XLSX vote list: a header, then one row per delegate and
// option.
func (s *state) readTable(content []byte, kind sheet.Kind) {
	// The header and MaxRows data rows; reading stops at the row after them.
	rows, ok := sheet.Read(content, kind, sheet.Options{UnzipLimit: unzipLimit, MaxRows: MaxRows + 1}, &s.p)
	switch {
	case !ok:
		return // the file could not be read at all
	case len(rows) == 0:
		s.p.File("is empty")
		return
	case rows[0].Failed:
		return // without its header, the file cannot be read
	}
	// The header is the first row that is not blank; usually row 1.
	h, ok := header.ReadHeader(rows[0], &s.p)
	if !h.Has(colPhone) && !h.Has(colZaloName) && !h.Has(colName) {
		s.p.Cell(rows[0].Num, colPhone, "column is missing; a vote list names each delegate by phone (best), zalo_name or name (the full name)")
		ok = false
	}
	if !ok {
		return
	}
	if len(rows)-1 > MaxRows {
		s.p.Reset() // the list is refused whole; the rest was not read
		s.p.File("has more than %d data rows; the limit is %d", MaxRows, MaxRows)
		return
	}
	for _, r := range rows[1:] {
		if !r.Failed {
			s.readRow(h, r)
		}
	}
}

// row is one data row's cells by column name, with the row's problems.
type row struct {
	*sheet.Record
	s *state
}

// readRow checks one data row and adds its choice.
func (s *state) readRow(h *sheet.Header, raw sheet.Row) {
	r := &row{Record: h.Record(raw, &s.p), s: s}
	option, optionOK := r.option()
	person, personOK := r.person(h)
	if optionOK && personOK {
		s.choices = append(s.choices, choice{pos: r.Num, field: bieuquyet.RowField(r.Num, colOption), person: person, option: option})
	}
}

// option returns the index of the row's option.
func (r *row) option() (int, bool) {
	if r.Flagged(colOption) {
		return 0, false
	}
	text := r.Cells[colOption]
	if text == "" {
		r.Bad(colOption, "is required; the options are %s", r.s.optionList())
		return 0, false
	}
	i, ok := r.s.option[fold(text)]
	if !ok {
		r.Bad(colOption, "%q is not an option of the poll; the options are %s", text, r.s.optionList())
		return 0, false
	}
	return i, true
}

// person returns the voter the row names. Each identity cell given must name someone;
// together they must name exactly one voter.
func (r *row) person(h *sheet.Header) (int64, bool) {
	type named struct {
		column, text string
		ids          []int64
	}
	var given []named
	failed := false
	for _, col := range identity {
		if r.Flagged(col) {
			failed = true
			continue
		}
		text := r.Cells[col]
		if text == "" {
			continue
		}
		var ids []int64
		if col == colPhone {
			phone, err := bieuquyet.NormalizePhone(text)
			if err != nil {
				r.Bad(col, "%q is not a valid phone number: it %v", text, err)
				failed = true
				continue
			}
			ids = r.s.el.byPhone[phone]
			if len(ids) == 0 {
				r.Bad(col, "%q is not in the poll's electorate: a non-member, or a wrong number", text)
				failed = true
				continue
			}
		} else {
			ids = r.s.el.byName[fold(text)]
			if len(ids) == 0 {
				r.Bad(col, "%s", notMember(text, "name"))
				failed = true
				continue
			}
		}
		given = append(given, named{col, text, ids})
	}
	if failed {
		return 0, false
	}
	if len(given) == 0 {
		col := colPhone
		for _, c := range identity {
			if h.Has(c) {
				col = c
				break
			}
		}
		r.Bad(col, "the row names no delegate; give the phone, zalo_name or name")
		return 0, false
	}
	first := given[0]
	ids := first.ids
	for _, g := range given[1:] {
		both := intersect(ids, g.ids)
		if len(both) == 0 {
			r.Bad(g.column, "%q is %s, but the %s %q is %s: a row names one delegate",
				g.text, r.s.el.list(g.ids, "or"), first.column, first.text, r.s.el.list(ids, "or"))
			return 0, false
		}
		ids = both
	}
	if len(ids) > 1 {
		r.Bad(first.column, "%s", r.s.el.ambiguous(first.text, ids, "give the phone instead"))
		return 0, false
	}
	return ids[0], true
}

// intersect returns the ids in both a and b, in the order of a.
func intersect(a, b []int64) []int64 {
	var out []int64
	for _, x := range a {
		if containsID(b, x) {
			out = append(out, x)
		}
	}
	return out
}
