package bieuquyet

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TallyReport is everything the leaders' tally report of a poll shows (issue 8, "The tally
// report"). The renderer draws only from these fields: the print time and the audit head
// are given, never read from the clock or the store, so the same report always gives the
// same bytes.
type TallyReport struct {
	Council  Council // name ("Hội đồng nhân dân tỉnh Bình Dương") and place ("Bình Dương")
	BodyName string  // display name of the group of the body that opened the poll
	OpenedBy string  // display name of who opened the poll
	// Tally is the count at printing, decided (Tally.Decide); Tally.Poll is the poll
	// reported: its title, question, kind, options, rule, state, create, deadline and close
	// times, electorate hash and eligible count are shown.
	Tally *Tally
	// Confirmations holds each voter's confirmation status by person id. It is empty
	// before confirmations are issued; a voter without one is shown with "—".
	Confirmations map[int64]ConfirmationStatus
	PrintTime     time.Time // when the report is printed: its date and every page's foot
	// AuditHead is the audit trail's head at printing, "seq:hex" (AuditHeadText), which
	// every page carries so that a filed copy witnesses the trail.
	AuditHead string
}

// AuditHeadText writes an audit trail head as the report and the CLI print it:
// "280:9f86d081…", the sequence number, a colon and the hash in lower-case hex.
func AuditHeadText(seq int64, hash []byte) string {
	return fmt.Sprintf("%d:%x", seq, hash)
}

// Validate checks that the report has everything its document shows; renderers call it
// first.
func (r *TallyReport) Validate() error {
	var vs Violations
	if r.Council.Name == "" {
		vs.Add("report.council.name", "is required")
	}
	if r.Council.Place == "" {
		vs.Add("report.council.place", "is required")
	}
	if r.BodyName == "" {
		vs.Add("report.body_name", "is required")
	}
	if r.OpenedBy == "" {
		vs.Add("report.opened_by", "is required")
	}
	if r.PrintTime.IsZero() {
		vs.Add("report.print_time", "is required")
	}
	if !validAuditHead(r.AuditHead) {
		vs.Add("report.audit_head", "must be seq:hex like 280:9f86d081…, not %q", r.AuditHead)
	}
	for id, s := range r.Confirmations {
		if !s.Valid() {
			vs.Add("report.confirmations", "%s has an unknown status %q", PersonName(id), s)
		}
	}
	t := r.Tally
	if t == nil || t.Poll == nil {
		vs.Add("report.tally", "is required, with its poll")
		return vs.Err("incomplete tally report")
	}
	p := t.Poll
	if p.ID <= 0 {
		vs.Add("report.tally.poll.id", "must be positive")
	}
	if p.Kind != KindVote && p.Kind != KindOpinion {
		vs.Add("report.tally.poll.kind", "must be vote or opinion")
	}
	if p.Title == "" || p.Question == "" {
		vs.Add("report.tally.poll", "needs a title and a question")
	}
	if len(p.Options) == 0 {
		vs.Add("report.tally.poll.options", "are required")
	}
	if p.CreateTime.IsZero() {
		vs.Add("report.tally.poll.create_time", "is required")
	}
	if len(t.Counts) != len(p.Options) || len(t.Choices) != len(p.Options) {
		vs.Add("report.tally", "has %d counts and %d lists of voters for %d options", len(t.Counts), len(t.Choices), len(p.Options))
	}
	if p.Kind == KindVote && t.Outcome == "" {
		vs.Add("report.tally.outcome", "is not decided (Tally.Decide)")
	}
	if len(vs) > 0 {
		return vs.Err("incomplete tally report")
	}
	return nil
}

// validAuditHead reports whether s is "seq:hex" with a positive sequence number, or
// "0:" for an empty trail.
func validAuditHead(s string) bool {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 0 || len(hash)%2 != 0 || (n > 0) != (hash != "") {
		return false
	}
	for _, c := range hash {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
