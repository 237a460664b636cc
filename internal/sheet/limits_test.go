package sheet

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet/sheettest"
)

// TestReadLimits reads files built to cost much, and checks what each costs in bytes
// allocated (freed or not), and in heap held at once: far from the 64 MiB an import may
// take. Each file is built in its own subtest, so that the others are not on the heap.
func TestReadLimits(t *testing.T) {
	const (
		limit   = 16 << 20 // as the roster's
		maxRows = 10001
		maxPeak = 48 << 20
	)
	base := func() []byte { return xlsxOf(t, [][]any{{"phone", "option"}, {"0900 000 101", "Tán thành"}}) }
	// sheet returns a workbook whose sheet holds the row n times.
	sheet := func(row string, n int) []byte {
		return sheettest.Replace(t, base(), sheettest.SheetPart, sheettest.Repeat(sheettest.SheetHead, row, sheettest.SheetTail, n))
	}
	withStrings := func(xlsx []byte, item string, n int) []byte {
		return sheettest.Replace(t, xlsx, sheettest.SharedStringsPart, sheettest.Repeat(sheettest.SharedStringsHead, item, sheettest.SharedStringsTail, n))
	}
	roster := func() [][]any {
		tbl := [][]any{{"record", "name", "title", "delegate", "phone", "zalo_name", "email", "signing_identity"}}
		for i := range maxRows - 1 {
			tbl = append(tbl, []any{"person", fmt.Sprintf("Nguyễn Thị Phương Thảo %d", i), "Phó Trưởng ban Kinh tế - Ngân sách HĐND tỉnh", "yes",
				fmt.Sprintf("0912 %03d %03d", i/1000, i%1000), fmt.Sprintf("Thảo Nguyễn %d", i), fmt.Sprintf("thao%d@binhduong.gov.vn", i), fmt.Sprintf("CMND:0790%08d", i)})
		}
		return tbl
	}
	tests := []struct {
		name    string
		content func() []byte
		kind    Kind
		limit   int64
		rows    int    // rows read, when the file is read
		problem string // else the file's problem
		alloc   int64  // the bytes it may allocate
	}{
		// The row cap stops excelize's streaming reader: reading all rows would allocate
		// gigabytes.
		{name: "1,000,000 rows, written by excelize's StreamWriter, no limit", kind: XLSX, rows: maxRows + 1, alloc: 128 << 20,
			content: func() []byte {
				return sheettest.XLSX(t, []any{"phone", "option"}, []any{"0900 000 101", "Tán thành"}, 1_000_000)
			}},
		{name: "a sheet of 100 MiB", kind: XLSX, limit: limit, problem: "its first sheet unpacks to more than 16 MiB, the limit", alloc: 1 << 20,
			content: func() []byte {
				return sheet(`<row><c t="inlineStr"><is><t>x</t></is></c></row>`, 100<<20/48)
			}},
		{name: "blank rows", kind: XLSX, limit: limit, problem: "more than 524288 rows and cells up to row 524289", alloc: 512 << 20,
			content: func() []byte { return sheet(`<row/>`, (limit-20000)/6) }},
		{name: "empty cells", kind: XLSX, limit: limit, problem: "more than 524288 rows and cells", alloc: 512 << 20,
			content: func() []byte { return sheet(`<row><c/><c/><c/><c/><c/><c/><c/><c/></row>`, (limit-20000)/43) }},
		{name: "a row of 3,000,000 cells", kind: XLSX, limit: limit, problem: "row 1 has more than 16384 cells", alloc: 16 << 20,
			content: func() []byte {
				return sheettest.Replace(t, base(), sheettest.SheetPart, sheettest.Repeat(sheettest.SheetHead+"<row>", `<c/>`, "</row>"+sheettest.SheetTail, 3<<20))
			}},
		{name: "values in column XFD", kind: XLSX, limit: limit, problem: "more than 524288 rows and cells up to row 32", alloc: 64 << 20,
			content: func() []byte { return sheet(`<row><c r="XFD1"><v>1</v></c></row>`, 20000) }},
		{name: "10,000 rows of 40 values", kind: XLSX, limit: limit, rows: maxRows + 1, alloc: 768 << 20,
			content: func() []byte { return sheet(`<row>`+strings.Repeat(`<c><v>1</v></c>`, 40)+`</row>`, 12000) }},
		{name: "100,000 shared strings", kind: XLSX, limit: limit, rows: 0, alloc: 128 << 20,
			content: func() []byte {
				return withStrings(sheet(`<row><c t="s"><v>99999</v></c></row>`, 10), `<si/>`, 100_000)
			}},
		{name: "100,001 shared strings", kind: XLSX, limit: limit, problem: "it holds more than 100000 different texts", alloc: 128 << 20,
			content: func() []byte { return withStrings(base(), `<si/>`, 100_001) }},
		{name: "a shared string of 1 MiB in every cell", kind: XLSX, limit: limit, problem: "its cells up to row 9 repeat more than 16 MiB of text", alloc: 64 << 20,
			content: func() []byte {
				return withStrings(sheet(`<row><c t="s"><v>0</v></c><c t="s"><v>0</v></c></row>`, 10000), `<si><t>`+strings.Repeat("a", 1<<20)+`</t></si>`, 1)
			}},
		{name: "8 MiB of styles", kind: XLSX, limit: limit, rows: 2, alloc: 1 << 20,
			content: func() []byte {
				return sheettest.Replace(t, base(), "xl/styles.xml", sheettest.Repeat(`<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs>`, `<xf/>`, `</cellXfs></styleSheet>`, 8<<20/5))
			}},
		{name: "a part of 100 MiB the sheet does not use", kind: XLSX, limit: limit, rows: 2, alloc: 1 << 20,
			content: func() []byte {
				return sheettest.Replace(t, base(), "xl/media/image1.png", sheettest.Repeat("", "\x00", "", 100<<20))
			}},
		{name: "a roster of 10,000 people", kind: XLSX, limit: limit, rows: maxRows, alloc: 512 << 20,
			content: func() []byte { return xlsxOf(t, roster()) }},
		{name: "a CSV line of 8,000,000 commas", kind: CSV, limit: limit, problem: "line 1 of the file starts a row of more than 16384 cells", alloc: 1 << 20,
			content: func() []byte { return []byte(strings.Repeat(",", 8<<20)) }},
		{name: "CSV lines of 16,384 empty cells", kind: CSV, limit: limit, rows: 0, alloc: 256 << 20,
			content: func() []byte { return []byte(strings.Repeat(strings.Repeat(",", MaxCells-1)+"\n", 8<<20/MaxCells)) }},
		{name: "CSV cells of 800 characters", kind: CSV, limit: limit, rows: 10000, alloc: 32 << 20,
			content: func() []byte { return []byte(strings.Repeat(strings.Repeat("a", 800)+"\n", 10000)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			content := tc.content()
			var p Problems
			var rows []Row
			var ok bool
			u := sheettest.Measure(func() { rows, ok = Read(content, tc.kind, Options{UnzipLimit: tc.limit, MaxRows: maxRows}, &p) })
			t.Logf("%d bytes: %v", len(content), u)
			if tc.problem != "" {
				if vs := violations(&p); ok || len(vs) != 1 || !strings.Contains(vs[0].Description, tc.problem) {
					t.Errorf("ok %v, violations %+v; want one containing %q", ok, vs, tc.problem)
				}
			} else if !ok || len(rows) != tc.rows {
				t.Errorf("ok %v, %d rows (%v); want %d", ok, len(rows), p.Err("the file"), tc.rows)
			}
			if (!sheettest.RaceEnabled && u.Allocated > uint64(tc.alloc)) || u.Peak > maxPeak {
				t.Errorf("%v; want at most %d MiB allocated, %d MiB at once", u, tc.alloc>>20, maxPeak>>20)
			}
		})
	}
}

// TestWidestRecord checks that widestRecord counts the fields of every record as
// encoding/csv reads them, on random text made of what CSV is made of.
func TestWidestRecord(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = `a,;"` + "\n\r "
	for range 20000 {
		b := make([]byte, r.IntN(30))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		for _, comma := range []byte{',', ';'} {
			cr := csv.NewReader(strings.NewReader(string(b)))
			cr.Comma = rune(comma)
			cr.FieldsPerRecord = -1
			wantLine, want := 0, 0
			for {
				rec, err := cr.Read()
				if err == io.EOF {
					break
				}
				if len(rec) > want {
					want = len(rec)
					wantLine, _ = cr.FieldPos(0)
					if pe, ok := err.(*csv.ParseError); ok {
						wantLine = pe.StartLine
					}
				}
			}
			if line, got := widestRecord(b, comma, 1<<20); got != want || line != wantLine {
				t.Fatalf("widestRecord(%q, %q) = line %d, %d fields; encoding/csv reads line %d, %d fields", b, comma, line, got, wantLine, want)
			}
		}
	}
	// It stops at the first record over the limit.
	if line, n := widestRecord([]byte("a,b\n\na,b,c,d\na,b,c,d,e,f\n"), ',', 3); line != 3 || n != 4 {
		t.Errorf("widestRecord with limit 3 = line %d, %d fields; want line 3, 4", line, n)
	}
}

// TestReadXLSXStrict checks sheets that no spreadsheet writes, where excelize and the
// scan finding formulas could disagree on where a cell is: they are refused.
func TestReadXLSXStrict(t *testing.T) {
	head := sheettest.InlineRow("phone", "name")
	for rows, want := range map[string]string{
		`<row r="3"><c><v>1</v></c></row><row r="2"><c><v>1</v></c></row>`: "its rows are out of order: row 2 comes after row 3",
		`<row r="x"><c><v>1</v></c></row>`:                                 "the row after row 1 has no valid number",
		`<row r="2000000"><c><v>1</v></c></row>`:                           "it has a row 2000000; a sheet has at most 1048576",
		// A formula excelize would read as cell B of row 3.
		`<row r="3"><c><v>1</v></c></row><row r="2"><c r="B2" t="str"><f>HYPERLINK("http://x","click")</f><v>click</v></c></row>`: "its rows are out of order: row 2 comes after row 3",
		`<row><c r="B2"><v>1</v></c><c r="A2"><v>1</v></c></row>`:                                                                 "the cells of row 2 are out of order",
		`<row><c r="2B"><v>1</v></c></row>`:                                                                                       `a cell of row 2 has an invalid name "2B"`,
		`<row><c s="x"><v>1</v></c></row>`:                                                                                        "a cell of row 2 has an invalid style",
		`<row><c><extLst><row/></extLst></c></row>`:                                                                               "a cell of row 2 holds a row",
		`<row><c><v>1</v></row>`:                                                                                                  "XML syntax error",
	} {
		var p Problems
		got, ok := Read(sheettest.Sheet(t, head+rows), XLSX, opt, &p)
		if vs := violations(&p); ok || got != nil || len(vs) != 1 || !strings.Contains(vs[0].Description, "cannot be read as an Excel workbook (.xlsx)") || !strings.Contains(vs[0].Description, want) {
			t.Errorf("%s: Read = %v, %v, %+v; want one problem: %s", rows, got, ok, vs, want)
		}
	}
}

func TestReadKeepsRowsSmall(t *testing.T) {
	long := norm.NFD.String(strings.Repeat("Nguyễn Văn An ", 400)) // 8,000 bytes, decomposed
	var b strings.Builder
	b.WriteString("phone,name\n")
	b.WriteString("0900 000 101," + long + "\n")                                // 2
	b.WriteString("0900 000 102,An" + strings.Repeat(",", 38) + "stray\n")      // 3: a cell in column AO
	b.WriteString("0900 000 103,Bình" + strings.Repeat(",", MaxCells-3) + "\n") // 4: empty up to XFD
	rows, p := read(t, []byte(b.String()), CSV, opt)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	cell := rows[1].Cells[1]
	if len(cell) > maxCellBytes+utf8MaxExtra || utf8.RuneCountInString(cell) <= bieuquyet.MaxTextLen ||
		!norm.NFC.IsNormalString(cell) || !strings.HasPrefix(norm.NFD.String(cell), long[:100]) {
		t.Errorf("a long cell kept as %d bytes; want its first %d or so, in NFC", len(cell), maxCellBytes)
	}
	if rows[1].Bad[1] != "is longer than 300 characters" {
		t.Errorf("a long cell's problem %q", rows[1].Bad[1])
	}
	for _, r := range rows[2:] {
		if len(r.Cells) != MaxColumns || cap(r.Cells) != MaxColumns {
			t.Errorf("row %d keeps %d cells (capacity %d); want %d", r.Num, len(r.Cells), cap(r.Cells), MaxColumns)
		}
	}
	want := []bieuquyet.Violation{{Field: "rows[3].column_AN", Description: "is in column AN; a sheet here has at most 32 columns, up to AF"}}
	if vs := violations(p); !reflect.DeepEqual(vs, want) {
		t.Errorf("violations:\n%+v\nwant:\n%+v", vs, want)
	}
}

// utf8MaxExtra is how far past maxCellBytes a cell may be cut, to end on a whole rune.
const utf8MaxExtra = 3

// counter counts the times it is written.
type counter struct{ n *int }

func (c counter) String() string { *c.n++; return "x" }

func TestProblemsKeepsTheFirst(t *testing.T) {
	// In the order of the file, only the first MaxViolations are written at all.
	var p Problems
	written := 0
	for i := range 3 * MaxViolations {
		p.Cell(i+1, "name", "is %v", counter{&written})
	}
	if p.Len() != 3*MaxViolations || written != MaxViolations {
		t.Errorf("Len %d, %d written; want %d, %d", p.Len(), written, 3*MaxViolations, MaxViolations)
	}
	var e *bieuquyet.Error
	if err := p.Err("the vote list"); !errors.As(err, &e) || e.Message != "the vote list has 3000 problems; the first 1000 are listed" ||
		len(e.Violations) != MaxViolations || e.Violations[MaxViolations-1].Field != fmt.Sprintf("rows[%d].name", MaxViolations) {
		t.Errorf("Err = %v", err)
	}
	// A later problem of an earlier row takes a kept one's place.
	p.File("is odd")
	if err := p.Err("the vote list"); !errors.As(err, &e) || e.Violations[0].Field != FieldContent || e.Violations[MaxViolations-1].Field != fmt.Sprintf("rows[%d].name", MaxViolations-1) {
		t.Errorf("Err = %v", err)
	}
}

func TestRecordLongText(t *testing.T) {
	var p Problems
	h, _ := testColumns.ReadHeader(Row{Num: 1, Cells: []string{"phone", "name", "option"}}, &p)
	h.Record(Row{Num: 4, Cells: []string{"0900 000 104", strings.Repeat("ă", bieuquyet.MaxTextLen+1), strings.Repeat("ă", bieuquyet.MaxTextLen)}}, &p)
	want := []bieuquyet.Violation{{Field: "rows[4].name", Description: "is longer than 300 characters"}}
	if vs := violations(&p); !reflect.DeepEqual(vs, want) {
		t.Errorf("violations:\n%+v\nwant:\n%+v", vs, want)
	}
}
