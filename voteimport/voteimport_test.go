package voteimport

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet"
)

// voters is the poll's frozen electorate. Lê Anh Tuấn and Trần Anh Tuấn share the Zalo
// display name "Anh Tuấn"; most Zalo names differ from the full names; Đặng Quốc Việt
// has none.
var voters = []bieuquyet.Voter{
	{PersonID: 1, FullName: "Nguyễn Văn An", ZaloName: "An Nguyễn", Phone: "0900 000 101"},
	{PersonID: 2, FullName: "Trần Thị Bình", ZaloName: "Bình Trần", Phone: "0900 000 102"},
	{PersonID: 3, FullName: "Lê Anh Tuấn", ZaloName: "Anh Tuấn", Phone: "0900 000 103"},
	{PersonID: 4, FullName: "Phạm Thị Hương", ZaloName: "Hương Phạm", Phone: "0900 000 104"},
	{PersonID: 5, FullName: "Hoàng Văn Dũng", ZaloName: "Hoàng Văn Dũng", Phone: "0900 000 105"},
	{PersonID: 6, FullName: "Võ Thị Thu Trang", ZaloName: "Thu Trang", Phone: "0900 000 106"},
	{PersonID: 7, FullName: "Đặng Quốc Việt", Phone: "0900 000 107"},
	{PersonID: 9, FullName: "Trần Anh Tuấn", ZaloName: "Anh Tuấn", Phone: "0900 000 109"},
}

// opinion are the options of a multiple-choice opinion poll.
var opinion = []string{"Phương án A", "Phương án B", "Phương án C"}

// lines joins text lines as pasted.
func lines(ls ...string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

func mustParse(t *testing.T, content []byte, format Format, options []string, multiple bool) []Entry {
	t.Helper()
	got, err := Parse(content, format, options, multiple, voters)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return got
}

// parseErr parses content that must be refused as invalid.
func parseErr(t *testing.T, content []byte, format Format, options []string, multiple bool) *bieuquyet.Error {
	t.Helper()
	got, err := Parse(content, format, options, multiple, voters)
	if err == nil {
		t.Fatalf("Parse succeeded with %+v; want an invalid error", got)
	}
	var e *bieuquyet.Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse error %T %v is not a *bieuquyet.Error", err, err)
	}
	if e.Code != bieuquyet.CodeInvalid {
		t.Fatalf("Parse error code %s, want %s: %v", e.Code, bieuquyet.CodeInvalid, e)
	}
	return e
}

// violation is a violation a test expects: the exact field, and words of the description.
type violation struct {
	field, contains string
}

// wantExactly checks that e has exactly the violations want, in order.
func wantExactly(t *testing.T, e *bieuquyet.Error, want ...violation) {
	t.Helper()
	ok := len(e.Violations) == len(want)
	for i := 0; ok && i < len(want); i++ {
		v := e.Violations[i]
		ok = v.Field == want[i].field && strings.Contains(v.Description, want[i].contains)
	}
	if !ok {
		var w strings.Builder
		for _, v := range want {
			fmt.Fprintf(&w, "\t%s: …%s…\n", v.field, v.contains)
		}
		t.Errorf("violations:\n%swant:\n%s", list(e), w.String())
	}
}

func list(e *bieuquyet.Error) string {
	var b strings.Builder
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "\t%s: %s\n", v.Field, v.Description)
	}
	return b.String()
}

func wantEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries:\n\t%+v\nwant:\n\t%+v", got, want)
	}
}

