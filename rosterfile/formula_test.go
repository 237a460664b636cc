package rosterfile

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/bieuquyet/bieuquyet"
)

func TestParseFormulas(t *testing.T) {
	rows := base()
	rows[1]["name"] = `=HYPERLINK("http://x","Nguyễn Văn An")` // row 3
	rows[2]["title"] = "@Đại biểu"                             // row 4
	rows[2]["phone"] = "+84 900 000 102"                       // a phone may start with +
	rows[3]["zalo_name"] = "-"                                 // row 5: a dash for none
	tbl := table(sampleHeader, rows)
	want := []violation{
		{"rows[3].name", `would run as a formula in a spreadsheet (it starts with "=")`},
		{"rows[4].title", `would run as a formula in a spreadsheet (it starts with "@")`},
	}
	for _, content := range [][]byte{csvOf(t, tbl), xlsxOf(t, tbl)} {
		e := parseErr(t, content, FormatDetect, bieuquyet.CodeInvalid)
		wantViolations(t, e, want...)
		if len(e.Violations) != len(want) {
			t.Errorf("got %d violations, want %d:\n%s", len(e.Violations), len(want), listViolations(e))
		}
	}

	// A cell holding a formula is refused whatever it computed.
	x := excelize.NewFile()
	defer x.Close()
	for i, rec := range table(sampleHeader, base()) {
		if err := x.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.SetCellFormula("Sheet1", "B4", `"Trần Thị "&"Bình"`); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		t.Fatal(err)
	}
	e := parseErr(t, b.Bytes(), FormatDetect, bieuquyet.CodeInvalid)
	wantViolations(t, e, violation{"rows[4].name", "holds a formula"})
}
