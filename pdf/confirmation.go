// Package pdf draws the documents the service issues, with gofpdf: the written
// confirmation of Điều 7.2 that each voter signs, and the tally report leaders file. It
// knows nothing of gRPC or SQL; the server reaches it through bieuquyet.DocumentRenderer.
package pdf

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jung-kurt/gofpdf"

	bq "github.com/bieuquyet/bieuquyet"
)

// The signature area: an empty rectangle of the page, in millimetres from its top left
// corner, that the document never draws into, so that signing apps which draw a visible
// stamp can be pointed at it (docs/confirmation-format.md gives it in PDF points too).
const (
	SignatureX = 120.0
	SignatureY = 237.0
	SignatureW = 60.0
	SignatureH = 25.0
)

// SignatureRect is the signature area as a PDF rectangle [llx lly urx ury] in points from
// the page's bottom left, grown by margin millimetres on every side: what a verifier
// lets a signature widget cover.
func SignatureRect(margin float64) [4]float64 {
	const pt = 72 / 25.4
	return [4]float64{(SignatureX - margin) * pt, (pageH - SignatureY - SignatureH - margin) * pt,
		(SignatureX + SignatureW + margin) * pt, (pageH - SignatureY + margin) * pt}
}

// Fixed places of the page's foot, in millimetres from the top left corner.
const (
	sigColX   = 105.0 // the signature block's column: 105 to 195, centred on the area
	sigColW   = pageW - marginR - sigColX
	sigHeadY  = 224.0 // "ĐẠI BIỂU"
	sigNameY  = SignatureY + SignatureH + 1
	qrX, qrY  = marginL, 236.0
	qrSize    = 34.0 // the code itself about 27 mm, with its quiet zone
	idX       = qrX + qrSize + 1
	idW       = sigColX - 3 - idX
	bodyLimit = sigHeadY - 4 // the body ends above the signature block
)

// bodySizes are the body's font sizes, tried in turn until the page holds it all: the
// decree's 13 pt first, then smaller for long polls, never below 10 pt.
var bodySizes = []float64{13, 12.5, 12, 11.5, 11, 10.5, 10}

// Renderer draws confirmations and tally reports. It keeps no state between documents
// beyond the fonts, which are prepared once per process and only read, so one Renderer
// serves many goroutines.
type Renderer struct {
	fonts fonts
}

// New returns a renderer with the embedded Liberation Serif fonts.
func New() *Renderer { return &Renderer{fonts: pageFonts{}} }

// Printable reports a character of s that the documents' fonts cannot print, as bad input
// of field.
func (r *Renderer) Printable(field, s string) error {
	if _, err := printable(field, s); err != nil {
		return bq.Invalid(field, "%s", strings.TrimPrefix(err.Error(), field+": "))
	}
	return nil
}

var _ bq.DocumentRenderer = (*Renderer)(nil)

// text is the paper's wording, checked printable, in NFC.
type text struct {
	council, body, place          string
	title, question, openedBy     string
	person, personTitle, voteNote string
	regulation                    string
	options                       []string
	bodyUpper, councilUpper       string
}

func readText(p *bq.ConfirmationPaper) (*text, error) {
	t := &text{}
	for _, fld := range []struct {
		dst   *string
		name  string
		value string
	}{
		{&t.council, "paper.council.name", p.Council.Name},
		{&t.place, "paper.council.place", p.Council.Place},
		{&t.body, "paper.body_name", p.BodyName},
		{&t.openedBy, "paper.opened_by", p.OpenedBy},
		{&t.title, "paper.poll.title", p.Poll.Title},
		{&t.question, "paper.poll.question", p.Poll.Question},
		{&t.person, "paper.person.full_name", p.Person.FullName},
		{&t.personTitle, "paper.person.title", p.Person.Title},
		{&t.voteNote, "paper.vote_note", p.VoteNote},
		{&t.regulation, "paper.regulation", p.RegulationText()},
	} {
		s, err := printable(fld.name, fld.value)
		if err != nil {
			return nil, err
		}
		*fld.dst = s
	}
	for i, o := range p.Poll.Options {
		s, err := printable(fmt.Sprintf("paper.poll.options[%d]", i), o)
		if err != nil {
			return nil, err
		}
		t.options = append(t.options, s)
	}
	t.councilUpper = strings.ToUpper(t.council)
	t.bodyUpper = strings.ToUpper(t.body)
	return t, nil
}

