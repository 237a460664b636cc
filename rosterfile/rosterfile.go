// Package rosterfile reads the roster file the secretariat keeps, a CSV or XLSX sheet,
// into a bieuquyet.RosterFile.
//
// The sheet has a header row naming its columns, in any order and any letter case, and
// one record per row: a council, person, group or member row, named by the record
// column. Parse checks the whole file and reports every problem it finds, each naming
// the spreadsheet row and column ("rows[12].phone"), so that the secretariat can fix
// them all in one pass; then it runs the domain's own checks (RosterFile.Validate).
package rosterfile

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
)

// Format is the format of a roster file.
type Format int

// The formats. FormatDetect takes a file starting with a ZIP signature for XLSX and
// anything else for CSV.
const (
	FormatDetect Format = iota
	FormatCSV
	FormatXLSX
)

func (f Format) String() string {
	switch f {
	case FormatDetect:
		return "detect"
	case FormatCSV:
		return "csv"
	case FormatXLSX:
		return "xlsx"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// MaxSize bounds a roster file, in bytes.
const MaxSize = 8 << 20

// MaxRows bounds the data rows of a roster file (blank rows and the header not counted).
const MaxRows = 10000

// maxViolations bounds the violations in one error, so that a file that is not a roster
// at all does not produce an error the size of the file.
const maxViolations = 1000

// fieldContent names the whole file in violations.
const fieldContent = "content"

// The columns of a roster file.
const (
	colRecord          = "record"
	colName            = "name"
	colTerm            = "term"
	colPlace           = "place"
	colKind            = "kind"
	colLeader          = "leader"
	colZaloLink        = "zalo_link"
	colTitle           = "title"
	colDelegate        = "delegate"
	colPhone           = "phone"
	colZaloName        = "zalo_name"
	colEmail           = "email"
	colSigningIdentity = "signing_identity"
	colGroup           = "group"
	colRole            = "role"
)

// columns lists the known columns in the order of the sample file.
var columns = []string{
	colRecord, colName, colTerm, colPlace, colKind, colLeader, colZaloLink, colTitle,
	colDelegate, colPhone, colZaloName, colEmail, colSigningIdentity, colGroup, colRole,
}

// required lists the columns a file must have.
var required = []string{
	colRecord, colName, colKind, colLeader, colTitle, colDelegate, colPhone, colGroup, colRole,
}

// The record types, and the columns each one uses besides record.
const (
	recCouncil = "council"
	recPerson  = "person"
	recGroup   = "group"
	recMember  = "member"
)

var records = []string{recCouncil, recPerson, recGroup, recMember}

var uses = map[string][]string{
	recCouncil: {colName, colTerm, colPlace},
	recPerson:  {colName, colTitle, colDelegate, colPhone, colZaloName, colEmail, colSigningIdentity},
	recGroup:   {colName, colKind, colLeader, colZaloLink},
	recMember:  {colGroup, colPhone, colRole},
}

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

// problems collects violations, each with the row it names (0 for the file), so that
// they can be listed in the order of the file.
type problems struct {
	list []problem
}

type problem struct {
	row int
	v   bieuquyet.Violation
}

func (p *problems) add(row int, field, format string, args ...any) {
	p.list = append(p.list, problem{row, bieuquyet.Violation{Field: field, Description: fmt.Sprintf(format, args...)}})
}

func (p *problems) file(format string, args ...any) {
	p.add(0, fieldContent, format, args...)
}

func (p *problems) cell(row int, column, format string, args ...any) {
	p.add(row, bieuquyet.RowField(row, column), format, args...)
}

// merge adds the domain's violations, leaving out those about a cell that already has a
// violation of ours: ours is the more precise, and one problem per cell is enough.
func (p *problems) merge(vs bieuquyet.Violations) {
	seen := map[string]bool{}
	for _, q := range p.list {
		seen[q.v.Field] = true
	}
	for _, v := range vs {
		if seen[v.Field] {
			continue
		}
		p.list = append(p.list, problem{rowOf(v.Field), v})
	}
}

// err returns nil when there is no problem, else one CodeInvalid error listing them in
// the order of the file.
func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	sort.SliceStable(p.list, func(i, j int) bool { return p.list[i].row < p.list[j].row })
	n := len(p.list)
	msg := fmt.Sprintf("the roster file has %d problems", n)
	if n == 1 {
		msg = "the roster file has 1 problem"
	}
	if n > maxViolations {
		msg += fmt.Sprintf("; the first %d are listed", maxViolations)
		n = maxViolations
	}
	vs := make([]bieuquyet.Violation, n)
	for i := range vs {
		vs[i] = p.list[i].v
	}
	return &bieuquyet.Error{Code: bieuquyet.CodeInvalid, Message: msg, Violations: vs}
}

// rowOf returns the row a field such as "rows[12].phone" names, or 0.
func rowOf(field string) int {
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

// Parse reads a roster file and checks it, and returns the file or a *bieuquyet.Error:
// CodeInvalid with a violation for every problem found (only the size, for a file over
// MaxSize).
func Parse(content []byte, format Format) (*bieuquyet.RosterFile, error) {
	if n := len(content); n > MaxSize {
		size := fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		if n < MaxSize+(1<<20)/10 { // it would read "8.0 MiB"
			size = fmt.Sprintf("%d bytes", n)
		}
		return nil, bieuquyet.Invalid("content", "the file is %s; the limit is %d MiB", size, MaxSize>>20)
	}
	var p problems
	if format == FormatDetect {
		format = detect(content)
	}
	var rows []rawRow
	switch format {
	case FormatCSV:
		rows = readCSV(content, &p)
	case FormatXLSX:
		rows = readXLSX(content, &p)
	case formatOLE:
		p.file("is an old Excel workbook (.xls) or a password-protected one; save it as an Excel workbook (.xlsx) without a password, or as CSV UTF-8")
	default:
		return nil, bieuquyet.Invalid("format", "%v is not a roster file format", format)
	}
	if len(p.list) > 0 && rows == nil {
		return nil, p.err()
	}

	// The header is the first row that is not blank; usually row 1.
	for len(rows) > 0 && rows[0].blank() {
		rows = rows[1:]
	}
	if len(rows) == 0 {
		if len(p.list) == 0 {
			p.file("the file is empty")
		}
		return nil, p.err()
	}
	if rows[0].Failed {
		return nil, p.err() // without its header, the file cannot be read
	}
	h, ok := readHeader(rows[0], &p)
	if !ok {
		return nil, p.err()
	}
	data := rows[1:]
	n := 0
	for _, r := range data {
		if !r.blank() {
			n++
		}
	}
	switch {
	case n > MaxRows:
		p.list = nil // the file is refused whole; the rest was not read
		p.file("the file has more than %d data rows; the limit is %d", MaxRows, MaxRows)
		return nil, p.err()
	case n == 0:
		if len(p.list) == 0 {
			p.file("the file has no data rows")
		}
		return nil, p.err()
	}

	f := &bieuquyet.RosterFile{}
	for _, r := range data {
		if !r.blank() && !r.Failed {
			h.readRow(f, r, &p)
		}
	}
	p.merge(f.Validate())
	if err := p.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// formatOLE is a file in an OLE compound document: an .xls workbook, or an encrypted
// .xlsx one. Neither can be read; detect names it so that the error can say why.
const formatOLE Format = -1

func detect(content []byte) Format {
	switch {
	case bytes.HasPrefix(content, []byte("PK\x03\x04")):
		return FormatXLSX
	case bytes.HasPrefix(content, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		return formatOLE
	}
	return FormatCSV
}

// clean puts a cell in the form the rest of the package expects: NFC, trimmed.
// Vietnamese typed on some keyboards is decomposed (NFD); names must compare equal
// however they were typed.
func clean(s string) string {
	return strings.TrimSpace(norm.NFC.String(s))
}

// fold is clean, lower-cased: for matching column names and keywords.
func fold(s string) string {
	return strings.ToLower(clean(s))
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

// header maps the file's columns to the known ones.
type header struct {
	names []string // by index; "" for a column with no (known) name
}

func readHeader(r rawRow, p *problems) (*header, bool) {
	h := &header{names: make([]string, len(r.Cells))}
	before := len(p.list)
	at := map[string]int{}
	for i, c := range r.Cells {
		if !utf8.ValidString(c) {
			p.cell(r.Row, "column_"+columnName(i), "is not valid UTF-8")
			continue
		}
		name := fold(c)
		switch {
		case name == "":
			continue
		case !known(name):
			p.cell(r.Row, name, "unknown column; known columns are %s", strings.Join(columns, ", "))
			continue
		}
		if first, dup := at[name]; dup {
			p.cell(r.Row, name, "column appears twice, in columns %s and %s", columnName(first), columnName(i))
			continue
		}
		at[name] = i
		h.names[i] = name
	}
	for _, name := range required {
		if _, ok := at[name]; !ok {
			p.cell(r.Row, name, "column is missing")
		}
	}
	return h, len(p.list) == before
}

func known(name string) bool {
	for _, c := range columns {
		if c == name {
			return true
		}
	}
	return false
}

// row is one data row's cells by column name, with the row's problems.
type row struct {
	num     int
	cells   map[string]string
	p       *problems
	flagged map[string]bool // the cells with a problem reported
}

func (r *row) get(column string) string { return r.cells[column] }

// bad reports a problem with a cell, unless the cell has one already: one is enough.
func (r *row) bad(column, format string, args ...any) {
	if r.flagged[column] {
		return
	}
	if r.flagged == nil {
		r.flagged = map[string]bool{}
	}
	r.flagged[column] = true
	r.p.cell(r.num, column, format, args...)
}

// readRow checks one data row and adds what it describes to f.
func (h *header) readRow(f *bieuquyet.RosterFile, raw rawRow, p *problems) {
	r := &row{num: raw.Row, cells: map[string]string{}, p: p}
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

	rec := strings.ToLower(r.get(colRecord))
	used, ok := uses[rec]
	if !ok {
		if rec == "" {
			r.bad(colRecord, "is required; use one of %s", strings.Join(records, ", "))
		} else {
			r.bad(colRecord, "%q is not a record type; use one of %s", r.get(colRecord), strings.Join(records, ", "))
		}
		return
	}
	for _, name := range columns {
		if name == colRecord || r.get(name) == "" || contains(used, name) {
			continue
		}
		r.bad(name, "is not used by a %s row", rec)
	}

	switch rec {
	case recCouncil:
		if f.Council != nil {
			r.bad(colRecord, "a roster file has at most one council row, and row %d is it", f.Council.Row)
			return
		}
		f.Council = &bieuquyet.RosterCouncil{Row: r.num, Council: bieuquyet.Council{
			Name:  r.get(colName),
			Term:  r.get(colTerm),
			Place: r.get(colPlace),
		}}
	case recPerson:
		f.People = append(f.People, bieuquyet.RosterPerson{Row: r.num, Person: bieuquyet.Person{
			FullName:        r.get(colName),
			Title:           r.get(colTitle),
			Delegate:        r.delegate(),
			Phone:           r.get(colPhone),
			ZaloName:        r.get(colZaloName),
			Email:           r.get(colEmail),
			SigningIdentity: r.get(colSigningIdentity),
		}})
	case recGroup:
		f.Groups = append(f.Groups, bieuquyet.RosterGroup{
			Row: r.num,
			Group: bieuquyet.Group{
				DisplayName: r.get(colName),
				Kind:        r.kind(),
				ZaloLink:    r.get(colZaloLink),
			},
			LeaderPhone: r.get(colLeader),
		})
	case recMember:
		f.Members = append(f.Members, bieuquyet.RosterMember{
			Row:   r.num,
			Group: r.get(colGroup),
			Phone: r.get(colPhone),
			Role:  r.role(),
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
