package bieuquyet

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Điều 7.2 ends: "sau đó, đại biểu phải xác nhận ý chí, kết quả biểu quyết/cho ý kiến bằng
// văn bản". A confirmation is that writing: one document per voter of a closed poll, which
// the delegate signs and sends back.

// ConfirmationStatus is where a confirmation is in its life.
type ConfirmationStatus string

// The confirmation statuses of domain.md. Issue 5/7 issues confirmations awaiting
// signature; 6/7 moves them on.
const (
	StatusAwaitingSignature ConfirmationStatus = "awaiting_signature"
	StatusSigned            ConfirmationStatus = "signed"   // the issued document, untouched, signed by its delegate
	StatusMismatch          ConfirmationStatus = "mismatch" // the written choice differs from the recorded one
	StatusRejected          ConfirmationStatus = "rejected" // bad signature, wrong signer, altered document
	StatusDeclined          ConfirmationStatus = "declined"
	StatusOverdue           ConfirmationStatus = "overdue" // past the confirmation deadline
)

// Valid reports whether s is a known status.
func (s ConfirmationStatus) Valid() bool {
	switch s {
	case StatusAwaitingSignature, StatusSigned, StatusMismatch, StatusRejected, StatusDeclined, StatusOverdue:
		return true
	}
	return false
}

// Confirmation is one issued confirmation: a resource under its poll
// (polls/{poll}/confirmations/{id}) naming the delegate, the choice it confirms and the
// vote record that choice came from, and the digest of the exact document issued.
type Confirmation struct {
	ID       int64
	PollID   int64
	PersonID int64
	FullName string   // the delegate's name as in the poll's electorate
	Options  []int    // the confirmed choice: indices into the poll's options, ascending
	Choice   []string // the texts of Options
	// The vote record the choice came from.
	VoteID     int64
	VoteTime   time.Time
	VoteSource VoteSource
	VoteNote   string
	IssueTime  time.Time
	Deadline   time.Time // the confirmation deadline
	Status     ConfirmationStatus
	SHA256     string // hex SHA-256 of the issued document
	Size       int64  // bytes of the issued document

	// What came back, from the confirmation's history (Apply).
	StatusTime    time.Time         // when the status last changed; zero while awaiting
	Written       []int             // the written choice of a signed, paper, mismatched or declined confirmation
	WrittenChoice []string          // the texts of Written, filled by the store
	Reason        string            // a rejection's reason code
	Detail        string            // a rejection's message, or a decline's stated reason
	Resolution    *Resolution       // a mismatch settled: the written choice counts
	Reissued      *Resolution       // a mismatch settled by re-issuing with the corrected choice
	Evidence      *ConfirmationFile // the file behind the current status, without content
}

// Name returns "polls/{poll}/confirmations/{id}".
func (c *Confirmation) Name() string { return ConfirmationName(c.PollID, c.ID) }

// NewConfirmation issues confirmation id for a delegate's current vote in a poll, awaiting
// signature. A withdrawn vote is no vote and gets no confirmation.
func NewConfirmation(id int64, poll *Poll, vote *VoteRecord, issue, deadline time.Time) (*Confirmation, error) {
	switch {
	case id <= 0:
		return nil, Errorf(CodeInvalid, "confirmation id %d is not positive", id)
	case vote.PollID != poll.ID:
		return nil, Errorf(CodeInvalid, "vote %d belongs to poll %d, not %d", vote.ID, vote.PollID, poll.ID)
	case vote.Withdrawn():
		return nil, Errorf(CodeFailedPrecondition, "%s withdrew their vote: there is nothing to confirm", PersonName(vote.PersonID))
	case issue.IsZero():
		return nil, Errorf(CodeInvalid, "a confirmation needs its issue time")
	case !deadline.After(issue):
		return nil, Errorf(CodeInvalid, "the confirmation deadline must be after the issue time")
	}
	if err := poll.CheckChoice("vote.options", vote.Options); err != nil {
		return nil, err
	}
	opts := slices.Clone(vote.Options)
	slices.Sort(opts)
	choice := make([]string, len(opts))
	for i, o := range opts {
		choice[i] = poll.Options[o]
	}
	return &Confirmation{
		ID: id, PollID: poll.ID, PersonID: vote.PersonID, FullName: vote.FullName,
		Options: opts, Choice: choice,
		VoteID: vote.ID, VoteTime: vote.RecordTime, VoteSource: vote.Source, VoteNote: vote.Note,
		IssueTime: issue, Deadline: deadline,
		Status: StatusAwaitingSignature,
	}, nil
}

