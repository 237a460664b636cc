package server

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// policies says, for every RPC, who may call it and how the target's group limits it.
// A method missing here is denied to everyone (and a test fails), so a new RPC is born
// closed. Admin and secretariat are the Office (Điều 5); people's rights follow from the
// roster: they see the groups they belong to, and nobody outside a group sees inside it
// (Điều 3.5).
var policies = map[string]rule{
	pb.RosterService_GetCouncil_FullMethodName:        anyone,
	pb.RosterService_UpdateCouncil_FullMethodName:     admin,
	pb.RosterService_CreatePerson_FullMethodName:      admin,
	pb.RosterService_GetPerson_FullMethodName:         personVisible(func(r any) string { return r.(*pb.GetPersonRequest).GetName() }),
	pb.RosterService_ListPeople_FullMethodName:        groupMember(func(r any) string { return r.(*pb.ListPeopleRequest).GetGroup() }),
	pb.RosterService_UpdatePerson_FullMethodName:      admin,
	pb.RosterService_DeactivatePerson_FullMethodName:  admin,
	pb.RosterService_CreateGroup_FullMethodName:       admin,
	pb.RosterService_GetGroup_FullMethodName:          groupMember(func(r any) string { return r.(*pb.GetGroupRequest).GetName() }),
	pb.RosterService_ListGroups_FullMethodName:        anyone, // people see their own groups: the handler filters
	pb.RosterService_UpdateGroup_FullMethodName:       admin,
	pb.RosterService_AddGroupMember_FullMethodName:    admin,
	pb.RosterService_RemoveGroupMember_FullMethodName: admin,
	pb.RosterService_ImportRoster_FullMethodName:      admin,

	pb.AccessService_CreateToken_FullMethodName: admin,
	pb.AccessService_ListTokens_FullMethodName:  admin,
	pb.AccessService_RevokeToken_FullMethodName: admin,
	pb.AccessService_WhoAmI_FullMethodName:      anyone,

	pb.AuditService_ListAuditEvents_FullMethodName: office,
	pb.AuditService_VerifyAuditLog_FullMethodName:  office,
	pb.AuditService_GetAuditHead_FullMethodName:    office,

	pb.PollService_CreatePoll_FullMethodName:      bodyLeader(func(r any) string { return r.(*pb.CreatePollRequest).GetPoll().GetBody() }),
	pb.PollService_GetPoll_FullMethodName:         pollMember(func(r any) string { return r.(*pb.GetPollRequest).GetName() }),
	pb.PollService_ListPolls_FullMethodName:       anyone, // people see the polls of their own groups: the handler filters
	pb.PollService_ClosePoll_FullMethodName:       pollLeader("name", "close or cancel", func(r any) string { return r.(*pb.ClosePollRequest).GetName() }),
	pb.PollService_CancelPoll_FullMethodName:      pollLeader("name", "close or cancel", func(r any) string { return r.(*pb.CancelPollRequest).GetName() }),
	pb.PollService_RecordVote_FullMethodName:      office, // the secretariat records from the Zalo poll; nobody votes for anybody
	pb.PollService_ImportVotes_FullMethodName:     office,
	pb.PollService_ListVotes_FullMethodName:       pollMember(func(r any) string { return r.(*pb.ListVotesRequest).GetPoll() }),
	pb.PollService_ListVoteHistory_FullMethodName: ownHistory,
	pb.PollService_GetTally_FullMethodName:        pollMember(func(r any) string { return r.(*pb.GetTallyRequest).GetPoll() }),
	pb.PollService_WatchPoll_FullMethodName:       pollMember(func(r any) string { return r.(*pb.WatchPollRequest).GetPoll() }),

	pb.ConfirmationService_GenerateConfirmations_FullMethodName: pollLeader("poll", "issue the confirmations of", func(r any) string {
		return r.(*pb.GenerateConfirmationsRequest).GetPoll()
	}),
	// Members of the poll's group, and its voters who have left the group since, may ask;
	// the handler shows a delegate only their own.
	pb.ConfirmationService_ListConfirmations_FullMethodName:    confirmationReader(func(r any) string { return r.(*pb.ListConfirmationsRequest).GetPoll() }),
	pb.ConfirmationService_GetConfirmation_FullMethodName:      ownConfirmation(func(r any) string { return r.(*pb.GetConfirmationRequest).GetName() }),
	pb.ConfirmationService_DownloadConfirmation_FullMethodName: ownConfirmation(func(r any) string { return r.(*pb.DownloadConfirmationRequest).GetName() }),
	pb.ConfirmationService_GetTallyReport_FullMethodName: pollLeader("poll", "read the tally report of", func(r any) string {
		return r.(*pb.GetTallyReportRequest).GetPoll()
	}),
	// What comes back (issue 6/7). The Office submits, attests and declines on a
	// delegate's behalf; a delegate submits and declines their own; the body's leader
	// resolves mismatches and reads the reconciliation. A submission that names no
	// confirmation is checked by the handler once the file says which it is.
	pb.ConfirmationService_SubmitSignedConfirmation_FullMethodName: delegateOrOffice("submit", func(r any) string {
		return r.(*pb.SubmitSignedConfirmationRequest).GetMetadata().GetConfirmation()
	}),
	pb.ConfirmationService_RecordPaperConfirmation_FullMethodName: office,
	pb.ConfirmationService_DeclineConfirmation_FullMethodName: delegateOrOffice("decline", func(r any) string {
		return r.(*pb.DeclineConfirmationRequest).GetName()
	}),
	pb.ConfirmationService_ResolveMismatch_FullMethodName: confirmationLeader("resolve a mismatch of", func(r any) string {
		return r.(*pb.ResolveMismatchRequest).GetName()
	}),
	pb.ConfirmationService_ReissueConfirmation_FullMethodName: confirmationLeader("re-issue", func(r any) string {
		return r.(*pb.ReissueConfirmationRequest).GetName()
	}),
	pb.ConfirmationService_GetReconciliation_FullMethodName: pollLeader("poll", "read the reconciliation of", func(r any) string {
		return r.(*pb.GetReconciliationRequest).GetPoll()
	}),
}