func TestParseZaloText(t *testing.T) {
	tests := []struct {
		name     string
		text     []byte
		options  []string
		multiple bool
		want     []Entry
	}{{
		name: "headings with counts, names typed in NFD",
		text: []byte(norm.NFD.String(string(lines(
			"Tán thành (4)", // 1
			"An Nguyễn",     // 2: Zalo name
			"Trần Thị Bình", // 3: full name
			"Lê Anh Tuấn",   // 4: full name where the Zalo name is ambiguous
			"  thu   TRANG", // 5: spacing and case
			"",
			"Không tán thành - 1",            // 7
			"Hương Phạm",                     // 8
			"Không biểu quyết: 1 bình chọn",  // 9
			"Đặng Quốc Việt",                 // 10
			"Tán thành · 0 phiếu",            // 11: a second heading, no names
			"Không tán thành 0 người",        // 12
			"Không biểu quyết (0 bình chọn)", // 13
		)))),
		options: bieuquyet.VoteOptions,
		want: []Entry{
			{Line: 2, PersonID: 1, Options: []int{0}},
			{Line: 3, PersonID: 2, Options: []int{0}},
			{Line: 4, PersonID: 3, Options: []int{0}},
			{Line: 8, PersonID: 4, Options: []int{1}},
			{Line: 5, PersonID: 6, Options: []int{0}},
			{Line: 10, PersonID: 7, Options: []int{2}},
		},
	}, {
		name: "list markers stripped",
		text: lines(
			"Tán thành (6)",
			"1. An Nguyễn",
			"2) Bình Trần",
			"- Thu Trang",
			"• Hoàng Văn Dũng",
			"* Đặng Quốc Việt",
			"10.Hương Phạm",
			"-", // a bare marker is a separator
		),
		options: bieuquyet.VoteOptions,
		want: []Entry{
			{Line: 2, PersonID: 1, Options: []int{0}},
			{Line: 3, PersonID: 2, Options: []int{0}},
			{Line: 7, PersonID: 4, Options: []int{0}},
			{Line: 5, PersonID: 5, Options: []int{0}},
			{Line: 4, PersonID: 6, Options: []int{0}},
			{Line: 6, PersonID: 7, Options: []int{0}},
		},
	}, {
		name: "Không tán thành is not Tán thành",
		text: lines(
			"KHÔNG TÁN THÀNH (2)",
			"An Nguyễn",
			"Bình Trần",
			"Không biểu quyết",
			"Thu Trang",
			"Tán thành",
			"Hương Phạm",
		),
		options: bieuquyet.VoteOptions,
		want: []Entry{
			{Line: 2, PersonID: 1, Options: []int{1}},
			{Line: 3, PersonID: 2, Options: []int{1}},
			{Line: 7, PersonID: 4, Options: []int{0}},
			{Line: 5, PersonID: 6, Options: []int{2}},
		},
	}, {
		name: "multiple-choice opinion poll merges a delegate's options",
		text: lines(
			"Phương án C (2)",
			"An Nguyễn",
			"Thu Trang",
			"Phương án A (2)",
			"Nguyễn Văn An",
			"Bình Trần",
		),
		options:  opinion,
		multiple: true,
		want: []Entry{
			{Line: 2, PersonID: 1, Options: []int{0, 2}},
			{Line: 6, PersonID: 2, Options: []int{0}},
			{Line: 3, PersonID: 6, Options: []int{2}},
		},
	}, {
		name: "an option ending in a number",
		text: lines(
			"Phương án 12",
			"An Nguyễn",
			"Phương án 1 (1)",
			"Bình Trần",
		),
		options: []string{"Phương án 1", "Phương án 12"},
		want: []Entry{
			{Line: 2, PersonID: 1, Options: []int{1}},
			{Line: 4, PersonID: 2, Options: []int{0}},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantEntries(t, mustParse(t, tc.text, FormatDetect, tc.options, tc.multiple), tc.want)
		})
	}
}

func TestParseNFDReallyDecomposed(t *testing.T) {
	// The first case of TestParseZaloText means something only if NFD changes the text.
	if s := "Trần Thị Bình"; norm.NFD.String(s) == s {
		t.Fatal("norm.NFD left the name composed")
	}
}