// SetDocument records the digest and size of the document issued for c.
func (c *Confirmation) SetDocument(doc []byte) {
	h := sha256.Sum256(doc)
	c.SHA256 = hex.EncodeToString(h[:])
	c.Size = int64(len(doc))
}

// CouncilZone is the council's time zone, Asia/Ho_Chi_Minh. Vietnam has kept UTC+7
// without daylight saving since 1975, so a fixed zone is exact and keeps the domain free
// of the system's zone database (documents must not depend on the machine).
var CouncilZone = time.FixedZone("ICT", 7*3600)

// DocumentDate writes t as the date of an administrative document, in the council's zone:
// "ngày 05 tháng 01 năm 2026". Nghị định 30/2020/NĐ-CP writes days below 10 and the months
// 1 and 2 with a leading zero ("ngày 29 tháng 11", "ngày 05 tháng 3").
func DocumentDate(t time.Time) string {
	t = t.In(CouncilZone)
	month := strconv.Itoa(int(t.Month()))
	if t.Month() <= time.February {
		month = "0" + month
	}
	return fmt.Sprintf("ngày %02d tháng %s năm %d", t.Day(), month, t.Year())
}

// DocumentTime writes t as a time of day and short date in the council's zone:
// "09 giờ 30 phút, ngày 27/11/2026".
func DocumentTime(t time.Time) string {
	t = t.In(CouncilZone)
	return fmt.Sprintf("%02d giờ %02d phút, ngày %02d/%02d/%d", t.Hour(), t.Minute(), t.Day(), int(t.Month()), t.Year())
}

// RegulationName is the name of the regulation whose Điều 7.2 the confirmations
// implement, for a council: "Quy chế quản lý, sử dụng các nhóm Zalo trong điều hành, trao
// đổi công việc của Hội đồng nhân dân tỉnh Bình Dương khóa X, nhiệm kỳ 2021 - 2026".
func RegulationName(c *Council) string {
	return "Quy chế quản lý, sử dụng các nhóm Zalo trong điều hành, trao đổi công việc của " + c.Name + " " + c.Term
}

// ConfirmationPaper is everything one confirmation document shows. The renderer draws
// only from these fields: every date comes from them (never the wall clock), so the same
// paper always gives the same bytes.
type ConfirmationPaper struct {
	ID         int64   // the confirmation's id; its name is ConfirmationName(Poll.ID, ID)
	Council    Council // name ("Hội đồng nhân dân tỉnh Bình Dương"), term, place ("Bình Dương")
	Regulation string  // the regulation's name; RegulationName(&Council) when empty
	BodyName   string  // display name of the group of the body that opened the poll
	OpenedBy   string  // display name of who opened the poll
	// Poll: title, question, kind, options, multiple choice, rule, eligible, create time,
	// deadline and electorate hash are shown.
	Poll   *Poll
	Person Person // the delegate: ID, full name, title
	// The confirmed choice (indices into Poll.Options, ascending) and the vote record it
	// came from.
	Options    []int
	VoteTime   time.Time
	VoteSource VoteSource
	VoteNote   string
	IssueTime  time.Time
	Deadline   time.Time // the confirmation deadline
}

// Name returns the confirmation's resource name.
func (p *ConfirmationPaper) Name() string { return ConfirmationName(p.Poll.ID, p.ID) }

