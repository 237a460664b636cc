package pdf

import (
	"bytes"
	"strings"
	"time"

	"github.com/jung-kurt/gofpdf"
	"rsc.io/qr"

	bq "github.com/bieuquyet/bieuquyet"
)

// Page geometry in millimetres from the top left corner of an A4 page. The margins are
// those of Nghị định 30/2020/NĐ-CP (left 30-35, right 15-20, top and bottom 20-25).
const (
	pageW, pageH = 210.0, 297.0
	marginL      = 30.0
	marginR      = 15.0
	marginT      = 20.0
	marginB      = 20.0
	textW        = pageW - marginL - marginR
	ptMM         = 25.4 / 72 // one point in millimetres
)

// producer names the program in the PDF's Info; the library's own default names its
// version in a way that says nothing to a reader.
const producer = "bieuquyet (gofpdf 1.16.2)"

// newDoc starts a one-page A4 document dated t, with the fonts loaded.
func newDoc(fs fonts, t time.Time) (*gofpdf.Fpdf, error) {
	f := gofpdf.New("P", "mm", "A4", "")
	// gofpdf writes its fonts from a map: sorting makes the object order, and so the
	// bytes, the same on every run.
	f.SetCatalogSort(true)
	f.SetAutoPageBreak(false, 0)
	f.SetMargins(marginL, marginT, marginR)
	f.SetCellMargin(0)
	t = t.In(bq.CouncilZone)
	f.SetCreationDate(t)
	f.SetModificationDate(t)
	f.SetProducer(producer, true)
	f.SetCreator("bieuquyet", true)
	if err := fs.add(f); err != nil {
		return nil, err
	}
	f.AddPage()
	f.SetTextColor(0, 0, 0)
	f.SetDrawColor(0, 0, 0)
	return f, nil
}

