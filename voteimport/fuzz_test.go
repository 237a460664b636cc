package voteimport

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet"
	"github.com/bieuquyet/bieuquyet/internal/sheet/sheettest"
)

// fieldRE is the form of every field a vote list's error names: the whole list, a line
// of a pasted list, or a sheet's row (unreadable CSV) or one of its cells (a header cell
// naming an unknown column is named by its text).
var fieldRE = regexp.MustCompile(`(?s)^(content|lines\[([1-9][0-9]*)\]|rows\[([1-9][0-9]*)\](\..+)?)$`)

// pollOf is the poll a fuzzed list is read for: a vote, or a multiple-choice opinion poll.
func pollOf(multiple bool) []string {
	if multiple {
		return opinion
	}
	return bieuquyet.VoteOptions
}

// checkParse checks what Parse made of content: the same on a second read; entries that
// are one per voter of the electorate, ascending, each with options of the poll (one
// only, unless multiple); or a CodeInvalid error whose violations name the list, its
// lines or its rows, in order, lines no further than the last. It returns the entries.
func checkParse(t *testing.T, content []byte, format Format, multiple bool) ([]Entry, error) {
	t.Helper()
	options := pollOf(multiple)
	got, err := Parse(content, format, options, multiple, voters)
	again, err2 := Parse(content, format, options, multiple, voters)
	if !reflect.DeepEqual(got, again) || !reflect.DeepEqual(err, err2) {
		t.Fatalf("two reads differ: %v, %v", err, err2)
	}
	if err != nil {
		var e *bieuquyet.Error
		if !errors.As(err, &e) || e.Code != bieuquyet.CodeInvalid {
			t.Fatalf("Parse error %T %v is not an invalid *bieuquyet.Error", err, err)
		}
		if len(e.Violations) == 0 || len(e.Violations) > sheet.MaxViolations {
			t.Fatalf("%d violations: %v", len(e.Violations), e)
		}
		last := strings.Count(string(content), "\n") + 1
		prev := 0
		for _, v := range e.Violations {
			m := fieldRE.FindStringSubmatch(v.Field)
			if m == nil || v.Description == "" {
				t.Fatalf("violation %q: %q names neither the list, a line nor a row's cell", v.Field, v.Description)
			}
			n, _ := strconv.Atoi(m[2] + m[3]) // 0 for the list
			if n < prev || m[2] != "" && n > last {
				t.Fatalf("violation %q out of order or past the last line %d: %v", v.Field, last, e.Violations)
			}
			prev = n
		}
		return nil, err
	}
	if len(got) == 0 {
		t.Fatal("an accepted list holds no votes")
	}
	known := map[int64]bool{}
	for _, v := range voters {
		known[v.PersonID] = true
	}
	for i, e := range got {
		switch {
		case !known[e.PersonID]:
			t.Fatalf("entry %+v: not a voter", e)
		case i > 0 && got[i-1].PersonID >= e.PersonID:
			t.Fatalf("entries not one per voter, ascending: %+v", got)
		case e.Line < 1 || len(e.Options) == 0 || !multiple && len(e.Options) > 1:
			t.Fatalf("entry %+v", e)
		}
		for j, o := range e.Options {
			if o < 0 || o >= len(options) || j > 0 && e.Options[j-1] >= o {
				t.Fatalf("entry %+v: options not ascending options of the poll", e)
			}
		}
	}
	return got, nil
}

// FuzzParseList reads arbitrary bytes as a CSV or XLSX vote list (format 0 detects). The
// committed corpus (testdata/fuzz/FuzzParseList) holds small lists of both kinds, good
// and spoiled; see TestWriteFuzzSeeds.
func FuzzParseList(f *testing.F) {
	f.Add([]byte("phone,option\n0900 000 101,Tán thành\n"), uint(1), false)
	f.Fuzz(func(t *testing.T, content []byte, format uint, multiple bool) {
		fm := []Format{FormatDetect, FormatCSV, FormatXLSX}[format%3]
		checkParse(t, content, fm, multiple)
	})
}

