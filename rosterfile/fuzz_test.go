package rosterfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"testing"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet"
	"github.com/bieuquyet/bieuquyet/internal/sheet/sheettest"
)

// fieldRE is the form of every field a roster file's error names: the whole file, a row
// (unreadable CSV), or one of its cells (a header cell naming an unknown column is named
// by its text).
var fieldRE = regexp.MustCompile(`(?s)^(content|rows\[([1-9][0-9]*)\](\..+)?)$`)

// FuzzParse reads arbitrary bytes as a roster file. The committed corpus
// (testdata/fuzz/FuzzParse) holds small CSV and XLSX rosters, good and spoiled; see
// TestWriteFuzzSeeds. Beyond not panicking: the result is the same on a second read;
// a file accepted re-validates with no violation and names only data rows; a file
// refused is a CodeInvalid error whose every violation names the file or a row.
func FuzzParse(f *testing.F) {
	f.Add([]byte("record,name,kind,leader,title,delegate,phone,group,role\ncouncil,HĐND tỉnh,,,,,,,\n"), uint(1))
	f.Fuzz(func(t *testing.T, content []byte, format uint) {
		fm := Format(format % 3)
		got, err := Parse(content, fm)
		again, err2 := Parse(content, fm)
		if !reflect.DeepEqual(got, again) || !reflect.DeepEqual(err, err2) {
			t.Fatalf("two reads differ: %v, %v", err, err2)
		}
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if vs := got.Validate(); len(vs) != 0 {
			t.Fatalf("an accepted file does not re-validate: %v", vs)
		}
		var rows []int
		if got.Council != nil {
			rows = append(rows, got.Council.Row)
		}
		for _, p := range got.People {
			rows = append(rows, p.Row)
		}
		for _, g := range got.Groups {
			rows = append(rows, g.Row)
		}
		for _, m := range got.Members {
			rows = append(rows, m.Row)
		}
		if len(rows) == 0 {
			t.Fatal("an accepted file holds nothing")
		}
		seen := map[int]bool{}
		for _, r := range rows {
			if r < 2 || seen[r] { // row 1 at the earliest is the header
				t.Fatalf("rows %v: %d is the header's or used twice", rows, r)
			}
			seen[r] = true
		}
	})
}

// checkRefusal checks that err is a roster file's refusal, naming the file or its rows.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var e *bieuquyet.Error
	if !errors.As(err, &e) || e.Code != bieuquyet.CodeInvalid {
		t.Fatalf("Parse error %T %v is not an invalid *bieuquyet.Error", err, err)
	}
	if len(e.Violations) == 0 || len(e.Violations) > sheet.MaxViolations {
		t.Fatalf("%d violations: %v", len(e.Violations), e)
	}
	prev := 0
	for _, v := range e.Violations {
		m := fieldRE.FindStringSubmatch(v.Field)
		if m == nil || v.Description == "" {
			t.Fatalf("violation %q: %q names neither the file nor a row's cell", v.Field, v.Description)
		}
		row, _ := strconv.Atoi(m[2]) // 0 for the file
		if row < prev {
			t.Fatalf("violations out of the file's order: %v", e.Violations)
		}
		prev = row
	}
}

// TestWriteFuzzSeeds rewrites the committed corpus of FuzzParse when
// BIEUQUYET_FUZZ_SEEDS is set: the small roster of these tests as CSV (comma and
// semicolon), as a small XLSX workbook (sheettest.Stored), and with its rows spoiled.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("BIEUQUYET_FUZZ_SEEDS") == "" {
		t.Skip("set BIEUQUYET_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	spoiled := base()
	spoiled[2]["phone"] = spoiled[1]["phone"]       // a phone used twice
	spoiled[4]["kind"] = "ban"                      // not a group kind
	spoiled[6]["group"] = "HĐND - Ban Tài chính"    // no such group
	spoiled = append(spoiled, cells{"record": "x"}) // not a record type
	b := base()
	small := []cells{b[0], b[1], b[4], b[5]} // the council, a Ban, its leader a member
	seeds := []struct {
		name    string
		content []byte
		format  Format
	}{
		{"csv", csvOf(t, table(sampleHeader, base())), FormatDetect},
		{"csv-semicolon", semicolons(csvOf(t, table(sampleHeader, base()))), FormatCSV},
		{"csv-spoiled", csvOf(t, table(sampleHeader, spoiled)), FormatDetect},
		{"xlsx", sheettest.Stored(t, table(sampleHeader, small)), FormatDetect},
		{"xlsx-spoiled", sheettest.Stored(t, table(sampleHeader, append(small, spoiled[6:]...))), FormatXLSX},
		{"header-only", []byte("record,name,kind,leader,title,delegate,phone,group,role\r\n"), FormatCSV},
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nuint(%d)\n", s.content, s.format)
		if err := os.WriteFile(filepath.Join(dir, s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// semicolons rewrites a CSV file written with commas, none quoted, with semicolons.
func semicolons(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		if c == ',' {
			c = ';'
		}
		out[i] = c
	}
	return out
}
