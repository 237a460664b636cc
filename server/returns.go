package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// MaxUpload is the largest file that may come back for a confirmation. A signed issued
// page is well under 1 MiB, poppler's signer adds about 480 KB of font, a scan at 300 dpi
// a few MiB.
const MaxUpload = 20 << 20

// readUpload reads an upload stream: its metadata, in the first message only, then the
// file's chunks, up to limit bytes.
func readUpload[M interface {
	comparable
	GetSizeBytes() int64
}, R interface {
	GetMetadata() M
	GetChunk() []byte
}](recv func() (R, error), limit int) (M, []byte, error) {
	var none M
	first, err := recv()
	if errors.Is(err, io.EOF) {
		return none, nil, bq.Invalid("metadata", "the stream ended before its metadata")
	}
	if err != nil {
		return none, nil, err
	}
	meta := first.GetMetadata()
	if meta == none {
		return none, nil, bq.Invalid("metadata", "the first message must carry the metadata")
	}
	data, err := receiveUpload(meta.GetSizeBytes(), limit, func() ([]byte, bool, error) {
		m, err := recv()
		if err != nil {
			return nil, false, err
		}
		return m.GetChunk(), m.GetMetadata() != none, nil
	})
	return meta, data, err
}

// receiveUpload reads a file after its metadata: chunks up to limit bytes. A second
// metadata message or a file over the limit ends the call.
func receiveUpload(announced int64, limit int, next func() ([]byte, bool, error)) ([]byte, error) {
	if announced > int64(limit) {
		return nil, status.Errorf(codes.ResourceExhausted, "the file is %d bytes; at most %d (%d MiB) are accepted", announced, limit, limit>>20)
	}
	var data []byte
	for {
		chunk, isMeta, err := next()
		if errors.Is(err, io.EOF) {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
		if isMeta {
			return nil, status.Error(codes.InvalidArgument, "metadata: only the first message carries it; the rest carry chunks")
		}
		if len(data)+len(chunk) > limit {
			return nil, status.Errorf(codes.ResourceExhausted, "the file is over %d bytes (%d MiB): it was not read further", limit, limit>>20)
		}
		data = append(data, chunk...)
	}
}

// fileOf describes a received file for the history; content is kept only when accepted.
func fileOf(kind bq.FileKind, media string, data []byte, a bq.Audit, keep bool) *bq.ConfirmationFile {
	sum := sha256.Sum256(data)
	f := &bq.ConfirmationFile{Kind: kind, MediaType: media, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), ReceivedBy: a.Actor}
	if keep {
		f.Content = data
	}
	return f
}

