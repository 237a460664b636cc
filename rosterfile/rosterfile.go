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
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet"
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

// header is the header a roster file must have.
var header = &sheet.Columns{
	Known: columns,
	Required: []string{
		colRecord, colName, colKind, colLeader, colTitle, colDelegate, colPhone, colGroup, colRole,
	},
	Unknown: "unknown column; known columns are " + strings.Join(columns, ", "),
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

// what names the file in the message of its error.
const what = "the roster file"

// unzipLimit bounds what the sheet of an XLSX file (with its shared strings) may unpack
// to, against ZIP bombs: a roster of MaxRows person rows, every column filled with long
// texts, unpacks to 6 MiB.
const unzipLimit = 16 << 20

// Parse reads a roster file and checks it, and returns the file or a *bieuquyet.Error:
// CodeInvalid with a violation for every problem found (only the size, for a file over
// MaxSize).
func Parse(content []byte, format Format) (*bieuquyet.RosterFile, error) {
	if n := len(content); n > MaxSize {
		size := fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
		if n < MaxSize+(1<<20)/10 { // it would read "8.0 MiB"
			size = fmt.Sprintf("%d bytes", n)
		}
		return nil, bieuquyet.Invalid(sheet.FieldContent, "the file is %s; the limit is %d MiB", size, MaxSize>>20)
	}
	var kind sheet.Kind
	switch format {
	case FormatDetect:
		kind = sheet.Detect(content)
	case FormatCSV:
		kind = sheet.CSV
	case FormatXLSX:
		kind = sheet.XLSX
	default:
		return nil, bieuquyet.Invalid("format", "%v is not a roster file format", format)
	}
	var p sheet.Problems
	// The header and MaxRows data rows; reading stops at the row after them.
	rows, ok := sheet.Read(content, kind, sheet.Options{UnzipLimit: unzipLimit, MaxRows: MaxRows + 1}, &p)
	if !ok {
		return nil, p.Err(what)
	}

	// The header is the first row that is not blank; usually row 1.
	if len(rows) == 0 {
		p.File("the file is empty")
		return nil, p.Err(what)
	}
	if rows[0].Failed {
		return nil, p.Err(what) // without its header, the file cannot be read
	}
	h, ok := header.ReadHeader(rows[0], &p)
	if !ok {
		return nil, p.Err(what)
	}
	data := rows[1:]
	switch {
	case len(data) > MaxRows:
		p.Reset() // the file is refused whole; the rest was not read
		p.File("the file has more than %d data rows; the limit is %d", MaxRows, MaxRows)
		return nil, p.Err(what)
	case len(data) == 0:
		p.File("the file has no data rows")
		return nil, p.Err(what)
	}

	f := &bieuquyet.RosterFile{}
	for _, r := range data {
		if !r.Failed {
			readRow(f, row{h.Record(r, &p)})
		}
	}
	p.Merge(f.Validate())
	if err := p.Err(what); err != nil {
		return nil, err
	}
	return f, nil
}

// clean puts a text in the form the rest of the package expects: NFC, trimmed.
// Vietnamese typed on some keyboards is decomposed (NFD); names must compare equal
// however they were typed.
func clean(s string) string {
	return strings.TrimSpace(norm.NFC.String(s))
}

// fold is clean, lower-cased: for matching keywords.
func fold(s string) string {
	return strings.ToLower(clean(s))
}

// row is one data row's cells by column name, with the row's problems.
type row struct{ *sheet.Record }

func (r row) get(column string) string { return r.Cells[column] }

// readRow checks one data row and adds what it describes to f.
func readRow(f *bieuquyet.RosterFile, r row) {
	rec := strings.ToLower(r.get(colRecord))
	used, ok := uses[rec]
	if !ok {
		if rec == "" {
			r.Bad(colRecord, "is required; use one of %s", strings.Join(records, ", "))
		} else {
			r.Bad(colRecord, "%q is not a record type; use one of %s", r.get(colRecord), strings.Join(records, ", "))
		}
		return
	}
	for _, name := range columns {
		if name == colRecord || r.get(name) == "" || slices.Contains(used, name) {
			continue
		}
		r.Bad(name, "is not used by a %s row", rec)
	}

	switch rec {
	case recCouncil:
		if f.Council != nil {
			r.Bad(colRecord, "a roster file has at most one council row, and row %d is it", f.Council.Row)
			return
		}
		f.Council = &bieuquyet.RosterCouncil{Row: r.Num, Council: bieuquyet.Council{
			Name:  r.get(colName),
			Term:  r.get(colTerm),
			Place: r.get(colPlace),
		}}
	case recPerson:
		f.People = append(f.People, bieuquyet.RosterPerson{Row: r.Num, Person: bieuquyet.Person{
			FullName:        r.get(colName),
			Title:           r.get(colTitle),
			Delegate:        r.delegate(),
			Phone:           r.get(colPhone),
			ZaloName:        r.get(colZaloName),
			Email:           r.get(colEmail),
			SigningIdentity: r.signingIdentity(),
		}})
	case recGroup:
		f.Groups = append(f.Groups, bieuquyet.RosterGroup{
			Row: r.Num,
			Group: bieuquyet.Group{
				DisplayName: r.get(colName),
				Kind:        r.kind(),
				ZaloLink:    r.get(colZaloLink),
			},
			LeaderPhone: r.get(colLeader),
		})
	case recMember:
		f.Members = append(f.Members, bieuquyet.RosterMember{
			Row:   r.Num,
			Group: r.get(colGroup),
			Phone: r.get(colPhone),
			Role:  r.role(),
		})
	}
}
