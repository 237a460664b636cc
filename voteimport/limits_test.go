package voteimport

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet/sheettest"
)

// voterList returns n voters, each with its own phone and name.
func voterList(n int) []bieuquyet.Voter {
	vs := make([]bieuquyet.Voter, n)
	for i := range vs {
		vs[i] = bieuquyet.Voter{PersonID: int64(i + 1), FullName: fmt.Sprintf("Đại biểu %05d", i), Phone: phoneOf(i)}
	}
	return vs
}

func phoneOf(i int) string { return fmt.Sprintf("0900 %03d %03d", i/1000, i%1000) }

// votes returns a vote list of n rows by phone, each voter choosing the first option.
func votes(n int) [][]string {
	tbl := [][]string{{"phone", "option"}}
	for i := range n {
		tbl = append(tbl, []string{phoneOf(i), bieuquyet.VoteOptions[0]})
	}
	return tbl
}

// zalo returns a Zalo voter list of the first option and n names.
func zalo(n int) []byte {
	var b strings.Builder
	b.WriteString(bieuquyet.VoteOptions[0] + "\n")
	for i := range n {
		fmt.Fprintf(&b, "Đại biểu %05d\n", i)
	}
	return []byte(b.String())
}

func TestParseMaxRows(t *testing.T) {
	el := voterList(MaxRows + 1)
	tests := []struct {
		name    string
		content []byte
		want    string // the problem, or "" for MaxRows entries
	}{
		{"CSV at the limit", csvOf(t, votes(MaxRows), ','), ""},
		{"CSV with blank rows", bytes.ReplaceAll(csvOf(t, votes(MaxRows), ','), []byte("\n"), []byte("\n,\n\n")), ""},
		{"CSV over the limit", csvOf(t, votes(MaxRows+1), ','), "has more than 10000 data rows; the limit is 10000"},
		{"XLSX over the limit", xlsxOf(t, votes(MaxRows+1)), "has more than 10000 data rows; the limit is 10000"},
		{"text at the limit", zalo(MaxRows - 1), ""},
		{"text with blank lines", bytes.ReplaceAll(zalo(MaxRows-1), []byte("\n"), []byte("\n \r\n\n")), ""},
		{"text over the limit", zalo(MaxRows), "has more than 10000 lines that are not blank; the limit is 10000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.content, FormatDetect, bieuquyet.VoteOptions, false, el)
			var e *bieuquyet.Error
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.want == "" && len(got) != MaxRows && len(got) != MaxRows-1:
				t.Errorf("%d entries, want %d", len(got), MaxRows)
			case tc.want != "" && (!errors.As(err, &e) || len(e.Violations) != 1 || e.Violations[0].Field != "content" || e.Violations[0].Description != tc.want):
				t.Errorf("Parse = %v; want only content: %s", err, tc.want)
			}
		})
	}
}

// TestParseMemory parses lists built to cost much, and checks what each costs in bytes
// allocated (freed or not) and in heap held at once. Before vote lists were bounded, the
// first cost 15 seconds and 686 MB of the server's memory, and the text 259 MB.
func TestParseMemory(t *testing.T) {
	const maxPeak = 48 << 20
	head := sheettest.InlineRow("phone", "option")
	tests := []struct {
		name    string
		content func() []byte
		problem string // the list's only problem, or "" for a valid list of MaxRows votes
		alloc   int64
	}{
		{"an XLSX file of 1,000,000 rows, as reported", func() []byte {
			// The rows name shared strings, the header's and these two.
			b := sheettest.Replace(t, sheettest.Sheet(t), sheettest.SheetPart,
				sheettest.Repeat(sheettest.SheetHead+`<row><c t="s"><v>0</v></c><c t="s"><v>1</v></c></row>`, `<row><c t="s"><v>2</v></c><c t="s"><v>3</v></c></row>`, sheettest.SheetTail, 1_000_000))
			return sheettest.Replace(t, b, sheettest.SharedStringsPart, sheettest.Repeat(sheettest.SharedStringsHead+`<si><t>phone</t></si><si><t>option</t></si><si><t>0900 000 101</t></si><si><t>Tán thành</t></si>`, "", sheettest.SharedStringsTail, 0))
		}, "its first sheet unpacks to more than 8 MiB, the limit", 1 << 20},
		{"an XLSX file of 40,000 rows, written by excelize's StreamWriter", func() []byte {
			return sheettest.XLSX(t, []any{"phone", "option"}, []any{"0900 000 101", "Tán thành"}, 40_000)
		}, "has more than 10000 data rows; the limit is 10000", 96 << 20},
		{"an XLSX file whose sheet unpacks to 256 MiB", func() []byte {
			return sheettest.Replace(t, sheettest.Sheet(t), sheettest.SheetPart, sheettest.Repeat(sheettest.SheetHead+head, `<row><c t="inlineStr"><is><t>x</t></is></c></row>`, sheettest.SheetTail, 256<<20/48))
		}, "its first sheet unpacks to more than 8 MiB, the limit", 1 << 20},
		{"a pasted list of 1,000,000 lines", func() []byte {
			return []byte(bieuquyet.VoteOptions[0] + "\n" + strings.Repeat("x\n", 1_000_000))
		}, "has more than 10000 lines that are not blank; the limit is 10000", 8 << 20},
		{"a CSV file of 500,000 rows", func() []byte {
			return []byte("phone,option\n" + strings.Repeat("1,a\n", 500_000))
		}, "has more than 10000 data rows; the limit is 10000", 8 << 20},
		{"a valid XLSX list of 10,000 rows", func() []byte { return xlsxOf(t, votes(MaxRows)) }, "", 160 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content := tc.content()
			el := voters // indexing an electorate of 10,000 costs 7 MiB
			if tc.problem == "" {
				el = voterList(MaxRows)
			}
			var got []Entry
			var err error
			u := sheettest.Measure(func() { got, err = Parse(content, FormatDetect, bieuquyet.VoteOptions, false, el) })
			t.Logf("%d bytes: %v", len(content), u)
			var e *bieuquyet.Error
			switch {
			case tc.problem == "" && (err != nil || len(got) != MaxRows):
				t.Errorf("Parse: %d entries, %v; want %d", len(got), err, MaxRows)
			case tc.problem != "" && (!errors.As(err, &e) || len(e.Violations) != 1 || !strings.Contains(e.Violations[0].Description, tc.problem)):
				t.Errorf("Parse = %v; want only the problem %q", err, tc.problem)
			}
			if (!sheettest.RaceEnabled && u.Allocated > uint64(tc.alloc)) || u.Peak > maxPeak {
				t.Errorf("%v; want at most %d MiB allocated, %d MiB at once", u, tc.alloc>>20, maxPeak>>20)
			}
		})
	}
}
