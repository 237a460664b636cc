package pdf

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jung-kurt/gofpdf"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	bq "github.com/bieuquyet/bieuquyet"
)

// The tally report's page: the body runs down to reportBottom; the foot, below a rule,
// carries the page number, the audit head and the print time on every page.
const (
	reportBottom = pageH - marginB - 1
	footRuleY    = pageH - marginB + 1
	footY        = footRuleY + 1
	reportSize   = 13 // body text, as the decree's
	tableSize    = 12
	footSize     = 9
	cellPadX     = 1.5
	cellPadY     = 0.8
)

// The bar chart's columns: the option's text, then a frame as wide as the whole
// electorate with the bar inside it, then the count.
const (
	chartLabelW = 52.0
	chartBarX   = marginL + chartLabelW + 3
	chartBarW   = 82.0
	chartBarH   = 5.0
	chartCountX = chartBarX + chartBarW + 3
)

// statusWords are the confirmation statuses as the report prints them.
var statusWords = map[bq.ConfirmationStatus]string{
	bq.StatusAwaitingSignature: "Chờ ký",
	bq.StatusSigned:            "Đã ký",
	bq.StatusMismatch:          "Không khớp",
	bq.StatusRejected:          "Bị từ chối",
	bq.StatusDeclined:          "Từ chối ký",
	bq.StatusOverdue:           "Quá hạn",
}

// noStatus stands for a voter without a confirmation.
const noStatus = "—"

// deactivatedMark follows the name of a delegate deactivated after the poll opened.
const deactivatedMark = " (không còn hoạt động)"

// reportTitle is the report's name as printed and in its metadata.
func reportTitle(k bq.PollKind) string {
	if k == bq.KindOpinion {
		return "BÁO CÁO KẾT QUẢ LẤY Ý KIẾN"
	}
	return "BÁO CÁO KẾT QUẢ BIỂU QUYẾT"
}

// outcomeText is the outcome sentence exactly as the CLI writes it (client/polls.go,
// outcomeWords), so that leaders read the same words on paper and on screen. An opinion
// poll has none.
func outcomeText(t *bq.Tally) string {
	p := t.Poll
	inFavour := 0
	if len(t.Counts) > 0 {
		inFavour = t.Counts[bq.OptionInFavour]
	}
	of := fmt.Sprintf("%d/%d", inFavour, p.Eligible)
	if p.Rule == bq.RuleMajorityOfCast {
		of = fmt.Sprintf("%d/%d phiếu", inFavour, t.Voted)
	}
	switch t.Outcome {
	case bq.OutcomePassed:
		return fmt.Sprintf("Thông qua: %s tán thành, cần %d", of, t.Required)
	case bq.OutcomeFailed:
		return fmt.Sprintf("Không thông qua: %s tán thành, cần %d", of, t.Required)
	case bq.OutcomePending:
		return fmt.Sprintf("Đang biểu quyết: %s tán thành, cần %d để thông qua", of, t.Required)
	}
	if p.State == bq.StateCancelled {
		return "Đã hủy"
	}
	return ""
}

// confirmedText says what was confirmed in writing (Điều 7.2) beside the recorded count:
// the confirmed tally, its outcome under the same rule and whether it is official.
func confirmedText(r *bq.Reconciliation) [][]piece {
	p := r.Poll
	c := r.Confirmed
	head := fmt.Sprintf("Xác nhận bằng văn bản: %d/%d đại biểu đã xác nhận", c.Confirmed, p.Eligible)
	var counts []string
	for i, o := range p.Options {
		counts = append(counts, fmt.Sprintf("%s %d", o, c.Counts[i]))
	}
	head += " (" + strings.Join(counts, "; ") + ")."
	lines := [][]piece{{{"", head}}}
	switch c.Outcome {
	case bq.OutcomePassed:
		lines = append(lines, []piece{{"", "Kết quả theo xác nhận: "}, {"B", fmt.Sprintf("Thông qua: %d/%d tán thành, cần %d", c.Counts[bq.OptionInFavour], p.Eligible, c.Required)}})
	case bq.OutcomeFailed:
		lines = append(lines, []piece{{"", "Kết quả theo xác nhận: "}, {"B", fmt.Sprintf("Không thông qua: %d/%d tán thành, cần %d", c.Counts[bq.OptionInFavour], p.Eligible, c.Required)}})
	}
	if r.Official {
		lines = append(lines, []piece{{"B", "Đây là kết quả chính thức."}})
	} else if !p.ConfirmationDeadline.IsZero() {
		lines = append(lines, []piece{{"I", "Chưa phải kết quả chính thức: đang chờ xác nhận bằng văn bản đến " + bq.DocumentTime(p.ConfirmationDeadline) + "."}})
	}
	return lines
}

