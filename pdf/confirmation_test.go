package pdf

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, bq.CouncilZone)
	if err != nil {
		panic(err)
	}
	return t
}

// votePaper is a vote of the Ban Pháp chế, as the sample roster has it.
func votePaper() *bq.ConfirmationPaper {
	return &bq.ConfirmationPaper{
		ID:       12,
		Council:  bq.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương"},
		BodyName: "HĐND - Ban Pháp chế",
		OpenedBy: "Trần Thị Bích Ngọc",
		Poll: &bq.Poll{
			ID: 3, Kind: bq.KindVote,
			Title:    "Thông qua Báo cáo thẩm tra dự thảo Nghị quyết về bảo đảm trật tự an toàn giao thông",
			Question: "Đồng chí có đồng ý thông qua Báo cáo thẩm tra của Ban Pháp chế đối với dự thảo Nghị quyết quy định một số biện pháp bảo đảm trật tự, an toàn giao thông trên địa bàn tỉnh không?",
			Options:  append([]string(nil), bq.VoteOptions...),
			Rule:     bq.RuleMajorityOfAll, Eligible: 7,
			CreateTime: at("2026-11-27 08:00"), Deadline: at("2026-11-28 17:00"),
			ElectorateHash: bq.ElectorateHash([]int64{1, 2, 3, 4, 5, 6, 7}),
		},
		Person:     bq.Person{ID: 5, FullName: "Nguyễn Thị Hồng Nhung", Title: "Ủy viên Ban Pháp chế HĐND tỉnh"},
		Options:    []int{0},
		VoteTime:   at("2026-11-27 09:35"),
		VoteSource: bq.SourceZalo,
		IssueTime:  at("2026-11-29 10:00"),
		Deadline:   at("2026-12-02 17:00"),
	}
}

// opinionPaper is the longest paper the domain allows: twenty options, a 500-character
// question, long names, several choices, from another channel.
func opinionPaper() *bq.ConfirmationPaper {
	p := votePaper()
	p.ID = 345
	p.BodyName = "HĐND - Tổ ĐB Phú Giáo - Bắc Tân Uyên"
	p.Poll.ID = 17
	p.Poll.Kind, p.Poll.Rule, p.Poll.MultipleChoice = bq.KindOpinion, bq.RuleNone, true
	p.Poll.Title = "Lấy ý kiến về các nội dung đề xuất đưa vào chương trình giám sát chuyên đề năm 2027 của Tổ đại biểu"
	q := "Để chuẩn bị xây dựng chương trình giám sát năm 2027, Tổ đại biểu xin ý kiến các đồng chí đại biểu về những nội dung nên ưu tiên giám sát, căn cứ ý kiến, kiến nghị của cử tri tại các buổi tiếp xúc trước và sau kỳ họp, kết quả giám sát năm trước và tình hình thực tế tại địa phương. "
	q += "Đề nghị các đồng chí chọn những nội dung thấy cần thiết nhất; có thể chọn nhiều nội dung và ghi rõ ý kiến khác (nếu có) khi ký xác nhận."
	for len([]rune(q)) < 500 {
		q += " Xin trân trọng cảm ơn."
	}
	p.Poll.Question = string([]rune(q)[:500])
	p.Poll.Options = nil
	for i := 1; i <= bq.MaxOptions; i++ {
		p.Poll.Options = append(p.Poll.Options, fmt.Sprintf("Nội dung %d: giao thông nông thôn xã số %d", i, i))
	}
	p.Options = []int{1, 4, 19}
	p.Person.FullName = "Tôn Nữ Thị Phương Uyên Hoàng Ngọc Bảo Châu"
	p.Person.Title = "Phó Trưởng Ban Kinh tế - Ngân sách HĐND tỉnh, Tổ trưởng Tổ đại biểu Phú Giáo - Bắc Tân Uyên"
	p.OpenedBy = "Huỳnh Thị Thanh Xuân Nguyễn Lê Phương"
	p.VoteSource, p.VoteNote = bq.SourceOther, "gọi điện cho Văn phòng do ứng dụng Zalo bị lỗi (Điều 10.8)"
	return p
}

