package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
)

// chunkSize is how much of a document one stream message carries.
const chunkSize = 64 << 10

// planAttempts bounds how often issuing plans again when its plan went stale: only
// another poll's confirmations issued during the rendering make it so.
const planAttempts = 3

// officeName stands for who opened a poll on a confirmation when the Office opened it
// with its own token rather than a person's.
const officeName = "Văn phòng"

type confirmationServer struct {
	pb.UnimplementedConfirmationServiceServer
	base
	store  store.Store
	render bq.DocumentRenderer
	verify bq.SignatureVerifier
	scans  bq.ScanReader
	// maxUpload bounds a file that comes back (MaxUpload).
	maxUpload int
	hub       *hub
	now       func() time.Time // the report's print time
}

var confirmationStatuses = map[pb.ConfirmationStatus]bq.ConfirmationStatus{
	pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE: bq.StatusAwaitingSignature,
	pb.ConfirmationStatus_CONFIRMATION_STATUS_SIGNED:             bq.StatusSigned,
	pb.ConfirmationStatus_CONFIRMATION_STATUS_MISMATCH:           bq.StatusMismatch,
	pb.ConfirmationStatus_CONFIRMATION_STATUS_REJECTED:           bq.StatusRejected,
	pb.ConfirmationStatus_CONFIRMATION_STATUS_DECLINED:           bq.StatusDeclined,
	pb.ConfirmationStatus_CONFIRMATION_STATUS_OVERDUE:            bq.StatusOverdue,
}

// GenerateConfirmations plans the poll's confirmations (a read), renders them outside any
// transaction on every core, and issues them in one transaction that holds only if the
// plan still does. A poll whose confirmations exist gets them back, never re-rendered.
func (s *confirmationServer) GenerateConfirmations(ctx context.Context, req *pb.GenerateConfirmationsRequest) (*pb.GenerateConfirmationsResponse, error) {
	var vs bq.Violations
	pollID, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	deadline := timeField(&vs, "confirmation_deadline", req.GetConfirmationDeadline())
	// A deadline given as "in three days" is computed anew by each run of a command; the
	// first call's deadline stands, so a re-run differing only there is the same request.
	same := proto.Clone(req).(*pb.GenerateConfirmationsRequest)
	same.ConfirmationDeadline = nil
	key, err := requestKey(same)
	if err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	if err := vs.Err("invalid request"); err != nil {
		return nil, s.fail(ctx, err)
	}
	for attempt := 1; ; attempt++ {
		plan, err := s.store.PlanConfirmations(ctx, pollID, deadline)
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		var docs [][]byte
		if !plan.Issued {
			if s.render == nil {
				return nil, status.Error(codes.Unimplemented, "this server has no document renderer: it cannot issue confirmations")
			}
			if docs, err = s.renderAll(ctx, plan.Poll, plan.Confirmations); err != nil {
				return nil, s.fail(ctx, err)
			}
		}
		poll, issued, err := s.store.IssueConfirmations(ctx, auditFrom(ctx), plan, docs, key)
		if errors.Is(err, store.ErrStalePlan) && attempt < planAttempts {
			continue
		}
		if err != nil {
			return nil, s.fail(ctx, err)
		}
		s.hub.notify(pollID)
		resp := &pb.GenerateConfirmationsResponse{Poll: pollPB(poll, nil)}
		for i := range issued {
			resp.Confirmations = append(resp.Confirmations, confirmationPB(&issued[i]))
		}
		return resp, nil
	}
}

// papers gathers what each confirmation's document shows. Everything comes from stored
// records, so the same confirmation always gives the same paper: the delegate's name as
// in the poll's electorate, their title, the council and the body as they are.
func (s *confirmationServer) papers(ctx context.Context, poll *bq.Poll, cs []bq.Confirmation) ([]*bq.ConfirmationPaper, error) {
	council, err := s.store.GetCouncil(ctx)
	if err != nil {
		return nil, err
	}
	body, err := s.store.GetGroup(ctx, poll.BodyID)
	if err != nil {
		return nil, err
	}
	openedBy, err := s.openerName(ctx, poll)
	if err != nil {
		return nil, err
	}
	out := make([]*bq.ConfirmationPaper, len(cs))
	for i := range cs {
		c := &cs[i]
		person, err := s.store.GetPerson(ctx, c.PersonID)
		if err != nil {
			return nil, err
		}
		out[i] = &bq.ConfirmationPaper{
			ID: c.ID, Council: *council, BodyName: body.DisplayName, OpenedBy: openedBy, Poll: poll,
			Person:  bq.Person{ID: c.PersonID, FullName: c.FullName, Title: person.Title},
			Options: c.Options, VoteTime: c.VoteTime, VoteSource: c.VoteSource, VoteNote: c.VoteNote,
			IssueTime: c.IssueTime, Deadline: c.Deadline,
		}
	}
	return out, nil
}

