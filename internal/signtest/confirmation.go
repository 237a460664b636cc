// Package signtest makes real certificates and real signed PDFs for tests: a confirmation
// as the service issues it, a test PKI shaped like the Vietnamese CAs' (a root, an issuing
// intermediate, RSA 2048 delegate certificates), signatures made with
// github.com/digitorus/pdfsign and with poppler's pdfsig, and tampered files written as
// real incremental updates. It is test tooling: its PDF reading is regular expressions that
// are right on the files made here (gofpdf, pdfsign and poppler output), not a parser.
//
// The functions taking a testing.TB fail the test on an error. The PKI and pdfsign
// signing also exist without one, returning errors (NewCAE, DelegateE, SignE, Save,
// LoadCA, LoadSigner), for tools such as internal/cmd/bieuquyet-testca; those generate new
// keys every time, where the test functions share a pool of keys.
package signtest

import (
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/pdf"
)

// Delegate is the person on the confirmations IssuedConfirmation makes.
const (
	DelegateID   = 12
	DelegateName = "Nguyễn Thị Hồng Nhung"
	PollID       = 3
)

// renderer is shared: pdf.Renderer is safe for concurrent use and cuts its fonts once.
var renderer = pdf.New()

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, bq.CouncilZone)
	if err != nil {
		panic(err)
	}
	return t
}

// Paper returns a valid confirmation paper for poll 3 (a vote of the Ban Pháp chế) and
// confirmation id, for people/12 "Nguyễn Thị Hồng Nhung" who voted "Tán thành". Every date
// is fixed, so the same id always renders to the same bytes.
func Paper(id int64) *bq.ConfirmationPaper {
	return &bq.ConfirmationPaper{
		ID:       id,
		Council:  bq.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương"},
		BodyName: "HĐND - Ban Pháp chế",
		OpenedBy: "Trần Thị Bích Ngọc",
		Poll: &bq.Poll{
			ID: PollID, Kind: bq.KindVote,
			Title:    "Thông qua Báo cáo thẩm tra dự thảo Nghị quyết về bảo đảm trật tự an toàn giao thông",
			Question: "Đồng chí có đồng ý thông qua Báo cáo thẩm tra của Ban Pháp chế đối với dự thảo Nghị quyết quy định một số biện pháp bảo đảm trật tự, an toàn giao thông trên địa bàn tỉnh không?",
			Options:  append([]string(nil), bq.VoteOptions...),
			Rule:     bq.RuleMajorityOfAll, Eligible: 7,
			CreateTime: at("2026-11-27 08:00"), Deadline: at("2026-11-28 17:00"),
			ElectorateHash: bq.ElectorateHash([]int64{10, 11, 12, 13, 14, 15, 16}),
		},
		Person:     bq.Person{ID: DelegateID, FullName: DelegateName, Title: "Ủy viên Ban Pháp chế HĐND tỉnh", Delegate: true},
		Options:    []int{0},
		VoteTime:   at("2026-11-27 09:35"),
		VoteSource: bq.SourceZalo,
		IssueTime:  at("2026-11-29 10:00"),
		Deadline:   at("2026-12-02 17:00"),
	}
}

// IssuedConfirmation returns Paper(id) and the PDF pdf.New() renders for it: the unsigned
// file the service issues, byte for byte.
func IssuedConfirmation(t testing.TB, id int64) (*bq.ConfirmationPaper, []byte) {
	t.Helper()
	p := Paper(id)
	b, err := renderer.Confirmation(p)
	if err != nil {
		t.Fatalf("render %s: %v", p.Name(), err)
	}
	return p, b
}