func render(t *testing.T, r *Renderer, p *bq.ConfirmationPaper) []byte {
	t.Helper()
	b, err := r.Confirmation(p)
	if err != nil {
		t.Fatalf("Confirmation(%s): %v", p.Name(), err)
	}
	return b
}

func TestDeterministic(t *testing.T) {
	for _, p := range []*bq.ConfirmationPaper{votePaper(), opinionPaper()} {
		a := render(t, New(), p)
		b := render(t, New(), p)
		c := render(t, &Renderer{fonts: pageFonts{}}, p)
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Errorf("%s: two renders differ", p.Name())
		}
		for _, bad := range []string{"/ID", "FPDF"} {
			if bytes.Contains(a, []byte(bad)) {
				t.Errorf("%s: the file contains %q", p.Name(), bad)
			}
		}
		if !bytes.Contains(a, []byte("/CreationDate (D:20261129100000)")) {
			t.Errorf("%s: creation date is not the issue time", p.Name())
		}
	}
	// Concurrent renders share the cut fonts and must neither race nor differ.
	want := render(t, New(), votePaper())
	r := New()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if b, err := r.Confirmation(votePaper()); err != nil || !bytes.Equal(b, want) {
					t.Errorf("a concurrent render differs: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	// The fonts themselves are not written to.
	if got := fmt.Sprintf("%x", sha256.Sum256(serifRegular)); got != "29d12439831b7f59194efec85872f24f54eff05738933f9a860220d2abff88ba" {
		t.Errorf("the embedded regular font changed: %s", got)
	}
}

func TestRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(p *bq.ConfirmationPaper)
		code bq.Code
		want string
	}{
		{"incomplete", func(p *bq.ConfirmationPaper) { p.Options = nil }, bq.CodeInvalid, "paper.options"},
		{"unprintable", func(p *bq.ConfirmationPaper) { p.Person.FullName = "Nguyễn 中" }, bq.CodeFailedPrecondition, "paper.person.full_name: the character U+4E2D"},
		{"question too long", func(p *bq.ConfirmationPaper) {
			p.Poll.Question = strings.Repeat("Nội dung rất dài cần được xem xét kỹ lưỡng. ", 80)
		}, bq.CodeFailedPrecondition, "the question (3520 characters) takes"},
		{"options too long", func(p *bq.ConfirmationPaper) {
			for i := range p.Poll.Options {
				p.Poll.Options[i] = fmt.Sprintf("Nội dung %d: việc thực hiện chính sách hỗ trợ phát triển kinh tế - xã hội ở xã, thị trấn số %d", i, i)
			}
		}, bq.CodeFailedPrecondition, "does not fit on one A4 page even at 10 pt"},
	} {
		p := opinionPaper()
		tc.edit(p)
		_, err := New().Confirmation(p)
		if bq.ErrorCode(err) != tc.code || !strings.Contains(fmt.Sprint(err), tc.want) {
			t.Errorf("%s: err = %v, want %s containing %q", tc.name, err, tc.code, tc.want)
		}
	}
}

// TestLongWordsWrap checks that a long unbroken string wraps inside the margins.
func TestLongWordsWrap(t *testing.T) {
	p := votePaper()
	p.Poll.Question = strings.Repeat("Ỹ", 300)
	b := render(t, New(), p)
	txt := pdftotext(t, b, false)
	if strings.Count(txt, "Ỹ") != 300 {
		t.Errorf("the long word lost characters: %d of 300", strings.Count(txt, "Ỹ"))
	}
}