// RegulationText returns the regulation's name as the paper cites it.
func (p *ConfirmationPaper) RegulationText() string {
	if p.Regulation != "" {
		return p.Regulation
	}
	return RegulationName(&p.Council)
}

// Validate checks that the paper has everything its document shows; renderers call it
// first.
func (p *ConfirmationPaper) Validate() error {
	var vs Violations
	if p.ID <= 0 {
		vs.Add("paper.id", "must be positive")
	}
	if p.Council.Name == "" {
		vs.Add("paper.council.name", "is required")
	}
	if p.Council.Place == "" {
		vs.Add("paper.council.place", "is required")
	}
	if p.Council.Term == "" && p.Regulation == "" {
		vs.Add("paper.council.term", "is required to name the regulation")
	}
	if p.BodyName == "" {
		vs.Add("paper.body_name", "is required")
	}
	if p.Person.ID <= 0 || p.Person.FullName == "" {
		vs.Add("paper.person", "needs an id and a full name")
	}
	if p.Poll == nil {
		vs.Add("paper.poll", "is required")
		return vs.Err("incomplete confirmation paper")
	}
	if p.Poll.ID <= 0 {
		vs.Add("paper.poll.id", "must be positive")
	}
	if p.Poll.Kind != KindVote && p.Poll.Kind != KindOpinion {
		vs.Add("paper.poll.kind", "must be vote or opinion")
	}
	if p.Poll.Title == "" || p.Poll.Question == "" {
		vs.Add("paper.poll", "needs a title and a question")
	}
	if len(p.Poll.Options) == 0 {
		vs.Add("paper.poll.options", "are required")
	}
	if p.Poll.CreateTime.IsZero() {
		vs.Add("paper.poll.create_time", "is required")
	}
	if len(p.Options) == 0 {
		vs.Add("paper.options", "a confirmation confirms a choice: a withdrawn vote gets none")
	} else if err := p.Poll.CheckChoice("paper.options", p.Options); err != nil {
		var e *Error
		if errors.As(err, &e) {
			vs = append(vs, e.Violations...)
		}
	} else if !slices.IsSorted(p.Options) {
		vs.Add("paper.options", "must be ascending")
	}
	switch p.VoteSource {
	case SourceZalo:
	case SourceOther:
		if p.VoteNote == "" {
			vs.Add("paper.vote_note", "a vote from another channel needs its note")
		}
	default:
		vs.Add("paper.vote_source", "must be zalo or other")
	}
	if p.VoteTime.IsZero() {
		vs.Add("paper.vote_time", "is required")
	}
	if p.IssueTime.IsZero() {
		vs.Add("paper.issue_time", "is required")
	}
	if !p.Deadline.After(p.IssueTime) {
		vs.Add("paper.deadline", "must be after the issue time")
	}
	if len(vs) > 0 {
		return vs.Err("incomplete confirmation paper")
	}
	return nil
}

// DocumentRenderer draws the documents the service issues. The domain declares it and
// `pdf` implements it, so the server reaches documents as it reaches the store.
type DocumentRenderer interface {
	// Confirmation renders one confirmation. The same paper gives the same bytes. A paper
	// whose wording cannot fit its one page is refused with CodeFailedPrecondition.
	Confirmation(p *ConfirmationPaper) ([]byte, error)
	// Report renders a poll's tally report for leaders, over as many A4 pages as its lists
	// need. The same report gives the same bytes.
	Report(r *TallyReport) ([]byte, error)
	// Printable says whether s can be printed in the documents; if not, a CodeInvalid
	// error names field and the first character that cannot. Text that will be printed
	// is checked when it is written, so that a poll cannot be opened whose confirmations
	// could never be issued.
	Printable(field, s string) error
}

