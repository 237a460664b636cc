package rosterfile

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet/sheettest"
)

// TestParseMemory parses roster files built to cost much, and checks what each costs in
// bytes allocated (freed or not) and in heap held at once. Before the sheet was bounded
// by what MaxRows rows need, the first cost 536 MB.
func TestParseMemory(t *testing.T) {
	const maxPeak = 48 << 20
	people := func(n int) [][]string {
		tbl := [][]string{sampleHeader}
		for i := range n {
			rec := make([]string, len(sampleHeader))
			rec[0], rec[1], rec[7], rec[9] = "person", fmt.Sprintf("Người %05d", i), "Đại biểu HĐND tỉnh", fmt.Sprintf("0900 %06d", i)
			rec[10], rec[11] = fmt.Sprintf("Zalo %05d", i), fmt.Sprintf("nguoi%05d@example.vn", i)
			tbl = append(tbl, rec)
		}
		return tbl
	}
	tests := []struct {
		name    string
		content func() []byte
		problem string // the file's only problem, or "" for a valid file of MaxRows people
		alloc   int64
	}{
		{"an XLSX file of 1,000,000 rows", func() []byte {
			return sheettest.Replace(t, sheettest.Sheet(t), sheettest.SheetPart, sheettest.Repeat(sheettest.SheetHead+sheettest.InlineRow(sampleHeader...),
				sheettest.InlineRow("person", "Người", "", "", "", "", "", "Đại biểu", "", "0900 000 101"), sheettest.SheetTail, 1_000_000))
		}, "its first sheet unpacks to more than 16 MiB, the limit", 1 << 20},
		{"an XLSX file with 100 MiB of shared strings", func() []byte {
			return sheettest.Replace(t, xlsxOf(t, table(sampleHeader, base())), sheettest.SharedStringsPart,
				sheettest.Repeat(sheettest.SharedStringsHead, "<si><t>a</t></si>", sheettest.SharedStringsTail, 100<<20/17))
		}, "its first sheet unpacks to more than 16 MiB, the limit", 1 << 20},
		{"an XLSX file whose sheet unpacks to 250 MiB", func() []byte {
			return sheettest.Replace(t, sheettest.Sheet(t), sheettest.SheetPart, sheettest.Repeat(sheettest.SheetHead+sheettest.InlineRow(sampleHeader...),
				"<row><c/></row>", sheettest.SheetTail, 250<<20/15))
		}, "its first sheet unpacks to more than 16 MiB, the limit", 1 << 20},
		{"an XLSX file of 10,000 people", func() []byte { return xlsxOf(t, people(MaxRows)) }, "", 256 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content := tc.content()
			var f *bieuquyet.RosterFile
			var err error
			u := sheettest.Measure(func() { f, err = Parse(content, FormatDetect) })
			t.Logf("%d bytes: %v", len(content), u)
			var e *bieuquyet.Error
			switch {
			case tc.problem == "" && (err != nil || len(f.People) != MaxRows):
				t.Errorf("Parse: %v", err)
			case tc.problem != "" && (!errors.As(err, &e) || len(e.Violations) != 1 || !strings.Contains(e.Violations[0].Description, tc.problem)):
				t.Errorf("Parse = %v; want only the problem %q", err, tc.problem)
			}
			if (!sheettest.RaceEnabled && u.Allocated > uint64(tc.alloc)) || u.Peak > maxPeak {
				t.Errorf("%v; want at most %d MiB allocated, %d MiB at once", u, tc.alloc>>20, maxPeak>>20)
			}
		})
	}
}
