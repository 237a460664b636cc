package bieuquyet

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func samplePaper() *ConfirmationPaper {
	at := func(s string) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04", s, CouncilZone)
		if err != nil {
			panic(err)
		}
		return t
	}
	return &ConfirmationPaper{
		ID:       12,
		Council:  Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương"},
		BodyName: "HĐND - Ban Pháp chế",
		OpenedBy: "Trần Thị Bích",
		Poll: &Poll{
			ID: 3, Kind: KindVote, Title: "Thông qua dự thảo báo cáo thẩm tra",
			Question: "Đồng ý thông qua dự thảo báo cáo?", Options: append([]string(nil), VoteOptions...),
			Rule: RuleMajorityOfAll, Eligible: 7, CreateTime: at("2026-11-27 08:00"), Deadline: at("2026-11-28 17:00"),
			ElectorateHash: ElectorateHash([]int64{1, 2, 3, 4, 5, 6, 7}),
		},
		Person:     Person{ID: 5, FullName: "Nguyễn Văn An", Title: "Đại biểu HĐND tỉnh"},
		Options:    []int{0},
		VoteTime:   at("2026-11-27 09:30"),
		VoteSource: SourceZalo,
		IssueTime:  at("2026-11-29 10:00"),
		Deadline:   at("2026-12-02 17:00"),
	}
}

func TestConfirmationStatus(t *testing.T) {
	for _, s := range []ConfirmationStatus{StatusAwaitingSignature, StatusSigned, StatusMismatch, StatusRejected, StatusDeclined, StatusOverdue} {
		if !s.Valid() {
			t.Errorf("%q is not valid", s)
		}
	}
	for _, s := range []ConfirmationStatus{"", "AWAITING_SIGNATURE", "signed "} {
		if s.Valid() {
			t.Errorf("%q is valid", s)
		}
	}
}

func TestNewConfirmation(t *testing.T) {
	p := samplePaper().Poll
	p.Kind, p.Options, p.MultipleChoice, p.Rule = KindOpinion, []string{"A", "B", "C"}, true, RuleNone
	issue := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	vote := func(opts ...int) *VoteRecord {
		return &VoteRecord{ID: 40, PollID: 3, PersonID: 5, Options: opts, Source: SourceOther, Note: "gọi điện", RecordTime: issue.Add(-time.Hour)}
	}
	for _, tc := range []struct {
		name     string
		id       int64
		vote     *VoteRecord
		deadline time.Time
		code     Code
	}{
		{"ok", 9, vote(2, 0), issue.Add(time.Hour), ""},
		{"withdrawn", 9, vote(), issue.Add(time.Hour), CodeFailedPrecondition},
		{"bad option", 9, vote(3), issue.Add(time.Hour), CodeInvalid},
		{"other poll", 9, &VoteRecord{PollID: 4, Options: []int{0}}, issue.Add(time.Hour), CodeInvalid},
		{"zero id", 0, vote(1), issue.Add(time.Hour), CodeInvalid},
		{"deadline before issue", 9, vote(1), issue, CodeInvalid},
	} {
		c, err := NewConfirmation(tc.id, p, tc.vote, issue, tc.deadline)
		if ErrorCode(err) != tc.code || (err == nil) != (tc.code == "") {
			t.Errorf("%s: err = %v, want code %q", tc.name, err, tc.code)
			continue
		}
		if err != nil {
			continue
		}
		if c.Name() != "polls/3/confirmations/9" || c.Status != StatusAwaitingSignature ||
			strings.Join(c.Choice, ",") != "A,C" || c.Options[0] != 0 || c.VoteNote != "gọi điện" || c.VoteID != 40 {
			t.Errorf("%s: got %+v", tc.name, c)
		}
		c.SetDocument([]byte("abc"))
		if c.SHA256 != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" || c.Size != 3 {
			t.Errorf("SetDocument: %s %d", c.SHA256, c.Size)
		}
	}
}

func TestDocumentDates(t *testing.T) {
	for _, tc := range []struct {
		t          time.Time
		date, time string
	}{
		// 17:30 UTC is already the next day in Vietnam.
		{time.Date(2026, 11, 28, 17, 30, 0, 0, time.UTC), "ngày 29 tháng 11 năm 2026", "00 giờ 30 phút, ngày 29/11/2026"},
		{time.Date(2026, 1, 5, 2, 5, 0, 0, time.UTC), "ngày 05 tháng 01 năm 2026", "09 giờ 05 phút, ngày 05/01/2026"},
		{time.Date(2026, 2, 10, 0, 0, 0, 0, CouncilZone), "ngày 10 tháng 02 năm 2026", "00 giờ 00 phút, ngày 10/02/2026"},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, CouncilZone), "ngày 01 tháng 3 năm 2026", "00 giờ 00 phút, ngày 01/03/2026"},
	} {
		if got := DocumentDate(tc.t); got != tc.date {
			t.Errorf("DocumentDate(%v) = %q, want %q", tc.t, got, tc.date)
		}
		if got := DocumentTime(tc.t); got != tc.time {
			t.Errorf("DocumentTime(%v) = %q, want %q", tc.t, got, tc.time)
		}
	}
}