// The payload of a confirmation's QR code (docs/confirmation-format.md):
//
//	BQ1:polls/{poll}/confirmations/{id}:{digest}
//
// where digest is the first 128 bits of ConfirmationDigest in unpadded base64url (22
// characters).
const (
	payloadTag    = "BQ1"
	digestLen     = 16
	digestTextLen = 22 // base64.RawURLEncoding.EncodedLen(digestLen)
	// maxPayloadLen bounds what ParseConfirmationPayload reads: the longest valid
	// payload, with two 19-digit ids, is 3+1+51+1+22 = 78 bytes.
	maxPayloadLen = 128
	digestContext = "bieuquyet-confirmation-v1"
)

// ConfirmationPayload is what a confirmation's QR code carries.
type ConfirmationPayload struct {
	Name   string // polls/{poll}/confirmations/{id}, canonical
	PollID int64
	ID     int64
	Digest [digestLen]byte
}

// ConfirmationDigest is the SHA-256 over what a confirmation confirms: its name, the
// poll, the delegate, each chosen option (index and text) and the poll's electorate hash,
// each field written as its length in bytes in decimal, ':', the bytes and '\n', after the
// context string. The length prefixes keep fields from running into one another whatever
// they contain.
func ConfirmationDigest(name, poll, person string, options []int, texts []string, electorateHash string) [sha256.Size]byte {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s)) + ":" + s + "\n"))
	}
	field(digestContext)
	field(name)
	field(poll)
	field(person)
	field(strconv.Itoa(len(options)))
	for i, o := range options {
		field(strconv.Itoa(o))
		field(texts[i])
	}
	field(electorateHash)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// Digest returns the paper's ConfirmationDigest.
func (p *ConfirmationPaper) Digest() [sha256.Size]byte {
	texts := make([]string, len(p.Options))
	for i, o := range p.Options {
		if o >= 0 && o < len(p.Poll.Options) {
			texts[i] = p.Poll.Options[o]
		}
	}
	return ConfirmationDigest(p.Name(), PollName(p.Poll.ID), PersonName(p.Person.ID), p.Options, texts, p.Poll.ElectorateHash)
}

// Payload returns the text of the paper's QR code.
func (p *ConfirmationPaper) Payload() string {
	d := p.Digest()
	return payloadTag + ":" + p.Name() + ":" + base64.RawURLEncoding.EncodeToString(d[:digestLen])
}

// Matches reports whether the payload names the paper's confirmation and carries the
// digest of what it confirms.
func (c ConfirmationPayload) Matches(p *ConfirmationPaper) bool {
	d := p.Digest()
	return c.Name == p.Name() && subtle.ConstantTimeCompare(c.Digest[:], d[:digestLen]) == 1
}

// ParseConfirmationPayload reads a QR payload strictly: the version tag, a canonical
// confirmation name and a 22-character base64url digest, nothing around or between them.
func ParseConfirmationPayload(s string) (ConfirmationPayload, error) {
	const field = "payload"
	var c ConfirmationPayload
	if len(s) > maxPayloadLen {
		return c, Invalid(field, "is %d bytes; a confirmation payload has at most %d", len(s), maxPayloadLen)
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "BQ") {
		return c, Invalid(field, "%q is not a confirmation payload like %s:%s:%s", s, payloadTag, ConfirmationName(3, 12), strings.Repeat("A", digestTextLen))
	}
	if parts[0] != payloadTag {
		return c, Invalid(field, "version %q is not supported (this build reads %s)", parts[0], payloadTag)
	}
	poll, id, err := ParseConfirmationName(field+".name", parts[1])
	if err != nil {
		return c, err
	}
	if len(parts[2]) != digestTextLen {
		return c, Invalid(field+".digest", "must be %d base64url characters", digestTextLen)
	}
	// Strict refuses non-zero padding bits, so each digest has one spelling.
	d, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	if err != nil || len(d) != digestLen {
		return c, Invalid(field+".digest", "must be %d base64url characters", digestTextLen)
	}
	c.Name, c.PollID, c.ID = parts[1], poll, id
	copy(c.Digest[:], d)
	return c, nil
}