// reportRule says the vote's rule in words; an opinion poll has none.
func reportRule(t *bq.Tally) string {
	p := t.Poll
	switch p.Rule {
	case bq.RuleMajorityOfAll:
		return fmt.Sprintf("quá nửa tổng số đại biểu tán thành (cần ít nhất %d/%d đại biểu).", t.Required, p.Eligible)
	case bq.RuleTwoThirdsOfAll:
		return fmt.Sprintf("từ hai phần ba tổng số đại biểu trở lên tán thành (cần ít nhất %d/%d đại biểu).", t.Required, p.Eligible)
	case bq.RuleMajorityOfCast:
		return fmt.Sprintf("quá nửa số đại biểu tham gia biểu quyết tán thành (%d đại biểu đã biểu quyết, cần ít nhất %d).", t.Voted, t.Required)
	}
	return ""
}

// stateText says where the poll is.
func stateText(p *bq.Poll) string {
	switch p.State {
	case bq.StateOpen:
		if p.Kind == bq.KindOpinion {
			return "Đang lấy ý kiến"
		}
		return "Đang biểu quyết"
	case bq.StateClosed:
		return "Đã kết thúc"
	case bq.StateConfirming:
		return "Đã kết thúc, đang xác nhận bằng văn bản"
	case bq.StateFinalized:
		return "Đã hoàn tất"
	case bq.StateCancelled:
		return "Đã hủy"
	}
	return string(p.State)
}

