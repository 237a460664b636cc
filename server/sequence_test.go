package server

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// verified fails the test when VerifyAuditLog does not vouch for the trail and the state.
func (h *pollHarness) verified(t *testing.T, when string) {
	t.Helper()
	v, err := h.audit.VerifyAuditLog(context.Background(), &pb.VerifyAuditLogRequest{})
	if err != nil {
		t.Fatalf("%s: verify: %v", when, err)
	}
	if !v.GetOk() {
		t.Fatalf("%s: verify reports seq %d: %s", when, v.GetFirstBadSeq(), v.GetProblem())
	}
}

// A long day of ordinary work through the real server, retries included, leaves a trail
// that VerifyAuditLog vouches for after every step.
func TestAnOrdinaryDayVerifies(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	h.verified(t, "after the roster import")
	voters := h.voters()

	// A person token, created with a request id and created again (a retry after a timeout).
	tokReq := &pb.CreateTokenRequest{RequestId: "tok-1", Token: &pb.Token{DisplayName: "đại biểu", Role: pb.TokenRole_TOKEN_ROLE_PERSON, Person: voters[1].GetPerson()}}
	if _, err := h.access.CreateToken(ctx, tokReq); err != nil {
		t.Fatal(err)
	}
	tok, err := h.access.CreateToken(ctx, tokReq)
	if err != nil {
		t.Fatal(err)
	}
	h.verified(t, "after a reissued token")
	person := tok.GetSecret()

	// The person tries what they may not, again and again.
	for i := 0; i < 5; i++ {
		_, err := h.roster.DeactivatePerson(withToken(ctx, person), &pb.DeactivatePersonRequest{Name: voters[2].GetPerson()})
		wantStatus(t, err, codes.PermissionDenied)
	}
	h.verified(t, "after denials")

	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	open := &pb.CreatePollRequest{RequestId: "open-2", Poll: &pb.Poll{Body: h.ban.GetName(), Kind: pb.PollKind_POLL_KIND_VOTE, Title: "Lần hai",
		Question: "Đồng ý?", DecisionRule: pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL, Deadline: timestamppb.New(h.clock.Now().Add(30 * time.Minute))}}
	second, err := h.polls.CreatePoll(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.polls.CreatePoll(ctx, open); err != nil {
		t.Fatal(err)
	}
	h.verified(t, "after opening two polls")

	for i, v := range voters[:4] {
		req := &pb.RecordVoteRequest{Poll: poll.GetName(), Person: v.GetPerson(), Options: []string{"Tán thành"}, RequestId: "vote-" + v.GetPerson()}
		if i == 3 {
			req.Options = []string{"Không tán thành"}
		}
		for range 2 {
			if _, err := h.polls.RecordVote(ctx, req); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A vote in the second poll, then its withdrawal.
	if _, err := h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: second.GetPoll().GetName(), Person: voters[1].GetPerson(), Options: []string{"Tán thành"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: second.GetPoll().GetName(), Person: voters[1].GetPerson(), Withdraw: true}); err != nil {
		t.Fatal(err)
	}
	h.verified(t, "after votes and retries")

	list := "Tán thành\n" + voters[4].GetFullName() + "\n" + voters[5].GetFullName() + "\nKhông tán thành\n" + voters[0].GetFullName() + "\n"
	imp := &pb.ImportVotesRequest{Poll: poll.GetName(), Content: []byte(list), RequestId: "imp-1"}
	dry := &pb.ImportVotesRequest{Poll: poll.GetName(), Content: []byte(list), DryRun: true, RequestId: "imp-dry"}
	if _, err := h.polls.ImportVotes(ctx, dry); err != nil {
		t.Fatal(err)
	}
	if _, err := h.polls.ImportVotes(ctx, imp); err != nil {
		t.Fatal(err)
	}
	if _, err := h.polls.ImportVotes(ctx, imp); err != nil {
		t.Fatal(err)
	}
	h.verified(t, "after an import and its retry")

	// A delegate who voted is deactivated while the poll is open: out of every group.
	if _, err := h.roster.DeactivatePerson(ctx, &pb.DeactivatePersonRequest{Name: voters[2].GetPerson()}); err != nil {
		t.Fatal(err)
	}
	h.verified(t, "after a deactivation")
	if _, err := h.roster.UpdatePerson(ctx, &pb.UpdatePersonRequest{Person: &pb.Person{Name: voters[3].GetPerson(), Title: "Ủy viên"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.roster.UpdateGroup(ctx, &pb.UpdateGroupRequest{Group: &pb.Group{Name: h.ban.GetName(), ZaloLink: "https://zalo.me/g/moi"}}); err != nil {
		t.Fatal(err)
	}
	h.verified(t, "after roster changes")

	close1 := &pb.ClosePollRequest{Name: poll.GetName(), RequestId: "close-1"}
	for range 2 {
		if _, err := h.polls.ClosePoll(ctx, close1); err != nil {
			t.Fatal(err)
		}
	}
	h.verified(t, "after a close and its retry")

	// The second poll closes at its deadline; the denial run's window closes too.
	h.clock.Advance(31 * time.Minute)
	waitFor(t, "the scheduler to close the second poll", func() bool {
		p, err := h.polls.GetPoll(ctx, &pb.GetPollRequest{Name: second.GetPoll().GetName()})
		return err == nil && p.GetPoll().GetState() == pb.PollState_POLL_STATE_CLOSED
	})
	h.verified(t, "after the scheduler closed a poll")

	cancel := &pb.CancelPollRequest{Name: second.GetPoll().GetName(), Reason: "mở nhầm", RequestId: "cancel-1"}
	for range 2 {
		if _, err := h.polls.CancelPoll(ctx, cancel); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.access.RevokeToken(ctx, &pb.RevokeTokenRequest{Name: tok.GetToken().GetName()}); err != nil {
		t.Fatal(err)
	}
	h.verified(t, "after a cancel and a revocation")
	h.importRoster(t, readSample(t, "roster.csv"), false)
	h.verified(t, "after importing the roster again")
}
