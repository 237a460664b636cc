package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// readCSV reads the records of a CSV file. A record's row is the row a spreadsheet
// shows it in: encoding/csv skips empty lines, but they are rows all the same, while a
// quoted cell spanning several lines stays in one row.
func readCSV(content []byte, opt Options, p *Problems) ([]Row, bool) {
	content = TrimBOM(content)
	_, sep := HeaderLine(content)
	// encoding/csv holds about 40 bytes per field of the record it reads: a line of two
	// million commas would cost it 80 MB. No spreadsheet has more than MaxCells columns.
	if line, n := widestRecord(content, byte(sep), MaxCells); n > MaxCells {
		p.File("line %d of the file starts a row of more than %d cells; no spreadsheet has so many columns", line, MaxCells)
		return nil, false
	}
	r := csv.NewReader(bytes.NewReader(content))
	r.FieldsPerRecord = -1 // ragged rows: missing cells are empty, extra ones are checked
	r.Comma = sep
	rows := []Row{}
	offset, lastLine, num := 0, 0, 0 // where the previous record ended, and its row
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			p.Reset()
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
		if opt.add(&rows, row, p) {
			break
		}
	}
	return rows, true
}

// widestRecord splits content into records as encoding/csv does (no comments, no lazy
// quotes, no trimming) and counts the fields it would collect for each, a record that
// is not valid CSV included, without collecting them. It stops at the first record of
// more than limit fields, and returns the line that record starts on and its count so
// far; else the widest record's.
func widestRecord(content []byte, comma byte, limit int) (line, fields int) {
	rest, num := content, 0
	// next returns the next line of the file without its line ending, as
	// encoding/csv's readLine does ("\r\n" is a line ending, a final "\r" is dropped),
	// and whether it had one; ok is false at the end of the file.
	next := func() (body []byte, nl, ok bool) {
		if len(rest) == 0 {
			return nil, false, false
		}
		num++
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			body, rest = rest, nil
		} else {
			body, rest, nl = rest[:i], rest[i+1:], true
		}
		return bytes.TrimSuffix(body, []byte("\r")), nl, true
	}
	for {
		body, nl, ok := next()
		for ok && len(body) == 0 {
			body, nl, ok = next() // an empty line is no record
		}
		if !ok {
			return line, fields
		}
		start, n := num, 0
	record:
		for n <= limit {
			if len(body) == 0 || body[0] != '"' {
				i := bytes.IndexByte(body, comma)
				field := body
				if i >= 0 {
					field = body[:i]
				}
				if bytes.IndexByte(field, '"') >= 0 {
					break record // a bare quote: the record ends, not valid
				}
				n++
				if i < 0 {
					break record
				}
				body = body[i+1:]
				continue
			}
			body = body[1:] // a quoted field, maybe over several lines
			for {
				i := bytes.IndexByte(body, '"')
				switch {
				case i < 0 && (len(body) > 0 || nl):
					body, nl, _ = next() // at the end of the file nl is false, and the next turn stops
					continue
				case i < 0:
					break record // the file ends inside the quotes: not valid
				}
				body = body[i+1:]
				switch {
				case len(body) > 0 && body[0] == '"':
					body = body[1:] // an escaped quote
					continue
				case len(body) > 0 && body[0] == comma:
					n++
					body = body[1:]
					continue record
				case len(body) == 0:
					n++
					break record
				}
				break record // text after the closing quote: not valid
			}
		}
		if n > fields {
			line, fields = start, n
		}
		if n > limit {
			return line, fields
		}
	}
}