func TestHeading(t *testing.T) {
	tests := []struct {
		line     string
		options  []string
		option   int // -1: not a heading
		count    int
		hasCount bool
	}{
		{"Tán thành", bieuquyet.VoteOptions, 0, 0, false},
		{"Tán thành (31)", bieuquyet.VoteOptions, 0, 31, true},
		{"Tán thành - 31", bieuquyet.VoteOptions, 0, 31, true},
		{"Tán thành – 31", bieuquyet.VoteOptions, 0, 31, true},
		{"Tán thành: 31 bình chọn", bieuquyet.VoteOptions, 0, 31, true},
		{"Tán thành · 31 phiếu", bieuquyet.VoteOptions, 0, 31, true},
		{"Tán thành 31 người", bieuquyet.VoteOptions, 0, 31, true},
		{"tán thành (31 votes)", bieuquyet.VoteOptions, 0, 31, true},
		{"Tán thành 1 vote", bieuquyet.VoteOptions, 0, 1, true},
		{"Không tán thành (2)", bieuquyet.VoteOptions, 1, 2, true},
		{"Không biểu quyết", bieuquyet.VoteOptions, 2, 0, false},
		{"1. Tán thành (3)", bieuquyet.VoteOptions, 0, 3, true},
		{"Tán thành (31", bieuquyet.VoteOptions, -1, 0, false},
		{"Tán thành (31) phiếu", bieuquyet.VoteOptions, -1, 0, false},
		{"Tán", bieuquyet.VoteOptions, -1, 0, false},
		{"Nguyễn Văn An", bieuquyet.VoteOptions, -1, 0, false},
		{"Phương án 12", []string{"Phương án 1", "Phương án 12"}, 1, 0, false},
		{"Phương án 1 (12)", []string{"Phương án 1", "Phương án 12"}, 0, 12, true},
		{"Phương án 12 - 3 phiếu", []string{"Phương án 1", "Phương án 12"}, 1, 3, true},
	}
	for _, tc := range tests {
		s := newState(tc.options, false, nil)
		h, ok := s.heading(clean(tc.line))
		switch {
		case tc.option < 0 && ok:
			t.Errorf("heading(%q) = %+v; want no heading", tc.line, *h)
		case tc.option < 0:
		case !ok:
			t.Errorf("heading(%q) is no heading; want option %d", tc.line, tc.option)
		case h.option != tc.option || h.count != tc.count || h.hasCount != tc.hasCount:
			t.Errorf("heading(%q) = option %d, count %d (%v); want option %d, count %d (%v)",
				tc.line, h.option, h.count, h.hasCount, tc.option, tc.count, tc.hasCount)
		}
	}
}

func TestParseZaloTextProblems(t *testing.T) {
	tests := []struct {
		name     string
		text     []byte
		options  []string
		multiple bool
		want     []violation
	}{{
		name: "ambiguous Zalo name",
		text: lines("Tán thành", "An Nguyễn", "Anh Tuấn"),
		want: []violation{{"lines[3]", `"Anh Tuấn" is ambiguous: it matches Lê Anh Tuấn (people/3) and Trần Anh Tuấn (people/9); use the phone in a CSV file instead`}},
	}, {
		name: "non-member",
		text: lines("Tán thành (2)", "An Nguyễn", "Nguyen Van X"),
		want: []violation{{"lines[3]", `"Nguyen Van X" is not in the poll's electorate: a non-member, or a misspelt name`}},
	}, {
		name: "count mismatch",
		text: lines("Tán thành (31)", "An Nguyễn", "Bình Trần", "Không tán thành (1)", "Thu Trang"),
		want: []violation{{"lines[1]", "the heading says 31 votes but 2 names follow"}},
	}, {
		name: "count with no names",
		text: lines("Tán thành (1)", "Không tán thành", "Thu Trang"),
		want: []violation{{"lines[1]", "the heading says 1 vote but no names follow"}},
	}, {
		name: "name before any heading",
		text: lines("Biểu quyết thông qua Nghị quyết số 12", "", "Tán thành", "An Nguyễn"),
		want: []violation{{"lines[1]", "a name before any option heading"}},
	}, {
		name: "no heading at all",
		text: lines("An Nguyễn", "Bình Trần"),
		want: []violation{{"content", `no line names an option of the poll ("Tán thành", "Không tán thành", "Không biểu quyết")`}},
	}, {
		name: "two headings in a single-choice poll",
		text: lines("Tán thành", "An Nguyễn", "Bình Trần", "", "Không tán thành", "Nguyễn Văn An"),
		want: []violation{{"lines[6]", `Nguyễn Văn An (people/1) chose two options in a single-choice poll (lines 2 and 6): "Tán thành" and "Không tán thành"`}},
	}, {
		name:    "two headings in a single-choice opinion poll",
		text:    lines("Phương án A", "An Nguyễn", "Phương án B", "An Nguyễn"),
		options: opinion,
		want:    []violation{{"lines[4]", "chose two options in a single-choice poll (lines 2 and 4)"}},
	}, {
		name: "same delegate twice under one option",
		text: lines("Tán thành (2)", "An Nguyễn", "Nguyễn Văn An"),
		want: []violation{{"lines[3]", `Nguyễn Văn An (people/1) already chose "Tán thành" at line 2`}},
	}, {
		name:     "same delegate twice under one option of a multiple-choice poll",
		text:     lines("Phương án A", "An Nguyễn", "Phương án B", "An Nguyễn", "Phương án A", "An Nguyễn"),
		options:  opinion,
		multiple: true,
		want:     []violation{{"lines[6]", `already chose "Phương án A" at line 2`}},
	}, {
		name: "invalid UTF-8",
		text: lines("Tán thành (2)", "An Nguy\xffn", "Bình Trần"),
		want: []violation{{"lines[2]", "is not valid UTF-8"}},
	}, {
		name: "every problem at once",
		text: lines(
			"Danh sách bình chọn",       // 1: before any heading
			"Tán thành (4)",             // 2: 3 names follow
			"An Nguyễn",                 // 3
			"Anh Tuấn",                  // 4: ambiguous
			"Nguyen Van X",              // 5: not a member
			"Không tán thành · 2 phiếu", // 6
			"Nguyễn Văn An",             // 7: two options
			"Bình Trần",                 // 8
			"Không biểu quyết",          // 9
			"Bình Trần",                 // 10: two options
			"Hương Phạm",                // 11
			"Hương Phạm",                // 12: twice
		),
		want: []violation{
			{"lines[1]", "a name before any option heading"},
			{"lines[2]", "the heading says 4 votes but 3 names follow"},
			{"lines[4]", `"Anh Tuấn" is ambiguous`},
			{"lines[5]", `"Nguyen Van X" is not in the poll's electorate`},
			{"lines[7]", "chose two options in a single-choice poll (lines 3 and 7)"},
			{"lines[10]", "chose two options in a single-choice poll (lines 8 and 10)"},
			{"lines[12]", `Phạm Thị Hương (people/4) already chose "Không biểu quyết" at line 11`},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			options := tc.options
			if options == nil {
				options = bieuquyet.VoteOptions
			}
			e := parseErr(t, tc.text, FormatZaloText, options, tc.multiple)
			wantExactly(t, e, tc.want...)
		})
	}
}