func TestConfirmationPaperValidate(t *testing.T) {
	if err := samplePaper().Validate(); err != nil {
		t.Fatalf("sample: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(p *ConfirmationPaper)
	}{
		{"paper.id", func(p *ConfirmationPaper) { p.ID = 0 }},
		{"paper.council.place", func(p *ConfirmationPaper) { p.Council.Place = "" }},
		{"paper.options", func(p *ConfirmationPaper) { p.Options = nil }},
		{"paper.options", func(p *ConfirmationPaper) { p.Options = []int{3} }},
		{"paper.options", func(p *ConfirmationPaper) { p.Options = []int{0, 1} }},
		{"paper.vote_note", func(p *ConfirmationPaper) { p.VoteSource = SourceOther }},
		{"paper.vote_source", func(p *ConfirmationPaper) { p.VoteSource = "" }},
		{"paper.deadline", func(p *ConfirmationPaper) { p.Deadline = p.IssueTime }},
		{"paper.poll", func(p *ConfirmationPaper) { p.Poll = nil }},
	} {
		p := samplePaper()
		tc.edit(p)
		err := p.Validate()
		e, ok := err.(*Error)
		if !ok || e.Code != CodeInvalid || !Violations(e.Violations).Has(tc.field) {
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
}

func TestRegulationName(t *testing.T) {
	p := samplePaper()
	want := "Quy chế quản lý, sử dụng các nhóm Zalo trong điều hành, trao đổi công việc của Hội đồng nhân dân tỉnh Bình Dương khóa X, nhiệm kỳ 2021 - 2026"
	if got := p.RegulationText(); got != want {
		t.Errorf("RegulationText = %q", got)
	}
	p.Regulation = "Quy chế khác"
	if got := p.RegulationText(); got != "Quy chế khác" {
		t.Errorf("RegulationText = %q", got)
	}
}

func TestConfirmationPayload(t *testing.T) {
	p := samplePaper()
	s := p.Payload()
	if !strings.HasPrefix(s, "BQ1:polls/3/confirmations/12:") || len(s) != len("BQ1:polls/3/confirmations/12:")+22 {
		t.Fatalf("Payload = %q", s)
	}
	// The digest is fixed by the format: a change here breaks every printed code.
	if want := "BQ1:polls/3/confirmations/12:" + goldenDigest; s != want {
		t.Errorf("Payload = %q, want %q", s, want)
	}
	c, err := ParseConfirmationPayload(s)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != p.Name() || c.PollID != 3 || c.ID != 12 || !c.Matches(p) {
		t.Errorf("parsed %+v", c)
	}
	// Every input the digest covers changes it.
	for name, edit := range map[string]func(p *ConfirmationPaper){
		"choice":     func(p *ConfirmationPaper) { p.Options = []int{1} },
		"person":     func(p *ConfirmationPaper) { p.Person.ID = 6 },
		"poll":       func(p *ConfirmationPaper) { p.Poll.ID = 4 },
		"id":         func(p *ConfirmationPaper) { p.ID = 13 },
		"electorate": func(p *ConfirmationPaper) { p.Poll.ElectorateHash = ElectorateHash([]int64{1}) },
		"text":       func(p *ConfirmationPaper) { p.Poll.Options[0] = "Đồng ý" },
	} {
		q := samplePaper()
		edit(q)
		if c.Matches(q) {
			t.Errorf("changing the %s keeps the payload matching", name)
		}
	}
	// What the digest does not cover does not change it: the paper's wording may be
	// corrected, its identity may not.
	q := samplePaper()
	q.Person.FullName, q.IssueTime = "Nguyễn Văn Ân", q.IssueTime.Add(time.Hour)
	if !c.Matches(q) {
		t.Error("the name's spelling or the issue time changed the digest")
	}
}

// goldenDigest was computed outside Go from docs/confirmation-format.md (see there).
const goldenDigest = "br4cHW2GvenLyQBOmf5NGg"

func TestParseConfirmationPayloadRefuses(t *testing.T) {
	good := samplePaper().Payload()
	digest := good[strings.LastIndex(good, ":")+1:]
	// 22 characters carry 132 bits for 128: the last one is A, Q, g or w, and "B" sets an
	// unused bit.
	badBits := "B"
	for _, s := range []string{
		"",
		"BQ1",
		"BQ1:polls/3/confirmations/12",
		"BQ2:polls/3/confirmations/12:" + digest,
		"bq1:polls/3/confirmations/12:" + digest,
		"BQ1:polls/03/confirmations/12:" + digest,
		"BQ1:polls/3/confirmations/+12:" + digest,
		"BQ1:polls/3/confirmation/12:" + digest,
		"BQ1:polls/3:" + digest,
		"BQ1:polls/3/confirmations/12:" + digest + "=",
		"BQ1:polls/3/confirmations/12:" + digest + "A",
		"BQ1:polls/3/confirmations/12:" + digest[:21],
		"BQ1:polls/3/confirmations/12:" + digest[:21] + badBits,
		"BQ1:polls/3/confirmations/12:" + strings.ReplaceAll(digest, digest[:1], "+"),
		"BQ1:polls/3/confirmations/12:" + digest + ":",
		" " + good,
		good + "\n",
		"BQ1:polls/3/confirmations/12:" + digest + strings.Repeat("x", 200),
	} {
		if s == good {
			continue
		}
		if c, err := ParseConfirmationPayload(s); err == nil || ErrorCode(err) != CodeInvalid {
			t.Errorf("ParseConfirmationPayload(%q) = %+v, %v; want an invalid error", s, c, err)
		}
	}
}

func FuzzParseConfirmationPayload(f *testing.F) {
	f.Add(samplePaper().Payload())
	f.Add("BQ1:polls/3/confirmations/12:AAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConfirmationPayload(s)
		if err != nil {
			return
		}
		// Whatever is accepted is canonical: writing it back gives the same text.
		back := "BQ1:" + ConfirmationName(c.PollID, c.ID) + ":" + base64.RawURLEncoding.EncodeToString(c.Digest[:])
		if back != s || c.Name != ConfirmationName(c.PollID, c.ID) {
			t.Fatalf("accepted %q, which writes back as %q", s, back)
		}
	})
}
