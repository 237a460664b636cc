package pdf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
)

// auditHead is a head as the store gives it: seq 280 and a SHA-256.
var auditHead = bq.AuditHeadText(280, []byte{
	0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65, 0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a, 0xd0, 0x15,
	0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c, 0xd1, 0x5d, 0x6c, 0x15, 0xb0, 0xf0, 0x0a, 0x08,
})

// voteReport is a closed vote of the Ban Pháp chế's nine members: five in favour, two
// against, one abstaining, one who did not vote and has since been deactivated.
func voteReport() *bq.TallyReport {
	poll := votePaper().Poll
	poll.Eligible, poll.State = 9, bq.StateConfirming
	poll.CloseTime = at("2026-11-28 17:00")
	poll.ElectorateHash = bq.ElectorateHash([]int64{1, 2, 3, 4, 5, 6, 7, 8, 9})
	v := func(id int64, name string) bq.Voter { return bq.Voter{PersonID: id, FullName: name} }
	t := &bq.Tally{
		Poll:   poll,
		Counts: []int{5, 2, 1},
		Choices: [][]bq.Voter{
			{v(1, "Hồ Văn Tâm"), v(2, "Đặng Thị Hương"), v(3, "Dương Minh Khoa"), v(5, "Nguyễn Thị Hồng Nhung"), v(6, "Âu Dương Lan")},
			{v(4, "Trần Quốc Ân"), v(7, "Ưng Hoàng Phúc")},
			{v(8, "Lê Thị Ánh Tuyết")},
		},
		Voted:   8,
		Missing: []bq.Voter{{PersonID: 9, FullName: "Bùi Văn Ước", Deactivated: true}},
	}
	t.Decide()
	return &bq.TallyReport{
		Council:  bq.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương"},
		BodyName: "HĐND - Ban Pháp chế",
		OpenedBy: "Trần Thị Bích Ngọc",
		Tally:    t,
		Confirmations: map[int64]bq.ConfirmationStatus{
			1: bq.StatusSigned, 2: bq.StatusAwaitingSignature, 3: bq.StatusMismatch, 4: bq.StatusRejected,
			5: bq.StatusDeclined, 6: bq.StatusOverdue, // 7 and 8 have none
		},
		PrintTime: at("2026-11-30 09:15"),
		AuditHead: auditHead,
	}
}

// opinionReport is an open opinion poll with several choices each and no confirmations.
func opinionReport() *bq.TallyReport {
	r := voteReport()
	p := opinionPaper().Poll
	p.Eligible, p.State, p.Options = 5, bq.StateOpen, p.Options[:4]
	p.ElectorateHash = bq.ElectorateHash([]int64{1, 2, 3, 4, 5})
	v := func(id int64, name string) bq.Voter { return bq.Voter{PersonID: id, FullName: name} }
	r.Tally = &bq.Tally{
		Poll:    p,
		Counts:  []int{2, 1, 0, 2},
		Choices: [][]bq.Voter{{v(1, "Hồ Văn Tâm"), v(2, "Đặng Thị Hương")}, {v(1, "Hồ Văn Tâm")}, nil, {v(2, "Đặng Thị Hương"), v(3, "Dương Minh Khoa")}},
		Voted:   3,
		Missing: []bq.Voter{{PersonID: 5, FullName: "Nguyễn Thị Hồng Nhung"}, {PersonID: 4, FullName: "Trần Quốc Ân"}},
	}
	r.Tally.Decide()
	r.BodyName = "HĐND - Tổ ĐB Phú Giáo - Bắc Tân Uyên"
	r.Confirmations = nil
	return r
}

// bigReport is a vote of all 120 delegates, long enough to run over several pages.
func bigReport() *bq.TallyReport {
	r := voteReport()
	p := r.Tally.Poll
	p.Rule = bq.RuleTwoThirdsOfAll
	p.Eligible = 120
	family := []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	given := []string{"An", "Bình", "Chi", "Dũng", "Đức", "Giang", "Hà", "Khánh", "Linh", "Minh", "Ngọc", "Phúc", "Quân", "Sơn", "Thảo", "Uyên", "Việt", "Yến"}
	t := &bq.Tally{Poll: p, Counts: make([]int, 3), Choices: make([][]bq.Voter, 3)}
	ids := make([]int64, 120)
	r.Confirmations = map[int64]bq.ConfirmationStatus{}
	for i := range 120 {
		id := int64(i + 1)
		ids[i] = id
		v := bq.Voter{PersonID: id, FullName: fmt.Sprintf("%s Văn %s", family[i%len(family)], given[i%len(given)])}
		switch {
		case i%12 == 11:
			v.Deactivated = i%24 == 23
			t.Missing = append(t.Missing, v)
			continue
		case i%7 == 3:
			t.Choices[1] = append(t.Choices[1], v)
		case i%13 == 5:
			t.Choices[2] = append(t.Choices[2], v)
		default:
			t.Choices[0] = append(t.Choices[0], v)
		}
		t.Voted++
		r.Confirmations[id] = bq.StatusAwaitingSignature
	}
	for o := range t.Choices {
		t.Counts[o] = len(t.Choices[o])
	}
	p.ElectorateHash = bq.ElectorateHash(ids)
	t.Decide()
	r.Tally = t
	return r
}