// openerName is who opened a poll, as a paper names them: the person, or the Office.
func (s *confirmationServer) openerName(ctx context.Context, poll *bq.Poll) (string, error) {
	id, err := bq.ParseName("opened_by", bq.People, poll.OpenedBy)
	if err != nil {
		return officeName, nil
	}
	p, err := s.store.GetPerson(ctx, id)
	if err != nil {
		return "", err
	}
	return p.FullName, nil
}

// renderAll renders the confirmations' documents on every core; the renderer is safe for
// concurrent use. The first failure is returned.
func (s *confirmationServer) renderAll(ctx context.Context, poll *bq.Poll, cs []bq.Confirmation) ([][]byte, error) {
	papers, err := s.papers(ctx, poll, cs)
	if err != nil {
		return nil, err
	}
	docs := make([][]byte, len(papers))
	errs := make([]error, len(papers))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(papers)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(papers) || ctx.Err() != nil {
					return
				}
				docs[i], errs[i] = s.render.Confirmation(papers[i])
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("render %s: %w", papers[i].Name(), err)
		}
	}
	return docs, nil
}

// seesAll reports whether the caller sees every confirmation of a poll whose body is
// body: the Office and the body's leader. Anyone else sees only their own.
func seesAll(ctx context.Context, body int64) bool {
	p := principalFrom(ctx)
	return p == nil || p.IsOffice() || p.Leads(body)
}

