package pdf

import (
	"bytes"
	"compress/zlib"
	_ "embed"
	"encoding/json"
	"fmt"
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

// styles are gofpdf's style letters for the three faces, and their files.
var styles = []struct {
	style, name string
	ttf         []byte
}{
	{"", "LiberationSerif", serifRegular},
	{"B", "LiberationSerif-Bold", serifBold},
	{"I", "LiberationSerif-Italic", serifItalic},
}

// repertoire is every character a document prints besides printable ASCII: Latin-1,
// the Vietnamese letters (Ă Đ Ĩ Ũ Ơ Ư and Latin Extended Additional) and the
// punctuation office text uses. Liberation Serif has a glyph for each.
var repertoire = func() []rune {
	var rs []rune
	add := func(lo, hi rune) {
		for r := lo; r <= hi; r++ {
			rs = append(rs, r)
		}
	}
	// Vietnamese first, so the common letters share the first code page.
	add(0x1ea0, 0x1ef9)
	rs = append(rs, 'Ă', 'ă', 'Đ', 'đ', 'Ĩ', 'ĩ', 'Ũ', 'ũ', 'Ơ', 'ơ', 'Ư', 'ư')
	add(0xa0, 0xff)
	rs = append(rs, '‘', '’', '“', '”', '–', '—', '…', '•', '€', '₫', '№', '‰')
	return rs
}()

// inRepertoire reports whether a document can print r.
func inRepertoire(r rune) bool {
	if r >= 0x20 && r < 0x7f {
		return true
	}
	_, ok := codes[r]
	return ok
}

// Why code pages. gofpdf's Unicode fonts cost a document tens of milliseconds: each one
// parses the TrueType file, hashes its 65,536-entry width table through encoding/json,
// and subsets and compresses the font again when the document is written, for every
// document. A simple TrueType font costs nothing of this: its widths, descriptor and
// compressed file are prepared once per process and copied into each document. A simple
// font has one byte per character, so the repertoire is split into code pages: each
// holds printable ASCII at its own codes and up to 129 other characters at 127-255,
// named in the font's /Differences by their "uniXXXX" glyph names, which is how readers
// and pdftotext map them back to Unicode. All pages of a face share one embedded file.

// page is where a character lives: its code page and its byte in it.
type page struct {
	n    int
	code byte
}

const firstCode = 127 // codes 127-255 carry the non-ASCII characters of a page

var codes = func() map[rune]page {
	m := map[rune]page{}
	for i, r := range repertoire {
		m[r] = page{i / (256 - firstCode), byte(firstCode + i%(256-firstCode))}
	}
	return m
}()

var pages = (len(repertoire) + 255 - firstCode) / (256 - firstCode)

// pageFamily is the gofpdf family of a code page.
func pageFamily(n int) string { return fmt.Sprintf("bq%d", n) }

// face is one style's prepared font: the definition of each code page in gofpdf's JSON
// form, the compressed font file, and the widths of every character in 1/1000 em.
type face struct {
	defs   [][]byte
	file   []byte
	widths map[rune]int
}

// faces is prepared once per process and only read after, so documents rendered at the
// same time share it.
var faces = sync.OnceValues(func() (map[string]*face, error) {
	cutset := make([]rune, 0, 95+len(repertoire))
	for r := rune(0x20); r < 0x7f; r++ {
		cutset = append(cutset, r)
	}
	cutset = append(cutset, repertoire...)
	out := map[string]*face{}
	for _, st := range styles {
		fc, err := prepare(st.style, st.name, st.ttf, cutset)
		if err != nil {
			return nil, fmt.Errorf("prepare %s: %w", st.name, err)
		}
		out[st.style] = fc
	}
	return out, nil
})

// fontDef is the JSON font definition gofpdf's AddFontFromBytes reads.
type fontDef struct {
	Tp           string
	Name         string
	Desc         gofpdf.FontDescType
	Up, Ut       int
	Cw           []int
	Enc          string
	Diff         string
	File         string
	OriginalSize int
}

func prepare(style, name string, ttf []byte, cutset []rune) (*face, error) {
	// The cut font keeps only the repertoire's glyphs and a Unicode cmap for them.
	cut := gofpdf.UTF8CutFont(ttf, string(cutset))
	var z bytes.Buffer
	w, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	w.Write(cut)
	w.Close()

	// Read the metrics through gofpdf's own parser.
	f := gofpdf.New("P", "mm", "A4", "")
	f.AddUTF8FontFromBytes("m", style, cut)
	f.SetFont("m", style, 10)
	desc := f.GetFontDesc("m", style)
	fc := &face{file: z.Bytes(), widths: map[rune]int{}}
	for _, r := range cutset {
		fc.widths[r] = f.GetStringSymbolWidth(string(r))
	}
	if err := f.Error(); err != nil {
		return nil, err
	}
	// Simple fonts drawn through an encoding are "nonsymbolic" (flag 6); serif (2) and
	// italic (7) as the face is.
	desc.Flags = 1<<5 | 1<<1
	if desc.ItalicAngle != 0 {
		desc.Flags |= 1 << 6
	}
	for n := 0; n < pages; n++ {
		cw := make([]int, 256)
		var diff strings.Builder
		for c := 0x20; c < 0x7f; c++ {
			cw[c] = fc.widths[rune(c)]
		}
		for _, r := range repertoire {
			if p := codes[r]; p.n == n {
				cw[p.code] = fc.widths[r]
				fmt.Fprintf(&diff, "%d /uni%04X ", p.code, r)
			}
		}
		def, err := json.Marshal(fontDef{
			Tp: "TrueType", Name: name, Desc: desc, Up: -109, Ut: 49, Cw: cw,
			Enc: "bq", Diff: strings.TrimSpace(diff.String()),
			// The same file for every page of the face: gofpdf embeds it once.
			File: name + ".z", OriginalSize: len(cut),
		})
		if err != nil {
			return nil, err
		}
		fc.defs = append(fc.defs, def)
	}
	return fc, nil
}

// fonts is how a document gets its fonts and draws text with them.
type fonts interface {
	add(f *gofpdf.Fpdf) error
	// draw prints s (in the repertoire) at baseline (x, y).
	draw(f *gofpdf.Fpdf, style string, size, x, y float64, s string)
}

// pageFonts are the prepared simple fonts.
type pageFonts struct{}

func (pageFonts) add(f *gofpdf.Fpdf) error {
	fs, err := faces()
	if err != nil {
		return err
	}
	for _, st := range styles {
		fc := fs[st.style]
		for n, def := range fc.defs {
			f.AddFontFromBytes(pageFamily(n), st.style, def, fc.file)
		}
	}
	return nil
}

func (pageFonts) draw(f *gofpdf.Fpdf, style string, size, x, y float64, s string) {
	cur := -1
	var run []byte
	flush := func() {
		if len(run) == 0 {
			return
		}
		f.SetFont(pageFamily(cur), style, size)
		f.Text(x, y, string(run))
		x += f.GetStringWidth(string(run))
		run = run[:0]
	}
	for _, r := range s {
		n, code := max(cur, 0), byte(r)
		if r >= 0x7f {
			p := codes[r]
			n, code = p.n, p.code
		}
		if cur < 0 {
			cur = n
		}
		if n != cur {
			flush()
			cur = n
		}
		run = append(run, code)
	}
	flush()
}

// unicodeFonts load the full TrueType files as gofpdf's Unicode fonts, parsed anew for
// every document: the naive baseline the benchmark measures against.
type unicodeFonts struct{}

func (unicodeFonts) add(f *gofpdf.Fpdf) error {
	for _, st := range styles {
		f.AddUTF8FontFromBytes("LiberationSerif", st.style, st.ttf)
	}
	return nil
}

func (unicodeFonts) draw(f *gofpdf.Fpdf, style string, size, x, y float64, s string) {
	f.SetFont("LiberationSerif", style, size)
	f.Text(x, y, s)
}

// textWidth is the width of s in millimetres, from the prepared metrics (the same for
// both kinds of font: they are the same faces).
func textWidth(style string, size float64, s string) float64 {
	fs, err := faces()
	if err != nil {
		return 0
	}
	w := fs[style].widths
	n := 0
	for _, r := range s {
		n += w[r]
	}
	return float64(n) * size * ptMM / 1000
}

// printable returns s in Unicode NFC with tabs and carriage returns made plain, or an
// error naming field and the first character the fonts cannot print. A confirmation must
// show what it confirms, so nothing is dropped or replaced silently.
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