func renderReport(t *testing.T, rep *bq.TallyReport) []byte {
	t.Helper()
	b, err := New().Report(rep)
	if err != nil {
		t.Fatalf("Report: %v", err)
	}
	return b
}

func TestReportOutcome(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(tl *bq.Tally)
		want string
	}{
		{"passed", func(tl *bq.Tally) {}, "Thông qua: 5/9 tán thành, cần 5"},
		{"failed", func(tl *bq.Tally) { tl.Poll.Rule = bq.RuleTwoThirdsOfAll }, "Không thông qua: 5/9 tán thành, cần 6"},
		{"cast", func(tl *bq.Tally) { tl.Poll.Rule = bq.RuleMajorityOfCast }, "Thông qua: 5/8 phiếu tán thành, cần 5"},
		{"open", func(tl *bq.Tally) { tl.Poll.State = bq.StateOpen }, "Đang biểu quyết: 5/9 tán thành, cần 5 để thông qua"},
		{"cancelled", func(tl *bq.Tally) { tl.Poll.State = bq.StateCancelled }, "Đã hủy"},
		{"opinion", func(tl *bq.Tally) { tl.Poll.Kind, tl.Poll.Rule = bq.KindOpinion, bq.RuleNone }, ""},
	} {
		tl := voteReport().Tally
		tc.edit(tl)
		tl.Decide()
		if got := outcomeText(tl); got != tc.want {
			t.Errorf("%s: outcome %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestReportCollation pins what golang.org/x/text/collate does with Vietnamese names:
// the letters in the order of the Vietnamese alphabet (a ă â b c d đ e ê g h i … o ô ơ …
// u ư …), tones weighing less than letters.
func TestReportCollation(t *testing.T) {
	names := []string{"Hồ Văn Tâm", "Đặng Thị Hương", "Dương Minh Khoa", "Ăn Văn Ba", "Ân Văn Hai", "An Văn Một",
		"Ưng Hoàng Phúc", "Uông Văn Tư", "Ông Văn Năm", "Ơn Văn Sáu", "Oanh Văn Bảy", "Đinh Văn Tám", "Bùi Văn Chín"}
	var rows []reportRow
	for i, n := range names {
		rows = append(rows, reportRow{id: int64(i + 1), name: n})
	}
	sortRows(rows)
	var got []string
	for _, r := range rows {
		got = append(got, r.name)
	}
	want := []string{"An Văn Một", "Ăn Văn Ba", "Ân Văn Hai", "Bùi Văn Chín", "Dương Minh Khoa", "Đặng Thị Hương", "Đinh Văn Tám",
		"Hồ Văn Tâm", "Oanh Văn Bảy", "Ông Văn Năm", "Ơn Văn Sáu", "Uông Văn Tư", "Ưng Hoàng Phúc"}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("collation:\ngot  %s\nwant %s", strings.Join(got, ", "), strings.Join(want, ", "))
	}
	// Namesakes keep person order.
	rows = []reportRow{{id: 9, name: "Lê Văn An"}, {id: 3, name: "Lê Văn An"}}
	sortRows(rows)
	if rows[0].id != 3 {
		t.Errorf("namesakes are not in person order: %v", rows)
	}
}

func TestReportDeterministic(t *testing.T) {
	for _, rep := range []*bq.TallyReport{voteReport(), opinionReport(), bigReport()} {
		a, b := renderReport(t, rep), renderReport(t, rep)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders differ", rep.Tally.Poll.Title)
		}
		if !bytes.Contains(a, []byte("/CreationDate (D:20261130091500)")) {
			t.Errorf("creation date is not the print time")
		}
	}
}

func TestReportRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(r *bq.TallyReport)
		code bq.Code
		want string
	}{
		{"no tally", func(r *bq.TallyReport) { r.Tally = nil }, bq.CodeInvalid, "report.tally"},
		{"bad head", func(r *bq.TallyReport) { r.AuditHead = "280" }, bq.CodeInvalid, "report.audit_head"},
		{"no print time", func(r *bq.TallyReport) { r.PrintTime = time.Time{} }, bq.CodeInvalid, "report.print_time"},
		{"bad status", func(r *bq.TallyReport) { r.Confirmations[1] = "lost" }, bq.CodeInvalid, "people/1 has an unknown status"},
		{"counts", func(r *bq.TallyReport) { r.Tally.Counts = r.Tally.Counts[:2] }, bq.CodeInvalid, "has 2 counts"},
		{"unprintable", func(r *bq.TallyReport) { r.Tally.Missing[0].FullName = "Bùi 中" }, bq.CodeFailedPrecondition, "the name of people/9: the character U+4E2D"},
	} {
		rep := voteReport()
		tc.edit(rep)
		_, err := New().Report(rep)
		if bq.ErrorCode(err) != tc.code || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: err = %v, want %s containing %q", tc.name, err, tc.code, tc.want)
		}
	}
}

