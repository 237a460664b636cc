package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
)

// opt are the options of most tests: an 8 MiB file may unpack to 256 MiB.
var opt = Options{UnzipLimit: 32 * 8 << 20}

// read reads content that must be readable.
func read(t *testing.T, content []byte, kind Kind, opt Options) ([]Row, *Problems) {
	t.Helper()
	var p Problems
	rows, ok := Read(content, kind, opt, &p)
	if !ok {
		t.Fatalf("Read: not ok: %v", p.Err("the file"))
	}
	return rows, &p
}

// violations returns the violations of p, in the order of the file.
func violations(p *Problems) []bieuquyet.Violation {
	var e *bieuquyet.Error
	if !errors.As(p.Err("the file"), &e) {
		return nil
	}
	return e.Violations
}

// xlsxOf writes rows, from row 1, into the first sheet of a workbook, and then the
// other sheets, each as a name and its cell A1.
func xlsxOf(t *testing.T, rows [][]any, others ...string) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for i, r := range rows {
		if err := x.SetSheetRow("Sheet1", fmt.Sprintf("A%d", i+1), &r); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i+1 < len(others); i += 2 {
		if _, err := x.NewSheet(others[i]); err != nil {
			t.Fatal(err)
		}
		if err := x.SetCellStr(others[i], "A1", others[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDetect(t *testing.T) {
	for content, want := range map[string]Kind{
		"PK\x03\x04rest":                         XLSX,
		"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest":  OLE,
		"phone,option\n":                         CSV,
		"\xEF\xBB\xBFPK\x03\x04":                 CSV,
		"Tán thành (3)\nAn Nguyễn\n":             CSV,
		"":                                       CSV,
		"\xD0\xCF\x11\xE0 too short for an .xls": CSV,
	} {
		if got := Detect([]byte(content)); got != want {
			t.Errorf("Detect(%q) = %v, want %v", content, got, want)
		}
	}
}

func TestHeaderLine(t *testing.T) {
	tests := []struct {
		content, line string
		sep           rune
	}{
		{"a,b\nc;d\n", "a,b", ','},
		{"a;b,c\n", "a;b,c", ','},
		{"a;b\n", "a;b", ';'},
		{"a\tb;c\n", "a\tb;c", ';'},
		{"a\tb\n", "a\tb", '\t'},
		{"\xEF\xBB\xBFa;b\r\n", "a;b\r", ';'},
		{"\n \r\n\t\na\tb", "a\tb", '\t'}, // lines of white space are passed over
		{"a\n", "a", ','},
		{"", "", ','},
		{" \n\t\n", "", ','},
	}
	for _, tc := range tests {
		line, sep := HeaderLine([]byte(tc.content))
		if string(line) != tc.line || sep != tc.sep {
			t.Errorf("HeaderLine(%q) = %q, %q; want %q, %q", tc.content, line, sep, tc.line, tc.sep)
		}
	}
}

func TestReadCSV(t *testing.T) {
	content := "\xEF\xBB\xBF" + // 1, the BOM left out
		"phone;name\r\n" +
		"\r\n" + // 2: an empty line is a row
		";\n" + // 3: a blank row, left out
		"0900 000 101;\"Nguyễn\nVăn An\"\n" + // 4: one row over two lines
		"0900 000 102;" + norm.NFD.String("Trần Thị Bình") + "\n" + // 5
		"0900 000 103;B\xecnh;extra\n" + // 6
		"\n\n" + // 7 and 8
		"0900 000 104\n" // 9: a short row
	rows, p := read(t, []byte(content), CSV, opt)
	want := []Row{
		{Num: 1, Cells: []string{"phone", "name"}},
		{Num: 4, Cells: []string{"0900 000 101", "Nguyễn\nVăn An"}},
		{Num: 5, Cells: []string{"0900 000 102", "Trần Thị Bình"}},    // in NFC
		{Num: 6, Cells: []string{"0900 000 103", "B\xecnh", "extra"}}, // as read
		{Num: 9, Cells: []string{"0900 000 104"}},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n%+v\nwant:\n%+v", rows, want)
	}
	if p.Len() != 0 {
		t.Errorf("problems: %v", violations(p))
	}
}

func TestReadCSVSyntaxErrors(t *testing.T) {
	// A record that is not valid CSV is a Failed row, reported; the rows after it are
	// read, and numbered as a spreadsheet shows them.
	content := "phone,option\n" + // 1
		"0900 000 101,Tán \"thành\"\n" + // 2
		"\n" + // 3
		"0900 000 102,Tán thành\n" + // 4
		"0900 000 103,\"Tán thành\n" // 5, to the end of the file
	rows, p := read(t, []byte(content), CSV, opt)
	want := []Row{
		{Num: 1, Cells: []string{"phone", "option"}},
		{Num: 2, Failed: true},
		{Num: 4, Cells: []string{"0900 000 102", "Tán thành"}},
		{Num: 5, Failed: true},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows:\n%+v\nwant:\n%+v", rows, want)
	}
	vs := violations(p)
	if len(vs) != 2 || vs[0].Field != "rows[2]" || vs[1].Field != "rows[5]" ||
		!strings.Contains(vs[0].Description, `is not valid CSV: bare " in non-quoted-field (line 2, column 19 of the file)`) {
		t.Errorf("violations: %+v", vs)
	}
}

func TestReadXLSX(t *testing.T) {
	content := xlsxOf(t, [][]any{
		{"phone", "name", "count"},
		{900000101, norm.NFD.String("Nguyễn Văn An"), 3.5}, // a phone typed as a number
		{},
		{"", " "}, // blank
		{"0900 000 102", "Trần Thị Bình"},
	}, "Ghi chú", "not read")
	rows, p := read(t, content, XLSX, opt)
	want := []Row{
		{Num: 1, Cells: []string{"phone", "name", "count"}},
		{Num: 2, Cells: []string{"900000101", "Nguyễn Văn An", "3.5"}},
		{Num: 5, Cells: []string{"0900 000 102", "Trần Thị Bình"}},
	}
	if !reflect.DeepEqual(rows, want) || p.Len() != 0 {
		t.Errorf("rows:\n%+v\nwant:\n%+v\nproblems: %v", rows, want, violations(p))
	}

	// The CSV file of the same cells reads alike.
	fromCSV, _ := read(t, []byte("phone,name,count\n900000101,Nguyễn Văn An,3.5\n\n, \n0900 000 102,Trần Thị Bình\n"), CSV, opt)
	if !reflect.DeepEqual(fromCSV, rows) {
		t.Errorf("CSV rows:\n%+v\nXLSX rows:\n%+v", fromCSV, rows)
	}
}

// TestReadUnreadable checks files that cannot be read at all (moved from rosterfile's
// TestParseNotAWorkbook).
func TestReadUnreadable(t *testing.T) {
	zipOf := func(t *testing.T, write func(w *zip.Writer) error) []byte {
		t.Helper()
		var b bytes.Buffer
		w := zip.NewWriter(&b)
		if err := write(w); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	tests := []struct {
		name    string
		content []byte
		kind    Kind
		want    string
	}{
		{"not a zip", []byte("PK\x03\x04 not really a zip file"), XLSX, "cannot be read as an Excel workbook (.xlsx); save it again from Excel, or as CSV UTF-8"},
		{"a zip of something else", zipOf(t, func(w *zip.Writer) error {
			f, err := w.Create("readme.txt")
			if err == nil {
				_, err = f.Write([]byte("hello"))
			}
			return err
		}), XLSX, "cannot be read as an Excel workbook (.xlsx)"},
		// A ZIP bomb: an entry that says it unpacks to 1 GiB.
		{"zip bomb", zipOf(t, func(w *zip.Writer) error {
			_, err := w.CreateRaw(&zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Deflate, UncompressedSize64: 1 << 30, CompressedSize64: 1})
			return err
		}), XLSX, "cannot be read as an Excel workbook (.xlsx)"},
		{"CSV as XLSX", []byte("record,name\nperson,An\n"), XLSX, "cannot be read as an Excel workbook (.xlsx)"},
		{"xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"), OLE, "is an old Excel workbook (.xls) or a password-protected one; save it as an Excel workbook (.xlsx) without a password, or as CSV UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Problems
			rows, ok := Read(tc.content, tc.kind, opt, &p)
			vs := violations(&p)
			if ok || rows != nil || len(vs) != 1 || vs[0].Field != FieldContent || !strings.Contains(vs[0].Description, tc.want) {
				t.Errorf("Read = %v, %v with %+v; want nothing, and a content violation %q", rows, ok, vs, tc.want)
			}
		})
	}
}

func TestReadMaxRows(t *testing.T) {
	var csv strings.Builder
	var tbl [][]any
	for i := range 10 {
		fmt.Fprintf(&csv, "%d\n,\n", i) // every row followed by a blank one
		tbl = append(tbl, []any{i}, nil)
	}
	for _, kind := range []Kind{CSV, XLSX} {
		content := []byte(csv.String())
		if kind == XLSX {
			content = xlsxOf(t, tbl)
		}
		for maxRows, want := range map[int]int{0: 10, 3: 4, 9: 10, 10: 10, 20: 10} {
			rows, _ := read(t, content, kind, Options{UnzipLimit: opt.UnzipLimit, MaxRows: maxRows})
			if len(rows) != want || rows[len(rows)-1].Num != 2*want-1 {
				t.Errorf("%v with MaxRows %d: %d rows, the last %+v; want %d", kind, maxRows, len(rows), rows[len(rows)-1], want)
			}
		}
	}
}

func TestProblems(t *testing.T) {
	var p Problems
	if err := p.Err("the file"); err != nil {
		t.Fatalf("Err with no problem = %v", err)
	}
	p.Cell(3, "phone", "is %s", "bad")
	p.File("is odd")
	p.Add(2, "rows[2]", "is not valid CSV")
	p.Cell(3, "name", "is required")
	p.Merge(bieuquyet.Violations{
		{Field: "rows[3].phone", Description: "the domain's word on a cell reported already"},
		{Field: "rows[1].name", Description: "merged"},
		{Field: "council", Description: "merged, for the whole file"},
	})
	want := []bieuquyet.Violation{
		{Field: "content", Description: "is odd"},
		{Field: "council", Description: "merged, for the whole file"},
		{Field: "rows[1].name", Description: "merged"},
		{Field: "rows[2]", Description: "is not valid CSV"},
		{Field: "rows[3].phone", Description: "is bad"},
		{Field: "rows[3].name", Description: "is required"},
	}
	err := p.Err("the roster file")
	var e *bieuquyet.Error
	if !errors.As(err, &e) || e.Code != bieuquyet.CodeInvalid || e.Message != "the roster file has 6 problems" || !reflect.DeepEqual(e.Violations, want) {
		t.Errorf("Err = %#v\nwant the 6 problems\n%+v", err, want)
	}

	p.Reset()
	p.File("is empty")
	if err := p.Err("the vote list"); !errors.As(err, &e) || e.Message != "the vote list has 1 problem" || p.Len() != 1 {
		t.Errorf("Err = %v, %d problems; want 1", err, p.Len())
	}

	p.Reset()
	for i := range 2*MaxViolations + 1 {
		p.Cell(2*MaxViolations+1-i, "name", "is required") // in the reverse order
	}
	errors.As(p.Err("the file"), &e)
	if want := fmt.Sprintf("the file has %d problems; the first %d are listed", 2*MaxViolations+1, MaxViolations); e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
	if len(e.Violations) != MaxViolations || e.Violations[0].Field != "rows[1].name" || e.Violations[MaxViolations-1].Field != fmt.Sprintf("rows[%d].name", MaxViolations) {
		t.Errorf("%d violations, from %s to %s; want the first %d rows", len(e.Violations), e.Violations[0].Field, e.Violations[len(e.Violations)-1].Field, MaxViolations)
	}
}

func TestRowOf(t *testing.T) {
	for field, want := range map[string]int{
		"rows[12].phone": 12, "rows[3]": 3, "rows[7].column_AB": 7,
		"content": 0, "rows[x].phone": 0, "rows[12": 0, "lines[4]": 0, "": 0,
	} {
		if got := RowOf(field); got != want {
			t.Errorf("RowOf(%q) = %d, want %d", field, got, want)
		}
	}
}

func TestColumnName(t *testing.T) {
	for i, want := range map[int]string{0: "A", 14: "O", 25: "Z", 26: "AA", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA"} {
		if got := ColumnName(i); got != want {
			t.Errorf("ColumnName(%d) = %q, want %q", i, got, want)
		}
	}
}

var testColumns = &Columns{
	Known:    []string{"phone", "name", "option"},
	Required: []string{"phone", "option"},
	Unknown:  "unknown column; the columns are phone, name and option",
}

func TestReadHeader(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
		want  []bieuquyet.Violation // none: ok
	}{
		{name: "any order, case and spacing", cells: []string{" Option ", "", "PHONE"}},
		{name: "problems", cells: []string{"phone", "ghi  chú", "Phone", "n\xe1me", "", "name"}, want: []bieuquyet.Violation{
			{Field: "rows[4].ghi  chú", Description: "unknown column; the columns are phone, name and option"},
			{Field: "rows[4].phone", Description: "column appears twice, in columns A and C"},
			{Field: "rows[4].column_D", Description: "is not valid UTF-8"},
			{Field: "rows[4].option", Description: "column is missing"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Problems
			h, ok := testColumns.ReadHeader(Row{Num: 4, Cells: tc.cells}, &p)
			if vs := violations(&p); ok != (tc.want == nil) || !reflect.DeepEqual(vs, tc.want) {
				t.Errorf("ReadHeader: ok %v, violations:\n%+v\nwant:\n%+v", ok, vs, tc.want)
			}
			if !h.Has("phone") || h.Has("ghi  chú") || h.Has("") {
				t.Errorf("Has: phone %v, ghi  chú %v, \"\" %v", h.Has("phone"), h.Has("ghi  chú"), h.Has(""))
			}
		})
	}

	// Fold gives the name a header cell stands for.
	cols := *testColumns
	cols.Fold = func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), "_") }
	var p Problems
	cols.ReadHeader(Row{Num: 1, Cells: []string{"phone", "option", "Ghi   chú"}}, &p)
	if vs := violations(&p); len(vs) != 1 || vs[0].Field != "rows[1].ghi_chú" {
		t.Errorf("with Fold, violations %+v; want one of rows[1].ghi_chú", vs)
	}
}

