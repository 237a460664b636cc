package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

var auditCommands = []*command{
	{
		path:     "audit list",
		synopsis: "[--target T] [--actor A] [--since TIME] [--until TIME] [--page-size N] [--page-token T] [--all]",
		summary:  "list the audit trail's events in the order they happened: all of them, or a page at a time with --page-size",
		setup: func(fs *flag.FlagSet) action {
			var since, until timeFlag
			target := fs.String("target", "", "only events about this resource: people/ID, groups/ID, tokens/ID or council")
			actor := fs.String("actor", "", "only events by this actor: people/ID or tokens/ID")
			fs.Var(&since, "since", "only events at or after this `TIME`")
			fs.Var(&until, "until", "only events before this `TIME`")
			pages := pageVars(fs, "events")
			return func(ctx context.Context, a *app, _ []string) error {
				if err := pages.check(fs.Name()); err != nil {
					return err
				}
				if since.set && until.set && !since.at(a.loc).Before(until.at(a.loc)) {
					return usageErrorf(fs.Name(), "--since must be before --until")
				}
				req := &pb.ListAuditEventsRequest{PageSize: pages.pageSize(), PageToken: pages.token,
					Target: strings.TrimSpace(*target), Actor: strings.TrimSpace(*actor),
					StartTime: since.timestamp(a.loc), EndTime: until.timestamp(a.loc)}
				events, next, err := listPages(ctx, a, services.ListAuditEvents, req, &req.PageToken, pages.follow(),
					(*pb.ListAuditEventsResponse).GetEvents)
				if err != nil {
					return err
				}
				resp := &pb.ListAuditEventsResponse{Events: events, NextPageToken: next}
				var refs []string
				for _, e := range events {
					refs = append(refs, e.GetActor(), e.GetTarget())
				}
				a.lookupNames(ctx, refs...)
				return a.showPage(resp, func(w io.Writer) error { return a.eventsTable(w, events) })
			}
		},
	},
	{
		path:     "audit verify",
		synopsis: "[--head SEQ:HEX]...",
		summary:  "recompute the audit trail's hash chain and check heads written down earlier; exit 1 when it is broken",
		setup: func(fs *flag.FlagSet) action {
			var heads headsFlag
			fs.Var(&heads, "head", "a head `SEQ:HEX` printed earlier by 'bieuquyet audit head', which must still be in the trail, unchanged (repeatable)")
			return func(ctx context.Context, a *app, _ []string) error {
				resp, err := call(ctx, a, services.VerifyAuditLog, &pb.VerifyAuditLogRequest{KnownHeads: heads})
				if err != nil {
					return err
				}
				if err := a.show(resp, func(w io.Writer) error { return verdict(w, resp) }); err != nil {
					return err
				}
				if !resp.GetOk() {
					return errReported
				}
				return nil
			}
		},
	},
	{
		path:    "audit head",
		summary: "print the newest event as SEQ:HEX, to write down outside the service and give back to audit verify --head",
		setup: func(fs *flag.FlagSet) action {
			return func(ctx context.Context, a *app, _ []string) error {
				resp, err := call(ctx, a, services.GetAuditHead, &pb.GetAuditHeadRequest{})
				if err != nil {
					return err
				}
				return a.show(resp, func(w io.Writer) error {
					_, err := fmt.Fprintln(w, formatHead(resp.GetHead()))
					return err
				})
			}
		},
	},
}

func (a *app) eventsTable(w io.Writer, events []*pb.AuditEvent) error {
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "no events")
		return err
	}
	t := newTable("SEQ", "TIME", "ACTOR", "ACTION", "OUTCOME", "TARGET", "SUMMARY")
	for _, e := range events {
		target := e.GetTarget()
		if target == "" {
			target = "-" // a refused call that named nothing
		}
		t.add(strconv.FormatInt(e.GetSeq(), 10), a.when(e.GetTime()), a.label(e.GetActor()), e.GetAction(), e.GetOutcome(),
			a.label(target), e.GetSummary())
	}
	return t.write(w)
}

// verdict prints the result of a verification as one line.
func verdict(w io.Writer, v *pb.VerifyAuditLogResponse) error {
	var line string
	switch {
	case v.GetOk():
		line = fmt.Sprintf("audit trail intact: %s, head %d %x", plural(int(v.GetEventsChecked()), "event", "events"),
			v.GetHead().GetSeq(), v.GetHead().GetHash())
	case v.GetFirstBadSeq() > 0:
		line = fmt.Sprintf("audit trail BROKEN at event %d: %s", v.GetFirstBadSeq(), printLine(v.GetProblem()))
	default:
		line = "audit trail BROKEN at its end: " + printLine(v.GetProblem())
	}
	_, err := fmt.Fprintln(w, line)
	return err
}

// formatHead writes a head as audit head prints it and audit verify --head reads it.
func formatHead(h *pb.AuditHead) string {
	return fmt.Sprintf("%d:%x", h.GetSeq(), h.GetHash())
}

// parseHead reads a head as formatHead writes it.
func parseHead(s string) (*pb.AuditHead, error) {
	seqText, hexText, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return nil, errors.New("must be SEQ:HEX, as 'bieuquyet audit head' prints it")
	}
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if err != nil || seq < 0 {
		return nil, errors.New("SEQ must be a whole number, 0 or more")
	}
	hash, err := hex.DecodeString(hexText)
	if err != nil || len(hash) != sha256.Size {
		return nil, fmt.Errorf("HEX must be %d hexadecimal digits, a SHA-256 hash", 2*sha256.Size)
	}
	return &pb.AuditHead{Seq: seq, Hash: hash}, nil
}

// headsFlag is a repeatable flag of heads: each use adds one.
type headsFlag []*pb.AuditHead

func (f *headsFlag) String() string {
	if f == nil {
		return ""
	}
	var s []string
	for _, h := range *f {
		s = append(s, formatHead(h))
	}
	return strings.Join(s, " ")
}

func (f *headsFlag) Set(s string) error {
	h, err := parseHead(s)
	if err != nil {
		return err
	}
	*f = append(*f, h)
	return nil
}

// timeFlag is a moment given as RFC 3339 or as a date, which means midnight in --tz. As
// for momentFlag, Set checks the form and timestamp reads the moment.
type timeFlag struct {
	set bool
	s   string
}

func (f *timeFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return f.s
}

func (f *timeFlag) Set(s string) error {
	s = strings.TrimSpace(s)
	if _, err := parseTime(s, time.UTC); err != nil {
		return err
	}
	f.set, f.s = true, s
	return nil
}

// at is the moment, a date read in loc.
func (f *timeFlag) at(loc *time.Location) time.Time {
	t, _ := parseTime(f.s, loc) // checked by Set
	return t
}

func (f *timeFlag) timestamp(loc *time.Location) *timestamppb.Timestamp {
	if !f.set {
		return nil
	}
	return timestamppb.New(f.at(loc))
}

func parseTime(s string, loc *time.Location) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, s, loc)
	}
	if err != nil {
		return time.Time{}, errors.New(`must be RFC 3339, as in 2026-03-01T08:00:00+07:00, or a date, as in 2026-03-01`)
	}
	return t, nil
}
