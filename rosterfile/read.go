package rosterfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// bom is the UTF-8 byte order mark Excel writes at the start of a "CSV UTF-8" file.
var bom = []byte("\xEF\xBB\xBF")

// readCSV reads the records of a CSV file. It reports each record that is not valid
// CSV and goes on with the next, and stops reading once there are more rows than
// Parse accepts.
func readCSV(content []byte, p *problems) []rawRow {
	content = bytes.TrimPrefix(content, bom)
	r := csv.NewReader(bytes.NewReader(content))
	r.FieldsPerRecord = -1 // ragged rows: missing cells are empty, extra ones are checked
	r.Comma = separator(content)
	var rows []rawRow
	nonBlank := 0
	for num := 1; ; num++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				p.file("cannot be read: %v", err)
				return rows
			}
			p.add(num, fmt.Sprintf("rows[%d]", num), "is not valid CSV: %v (line %d, column %d of the file)", pe.Err, pe.Line, pe.Column)
			rows = append(rows, rawRow{Row: num, Failed: true})
			continue
		}
		row := rawRow{Row: num, Cells: rec}
		rows = append(rows, row)
		if !row.blank() {
			if nonBlank++; nonBlank > MaxRows+1 { // the header and MaxRows data rows
				break
			}
		}
	}
	return rows
}

// separator returns the separator of a CSV file: a comma, unless the header line has
// none but has semicolons (as Excel writes "CSV" where the decimal separator is a
// comma, as in Vietnamese) or tabs.
func separator(content []byte) rune {
	line, _, _ := bytes.Cut(bytes.TrimLeft(content, "\r\n"), []byte("\n"))
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

// unzipLimit bounds what an XLSX file may unpack to, against ZIP bombs; a legitimate
// roster of MaxRows rows unpacks to far less.
const unzipLimit = 32 * MaxSize

// readXLSX reads the rows of the first sheet of an XLSX workbook, as the sheet shows
// them (numbers in their display format), leaving out blank rows. It stops reading once
// there are more rows than Parse accepts.
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
	nonBlank := 0
	for num := 1; it.Next(); num++ {
		cells, err := it.Columns()
		if err != nil {
			p.file("the sheet %q cannot be read at row %d: %v", sheets[0], num, err)
			return nil
		}
		row := rawRow{Row: num, Cells: cells}
		if row.blank() {
			continue
		}
		rows = append(rows, row)
		if nonBlank++; nonBlank > MaxRows+1 {
			break
		}
	}
	if err := it.Error(); err != nil {
		p.file("the sheet %q cannot be read: %v", sheets[0], err)
		return nil
	}
	return rows
}
