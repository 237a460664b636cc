package sheet

import (
	"bytes"
	"fmt"
	"reflect"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet/sheettest"
)

func TestFormula(t *testing.T) {
	for s, want := range map[string]bool{
		`=HYPERLINK("http://x","click")`:  true,
		"=1+1":                            true,
		"=":                               true,
		"@SUM(A1:A9)":                     true,
		"+cmd|' /C calc'!A0":              true,
		"-2+3+cmd|' /C calc'!A0":          true,
		"+84 900 000 101 (Zalo)":          true,
		"-Nguyễn Văn An":                  true,
		"\t=1+1":                          true, // a tab or a carriage return first changes nothing
		"\r@SUM(A1)":                      true,
		"  =1+1":                          true, // the importers trim cells
		"+84 900 000 101":                 false,
		"+84 (900) 000-101":               false,
		"+84.900.000.101":                 false,
		"-3,5":                            false,
		"-1.5":                            false,
		"-":                               false, // a dash for "none"
		"+":                               false,
		"0900 000 101":                    false,
		"Nguyễn Văn An":                   false,
		"a=b":                             false,
		"an.nguyen@example.vn":            false,
		"":                                false,
		"Tán thành":                       false,
		"\uFF1D1+1 (a full-width equals)": false,
	} {
		if got := Formula(s); got != want {
			t.Errorf("Formula(%q) = %v, want %v", s, got, want)
		}
	}
}

const formulaProblem = "holds a formula; the import takes values, not formulas: copy the cells and paste them as values"

func TestReadXLSXFormulas(t *testing.T) {
	text := func(ref, s string) string {
		return fmt.Sprintf(`<c r="%s" t="inlineStr"><is><t>%s</t></is></c>`, ref, s)
	}
	content := sheettest.Sheet(t,
		`<row r="1">`+text("A1", "phone")+text("B1", "name")+text("C1", "option")+`</row>`,
		// A formula with the value it last computed, as Excel writes one.
		`<row r="2">`+text("A2", "0900 000 101")+`<c r="B2" t="str"><f>HYPERLINK("http://x","click")</f><v>click</v></c>`+text("C2", "Tán thành")+`</row>`,
		// A shared formula, and cells without a reference.
		`<row r="3">`+text("", "0900 000 102")+`<c/><c><f t="shared" si="0"/><v>1</v></c></row>`,
		// A formula with no value: the row is not blank.
		`<row r="5"><c r="B5"><f>1+1</f></c></row>`,
		// Text that a spreadsheet would take for a formula: no formula in the file.
		`<row r="6">`+text("A6", "0900 000 103")+text("B6", "=1+1")+`</row>`,
	)
	rows, p := read(t, content, XLSX, opt)
	want := []Row{
		{Num: 1, Cells: []string{"phone", "name", "option"}},
		{Num: 2, Cells: []string{"0900 000 101", "click", "Tán thành"}, Bad: map[int]string{1: formulaProblem}},
		{Num: 3, Cells: []string{"0900 000 102", "", "1"}, Bad: map[int]string{2: formulaProblem}},
		{Num: 5, Cells: []string{"", ""}, Bad: map[int]string{1: formulaProblem}},
		{Num: 6, Cells: []string{"0900 000 103", "=1+1"}},
	}
	if !reflect.DeepEqual(rows, want) || p.Len() != 0 {
		t.Fatalf("rows:\n%+v\nwant:\n%+v\nproblems: %v", rows, want, violations(p))
	}

	h, ok := testColumns.ReadHeader(rows[0], p)
	if !ok {
		t.Fatal(violations(p))
	}
	for _, r := range rows[1:] {
		h.Record(r, p)
	}
	wantVs := []bieuquyet.Violation{
		{Field: "rows[2].name", Description: formulaProblem},
		{Field: "rows[3].option", Description: formulaProblem},
		{Field: "rows[5].name", Description: formulaProblem},
		{Field: "rows[6].name", Description: `"=1+1" would run as a formula in a spreadsheet (it starts with "="); write the text without it`},
	}
	if vs := violations(p); !reflect.DeepEqual(vs, wantVs) {
		t.Errorf("violations:\n%+v\nwant:\n%+v", vs, wantVs)
	}

	// A header cell holding a formula names no column.
	var hp Problems
	testColumns.ReadHeader(Row{Num: 1, Cells: []string{"phone", "option", "name"}, Bad: map[int]string{2: formulaProblem}}, &hp)
	if vs := violations(&hp); len(vs) != 1 || vs[0].Field != "rows[1].column_C" || vs[0].Description != formulaProblem {
		t.Errorf("header violations %+v; want rows[1].column_C: %s", vs, formulaProblem)
	}
}

func TestReadXLSXFormulaWrittenByExcelize(t *testing.T) {
	x := excelize.NewFile()
	defer x.Close()
	for cell, v := range map[string]string{"A1": "phone", "B1": "name", "A2": "0900 000 101", "A3": "0900 000 102", "B3": "Trần Thị Bình"} {
		if err := x.SetCellStr("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.SetCellFormula("Sheet1", "B2", `HYPERLINK("http://x","click")`); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		t.Fatal(err)
	}
	rows, _ := read(t, b.Bytes(), XLSX, opt)
	if len(rows) != 3 || rows[1].Bad[1] != formulaProblem || rows[2].Bad != nil {
		t.Errorf("rows %+v; want B2 to hold a formula, and no other cell", rows)
	}
}

func TestRecordFormulaText(t *testing.T) {
	var p Problems
	h, _ := testColumns.ReadHeader(Row{Num: 1, Cells: []string{"phone", "name", "option"}}, &p)
	h.Record(Row{Num: 2, Cells: []string{"+84 900 000 101", "-", "Tán thành"}}, &p)
	h.Record(Row{Num: 3, Cells: []string{"\t+84 900 000 102 x", "@Bình", " =HYPERLINK(\"http://x\",\"click\")"}}, &p)
	want := []bieuquyet.Violation{
		{Field: "rows[3].phone", Description: `"+84 900 000 102 x" would run as a formula in a spreadsheet (it starts with "+"); write the text without it`},
		{Field: "rows[3].name", Description: `"@Bình" would run as a formula in a spreadsheet (it starts with "@"); write the text without it`},
		{Field: "rows[3].option", Description: `"=HYPERLINK(\"http://x\",\"click\")" would run as a formula in a spreadsheet (it starts with "="); write the text without it`},
	}
	if vs := violations(&p); !reflect.DeepEqual(vs, want) {
		t.Errorf("violations:\n%+v\nwant:\n%+v", vs, want)
	}
}
