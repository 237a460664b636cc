package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/pdf"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// download reads a confirmation's stream: the confirmation first, then the bytes.
func download(t *testing.T, ctx context.Context, c pb.ConfirmationServiceClient, name string) (*pb.Confirmation, []byte, error) {
	t.Helper()
	stream, err := c.DownloadConfirmation(ctx, &pb.DownloadConfirmationRequest{Name: name})
	if err != nil {
		return nil, nil, err
	}
	first, err := stream.Recv()
	if err != nil {
		return nil, nil, err
	}
	if first.GetConfirmation() == nil || len(first.GetChunk()) > 0 {
		t.Fatalf("first message: %v", first)
	}
	var doc []byte
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			return first.GetConfirmation(), doc, nil
		}
		if err != nil {
			return nil, nil, err
		}
		if m.GetConfirmation() != nil || len(m.GetChunk()) == 0 || len(m.GetChunk()) > chunkSize {
			t.Fatalf("a later message carries %d bytes and a confirmation %v", len(m.GetChunk()), m.GetConfirmation())
		}
		doc = append(doc, m.GetChunk()...)
	}
}

// personToken makes a token for a person of the roster.
func (h *pollHarness) personToken(t *testing.T, person string) string {
	t.Helper()
	id, err := bq.ParseName("person", bq.People, person)
	if err != nil {
		t.Fatal(err)
	}
	secret, hash, _ := bq.NewTokenSecret()
	if _, err := h.st.CreateToken(context.Background(), bq.Audit{Actor: "local:test"},
		&bq.Token{Name: person, Role: bq.TokenPerson, PersonID: id, Hash: hash, ExpireTime: h.clock.Now().Add(24 * time.Hour)}, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	return secret
}

// A vote of the Ban Pháp chế of the sample roster, closed, its confirmations issued as
// PDFs through the real server, store and renderer, read back and issued again.
func TestConfirmationsOfAVoteInBanPhapChe(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	voters := h.voters()
	withdrawn, silent := voters[2].GetPerson(), voters[3].GetPerson()
	var want []string // who gets a confirmation, in person order as the roster numbers them
	for i, v := range voters {
		if v.GetPerson() == silent {
			continue
		}
		option := []string{"Tán thành", "Không tán thành", "Không biểu quyết"}[i%3]
		if err := h.record(t, poll, v.GetPerson(), option); err != nil {
			t.Fatal(err)
		}
		if v.GetPerson() != withdrawn {
			want = append(want, v.GetPerson())
		}
	}
	if _, err := h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: poll.GetName(), Person: withdrawn, Withdraw: true,
		Source: pb.VoteSource_VOTE_SOURCE_OTHER, Note: "gọi điện rút lại"}); err != nil {
		t.Fatal(err)
	}
	_, err := h.confs.GenerateConfirmations(ctx, &pb.GenerateConfirmationsRequest{Poll: poll.GetName()})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("generate on an open poll: %v", err)
	}
	h.clock.Advance(10 * time.Minute)
	if _, err := h.polls.ClosePoll(ctx, &pb.ClosePollRequest{Name: poll.GetName()}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Hour)
	deadline := h.clock.Now().Add(72 * time.Hour)
	gen, err := h.confs.GenerateConfirmations(ctx, &pb.GenerateConfirmationsRequest{Poll: poll.GetName(),
		ConfirmationDeadline: timestamppb.New(deadline), RequestId: "gen-1"})
	if err != nil {
		t.Fatal(err)
	}
	if gen.GetPoll().GetState() != pb.PollState_POLL_STATE_CONFIRMING || !gen.GetPoll().GetConfirmationDeadline().AsTime().Equal(deadline) {
		t.Fatalf("poll after generate: %v", gen.GetPoll())
	}
	confs := gen.GetConfirmations()
	if len(confs) != len(want) {
		t.Fatalf("%d confirmations, want %d (one per delegate with a current choice)", len(confs), len(want))
	}
	got := map[string]bool{}
	for _, c := range confs {
		got[c.GetPerson()] = true
		if c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE || !c.GetIssueTime().AsTime().Equal(h.clock.Now()) ||
			!c.GetDeadline().AsTime().Equal(deadline) || len(c.GetOptions()) != 1 || c.GetSizeBytes() < 1000 {
			t.Errorf("confirmation %v", c)
		}
		pollID, id, err := bq.ParseConfirmationName("name", c.GetName())
		if err != nil || pollID != mustPollID(t, poll) {
			t.Errorf("name %q: %v", c.GetName(), err)
		}
		if fn := (&bq.Confirmation{ID: id, PollID: pollID, FullName: c.GetFullName()}).FileName(); c.GetFileName() != fn || !isASCII(fn) {
			t.Errorf("file name %q, want %q", c.GetFileName(), fn)
		}
	}
	for _, p := range want {
		if !got[p] {
			t.Errorf("%s voted and has no confirmation", p)
		}
	}
	if got[withdrawn] || got[silent] {
		t.Errorf("a confirmation for a withdrawn vote or a delegate who never voted")
	}

	// Each document as stored: its bytes give its digest, and it is a PDF.
	docs := map[string][]byte{}
	for _, c := range confs {
		meta, doc, err := download(t, ctx, h.confs, c.GetName())
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(doc)
		if hex.EncodeToString(sum[:]) != c.GetSha256() || int64(len(doc)) != c.GetSizeBytes() || meta.GetSha256() != c.GetSha256() || !bytes.HasPrefix(doc, []byte("%PDF-")) {
			t.Fatalf("%s: %d bytes, sha256 %x, want %s", c.GetName(), len(doc), sum, c.GetSha256())
		}
		docs[c.GetName()] = doc
	}

	// Again, with no request id, the same id, and the same id with another deadline: the
	// same confirmations and bytes, never new ones.
	h.clock.Advance(time.Hour)
	for _, req := range []*pb.GenerateConfirmationsRequest{
		{Poll: poll.GetName()},
		{Poll: poll.GetName(), ConfirmationDeadline: timestamppb.New(deadline), RequestId: "gen-1"},
		{Poll: poll.GetName(), ConfirmationDeadline: timestamppb.New(deadline.Add(time.Hour)), RequestId: "gen-1"},
	} {
		again, err := h.confs.GenerateConfirmations(ctx, req)
		if err != nil {
			t.Fatalf("generate again %v: %v", req, err)
		}
		if len(again.GetConfirmations()) != len(confs) {
			t.Fatalf("generate again: %d confirmations", len(again.GetConfirmations()))
		}
		for i, c := range again.GetConfirmations() {
			if c.GetName() != confs[i].GetName() || c.GetSha256() != confs[i].GetSha256() || !c.GetIssueTime().AsTime().Equal(confs[i].GetIssueTime().AsTime()) {
				t.Fatalf("generate again: %v, first %v", c, confs[i])
			}
		}
	}
	other := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	if err := h.record(t, other, voters[0].GetPerson(), "Tán thành"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.polls.ClosePoll(ctx, &pb.ClosePollRequest{Name: other.GetName()}); err != nil {
		t.Fatal(err)
	}
	_, err = h.confs.GenerateConfirmations(ctx, &pb.GenerateConfirmationsRequest{Poll: other.GetName(), RequestId: "gen-1"})
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("request id reused for another poll: %v", err)
	}
	if p, err := h.polls.GetPoll(ctx, &pb.GetPollRequest{Name: other.GetName()}); err != nil || p.GetPoll().GetState() != pb.PollState_POLL_STATE_CLOSED {
		t.Fatalf("the other poll after a refused request: %v, %v", p, err)
	}
	list, err := h.confs.ListConfirmations(ctx, &pb.ListConfirmationsRequest{Poll: poll.GetName(), PageSize: 2})
	if err != nil || len(list.GetConfirmations()) != 2 || list.GetNextPageToken() == "" {
		t.Fatalf("first page: %v, %v", list, err)
	}
	var all []*pb.Confirmation
	for token := ""; ; {
		page, err := h.confs.ListConfirmations(ctx, &pb.ListConfirmationsRequest{Poll: poll.GetName(), PageSize: 3, PageToken: token,
			Status: pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.GetConfirmations()...)
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(all) != len(confs) {
		t.Fatalf("pages hold %d confirmations, want %d", len(all), len(confs))
	}

	// A delegate sees and downloads their own, and nobody else's.
	mine, theirs := confs[1], confs[2]
	token := h.personToken(t, mine.GetPerson())
	as := withToken(ctx, token)
	own, err := h.confs.ListConfirmations(as, &pb.ListConfirmationsRequest{Poll: poll.GetName()})
	if err != nil || len(own.GetConfirmations()) != 1 || own.GetConfirmations()[0].GetName() != mine.GetName() {
		t.Fatalf("a delegate lists %v, %v", own, err)
	}
	if _, doc, err := download(t, as, h.confs, mine.GetName()); err != nil || !bytes.Equal(doc, docs[mine.GetName()]) {
		t.Fatalf("a delegate downloads their own: %v", err)
	}
	if _, _, err := download(t, as, h.confs, theirs.GetName()); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a delegate downloads another's: %v", err)
	}
	if _, err := h.confs.GetConfirmation(as, &pb.GetConfirmationRequest{Name: bq.ConfirmationName(mustPollID(t, poll), 999)}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a delegate asks for a confirmation that does not exist: %v", err)
	}
	if _, _, err := download(t, as, h.confs, bq.ConfirmationName(mustPollID(t, poll), 999)); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a delegate downloads a confirmation that does not exist: %v", err)
	}

	// A voter who has left the group since still lists their own confirmation; another
	// delegate of the council, never in this poll, lists nothing.
	if _, err := h.roster.RemoveGroupMember(ctx, &pb.RemoveGroupMemberRequest{Group: h.ban.GetName(), Person: mine.GetPerson()}); err != nil {
		t.Fatal(err)
	}
	if own, err := h.confs.ListConfirmations(as, &pb.ListConfirmationsRequest{Poll: poll.GetName()}); err != nil || len(own.GetConfirmations()) != 1 {
		t.Fatalf("a voter who left the group lists %v, %v", own, err)
	}
	outsider := withToken(ctx, h.personToken(t, "people/1"))
	if _, err := h.confs.ListConfirmations(outsider, &pb.ListConfirmationsRequest{Poll: poll.GetName()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a delegate outside the poll lists: %v", err)
	}

	// The poll reports CONFIRMING, and watching it goes on.
	tally, err := h.polls.GetTally(ctx, &pb.GetTallyRequest{Poll: poll.GetName()})
	if err != nil || tally.GetTally().GetState() != pb.PollState_POLL_STATE_CONFIRMING {
		t.Fatalf("tally: %v, %v", tally, err)
	}
	if _, err := h.polls.CancelPoll(ctx, &pb.CancelPollRequest{Name: poll.GetName(), Reason: "muộn"}); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("cancel a confirming poll: %v", err)
	}

	// Rendering is deterministic: the stored records, read by another store on the same
	// file (as after a restart) and drawn twice by a new renderer, give the issued bytes.
	st, err := sqlite.Open(ctx, h.path, sqlite.Options{Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs := &confirmationServer{store: st, render: pdf.New()}
	stored, _, err := st.GetPoll(ctx, mustPollID(t, poll))
	if err != nil {
		t.Fatal(err)
	}
	records, err := st.ListConfirmations(ctx, store.ConfirmationFilter{PollID: stored.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		again, err := cs.renderAll(ctx, stored, records)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range records {
			if !bytes.Equal(again[i], docs[c.Name()]) {
				t.Fatalf("%s renders to other bytes from its stored records", c.Name())
			}
		}
	}

	// The leaders' report: the tally, each voter's confirmation, and the trail's head.
	head, err := h.audit.GetAuditHead(ctx, &pb.GetAuditHeadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := h.confs.GetTallyReport(ctx, &pb.GetTallyReportRequest{Poll: poll.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	var report []byte
	first, err := stream.Recv()
	for err == nil {
		msg, rerr := stream.Recv()
		if rerr != nil {
			err = rerr
			break
		}
		report = append(report, msg.GetChunk()...)
	}
	if err != io.EOF {
		t.Fatalf("report stream: %v", err)
	}
	sum := sha256.Sum256(report)
	if hex.EncodeToString(sum[:]) != first.GetSha256() || int64(len(report)) != first.GetSizeBytes() || !bytes.HasPrefix(report, []byte("%PDF-")) {
		t.Fatalf("report: %d bytes, header %v", len(report), first)
	}
	if text := pdfText(t, report); text != "" {
		for _, want := range []string{"BÁO CÁO KẾT QUẢ BIỂU QUYẾT", "HĐND - Ban Pháp chế", "Chờ ký",
			fmt.Sprintf("Đầu chuỗi nhật ký: %d:%x", head.GetHead().GetSeq(), head.GetHead().GetHash())} {
			if !strings.Contains(text, want) {
				t.Errorf("the report lacks %q:\n%s", want, text)
			}
		}
	}

	v, err := h.audit.VerifyAuditLog(ctx, &pb.VerifyAuditLogRequest{})
	if err != nil || !v.GetOk() {
		t.Fatalf("verify: %v, %v", v, err)
	}
}

// pdfText is what pdftotext reads from doc, or "" (and the test notes it) without it.
func pdfText(t *testing.T, doc []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Log("pdftotext is not installed (poppler-utils): the report's text is not checked")
		return ""
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

func TestGenerateConfirmationsWithoutARenderer(t *testing.T) {
	f := newFixture(t)
	h := startWith(t, Config{Store: f.h.st}, f.tokens[asAdmin])
	_, err := h.confs.GenerateConfirmations(context.Background(), &pb.GenerateConfirmationsRequest{Poll: bq.PollName(f.closed)})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("generate without a renderer: %v", err)
	}
	// What was issued can still be read.
	if _, err := h.confs.GenerateConfirmations(context.Background(), &pb.GenerateConfirmationsRequest{Poll: bq.PollName(f.confirmed)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.confs.GenerateConfirmations(context.Background(), &pb.GenerateConfirmationsRequest{Poll: "polls/03"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("a poll name not in canonical form: %v", err)
	}
}

func mustPollID(t *testing.T, p *pb.Poll) int64 {
	t.Helper()
	id, err := bq.ParseName("name", bq.Polls, p.GetName())
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
