package signedpdf

import (
	"os"
	"sync"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/pdf"
)

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, bq.CouncilZone)
	if err != nil {
		panic(err)
	}
	return t
}

// votePaper is the vote of pdf/confirmation_test.go.
func votePaper() *bq.ConfirmationPaper {
	return &bq.ConfirmationPaper{
		ID:       12,
		Council:  bq.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương"},
		BodyName: "HĐND - Ban Pháp chế",
		OpenedBy: "Trần Thị Bích Ngọc",
		Poll: &bq.Poll{
			ID: 3, Kind: bq.KindVote,
			Title:    "Thông qua Báo cáo thẩm tra dự thảo Nghị quyết",
			Question: "Đồng chí có đồng ý thông qua Báo cáo thẩm tra không?",
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

var issuedOnce struct {
	sync.Once
	b   []byte
	err error
}

// issuedDoc renders the vote paper once with the real renderer.
func issuedDoc(t testing.TB) []byte {
	t.Helper()
	issuedOnce.Do(func() { issuedOnce.b, issuedOnce.err = pdf.New().Confirmation(votePaper()) })
	if issuedOnce.err != nil {
		t.Fatal(issuedOnce.err)
	}
	return issuedOnce.b
}

func TestDumpIssued(t *testing.T) {
	if p := os.Getenv("SIGNEDPDF_DUMP"); p != "" {
		if err := os.WriteFile(p, issuedDoc(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