// percent writes n of total as a Vietnamese percentage with one decimal: "55,6%".
func percent(n, total int) string {
	if total <= 0 {
		return ""
	}
	s := strconv.FormatFloat(float64(n)*100/float64(total), 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	return strings.Replace(s, ".", ",", 1) + "%"
}

// reportRow is one delegate of a list.
type reportRow struct {
	id      int64
	name    string // printable, with the deactivated mark
	choices []string
	status  string
}

// reportText is the report's wording, checked printable, in NFC.
type reportText struct {
	council, body, place, openedBy string
	title, question, cancelReason  string
	options                        []string
	voted, missing                 []reportRow
}

func readReport(r *bq.TallyReport) (*reportText, error) {
	p := r.Tally.Poll
	t := &reportText{}
	for _, fld := range []struct {
		dst         *string
		name, value string
	}{
		{&t.council, "report.council.name", r.Council.Name},
		{&t.place, "report.council.place", r.Council.Place},
		{&t.body, "report.body_name", r.BodyName},
		{&t.openedBy, "report.opened_by", r.OpenedBy},
		{&t.title, "report.tally.poll.title", p.Title},
		{&t.question, "report.tally.poll.question", p.Question},
		{&t.cancelReason, "report.tally.poll.cancel_reason", p.CancelReason},
	} {
		s, err := printable(fld.name, fld.value)
		if err != nil {
			return nil, err
		}
		*fld.dst = s
	}
	for i, o := range p.Options {
		s, err := printable(fmt.Sprintf("report.tally.poll.options[%d]", i), o)
		if err != nil {
			return nil, err
		}
		t.options = append(t.options, s)
	}
	name := func(v bq.Voter) (string, error) {
		s, err := printable("report.tally: the name of "+bq.PersonName(v.PersonID), v.FullName)
		if v.Deactivated {
			s += deactivatedMark
		}
		return s, err
	}
	byID := map[int64]*reportRow{}
	for o, vs := range r.Tally.Choices {
		for _, v := range vs {
			row := byID[v.PersonID]
			if row == nil {
				s, err := name(v)
				if err != nil {
					return nil, err
				}
				status := noStatus
				if st, ok := r.Confirmations[v.PersonID]; ok {
					status = statusWords[st]
				}
				row = &reportRow{id: v.PersonID, name: s, status: status}
				byID[v.PersonID] = row
			}
			row.choices = append(row.choices, t.options[o])
		}
	}
	for _, row := range byID {
		t.voted = append(t.voted, *row)
	}
	for _, v := range r.Tally.Missing {
		s, err := name(v)
		if err != nil {
			return nil, err
		}
		t.missing = append(t.missing, reportRow{id: v.PersonID, name: s})
	}
	sortRows(t.voted)
	sortRows(t.missing)
	return t, nil
}

// sortRows sorts delegates by their full names in Vietnamese collation (a ă â b c d đ e ê
// …, tones after the letters), then by person id so that namesakes keep one order. A
// collator is not safe for concurrent use, so each call makes its own.
func sortRows(rows []reportRow) {
	c := collate.New(language.Vietnamese)
	slices.SortFunc(rows, func(a, b reportRow) int {
		if n := c.CompareString(a.name, b.name); n != 0 {
			return n
		}
		return cmp.Compare(a.id, b.id)
	})
}

// reportWriter draws the report down its pages, starting a new page when what comes
// next does not fit.
type reportWriter struct {
	f      *gofpdf.Fpdf
	fs     fonts
	t      *reportText
	kind   bq.PollKind
	y      float64
	header func() // redraws a table's header row at the top of a new page; nil outside a table
}

// need starts a new page unless h millimetres fit below y.
func (w *reportWriter) need(h float64) {
	if w.y+h <= reportBottom {
		return
	}
	w.f.AddPage()
	// A page after the first says what it continues, so a loose sheet is still known.
	w.y = para(w.f, w.fs, marginL, marginT, textW, 10, lineHeight(10), alignLeft,
		piece{"I", reportTitle(w.kind) + ": " + w.t.title + " (tiếp theo)"}) + 2
	if w.header != nil {
		w.header()
	}
}

// para draws a paragraph of the body, on a new page if it does not fit on this one.
func (w *reportWriter) para(size float64, a align, spans ...piece) {
	lh := lineHeight(size)
	w.need(float64(lineCount(size, textW, spans)) * lh)
	w.y = para(w.f, w.fs, marginL, w.y, textW, size, lh, a, spans...) + lh*0.3
}

// lineCount is how many lines para sets spans in at width w.
func lineCount(size, w float64, spans []piece) int {
	ws := breakLong(size, w, words(size, spans))
	space := textWidth("", size, " ")
	n := 0
	for i := 0; i < len(ws); n++ {
		i, _ = fill(ws, i, w, space)
	}
	return max(n, 1)
}

// column is a table's column.
type column struct {
	title string
	w     float64
	a     align
}

// table draws a section: its title, then rows under a header row that is repeated at the
// top of every page the table runs onto. The title, the header row and the first row stay
// together; a row is never split across pages, and one too tall for a whole page is
// refused rather than clipped. The last row keeps keep millimetres below it on its page,
// so that what follows (the signature) never stands alone on a page.
func (w *reportWriter) table(title string, cols []column, rows [][]string, keep float64) error {
	lh := lineHeight(tableSize)
	height := func(cells []string, style string) float64 {
		n := 1
		for i, c := range cols {
			n = max(n, lineCount(tableSize, c.w-2*cellPadX, []piece{{style, cells[i]}}))
		}
		return float64(n)*lh + 2*cellPadY
	}
	draw := func(cells []string, style string, shade bool) {
		h := height(cells, style)
		x := marginL
		w.f.SetLineWidth(0.2)
		for i, c := range cols {
			mode := "D"
			if shade {
				w.f.SetFillColor(225, 225, 225)
				mode = "FD"
			}
			w.f.Rect(x, w.y, c.w, h, mode)
			para(w.f, w.fs, x+cellPadX, w.y+cellPadY, c.w-2*cellPadX, tableSize, lh, c.a, piece{style, cells[i]})
			x += c.w
		}
		w.y += h
	}
	titles := make([]string, len(cols))
	for i, c := range cols {
		titles[i] = c.title
	}
	headH := height(titles, "B")
	header := func() { draw(titles, "B", true) }
	first := float64(lineCount(reportSize, textW, []piece{{"B", title}}))*lineHeight(reportSize) + headH
	if len(rows) > 0 {
		first += height(rows[0], "")
	}
	if len(rows) == 1 {
		first += keep
	}
	w.need(first)
	w.para(reportSize, alignLeft, piece{"B", title})
	header()
	w.header = header
	defer func() { w.header = nil }()
	for i, row := range rows {
		h := height(row, "")
		if h > reportBottom-marginT-headH-keep-15 {
			return bq.Errorf(bq.CodeFailedPrecondition, "a row of the tally report needs %.0f mm, more than a page holds: %.60q…", h, strings.Join(row, " | "))
		}
		if i == len(rows)-1 {
			w.need(h + keep)
		} else {
			w.need(h)
		}
		draw(row, "", false)
	}
	return nil
}

// Report renders a poll's tally report on as many A4 pages as it needs, each with its
// number, the audit head and the print time at its foot.
func (r *Renderer) Report(rep *bq.TallyReport) ([]byte, error) {
	if err := rep.Validate(); err != nil {
		return nil, err
	}
	t, err := readReport(rep)
	if err != nil {
		return nil, err
	}
	tl := rep.Tally
	p := tl.Poll
	name := bq.PollName(p.ID)
	f, err := newDoc(r.fonts, rep.PrintTime)
	if err != nil {
		return nil, fmt.Errorf("render report of %s: %w", name, err)
	}
	f.SetTitle(reportTitle(p.Kind)+" - "+t.title, true)
	f.SetSubject(name, true)
	f.SetAuthor(t.council, true)
	f.SetKeywords("bieuquyet "+name+" audit-head "+rep.AuditHead, true)

	vote := p.Kind == bq.KindVote
	w := &reportWriter{f: f, fs: r.fonts, t: t, kind: p.Kind}
	w.y = heading(f, r.fonts, strings.ToUpper(t.council), strings.ToUpper(t.body),
		"Số:\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-HĐND", t.place+", "+bq.DocumentDate(rep.PrintTime))
	w.y += 6
	w.y, _ = centered(f, r.fonts, marginL, w.y, textW, "B", 14, lineHeight(14), reportTitle(p.Kind))
	w.y, _ = centered(f, r.fonts, marginL, w.y, textW, "B", 14, lineHeight(14), t.title)
	w.y += 4

	what, did, didNot := "biểu quyết", "đã biểu quyết", "chưa biểu quyết"
	if !vote {
		what, did, didNot = "lấy ý kiến", "đã cho ý kiến", "chưa cho ý kiến"
	}
	w.para(reportSize, alignJustify, piece{"", "Nội dung " + what + ": " + t.question})
	times := fmt.Sprintf("%s do %s (%s) mở lúc %s", strings.ToUpper(what[:1])+what[1:], t.openedBy, t.body, bq.DocumentTime(p.CreateTime))
	if !p.Deadline.IsZero() {
		times += "; thời hạn đến " + bq.DocumentTime(p.Deadline)
	}
	if !p.CloseTime.IsZero() {
		times += "; kết thúc lúc " + bq.DocumentTime(p.CloseTime)
	}
	w.para(reportSize, alignJustify, piece{"", times + "."})
	state := "Tình trạng: " + stateText(p)
	if p.State == bq.StateCancelled && t.cancelReason != "" {
		state += " (lý do: " + t.cancelReason + ")"
	}
	w.para(reportSize, alignJustify, piece{"", state + "."})
	w.para(reportSize, alignJustify, piece{"", fmt.Sprintf("Tổng số đại biểu: %d; %s: %d; %s: %d.", p.Eligible, did, tl.Voted, didNot, len(tl.Missing))})
	if rule := reportRule(tl); vote && rule != "" {
		w.para(reportSize, alignJustify, piece{"", "Quy tắc thông qua: " + rule})
	}
	if p.MultipleChoice {
		w.para(reportSize, alignJustify, piece{"", "Mỗi đại biểu được chọn nhiều phương án, nên tổng các lựa chọn có thể lớn hơn số đại biểu " + did + "."})
	}
	w.para(reportSize, alignLeft, piece{"", "Danh sách đại biểu " + what + " (SHA-256): "}, piece{"", p.ElectorateHash})

	w.y += 2
	w.para(reportSize, alignLeft, piece{"B", "I. KẾT QUẢ"})
	w.chart(tl)
	if s := outcomeText(tl); s != "" {
		w.para(reportSize, alignLeft, piece{"", "Kết quả: "}, piece{"B", s})
	}
	if tl.Confirmations != nil {
		for _, line := range confirmedText(bq.Reconcile(tl, tl.Confirmations)) {
			w.para(reportSize, alignJustify, line...)
		}
	}

	w.y += 2
	voted := "II. ĐẠI BIỂU " + strings.ToUpper(did)
	if len(t.voted) == 0 {
		w.para(reportSize, alignLeft, piece{"B", voted})
		w.para(reportSize, alignLeft, piece{"I", "Chưa có đại biểu nào " + what + "."})
	} else {
		rows := make([][]string, len(t.voted))
		for i, v := range t.voted {
			rows[i] = []string{strconv.Itoa(i + 1), v.name, strings.Join(v.choices, "\n"), v.status}
		}
		err := w.table(voted, []column{
			{"STT", 12, alignCenter},
			{"Họ và tên", 58, alignLeft},
			{"Lựa chọn", textW - 12 - 58 - 27, alignLeft},
			{"Xác nhận", 27, alignLeft},
		}, rows, 0)
		if err != nil {
			return nil, err
		}
	}

	// The signature of whoever prepares the report for filing: its two lines and room to
	// sign, kept on the page of the list's end.
	sign := 4 + 2*lineHeight(13) + 22
	w.y += 5
	missing := "III. ĐẠI BIỂU " + strings.ToUpper(didNot)
	if len(t.missing) == 0 {
		w.need(2*lineHeight(reportSize) + sign)
		w.para(reportSize, alignLeft, piece{"B", missing})
		w.para(reportSize, alignLeft, piece{"I", "Tất cả đại biểu đều " + did + "."})
	} else {
		rows := make([][]string, len(t.missing))
		for i, v := range t.missing {
			rows[i] = []string{strconv.Itoa(i + 1), v.name}
		}
		if err := w.table(missing, []column{{"STT", 12, alignCenter}, {"Họ và tên", 100, alignLeft}}, rows, sign); err != nil {
			return nil, err
		}
	}
	w.y += 4
	w.need(sign - 4)
	y, _ := centered(f, r.fonts, sigColX, w.y, sigColW, "B", 13, lineHeight(13), "NGƯỜI LẬP BÁO CÁO")
	centered(f, r.fonts, sigColX, y, sigColW, "I", 13, lineHeight(13), "(Ký, ghi rõ họ tên)")

	w.feet(rep)
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("render report of %s: %w", name, err)
	}
	return output(f)
}

