package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/pdf"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// The callers of the authorization matrix, relative to the group "HĐND - Ban Pháp chế".
const (
	noToken      = "no token"
	revoked      = "revoked token"
	expired      = "expired token"
	asAdmin      = "admin"
	secretariat  = "secretariat"
	leaderIn     = "leader of the group"
	leaderOther  = "leader of another group"
	delegateIn   = "delegate in the group"
	delegateOut  = "delegate outside it"
	staffIn      = "staff in the group"
	everyCaller  = "*"
	peopleInG    = "people in G"
	officeCaller = "office"
	leaderOfG    = "office and the leader of G"
	ownVotes     = "office, the leader of G and the delegate"
	ownOrOffice  = "office and the delegate"
	leaderOnly   = "the leader of G alone"
)

var callers = []string{noToken, revoked, expired, asAdmin, secretariat, leaderIn, leaderOther, delegateIn, delegateOut, staffIn}

// fixture is a small roster with two groups and a token for every caller.
type fixture struct {
	h                       *harness
	tokens                  map[string]string
	actors                  map[string]string
	g, other                int64 // groups
	leader, delegate, staff int64 // people in g
	outsider, otherLeader   int64
	spareToken              int64
	poll                    int64  // an open vote in g
	closed                  int64  // a closed vote in g, the leader's and the delegate's votes recorded
	confirmed               int64  // the same, its confirmations issued
	own                     string // the delegate's confirmation in confirmed
	mismatch                string // the leader's confirmation in confirmed, a paper copy with another choice
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "authz.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a := bq.Audit{Actor: "local:test"}
	person := func(name string, delegate bool, n int) int64 {
		p, err := st.CreatePerson(ctx, a, &bq.Person{FullName: name, Delegate: delegate, Phone: fmt.Sprintf("+8490000%04d", n)})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	f := &fixture{tokens: map[string]string{}, actors: map[string]string{}}
	f.leader = person("Trưởng Ban Pháp Chế", true, 1)
	f.delegate = person("Đại Biểu Trong Ban", true, 2)
	f.staff = person("Chuyên Viên Ban", false, 3)
	f.otherLeader = person("Trưởng Ban Kinh Tế", true, 4)
	f.outsider = person("Đại Biểu Ngoài Ban", true, 5)
	group := func(name string, leader int64, members ...int64) int64 {
		g, err := st.CreateGroup(ctx, a, &bq.Group{DisplayName: name, Kind: bq.KindCommittee, LeaderID: leader})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if _, err := st.AddGroupMember(ctx, a, g.ID, m, ""); err != nil {
				t.Fatal(err)
			}
		}
		return g.ID
	}
	f.g = group("HĐND - Ban Pháp chế", f.leader, f.delegate, f.staff)
	f.other = group("HĐND - Ban Kinh tế - Ngân sách", f.otherLeader, f.outsider)
	if _, err := st.UpdateCouncil(ctx, a, func(c *bq.Council) error {
		*c = bq.Council{Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X", Place: "Bình Dương"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	mk := func(caller string, role bq.TokenRole, person int64, ttl time.Duration) *bq.Token {
		secret, hash, err := bq.NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := st.CreateToken(ctx, a, &bq.Token{Name: caller, Role: role, PersonID: person, Hash: hash, ExpireTime: time.Now().Add(ttl)}, bq.RequestKey{})
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[caller] = secret
		f.actors[caller] = bq.TokenName(tok.ID)
		if person != 0 {
			f.actors[caller] = fmt.Sprintf("people/%d", person)
		}
		return tok
	}
	mk(asAdmin, bq.TokenAdmin, 0, time.Hour)
	mk(secretariat, bq.TokenSecretariat, 0, time.Hour)
	mk(leaderIn, bq.TokenPerson, f.leader, time.Hour)
	mk(leaderOther, bq.TokenPerson, f.otherLeader, time.Hour)
	mk(delegateIn, bq.TokenPerson, f.delegate, time.Hour)
	mk(delegateOut, bq.TokenPerson, f.outsider, time.Hour)
	mk(staffIn, bq.TokenPerson, f.staff, time.Hour)
	mk(expired, bq.TokenAdmin, 0, -time.Minute)
	gone := mk(revoked, bq.TokenAdmin, 0, time.Hour)
	if _, err := st.RevokeToken(ctx, a, gone.ID); err != nil {
		t.Fatal(err)
	}
	f.spareToken = mk("spare", bq.TokenSecretariat, 0, time.Hour).ID
	poll := &bq.Poll{BodyID: f.g, GroupID: f.g, Kind: bq.KindVote, Title: "Thông qua", Question: "Đồng ý?", Rule: bq.RuleMajorityOfAll, Deadline: time.Now().Add(time.Hour)}
	poll.Normalize()
	p, err := st.CreatePoll(ctx, a, poll, bq.RequestKey{})
	if err != nil {
		t.Fatal(err)
	}
	f.poll = p.ID
	if _, err := st.RecordVote(ctx, a, store.VoteRequest{PollID: p.ID, PersonID: f.delegate, Options: []string{"Tán thành"}, Source: bq.SourceZalo}); err != nil {
		t.Fatal(err)
	}
	f.closed = closedPoll(t, st, f.g, f.leader, f.delegate)
	f.confirmed = closedPoll(t, st, f.g, f.leader, f.delegate)
	plan, err := st.PlanConfirmations(ctx, f.confirmed, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	docs := make([][]byte, len(plan.Confirmations))
	for i, c := range plan.Confirmations {
		docs[i] = []byte("%PDF-1.4 " + c.Name())
	}
	_, issued, err := st.IssueConfirmations(ctx, a, plan, docs, bq.RequestKey{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range issued {
		switch c.PersonID {
		case f.delegate:
			f.own = c.Name()
		case f.leader:
			f.mismatch = c.Name()
			if _, _, err := st.ChangeConfirmation(ctx, a, c.PollID, c.ID, "RecordPaperConfirmation", bq.RequestKey{}, func(p *bq.Poll, c *bq.Confirmation) (*bq.ConfirmationEvent, error) {
				return c.RecordPaper(time.Now(), a.Actor, []int{1}, p, nil) // 1 is "Không tán thành"
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.h = startWith(t, Config{Store: st, Renderer: pdf.New(), Verifier: refuseAll{}, Scans: blankScans{}}, "")
	f.h.st = st
	return f
}

// refuseAll rejects every file as not a PDF: the matrix asks who may submit, not what.
type refuseAll struct{}

func (refuseAll) Identify([]byte) (string, string, error) { return "", "", errors.New("not a PDF") }
func (refuseAll) Verify(_, _ []byte, _, _ time.Time) ([]bq.DocumentSignature, error) {
	return nil, bq.Reject("not_pdf", "the file is not a PDF")
}

// blankScans reads every file as a PNG without a QR code.
type blankScans struct{}

func (blankScans) MediaType([]byte) (string, error)  { return "image/png", nil }
func (blankScans) Payloads([]byte) ([]string, error) { return nil, nil }

// upload sends metadata then one chunk on a client stream and reads the answer.
func upload[Req any, Resp any](stream interface {
	Send(Req) error
	CloseAndRecv() (Resp, error)
}, meta, chunk Req) error {
	// io.EOF from Send means the server ended the call: CloseAndRecv says why.
	if err := stream.Send(meta); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := stream.Send(chunk); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	_, err := stream.CloseAndRecv()
	return err
}

// closedPoll opens a vote in group g, records each voter's "Tán thành" and closes it.
func closedPoll(t *testing.T, st *sqlite.Store, g int64, voters ...int64) int64 {
	t.Helper()
	ctx := context.Background()
	a := bq.Audit{Actor: "local:test"}
	poll := &bq.Poll{BodyID: g, GroupID: g, Kind: bq.KindVote, Title: "Thông qua báo cáo", Question: "Đồng ý thông qua báo cáo?",
		Rule: bq.RuleMajorityOfAll, Deadline: time.Now().Add(time.Hour)}
	poll.Normalize()
	p, err := st.CreatePoll(ctx, a, poll, bq.RequestKey{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range voters {
		if _, err := st.RecordVote(ctx, a, store.VoteRequest{PollID: p.ID, PersonID: v, Options: []string{"Tán thành"}, Source: bq.SourceZalo}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ClosePoll(ctx, a, p.ID, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// matrixCase is one RPC: a valid request against the fixture, and who may make it.
type matrixCase struct {
	allowed string // everyCaller, officeCaller, asAdmin, or peopleInG (office and members of G)
	call    func(ctx context.Context, f *fixture) error
}

func unary[Req, Resp any](fn func(context.Context, Req, ...grpc.CallOption) (Resp, error), req func(f *fixture) Req) func(context.Context, *fixture) error {
	return func(ctx context.Context, f *fixture) error {
		_, err := fn(ctx, req(f))
		return err
	}
}

func matrix(h *harness) map[string]matrixCase {
	r, a, au, pl, cf := h.roster, h.access, h.audit, h.polls, h.confs
	poll := func(f *fixture) string { return fmt.Sprintf("polls/%d", f.poll) }
	pname := func(id int64) string { return fmt.Sprintf("people/%d", id) }
	gname := func(id int64) string { return fmt.Sprintf("groups/%d", id) }
	csv := "record,name,kind,leader,title,delegate,phone,group,role\nperson,Người Mới,,,Đại biểu,yes,0900009999,,\n"
	return map[string]matrixCase{
		pb.RosterService_GetCouncil_FullMethodName: {everyCaller, unary(r.GetCouncil, func(*fixture) *pb.GetCouncilRequest { return &pb.GetCouncilRequest{} })},
		pb.RosterService_UpdateCouncil_FullMethodName: {asAdmin, unary(r.UpdateCouncil, func(*fixture) *pb.UpdateCouncilRequest {
			return &pb.UpdateCouncilRequest{Council: &pb.Council{Term: "khóa XI"}}
		})},
		pb.RosterService_CreatePerson_FullMethodName: {asAdmin, unary(r.CreatePerson, func(*fixture) *pb.CreatePersonRequest {
			return &pb.CreatePersonRequest{Person: &pb.Person{FullName: "Người Mới", Phone: "0900009999"}}
		})},
		pb.RosterService_GetPerson_FullMethodName: {peopleInG, unary(r.GetPerson, func(f *fixture) *pb.GetPersonRequest {
			return &pb.GetPersonRequest{Name: pname(f.delegate)}
		})},
		pb.RosterService_ListPeople_FullMethodName: {peopleInG, unary(r.ListPeople, func(f *fixture) *pb.ListPeopleRequest {
			return &pb.ListPeopleRequest{Group: gname(f.g)}
		})},
		pb.RosterService_UpdatePerson_FullMethodName: {asAdmin, unary(r.UpdatePerson, func(f *fixture) *pb.UpdatePersonRequest {
			return &pb.UpdatePersonRequest{Person: &pb.Person{Name: pname(f.delegate), Title: "Phó Trưởng ban"}}
		})},
		pb.RosterService_DeactivatePerson_FullMethodName: {asAdmin, unary(r.DeactivatePerson, func(f *fixture) *pb.DeactivatePersonRequest {
			return &pb.DeactivatePersonRequest{Name: pname(f.delegate)}
		})},
		pb.RosterService_CreateGroup_FullMethodName: {asAdmin, unary(r.CreateGroup, func(f *fixture) *pb.CreateGroupRequest {
			return &pb.CreateGroupRequest{Group: &pb.Group{DisplayName: "HĐND - Tổ ĐB Dĩ An", Kind: pb.GroupKind_GROUP_KIND_DELEGATE_GROUP, Leader: pname(f.delegate)}}
		})},
		pb.RosterService_GetGroup_FullMethodName: {peopleInG, unary(r.GetGroup, func(f *fixture) *pb.GetGroupRequest {
			return &pb.GetGroupRequest{Name: gname(f.g)}
		})},
		pb.RosterService_ListGroups_FullMethodName: {everyCaller, unary(r.ListGroups, func(*fixture) *pb.ListGroupsRequest { return &pb.ListGroupsRequest{} })},
		pb.RosterService_UpdateGroup_FullMethodName: {asAdmin, unary(r.UpdateGroup, func(f *fixture) *pb.UpdateGroupRequest {
			return &pb.UpdateGroupRequest{Group: &pb.Group{Name: gname(f.g), ZaloLink: "https://zalo.me/g/phapche"}}
		})},
		pb.RosterService_AddGroupMember_FullMethodName: {asAdmin, unary(r.AddGroupMember, func(f *fixture) *pb.AddGroupMemberRequest {
			return &pb.AddGroupMemberRequest{Group: gname(f.g), Person: pname(f.outsider)}
		})},
		pb.RosterService_RemoveGroupMember_FullMethodName: {asAdmin, unary(r.RemoveGroupMember, func(f *fixture) *pb.RemoveGroupMemberRequest {
			return &pb.RemoveGroupMemberRequest{Group: gname(f.g), Person: pname(f.delegate)}
		})},
		pb.RosterService_ImportRoster_FullMethodName: {asAdmin, unary(r.ImportRoster, func(*fixture) *pb.ImportRosterRequest {
			return &pb.ImportRosterRequest{Content: []byte(csv)}
		})},
		pb.AccessService_CreateToken_FullMethodName: {asAdmin, unary(a.CreateToken, func(*fixture) *pb.CreateTokenRequest {
			return &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "Thư ký", Role: pb.TokenRole_TOKEN_ROLE_SECRETARIAT}, Ttl: durationpb.New(time.Hour)}
		})},
		pb.AccessService_ListTokens_FullMethodName: {asAdmin, unary(a.ListTokens, func(*fixture) *pb.ListTokensRequest { return &pb.ListTokensRequest{} })},
		pb.AccessService_RevokeToken_FullMethodName: {asAdmin, unary(a.RevokeToken, func(f *fixture) *pb.RevokeTokenRequest {
			return &pb.RevokeTokenRequest{Name: bq.TokenName(f.spareToken)}
		})},
		pb.AccessService_WhoAmI_FullMethodName:         {everyCaller, unary(a.WhoAmI, func(*fixture) *pb.WhoAmIRequest { return &pb.WhoAmIRequest{} })},
		pb.AuditService_ListAuditEvents_FullMethodName: {officeCaller, unary(au.ListAuditEvents, func(*fixture) *pb.ListAuditEventsRequest { return &pb.ListAuditEventsRequest{} })},
		pb.AuditService_VerifyAuditLog_FullMethodName:  {officeCaller, unary(au.VerifyAuditLog, func(*fixture) *pb.VerifyAuditLogRequest { return &pb.VerifyAuditLogRequest{} })},
		pb.AuditService_GetAuditHead_FullMethodName:    {officeCaller, unary(au.GetAuditHead, func(*fixture) *pb.GetAuditHeadRequest { return &pb.GetAuditHeadRequest{} })},

		pb.PollService_CreatePoll_FullMethodName: {leaderOfG, unary(pl.CreatePoll, func(f *fixture) *pb.CreatePollRequest {
			return &pb.CreatePollRequest{Poll: &pb.Poll{Body: gname(f.g), Kind: pb.PollKind_POLL_KIND_VOTE, Title: "Lấy ý kiến", Question: "Đồng ý?",
				DecisionRule: pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL, Deadline: timestamppb.New(time.Now().Add(time.Hour))}}
		})},
		pb.PollService_GetPoll_FullMethodName:   {peopleInG, unary(pl.GetPoll, func(f *fixture) *pb.GetPollRequest { return &pb.GetPollRequest{Name: poll(f)} })},
		pb.PollService_ListPolls_FullMethodName: {everyCaller, unary(pl.ListPolls, func(*fixture) *pb.ListPollsRequest { return &pb.ListPollsRequest{} })},
		pb.PollService_ClosePoll_FullMethodName: {leaderOfG, unary(pl.ClosePoll, func(f *fixture) *pb.ClosePollRequest { return &pb.ClosePollRequest{Name: poll(f)} })},
		pb.PollService_CancelPoll_FullMethodName: {leaderOfG, unary(pl.CancelPoll, func(f *fixture) *pb.CancelPollRequest {
			return &pb.CancelPollRequest{Name: poll(f), Reason: "nhầm"}
		})},
		pb.PollService_RecordVote_FullMethodName: {officeCaller, unary(pl.RecordVote, func(f *fixture) *pb.RecordVoteRequest {
			return &pb.RecordVoteRequest{Poll: poll(f), Person: pname(f.leader), Options: []string{"Tán thành"}}
		})},
		pb.PollService_ImportVotes_FullMethodName: {officeCaller, unary(pl.ImportVotes, func(f *fixture) *pb.ImportVotesRequest {
			return &pb.ImportVotesRequest{Poll: poll(f), Content: []byte("Không tán thành (1)\nTrưởng Ban Pháp Chế\n")}
		})},
		pb.PollService_ListVotes_FullMethodName: {peopleInG, unary(pl.ListVotes, func(f *fixture) *pb.ListVotesRequest { return &pb.ListVotesRequest{Poll: poll(f)} })},
		pb.PollService_ListVoteHistory_FullMethodName: {ownVotes, unary(pl.ListVoteHistory, func(f *fixture) *pb.ListVoteHistoryRequest {
			return &pb.ListVoteHistoryRequest{Poll: poll(f), Person: pname(f.delegate)}
		})},
		pb.PollService_GetTally_FullMethodName: {peopleInG, unary(pl.GetTally, func(f *fixture) *pb.GetTallyRequest { return &pb.GetTallyRequest{Poll: poll(f)} })},
		pb.PollService_WatchPoll_FullMethodName: {peopleInG, func(ctx context.Context, f *fixture) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stream, err := pl.WatchPoll(ctx, &pb.WatchPollRequest{Poll: poll(f)})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}},

		pb.ConfirmationService_GenerateConfirmations_FullMethodName: {leaderOfG, unary(cf.GenerateConfirmations, func(f *fixture) *pb.GenerateConfirmationsRequest {
			return &pb.GenerateConfirmationsRequest{Poll: fmt.Sprintf("polls/%d", f.closed)}
		})},
		// A delegate of G lists only their own; staff in G get an empty list.
		pb.ConfirmationService_ListConfirmations_FullMethodName: {peopleInG, unary(cf.ListConfirmations, func(f *fixture) *pb.ListConfirmationsRequest {
			return &pb.ListConfirmationsRequest{Poll: fmt.Sprintf("polls/%d", f.confirmed)}
		})},
		pb.ConfirmationService_GetConfirmation_FullMethodName: {ownVotes, unary(cf.GetConfirmation, func(f *fixture) *pb.GetConfirmationRequest {
			return &pb.GetConfirmationRequest{Name: f.own}
		})},
		pb.ConfirmationService_DownloadConfirmation_FullMethodName: {ownVotes, func(ctx context.Context, f *fixture) error {
			stream, err := cf.DownloadConfirmation(ctx, &pb.DownloadConfirmationRequest{Name: f.own})
			if err != nil {
				return err
			}
			for {
				if _, err := stream.Recv(); err != nil {
					if err == io.EOF {
						return nil
					}
					return err
				}
			}
		}},
		pb.ConfirmationService_SubmitSignedConfirmation_FullMethodName: {ownOrOffice, func(ctx context.Context, f *fixture) error {
			stream, err := cf.SubmitSignedConfirmation(ctx)
			if err != nil {
				return err
			}
			return upload(stream, &pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Metadata{Metadata: &pb.SubmissionMetadata{Confirmation: f.own}}},
				&pb.SubmitSignedConfirmationRequest{Part: &pb.SubmitSignedConfirmationRequest_Chunk{Chunk: []byte("not a pdf")}})
		}},
		pb.ConfirmationService_RecordPaperConfirmation_FullMethodName: {officeCaller, func(ctx context.Context, f *fixture) error {
			stream, err := cf.RecordPaperConfirmation(ctx)
			if err != nil {
				return err
			}
			return upload(stream, &pb.RecordPaperConfirmationRequest{Part: &pb.RecordPaperConfirmationRequest_Metadata{Metadata: &pb.PaperMetadata{Confirmation: f.own}}},
				&pb.RecordPaperConfirmationRequest{Part: &pb.RecordPaperConfirmationRequest_Chunk{Chunk: []byte("\x89PNG")}})
		}},
		pb.ConfirmationService_DeclineConfirmation_FullMethodName: {ownOrOffice, unary(cf.DeclineConfirmation, func(f *fixture) *pb.DeclineConfirmationRequest {
			return &pb.DeclineConfirmationRequest{Name: f.own, Reason: "Tôi không tham gia biểu quyết qua Zalo"}
		})},
		pb.ConfirmationService_ResolveMismatch_FullMethodName: {leaderOnly, unary(cf.ResolveMismatch, func(f *fixture) *pb.ResolveMismatchRequest {
			return &pb.ResolveMismatchRequest{Name: f.mismatch, Note: "Đại biểu xác nhận lựa chọn ghi trên giấy"}
		})},
		pb.ConfirmationService_ReissueConfirmation_FullMethodName: {leaderOnly, unary(cf.ReissueConfirmation, func(f *fixture) *pb.ReissueConfirmationRequest {
			return &pb.ReissueConfirmationRequest{Name: f.mismatch, Options: []string{"Không tán thành"}, Note: "Văn phòng ghi nhầm từ Zalo; đại biểu ký lại"}
		})},
		pb.ConfirmationService_GetReconciliation_FullMethodName: {leaderOfG, unary(cf.GetReconciliation, func(f *fixture) *pb.GetReconciliationRequest {
			return &pb.GetReconciliationRequest{Poll: fmt.Sprintf("polls/%d", f.confirmed)}
		})},
		pb.ConfirmationService_GetTallyReport_FullMethodName: {leaderOfG, func(ctx context.Context, f *fixture) error {
			stream, err := cf.GetTallyReport(ctx, &pb.GetTallyReportRequest{Poll: fmt.Sprintf("polls/%d", f.confirmed)})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}},
	}
}

// wantCode is the matrix itself: the code each caller must get.
func wantCode(allowed, caller string) codes.Code {
	switch caller {
	case noToken, revoked, expired:
		return codes.Unauthenticated
	}
	ok := false
	switch allowed {
	case everyCaller:
		ok = true
	case asAdmin:
		ok = caller == asAdmin
	case officeCaller:
		ok = caller == asAdmin || caller == secretariat
	case peopleInG:
		ok = caller == asAdmin || caller == secretariat || caller == leaderIn || caller == delegateIn || caller == staffIn
	case leaderOfG:
		ok = caller == asAdmin || caller == secretariat || caller == leaderIn
	case ownVotes:
		ok = caller == asAdmin || caller == secretariat || caller == leaderIn || caller == delegateIn
	case ownOrOffice:
		ok = caller == asAdmin || caller == secretariat || caller == delegateIn
	case leaderOnly:
		ok = caller == leaderIn
	}
	if ok {
		return codes.OK
	}
	return codes.PermissionDenied
}

// registeredMethods lists every method of every service the server registers.
func registeredMethods(t *testing.T) []string {
	t.Helper()
	srv := New(Config{Store: &flakyStore{}})
	defer srv.Shutdown(context.Background())
	var out []string
	for name, info := range srv.grpc.GetServiceInfo() {
		for _, m := range info.Methods {
			out = append(out, "/"+name+"/"+m.Name)
		}
	}
	sort.Strings(out)
	return out
}

func TestEveryRPCHasAPolicy(t *testing.T) {
	for _, m := range registeredMethods(t) {
		if _, ok := policies[m]; !ok && !isOpen(m) {
			t.Errorf("%s has no policy: it is denied to everyone", m)
		}
	}
}

func TestAuthorizationMatrix(t *testing.T) {
	seen := map[string]bool{}
	for _, method := range registeredMethods(t) {
		if isOpen(method) {
			continue
		}
		if _, ok := matrix(&harness{roster: pb.NewRosterServiceClient(nil), access: pb.NewAccessServiceClient(nil), audit: pb.NewAuditServiceClient(nil),
			polls: pb.NewPollServiceClient(nil), confs: pb.NewConfirmationServiceClient(nil)})[method]; !ok {
			t.Errorf("%s is not in the authorization matrix", method)
			continue
		}
		seen[method] = true
		t.Run(method[strings.LastIndex(method, "/")+1:], func(t *testing.T) {
			for _, caller := range callers {
				// Each caller gets a fresh roster: a write by one must not decide the next.
				f := newFixture(t)
				tc := matrix(f.h)[method]
				before := f.events(t)
				err := tc.call(withToken(context.Background(), f.tokens[caller]), f)
				want := wantCode(tc.allowed, caller)
				if got := status.Code(err); got != want {
					t.Errorf("%s: %v (%v), want %v", caller, got, err, want)
					continue
				}
				after := f.events(t)
				switch want {
				case codes.Unauthenticated:
					if len(after) != len(before) {
						t.Errorf("%s: an unauthenticated call was audited", caller)
					}
				case codes.PermissionDenied:
					last := after[len(after)-1]
					if len(after) != len(before)+1 || last.Outcome != bq.OutcomeDenied || last.Actor != f.actors[caller] {
						t.Errorf("%s: the denial was not audited as %s: %+v", caller, f.actors[caller], last)
					}
				}
				for name, secret := range f.tokens {
					if strings.Contains(f.h.logs.String(), secret) {
						t.Fatalf("the %s token appears in the log", name)
					}
				}
			}
		})
	}
	if len(seen) < 20 {
		t.Errorf("only %d methods checked", len(seen))
	}
}

func (f *fixture) events(t *testing.T) []bq.AuditEvent {
	t.Helper()
	ev, err := f.h.st.ListAuditEvents(context.Background(), store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestPeopleSeeOnlyTheirOwnGroups(t *testing.T) {
	f := newFixture(t)
	ctx := withToken(context.Background(), f.tokens[delegateOut])
	resp, err := f.h.roster.ListGroups(ctx, &pb.ListGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetGroups()) != 1 || resp.GetGroups()[0].GetDisplayName() != "HĐND - Ban Kinh tế - Ngân sách" {
		t.Fatalf("an outsider sees %v", resp.GetGroups())
	}
	who, err := f.h.access.WhoAmI(withToken(context.Background(), f.tokens[leaderIn]), &pb.WhoAmIRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &pb.Membership{Group: fmt.Sprintf("groups/%d", f.g), DisplayName: "HĐND - Ban Pháp chế", Role: pb.MemberRole_MEMBER_ROLE_LEADER}
	if who.GetActor() != f.actors[leaderIn] || len(who.GetMemberships()) != 1 || !proto.Equal(who.GetMemberships()[0], want) {
		t.Fatalf("whoami: %v", who)
	}
}
