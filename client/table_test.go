package client

import (
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