func (s *confirmationServer) ListConfirmations(ctx context.Context, req *pb.ListConfirmationsRequest) (*pb.ListConfirmationsResponse, error) {
	pollID, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	size, err := pageSize("page_size", req.GetPageSize())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	f := store.ConfirmationFilter{PollID: pollID, Limit: size + 1}
	if req.GetStatus() != pb.ConfirmationStatus_CONFIRMATION_STATUS_UNSPECIFIED {
		var ok bool
		if f.Status, ok = confirmationStatuses[req.GetStatus()]; !ok {
			return nil, s.fail(ctx, bq.Invalid("status", "%d is not a confirmation status", req.GetStatus()))
		}
	}
	body, _, err := s.store.PollGroups(ctx, pollID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if !seesAll(ctx, body) {
		f.PersonID = principalFrom(ctx).Person.ID // a delegate sees their own, nobody else's
	}
	filter := fmt.Sprintf("%d|%d|%s", f.PollID, f.PersonID, f.Status)
	if f.AfterPerson, err = parsePageToken("page_token", req.GetPageToken(), filter); err != nil {
		return nil, s.fail(ctx, err)
	}
	list, err := s.store.ListConfirmations(ctx, f)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListConfirmationsResponse{}
	if len(list) > size {
		list = list[:size]
		resp.NextPageToken = pageToken(list[size-1].PersonID, filter)
	}
	for i := range list {
		resp.Confirmations = append(resp.Confirmations, confirmationPB(&list[i]))
	}
	return resp, nil
}

func (s *confirmationServer) GetConfirmation(ctx context.Context, req *pb.GetConfirmationRequest) (*pb.GetConfirmationResponse, error) {
	pollID, id, err := bq.ParseConfirmationName("name", req.GetName())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	c, err := s.store.GetConfirmation(ctx, pollID, id)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	poll, _, err := s.store.GetPoll(ctx, pollID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	steps, err := s.store.ConfirmationHistory(ctx, pollID, id)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.GetConfirmationResponse{Confirmation: confirmationPB(c)}
	for i := range steps {
		resp.History = append(resp.History, stepPB(poll, &steps[i]))
	}
	return resp, nil
}

// DownloadConfirmation sends the confirmation, then its document exactly as issued in
// chunks of chunkSize.
func (s *confirmationServer) DownloadConfirmation(req *pb.DownloadConfirmationRequest, stream pb.ConfirmationService_DownloadConfirmationServer) error {
	ctx := stream.Context()
	pollID, id, err := bq.ParseConfirmationName("name", req.GetName())
	if err != nil {
		return s.fail(ctx, err)
	}
	c, doc, err := s.store.ConfirmationDocument(ctx, pollID, id)
	if err != nil {
		return s.fail(ctx, err)
	}
	if err := stream.Send(&pb.DownloadConfirmationResponse{Confirmation: confirmationPB(c)}); err != nil {
		return err
	}
	return sendChunks(doc, func(c []byte) error { return stream.Send(&pb.DownloadConfirmationResponse{Chunk: c}) })
}

// sendChunks sends a document in pieces of chunkSize, so no message nears gRPC's limit.
func sendChunks(doc []byte, send func([]byte) error) error {
	for len(doc) > 0 {
		n := min(chunkSize, len(doc))
		if err := send(doc[:n]); err != nil {
			return err
		}
		doc = doc[n:]
	}
	return nil
}

// GetTallyReport draws the poll's tally report for leaders: the tally as it is now, each
// voter's confirmation status, and the audit trail's head at this moment, so that a filed
// paper copy is a witness of the trail kept outside the database.
func (s *confirmationServer) GetTallyReport(req *pb.GetTallyReportRequest, stream pb.ConfirmationService_GetTallyReportServer) error {
	ctx := stream.Context()
	pollID, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		return s.fail(ctx, err)
	}
	if s.render == nil {
		return status.Error(codes.Unimplemented, "this server has no document renderer: it cannot draw reports")
	}
	r, err := s.tallyReport(ctx, pollID)
	if err != nil {
		return s.fail(ctx, err)
	}
	doc, err := s.render.Report(r)
	if err != nil {
		return s.fail(ctx, err)
	}
	sum := sha256.Sum256(doc)
	first := &pb.GetTallyReportResponse{FileName: fmt.Sprintf("bao-cao-polls-%d.pdf", pollID), Sha256: hex.EncodeToString(sum[:]), SizeBytes: int64(len(doc))}
	if err := stream.Send(first); err != nil {
		return err
	}
	return sendChunks(doc, func(c []byte) error { return stream.Send(&pb.GetTallyReportResponse{Chunk: c}) })
}

// tallyReport gathers what the report shows.
func (s *confirmationServer) tallyReport(ctx context.Context, pollID int64) (*bq.TallyReport, error) {
	t, err := s.store.GetTally(ctx, pollID)
	if err != nil {
		return nil, err
	}
	council, err := s.store.GetCouncil(ctx)
	if err != nil {
		return nil, err
	}
	body, err := s.store.GetGroup(ctx, t.Poll.BodyID)
	if err != nil {
		return nil, err
	}
	openedBy, err := s.openerName(ctx, t.Poll)
	if err != nil {
		return nil, err
	}
	statuses := map[int64]bq.ConfirmationStatus{}
	for after := int64(0); ; {
		cs, err := s.store.ListConfirmations(ctx, store.ConfirmationFilter{PollID: pollID, AfterPerson: after, Limit: maxPageSize})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			statuses[c.PersonID] = c.Status
		}
		if len(cs) < maxPageSize {
			break
		}
		after = cs[len(cs)-1].PersonID
	}
	seq, hash, err := s.store.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	return &bq.TallyReport{Council: *council, BodyName: body.DisplayName, OpenedBy: openedBy, Tally: t,
		Confirmations: statuses, PrintTime: s.now(), AuditHead: bq.AuditHeadText(seq, hash)}, nil
}

func confirmationPB(c *bq.Confirmation) *pb.Confirmation {
	return &pb.Confirmation{
		Name: c.Name(), Person: bq.PersonName(c.PersonID), FullName: c.FullName, Options: c.Choice,
		VoteTime: ts(c.VoteTime), VoteSource: reverse(voteSources, c.VoteSource), VoteNote: c.VoteNote,
		IssueTime: ts(c.IssueTime), Deadline: ts(c.Deadline), Status: reverse(confirmationStatuses, c.Status),
		Sha256: c.SHA256, SizeBytes: c.Size, FileName: c.FileName(),
		StatusTime: ts(c.StatusTime), WrittenOptions: c.WrittenChoice, StatusReason: c.Reason, StatusDetail: c.Detail,
		Resolution: resolutionPB(c.Resolution), Evidence: returnedFilePB(c.Evidence), Reissue: resolutionPB(c.Reissued),
	}
}

func resolutionPB(r *bq.Resolution) *pb.Resolution {
	if r == nil {
		return nil
	}
	return &pb.Resolution{Kind: r.Kind, Note: r.Note, ResolvedBy: r.Actor, ResolveTime: ts(r.Time)}
}