// rule decides one call. It returns nil to allow, a *denial to refuse, or another error
// (a malformed resource name) for the caller to fix.
type rule func(ctx context.Context, az authorizer, p *bq.Principal, req any) error

// authorizer answers the questions rules ask of the roster beyond the principal itself.
type authorizer interface {
	SharesGroup(ctx context.Context, a, b int64) (bool, error)
	PollGroups(ctx context.Context, id int64) (body, group int64, err error)
	GetConfirmation(ctx context.Context, pollID, id int64) (*bq.Confirmation, error)
	GetPoll(ctx context.Context, id int64) (*bq.Poll, []bq.Voter, error)
}

// denial is a refusal by policy: the reason goes to the caller, the target to the audit.
type denial struct{ target, reason string }

func (d *denial) Error() string { return d.reason }

func deny(target, format string, args ...any) error {
	return &denial{target: target, reason: fmt.Sprintf(format, args...)}
}

func anyone(context.Context, authorizer, *bq.Principal, any) error { return nil }

func admin(_ context.Context, _ authorizer, p *bq.Principal, req any) error {
	if p.IsAdmin() {
		return nil
	}
	return deny(requestTarget(req), "only an admin may do this")
}

func office(_ context.Context, _ authorizer, p *bq.Principal, req any) error {
	if p.IsOffice() {
		return nil
	}
	return deny(requestTarget(req), "only the Office (admin or secretariat) may do this")
}

// groupMember allows the Office, and people who belong to the group the request names.
// A person must name a group: listing across groups would show groups they are not in.
func groupMember(group func(any) string) rule {
	return func(_ context.Context, _ authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		name := group(req)
		if name == "" {
			return deny("", "name a group you belong to: only the Office sees across groups")
		}
		id, err := bq.ParseName("group", bq.Groups, name)
		if err != nil {
			return err
		}
		if !p.MemberOf(id) {
			return deny(name, "you are not a member of %s", name)
		}
		return nil
	}
}

