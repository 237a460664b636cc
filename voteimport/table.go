package voteimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/bieuquyet/bieuquyet"
)

// The columns of a CSV or XLSX vote list. A row names its delegate by phone, else by
// Zalo name, else by full name; when it gives several, they must name the same voter.
const (
	colOption   = "option"
	colPhone    = "phone"
	colZaloName = "zalo_name"
	colName     = "name"
)

// columns lists the known columns; identity lists those naming the delegate, in the
// order they are relied on.
var (
	columns  = []string{colOption, colPhone, colZaloName, colName}
	identity = []string{colPhone, colZaloName, colName}
)

// rawRow is one row as read from the file, before its cells are checked. Row is the
// spreadsheet's row number (for CSV, the record's number).
type rawRow struct {
	Row   int
	Cells []string
	// Failed marks a row that could not be read (a CSV syntax error); its problem is
	// already reported and its cells are lost.
	Failed bool
}

// blank reports whether every cell is white space.
func (r rawRow) blank() bool {
	if r.Failed {
		return false
	}
	for _, c := range r.Cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// readCSV reads the records of a CSV file. It reports each record that is not valid
// CSV and goes on with the next. A record's row is the row a spreadsheet shows it in:
// encoding/csv skips empty lines, but they are rows all the same, while a quoted cell
// spanning several lines stays in one row.
func readCSV(content []byte, p *problems) []rawRow {
	content = bytes.TrimPrefix(content, bom)
	r := csv.NewReader(bytes.NewReader(content))
	r.FieldsPerRecord = -1 // ragged rows: missing cells are empty, extra ones are checked
	r.Comma = separator(firstLine(content))
	var rows []rawRow
	offset, lastLine, num := 0, 0, 0 // where the previous record ended, and its row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			p.file("cannot be read: %v", err)
			return rows
		}
		start := 0
		if pe != nil {
			start = pe.StartLine
		} else {
			start, _ = r.FieldPos(0)
		}
		num += 1 + max(0, start-lastLine-1)
		end := int(r.InputOffset())
		lastLine += bytes.Count(content[offset:end], []byte("\n"))
		offset = end
		if pe != nil {
			p.add(num, fmt.Sprintf("rows[%d]", num), "is not valid CSV: %v (line %d, column %d of the file)", pe.Err, pe.Line, pe.Column)
			rows = append(rows, rawRow{Row: num, Failed: true})
			continue
		}
		rows = append(rows, rawRow{Row: num, Cells: rec})
	}
	return rows
}

// firstLine returns the first line of content that is not white space.
func firstLine(content []byte) []byte {
	for rest := content; len(rest) > 0; {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(bytes.TrimSpace(line)) > 0 {
			return line
		}
	}
	return nil
}

// separator returns the separator of a CSV header line: a comma, unless the line has
// none but has semicolons (as Excel writes "CSV" where the decimal separator is a comma,
// as in Vietnamese) or tabs.
func separator(line []byte) rune {
	switch {
	case bytes.IndexByte(line, ',') >= 0:
		return ','
	case bytes.IndexByte(line, ';') >= 0:
		return ';'
	case bytes.IndexByte(line, '\t') >= 0:
		return '\t'
	}
	return ','
}

// unzipLimit bounds what an XLSX file may unpack to, against ZIP bombs.
const unzipLimit = 32 * MaxSize

// readXLSX reads the rows of the first sheet of an XLSX workbook, as the sheet shows
// them (numbers in their display format), leaving out blank rows.
func readXLSX(content []byte, p *problems) []rawRow {
	x, err := excelize.OpenReader(bytes.NewReader(content), excelize.Options{UnzipSizeLimit: unzipLimit})
	if err != nil {
		p.file("cannot be read as an Excel workbook (.xlsx); save it again from Excel, or as CSV UTF-8 (%v)", err)
		return nil
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		p.file("is not an Excel workbook (.xlsx), or has no sheet")
		return nil
	}
	it, err := x.Rows(sheets[0])
	if err != nil {
		p.file("the sheet %q cannot be read: %v", sheets[0], err)
		return nil
	}
	defer it.Close()
	rows := []rawRow{}
	for num := 1; it.Next(); num++ {
		cells, err := it.Columns()
		if err != nil {
			p.file("the sheet %q cannot be read at row %d: %v", sheets[0], num, err)
			return nil
		}
		row := rawRow{Row: num, Cells: cells}
		if !row.blank() {
			rows = append(rows, row)
		}
	}
	if err := it.Error(); err != nil {
		p.file("the sheet %q cannot be read: %v", sheets[0], err)
		return nil
	}
	return rows
}

// readTable reads the rows of a CSV or XLSX vote list: a header, then one row per
// delegate and option.
func (s *state) readTable(rows []rawRow) {
	if len(s.p.list) > 0 && rows == nil {
		return // the file could not be read at all
	}
	// The header is the first row that is not blank; usually row 1.
	for len(rows) > 0 && rows[0].blank() {
		rows = rows[1:]
	}
	if len(rows) == 0 {
		if len(s.p.list) == 0 {
			s.p.file("is empty")
		}
		return
	}
	if rows[0].Failed {
		return // without its header, the file cannot be read
	}
	h, ok := s.readHeader(rows[0])
	if !ok {
		return
	}
	for _, r := range rows[1:] {
		if !r.blank() && !r.Failed {
			s.readRow(h, r)
		}
	}
}

// header maps the file's columns to the known ones.
type header struct {
	names []string // by index; "" for a column with no (known) name
	has   map[string]bool
}

