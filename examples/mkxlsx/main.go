// Command mkxlsx writes a roster CSV file as an XLSX workbook with the same cells, so
// that the sample roster exists in both formats the service reads:
//
//	go run ./examples/mkxlsx examples/roster.csv examples/roster.xlsx
//
// The workbook has one sheet, "roster". Every cell is text, and the columns are
// formatted as text, so that phone numbers keep their leading 0 in Excel, also when
// someone types a new one.
package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

const sheet = "roster"

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mkxlsx roster.csv roster.xlsx")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "mkxlsx:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(data) {
		return fmt.Errorf("%s is not UTF-8", in)
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	records, err := r.ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(records) == 0 {
		return fmt.Errorf("%s is empty", in)
	}

	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName(x.GetSheetName(0), sheet); err != nil {
		return err
	}
	text, err := x.NewStyle(&excelize.Style{NumFmt: 49}) // 49 is "@", text
	if err != nil {
		return err
	}
	head, err := x.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	cols := 0
	for _, rec := range records {
		cols = max(cols, len(rec))
	}
	last, err := excelize.ColumnNumberToName(cols)
	if err != nil {
		return err
	}
	if err := x.SetColStyle(sheet, "A:"+last, text); err != nil {
		return err
	}
	if err := x.SetColWidth(sheet, "A", last, 18); err != nil {
		return err
	}
	for i, rec := range records {
		for j, v := range rec {
			if v == "" {
				continue
			}
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return err
			}
			if err := x.SetCellStr(sheet, cell, v); err != nil {
				return err
			}
			style := text
			if i == 0 {
				style = head
			}
			if err := x.SetCellStyle(sheet, cell, cell, style); err != nil {
				return err
			}
		}
	}
	// Keep the header in view while scrolling.
	if err := x.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		return err
	}
	return os.WriteFile(out, b.Bytes(), 0o644)
}