// TestReportRealTools checks the reports with pdftotext, qpdf and pdfinfo.
func TestReportRealTools(t *testing.T) {
	for _, tc := range []struct {
		golden string
		rep    *bq.TallyReport
		pages  int
		want   []string
	}{
		{"report-vote.txt", voteReport(), 2, []string{
			"HỘI ĐỒNG NHÂN DÂN TỈNH BÌNH DƯƠNG", "HĐND - BAN PHÁP CHẾ", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
			"Bình Dương, ngày 30 tháng 11 năm 2026", "BÁO CÁO KẾT QUẢ BIỂU QUYẾT",
			"quá nửa tổng số đại biểu", "Kết quả: Thông qua: 5/9 tán thành, cần 5",
			"5 (55,6%)", "2 (22,2%)", "1 (11,1%)",
			"STT Họ và tên Lựa chọn Xác nhận",
			"1 Âu Dương Lan Tán thành Quá hạn", "2 Dương Minh Khoa Tán thành Không khớp", "3 Đặng Thị Hương Tán thành Chờ ký",
			"4 Hồ Văn Tâm Tán thành Đã ký", "5 Lê Thị Ánh Tuyết Không biểu quyết —", "6 Nguyễn Thị Hồng Nhung Tán thành Từ chối ký",
			"7 Trần Quốc Ân Không tán thành Bị từ chối", "8 Ưng Hoàng Phúc Không tán thành —",
			"III. ĐẠI BIỂU CHƯA BIỂU QUYẾT", "1 Bùi Văn Ước (không còn hoạt động)",
			"Đầu chuỗi nhật ký: " + auditHead, "In lúc 09 giờ 15 phút, ngày 30/11/2026", "Trang 1/2", "Trang 2/2", "NGƯỜI LẬP BÁO CÁO (Ký, ghi rõ họ tên)",
		}},
		{"report-opinion.txt", opinionReport(), 2, []string{
			"BÁO CÁO KẾT QUẢ LẤY Ý KIẾN", "Nội dung lấy ý kiến:", "Tình trạng: Đang lấy ý kiến.",
			"Mỗi đại biểu được chọn nhiều phương án", "II. ĐẠI BIỂU ĐÃ CHO Ý KIẾN",
			"STT Họ và tên Lựa chọn Xác nhận", "Dương Minh Khoa", "Đặng Thị Hương", "Hồ Văn Tâm",
			"Nội dung 1: giao thông nông thôn xã số 1 Nội dung 2: giao thông nông thôn xã số 2",
			"1 Nguyễn Thị Hồng Nhung 2 Trần Quốc Ân",
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			b := renderReport(t, tc.rep)
			path := writeTemp(t, b)
			got := strings.Join(strings.Fields(pdftotext(t, b, false)), " ")
			golden := filepath.Join("testdata", tc.golden)
			if *update {
				if err := os.WriteFile(golden, []byte(strings.ReplaceAll(got, ". ", ".\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if w := strings.Join(strings.Fields(string(want)), " "); got != w {
				t.Errorf("pdftotext differs from %s (go test -update to accept):\ngot  %s\nwant %s", golden, got, w)
			}
			for _, s := range tc.want {
				if !strings.Contains(got, s) {
					t.Errorf("pdftotext lacks %q", s)
				}
			}
			// The voters come in Vietnamese order: Dương, Đặng, Hồ.
			voters := got[strings.Index(got, "STT Họ và tên Lựa chọn"):]
			if a, b, c := strings.Index(voters, "Dương Minh Khoa"), strings.Index(voters, "Đặng Thị Hương"), strings.Index(voters, "Hồ Văn Tâm"); !(0 <= a && a < b && b < c) {
				t.Errorf("voters out of order: Dương at %d, Đặng at %d, Hồ at %d", a, b, c)
			}
			if tc.rep.Tally.Poll.Kind == bq.KindOpinion {
				for _, s := range []string{"Quy tắc thông qua", "Thông qua:", "cần ít nhất", "để thông qua"} {
					if strings.Contains(got, s) {
						t.Errorf("an opinion poll's report says %q", s)
					}
				}
			}
			run(t, "qpdf", "--check", path)
			info := run(t, "pdfinfo", path)
			for _, s := range []string{
				fmt.Sprintf("Pages:           %d\n", tc.pages), "Page size:       595.28 x 841.89 pts (A4)",
				"Subject:         polls/", "Author:          Hội đồng nhân dân tỉnh Bình Dương",
				"Title:           BÁO CÁO KẾT QUẢ", "Keywords:        bieuquyet polls/",
			} {
				if !strings.Contains(info, s) {
					t.Errorf("pdfinfo lacks %q:\n%s", s, info)
				}
			}
		})
	}
}

// TestReportPages checks a report of 120 delegates: it runs over several pages, each
// numbered "Trang i/N" with the audit head, and every page the voters' table reaches
// repeats its header row.
func TestReportPages(t *testing.T) {
	rep := bigReport()
	b := renderReport(t, rep)
	path := writeTemp(t, b)
	run(t, "qpdf", "--check", path)
	m := regexp.MustCompile(`Pages:\s+(\d+)`).FindStringSubmatch(run(t, "pdfinfo", path))
	if m == nil {
		t.Fatal("pdfinfo gives no page count")
	}
	var n int
	fmt.Sscan(m[1], &n)
	if n < 3 {
		t.Fatalf("120 delegates fit on %d pages; want at least 3", n)
	}
	tableSeen := 0
	for i := 1; i <= n; i++ {
		page := run(t, "pdftotext", "-enc", "UTF-8", "-f", fmt.Sprint(i), "-l", fmt.Sprint(i), path, "-")
		page = strings.Join(strings.Fields(page), " ")
		for _, s := range []string{fmt.Sprintf("Trang %d/%d", i, n), "Đầu chuỗi nhật ký: " + auditHead, "In lúc 09 giờ 15 phút, ngày 30/11/2026"} {
			if !strings.Contains(page, s) {
				t.Errorf("page %d lacks %q", i, s)
			}
		}
		if i > 1 && !strings.Contains(page, "BÁO CÁO KẾT QUẢ BIỂU QUYẾT: "+rep.Tally.Poll.Title+" (tiếp theo)") {
			t.Errorf("page %d does not say what it continues", i)
		}
		if strings.Contains(page, "STT Họ và tên Lựa chọn Xác nhận") {
			tableSeen++
		}
	}
	// The table starts on page 1 or 2 and every later page until the missing list repeats
	// its header.
	if tableSeen < n-2 {
		t.Errorf("the table header appears on %d of %d pages", tableSeen, n)
	}
	all := strings.Join(strings.Fields(pdftotext(t, b, false)), " ")
	for _, s := range []string{"110 ", "Kết quả: Thông qua: 87/120 tán thành, cần 80", "hai phần ba tổng số đại biểu", "(không còn hoạt động)", "cần 80"} {
		if !strings.Contains(all, s) {
			t.Errorf("the big report lacks %q", s)
		}
	}
	// Numbers run 1 to 110 over the pages without a gap.
	for i := 1; i <= rep.Tally.Voted; i++ {
		if !regexp.MustCompile(fmt.Sprintf(`(^| )%d (Nguyễn|Trần|Lê|Phạm|Hoàng|Huỳnh|Phan|Vũ|Võ|Đặng|Bùi|Đỗ|Hồ|Ngô|Dương|Lý) `, i)).MatchString(all) {
			t.Errorf("row %d is missing", i)
			break
		}
	}
}

// TestReportExamples writes the example reports for people to look at:
// go test ./pdf -run ReportExamples -examples /tmp/x
func TestReportExamples(t *testing.T) {
	if *examples == "" {
		t.Skip("no -examples directory")
	}
	for name, rep := range map[string]*bq.TallyReport{"report-vote": voteReport(), "report-opinion": opinionReport(), "report-big": bigReport()} {
		if err := os.WriteFile(filepath.Join(*examples, name+".pdf"), renderReport(t, rep), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReportVariants checks the wording of the cases the examples do not show.
func TestReportVariants(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(r *bq.TallyReport)
		want []string
	}{
		{"majority of cast", func(r *bq.TallyReport) { r.Tally.Poll.Rule = bq.RuleMajorityOfCast }, []string{
			"quá nửa số đại biểu tham gia biểu quyết tán thành (8 đại biểu đã biểu quyết, cần ít nhất 5)",
			"Kết quả: Thông qua: 5/8 phiếu tán thành, cần 5",
		}},
		{"cancelled", func(r *bq.TallyReport) {
			r.Tally.Poll.State, r.Tally.Poll.CancelReason = bq.StateCancelled, "Nội dung được đưa ra kỳ họp thường lệ"
		}, []string{"Tình trạng: Đã hủy (lý do: Nội dung được đưa ra kỳ họp thường lệ).", "Kết quả: Đã hủy"}},
		{"everyone voted", func(r *bq.TallyReport) {
			r.Tally.Choices[2] = append(r.Tally.Choices[2], r.Tally.Missing[0])
			r.Tally.Counts[2]++
			r.Tally.Voted++
			r.Tally.Missing = nil
		}, []string{"Tất cả đại biểu đều đã biểu quyết.", "9 Ưng Hoàng Phúc", "Bùi Văn Ước (không còn hoạt động) Không biểu quyết"}},
		{"nobody voted", func(r *bq.TallyReport) {
			for o := range r.Tally.Choices {
				r.Tally.Missing = append(r.Tally.Missing, r.Tally.Choices[o]...)
				r.Tally.Choices[o], r.Tally.Counts[o] = nil, 0
			}
			r.Tally.Voted = 0
		}, []string{"Chưa có đại biểu nào biểu quyết.", "Kết quả: Không thông qua: 0/9 tán thành, cần 5", "9 Ưng Hoàng Phúc"}},
		// Five voted in favour, but only two confirmed in writing: the recorded vote
		// passes, the official result does not.
		{"finalized, confirmations missing", func(r *bq.TallyReport) {
			p := r.Tally.Poll
			p.State, p.ConfirmationDeadline = bq.StateFinalized, at("2026-12-01 17:00")
			c := func(person int64, options []int, status bq.ConfirmationStatus) bq.Confirmation {
				return bq.Confirmation{ID: person, PollID: p.ID, PersonID: person, Options: options, Written: options, Status: status}
			}
			r.Tally.Confirmations = []bq.Confirmation{
				c(1, []int{0}, bq.StatusSigned), c(2, []int{0}, bq.StatusSigned), c(3, []int{0}, bq.StatusOverdue),
				c(4, []int{1}, bq.StatusSigned), c(5, []int{0}, bq.StatusDeclined),
			}
		}, []string{
			"Kết quả: Thông qua: 5/9 tán thành, cần 5",
			"Xác nhận bằng văn bản: 3/9 đại biểu đã xác nhận (Tán thành 2; Không tán thành 1; Không biểu quyết 0).",
			"Kết quả theo xác nhận: Không thông qua: 2/9 tán thành, cần 5",
			"Đây là kết quả chính thức.",
		}},
		{"confirming", func(r *bq.TallyReport) {
			r.Tally.Poll.ConfirmationDeadline = at("2026-12-01 17:00")
			r.Tally.Confirmations = []bq.Confirmation{}
		}, []string{"Xác nhận bằng văn bản: 0/9 đại biểu đã xác nhận", "Chưa phải kết quả chính thức: đang chờ xác nhận bằng văn bản đến 17 giờ 00 phút, ngày 01/12/2026."}},
		{"twenty long options", func(r *bq.TallyReport) {
			o := opinionReport()
			p := opinionPaper().Poll
			p.Eligible = 5
			o.Tally.Poll = p
			o.Tally.Counts = make([]int, len(p.Options))
			o.Tally.Choices = make([][]bq.Voter, len(p.Options))
			for i := range p.Options {
				p.Options[i] += " và việc thực hiện chính sách hỗ trợ phát triển kinh tế - xã hội"
				o.Tally.Counts[i] = i % 4
			}
			o.Tally.Decide()
			*r = *o
		}, []string{"Nội dung 20: giao thông nông thôn xã số 20 và việc thực hiện chính sách hỗ trợ phát triển kinh tế - xã hội"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep := voteReport()
			tc.edit(rep)
			rep.Tally.Decide()
			b := renderReport(t, rep)
			run(t, "qpdf", "--check", writeTemp(t, b))
			got := strings.Join(strings.Fields(pdftotext(t, b, false)), " ")
			for _, s := range tc.want {
				if !strings.Contains(got, s) {
					t.Errorf("pdftotext lacks %q:\n%s", s, got)
				}
			}
		})
	}
}