// SubmitSignedConfirmation verifies a signed confirmation and records the outcome: SIGNED,
// or REJECTED with the reason. Verification runs before the write, outside any
// transaction.
func (s *confirmationServer) SubmitSignedConfirmation(stream pb.ConfirmationService_SubmitSignedConfirmationServer) error {
	ctx := stream.Context()
	meta, data, err := readUpload(stream.Recv, s.maxUpload)
	if err != nil {
		return s.fail(ctx, err)
	}
	if s.verify == nil {
		return status.Error(codes.Unimplemented, "this server has no signature verifier: it cannot take signed confirmations")
	}
	now := s.now()
	a := auditFrom(ctx)
	file := fileOf(bq.FileSignedPDF, "application/pdf", data, a, false)
	file.ReceiveTime = now

	var rejection *bq.Rejection
	named := meta.GetConfirmation()
	claimed, firstRevision, idErr := s.verify.Identify(data)
	if _, _, err := bq.ParseConfirmationName("", claimed); idErr == nil && claimed != "" && err != nil {
		// Not a name this service writes (a signing app may set its own /Subject): the
		// file's first revision says which confirmation it is.
		claimed = ""
	}
	var target string
	switch {
	case named != "":
		target = named
		if idErr == nil && claimed != "" && claimed != named {
			rejection = bq.Reject("other_confirmation", "the file is %s, not %s: submit each delegate's own signed copy", claimed, named)
		}
	case idErr != nil:
		return s.fail(ctx, bq.Invalid("chunk", "the file is not a confirmation this service issued (%v); name the confirmation to have the rejection recorded", idErr))
	case claimed != "":
		target = claimed
	default:
		c, err := s.store.FindConfirmationBySHA256(ctx, firstRevision)
		if err != nil {
			return s.fail(ctx, bq.Invalid("chunk", "the file names no confirmation and does not begin with one this service issued; name the confirmation"))
		}
		target = c.Name()
	}
	pollID, id, err := bq.ParseConfirmationName("metadata.confirmation", target)
	if err != nil {
		return s.fail(ctx, err)
	}
	c, issued, err := s.store.ConfirmationDocument(ctx, pollID, id)
	if named == "" && bq.ErrorCode(err) == bq.CodeNotFound {
		// A name the file claims tells a person no more than one they send: the same
		// refusal whether it exists or not.
		if err := s.mustOwn(ctx, "SubmitSignedConfirmation", &bq.Confirmation{PollID: pollID, ID: id}); err != nil {
			return err
		}
	}
	if err != nil {
		return s.fail(ctx, err)
	}
	if err := s.mustOwn(ctx, "SubmitSignedConfirmation", c); err != nil {
		return err
	}
	// A retry of a submission that was accepted gets the same answer.
	if c.Status == bq.StatusSigned && c.Evidence != nil && c.Evidence.SHA256 == file.SHA256 {
		poll, _, err := s.store.GetPoll(ctx, pollID)
		if err != nil {
			return s.fail(ctx, err)
		}
		return stream.SendAndClose(&pb.SubmitSignedConfirmationResponse{Confirmation: confirmationPB(c), Accepted: true,
			Signer: signerPB(c.Evidence.Signer), Poll: pollPB(poll, nil)})
	}
	var signer *bq.DocumentSignature
	if rejection == nil {
		sigs, err := s.verify.Verify(issued, data, c.IssueTime, now)
		switch r := (*bq.Rejection)(nil); {
		case errors.As(err, &r):
			rejection = r
		case err != nil:
			return s.fail(ctx, err)
		default:
			person, err := s.store.GetPerson(ctx, c.PersonID)
			if err != nil {
				return s.fail(ctx, err)
			}
			signer, rejection = bq.CheckSigner(person, sigs)
		}
	}
	if rejection == nil {
		file.Content = data
		info := signer.SignerInfo
		file.Signer = &info
	}
	key, err := uploadKey(meta, file.SHA256)
	if err != nil {
		return s.fail(ctx, err)
	}
	var step *bq.ConfirmationEvent
	after, poll, err := s.store.ChangeConfirmation(ctx, a, pollID, id, "SubmitSignedConfirmation", key, func(_ *bq.Poll, c *bq.Confirmation) (e *bq.ConfirmationEvent, err error) {
		if rejection != nil {
			step, err = c.Reject(now, a.Actor, rejection.Reason, rejection.Message, file)
		} else {
			step, err = c.Sign(now, a.Actor, file)
		}
		return step, err
	})
	if err != nil {
		return s.fail(ctx, err)
	}
	s.hub.notify(pollID)
	resp := &pb.SubmitSignedConfirmationResponse{Confirmation: confirmationPB(after), Accepted: rejection == nil, Poll: pollPB(poll, nil)}
	switch {
	case step == nil: // a retry: the answer is the confirmation as it is
		resp.Accepted = after.Status == bq.StatusSigned
		if after.Status == bq.StatusRejected {
			resp.Reason, resp.Message = after.Reason, after.Detail
		}
		if resp.Accepted && after.Evidence != nil {
			resp.Signer = signerPB(after.Evidence.Signer)
		}
	case rejection != nil:
		resp.Reason, resp.Message, resp.Late = rejection.Reason, rejection.Message, step.Late
	default:
		resp.Signer, resp.Late = signerPB(file.Signer), step.Late
	}
	return stream.SendAndClose(resp)
}

// uploadKey is the request key of an upload: its metadata without the request id, and
// the file's digest, so that the same id with another file is another request.
func uploadKey(meta interface {
	proto.Message
	GetRequestId() string
}, fileSHA256 string) (bq.RequestKey, error) {
	key, err := requestKey(meta)
	if err != nil || key.ID == "" {
		return key, err
	}
	sum := sha256.Sum256([]byte(key.Fingerprint + ":" + fileSHA256))
	key.Fingerprint = hex.EncodeToString(sum[:])
	return key, nil
}