func TestRecord(t *testing.T) {
	var p Problems
	h, ok := testColumns.ReadHeader(Row{Num: 1, Cells: []string{"phone", "", "option"}}, &p)
	if !ok {
		t.Fatal(violations(&p))
	}
	r := h.Record(Row{Num: 3, Cells: []string{" 0900 000 101 ", "stray", "T\xe1n  thành", "", "beyond"}}, &p)
	if want := map[string]string{"phone": "0900 000 101", "option": "T\uFFFDn  thành"}; r.Num != 3 || !reflect.DeepEqual(r.Cells, want) {
		t.Errorf("Record: row %d, cells %q; want 3, %q", r.Num, r.Cells, want)
	}
	// A cell has one problem at most.
	r.Bad("option", "is not an option")
	r.Bad("name", "is required")
	if !r.Flagged("option") || !r.Flagged("name") || r.Flagged("phone") {
		t.Errorf("flagged: option %v, name %v, phone %v", r.Flagged("option"), r.Flagged("name"), r.Flagged("phone"))
	}
	want := []bieuquyet.Violation{
		{Field: "rows[3].column_B", Description: "is in column B, which has no header"},
		{Field: "rows[3].option", Description: "is not valid UTF-8"},
		{Field: "rows[3].column_E", Description: "is in column E, beyond the header's last column (C)"},
		{Field: "rows[3].name", Description: "is required"},
	}
	if vs := violations(&p); !reflect.DeepEqual(vs, want) {
		t.Errorf("violations:\n%+v\nwant:\n%+v", vs, want)
	}

	// Clean gives a data cell's value.
	cols := *testColumns
	cols.Clean = func(s string) string { return strings.Join(strings.Fields(s), " ") }
	h, _ = cols.ReadHeader(Row{Num: 1, Cells: []string{"phone", "option"}}, &p)
	if r := h.Record(Row{Num: 2, Cells: []string{"0900  000 101", norm.NFD.String("T\xe1n  thành")}}, &p); r.Cells["phone"] != "0900 000 101" || r.Cells["option"] != "T\uFFFDn thành" {
		t.Errorf("with Clean, cells %q", r.Cells)
	}
}