// csvOf writes a table as CSV with the given separator.
func csvOf(t *testing.T, tbl [][]string, sep rune) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Comma = sep
	if err := w.WriteAll(tbl); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// xlsxOf writes a table as an XLSX workbook, every cell as text.
func xlsxOf(t *testing.T, tbl [][]string) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for i, rec := range tbl {
		for j, c := range rec {
			if c == "" {
				continue
			}
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				t.Fatal(err)
			}
			if err := x.SetCellStr("Sheet1", cell, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// votesTable is a valid vote list by phone, with a blank row (4).
var votesTable = [][]string{
	{"Phone", "Option", "Name"},                       // 1
	{"0900 000 101", "Tán thành", ""},                 // 2
	{"+84 900 000 102", "tán thành", "Trần Thị Bình"}, // 3
	{"", "", ""}, // 4
	{"84900000103", "Không tán thành", ""},                     // 5
	{"0900.000.109", "Không biểu quyết", "Trần Anh Tuấn"},      // 6
	{"", "Tán thành", norm.NFD.String("Võ Thị Thu Trang")},     // 7: by name
	{"0900 000 105", "  KHÔNG   TÁN THÀNH ", "Hoàng Văn Dũng"}, // 8
}

var votesWant = []Entry{
	{Line: 2, PersonID: 1, Options: []int{0}},
	{Line: 3, PersonID: 2, Options: []int{0}},
	{Line: 5, PersonID: 3, Options: []int{1}},
	{Line: 8, PersonID: 5, Options: []int{1}},
	{Line: 7, PersonID: 6, Options: []int{0}},
	{Line: 6, PersonID: 9, Options: []int{2}},
}

func TestParseCSV(t *testing.T) {
	semicolonBOM := append([]byte("\xEF\xBB\xBF"), csvOf(t, votesTable, ';')...)
	tests := []struct {
		name    string
		content []byte
		format  Format
		want    []Entry
	}{
		{"by phone, BOM and semicolons, detected", semicolonBOM, FormatDetect, votesWant},
		{"by phone, BOM and semicolons, told", semicolonBOM, FormatCSV, votesWant},
		{"commas", csvOf(t, votesTable, ','), FormatDetect, votesWant},
		{"tabs", csvOf(t, votesTable, '\t'), FormatDetect, votesWant},
		{"CRLF", bytes.ReplaceAll(csvOf(t, votesTable, ','), []byte("\n"), []byte("\r\n")), FormatDetect, votesWant},
		{
			"a Zalo name made unique by the full name",
			[]byte("zalo_name,name,option\nAnh Tuấn,Lê Anh Tuấn,Tán thành\n"),
			FormatDetect,
			[]Entry{{Line: 2, PersonID: 3, Options: []int{0}}},
		},
		{
			"phone and an agreeing ambiguous Zalo name",
			[]byte("option,zalo_name,phone\nTán thành,Anh Tuấn,0900 000 109\n"),
			FormatDetect,
			[]Entry{{Line: 2, PersonID: 9, Options: []int{0}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantEntries(t, mustParse(t, tc.content, tc.format, bieuquyet.VoteOptions, false), tc.want)
		})
	}
}

func TestParseCSVProblems(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		format   Format
		multiple bool
		want     []violation
	}{{
		name:    "phone and name name different delegates",
		content: "phone,name,option\n0900 000 101,Trần Thị Bình,Tán thành\n",
		want:    []violation{{"rows[2].name", `"Trần Thị Bình" is Trần Thị Bình (people/2), but the phone "0900 000 101" is Nguyễn Văn An (people/1)`}},
	}, {
		name:    "phone and Zalo name name different delegates",
		content: "phone;zalo_name;option\n0900 000 101;Anh Tuấn;Tán thành\n",
		want:    []violation{{"rows[2].zalo_name", `"Anh Tuấn" is Lê Anh Tuấn (people/3) or Trần Anh Tuấn (people/9), but the phone "0900 000 101" is Nguyễn Văn An (people/1)`}},
	}, {
		name:    "invalid phone",
		content: "phone,option\n0900 000,Tán thành\n",
		want:    []violation{{"rows[2].phone", `"0900 000" is not a valid phone number`}},
	}, {
		name:    "phone not in the electorate",
		content: "phone,option\n0900 000 999,Tán thành\n",
		want:    []violation{{"rows[2].phone", `"0900 000 999" is not in the poll's electorate`}},
	}, {
		name:    "name not in the electorate",
		content: "name,option\nNguyen Van X,Tán thành\n",
		want:    []violation{{"rows[2].name", `"Nguyen Van X" is not in the poll's electorate: a non-member, or a misspelt name`}},
	}, {
		name:    "ambiguous Zalo name",
		content: "zalo_name,option\nAnh Tuấn,Tán thành\n",
		want:    []violation{{"rows[2].zalo_name", `"Anh Tuấn" is ambiguous: it matches Lê Anh Tuấn (people/3) and Trần Anh Tuấn (people/9); give the phone instead`}},
	}, {
		name:    "unknown option",
		content: "phone,option\n0900 000 101,Đồng ý\n",
		want:    []violation{{"rows[2].option", `"Đồng ý" is not an option of the poll`}},
	}, {
		name:    "missing option",
		content: "phone,option\n0900 000 101,\n",
		want:    []violation{{"rows[2].option", "is required"}},
	}, {
		name:    "no delegate in the row",
		content: "zalo_name,name,option\n,,Tán thành\n",
		want:    []violation{{"rows[2].zalo_name", "the row names no delegate"}},
	}, {
		name:    "unknown column",
		content: "phone,option,ghi chú\n0900 000 101,Tán thành,gọi điện\n",
		want:    []violation{{"rows[1].ghi chú", "unknown column"}},
	}, {
		name:    "column twice",
		content: "phone,option,Phone\n",
		want:    []violation{{"rows[1].phone", "column appears twice, in columns A and C"}},
	}, {
		name:    "no option column",
		content: "phone,name\n0900 000 101,Nguyễn Văn An\n",
		format:  FormatCSV,
		want:    []violation{{"rows[1].option", "column is missing"}},
	}, {
		name:    "no column naming the delegate",
		content: "option\nTán thành\n",
		format:  FormatCSV,
		want:    []violation{{"rows[1].phone", "column is missing"}},
	}, {
		name:    "cell beyond the header",
		content: "phone,option\n0900 000 101,Tán thành,x\n",
		want:    []violation{{"rows[2].column_C", "beyond the header's last column (B)"}},
	}, {
		name:    "invalid UTF-8",
		content: "name,option\nNguy\xffn Văn An,Tán thành\n",
		want:    []violation{{"rows[2].name", "is not valid UTF-8"}},
	}, {
		name:    "CSV syntax error",
		content: "phone,option\n\"0900 000 101,Tán thành\n",
		want:    []violation{{"rows[2]", "is not valid CSV"}},
	}, {
		name:    "same row twice",
		content: "phone,option\n0900 000 101,Tán thành\n0900000101,TÁN THÀNH\n",
		want:    []violation{{"rows[3].option", `Nguyễn Văn An (people/1) already chose "Tán thành" at row 2`}},
	}, {
		name:    "two options in a single-choice poll",
		content: "phone,option\n0900 000 101,Tán thành\n0900 000 102,Tán thành\n0900 000 101,Không tán thành\n",
		want:    []violation{{"rows[4].option", "Nguyễn Văn An (people/1) chose two options in a single-choice poll (rows 2 and 4)"}},
	}, {
		name: "every problem at once",
		content: "phone;name;option\n" + // 1
			"0900 000 101;Trần Thị Bình;Tán thành\n" + // 2: disagree
			"0900 000;;Tán thành\n" + // 3: bad phone
			";Anh Tuấn;Đồng ý\n" + // 4: ambiguous name, unknown option
			"0900 000 102;;Tán thành\n" + // 5
			";;\n" + // 6: blank
			"0900 000 102;;Không biểu quyết\n", // 7: two options
		want: []violation{
			{"rows[2].name", "but the phone"},
			{"rows[3].phone", "is not a valid phone number"},
			{"rows[4].option", `"Đồng ý" is not an option`},
			{"rows[4].name", `"Anh Tuấn" is ambiguous`},
			{"rows[7].option", "(rows 5 and 7)"},
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := parseErr(t, []byte(tc.content), tc.format, bieuquyet.VoteOptions, tc.multiple)
			wantExactly(t, e, tc.want...)
		})
	}
}

func TestParseCSVRowNumbers(t *testing.T) {
	// Rows are the rows a spreadsheet shows: empty lines count, a quoted cell over two
	// lines does not.
	got := mustParse(t, []byte("\nname,option\n\"Nguyễn\nVăn An\",Tán thành\n\nBình Trần,Tán thành\n"), FormatDetect, bieuquyet.VoteOptions, false)
	wantEntries(t, got, []Entry{{Line: 3, PersonID: 1, Options: []int{0}}, {Line: 5, PersonID: 2, Options: []int{0}}})

	e := parseErr(t, []byte("phone,option\n0900 000 101,\"Tán\" thành\n\n0900 000 999,Tán thành\n"), FormatDetect, bieuquyet.VoteOptions, false)
	wantExactly(t, e,
		violation{"rows[2]", "is not valid CSV"},
		violation{"rows[4].phone", "is not in the poll's electorate"},
	)
}

func TestParseXLSXMatchesCSV(t *testing.T) {
	x := xlsxOf(t, votesTable)
	if got := detect(x); got != FormatXLSX {
		t.Fatalf("detect(xlsx) = %v", got)
	}
	wantEntries(t, mustParse(t, x, FormatDetect, bieuquyet.VoteOptions, false), mustParse(t, csvOf(t, votesTable, ','), FormatDetect, bieuquyet.VoteOptions, false))
	wantEntries(t, mustParse(t, x, FormatXLSX, bieuquyet.VoteOptions, false), votesWant)

	// The same problems, at the same rows and columns.
	bad := [][]string{
		{"name", "phone", "option"},
		{"Trần Thị Bình", "0900 000 101", "Tán thành"},
		{},
		{"Anh Tuấn", "", "Không tán thành"},
		{"", "0900 000 101", "Không biểu quyết"},
	}
	fromCSV := parseErr(t, csvOf(t, bad, ','), FormatDetect, bieuquyet.VoteOptions, false)
	fromXLSX := parseErr(t, xlsxOf(t, bad), FormatDetect, bieuquyet.VoteOptions, false)
	want := []violation{
		{"rows[2].name", "but the phone"},
		{"rows[4].name", "is ambiguous"},
	}
	wantExactly(t, fromCSV, want...)
	wantExactly(t, fromXLSX, want...)
	if !reflect.DeepEqual(fromCSV.Violations, fromXLSX.Violations) {
		t.Errorf("CSV violations:\n%sXLSX violations:\n%s", list(fromCSV), list(fromXLSX))
	}
}

func TestParseXLSXPhoneAsNumber(t *testing.T) {
	// Excel keeps a phone typed as a number without its leading 0.
	x := excelize.NewFile()
	defer x.Close()
	for cell, v := range map[string]any{"A1": "phone", "B1": "option", "A2": 900000101, "B2": "Tán thành"} {
		if err := x.SetCellValue("Sheet1", cell, v); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		t.Fatal(err)
	}
	wantEntries(t, mustParse(t, b.Bytes(), FormatDetect, bieuquyet.VoteOptions, false), []Entry{{Line: 2, PersonID: 1, Options: []int{0}}})
}

func TestParseContent(t *testing.T) {
	tooLarge := bytes.Repeat([]byte("a"), MaxSize+1)
	tests := []struct {
		name    string
		content []byte
		format  Format
		want    violation
	}{
		{"empty", nil, FormatDetect, violation{"content", "is empty"}},
		{"empty CSV", []byte{}, FormatCSV, violation{"content", "is empty"}},
		{"empty XLSX", []byte{}, FormatXLSX, violation{"content", "is empty"}},
		{"empty text", []byte{}, FormatZaloText, violation{"content", "is empty"}},
		{"blank lines", []byte("\xEF\xBB\xBF \r\n\n\t\n"), FormatDetect, violation{"content", "is empty"}},
		{"headings without names", lines("Tán thành (0)", "Không tán thành", "Không biểu quyết: 0 bình chọn"), FormatDetect, violation{"content", "holds no votes"}},
		{"CSV header only", []byte("phone;option\n;\n"), FormatDetect, violation{"content", "holds no votes"}},
		{"XLSX header only", xlsxOf(t, [][]string{{"phone", "option"}}), FormatDetect, violation{"content", "holds no votes"}},
		{"empty sheet", xlsxOf(t, nil), FormatDetect, violation{"content", "is empty"}},
		{"not a workbook", []byte("PK\x03\x04 not really"), FormatDetect, violation{"content", "cannot be read as an Excel workbook"}},
		{"old workbook", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest"), FormatDetect, violation{"content", "old Excel workbook (.xls)"}},
		{"too large", tooLarge, FormatDetect, violation{"content", fmt.Sprintf("is %d bytes; the limit is %d bytes (2 MiB)", MaxSize+1, MaxSize)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantExactly(t, parseErr(t, tc.content, tc.format, bieuquyet.VoteOptions, false), tc.want)
		})
	}
}

func TestParseMaxSizeAccepted(t *testing.T) {
	head := lines("Tán thành (1)", "An Nguyễn")
	content := append(head, bytes.Repeat([]byte("\n"), MaxSize-len(head))...)
	wantEntries(t, mustParse(t, content, FormatDetect, bieuquyet.VoteOptions, false), []Entry{{Line: 2, PersonID: 1, Options: []int{0}}})
}

func TestParseViolationLimit(t *testing.T) {
	text := "Tán thành\n" + strings.Repeat("Nguyen Van X\n", sheet.MaxViolations+5)
	e := parseErr(t, []byte(text), FormatDetect, bieuquyet.VoteOptions, false)
	if len(e.Violations) != sheet.MaxViolations || !strings.Contains(e.Message, "the first 1000 are listed") {
		t.Errorf("%d violations, message %q; want %d and a note", len(e.Violations), e.Message, sheet.MaxViolations)
	}
}

func TestParseBadFormat(t *testing.T) {
	_, err := Parse([]byte("x"), Format(42), bieuquyet.VoteOptions, false, voters)
	var e *bieuquyet.Error
	if !errors.As(err, &e) || len(e.Violations) != 1 || e.Violations[0].Field != "format" {
		t.Errorf("Parse with Format(42) = %v; want a format violation", err)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		content string
		want    Format
	}{
		{"PK\x03\x04rest", FormatXLSX},
		{"phone,option\n", FormatCSV},
		{"\n \n  Phone ; OPTION \n", FormatCSV},
		{"\xEF\xBB\xBFzalo_name\toption\n", FormatCSV},
		{`"name","option"` + "\n", FormatCSV},
		{"option\n", FormatZaloText},
		{"Tán thành (3)\nAn Nguyễn\n", FormatZaloText},
		{"Tán thành, Không tán thành\n", FormatZaloText},
		{"phone,name\n", FormatZaloText},
	}
	for _, tc := range tests {
		if got := detect([]byte(tc.content)); got != tc.want {
			t.Errorf("detect(%q) = %v, want %v", tc.content, got, tc.want)
		}
	}
}
