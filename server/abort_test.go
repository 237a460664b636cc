package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/bieuquyet/bieuquyet/internal/sheet/sheettest"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// pollState is everything a poll's calls may change, to compare before and after a call
// that must change nothing: the roster, the poll, its votes, its confirmations and the
// head of the audit trail.
func (h *pollHarness) pollState(t *testing.T, poll string) []proto.Message {
	t.Helper()
	ctx := context.Background()
	out := h.snapshot(t)
	if poll != "" {
		p, err := h.polls.GetPoll(ctx, &pb.GetPollRequest{Name: poll})
		if err != nil {
			t.Fatal(err)
		}
		votes, err := h.polls.ListVotes(ctx, &pb.ListVotesRequest{Poll: poll, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		confs, err := h.confs.ListConfirmations(ctx, &pb.ListConfirmationsRequest{Poll: poll, PageSize: 500})
		if err != nil && status.Code(err) != codes.FailedPrecondition {
			t.Fatal(err)
		}
		out = append(out, p, votes, confs)
	}
	head, err := h.audit.GetAuditHead(ctx, &pb.GetAuditHeadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, head)
}

// unchanged fails the test when the state differs from before, or the trail does not
// verify.
func (h *pollHarness) unchanged(t *testing.T, before []proto.Message, poll, when string) {
	t.Helper()
	if !sameSnapshot(before, h.pollState(t, poll)) {
		t.Errorf("%s changed what the service holds", when)
	}
	h.verified(t, when)
}

func violationDescriptions(st *status.Status) []string {
	var got []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				got = append(got, v.GetDescription())
			}
		}
	}
	return got
}

// zaloList is a pasted Zalo voter list naming every voter of the ban.
func (h *pollHarness) zaloList() []byte {
	var b strings.Builder
	b.WriteString("Tán thành\n")
	for _, v := range h.voters() {
		b.WriteString(v.GetFullName() + "\n")
	}
	return []byte(b.String())
}

// A request over MaxMessageSize is refused by the transport before any handler runs:
// RESOURCE_EXHAUSTED, and nothing changes.
func TestOversizedRequestsChangeNothing(t *testing.T) {
	h := startPolls(t)
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL).GetName()
	before := h.pollState(t, poll)
	huge := bytes.Repeat([]byte("Tán thành\n"), MaxMessageSize/10+1)
	ctx := context.Background()

	_, err := h.roster.ImportRoster(ctx, &pb.ImportRosterRequest{Content: huge})
	wantStatus(t, err, codes.ResourceExhausted)
	h.unchanged(t, before, poll, "an oversized ImportRoster")

	_, err = h.polls.ImportVotes(ctx, &pb.ImportVotesRequest{Poll: poll, Content: huge, Format: pb.VoteListFormat_VOTE_LIST_FORMAT_ZALO_TEXT})
	wantStatus(t, err, codes.ResourceExhausted)
	h.unchanged(t, before, poll, "an oversized ImportVotes")

	// A single stream message over the limit, and an upload announced over MaxUpload.
	stream, err := h.confs.SubmitSignedConfirmation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = upload(stream, &pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: &pb.SubmissionMetadata{Confirmation: poll + "/confirmations/1"}}},
		&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: huge}})
	wantStatus(t, err, codes.ResourceExhausted)
	stream, err = h.confs.SubmitSignedConfirmation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = upload(stream, &pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: &pb.SubmissionMetadata{Confirmation: poll + "/confirmations/1", SizeBytes: MaxUpload + 1}}},
		&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: []byte("%PDF-")}})
	wantStatus(t, err, codes.ResourceExhausted)
	h.unchanged(t, before, poll, "oversized uploads")
}

