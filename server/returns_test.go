package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/signtest"
	"github.com/bieuquyet/bieuquyet/pdf"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/qrscan"
	"github.com/bieuquyet/bieuquyet/signedpdf"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// End-to-end tests of what comes back for a confirmation (issue 6/7): the real server over
// bufconn, a real SQLite store, the real renderer, the real verifier reading a roots folder
// (signedpdf.Checker, as --trust-roots wires it) and the real QR reader, with files signed
// by pdfsign and by poppler's pdfsig.

// The people of the returns roster. The CCCD delegate's certificate carries the number in
// its subject's UID; the fingerprint delegate is bound to their certificate's SHA-256; the
// unbound delegate has no signing identity.
const (
	leaderName   = "Trần Thị Bích Ngọc"
	cccdName     = "Nguyễn Thị Hồng Nhung"
	cccdNumber   = "079203000101"
	fprName      = "Lê Văn Bình"
	unboundName  = "Phạm Minh Châu"
	leaderCCCD   = "079185000202"
	signMarginMM = 3 // as cmd/bieuquyet-server's signatureMargin
)

type returnsHarness struct {
	*harness
	clock                      *fakeClock
	ban                        string // the Ban's group name
	leader, cccd, fpr, unbound string // people names
	tokens                     map[string]string
	// The delegates' signers, from one CA whose root is in the roots folder.
	ca                      *signtest.CA
	sCCCD, sFpr, sUnbound   *signtest.Signer
	optionFor, otherOptions string
}