// tool returns the path of a command line tool, or skips the test when it is missing;
// .ci/run installs them all.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install poppler-utils qpdf zbar-tools); .ci/run installs it", name)
	}
	return path
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(tool(t, name), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

func writeTemp(t *testing.T, b []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func pdftotext(t *testing.T, b []byte, layout bool) string {
	t.Helper()
	args := []string{"-enc", "UTF-8"}
	if layout {
		args = append(args, "-layout")
	}
	return run(t, "pdftotext", append(args, writeTemp(t, b), "-")...)
}

// TestRealTools checks the files with the tools a reader or a clerk's machine uses.
func TestRealTools(t *testing.T) {
	for _, tc := range []struct {
		golden string
		paper  *bq.ConfirmationPaper
	}{
		{"confirmation-vote.txt", votePaper()},
		{"confirmation-opinion.txt", opinionPaper()},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			b := render(t, New(), tc.paper)
			path := writeTemp(t, b)

			// Every Vietnamese string comes back with its diacritics.
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
			p := tc.paper
			for _, s := range append([]string{
				"HỘI ĐỒNG NHÂN DÂN TỈNH BÌNH DƯƠNG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc",
				"Bình Dương, ngày 29 tháng 11 năm 2026", "ĐẠI BIỂU", "(Ký, ghi rõ họ tên)", p.Name(),
				p.Person.FullName, "khoản 2 Điều 7 Quy chế quản lý, sử dụng các nhóm Zalo",
			}, p.Poll.Options...) {
				if !strings.Contains(got, s) {
					t.Errorf("pdftotext lacks %q", s)
				}
			}

			run(t, "qpdf", "--check", path)

			info := run(t, "pdfinfo", path)
			for _, s := range []string{
				"Pages:           1", "Page size:       595.28 x 841.89 pts (A4)",
				"Subject:         " + p.Name(), "Author:          Hội đồng nhân dân tỉnh Bình Dương",
				"Creator:         bieuquyet", "Keywords:        bieuquyet " + p.Name() + " people/5 " + p.Payload(),
				"Title:           PHIẾU XÁC NHẬN KẾT QUẢ",
			} {
				if !strings.Contains(info, s) {
					t.Errorf("pdfinfo lacks %q:\n%s", s, info)
				}
			}

			// The QR code of a page rendered at 150 dpi gives the payload back.
			tool(t, "zbarimg")
			png := filepath.Join(t.TempDir(), "page")
			run(t, "pdftoppm", "-r", "150", "-png", "-singlefile", path, png)
			code := strings.TrimSpace(run(t, "zbarimg", "--raw", "-q", png+".png"))
			if code != p.Payload() {
				t.Errorf("zbarimg read %q, want %q", code, p.Payload())
			}
			c, err := bq.ParseConfirmationPayload(code)
			if err != nil || !c.Matches(p) {
				t.Errorf("the decoded payload does not match its paper: %v", err)
			}
		})
	}
}

var examples = flag.String("examples", "", "write the example papers' PDFs into this directory")

// TestExamples writes the example papers for people to look at:
// go test ./pdf -run Examples -examples /tmp/x
func TestExamples(t *testing.T) {
	if *examples == "" {
		t.Skip("no -examples directory")
	}
	for name, p := range map[string]*bq.ConfirmationPaper{"vote": votePaper(), "opinion": opinionPaper()} {
		if err := os.WriteFile(filepath.Join(*examples, name+".pdf"), render(t, New(), p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLongNameAtFoot checks the delegate's name under the signature area, set at a fixed
// place near the foot: a name as long as the roster allows is refused with its field, or
// printed whole; it never runs off the page.
func TestLongNameAtFoot(t *testing.T) {
	p := votePaper()
	p.Person.FullName = string([]rune(strings.Repeat("Nguyễn Thị Hồng Nhung ", 14))[:bq.MaxTextLen])
	b, err := New().Confirmation(p)
	if err != nil {
		if bq.ErrorCode(err) != bq.CodeFailedPrecondition || !strings.Contains(err.Error(), "paper.person.full_name") {
			t.Fatalf("err = %v, want failed_precondition naming paper.person.full_name", err)
		}
		return
	}
	// The name is printed twice, in the body and under the signature area.
	if got, want := strings.Count(pdftotext(t, b, false), "Nhung"), 2*strings.Count(p.Person.FullName, "Nhung"); got != want {
		t.Errorf("pdftotext reads %d of the name's %d words \"Nhung\": part of it ran off the page", got, want)
	}
}
