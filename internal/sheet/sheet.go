// Package sheet reads the spreadsheets the secretariat writes, a CSV file or the first
// sheet of an XLSX workbook, into rows of cells numbered as a spreadsheet shows them,
// and collects the problems found in them, each naming its row and column
// ("rows[12].phone"), into one bieuquyet.Error.
package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"
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

// Row is one row of a sheet that is not blank.
type Row struct {
	// Num is the row's number as a spreadsheet shows it, from 1.
	Num int
	// Cells are the row's cells, each in NFC (Vietnamese typed on some keyboards is
	// decomposed); a cell that is not valid UTF-8 is left as read, for ReadHeader and
	// Header.Record to report.
	Cells []string
	// Failed marks a row that could not be read (a CSV syntax error); its problem is
	// reported already and its cells are lost.
	Failed bool
}

// blank reports whether every cell is white space.
func (r Row) blank() bool {
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

// Options bound what Read reads.
type Options struct {
	// UnzipLimit bounds what an XLSX file may unpack to, in bytes, against ZIP bombs.
	UnzipLimit int64
	// MaxRows, when above 0, stops reading at the first row after MaxRows rows that are
	// not blank: enough to tell that a file has too many.
	MaxRows int
}

// Read reads the rows of a file of the given kind that are not blank: the records of a
// CSV file (a BOM left out, its separator detected), or the rows of an XLSX workbook's
// first sheet as the sheet shows them (numbers in their display format). It reports
// each CSV record that is not valid CSV, as a Failed row, and goes on with the next.
// ok is false when the file cannot be read at all, its problem reported.
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

// add appends r to rows unless it is blank, putting its cells in NFC. It reports whether
// rows is now over opt.MaxRows.
func (opt Options) add(rows *[]Row, r Row) bool {
	if r.blank() {
		return false
	}
	for i, c := range r.Cells {
		if utf8.ValidString(c) {
			r.Cells[i] = norm.NFC.String(c)
		}
	}
	*rows = append(*rows, r)
	return opt.MaxRows > 0 && len(*rows) > opt.MaxRows
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

// readCSV reads the records of a CSV file. A record's row is the row a spreadsheet
// shows it in: encoding/csv skips empty lines, but they are rows all the same, while a
// quoted cell spanning several lines stays in one row.
func readCSV(content []byte, opt Options, p *Problems) ([]Row, bool) {
	content = TrimBOM(content)
	r := csv.NewReader(bytes.NewReader(content))
	r.FieldsPerRecord = -1 // ragged rows: missing cells are empty, extra ones are checked
	_, r.Comma = HeaderLine(content)
	rows := []Row{}
	offset, lastLine, num := 0, 0, 0 // where the previous record ended, and its row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			p.File("cannot be read: %v", err)
			return nil, false
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
		row := Row{Num: num, Cells: rec}
		if pe != nil {
			p.Add(num, fmt.Sprintf("rows[%d]", num), "is not valid CSV: %v (line %d, column %d of the file)", pe.Err, pe.Line, pe.Column)
			row = Row{Num: num, Failed: true}
		}
		if opt.add(&rows, row) {
			break
		}
	}
	return rows, true
}

// readXLSX reads the rows of the first sheet of an XLSX workbook.
func readXLSX(content []byte, opt Options, p *Problems) ([]Row, bool) {
	x, err := excelize.OpenReader(bytes.NewReader(content), excelize.Options{UnzipSizeLimit: opt.UnzipLimit})
	if err != nil {
		p.File("cannot be read as an Excel workbook (.xlsx); save it again from Excel, or as CSV UTF-8 (%v)", err)
		return nil, false
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) == 0 {
		p.File("is not an Excel workbook (.xlsx), or has no sheet")
		return nil, false
	}
	it, err := x.Rows(sheets[0])
	if err != nil {
		p.File("the sheet %q cannot be read: %v", sheets[0], err)
		return nil, false
	}
	defer it.Close()
	rows := []Row{}
	for num := 1; it.Next(); num++ {
		cells, err := it.Columns()
		if err != nil {
			p.File("the sheet %q cannot be read at row %d: %v", sheets[0], num, err)
			return nil, false
		}
		if opt.add(&rows, Row{Num: num, Cells: cells}) {
			break
		}
	}
	if err := it.Error(); err != nil {
		p.File("the sheet %q cannot be read: %v", sheets[0], err)
		return nil, false
	}
	return rows, true
}
