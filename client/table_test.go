package client

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// TestTableAlignsByDisplayWidth checks that columns line up on a terminal: Vietnamese
// names, precomposed or decomposed, take as many columns as letters, however many bytes
// and runes they are.
func TestTableAlignsByDisplayWidth(t *testing.T) {
	nfd := norm.NFD.String("Nguyễn Văn Ân")
	if utf8.RuneCountInString(nfd) == utf8.RuneCountInString("Nguyễn Văn Ân") {
		t.Fatal("the NFD fixture is not decomposed")
	}
	tb := newTable("NAME", "PHONE", "NOTE")
	tb.add("Nguyễn Văn Ân", "|+84912000001", "a")
	tb.add("Tran Van An", "|+84912000002", "")
	tb.add(nfd, "|+84912000003", "c")
	tb.add("Đặng Thị Bích Ngọc", "|+84912000004", "d")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("got %d lines, want 5:\n%s", len(lines), b.String())
	}
	// The second column starts two columns after the widest name, "Đặng Thị Bích Ngọc"
	// (18 letters); the header has no marker, so it is checked by its text.
	const want = 18 + 2
	if got := lines[0]; !strings.HasPrefix(got, "NAME"+strings.Repeat(" ", want-4)+"PHONE") {
		t.Errorf("header = %q, want PHONE at column %d", got, want)
	}
	for _, line := range lines[1:] {
		i := strings.IndexByte(line, '|')
		if got := cellWidth.StringWidth(line[:i]); got != want {
			t.Errorf("%q: the second column starts at display column %d, want %d", line, got, want)
		}
	}
	// The last column is not padded: no line ends in spaces, even with an empty last cell.
	for _, line := range lines {
		if strings.HasSuffix(line, " ") {
			t.Errorf("%q ends in spaces", line)
		}
	}
	// Measured in runes, the NFD line would be misaligned: the test would catch that.
	if utf8.RuneCountInString(lines[3][:strings.IndexByte(lines[3], '|')]) == want {
		t.Error("the NFD row aligns by runes too; the fixture proves nothing")
	}
}

func TestTableCellsStayOnOneLine(t *testing.T) {
	tb := newTable("A", "B")
	tb.add("x\ny", "z\tw")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "A    B\nx y  z w\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Văn Ân":          "Nguyễn Văn Ân",
		norm.NFD.String("Ân"):    norm.NFD.String("Ân"), // combining marks are letters' accents
		"abc\u202edef":           `abc\u202edef`,
		"zero\u200bwidth\ufeff":  `zero\u200bwidth\ufeff`,
		"\x1b[2Jclear":           `\x1b[2Jclear`,
		"del\x7f c1\u0085":       `del\x7f c1\u0085`,
		"line\u2028para\u2029":   `line\u2028para\u2029`,
		"tag\U000e0041":          `tag\U000e0041`,
		"bad\xffbyte":            `bad\xffbyte`,
		"nbsp\u00a0and emoji 🗳️": "nbsp\u00a0and emoji 🗳️",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
	tb := newTable("A", "B")
	tb.add("x\u202e", "y")
	var b strings.Builder
	if err := tb.write(&b); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "A        B\n"+`x\u202e`+"  y\n"; got != want {
		t.Errorf("table with U+202E = %q, want %q", got, want)
	}
}

func TestJSONEscapeInvisible(t *testing.T) {
	in := "{\n  \"name\": \"Nguyễn\u202eVăn\u2028\u200b\U000e0041 \\\"q\\\"\"\n}"
	out := jsonEscapeInvisible([]byte(in))
	for _, r := range string(out) {
		if r >= 0x80 && invisible(r) {
			t.Errorf("%q is left raw in %s", r, out)
		}
	}
	if !strings.Contains(string(out), `\u202e`) || !strings.Contains(string(out), `\udb40\udc41`) || !strings.Contains(string(out), "\n  ") {
		t.Errorf("jsonEscapeInvisible = %s", out)
	}
	var before, after map[string]string
	if err := json.Unmarshal([]byte(in), &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if before["name"] != after["name"] {
		t.Errorf("the escaped document reads %q, want %q", after["name"], before["name"])
	}
	if plain := []byte(`{"a": "Tán thành"}`); &jsonEscapeInvisible(plain)[0] != &plain[0] {
		t.Error("a document with nothing to escape is copied")
	}
}
