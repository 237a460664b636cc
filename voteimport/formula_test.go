package voteimport

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/bieuquyet/bieuquyet"
)

func TestParseFormulas(t *testing.T) {
	tbl := [][]string{
		{"phone", "option", "name"},
		{"+84 900 000 101", "Tán thành", "Nguyễn Văn An"}, // 2: a phone may start with +
		{"0900 000 102", "Tán thành", `=HYPERLINK("http://x","Trần Thị Bình")`},
		{"0900 000 103", "@SUM(A1)", ""},
		{"-0900 000 105", "Không tán thành", "Hoàng Văn Dũng"}, // 5: digits after - are no formula
	}
	want := []violation{
		{"rows[3].name", `would run as a formula in a spreadsheet (it starts with "=")`},
		{"rows[4].option", `would run as a formula in a spreadsheet (it starts with "@")`},
	}
	wantExactly(t, parseErr(t, csvOf(t, tbl, ','), FormatDetect, bieuquyet.VoteOptions, false), want...)
	wantExactly(t, parseErr(t, xlsxOf(t, tbl), FormatDetect, bieuquyet.VoteOptions, false), want...)

	// A cell holding a formula is refused whatever it computed.
	x := excelize.NewFile()
	defer x.Close()
	for cell, v := range map[string]string{"A1": "phone", "B1": "option", "A2": "0900 000 101", "A3": "0900 000 102", "B3": "Tán thành"} {
		if err := x.SetCellStr("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.SetCellFormula("Sheet1", "B2", `B3`); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		t.Fatal(err)
	}
	wantExactly(t, parseErr(t, b.Bytes(), FormatDetect, bieuquyet.VoteOptions, false),
		violation{"rows[2].option", "holds a formula; the import takes values, not formulas"})
}