// Confirmation renders one confirmation on one A4 page. The body is set at the largest
// size from 13 pt down to 10 pt at which the page holds it; a paper too long even at 10 pt
// is refused with CodeFailedPrecondition naming what takes the room.
func (r *Renderer) Confirmation(p *bq.ConfirmationPaper) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	t, err := readText(p)
	if err != nil {
		return nil, err
	}
	// The name under the signature area has a fixed place: it must end above the bottom
	// margin, or it would run off the page.
	if n := lineCount(13, sigColW, []piece{{"B", t.person}}); sigNameY+float64(n)*lineHeight(13) > pageH-marginB {
		return nil, bq.Errorf(bq.CodeFailedPrecondition,
			"paper.person.full_name: %d characters take %d lines under the signature area of %s, which holds %d",
			len([]rune(t.person)), n, p.Name(), int((pageH-marginB-sigNameY)/lineHeight(13)))
	}
	var used layout
	for _, size := range bodySizes {
		f, err := newDoc(r.fonts, p.IssueTime)
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", p.Name(), err)
		}
		used = drawConfirmation(f, r.fonts, p, t, size)
		if used.end > bodyLimit {
			continue
		}
		if err := drawFoot(f, r.fonts, p, t); err != nil {
			return nil, err
		}
		if err := f.Error(); err != nil {
			return nil, fmt.Errorf("render %s: %w", p.Name(), err)
		}
		return output(f)
	}
	return nil, bq.Errorf(bq.CodeFailedPrecondition,
		"confirmation %s does not fit on one A4 page even at %g pt: its body needs %.0f mm of %.0f mm; the question (%d characters) takes %.0f mm, the %d options %.0f mm, the title (%d characters) %.0f mm, the names and the rest %.0f mm",
		p.Name(), bodySizes[len(bodySizes)-1], used.end-used.start, bodyLimit-used.start,
		len([]rune(t.question)), used.question, len(t.options), used.options, len([]rune(t.title)), used.title,
		used.end-used.start-used.question-used.options-used.title)
}

// layout records where the body went, to say what is too long.
type layout struct {
	start, end               float64
	title, question, options float64
}

// docTitle is the document's name as printed and in its metadata.
func docTitle(k bq.PollKind) string {
	if k == bq.KindOpinion {
		return "PHIẾU XÁC NHẬN KẾT QUẢ LẤY Ý KIẾN"
	}
	return "PHIẾU XÁC NHẬN KẾT QUẢ BIỂU QUYẾT"
}

// ruleText says when a vote passes, for the delegate to read.
func ruleText(p *bq.Poll) string {
	switch p.Rule {
	case bq.RuleMajorityOfAll:
		return fmt.Sprintf("được thông qua khi có quá nửa tổng số đại biểu tán thành (tổng số %d đại biểu, cần ít nhất %d).", p.Eligible, p.Eligible/2+1)
	case bq.RuleTwoThirdsOfAll:
		return fmt.Sprintf("được thông qua khi có từ hai phần ba tổng số đại biểu trở lên tán thành (tổng số %d đại biểu, cần ít nhất %d).", p.Eligible, (2*p.Eligible+2)/3)
	case bq.RuleMajorityOfCast:
		return "được thông qua khi có quá nửa số đại biểu tham gia biểu quyết tán thành."
	}
	return ""
}