// personVisible allows the Office, the person themself, and people who share a group with
// them: members of a group know each other.
func personVisible(person func(any) string) rule {
	return func(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		name := person(req)
		id, err := bq.ParseName("name", bq.People, name)
		if err != nil {
			return err
		}
		if p.Person.ID == id {
			return nil
		}
		shared, err := az.SharesGroup(ctx, p.Person.ID, id)
		if err != nil {
			return err
		}
		if !shared {
			return deny(name, "%s is in none of your groups", name)
		}
		return nil
	}
}

// bodyLeader allows the Office, and the leader of the body the request names: a body's
// leader opens its polls.
func bodyLeader(body func(any) string) rule {
	return func(_ context.Context, _ authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		name := body(req)
		id, err := bq.ParseName("poll.body", bq.Groups, name)
		if err != nil {
			return err
		}
		if !p.Leads(id) {
			return deny(name, "only the leader of %s, or the Office, may open its polls", name)
		}
		return nil
	}
}

// pollMember allows the Office, and members of the group a poll is held in: nobody
// outside a group sees anything of its polls (Điều 3.5).
func pollMember(poll func(any) string) rule {
	return func(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		name := poll(req)
		id, err := bq.ParseName("poll", bq.Polls, name)
		if err != nil {
			return err
		}
		_, group, err := az.PollGroups(ctx, id)
		if bq.ErrorCode(err) == bq.CodeNotFound {
			return deny(name, "%s does not exist or is not in your groups", name) // no hint either way
		}
		if err != nil {
			return err
		}
		if !p.MemberOf(group) {
			return deny(name, "%s does not exist or is not in your groups", name)
		}
		return nil
	}
}

// pollLeader allows the Office, and the leader of the body that opened the poll; field
// names the request field that holds the poll, what says what the call does to it.
func pollLeader(field, what string, poll func(any) string) rule {
	return func(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		name := poll(req)
		id, err := bq.ParseName(field, bq.Polls, name)
		if err != nil {
			return err
		}
		body, _, err := az.PollGroups(ctx, id)
		if bq.ErrorCode(err) == bq.CodeNotFound {
			return deny(name, "%s does not exist or is not yours to %s", name, what)
		}
		if err != nil {
			return err
		}
		if !p.Leads(body) {
			return deny(name, "only the leader of %s, or the Office, may %s %s", bq.GroupName(body), what, name)
		}
		return nil
	}
}

// ownConfirmation allows the Office, the leader of the body that opened the poll, and the
// delegate the confirmation was issued to. Anyone else is told the same whether it exists
// or not.
// confirmationReader allows what pollMember allows, and a delegate of the poll's frozen
// electorate who has left its group since: they still owe their confirmation, and may
// list it (the handler shows them their own row only).
func confirmationReader(poll func(any) string) rule {
	member := pollMember(poll)
	return func(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
		err := member(ctx, az, p, req)
		var d *denial
		if !errors.As(err, &d) || p.Person == nil {
			return err
		}
		id, perr := bq.ParseName("poll", bq.Polls, poll(req))
		if perr != nil {
			return err
		}
		_, voters, gerr := az.GetPoll(ctx, id)
		if gerr != nil {
			return err // the same refusal whether the poll exists or not
		}
		for _, v := range voters {
			if v.PersonID == p.Person.ID {
				return nil
			}
		}
		return err
	}
}

func ownConfirmation(confirmation func(any) string) rule {
	return func(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		name := confirmation(req)
		pollID, id, err := bq.ParseConfirmationName("name", name)
		if err != nil {
			return err
		}
		refused := deny(name, "%s does not exist or is not yours: a delegate sees only their own confirmations", name)
		body, _, err := az.PollGroups(ctx, pollID)
		if bq.ErrorCode(err) == bq.CodeNotFound {
			return refused
		}
		if err != nil {
			return err
		}
		if p.Leads(body) {
			return nil
		}
		c, err := az.GetConfirmation(ctx, pollID, id)
		if bq.ErrorCode(err) == bq.CodeNotFound || err == nil && (p.Person == nil || c.PersonID != p.Person.ID) {
			return refused
		}
		return err
	}
}