func (s *state) readHeader(r rawRow) (*header, bool) {
	h := &header{names: make([]string, len(r.Cells)), has: map[string]bool{}}
	before := len(s.p.list)
	at := map[string]int{}
	for i, c := range r.Cells {
		if !utf8.ValidString(c) {
			s.p.add(r.Row, bieuquyet.RowField(r.Row, "column_"+columnName(i)), "is not valid UTF-8")
			continue
		}
		name := fold(c)
		switch {
		case name == "":
			continue
		case !contains(columns, name):
			s.p.add(r.Row, bieuquyet.RowField(r.Row, name), "unknown column; the columns are option, and phone, zalo_name or name (the full name) to name the delegate")
			continue
		}
		if first, dup := at[name]; dup {
			s.p.add(r.Row, bieuquyet.RowField(r.Row, name), "column appears twice, in columns %s and %s", columnName(first), columnName(i))
			continue
		}
		at[name] = i
		h.names[i] = name
		h.has[name] = true
	}
	if !h.has[colOption] {
		s.p.add(r.Row, bieuquyet.RowField(r.Row, colOption), "column is missing")
	}
	if !h.has[colPhone] && !h.has[colZaloName] && !h.has[colName] {
		s.p.add(r.Row, bieuquyet.RowField(r.Row, colPhone), "column is missing; a vote list names each delegate by phone (best), zalo_name or name (the full name)")
	}
	return h, len(s.p.list) == before
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// columnName returns a column's spreadsheet name: 0 is A, 25 is Z, 26 is AA.
func columnName(i int) string {
	var b []byte
	for i++; i > 0; i = (i - 1) / 26 {
		b = append(b, byte('A'+(i-1)%26))
	}
	for l, r := 0, len(b)-1; l < r; l, r = l+1, r-1 {
		b[l], b[r] = b[r], b[l]
	}
	return string(b)
}

// row is one data row's cells by column name, with the row's problems.
type row struct {
	s       *state
	num     int
	cells   map[string]string
	flagged map[string]bool // the cells with a problem reported
}

// bad reports a problem with a cell, unless the cell has one already: one is enough.
func (r *row) bad(column, format string, args ...any) {
	if r.flagged[column] {
		return
	}
	r.flagged[column] = true
	r.s.p.add(r.num, bieuquyet.RowField(r.num, column), format, args...)
}

// readRow checks one data row and adds its choice.
func (s *state) readRow(h *header, raw rawRow) {
	r := &row{s: s, num: raw.Row, cells: map[string]string{}, flagged: map[string]bool{}}
	for i, c := range raw.Cells {
		name := ""
		if i < len(h.names) {
			name = h.names[i]
		}
		field := name
		if name == "" {
			field = "column_" + columnName(i)
		}
		if !utf8.ValidString(c) {
			r.bad(field, "is not valid UTF-8")
			c = strings.ToValidUTF8(c, "\uFFFD")
		}
		c = clean(c)
		if c == "" {
			continue
		}
		if name == "" {
			if i < len(h.names) {
				r.bad(field, "is in column %s, which has no header", columnName(i))
			} else {
				r.bad(field, "is in column %s, beyond the header's last column (%s)", columnName(i), columnName(len(h.names)-1))
			}
			continue
		}
		r.cells[name] = c
	}

	option, optionOK := r.option()
	person, personOK := r.person(h)
	if optionOK && personOK {
		s.choices = append(s.choices, choice{pos: r.num, field: bieuquyet.RowField(r.num, colOption), person: person, option: option})
	}
}

// option returns the index of the row's option.
func (r *row) option() (int, bool) {
	if r.flagged[colOption] {
		return 0, false
	}
	text := r.cells[colOption]
	if text == "" {
		r.bad(colOption, "is required; the options are %s", r.s.optionList())
		return 0, false
	}
	i, ok := r.s.option[fold(text)]
	if !ok {
		r.bad(colOption, "%q is not an option of the poll; the options are %s", text, r.s.optionList())
		return 0, false
	}
	return i, true
}

// person returns the voter the row names. Each identity cell given must name someone;
// together they must name exactly one voter.
func (r *row) person(h *header) (int64, bool) {
	type named struct {
		column, text string
		ids          []int64
	}
	var given []named
	failed := false
	for _, col := range identity {
		if r.flagged[col] {
			failed = true
			continue
		}
		text := r.cells[col]
		if text == "" {
			continue
		}
		var ids []int64
		if col == colPhone {
			phone, err := bieuquyet.NormalizePhone(text)
			if err != nil {
				r.bad(col, "%q is not a valid phone number: it %v", text, err)
				failed = true
				continue
			}
			ids = r.s.el.byPhone[phone]
			if len(ids) == 0 {
				r.bad(col, "%q is not in the poll's electorate: a non-member, or a wrong number", text)
				failed = true
				continue
			}
		} else {
			ids = r.s.el.byName[fold(text)]
			if len(ids) == 0 {
				r.bad(col, "%s", notMember(text, "name"))
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
			if h.has[c] {
				col = c
				break
			}
		}
		r.bad(col, "the row names no delegate; give the phone, zalo_name or name")
		return 0, false
	}
	first := given[0]
	ids := first.ids
	for _, g := range given[1:] {
		both := intersect(ids, g.ids)
		if len(both) == 0 {
			r.bad(g.column, "%q is %s, but the %s %q is %s: a row names one delegate",
				g.text, r.s.el.list(g.ids, "or"), first.column, first.text, r.s.el.list(ids, "or"))
			return 0, false
		}
		ids = both
	}
	if len(ids) > 1 {
		r.bad(first.column, "%s", r.s.el.ambiguous(first.text, ids, "give the phone instead"))
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