// drawConfirmation draws the header and the body at body size size and reports where
// the body went.
func drawConfirmation(f *gofpdf.Fpdf, fs fonts, p *bq.ConfirmationPaper, t *text, size float64) layout {
	name := p.Name()
	f.SetTitle(fmt.Sprintf("%s - %s - %s", docTitle(p.Poll.Kind), t.person, t.title), true)
	f.SetSubject(name, true)
	f.SetAuthor(t.council, true)
	f.SetKeywords(fmt.Sprintf("bieuquyet %s %s %s", name, bq.PersonName(p.Person.ID), p.Payload()), true)

	y := heading(f, fs, t.councilUpper, t.bodyUpper, "Số: "+strconv.FormatInt(p.ID, 10)+"/PXN-HĐND", t.place+", "+bq.DocumentDate(p.IssueTime))

	// Title and abstract.
	y += 6
	y, _ = centered(f, fs, marginL, y, textW, "B", 14, lineHeight(14), docTitle(p.Poll.Kind))
	titleStart := y
	y, _ = centered(f, fs, marginL, y, textW, "B", 14, lineHeight(14), t.title)
	titleH := y - titleStart
	y += 4

	// Body.
	out := layout{start: y, title: titleH}
	blh := lineHeight(size)
	gap := blh * 0.3
	j := func(spans ...piece) {
		y = para(f, fs, marginL, y, textW, size, blh, alignJustify, spans...) + gap
	}
	vote := p.Poll.Kind == bq.KindVote
	j(piece{"", "Họ và tên đại biểu: "}, piece{"B", t.person})
	if t.personTitle != "" {
		j(piece{"", "Chức vụ: " + t.personTitle})
	}
	qStart := y
	if vote {
		j(piece{"", "Nội dung biểu quyết: "}, piece{"", t.question})
	} else {
		j(piece{"", "Nội dung lấy ý kiến: "}, piece{"", t.question})
	}
	out.question = y - qStart
	what := "Biểu quyết"
	if !vote {
		what = "Lấy ý kiến"
	}
	j(piece{"", fmt.Sprintf("%s do %s (%s) mở lúc %s; thời hạn đến %s.",
		what, t.openedBy, t.body, bq.DocumentTime(p.Poll.CreateTime), bq.DocumentTime(p.Poll.Deadline))})
	if vote {
		if rt := ruleText(p.Poll); rt != "" {
			j(piece{"", "Nội dung " + rt})
		}
	}
	how := "chọn một phương án"
	if p.Poll.MultipleChoice {
		how = "được chọn nhiều phương án"
	}
	j(piece{"", "Lựa chọn của đại biểu đã được ghi nhận (" + how + ", ô được đánh dấu là phương án đã chọn):"})

	oStart := y
	chosen := map[int]bool{}
	for _, o := range p.Options {
		chosen[o] = true
	}
	box := min(3.8, size*ptMM*0.85)
	const indent, colGap = 8.0, 4.0
	// Many short options go in two columns, read down the first then the second; any
	// option that would wrap in a column puts them all in one.
	cols, colW := 1, textW-indent
	if half := (textW - indent - colGap) / 2; len(t.options) > 4 {
		cols = 2
		for _, o := range t.options {
			if textWidth("B", size, o)+box+3 > half {
				cols = 1
				break
			}
		}
		if cols == 2 {
			colW = half
		}
	}
	rows := (len(t.options) + cols - 1) / cols
	for r := 0; r < rows; r++ {
		next := y
		for c := 0; c < cols; c++ {
			i := c*rows + r
			if i >= len(t.options) {
				break
			}
			x := marginL + indent + float64(c)*(colW+colGap)
			checkbox(f, x, y+(blh-box)/2, box, chosen[i])
			style := ""
			if chosen[i] {
				style = "B"
			}
			next = max(next, para(f, fs, x+box+3, y, colW-box-3, size, blh, alignLeft, piece{style, t.options[i]}))
		}
		y = next + gap*0.5
	}
	out.options = y - oStart
	y += gap

	var names []string
	for _, o := range p.Options {
		names = append(names, t.options[o])
	}
	j(piece{"", "Phương án đã chọn: "}, piece{"B", strings.Join(names, "; ")}, piece{"", "."})
	source := "qua tính năng bình chọn của nhóm Zalo"
	if p.VoteSource == bq.SourceOther {
		source = "qua kênh khác (" + t.voteNote + ")"
	}
	j(piece{"", "Thời điểm ghi nhận: " + bq.DocumentTime(p.VoteTime) + ", " + source + "."})
	result := "kết quả biểu quyết"
	if !vote {
		result = "kết quả cho ý kiến"
	}
	j(piece{"", "Tôi xác nhận lựa chọn nêu trên đúng là ý chí, " + result + " của tôi đã thể hiện qua bình chọn trên Zalo theo khoản 2 Điều 7 " + t.regulation + "."})
	j(piece{"I", "Đề nghị đại biểu ký xác nhận và gửi lại Phiếu này trước " + bq.DocumentTime(p.Deadline) + "."})
	out.end = y - gap
	return out
}

// drawFoot draws the signature block, the QR code and the confirmation's name, at fixed
// places.
func drawFoot(f *gofpdf.Fpdf, fs fonts, p *bq.ConfirmationPaper, t *text) error {
	y, _ := centered(f, fs, sigColX, sigHeadY, sigColW, "B", 13, lineHeight(13), "ĐẠI BIỂU")
	centered(f, fs, sigColX, y, sigColW, "I", 13, lineHeight(13), "(Ký, ghi rõ họ tên)")
	// The signature area between them stays empty.
	centered(f, fs, sigColX, sigNameY, sigColW, "B", 13, lineHeight(13), t.person)

	if err := drawQR(f, qrX, qrY, qrSize, p.Payload()); err != nil {
		return fmt.Errorf("qr code of %s: %w", p.Name(), err)
	}
	lh := lineHeight(8)
	y = qrY + 3
	y = para(f, fs, idX, y, idW, 8, lh, alignLeft, piece{"", "Mã phiếu:"})
	y = para(f, fs, idX, y, idW, 8, lh, alignLeft, piece{"B", p.Name()}) + 1
	y = para(f, fs, idX, y, idW, 8, lh, alignLeft, piece{"", "Danh sách đại biểu biểu quyết (SHA-256):"})
	h := p.Poll.ElectorateHash
	for len(h) > 0 {
		n := min(len(h), 16)
		y = para(f, fs, idX, y, idW, 8, lh, alignLeft, piece{"", h[:n]})
		h = h[n:]
	}
	return nil
}