// FuzzParseZaloText reads arbitrary text as the pasted voter list of a Zalo poll. The
// committed corpus (testdata/fuzz/FuzzParseZaloText) holds lists as Zalo shows them, with
// Vietnamese names, counts and markers. Besides checkParse's properties: the same list
// typed in NFD, or with Windows line ends, gives the same votes.
func FuzzParseZaloText(f *testing.F) {
	f.Add("Tán thành (1)\nAn Nguyễn\n", false)
	f.Fuzz(func(t *testing.T, text string, multiple bool) {
		got, err := checkParse(t, []byte(text), FormatZaloText, multiple)
		if !utf8.ValidString(text) {
			return
		}
		for _, variant := range []string{norm.NFD.String(text), strings.ReplaceAll(text, "\n", "\r\n")} {
			if len(variant) > MaxSize {
				continue
			}
			v, verr := Parse([]byte(variant), FormatZaloText, pollOf(multiple), multiple, voters)
			if (err == nil) != (verr == nil) || !reflect.DeepEqual(got, v) {
				t.Fatalf("%q reads as %+v, %v; its variant %q as %+v, %v", text, got, err, variant, v, verr)
			}
		}
	})
}

// TestWriteFuzzSeeds rewrites the committed corpora of FuzzParseList and
// FuzzParseZaloText when BIEUQUYET_FUZZ_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("BIEUQUYET_FUZZ_SEEDS") == "" {
		t.Skip("set BIEUQUYET_FUZZ_SEEDS=1 to rewrite testdata/fuzz")
	}
	spoiled := [][]string{
		{"phone", "option", "name"},
		{"0900 000 101", "Tán thành", ""},
		{"0900 000 101", "Không tán thành", ""}, // two options of a vote
		{"0900 999 999", "Tán thành", ""},       // not a voter
		{"", "Tán thành", "Anh Tuấn"},           // ambiguous
		{"0900 000 104", "Có lẽ", ""},           // not an option
		{"=HYPERLINK(\"x\")", "Tán thành", ""},  // a formula
	}
	opinions := [][]string{{"zalo_name", "option"}, {"An Nguyễn", "Phương án A"}, {"An Nguyễn", "Phương án C"}, {"Thu Trang", "Phương án B"}}
	list := map[string]string{
		"csv":           fmt.Sprintf("[]byte(%q)\nuint(0)\nbool(false)", csvOf(t, votesTable, ',')),
		"csv-semicolon": fmt.Sprintf("[]byte(%q)\nuint(1)\nbool(false)", csvOf(t, votesTable, ';')),
		"csv-spoiled":   fmt.Sprintf("[]byte(%q)\nuint(0)\nbool(false)", csvOf(t, spoiled, ',')),
		"csv-opinion":   fmt.Sprintf("[]byte(%q)\nuint(1)\nbool(true)", csvOf(t, opinions, ',')),
		"xlsx":          fmt.Sprintf("[]byte(%q)\nuint(0)\nbool(false)", sheettest.Stored(t, votesTable)),
		"xlsx-spoiled":  fmt.Sprintf("[]byte(%q)\nuint(2)\nbool(false)", sheettest.Stored(t, spoiled)),
	}
	text := map[string]string{
		"counts": fmt.Sprintf("string(%q)\nbool(false)", lines(
			"Tán thành (4)", "An Nguyễn", "Trần Thị Bình", "Lê Anh Tuấn", "  thu   TRANG", "",
			"Không tán thành - 1", "Hương Phạm", "Không biểu quyết: 1 bình chọn", "Đặng Quốc Việt")),
		"nfd-crlf": fmt.Sprintf("string(%q)\nbool(false)", strings.ReplaceAll(norm.NFD.String(string(lines(
			"\ufeffTán thành · 2 phiếu", "1. An Nguyễn", "2. Bình Trần", "Không tán thành 0 người"))), "\n", "\r\n")),
		"spoiled": fmt.Sprintf("string(%q)\nbool(false)", lines(
			"Nguyễn Văn An", "Tán thành (3)", "Anh Tuấn", "Người Lạ", "An Nguyễn", "Không tán thành", "An Nguyễn", "Bình \xff")),
		"opinion": fmt.Sprintf("string(%q)\nbool(true)", lines(
			"Phương án A (2)", "- An Nguyễn", "- Thu Trang", "Phương án C (1)", "- An Nguyễn", "Phương án B", "• Hoàng Văn Dũng")),
	}
	for target, seeds := range map[string]map[string]string{"FuzzParseList": list, "FuzzParseZaloText": text} {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("go test fuzz v1\n"+body+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