// mustOwn refuses a person who is not the confirmation's delegate, as the policy refuses
// a named one: the file said which it was, so the policy could not look before.
func (s *confirmationServer) mustOwn(ctx context.Context, action string, c *bq.Confirmation) error {
	p := principalFrom(ctx)
	if p == nil || p.IsOffice() || p.Person != nil && p.Person.ID == c.PersonID {
		return nil
	}
	reason := fmt.Sprintf("%s does not exist or is not yours: a delegate may submit only their own confirmations", c.Name())
	if err := s.store.RecordDenied(ctx, auditFrom(ctx), action, c.Name(), reason); err != nil {
		s.log.ErrorContext(ctx, "audit a denial", "error", err)
		return status.Error(codes.Internal, "internal error")
	}
	return status.Error(codes.PermissionDenied, reason)
}

// RecordPaperConfirmation records an ink-signed paper copy the Office attests, found by
// the QR code on its scan when not named.
func (s *confirmationServer) RecordPaperConfirmation(stream pb.ConfirmationService_RecordPaperConfirmationServer) error {
	ctx := stream.Context()
	meta, data, err := readUpload(stream.Recv, s.maxUpload)
	if err != nil {
		return s.fail(ctx, err)
	}
	if s.scans == nil {
		return status.Error(codes.Unimplemented, "this server has no scan reader: it cannot take paper confirmations")
	}
	media, err := s.scans.MediaType(data)
	if err != nil {
		return s.fail(ctx, err)
	}
	payloads, err := s.scans.Payloads(data)
	if err != nil {
		return s.fail(ctx, err)
	}
	var found []bq.ConfirmationPayload
	for _, text := range payloads {
		if p, err := bq.ParseConfirmationPayload(text); err == nil {
			found = append(found, p)
		}
	}
	target := meta.GetConfirmation()
	if target == "" {
		if len(found) == 0 {
			return s.fail(ctx, bq.Invalid("chunk", "no confirmation's QR code could be read on the scan (%d QR codes found): scan it again, or name the confirmation", len(payloads)))
		}
		target = found[0].Name
	}
	pollID, id, err := bq.ParseConfirmationName("metadata.confirmation", target)
	if err != nil {
		return s.fail(ctx, err)
	}
	c, err := s.store.GetConfirmation(ctx, pollID, id)
	if err != nil {
		return s.fail(ctx, err)
	}
	poll, _, err := s.store.GetPoll(ctx, pollID)
	if err != nil {
		return s.fail(ctx, err)
	}
	if len(found) > 0 {
		papers, err := s.papers(ctx, poll, []bq.Confirmation{*c})
		if err != nil {
			return s.fail(ctx, err)
		}
		for _, f := range found {
			if f.Name != c.Name() {
				return s.fail(ctx, bq.Invalid("chunk", "the scan shows the QR code of %s, not %s", f.Name, c.Name()))
			}
			if !f.Matches(papers[0]) {
				return s.fail(ctx, bq.Invalid("chunk", "the QR code on the scan names %s but does not carry the digest of what it confirms: it is not a copy of the document issued", c.Name()))
			}
		}
	}
	written, err := poll.OptionIndices("metadata.written_options", meta.GetWrittenOptions())
	if err != nil {
		return s.fail(ctx, err)
	}
	now := s.now()
	a := auditFrom(ctx)
	file := fileOf(bq.FileScan, media, data, a, true)
	file.ReceiveTime = now
	key, err := uploadKey(meta, file.SHA256)
	if err != nil {
		return s.fail(ctx, err)
	}
	var step *bq.ConfirmationEvent
	after, poll, err := s.store.ChangeConfirmation(ctx, a, pollID, id, "RecordPaperConfirmation", key, func(p *bq.Poll, c *bq.Confirmation) (e *bq.ConfirmationEvent, err error) {
		step, err = c.RecordPaper(now, a.Actor, written, p, file)
		return step, err
	})
	if err != nil {
		return s.fail(ctx, err)
	}
	s.hub.notify(pollID)
	return stream.SendAndClose(&pb.RecordPaperConfirmationResponse{Confirmation: confirmationPB(after), Late: step != nil && step.Late, Poll: pollPB(poll, nil)})
}