// delegateOrOffice allows the Office, and the delegate the named confirmation was issued
// to; a person may leave the name empty only where the handler checks the file's own
// (submissions). Anyone else is told the same whether it exists or not.
func delegateOrOffice(what string, confirmation func(any) string) rule {
	return func(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
		if p.IsOffice() {
			return nil
		}
		if p.Person == nil {
			return deny(requestTarget(req), "only the Office or the delegate may %s a confirmation", what)
		}
		name := confirmation(req)
		if name == "" && what == "submit" {
			return nil
		}
		pollID, id, err := bq.ParseConfirmationName("name", name)
		if err != nil {
			return err
		}
		c, err := az.GetConfirmation(ctx, pollID, id)
		if bq.ErrorCode(err) == bq.CodeNotFound || err == nil && c.PersonID != p.Person.ID {
			return deny(name, "%s does not exist or is not yours: a delegate may %s only their own confirmations", name, what)
		}
		return err
	}
}

// confirmationLeader allows only the leader of the body that opened the confirmation's
// poll: settling what a delegate wrote is the body's decision, not the Office's.
func confirmationLeader(what string, confirmation func(any) string) rule {
	return func(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
		name := confirmation(req)
		pollID, _, err := bq.ParseConfirmationName("name", name)
		if err != nil {
			return err
		}
		body, _, err := az.PollGroups(ctx, pollID)
		if bq.ErrorCode(err) == bq.CodeNotFound {
			return deny(name, "%s does not exist or is not yours to %s", name, what)
		}
		if err != nil {
			return err
		}
		if !p.Leads(body) {
			return deny(name, "only the leader of %s may %s %s", bq.GroupName(body), what, name)
		}
		return nil
	}
}

// ownHistory allows the Office, the leader of the poll's body, and the delegate whose
// history it is.
func ownHistory(ctx context.Context, az authorizer, p *bq.Principal, req any) error {
	if p.IsOffice() {
		return nil
	}
	r := req.(*pb.ListVoteHistoryRequest)
	pollID, personID, err := parsePollPerson(r.GetPoll(), r.GetPerson())
	if err != nil {
		return err
	}
	body, group, err := az.PollGroups(ctx, pollID)
	if err != nil && bq.ErrorCode(err) != bq.CodeNotFound {
		return err
	}
	if err == nil && p.MemberOf(group) && (p.Person.ID == personID || p.Leads(body)) {
		return nil
	}
	return deny(r.GetPoll(), "you may read only your own votes in the polls of your groups")
}

// isResourceName reports whether s is the canonical name of a resource.
func isResourceName(s string) bool {
	if s == bq.CouncilName {
		return true
	}
	for _, c := range []bq.Collection{bq.People, bq.Groups, bq.Polls, bq.Tokens} {
		if _, err := bq.ParseName("", c, s); err == nil {
			return true
		}
	}
	_, _, err := bq.ParseConfirmationName("", s)
	return err == nil
}

// requestTarget names the resource a request is about, for the audit of a refusal: its
// name, poll, body, group or person field, or those of the resource it carries; "" when
// none holds a well-formed resource name.
func requestTarget(req any) string {
	m, ok := req.(proto.Message)
	if !ok {
		return ""
	}
	msg := m.ProtoReflect()
	for _, field := range []protoreflect.Name{"name", "poll", "body", "group", "person"} {
		if fd := msg.Descriptor().Fields().ByName(field); fd != nil {
			switch fd.Kind() {
			case protoreflect.StringKind:
				// Only a resource name as the domain spells it: the field is as the caller
				// sent it, unchecked, and the trail keeps it.
				if s := msg.Get(fd).String(); isResourceName(s) {
					return s
				}
			case protoreflect.MessageKind:
				if msg.Has(fd) {
					if s := requestTarget(msg.Get(fd).Message().Interface()); s != "" {
						return s
					}
				}
			}
		}
	}
	return ""
}
