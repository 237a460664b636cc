// Package sheet reads the spreadsheets the secretariat writes, a CSV file or the first
// sheet of an XLSX workbook, into rows of cells numbered as a spreadsheet shows them,
// and collects the problems found in them, each naming its row and column
// ("rows[12].phone"), into one bieuquyet.Error.
package sheet

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
)

// Kind is the kind of a file, as Detect tells it by its first bytes.
type Kind int

const (
	// CSV is text: a CSV file, or anything else that is not a workbook.
	CSV Kind = iota
	// XLSX is a ZIP archive, as an Excel workbook (.xlsx) is.
	XLSX
	// OLE is an OLE compound document: an old Excel workbook (.xls), or an encrypted
	// .xlsx one. Neither can be read; Read says so.
	OLE
)

// Detect tells the kind of a file by its first bytes.
func Detect(content []byte) Kind {
	switch {
	case bytes.HasPrefix(content, []byte("PK\x03\x04")):
		return XLSX
	case bytes.HasPrefix(content, []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1")):
		return OLE
	}
	return CSV
}

// MaxCells bounds the cells of a row, as no spreadsheet has more than 16,384 columns
// (A to XFD). A file with a longer row is refused whole.
const MaxCells = 16384

// MaxColumns is the number of cells kept of a row. No sheet read here has more than 15
// columns; a cell that is not blank further right is reported, and not kept.
const MaxColumns = 32

// maxCellBytes bounds the bytes kept of a cell: enough for more than
// bieuquyet.MaxTextLen characters, which no text read from a sheet may exceed. A
// workbook can name one long shared text in every cell; each kept whole would cost its
// full length.
const maxCellBytes = 4*bieuquyet.MaxTextLen + utf8.UTFMax

// Row is one row of a sheet that is not blank.
type Row struct {
	// Num is the row's number as a spreadsheet shows it, from 1.
	Num int
	// Cells are the row's cells, each in NFC (Vietnamese typed on some keyboards is
	// decomposed); a cell that is not valid UTF-8 is left as read, for ReadHeader and
	// Header.Record to report. At most MaxColumns are kept.
	Cells []string
	// Bad are the problems of cells that cannot be taken as read, by index: a cell
	// holding a formula, whose text is only what the formula last computed, or a cell
	// too long to be kept whole. ReadHeader and Header.Record report them.
	Bad map[int]string
	// Failed marks a row that could not be read (a CSV syntax error); its problem is
	// reported already and its cells are lost.
	Failed bool
}

// bad records the problem of the cell i, unless it has one.
func (r *Row) bad(i int, problem string) {
	if r.Bad == nil {
		r.Bad = map[int]string{}
	}
	if _, ok := r.Bad[i]; !ok {
		r.Bad[i] = problem
	}
}

// blank reports whether every cell is white space, none with a problem.
func (r Row) blank() bool {
	if r.Failed || len(r.Bad) > 0 {
		return false
	}
	for _, c := range r.Cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// Options bound what Read reads.
type Options struct {
	// UnzipLimit bounds what the parts of an XLSX workbook that are read (its first
	// sheet, its shared strings and the parts describing the workbook) may unpack to,
	// together, in bytes, against ZIP bombs. The other parts are not read. 0: no limit.
	UnzipLimit int64
	// MaxRows, when above 0, stops reading at the first row after MaxRows rows that are
	// not blank: enough to tell that a file has too many.
	MaxRows int
}

// Read reads the rows of a file of the given kind that are not blank: the records of a
// CSV file (a BOM left out, its separator detected), or the rows of an XLSX workbook's
// first sheet, each cell's value as stored (a number without its display format: a
// phone typed as a number has lost its leading 0 either way). It reports each CSV
// record that is not valid CSV, as a Failed row, and goes on with the next. ok is false
// when the file cannot be read at all: p then holds that problem alone.
//
// What a file may cost is bounded: no more than opt.MaxRows rows that are not blank are
// read, MaxCells cells a row, and an XLSX workbook's parts are checked (see
// Options.UnzipLimit) before they are unpacked.
func Read(content []byte, kind Kind, opt Options, p *Problems) (rows []Row, ok bool) {
	switch kind {
	case CSV:
		return readCSV(content, opt, p)
	case XLSX:
		return readXLSX(content, opt, p)
	case OLE:
		p.File("is an old Excel workbook (.xls) or a password-protected one; save it as an Excel workbook (.xlsx) without a password, or as CSV UTF-8")
		return nil, false
	}
	panic(fmt.Sprintf("sheet: Read of a file of kind %d", kind))
}

// add appends r to rows unless it is blank, keeping at most MaxColumns of its cells
// and maxCellBytes of each, in NFC. It reports whether rows is now over opt.MaxRows.
func (opt Options) add(rows *[]Row, r Row, p *Problems) bool {
	if r.blank() {
		return false
	}
	if len(r.Cells) > MaxColumns {
		for i := MaxColumns; i < len(r.Cells); i++ {
			if strings.TrimSpace(r.Cells[i]) != "" || r.Bad[i] != "" {
				p.Cell(r.Num, "column_"+ColumnName(i), "is in column %s; a sheet here has at most %d columns, up to %s",
					ColumnName(i), MaxColumns, ColumnName(MaxColumns-1))
				break
			}
		}
		// A copy, so that the cells left out are not kept by the array they share.
		r.Cells = slices.Clone(r.Cells[:MaxColumns])
		for i := range r.Bad {
			if i >= MaxColumns {
				delete(r.Bad, i)
			}
		}
	}
	for i, c := range r.Cells {
		if len(c) > maxCellBytes {
			c = strings.Clone(c[:cut(c, maxCellBytes)])
			r.bad(i, fmt.Sprintf("is longer than %d characters", bieuquyet.MaxTextLen))
		}
		if utf8.ValidString(c) {
			c = norm.NFC.String(c)
		}
		r.Cells[i] = c
	}
	*rows = append(*rows, r)
	return opt.MaxRows > 0 && len(*rows) > opt.MaxRows
}

// cut returns where to cut s to keep at least n bytes of it: at the start of a rune.
func cut(s string, n int) int {
	for n < len(s) && !utf8.RuneStart(s[n]) {
		n++
	}
	return n
}

// bom is the UTF-8 byte order mark Excel writes at the start of a "CSV UTF-8" file.
var bom = []byte("\xEF\xBB\xBF")

// TrimBOM returns content without the UTF-8 byte order mark it may start with.
func TrimBOM(content []byte) []byte {
	return bytes.TrimPrefix(content, bom)
}

// HeaderLine returns the first line of a CSV file that is not white space (the BOM left
// out, the line ending kept), and the separator it uses: a comma, unless the line has
// none but has semicolons (as Excel writes "CSV" where the decimal separator is a comma,
// as in Vietnamese) or tabs.
func HeaderLine(content []byte) (line []byte, sep rune) {
	for rest := TrimBOM(content); len(rest) > 0; {
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		if len(bytes.TrimSpace(line)) > 0 {
			break
		}
		line = nil
	}
	switch {
	case bytes.IndexByte(line, ',') >= 0:
		return line, ','
	case bytes.IndexByte(line, ';') >= 0:
		return line, ';'
	case bytes.IndexByte(line, '\t') >= 0:
		return line, '\t'
	}
	return line, ','
}