// step takes one step of a named confirmation for a request with a request id: the
// domain decides it in the store's transaction (change), and watchers are told.
func (s *confirmationServer) step(ctx context.Context, req interface {
	proto.Message
	GetName() string
	GetRequestId() string
}, action string, change func(now time.Time, actor string, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error)) (*pb.Confirmation, *pb.Poll, error) {
	pollID, id, err := bq.ParseConfirmationName("name", req.GetName())
	if err != nil {
		return nil, nil, s.fail(ctx, err)
	}
	key, err := requestKey(req)
	if err != nil {
		return nil, nil, s.fail(ctx, err)
	}
	now, a := s.now(), auditFrom(ctx)
	after, poll, err := s.store.ChangeConfirmation(ctx, a, pollID, id, action, key, func(p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		return change(now, a.Actor, p, c)
	})
	if err != nil {
		return nil, nil, s.fail(ctx, err)
	}
	s.hub.notify(pollID)
	return confirmationPB(after), pollPB(poll, nil), nil
}

func (s *confirmationServer) DeclineConfirmation(ctx context.Context, req *pb.DeclineConfirmationRequest) (*pb.DeclineConfirmationResponse, error) {
	c, p, err := s.step(ctx, req, "DeclineConfirmation", func(now time.Time, actor string, p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		choice, err := p.OptionIndices("options", req.GetOptions())
		if err != nil {
			return nil, err
		}
		return c.Decline(now, actor, req.GetReason(), choice, p)
	})
	if err != nil {
		return nil, err
	}
	return &pb.DeclineConfirmationResponse{Confirmation: c, Poll: p}, nil
}

func (s *confirmationServer) ResolveMismatch(ctx context.Context, req *pb.ResolveMismatchRequest) (*pb.ResolveMismatchResponse, error) {
	c, p, err := s.step(ctx, req, "ResolveMismatch", func(now time.Time, actor string, _ *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		return c.Resolve(now, actor, req.GetNote())
	})
	if err != nil {
		return nil, err
	}
	return &pb.ResolveMismatchResponse{Confirmation: c, Poll: p}, nil
}