// startReturns serves a roster of one Ban (a leader and three delegates) with the real
// verifier and scanner, on a test clock set to the wall clock's time: signatures made by
// pdfsig carry the wall clock's time, which must lie between issue and receipt.
func startReturns(t *testing.T) *returnsHarness {
	t.Helper()
	ctx := context.Background()
	clock := &fakeClock{now: time.Now().UTC().Truncate(time.Second)}
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "returns.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	secret, hash, _ := bq.NewTokenSecret()
	if _, err := st.CreateToken(ctx, bq.Audit{Actor: "local:test"}, &bq.Token{Name: "admin", Role: bq.TokenAdmin, Hash: hash,
		ExpireTime: clock.Now().AddDate(0, 1, 0)}, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	ca := signtest.NewCA(t, "VNPT-CA")
	checker := &signedpdf.Checker{RootsDir: signtest.WriteRoots(t, ca), SignatureArea: pdf.SignatureRect(signMarginMM)}
	h := &returnsHarness{
		harness: startWith(t, Config{Store: st, Clock: clock, Renderer: pdf.New(), Verifier: checker, Scans: qrscan.New()}, secret),
		clock:   clock, tokens: map[string]string{}, ca: ca,
		optionFor: "Tán thành", otherOptions: "Không tán thành",
	}
	h.st = st
	h.sCCCD = ca.Delegate(t, signtest.DelegateOptions{FullName: cccdName, UID: "CCCD:" + cccdNumber})
	h.sFpr = ca.Delegate(t, signtest.DelegateOptions{FullName: fprName})
	h.sUnbound = ca.Delegate(t, signtest.DelegateOptions{FullName: unboundName})

	if _, err := h.roster.UpdateCouncil(ctx, &pb.UpdateCouncilRequest{Council: &pb.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương",
		Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương"}}); err != nil {
		t.Fatal(err)
	}
	person := func(name string, n int, id *pb.SigningIdentity) string {
		resp, err := h.roster.CreatePerson(ctx, &pb.CreatePersonRequest{Person: &pb.Person{FullName: name, Phone: fmt.Sprintf("090000000%d", n),
			Delegate: true, Title: "Ủy viên Ban Pháp chế HĐND tỉnh", SigningIdentity: id}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetPerson().GetName()
	}
	h.leader = person(leaderName, 1, &pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CCCD, Value: leaderCCCD})
	h.cccd = person(cccdName, 2, &pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CCCD, Value: cccdNumber})
	h.fpr = person(fprName, 3, &pb.SigningIdentity{Kind: pb.SigningIdentityKind_SIGNING_IDENTITY_KIND_CERT_SHA256, Value: h.sFpr.Fingerprint()})
	h.unbound = person(unboundName, 4, nil)
	g, err := h.roster.CreateGroup(ctx, &pb.CreateGroupRequest{Group: &pb.Group{DisplayName: "HĐND - Ban Pháp chế",
		Kind: pb.GroupKind_GROUP_KIND_COMMITTEE, Leader: h.leader}})
	if err != nil {
		t.Fatal(err)
	}
	h.ban = g.GetGroup().GetName()
	for _, p := range []string{h.cccd, h.fpr, h.unbound} {
		if _, err := h.roster.AddGroupMember(ctx, &pb.AddGroupMemberRequest{Group: h.ban, Person: p}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{h.leader, h.cccd, h.fpr, h.unbound} {
		id, _ := bq.ParseName("person", bq.People, p)
		secret, hash, _ := bq.NewTokenSecret()
		if _, err := st.CreateToken(ctx, bq.Audit{Actor: "local:test"}, &bq.Token{Name: p, Role: bq.TokenPerson, PersonID: id, Hash: hash,
			ExpireTime: clock.Now().AddDate(0, 1, 0)}, bq.RequestKey{}); err != nil {
			t.Fatal(err)
		}
		h.tokens[p] = secret
	}
	return h
}

// as makes a call carry the person's token.
func (h *returnsHarness) as(person string) context.Context {
	return withToken(context.Background(), h.tokens[person])
}

// issuedPoll is a closed vote whose confirmations were issued and downloaded.
type issuedPoll struct {
	poll  *pb.Poll
	confs map[string]*pb.Confirmation // by person
	docs  map[string][]byte           // by person
}

// name is the person's confirmation's name.
func (p *issuedPoll) name(person string) string { return p.confs[person].GetName() }

// names are the names of every confirmation of the poll but those of the people given.
func (p *issuedPoll) others(except ...string) []string {
	var out []string
	for person, c := range p.confs {
		if !contains(except, person) {
			out = append(out, c.GetName())
		}
	}
	slices.Sort(out) // a map's order differs between calls: snapshots compare in one order
	return out
}

// issue opens a vote of the Ban as its leader, records "Tán thành" for each voter as the
// Office, closes it and issues the confirmations with a deadline three days on, then
// downloads each document.
func (h *returnsHarness) issue(t *testing.T, voters ...string) *issuedPoll {
	t.Helper()
	ctx, lead := context.Background(), h.as(h.leader)
	resp, err := h.polls.CreatePoll(lead, &pb.CreatePollRequest{Poll: &pb.Poll{
		Body: h.ban, Kind: pb.PollKind_POLL_KIND_VOTE, Title: "Thông qua Báo cáo thẩm tra dự thảo Nghị quyết",
		Question:     "Đồng chí có đồng ý thông qua Báo cáo thẩm tra của Ban Pháp chế không?",
		DecisionRule: pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL,
		Deadline:     timestamppb.New(h.clock.Now().Add(time.Hour)), ZaloRef: "https://zalo.me/g/8jezlo/poll/1"}})
	if err != nil {
		t.Fatal(err)
	}
	poll := resp.GetPoll()
	for _, v := range voters {
		if _, err := h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: poll.GetName(), Person: v, Options: []string{h.optionFor}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.polls.ClosePoll(lead, &pb.ClosePollRequest{Name: poll.GetName()}); err != nil {
		t.Fatal(err)
	}
	gen, err := h.confs.GenerateConfirmations(lead, &pb.GenerateConfirmationsRequest{Poll: poll.GetName(),
		ConfirmationDeadline: timestamppb.New(h.clock.Now().Add(72 * time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	p := &issuedPoll{poll: gen.GetPoll(), confs: map[string]*pb.Confirmation{}, docs: map[string][]byte{}}
	for _, c := range gen.GetConfirmations() {
		_, doc, err := download(t, ctx, h.confs, c.GetName())
		if err != nil {
			t.Fatal(err)
		}
		p.confs[c.GetPerson()], p.docs[c.GetPerson()] = c, doc
	}
	if len(p.confs) != len(voters) {
		t.Fatalf("%d confirmations issued for %d voters", len(p.confs), len(voters))
	}
	return p
}

// submit uploads a signed confirmation in chunks after its metadata; name may be empty.
// announce sends the file's size in the metadata.
func submit(ctx context.Context, c pb.ConfirmationServiceClient, name string, file []byte, announce bool) (*pb.SubmitSignedConfirmationResponse, error) {
	stream, err := c.SubmitSignedConfirmation(ctx)
	if err != nil {
		return nil, err
	}
	meta := &pb.SubmissionMetadata{Confirmation: name, FileName: "xac-nhan-da-ky.pdf"}
	if announce {
		meta.SizeBytes = int64(len(file))
	}
	if err := stream.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: meta}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for len(file) > 0 {
		n := min(chunkSize, len(file))
		// io.EOF means the server ended the call: CloseAndRecv says why.
		if err := stream.Send(&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: file[:n]}}); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		file = file[n:]
	}
	return stream.CloseAndRecv()
}

// attest uploads a scan of a paper confirmation as the Office; name may be empty.
func attest(ctx context.Context, c pb.ConfirmationServiceClient, name string, written []string, file []byte) (*pb.RecordPaperConfirmationResponse, error) {
	stream, err := c.RecordPaperConfirmation(ctx)
	if err != nil {
		return nil, err
	}
	meta := &pb.PaperMetadata{Confirmation: name, FileName: "scan", SizeBytes: int64(len(file)), WrittenOptions: written}
	if err := stream.Send(&pb.RecordPaperConfirmationRequest{Part: &pb.RecordPaperConfirmationRequest_Metadata{Metadata: meta}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for len(file) > 0 {
		n := min(chunkSize, len(file))
		if err := stream.Send(&pb.RecordPaperConfirmationRequest{Part: &pb.RecordPaperConfirmationRequest_Chunk{Chunk: file[:n]}}); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		file = file[n:]
	}
	return stream.CloseAndRecv()
}

// snapshot is what the server holds of some confirmations (each with its history) and
// the audit trail's head.
func (h *returnsHarness) snapshot(t *testing.T, names ...string) []proto.Message {
	t.Helper()
	var out []proto.Message
	for _, n := range names {
		c, err := h.confs.GetConfirmation(context.Background(), &pb.GetConfirmationRequest{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	head, err := h.audit.GetAuditHead(context.Background(), &pb.GetAuditHeadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, head)
}

// same fails the test unless two snapshots of the same confirmations are equal; with
// head false the audit heads are not compared (something else was recorded).
func same(t *testing.T, what string, before, after []proto.Message, head bool) {
	t.Helper()
	n := len(before)
	if !head {
		n--
	}
	for i := range n {
		if !proto.Equal(before[i], after[i]) {
			t.Errorf("%s changed:\nbefore %v\nafter  %v", what, before[i], after[i])
		}
	}
}

// verified fails the test unless the audit trail verifies.
func (h *returnsHarness) verified(t *testing.T, when string) {
	t.Helper()
	v, err := h.audit.VerifyAuditLog(context.Background(), &pb.VerifyAuditLogRequest{})
	if err != nil || !v.GetOk() {
		t.Fatalf("%s: the audit trail does not verify: %v, %v", when, v, err)
	}
}

// history reads a confirmation's steps.
func (h *returnsHarness) history(t *testing.T, name string) (*pb.Confirmation, []*pb.ConfirmationStep) {
	t.Helper()
	c, err := h.confs.GetConfirmation(context.Background(), &pb.GetConfirmationRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return c.GetConfirmation(), c.GetHistory()
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// signedOffset is the offset of a digit of the signature dictionary's /M date, which the
// signature covers: after the issued bytes, so the issued document stays a prefix.
func signedOffset(t *testing.T, issued, signed []byte) int {
	t.Helper()
	i := bytes.Index(signed[len(issued):], []byte("D:20"))
	if i < 0 {
		t.Fatal("no date in the signature's update")
	}
	return len(issued) + i + 3
}

// 1 and 2: a good signature by each kind of binding, and a retry.
func TestSignedConfirmationsAreAccepted(t *testing.T) {
	h := startReturns(t)
	p := h.issue(t, h.leader, h.cccd, h.fpr, h.unbound)

	// pdfsign, by the delegate whose CCCD is in their certificate.
	name := p.name(h.cccd)
	others := p.others(h.cccd)
	before := h.snapshot(t, others...)
	signed := h.sCCCD.Sign(t, p.docs[h.cccd], signtest.SignOptions{})
	resp, err := submit(h.as(h.cccd), h.confs, name, signed, true)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetAccepted() || resp.GetReason() != "" || resp.GetLate() ||
		resp.GetConfirmation().GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED {
		t.Fatalf("pdfsign by the CCCD delegate: %v", resp)
	}
	if s := resp.GetSigner(); !strings.Contains(s.GetSubject(), "CCCD:"+cccdNumber) || !strings.Contains(s.GetSubject(), cccdName) ||
		s.GetSha256() != h.sCCCD.Fingerprint() || !strings.Contains(s.GetIssuer(), "VNPT-CA") {
		t.Errorf("signer %v", s)
	}
	if ev := resp.GetConfirmation().GetEvidence(); ev.GetSha256() != sha(signed) || ev.GetKind() != "signed_pdf" || ev.GetSigner().GetSha256() != h.sCCCD.Fingerprint() {
		t.Errorf("evidence %v", ev)
	}
	if got := resp.GetConfirmation().GetWrittenOptions(); len(got) != 1 || got[0] != h.optionFor {
		t.Errorf("written %q", got)
	}
	same(t, "the other confirmations", before, h.snapshot(t, others...), false)
	_, steps := h.history(t, name)
	if len(steps) != 1 || steps[0].GetAction() != "signed" || steps[0].GetFile().GetSha256() != sha(signed) {
		t.Fatalf("history %v", steps)
	}

	// The same file again (a retry after a lost answer): the same answer, nothing new.
	mark := h.snapshot(t, name)
	again, err := submit(h.as(h.cccd), h.confs, name, signed, true)
	if err != nil {
		t.Fatal(err)
	}
	if !again.GetAccepted() || !proto.Equal(again.GetConfirmation(), resp.GetConfirmation()) || !proto.Equal(again.GetSigner(), resp.GetSigner()) {
		t.Errorf("resubmitted: %v\nfirst: %v", again, resp)
	}
	same(t, "the signed confirmation after a retry", mark, h.snapshot(t, name), true)
	// Another signed file for it is refused: it is signed already.
	_, err = submit(h.as(h.cccd), h.confs, name, h.sCCCD.Sign(t, p.docs[h.cccd], signtest.SignOptions{Reason: "Ky lai"}), true)
	if st := wantStatus(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "signed already") {
		t.Errorf("another file for a signed confirmation: %q", st.Message())
	}
	same(t, "the signed confirmation after another file", mark, h.snapshot(t, name), true)

	// poppler's pdfsig, by the delegate bound by their certificate's fingerprint.
	name = p.name(h.fpr)
	signed = signtest.PopplerSign(t, p.docs[h.fpr], h.sFpr, signtest.PopplerOptions{})
	resp, err = submit(h.as(h.fpr), h.confs, name, signed, false)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetAccepted() || resp.GetConfirmation().GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED ||
		resp.GetSigner().GetSha256() != h.sFpr.Fingerprint() || !strings.Contains(resp.GetSigner().GetSubject(), fprName) {
		t.Fatalf("pdfsig by the fingerprint delegate: %v", resp)
	}
	h.verified(t, "after the signatures")
}

// 3: every way a returned file can be wrong, each on an awaiting confirmation of its own
// poll, with its reason and a message that names what is wrong.
func TestTamperedConfirmationsAreRejected(t *testing.T) {
	h := startReturns(t)
	impostor := signtest.NewCA(t, "VNPT-CA") // the same name, another key, not trusted
	untrusted := impostor.Delegate(t, signtest.DelegateOptions{FullName: cccdName, UID: "CCCD:" + cccdNumber})
	expired := h.ca.Delegate(t, signtest.DelegateOptions{FullName: cccdName, UID: "CCCD:" + cccdNumber, Expired: true})
	lapsed := h.ca.Delegate(t, signtest.DelegateOptions{FullName: cccdName, UID: "CCCD:" + cccdNumber,
		NotBefore: h.clock.Now().Add(-48 * time.Hour), NotAfter: h.clock.Now().Add(30 * time.Minute)})
	// Signed now by the test clock, which one case moves on.
	now := func() signtest.SignOptions { return signtest.SignOptions{Time: h.clock.Now()} }

	cases := []struct {
		name   string
		who    string // whose confirmation
		file   func(p *issuedPoll) []byte
		reason string
		msg    []string // the message contains each
		// names, when set, is whose confirmation the message names too.
		names string
	}{
		{"one signed byte flipped", h.cccd, func(p *issuedPoll) []byte {
			signed := h.sCCCD.Sign(t, p.docs[h.cccd], now())
			return signtest.FlipByte(signed, signedOffset(t, p.docs[h.cccd], signed))
		}, "bad_signature", []string{"digest"}, ""},
		{"an update after signing", h.cccd, func(p *issuedPoll) []byte {
			return signtest.AppendAfterSigning(h.sCCCD.Sign(t, p.docs[h.cccd], now()))
		}, "not_whole_file", []string{"added after signing"}, ""},
		{"the page changed, then signed", h.cccd, func(p *issuedPoll) []byte {
			return h.sCCCD.Sign(t, signtest.ChangePageContent(p.docs[h.cccd]), now())
		}, "changed", []string{"page 1: /Contents changed"}, ""},
		{"signed by another delegate", h.cccd, func(p *issuedPoll) []byte {
			return h.sFpr.Sign(t, p.docs[h.cccd], now())
		}, "wrong_signer", []string{fprName, cccdName, "CCCD:" + cccdNumber, h.sFpr.Fingerprint()}, ""},
		{"a CA that is not trusted", h.cccd, func(p *issuedPoll) []byte {
			return untrusted.Sign(t, p.docs[h.cccd], now())
		}, "untrusted", []string{"does not chain to a trusted root"}, ""},
		{"a certificate that expired before receipt", h.cccd, func(p *issuedPoll) []byte {
			// Signed while valid, received after its end.
			signed := lapsed.Sign(t, p.docs[h.cccd], signtest.SignOptions{Time: h.clock.Now()})
			h.clock.Advance(time.Hour)
			return signed
		}, "expired", []string{"valid from"}, ""},
		{"a certificate expired at signing", h.cccd, func(p *issuedPoll) []byte {
			return expired.Sign(t, p.docs[h.cccd], now())
		}, "signing_time", []string{"outside the certificate's validity"}, ""},
		{"another confirmation's signed copy", h.cccd, func(p *issuedPoll) []byte {
			return h.sFpr.Sign(t, p.docs[h.fpr], now())
		}, "other_confirmation", []string{"submit each delegate's own signed copy"}, h.fpr},
		{"the signature stripped", h.cccd, func(p *issuedPoll) []byte {
			return signtest.StripSignature(h.sCCCD.Sign(t, p.docs[h.cccd], now()))
		}, "unsigned", []string{"no signature"}, ""},
		{"the issued document unsigned", h.cccd, func(p *issuedPoll) []byte { return p.docs[h.cccd] }, "unsigned", []string{"issued document"}, ""},
		{"not a PDF", h.cccd, func(*issuedPoll) []byte { return []byte("PK\x03\x04 a zip of the signed file") }, "not_pdf", []string{"PDF"}, ""},
		{"empty", h.cccd, func(*issuedPoll) []byte { return nil }, "empty", []string{"empty"}, ""},
		{"truncated", h.cccd, func(p *issuedPoll) []byte {
			signed := h.sCCCD.Sign(t, p.docs[h.cccd], now())
			return signtest.Truncate(signed, len(signed)-8)
		}, "truncated", []string{"trailer"}, ""},
		{"the unbound delegate signs", h.unbound, func(p *issuedPoll) []byte {
			return h.sUnbound.Sign(t, p.docs[h.unbound], now())
		}, "unbound", []string{unboundName, "no signing identity", "bieuquyet people update " + h.unbound, "--signing-identity cccd:", "--signing-cert"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := h.issue(t, h.cccd, h.fpr, h.unbound)
			name := p.name(tc.who)
			others := p.others(tc.who)
			before := h.snapshot(t, others...)
			file := tc.file(p)
			resp, err := submit(h.as(tc.who), h.confs, name, file, true)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s", resp.GetReason(), resp.GetMessage())
			c := resp.GetConfirmation()
			if resp.GetAccepted() || resp.GetReason() != tc.reason || resp.GetSigner() != nil ||
				c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED || c.GetStatusReason() != tc.reason || c.GetStatusDetail() != resp.GetMessage() {
				t.Fatalf("answer %v, want rejected as %s", resp, tc.reason)
			}
			want := tc.msg
			if tc.names != "" {
				want = append(want, p.name(tc.names), name)
			}
			for _, m := range want {
				if !strings.Contains(resp.GetMessage(), m) {
					t.Errorf("message %q lacks %q", resp.GetMessage(), m)
				}
			}
			_, steps := h.history(t, name)
			if len(steps) != 1 || steps[0].GetAction() != "rejected" || steps[0].GetReason() != tc.reason || steps[0].GetDetail() != resp.GetMessage() ||
				steps[0].GetFile().GetSha256() != sha(file) || steps[0].GetFile().GetSizeBytes() != int64(len(file)) {
				t.Errorf("history %v", steps)
			}
			same(t, "the other confirmations", before, h.snapshot(t, others...), false)
			h.verified(t, tc.name)
		})
	}

	// Over the cap: refused before anything is recorded, whether the size was announced
	// or not.
	p := h.issue(t, h.cccd, h.fpr)
	name := p.name(h.cccd)
	before := h.snapshot(t, name, p.name(h.fpr))
	big := append(bytes.Clone(p.docs[h.cccd]), make([]byte, MaxUpload+1-len(p.docs[h.cccd]))...)
	for _, announce := range []bool{true, false} {
		_, err := submit(h.as(h.cccd), h.confs, name, big, announce)
		if st := wantStatus(t, err, codes.ResourceExhausted); !strings.Contains(st.Message(), "20 MiB") {
			t.Errorf("over the cap (announced %v): %q", announce, st.Message())
		}
	}
	same(t, "a confirmation after files over the cap", before, h.snapshot(t, name, p.name(h.fpr)), true)
	h.verified(t, "after files over the cap")
}

// 4 and 5: a rejection, then a good file; a file that says which confirmation it is, and
// a delegate who submits someone else's.
func TestResubmissionAndUnnamedSubmissions(t *testing.T) {
	h := startReturns(t)
	ctx := context.Background()
	p := h.issue(t, h.cccd, h.fpr, h.unbound)

	name := p.name(h.cccd)
	bad := signtest.AppendAfterSigning(h.sCCCD.Sign(t, p.docs[h.cccd], signtest.SignOptions{}))
	resp, err := submit(h.as(h.cccd), h.confs, name, bad, true)
	if err != nil || resp.GetAccepted() || resp.GetReason() != "not_whole_file" {
		t.Fatalf("an update after signing: %v, %v", resp, err)
	}
	good := h.sCCCD.Sign(t, p.docs[h.cccd], signtest.SignOptions{})
	resp, err = submit(h.as(h.cccd), h.confs, name, good, true)
	if err != nil || !resp.GetAccepted() {
		t.Fatalf("a good file after a rejection: %v, %v", resp, err)
	}
	c := resp.GetConfirmation()
	if c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED || c.GetStatusReason() != "" || c.GetEvidence().GetSha256() != sha(good) {
		t.Errorf("after the good file: %v", c)
	}
	_, steps := h.history(t, name)
	if len(steps) != 2 ||
		steps[0].GetAction() != "rejected" || steps[0].GetReason() != "not_whole_file" || steps[0].GetFile().GetSha256() != sha(bad) ||
		steps[0].GetFromStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE ||
		steps[1].GetAction() != "signed" || steps[1].GetFromStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED ||
		steps[1].GetToStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED || steps[1].GetFile().GetSha256() != sha(good) {
		t.Errorf("history %v", steps)
	}

	// A delegate submits another delegate's signed copy without naming it: the file says
	// whose it is, and it is not theirs. Refused, and the refusal is in the trail.
	theirs := p.name(h.fpr)
	signed := h.sFpr.Sign(t, p.docs[h.fpr], signtest.SignOptions{})
	before := h.snapshot(t, theirs, p.name(h.unbound))
	_, err = submit(h.as(h.unbound), h.confs, "", signed, true)
	if st := wantStatus(t, err, codes.PermissionDenied); !strings.Contains(st.Message(), theirs) || !strings.Contains(st.Message(), "not yours") {
		t.Errorf("someone else's copy: %q", st.Message())
	}
	same(t, "their confirmation after the refusal", before, h.snapshot(t, theirs, p.name(h.unbound)), false)
	events, err := h.audit.ListAuditEvents(ctx, &pb.ListAuditEventsRequest{Target: theirs})
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, e := range events.GetEvents() {
		if e.GetOutcome() == bq.OutcomeDenied && e.GetAction() == "SubmitSignedConfirmation" && e.GetActor() == h.unbound {
			denied++
		}
	}
	if denied != 1 {
		t.Errorf("%d denials audited on %s: %v", denied, theirs, events.GetEvents())
	}

	// Its own delegate, unnamed: the file's metadata finds the confirmation.
	resp, err = submit(h.as(h.fpr), h.confs, "", signed, false)
	if err != nil || !resp.GetAccepted() || resp.GetConfirmation().GetName() != theirs {
		t.Fatalf("unnamed by its delegate: %v, %v", resp, err)
	}
	// A file that is no confirmation, unnamed: nothing to record it on.
	_, err = submit(ctx, h.confs, "", []byte("%PDF-1.7 not one of ours"), true)
	if st := wantStatus(t, err, codes.InvalidArgument); !strings.Contains(st.Message(), "name the confirmation") {
		t.Errorf("an unknown file, unnamed: %q", st.Message())
	}
	h.verified(t, "after the submissions")
}

// 7: a delegate declines their own confirmation, and only their own.
func TestDelegatesDeclineOnlyTheirOwn(t *testing.T) {
	h := startReturns(t)
	p := h.issue(t, h.cccd, h.fpr)
	name := p.name(h.cccd)
	before := h.snapshot(t, p.others()...)
	_, err := h.confs.DeclineConfirmation(h.as(h.fpr), &pb.DeclineConfirmationRequest{Name: name, Reason: "thay mặt đồng chí Nhung"})
	if st := wantStatus(t, err, codes.PermissionDenied); !strings.Contains(st.Message(), "not yours") {
		t.Errorf("another delegate declines: %q", st.Message())
	}
	same(t, "the confirmations after a refused decline", before, h.snapshot(t, p.others()...), false)
	_, err = h.confs.DeclineConfirmation(h.as(h.cccd), &pb.DeclineConfirmationRequest{Name: name})
	wantStatus(t, err, codes.InvalidArgument, "reason")

	reason := "Tôi bấm nhầm trên Zalo: ý kiến của tôi là không tán thành"
	resp, err := h.confs.DeclineConfirmation(h.as(h.cccd), &pb.DeclineConfirmationRequest{Name: name, Reason: reason, Options: []string{h.otherOptions}})
	if err != nil {
		t.Fatal(err)
	}
	c := resp.GetConfirmation()
	if c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_DECLINED || c.GetStatusDetail() != reason ||
		len(c.GetWrittenOptions()) != 1 || c.GetWrittenOptions()[0] != h.otherOptions {
		t.Errorf("declined: %v", c)
	}
	_, steps := h.history(t, name)
	if len(steps) != 1 || steps[0].GetAction() != "declined" || steps[0].GetActor() != h.cccd || steps[0].GetDetail() != reason {
		t.Errorf("history %v", steps)
	}
	_, err = submit(h.as(h.cccd), h.confs, name, h.sCCCD.Sign(t, p.docs[h.cccd], signtest.SignOptions{}), true)
	if st := wantStatus(t, err, codes.FailedPrecondition); !strings.Contains(st.Message(), "declined") {
		t.Errorf("a signed copy after declining: %q", st.Message())
	}
	h.verified(t, "after the declines")
}

// scanPNG renders a document's page at 150 dpi with poppler's pdftoppm: what a scanner
// makes of the printed page.
func scanPNG(t *testing.T, doc []byte) []byte {
	t.Helper()
	tool := signtest.Tool(t, "pdftoppm", "poppler-utils")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "-r", "150", "-png", "-singlefile", in, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// toJPEG re-encodes a PNG as a JPEG, as a phone camera or scanner app would save it.
func toJPEG(t *testing.T, pngFile []byte) (jpg []byte, width, height int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngFile))
	if err != nil {
		t.Fatal(err)
	}
	rgb := image.NewRGBA(img.Bounds())
	draw.Draw(rgb, rgb.Bounds(), img, img.Bounds().Min, draw.Src)
	var b bytes.Buffer
	if err := jpeg.Encode(&b, rgb, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), rgb.Bounds().Dx(), rgb.Bounds().Dy()
}

// scannedPDF wraps a JPEG into a one-page A4 PDF as scanners write them: the page draws
// one DCTDecode image XObject over its whole area.
func scannedPDF(jpg []byte, width, height int) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(body string, stream []byte) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s", len(offsets), body)
		if stream != nil {
			b.WriteString("\nstream\n")
			b.Write(stream)
			b.WriteString("\nendstream")
		}
		b.WriteString("\nendobj\n")
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	content := []byte("q 595.28 0 0 841.89 0 0 cm /Im0 Do Q")
	obj("<< /Type /Catalog /Pages 2 0 R >>", nil)
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>", nil)
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>", nil)
	obj(fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>",
		width, height, len(jpg)), jpg)
	obj(fmt.Sprintf("<< /Length %d >>", len(content)), content)
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// 6: ink-signed paper copies attested by the Office, found by the QR code on their scans.
func TestPaperConfirmationsAreFoundByTheirQRCode(t *testing.T) {
	h := startReturns(t)
	ctx := context.Background()
	p := h.issue(t, h.leader, h.cccd, h.fpr, h.unbound)
	other := h.issue(t, h.cccd)
	scan := scanPNG(t, p.docs[h.cccd])

	// A page named as another confirmation, of this poll or from another poll: refused,
	// nothing recorded.
	all := append(p.others(), other.others()...)
	before := h.snapshot(t, all...)
	for _, tc := range []struct {
		scan     []byte
		shows    string
		named    string
		whatever string
	}{
		{scan, p.name(h.cccd), p.name(h.fpr), "this poll's other confirmation"},
		{scanPNG(t, other.docs[h.cccd]), other.name(h.cccd), p.name(h.cccd), "another poll's page"},
	} {
		_, err := attest(ctx, h.confs, tc.named, nil, tc.scan)
		st := wantStatus(t, err, codes.InvalidArgument)
		if !strings.Contains(st.Message(), tc.shows) || !strings.Contains(st.Message(), tc.named) {
			t.Errorf("%s: %q", tc.whatever, st.Message())
		}
	}
	same(t, "the confirmations after refused scans", before, h.snapshot(t, all...), true)

	// A PNG, unnamed: found by its QR code, and signed as issued.
	resp, err := attest(ctx, h.confs, "", nil, scan)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.GetConfirmation(); c.GetName() != p.name(h.cccd) || c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED ||
		c.GetEvidence().GetKind() != "scan" || c.GetEvidence().GetMediaType() != "image/png" || c.GetEvidence().GetSha256() != sha(scan) {
		t.Errorf("a PNG scan: %v", c)
	}
	// Another with a different written choice: a mismatch for the leader.
	name := p.name(h.fpr)
	resp, err = attest(ctx, h.confs, "", []string{h.otherOptions}, scanPNG(t, p.docs[h.fpr]))
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.GetConfirmation(); c.GetName() != name || c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_MISMATCH ||
		len(c.GetWrittenOptions()) != 1 || c.GetWrittenOptions()[0] != h.otherOptions {
		t.Errorf("a scan with another choice: %v", c)
	}
	// The body's leader settles it; the Office may not.
	note := "Đại biểu xác nhận qua điện thoại: ghi Không tán thành là đúng ý mình"
	_, err = h.confs.ResolveMismatch(ctx, &pb.ResolveMismatchRequest{Name: name, Note: note})
	wantStatus(t, err, codes.PermissionDenied)
	res, err := h.confs.ResolveMismatch(h.as(h.leader), &pb.ResolveMismatchRequest{Name: name, Note: note})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.GetConfirmation().GetResolution(); r.GetKind() != bq.ResolutionWrittenCounts || r.GetNote() != note || r.GetResolvedBy() != h.leader {
		t.Errorf("resolution %v", r)
	}
	rec, err := h.confs.GetReconciliation(h.as(h.leader), &pb.GetReconciliationRequest{Poll: p.poll.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rec.GetRows() {
		if row.GetVoter().GetPerson() == h.fpr && (!row.GetCounted() || row.GetConfirmation().GetName() != name) {
			t.Errorf("the resolved mismatch is not counted: %v", row)
		}
	}
	if got := rec.GetConfirmed().GetOptions()[1]; got.GetCount() != 1 {
		t.Errorf("confirmed %q: %d", got.GetOption(), got.GetCount())
	}

	// A JPEG and a scanned PDF, unnamed.
	jpg, _, _ := toJPEG(t, scanPNG(t, p.docs[h.unbound]))
	resp, err = attest(ctx, h.confs, "", nil, jpg)
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.GetConfirmation(); c.GetName() != p.name(h.unbound) || c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED ||
		c.GetEvidence().GetMediaType() != "image/jpeg" {
		t.Errorf("a JPEG scan: %v", c)
	}
	jpg, w, ht := toJPEG(t, scanPNG(t, p.docs[h.leader]))
	resp, err = attest(ctx, h.confs, "", nil, scannedPDF(jpg, w, ht))
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.GetConfirmation(); c.GetName() != p.name(h.leader) || c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED ||
		c.GetEvidence().GetMediaType() != "application/pdf" {
		t.Errorf("a scanned PDF: %v", c)
	}
	// Every confirmation is final: the poll is.
	if resp.GetPoll().GetState() != pb.PollState_POLL_STATE_FINALIZED {
		t.Errorf("after the last confirmation the poll is %v", resp.GetPoll().GetState())
	}
	h.verified(t, "after the paper copies")
}

// 8 and 9: the confirmation deadline passes with confirmations missing; the poll that
// passed on its recorded votes fails on what was confirmed, and that is official.
func TestOverdueConfirmationsAndTheOfficialResult(t *testing.T) {
	h := startReturns(t)
	lead := h.as(h.leader)
	// Four of four in favour; more than half of all is three.
	p := h.issue(t, h.leader, h.cccd, h.fpr, h.unbound)
	poll := p.poll.GetName()
	if resp, err := submit(h.as(h.cccd), h.confs, p.name(h.cccd), h.sCCCD.Sign(t, p.docs[h.cccd], signtest.SignOptions{}), true); err != nil || !resp.GetAccepted() {
		t.Fatalf("signed: %v, %v", resp, err)
	}
	if _, err := h.confs.DeclineConfirmation(h.as(h.unbound), &pb.DeclineConfirmationRequest{Name: p.name(h.unbound),
		Reason: "Tôi chưa đọc kỹ báo cáo thẩm tra"}); err != nil {
		t.Fatal(err)
	}
	rec, err := h.confs.GetReconciliation(lead, &pb.GetReconciliationRequest{Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetRecorded().GetOutcome() != pb.Outcome_OUTCOME_PASSED || rec.GetConfirmed().GetOutcome() != pb.Outcome_OUTCOME_FAILED ||
		rec.GetConfirmed().GetOfficial() || rec.GetConfirmed().GetConfirmed() != 1 || rec.GetConfirmed().GetRequired() != 3 {
		t.Errorf("reconciliation while confirming: recorded %v, confirmed %v", rec.GetRecorded(), rec.GetConfirmed())
	}
	wctx, cancel := context.WithCancel(lead)
	defer cancel()
	watch, err := h.polls.WatchPoll(wctx, &pb.WatchPollRequest{Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	first, err := watch.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if c := first.GetTally().GetConfirmed(); c.GetConfirmed() != 1 || c.GetOfficial() || c.GetOutcome() != pb.Outcome_OUTCOME_FAILED {
		t.Errorf("watched while confirming: %v", c)
	}

	// The deadline passes: the scheduler makes the rest overdue and the poll final.
	h.clock.Advance(73 * time.Hour)
	var last *pb.Tally
	for last.GetState() != pb.PollState_POLL_STATE_FINALIZED {
		m, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch: %v", err)
		}
		last = m.GetTally()
	}
	if c := last.GetConfirmed(); !c.GetOfficial() || c.GetOutcome() != pb.Outcome_OUTCOME_FAILED || c.GetConfirmed() != 1 {
		t.Errorf("watched when finalized: %v", c)
	}
	tally, err := h.polls.GetTally(lead, &pb.GetTallyRequest{Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	if tl := tally.GetTally(); tl.GetOutcome() != pb.Outcome_OUTCOME_PASSED || !tl.GetConfirmed().GetOfficial() || tl.GetConfirmed().GetOutcome() != pb.Outcome_OUTCOME_FAILED {
		t.Errorf("tally when finalized: %v", tl)
	}
	for person, want := range map[string]pb.ConfirmationStatus{
		h.leader: pb.ConfirmationStatus_CONFIRMATION_STATUS_OVERDUE, h.fpr: pb.ConfirmationStatus_CONFIRMATION_STATUS_OVERDUE,
		h.cccd: pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED, h.unbound: pb.ConfirmationStatus_CONFIRMATION_STATUS_DECLINED,
	} {
		c, steps := h.history(t, p.name(person))
		if c.GetStatus() != want {
			t.Errorf("%s is %v, want %v", person, c.GetStatus(), want)
		}
		if want == pb.ConfirmationStatus_CONFIRMATION_STATUS_OVERDUE && (len(steps) != 1 || steps[0].GetAction() != "overdue" || steps[0].GetActor() != "system:scheduler") {
			t.Errorf("%s's history %v", person, steps)
		}
	}

	// A signed copy after the deadline: recorded, late, not counted.
	name := p.name(h.fpr)
	late := h.sFpr.Sign(t, p.docs[h.fpr], signtest.SignOptions{})
	resp, err := submit(h.as(h.fpr), h.confs, name, late, true)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.GetLate() || resp.GetConfirmation().GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_OVERDUE ||
		resp.GetPoll().GetState() != pb.PollState_POLL_STATE_FINALIZED {
		t.Errorf("a late submission: %v", resp)
	}
	_, steps := h.history(t, name)
	if len(steps) != 2 || steps[1].GetAction() != "signed" || !steps[1].GetLate() || steps[1].GetToStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_OVERDUE ||
		steps[1].GetFile().GetSha256() != sha(late) {
		t.Errorf("history after the late file: %v", steps)
	}
	rec, err = h.confs.GetReconciliation(lead, &pb.GetReconciliationRequest{Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	if rec.GetRecorded().GetOutcome() != pb.Outcome_OUTCOME_PASSED || rec.GetConfirmed().GetOutcome() != pb.Outcome_OUTCOME_FAILED ||
		!rec.GetConfirmed().GetOfficial() || rec.GetConfirmed().GetConfirmed() != 1 || rec.GetPoll().GetState() != pb.PollState_POLL_STATE_FINALIZED {
		t.Errorf("reconciliation when finalized: recorded %v, confirmed %v", rec.GetRecorded(), rec.GetConfirmed())
	}
	for _, row := range rec.GetRows() {
		if row.GetCounted() != (row.GetVoter().GetPerson() == h.cccd) {
			t.Errorf("row %v", row)
		}
	}

	// The leaders' report still renders. It prints the recorded outcome ("Kết quả: Thông
	// qua") and each confirmation's status, not yet the confirmed, official result.
	stream, err := h.confs.GetTallyReport(lead, &pb.GetTallyReportRequest{Poll: poll})
	if err != nil {
		t.Fatal(err)
	}
	var report []byte
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		report = append(report, m.GetChunk()...)
	}
	if text := pdfText(t, report); text != "" {
		for _, want := range []string{"Đã hoàn tất", "Đã ký", "Từ chối ký", "Quá hạn"} {
			if !strings.Contains(text, want) {
				t.Errorf("the report lacks %q:\n%s", want, text)
			}
		}
		t.Logf("report: %s", text)
	}
	h.verified(t, "after finalization")
}

// withSubject appends an update that sets the Info dictionary's /Subject, where the
// service writes the confirmation's name and Identify reads it.
func withSubject(t *testing.T, file []byte, subject string) []byte {
	t.Helper()
	tr, err := signtest.ReadTrailer(file)
	if err != nil {
		t.Fatal(err)
	}
	num, ok := signtest.Ref([]byte(tr.Info))
	if !ok {
		t.Fatal("no /Info")
	}
	return signtest.AppendUpdate(file, map[int][]byte{num: signtest.SetEntry(signtest.Object(file, num), "Subject", []byte("("+subject+")"))})
}

// An unnamed file that claims a confirmation tells a delegate no more than naming it
// would: the same refusal whether it exists or not, audited.
func TestUnnamedFileClaimingAConfirmationThatDoesNotExist(t *testing.T) {
	h := startReturns(t)
	p := h.issue(t, h.cccd, h.fpr)
	missing := bq.ConfirmationName(999, 999)
	forged := withSubject(t, p.docs[h.cccd], missing)
	_, unnamed := submit(h.as(h.cccd), h.confs, "", forged, true)
	st := wantStatus(t, unnamed, codes.PermissionDenied)
	events, err := h.audit.ListAuditEvents(context.Background(), &pb.ListAuditEventsRequest{Target: missing})
	if err != nil {
		t.Fatal(err)
	}
	if e := events.GetEvents(); len(e) != 1 || e[0].GetOutcome() != bq.OutcomeDenied || e[0].GetAction() != "SubmitSignedConfirmation" || e[0].GetActor() != h.cccd {
		t.Errorf("denials audited: %v", e)
	}
	_, named := submit(h.as(h.cccd), h.confs, missing, forged, true)
	if wantStatus(t, named, codes.PermissionDenied).Message() != st.Message() {
		t.Errorf("unnamed: %q\nnamed:   %q", st.Message(), status.Convert(named).Message())
	}
	// The Office is told it does not exist.
	_, err = submit(context.Background(), h.confs, "", forged, true)
	wantStatus(t, err, codes.NotFound)
}

// A signing app may write its own /Subject: a file whose metadata names no confirmation
// is known by its first revision, whether named or not.
func TestASubjectThatIsNoConfirmationName(t *testing.T) {
	h := startReturns(t)
	p := h.issue(t, h.cccd, h.fpr)
	const subject = "Xac nhan ket qua bieu quyet"
	signed := h.sCCCD.Sign(t, withSubject(t, p.docs[h.cccd], subject), signtest.SignOptions{})
	if got, err := signtest.InfoString(signed, "Subject"); err != nil || got != subject {
		t.Fatalf("Subject = %q, %v", got, err)
	}
	resp, err := submit(h.as(h.cccd), h.confs, "", signed, true)
	if err != nil || !resp.GetAccepted() || resp.GetConfirmation().GetName() != p.name(h.cccd) {
		t.Fatalf("unnamed: %v, %v", resp, err)
	}
	name := p.name(h.fpr)
	resp, err = submit(h.as(h.fpr), h.confs, name, h.sFpr.Sign(t, withSubject(t, p.docs[h.fpr], subject), signtest.SignOptions{}), true)
	if err != nil || !resp.GetAccepted() || resp.GetConfirmation().GetName() != name {
		t.Fatalf("named: %v, %v", resp, err)
	}
}

// A step retried with its request id after a lost answer is one step with the first
// answer; the id reused for another request is refused and changes nothing.
func TestConfirmationStepsAreSafeToRetry(t *testing.T) {
	h := startReturns(t)
	p := h.issue(t, h.cccd, h.fpr)
	name, other := p.name(h.cccd), p.name(h.fpr)
	req := &pb.DeclineConfirmationRequest{Name: name, Reason: "Tôi vắng mặt khi biểu quyết", RequestId: "cli-decline-7"}
	first, err := h.confs.DeclineConfirmation(h.as(h.cccd), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.confs.DeclineConfirmation(h.as(h.cccd), req)
	if err != nil || !proto.Equal(again.GetConfirmation(), first.GetConfirmation()) {
		t.Fatalf("retry: %v, %v; want %v", again, err, first)
	}
	if _, steps := h.history(t, name); len(steps) != 1 {
		t.Fatalf("a retried decline took %d steps", len(steps))
	}
	before := h.snapshot(t, other)
	_, err = h.confs.DeclineConfirmation(h.as(h.fpr), &pb.DeclineConfirmationRequest{Name: other, Reason: "khác", RequestId: "cli-decline-7"})
	wantStatus(t, err, codes.AlreadyExists)
	same(t, "after a reused request id", before, h.snapshot(t, other), false)

	// An upload: the same file with the same id is the same request, even rejected.
	bad := []byte("%PDF-1.7 không phải bản xác nhận")
	meta := &pb.SubmissionMetadata{Confirmation: other, RequestId: "cli-submit-9"}
	for i := range 2 {
		stream, err := h.confs.SubmitSignedConfirmation(h.as(h.fpr))
		if err != nil {
			t.Fatal(err)
		}
		if err := upload(stream, &pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: meta}},
			&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: bad}}); err != nil {
			t.Fatalf("submission %d: %v", i+1, err)
		}
	}
	if c, steps := h.history(t, other); len(steps) != 1 || c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED {
		t.Fatalf("a retried rejected submission: %s after %d steps", c.GetStatus(), len(steps))
	}
	h.verified(t, "after retries")
}

// The leader may settle a mismatch by re-issuing the confirmation with the corrected
// choice: a new document, the old one kept in the history, the old paper no longer
// matching; the delegate signs the new one, and the corrected choice counts.
func TestAMismatchReissuedWithTheCorrectedChoice(t *testing.T) {
	h := startReturns(t)
	ctx := context.Background()
	p := h.issue(t, h.cccd, h.fpr)
	name, oldDoc := p.name(h.cccd), p.docs[h.cccd]
	oldScan := scanPNG(t, oldDoc)
	if _, err := attest(ctx, h.confs, name, []string{h.otherOptions}, oldScan); err != nil {
		t.Fatal(err)
	}
	req := &pb.ReissueConfirmationRequest{Name: name, Options: []string{h.otherOptions},
		Note: "Văn phòng ghi nhầm lựa chọn từ Zalo; đại biểu ký lại phiếu đã sửa"}
	_, err := h.confs.ReissueConfirmation(ctx, req)
	wantStatus(t, err, codes.PermissionDenied) // the Office may not
	_, err = h.confs.ReissueConfirmation(h.as(h.leader), &pb.ReissueConfirmationRequest{Name: name, Note: req.Note})
	wantStatus(t, err, codes.InvalidArgument, "options")
	resp, err := h.confs.ReissueConfirmation(h.as(h.leader), req)
	if err != nil {
		t.Fatal(err)
	}
	c := resp.GetConfirmation()
	if c.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE || len(c.GetOptions()) != 1 || c.GetOptions()[0] != h.otherOptions ||
		c.GetSha256() == sha(oldDoc) || c.GetReissue().GetKind() != bq.ResolutionReissued || c.GetResolution() != nil || len(c.GetWrittenOptions()) != 0 {
		t.Fatalf("re-issued: %v", c)
	}
	_, newDoc, err := download(t, ctx, h.confs, name)
	if err != nil {
		t.Fatal(err)
	}
	if sha(newDoc) != c.GetSha256() {
		t.Fatalf("the new document's digest %s, the confirmation says %s", sha(newDoc), c.GetSha256())
	}
	if text := strings.Join(strings.Fields(pdfText(t, newDoc)), " "); text != "" && !strings.Contains(text, "Phương án đã chọn: "+h.otherOptions+".") {
		t.Errorf("the new document does not show the corrected choice:\n%s", text)
	}
	_, steps := h.history(t, name)
	last := steps[len(steps)-1]
	if last.GetAction() != "reissued" || last.GetFile().GetKind() != "issued" || last.GetFile().GetSha256() != sha(oldDoc) ||
		last.GetWrittenOptions()[0] != h.otherOptions || last.GetActor() != h.leader {
		t.Errorf("the re-issue step: %v", last)
	}
	// The old paper no longer matches what the confirmation confirms.
	_, err = attest(ctx, h.confs, "", nil, oldScan)
	if st := wantStatus(t, err, codes.InvalidArgument); !strings.Contains(st.Message(), "digest") {
		t.Errorf("the superseded paper: %q", st.Message())
	}
	// The old document signed is not the issued one any more.
	r, err := submit(h.as(h.cccd), h.confs, name, h.sCCCD.Sign(t, oldDoc, signtest.SignOptions{}), true)
	if err != nil || r.GetAccepted() || r.GetReason() != "not_issued_prefix" {
		t.Fatalf("the superseded document signed: %v, %v", r, err)
	}
	r, err = submit(h.as(h.cccd), h.confs, name, h.sCCCD.Sign(t, newDoc, signtest.SignOptions{}), true)
	if err != nil || !r.GetAccepted() || r.GetConfirmation().GetWrittenOptions()[0] != h.otherOptions {
		t.Fatalf("the new document signed: %v, %v", r, err)
	}
	rec, err := h.confs.GetReconciliation(h.as(h.leader), &pb.GetReconciliationRequest{Poll: p.poll.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.GetConfirmed().GetOptions()[1]; got.GetOption() != h.otherOptions || got.GetCount() != 1 {
		t.Errorf("the corrected choice is not counted: %v", rec.GetConfirmed())
	}
	h.verified(t, "after a re-issue")
}