// output finishes the document.
func output(f *gofpdf.Fpdf) ([]byte, error) {
	var b bytes.Buffer
	if err := f.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// lineHeight is the height of one line of text of size pt: single spacing, as the
// decree allows, with a little lead.
func lineHeight(size float64) float64 { return size * ptMM * 1.22 }

// piece is a run of text in one style ("", "B", "I").
type piece struct {
	style, text string
}

// word is what a line never breaks: a run of non-space characters, possibly in more
// than one style ("An" in bold followed by a regular ".").
type word struct {
	pieces []piece
	w      float64
	br     bool // a line break comes before this word
}

// words splits styled text into words; "\n" breaks the line.
func words(size float64, spans []piece) []word {
	var out []word
	var cur *word
	br := false
	flush := func() { cur = nil }
	for _, sp := range spans {
		start := -1
		emit := func(end int, s string) {
			if start < 0 {
				return
			}
			t := s[start:end]
			if cur == nil {
				out = append(out, word{br: br})
				cur = &out[len(out)-1]
				br = false
			}
			cur.pieces = append(cur.pieces, piece{sp.style, t})
			cur.w += textWidth(sp.style, size, t)
			start = -1
		}
		for i, r := range sp.text {
			switch r {
			case ' ', '\n':
				emit(i, sp.text)
				flush()
				if r == '\n' {
					br = true
				}
			default:
				if start < 0 {
					start = i
				}
			}
		}
		emit(len(sp.text), sp.text)
	}
	return out
}

// breakLong cuts words wider than w into pieces that fit, so nothing runs past the
// margin: a long unbroken string is wrapped, never clipped.
func breakLong(size, w float64, ws []word) []word {
	var out []word
	for _, wd := range ws {
		if wd.w <= w {
			out = append(out, wd)
			continue
		}
		cur := word{br: wd.br}
		for _, p := range wd.pieces {
			var run strings.Builder
			for _, r := range p.text {
				rw := textWidth(p.style, size, string(r))
				if cur.w+rw > w && (cur.w > 0 || run.Len() > 0) {
					if run.Len() > 0 {
						cur.pieces = append(cur.pieces, piece{p.style, run.String()})
						run.Reset()
					}
					out = append(out, cur)
					cur = word{}
				}
				run.WriteRune(r)
				cur.w += rw
			}
			if run.Len() > 0 {
				cur.pieces = append(cur.pieces, piece{p.style, run.String()})
			}
		}
		out = append(out, cur)
	}
	return out
}

// fill takes words from ws[i] onto a line of width w and returns the index after the
// line's last word and the line's width.
func fill(ws []word, i int, w, space float64) (int, float64) {
	j, lw := i+1, ws[i].w
	for j < len(ws) && !ws[j].br && lw+space+ws[j].w <= w {
		lw += space + ws[j].w
		j++
	}
	return j, lw
}

// align is how a paragraph's lines sit between its margins.
type align int

const (
	alignLeft align = iota
	alignCenter
	alignJustify
)

// para draws styled text wrapped to w from (x, y), line height lh, and returns the y below
// it. A justified paragraph's last line, and any line before a break, is left aligned.
func para(f *gofpdf.Fpdf, fs fonts, x, y, w, size, lh float64, a align, spans ...piece) float64 {
	ws := breakLong(size, w, words(size, spans))
	space := textWidth("", size, " ")
	em := size * ptMM
	for i := 0; i < len(ws); {
		j, lw := fill(ws, i, w, space)
		gap, left := space, x
		last := j == len(ws) || ws[j].br
		switch {
		case a == alignCenter:
			left = x + (w-lw)/2
		case a == alignJustify && !last && j-i > 1:
			gap = space + (w-lw)/float64(j-i-1)
		}
		base := y + (lh-em)/2 + 0.8*em
		cx := left
		for k := i; k < j; k++ {
			for _, p := range ws[k].pieces {
				fs.draw(f, p.style, size, cx, base, p.text)
				cx += textWidth(p.style, size, p.text)
			}
			cx += gap
		}
		y += lh
		i = j
	}
	return y
}

// centered draws text centred in [x, x+w], wrapped, and returns the y below it and the
// width of its widest line. Text of two lines is broken where the lines come out most
// even ("HỘI ĐỒNG NHÂN DÂN / TỈNH BÌNH DƯƠNG"), as a typist would break a heading.
func centered(f *gofpdf.Fpdf, fs fonts, x, y, w float64, style string, size, lh float64, text string) (float64, float64) {
	ws := breakLong(size, w, words(size, []piece{{style, text}}))
	space := textWidth("", size, " ")
	var lines [][2]int
	widest := 0.0
	for i := 0; i < len(ws); {
		j, lw := fill(ws, i, w, space)
		lines = append(lines, [2]int{i, j})
		widest = max(widest, lw)
		i = j
	}
	if len(lines) == 2 && !ws[lines[1][0]].br {
		n := len(ws)
		best, at := widest, lines[1][0]
		for k := 1; k < n; k++ {
			a, b := span(ws[:k], space), span(ws[k:], space)
			if m := max(a, b); m < best && a <= w && b <= w {
				best, at = m, k
			}
		}
		ws[at].br = true
		widest = best
	}
	var spans []piece
	for i, wd := range ws {
		if i > 0 {
			sep := " "
			if wd.br {
				sep = "\n"
			}
			spans = append(spans, piece{style, sep})
		}
		spans = append(spans, wd.pieces...)
	}
	return para(f, fs, x, y, w, size, lh, alignCenter, spans...), widest
}

// span is the width of words set on one line.
func span(ws []word, space float64) float64 {
	w := 0.0
	for _, wd := range ws {
		w += wd.w
	}
	return w + space*float64(len(ws)-1)
}

// heading draws the head of an administrative document (Nghị định 30/2020/NĐ-CP, Phụ lục
// I): the issuing body on the left (the council, then the group in bold with a short rule
// under it), the national motto on the right, underlined as long as itself, each centred in
// its column; then the number line on the left and the place and date in italics on the
// right. It returns the y below them.
func heading(f *gofpdf.Fpdf, fs fonts, councilUpper, bodyUpper, number, placeDate string) float64 {
	lh := lineHeight(12.5)
	y := marginT
	y, _ = centered(f, fs, headLeftX, y, headLeftW, "", 12.5, lh, councilUpper)
	y, wide := centered(f, fs, headLeftX, y, headLeftW, "B", 12.5, lh, bodyUpper)
	// A rule under the body's name, a third to a half of its line, centred.
	rule := wide * 0.4
	f.SetLineWidth(0.3)
	f.Line(headLeftX+(headLeftW-rule)/2, y+1, headLeftX+(headLeftW+rule)/2, y+1)
	leftEnd := y + 3

	ry := marginT
	ry, _ = centered(f, fs, headRightX, ry, headRightW, "B", 12.5, lh, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
	ry, motto := centered(f, fs, headRightX, ry, headRightW, "B", 13.5, lineHeight(13.5), "Độc lập - Tự do - Hạnh phúc")
	f.Line(headRightX+(headRightW-motto)/2, ry+0.6, headRightX+(headRightW+motto)/2, ry+0.6)
	rightEnd := ry + 3

	y = max(leftEnd, rightEnd) + 1
	centered(f, fs, headLeftX, y, headLeftW, "", 13, lineHeight(13), number)
	y, _ = centered(f, fs, headRightX, y, headRightW, "I", 13, lineHeight(13), placeDate)
	return y
}

// The heading's two columns.
const (
	headLeftX, headLeftW   = 22.0, 80.0
	headRightX, headRightW = 100.0, pageW - marginR - 100.0
)

// checkbox draws an empty square box of side s at (x, y), ticked when on. The tick is
// drawn, not typed: it must not depend on a glyph the font may lack.
func checkbox(f *gofpdf.Fpdf, x, y, s float64, on bool) {
	f.SetLineWidth(0.3)
	f.Rect(x, y, s, s, "D")
	if !on {
		return
	}
	f.SetLineWidth(0.55)
	f.SetLineCapStyle("round")
	f.SetLineJoinStyle("round")
	f.MoveTo(x+0.2*s, y+0.52*s)
	f.LineTo(x+0.42*s, y+0.78*s)
	f.LineTo(x+0.85*s, y+0.2*s)
	f.DrawPath("D")
	f.SetLineCapStyle("butt")
	f.SetLineJoinStyle("miter")
}

// drawQR draws text as a QR code (level M) of side size including its quiet zone, in
// vector squares: it prints sharp at any resolution and adds no image to the file.
func drawQR(f *gofpdf.Fpdf, x, y, size float64, text string) error {
	c, err := qr.Encode(text, qr.M)
	if err != nil {
		return err
	}
	const quiet = 4 // modules of white around the code, as the standard asks
	m := size / float64(c.Size+2*quiet)
	f.SetFillColor(0, 0, 0)
	for row := 0; row < c.Size; row++ {
		for col := 0; col < c.Size; {
			if !c.Black(col, row) {
				col++
				continue
			}
			end := col
			for end < c.Size && c.Black(end, row) {
				end++
			}
			f.Rect(x+float64(quiet+col)*m, y+float64(quiet+row)*m, float64(end-col)*m, m, "F")
			col = end
		}
	}
	return nil
}