// ReissueConfirmation renders a new document with the corrected choice outside any
// transaction, then records the re-issue, which keeps the superseded document.
func (s *confirmationServer) ReissueConfirmation(ctx context.Context, req *pb.ReissueConfirmationRequest) (*pb.ReissueConfirmationResponse, error) {
	pollID, id, err := bq.ParseConfirmationName("name", req.GetName())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	key, err := requestKey(req)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if s.render == nil {
		return nil, status.Error(codes.Unimplemented, "this server has no document renderer: it cannot issue confirmations")
	}
	c, old, err := s.store.ConfirmationDocument(ctx, pollID, id)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	poll, _, err := s.store.GetPoll(ctx, pollID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	choice, err := poll.OptionIndices("options", req.GetOptions())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	// The domain decides inside the transaction; asking it first spares rendering a
	// document that would be refused.
	now, a := s.now(), auditFrom(ctx)
	probe := *c
	if _, err := probe.Reissue(now, a.Actor, req.GetNote(), choice, poll, []byte{0}, nil); err != nil {
		return nil, s.fail(ctx, err)
	}
	papers, err := s.papers(ctx, poll, []bq.Confirmation{probe})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	doc, err := s.render.Confirmation(papers[0])
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	superseded := &bq.ConfirmationFile{Kind: bq.FileIssued, MediaType: "application/pdf", SHA256: c.SHA256, Size: c.Size,
		ReceiveTime: now, ReceivedBy: a.Actor, Content: old}
	after, poll, err := s.store.ChangeConfirmation(ctx, a, pollID, id, "ReissueConfirmation", key, func(p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
		if c.SHA256 != superseded.SHA256 {
			return nil, bq.Errorf(bq.CodeFailedPrecondition, "%s changed while its new document was drawn; look at it again before re-issuing", c.Name())
		}
		return c.Reissue(now, a.Actor, req.GetNote(), choice, p, doc, superseded)
	})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.hub.notify(pollID)
	return &pb.ReissueConfirmationResponse{Confirmation: confirmationPB(after), Poll: pollPB(poll, nil)}, nil
}

func (s *confirmationServer) GetReconciliation(ctx context.Context, req *pb.GetReconciliationRequest) (*pb.GetReconciliationResponse, error) {
	pollID, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	t, err := s.store.GetTally(ctx, pollID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if t.Poll.State != bq.StateConfirming && t.Poll.State != bq.StateFinalized {
		return nil, s.fail(ctx, bq.Errorf(bq.CodeFailedPrecondition, "%s is %s: there is nothing to reconcile before its confirmations are issued", bq.PollName(pollID), t.Poll.State))
	}
	r := bq.Reconcile(t, t.Confirmations)
	recorded := tallyPB(t) // it has converted the confirmed tally already
	resp := &pb.GetReconciliationResponse{Poll: pollPB(t.Poll, nil), Recorded: recorded, Confirmed: recorded.GetConfirmed()}
	for _, row := range r.Rows {
		out := &pb.ReconciliationRow{Voter: votersPB([]bq.Voter{row.Voter})[0], RecordedOptions: optionTextsOf(t.Poll, row.Recorded), Counted: row.Counted}
		if row.Confirmation != nil {
			out.Confirmation = confirmationPB(row.Confirmation)
		}
		resp.Rows = append(resp.Rows, out)
	}
	return resp, nil
}

func optionTextsOf(p *bq.Poll, options []int) []string {
	var out []string
	for _, o := range options {
		if o >= 0 && o < len(p.Options) {
			out = append(out, p.Options[o])
		}
	}
	return out
}

// confirmedPB is the confirmed tally of a reconciliation.
func confirmedPB(r *bq.Reconciliation) *pb.ConfirmedTally {
	out := &pb.ConfirmedTally{Confirmed: int32(r.Confirmed.Confirmed), Eligible: int32(r.Poll.Eligible), Required: int32(r.Confirmed.Required),
		Outcome: outcomes[r.Confirmed.Outcome], Official: r.Official}
	byOption := make([][]bq.Voter, len(r.Poll.Options))
	for _, row := range r.Rows {
		if !row.Counted {
			continue
		}
		w, _ := row.Confirmation.Counted()
		for _, o := range w {
			if o >= 0 && o < len(byOption) {
				byOption[o] = append(byOption[o], row.Voter)
			}
		}
	}
	for i, text := range r.Poll.Options {
		out.Options = append(out.Options, &pb.OptionCount{Option: text, Count: int32(r.Confirmed.Counts[i]), Voters: votersPB(byOption[i])})
	}
	return out
}

func signerPB(s *bq.SignerInfo) *pb.Signer {
	if s == nil {
		return nil
	}
	return &pb.Signer{Subject: s.Subject, Issuer: s.Issuer, Serial: s.Serial, Sha256: s.Fingerprint, SigningTime: ts(s.SigningTime)}
}

func returnedFilePB(f *bq.ConfirmationFile) *pb.ReturnedFile {
	if f == nil {
		return nil
	}
	return &pb.ReturnedFile{Kind: string(f.Kind), MediaType: f.MediaType, Sha256: f.SHA256, SizeBytes: f.Size, ReceiveTime: ts(f.ReceiveTime),
		ReceivedBy: f.ReceivedBy, Signer: signerPB(f.Signer)}
}

func stepPB(p *bq.Poll, e *bq.ConfirmationEvent) *pb.ConfirmationStep {
	return &pb.ConfirmationStep{Time: ts(e.Time), Actor: e.Actor, Action: string(e.Action), FromStatus: reverse(confirmationStatuses, e.From),
		ToStatus: reverse(confirmationStatuses, e.To), WrittenOptions: optionTextsOf(p, e.Written), Reason: e.Reason, Detail: e.Detail,
		Late: e.Late, File: returnedFilePB(e.File)}
}
