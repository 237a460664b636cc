package server

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// A refused call is audited with the resource it names. The admin and office rules took
// that name from the request as sent, before anything checked it: a person token could
// write megabytes of any text, invisible characters included, into the trail per call.
func TestDenialTargetsAreResourceNamesOnly(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	voters := h.voters()
	tok, err := h.access.CreateToken(ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "đại biểu", Role: pb.TokenRole_TOKEN_ROLE_PERSON, Person: voters[1].GetPerson()}})
	if err != nil {
		t.Fatal(err)
	}
	as := withToken(ctx, tok.GetSecret())
	hostile := voters[2].GetPerson() + "\u202e\n" + strings.Repeat("x", 1<<20)
	_, err = h.roster.DeactivatePerson(as, &pb.DeactivatePersonRequest{Name: hostile})
	if c := status.Code(err); c != codes.PermissionDenied && c != codes.InvalidArgument {
		t.Fatalf("hostile name: %v", err)
	}
	_, err = h.polls.RecordVote(as, &pb.RecordVoteRequest{Poll: "polls/1\u200b", Person: voters[1].GetPerson(), Options: []string{"x"}})
	if c := status.Code(err); c != codes.PermissionDenied && c != codes.InvalidArgument {
		t.Fatalf("hostile poll: %v", err)
	}
	events, err := h.audit.ListAuditEvents(ctx, &pb.ListAuditEventsRequest{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events.GetEvents() {
		if len(e.GetTarget()) > 100 || strings.ContainsFunc(e.GetTarget()+e.GetSummary(), bq.Unprintable) {
			t.Errorf("event %d holds what the caller sent: target %.40q…, summary %.40q…", e.GetSeq(), e.GetTarget(), e.GetSummary())
		}
	}
}