// A call whose deadline has passed before it is sent changes nothing; one whose deadline
// passes while the server works leaves all of it done or none: never part of a roster or
// of a vote list. The deadline grows until a call gets through.
func TestDeadlinesLeaveAllOrNothing(t *testing.T) {
	h := startPolls(t)
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL).GetName()
	list := h.zaloList()
	before := h.pollState(t, poll)

	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := h.polls.ImportVotes(expired, &pb.ImportVotesRequest{Poll: poll, Content: list})
	wantStatus(t, err, codes.DeadlineExceeded)
	_, err = h.roster.ImportRoster(expired, &pb.ImportRosterRequest{Content: readSample(t, "roster.csv")})
	wantStatus(t, err, codes.DeadlineExceeded)
	h.unchanged(t, before, poll, "calls past their deadline")

	// Votes: none recorded, or one for every voter of the list.
	n := len(h.voters())
	for d := 100 * time.Microsecond; ; d *= 2 {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := h.polls.ImportVotes(ctx, &pb.ImportVotesRequest{Poll: poll, Content: list})
		cancel()
		votes, lerr := h.polls.ListVotes(context.Background(), &pb.ListVotesRequest{Poll: poll, PageSize: 500})
		if lerr != nil {
			t.Fatal(lerr)
		}
		got := len(votes.GetVotes())
		t.Logf("ImportVotes within %v: %v; %d votes", d, status.Code(err), got)
		if got != 0 && got != n {
			t.Fatalf("ImportVotes cut short by its deadline (%v) left %d of %d votes", err, got, n)
		}
		h.verified(t, "an ImportVotes past its deadline")
		if got == n {
			break
		}
		if err == nil || d > 10*time.Second {
			t.Fatalf("ImportVotes: %v, and no vote recorded", err)
		}
		wantStatus(t, err, codes.DeadlineExceeded)
	}

	// A roster: a second council's file, whose import touches every person, on a fresh
	// store, is either not applied or applied whole.
	hs := startPolls(t)
	rosterBefore := hs.snapshot(t)
	edited := bytes.ReplaceAll(readSample(t, "roster.csv"), []byte("Đại biểu HĐND tỉnh"), []byte("Đại biểu Hội đồng nhân dân tỉnh"))
	for d := 100 * time.Microsecond; ; d *= 2 {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := hs.roster.ImportRoster(ctx, &pb.ImportRosterRequest{Content: edited})
		cancel()
		after := hs.snapshot(t)
		hs.verified(t, "an ImportRoster past its deadline")
		if sameSnapshot(rosterBefore, after) {
			if err == nil || d > 10*time.Second {
				t.Fatalf("ImportRoster: %v, and nothing changed", err)
			}
			wantStatus(t, err, codes.DeadlineExceeded)
			continue
		}
		t.Logf("ImportRoster got through within %v (%v)", d, status.Code(err))
		again, err := hs.roster.ImportRoster(context.Background(), &pb.ImportRosterRequest{Content: edited, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(again.GetChanges()) != 0 {
			t.Fatalf("ImportRoster cut short by its deadline left %d changes undone: %v", len(again.GetChanges()), again.GetChanges()[0])
		}
		break
	}
}

// An upload cancelled by the client mid-stream, or past its deadline, records nothing:
// neither a signed nor a paper confirmation, nor a rejection; the same upload sent whole
// is recorded.
func TestCancelledUploadsRecordNothing(t *testing.T) {
	h := startPollsWith(t, func(c *Config) { c.Verifier, c.Scans = refuseAll{}, blankScans{} })
	ctx := context.Background()
	p := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	poll := p.GetName()
	for _, v := range h.voters()[:3] {
		if err := h.record(t, p, v.GetPerson(), "Tán thành"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.polls.ClosePoll(ctx, &pb.ClosePollRequest{Name: poll}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.confs.GenerateConfirmations(ctx, &pb.GenerateConfirmationsRequest{Poll: poll}); err != nil {
		t.Fatal(err)
	}
	conf := poll + "/confirmations/1"
	before := h.pollState(t, poll)
	chunk := bytes.Repeat([]byte("%PDF-1.7 not quite "), 4096)

	signed := func(ctx context.Context) (pb.ConfirmationService_SubmitSignedConfirmationClient, error) {
		s, err := h.confs.SubmitSignedConfirmation(ctx)
		if err != nil {
			return nil, err
		}
		return s, s.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: &pb.SubmissionMetadata{Confirmation: conf, FileName: "x.pdf"}}})
	}
	paper := func(ctx context.Context) (pb.ConfirmationService_RecordPaperConfirmationClient, error) {
		s, err := h.confs.RecordPaperConfirmation(ctx)
		if err != nil {
			return nil, err
		}
		return s, s.Send(&pb.RecordPaperConfirmationRequest{Part: &pb.RecordPaperConfirmationRequest_Metadata{Metadata: &pb.PaperMetadata{Confirmation: conf, FileName: "scan.png"}}})
	}
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, cancel func()) error
	}{
		{"signed, cancelled after a chunk", func(ctx context.Context, cancel func()) error {
			s, err := signed(ctx)
			if err != nil {
				return err
			}
			if err := s.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: chunk}}); err != nil {
				return err
			}
			cancel()
			_, err = s.CloseAndRecv()
			return err
		}},
		{"signed, past its deadline mid-stream", func(ctx context.Context, cancel func()) error {
			ctx, c := context.WithTimeout(ctx, 50*time.Millisecond)
			defer c()
			s, err := signed(ctx)
			if err != nil {
				return err
			}
			for err == nil { // the client never ends the stream
				err = s.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: chunk[:1024]}})
				time.Sleep(5 * time.Millisecond)
			}
			if !errors.Is(err, io.EOF) {
				return err
			}
			_, err = s.CloseAndRecv()
			return err
		}},
		{"paper, cancelled after a chunk", func(ctx context.Context, cancel func()) error {
			s, err := paper(ctx)
			if err != nil {
				return err
			}
			if err := s.Send(&pb.RecordPaperConfirmationRequest{Part: &pb.RecordPaperConfirmationRequest_Chunk{Chunk: chunk}}); err != nil {
				return err
			}
			cancel()
			_, err = s.CloseAndRecv()
			return err
		}},
		{"paper, cancelled before a chunk", func(ctx context.Context, cancel func()) error {
			s, err := paper(ctx)
			if err != nil {
				return err
			}
			cancel()
			_, err = s.CloseAndRecv()
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			err := tc.run(ctx, cancel)
			if c := status.Code(err); c != codes.Canceled && c != codes.DeadlineExceeded {
				t.Fatalf("the call ended with %v, want CANCELLED or DEADLINE_EXCEEDED", err)
			}
			// The handler may still be winding down: give it the time to write, were it to.
			time.Sleep(100 * time.Millisecond)
			h.unchanged(t, before, poll, tc.name)
		})
	}

	// The same file sent whole is recorded: a rejection, here.
	s, err := signed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: chunk}}); err != nil {
		t.Fatal(err)
	}
	resp, err := s.CloseAndRecv()
	if err != nil || resp.GetConfirmation().GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED {
		t.Fatalf("a whole upload: %v, %v; want it recorded as rejected", resp, err)
	}
	if sameSnapshot(before, h.pollState(t, poll)) {
		t.Fatal("a whole upload changed nothing: the cancelled ones prove nothing")
	}
	h.verified(t, "a whole upload")
}