// chart draws the counts as horizontal bars, each in a frame as wide as the whole
// electorate, with the count and its share written beside; for a vote, a dashed line
// marks the votes in favour the rule requires.
func (w *reportWriter) chart(tl *bq.Tally) {
	f, p := w.f, tl.Poll
	lh := lineHeight(tableSize)
	scale := max(p.Eligible, 1)
	for _, c := range tl.Counts {
		scale = max(scale, c)
	}
	rowH := func(o int) float64 {
		return max(float64(lineCount(tableSize, chartLabelW, []piece{{"", w.t.options[o]}}))*lh, chartBarH) + 2
	}
	mark := p.Kind == bq.KindVote && tl.Required > 0 && tl.Required <= scale && tl.Outcome != bq.OutcomeNotApplicable
	if mark {
		w.need(lineHeight(9) + rowH(0))
		x := chartBarX + chartBarW*float64(tl.Required)/float64(scale)
		label := fmt.Sprintf("cần %d", tl.Required)
		lw := textWidth("I", 9, label)
		w.fs.draw(f, "I", 9, min(x-lw/2, chartBarX+chartBarW-lw), w.y+lineHeight(9)*0.8, label)
		w.y += lineHeight(9)
	}
	top := w.y
	for o, count := range tl.Counts {
		h := rowH(o)
		if w.y+h > reportBottom {
			w.dashed(tl, scale, top, w.y, mark)
			w.need(h)
			top = w.y
		}
		para(f, w.fs, marginL, w.y+1, chartLabelW, tableSize, lh, alignLeft, piece{"", w.t.options[o]})
		by := w.y + 1 + (lh-chartBarH)/2
		f.SetLineWidth(0.2)
		f.SetDrawColor(120, 120, 120)
		f.Rect(chartBarX, by, chartBarW, chartBarH, "D")
		f.SetDrawColor(0, 0, 0)
		if count > 0 {
			f.SetFillColor(90, 90, 90)
			f.Rect(chartBarX, by, chartBarW*float64(count)/float64(scale), chartBarH, "F")
		}
		label := strconv.Itoa(count)
		if p.Eligible > 0 {
			label += " (" + percent(count, p.Eligible) + ")"
		}
		para(f, w.fs, chartCountX, w.y+1, pageW-marginR-chartCountX, tableSize, lh, alignLeft, piece{"B", label})
		w.y += h
	}
	w.dashed(tl, scale, top, w.y, mark)
	w.para(10, alignLeft, piece{"I", fmt.Sprintf("Mỗi khung ứng với tổng số %d đại biểu; phần tô đậm là số đại biểu chọn phương án.", scale)})
}

