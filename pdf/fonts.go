package pdf

import (
	_ "embed"
	"strings"
	"sync"

	"github.com/jung-kurt/gofpdf"
	"golang.org/x/text/unicode/norm"

	bq "github.com/bieuquyet/bieuquyet"
)

// The fonts, vendored unchanged from Debian's fonts-liberation2 (fonts/README.md).
var (
	//go:embed fonts/LiberationSerif-Regular.ttf
	serifRegular []byte
	//go:embed fonts/LiberationSerif-Bold.ttf
	serifBold []byte
	//go:embed fonts/LiberationSerif-Italic.ttf
	serifItalic []byte
)

// family is the font family name documents use.
const family = "LiberationSerif"

// fontSet holds the TrueType bytes a document loads, by gofpdf style ("", "B", "I").
type fontSet struct {
	regular, bold, italic []byte
}

// fullFonts are the vendored files as they are: what a naive renderer loads.
var fullFonts = fontSet{regular: serifRegular, bold: serifBold, italic: serifItalic}

// repertoire is every character a document may contain: Latin (Basic, Latin-1,
// Extended-A and -B), the combining marks, the Vietnamese letters of Latin Extended
// Additional, and the punctuation and signs office text uses. Liberation Serif has a
// glyph for each.
var repertoire = func() string {
	var b strings.Builder
	for _, r := range repertoireRanges {
		for c := r[0]; c <= r[1]; c++ {
			b.WriteRune(c)
		}
	}
	return b.String()
}()

var repertoireRanges = [][2]rune{
	{0x20, 0x7e}, {0xa0, 0x24f}, {0x300, 0x36f}, {0x1ea0, 0x1ef9},
	{0x2010, 0x2010}, {0x2012, 0x2022}, {0x2026, 0x2026}, {0x2030, 0x2030},
	{0x2032, 0x2033}, {0x2039, 0x203a}, {0x20ab, 0x20ac}, {0x2116, 0x2116},
}

// inRepertoire reports whether a document can print r.
func inRepertoire(r rune) bool {
	for _, rg := range repertoireRanges {
		if rg[0] <= r && r <= rg[1] {
			return true
		}
	}
	return false
}

// cutFonts cuts each font down to the repertoire once per process. A document then
// parses a font of about 900 glyphs instead of 2,600 (gofpdf parses every font it is
// given, for every document, which was most of the naive renderer's time). The cut fonts
// are only read after this, so documents rendered at the same time share them.
var cutFonts = sync.OnceValue(func() fontSet {
	return fontSet{
		regular: gofpdf.UTF8CutFont(serifRegular, repertoire),
		bold:    gofpdf.UTF8CutFont(serifBold, repertoire),
		italic:  gofpdf.UTF8CutFont(serifItalic, repertoire),
	}
})

// add loads the set into a document.
func (s fontSet) add(f *gofpdf.Fpdf) {
	f.AddUTF8FontFromBytes(family, "", s.regular)
	f.AddUTF8FontFromBytes(family, "B", s.bold)
	f.AddUTF8FontFromBytes(family, "I", s.italic)
}

// printable returns s in Unicode NFC with tabs and carriage returns made plain, or an
// error naming field and the first character the fonts cannot print. gofpdf would print
// such a character as nothing at all, and a confirmation must show what it confirms.
func printable(field, s string) (string, error) {
	s = norm.NFC.String(s)
	s = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\t", " ").Replace(s)
	for _, r := range s {
		if r != '\n' && !inRepertoire(r) {
			return "", bq.Errorf(bq.CodeFailedPrecondition, "%s: the character %U %q cannot be printed in a confirmation (Latin and Vietnamese letters only)", field, r, r)
		}
	}
	return s, nil
}