// An XLSX roster that is a ZIP bomb (a sheet of 500 KiB that unpacks to 256 MiB) is
// refused through the server without its memory growing by more than a few MiB.
func TestZipBombThroughTheServer(t *testing.T) {
	h := startPolls(t)
	before := h.pollState(t, "")
	bomb := sheettest.Replace(t, sheettest.Sheet(t), sheettest.SheetPart,
		sheettest.Repeat(sheettest.SheetHead+sheettest.InlineRow("record", "name"), "<row><c/></row>", sheettest.SheetTail, 256<<20/15))
	t.Logf("the bomb is %d KiB", len(bomb)>>10)
	var err error
	u := sheettest.Measure(func() {
		_, err = h.roster.ImportRoster(context.Background(), &pb.ImportRosterRequest{Content: bomb})
	})
	t.Logf("ImportRoster: %v", u)
	st := wantStatus(t, err, codes.InvalidArgument, "content")
	if d := violationDescriptions(st); len(d) != 1 || !strings.Contains(d[0], "unpacks to more than 16 MiB") {
		t.Errorf("violations %q do not say why", d)
	}
	if u.Peak > 64<<20 {
		t.Errorf("refusing the bomb held %d MiB at once; want at most 64", u.Peak>>20)
	}
	h.unchanged(t, before, "", "a ZIP bomb")
}