// dashed draws the rule's mark across the chart's rows from y0 to y1.
func (w *reportWriter) dashed(tl *bq.Tally, scale int, y0, y1 float64, mark bool) {
	if !mark || y1 <= y0 {
		return
	}
	x := chartBarX + chartBarW*float64(tl.Required)/float64(scale)
	w.f.SetLineWidth(0.3)
	w.f.SetDashPattern([]float64{1, 0.8}, 0)
	w.f.Line(x, y0, x, y1)
	w.f.SetDashPattern(nil, 0)
}

// feet draws every page's foot once the number of pages is known.
func (w *reportWriter) feet(rep *bq.TallyReport) {
	f := w.f
	n := f.PageCount()
	lh := lineHeight(footSize)
	for i := 1; i <= n; i++ {
		f.SetPage(i)
		f.SetLineWidth(0.2)
		f.Line(marginL, footRuleY, pageW-marginR, footRuleY)
		base := footY + 0.8*footSize*ptMM + (lh-footSize*ptMM)/2
		w.fs.draw(f, "", footSize, marginL, base, "Đầu chuỗi nhật ký: "+rep.AuditHead)
		w.fs.draw(f, "", footSize, marginL, base+lh, "In lúc "+bq.DocumentTime(rep.PrintTime)+" - "+bq.PollName(rep.Tally.Poll.ID))
		page := fmt.Sprintf("Trang %d/%d", i, n)
		w.fs.draw(f, "B", footSize, pageW-marginR-textWidth("B", footSize, page), base, page)
	}
	f.SetPage(n)
}
