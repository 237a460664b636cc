package server

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/voteimport"
)

type pollServer struct {
	pb.UnimplementedPollServiceServer
	base
	store store.PollStore
	clock Clock
	hub   *hub
	sched *scheduler
	// recheck authorizes a stream's caller again (Server.reauthorize).
	recheck func(ctx context.Context, req any) error
	// stopping is closed when the server shuts down.
	stopping <-chan struct{}
	// render, when set, says which texts the written confirmations can print.
	render bq.DocumentRenderer
}

// printable adds a violation for each text (by field) that the written confirmations
// could not print: a poll whose confirmations could never be issued is refused when it is
// opened, not when it is closed. Fields are checked in name order, for stable errors.
func (s *pollServer) printable(vs *bq.Violations, texts map[string]string) {
	if s.render == nil {
		return
	}
	fields := make([]string, 0, len(texts))
	for f := range texts {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if vs.Has(f) {
			continue // one problem a field
		}
		var e *bq.Error
		if err := s.render.Printable(f, texts[f]); errors.As(err, &e) {
			*vs = append(*vs, e.Violations...)
		}
	}
}

var pollKinds = map[pb.PollKind]bq.PollKind{pb.PollKind_POLL_KIND_VOTE: bq.KindVote, pb.PollKind_POLL_KIND_OPINION: bq.KindOpinion}

var decisionRules = map[pb.DecisionRule]bq.DecisionRule{
	pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL:   bq.RuleMajorityOfAll,
	pb.DecisionRule_DECISION_RULE_TWO_THIRDS_OF_ALL: bq.RuleTwoThirdsOfAll,
	pb.DecisionRule_DECISION_RULE_MAJORITY_OF_CAST:  bq.RuleMajorityOfCast,
	pb.DecisionRule_DECISION_RULE_NONE:              bq.RuleNone,
}

var classifications = map[pb.Classification]bq.Classification{
	pb.Classification_CLASSIFICATION_UNSPECIFIED: bq.ClassNone,
	pb.Classification_CLASSIFICATION_NONE:        bq.ClassNone,
	pb.Classification_CLASSIFICATION_MAT:         bq.ClassMat,
	pb.Classification_CLASSIFICATION_TOI_MAT:     bq.ClassToiMat,
	pb.Classification_CLASSIFICATION_TUYET_MAT:   bq.ClassTuyetMat,
}

var pollStates = map[pb.PollState]bq.PollState{
	pb.PollState_POLL_STATE_OPEN:       bq.StateOpen,
	pb.PollState_POLL_STATE_CLOSED:     bq.StateClosed,
	pb.PollState_POLL_STATE_CONFIRMING: bq.StateConfirming,
	pb.PollState_POLL_STATE_FINALIZED:  bq.StateFinalized,
	pb.PollState_POLL_STATE_CANCELLED:  bq.StateCancelled,
}

var outcomes = map[bq.Outcome]pb.Outcome{
	bq.OutcomePending:       pb.Outcome_OUTCOME_PENDING,
	bq.OutcomePassed:        pb.Outcome_OUTCOME_PASSED,
	bq.OutcomeFailed:        pb.Outcome_OUTCOME_FAILED,
	bq.OutcomeNotApplicable: pb.Outcome_OUTCOME_NOT_APPLICABLE,
}

var voteSources = map[pb.VoteSource]bq.VoteSource{
	pb.VoteSource_VOTE_SOURCE_UNSPECIFIED: bq.SourceZalo,
	pb.VoteSource_VOTE_SOURCE_ZALO:        bq.SourceZalo,
	pb.VoteSource_VOTE_SOURCE_OTHER:       bq.SourceOther,
}

// reverse finds the proto value of a domain value in one of the tables above.
func reverse[P comparable, D comparable](m map[P]D, d D) P {
	var zero P
	for p, v := range m {
		if v == d && p != zero {
			return p
		}
	}
	return zero
}

func (s *pollServer) CreatePoll(ctx context.Context, req *pb.CreatePollRequest) (*pb.CreatePollResponse, error) {
	in := req.GetPoll()
	if in == nil {
		return nil, s.fail(ctx, bq.Invalid("poll", "is required"))
	}
	var vs bq.Violations
	p := &bq.Poll{
		Kind: pollKinds[in.GetKind()], Title: nfc(in.GetTitle()), Question: nfc(in.GetQuestion()), Description: nfc(in.GetDescription()),
		MultipleChoice: in.GetMultipleChoice(), ZaloRef: in.GetZaloRef(), Rule: decisionRules[in.GetDecisionRule()],
		Classification: classifications[in.GetClassification()],
	}
	for _, o := range in.GetOptions() {
		p.Options = append(p.Options, nfc(o))
	}
	if in.GetDecisionRule() == pb.DecisionRule_DECISION_RULE_UNSPECIFIED && p.Kind == bq.KindOpinion {
		p.Rule = bq.RuleNone // an opinion poll has no other
	}
	if _, ok := classifications[in.GetClassification()]; !ok {
		p.Classification = "unknown"
	}
	var times bq.Violations
	p.Deadline = timeField(&times, "poll.deadline", in.GetDeadline())
	p.ConfirmationDeadline = timeField(&times, "poll.confirmation_deadline", in.GetConfirmationDeadline())
	var err error
	if p.BodyID, err = bq.ParseName("poll.body", bq.Groups, in.GetBody()); err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	p.GroupID = p.BodyID
	if in.GetGroup() != "" {
		if p.GroupID, err = bq.ParseName("poll.group", bq.Groups, in.GetGroup()); err != nil {
			vs = append(vs, err.(*bq.Error).Violations...)
		}
	}
	// A deadline given as "in two hours" is computed anew by each run of a command, so a
	// re-run after a timeout differs only there: it is the same poll, and must not open a
	// second one nor be refused.
	same := proto.Clone(req).(*pb.CreatePollRequest)
	if same.GetPoll() != nil {
		same.Poll.Deadline, same.Poll.ConfirmationDeadline = nil, nil
	}
	key, err := requestKey(same)
	if err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	p.Normalize()
	vs = append(vs, times...)
	for _, v := range p.Validate("poll", s.clock.Now()) {
		if !times.Has(v.Field) { // one problem a field: a bad time also reads as missing
			vs = append(vs, v)
		}
	}
	texts := map[string]string{"poll.title": p.Title, "poll.question": p.Question, "poll.description": p.Description}
	for i, o := range p.Options {
		texts[fmt.Sprintf("poll.options[%d]", i)] = o
	}
	s.printable(&vs, texts)
	if err := vs.Err("invalid poll"); err != nil {
		return nil, s.fail(ctx, err)
	}
	out, err := s.store.CreatePoll(ctx, auditFrom(ctx), p, key)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.sched.poke()
	return &pb.CreatePollResponse{Poll: pollPB(out, nil)}, nil
}

func (s *pollServer) GetPoll(ctx context.Context, req *pb.GetPollRequest) (*pb.GetPollResponse, error) {
	id, err := bq.ParseName("name", bq.Polls, req.GetName())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	p, voters, err := s.store.GetPoll(ctx, id)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.GetPollResponse{Poll: pollPB(p, voters)}, nil
}

func (s *pollServer) ListPolls(ctx context.Context, req *pb.ListPollsRequest) (*pb.ListPollsResponse, error) {
	size, err := pageSize("page_size", req.GetPageSize())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	f := store.PollFilter{Limit: size + 1}
	if p := principalFrom(ctx); p != nil && p.Person != nil {
		f.MemberID = p.Person.ID // nobody sees the polls of a group they are not in
	}
	if req.GetGroup() != "" {
		if f.GroupID, err = bq.ParseName("group", bq.Groups, req.GetGroup()); err != nil {
			return nil, s.fail(ctx, err)
		}
	}
	if req.GetState() != pb.PollState_POLL_STATE_UNSPECIFIED {
		var ok bool
		if f.State, ok = pollStates[req.GetState()]; !ok {
			return nil, s.fail(ctx, bq.Invalid("state", "%d is not a poll state", req.GetState()))
		}
	}
	var vs bq.Violations
	f.Since = timeField(&vs, "start_time", req.GetStartTime())
	f.Until = timeField(&vs, "end_time", req.GetEndTime())
	if err := vs.Err("invalid filter"); err != nil {
		return nil, s.fail(ctx, err)
	}
	filter := fmt.Sprintf("%d|%d|%s|%d|%d", f.MemberID, f.GroupID, f.State, f.Since.UnixNano(), f.Until.UnixNano())
	if f.BeforeID, err = parsePageToken("page_token", req.GetPageToken(), filter); err != nil {
		return nil, s.fail(ctx, err)
	}
	polls, err := s.store.ListPolls(ctx, f)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListPollsResponse{}
	if len(polls) > size {
		polls = polls[:size]
		resp.NextPageToken = pageToken(polls[size-1].ID, filter)
	}
	for i := range polls {
		resp.Polls = append(resp.Polls, pollPB(&polls[i], nil))
	}
	return resp, nil
}

func (s *pollServer) ClosePoll(ctx context.Context, req *pb.ClosePollRequest) (*pb.ClosePollResponse, error) {
	id, err := bq.ParseName("name", bq.Polls, req.GetName())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	key, err := requestKey(req)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	p, err := s.store.ClosePoll(ctx, auditFrom(ctx), id, key)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.hub.notify(id)
	return &pb.ClosePollResponse{Poll: pollPB(p, nil)}, nil
}

func (s *pollServer) CancelPoll(ctx context.Context, req *pb.CancelPollRequest) (*pb.CancelPollResponse, error) {
	id, err := bq.ParseName("name", bq.Polls, req.GetName())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	reason := bq.CleanText(nfc(req.GetReason()))
	var vs bq.Violations
	if reason == "" {
		vs.Add("reason", "is required: a cancellation is recorded with its reason")
	}
	vs.Text("reason", reason, false)
	key, err := requestKey(req)
	if err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	if err := vs.Err("invalid cancellation"); err != nil {
		return nil, s.fail(ctx, err)
	}
	p, err := s.store.CancelPoll(ctx, auditFrom(ctx), id, reason, key)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.hub.notify(id)
	return &pb.CancelPollResponse{Poll: pollPB(p, nil)}, nil
}

func (s *pollServer) RecordVote(ctx context.Context, req *pb.RecordVoteRequest) (*pb.RecordVoteResponse, error) {
	var vs bq.Violations
	pollID, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	personID, err := bq.ParseName("person", bq.People, req.GetPerson())
	if err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	source, ok := voteSources[req.GetSource()]
	if !ok {
		vs.Add("source", "%d is not a vote source", req.GetSource())
	}
	note := bq.CleanText(nfc(req.GetNote()))
	switch {
	case req.GetWithdraw() && len(req.GetOptions()) > 0:
		vs.Add("options", "must be empty to withdraw")
	case !req.GetWithdraw() && len(req.GetOptions()) == 0:
		vs.Add("options", "choose an option, or withdraw")
	}
	if source == bq.SourceOther && note == "" {
		vs.Add("note", "is required when the vote did not come from the Zalo poll: say how it was received (Điều 10.8)")
	}
	vs.Text("note", note, false)
	s.printable(&vs, map[string]string{"note": note})
	key, err := requestKey(req)
	if err != nil {
		vs = append(vs, err.(*bq.Error).Violations...)
	}
	if err := vs.Err("invalid vote"); err != nil {
		return nil, s.fail(ctx, err)
	}
	options := make([]string, len(req.GetOptions()))
	for i, o := range req.GetOptions() {
		options[i] = nfc(o)
	}
	rec, err := s.store.RecordVote(ctx, auditFrom(ctx), store.VoteRequest{PollID: pollID, PersonID: personID, Options: options,
		Withdraw: req.GetWithdraw(), Source: source, Note: note, Key: key})
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	s.hub.notify(pollID)
	return &pb.RecordVoteResponse{Vote: votePB(rec)}, nil
}

var voteListFormats = map[pb.VoteListFormat]voteimport.Format{
	pb.VoteListFormat_VOTE_LIST_FORMAT_UNSPECIFIED: voteimport.FormatDetect,
	pb.VoteListFormat_VOTE_LIST_FORMAT_CSV:         voteimport.FormatCSV,
	pb.VoteListFormat_VOTE_LIST_FORMAT_XLSX:        voteimport.FormatXLSX,
	pb.VoteListFormat_VOTE_LIST_FORMAT_ZALO_TEXT:   voteimport.FormatZaloText,
}

func (s *pollServer) ImportVotes(ctx context.Context, req *pb.ImportVotesRequest) (*pb.ImportVotesResponse, error) {
	pollID, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	format, ok := voteListFormats[req.GetFormat()]
	if !ok {
		return nil, s.fail(ctx, bq.Invalid("format", "%d is not a vote list format", req.GetFormat()))
	}
	key, err := requestKey(req)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	p, voters, err := s.store.GetPoll(ctx, pollID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	entries, err := voteimport.Parse(req.GetContent(), format, p.Options, p.MultipleChoice, voters)
	if ps, ok := problems(err); ok && req.GetDryRun() {
		return &pb.ImportVotesResponse{DryRun: true, Problems: ps}, nil // every problem, in the reply
	}
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	list := make([]store.VoteEntry, len(entries))
	for i, e := range entries {
		list[i] = store.VoteEntry{PersonID: e.PersonID, Options: e.Options}
	}
	recs, unchanged, err := s.store.ImportVotes(ctx, auditFrom(ctx), pollID, list, bq.SourceZalo, req.GetDryRun(), key)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	if !req.GetDryRun() && len(recs) > 0 {
		s.hub.notify(pollID)
	}
	resp := &pb.ImportVotesResponse{DryRun: req.GetDryRun(), Unchanged: int32(unchanged)}
	for i := range recs {
		resp.Votes = append(resp.Votes, votePB(&recs[i]))
	}
	return resp, nil
}

func (s *pollServer) ListVotes(ctx context.Context, req *pb.ListVotesRequest) (*pb.ListVotesResponse, error) {
	pollID, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	size, err := pageSize("page_size", req.GetPageSize())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	filter := req.GetPoll()
	after, err := parsePageToken("page_token", req.GetPageToken(), filter)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	votes, err := s.store.ListVotes(ctx, pollID, after, size+1)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListVotesResponse{}
	if len(votes) > size {
		votes = votes[:size]
		resp.NextPageToken = pageToken(votes[size-1].PersonID, filter)
	}
	for i := range votes {
		resp.Votes = append(resp.Votes, votePB(&votes[i]))
	}
	return resp, nil
}

func (s *pollServer) ListVoteHistory(ctx context.Context, req *pb.ListVoteHistoryRequest) (*pb.ListVoteHistoryResponse, error) {
	pollID, personID, err := parsePollPerson(req.GetPoll(), req.GetPerson())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	votes, err := s.store.ListVoteHistory(ctx, pollID, personID)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	resp := &pb.ListVoteHistoryResponse{}
	for i := range votes {
		resp.Votes = append(resp.Votes, votePB(&votes[i]))
	}
	return resp, nil
}

func parsePollPerson(poll, person string) (int64, int64, error) {
	pollID, err := bq.ParseName("poll", bq.Polls, poll)
	if err != nil {
		return 0, 0, err
	}
	personID, err := bq.ParseName("person", bq.People, person)
	return pollID, personID, err
}

func (s *pollServer) GetTally(ctx context.Context, req *pb.GetTallyRequest) (*pb.GetTallyResponse, error) {
	id, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	t, err := s.store.GetTally(ctx, id)
	if err != nil {
		return nil, s.fail(ctx, err)
	}
	return &pb.GetTallyResponse{Tally: tallyPB(t)}, nil
}

// WatchPoll sends the tally, then a newer one after each change, until the poll can no
// longer change or the caller leaves.
func (s *pollServer) WatchPoll(req *pb.WatchPollRequest, stream pb.PollService_WatchPollServer) error {
	ctx := stream.Context()
	id, err := bq.ParseName("poll", bq.Polls, req.GetPoll())
	if err != nil {
		return s.fail(ctx, err)
	}
	t := s.hub.join(id)
	defer s.hub.leave(id)
	load := func(ctx context.Context) (*bq.Tally, error) { return s.store.GetTally(ctx, id) }
	enc, known := encodingOf(stream)
	// The token's expiry is the same for the whole stream: one timer serves every wait.
	var expiry <-chan time.Time
	expire := func() {
		if p := principalFrom(ctx); p != nil {
			expiry = s.clock.After(p.TokenExpiry.Sub(s.clock.Now()))
		}
	}
	expire()
	var sent int64 = -1
	for {
		access := s.access.wait()
		changed, seq := s.hub.next(t)
		u, err := t.current(ctx, seq, load)
		if err != nil {
			return s.fail(ctx, err)
		}
		tl := u.tally
		if tl.Version > sent {
			if err := u.send(stream, enc, known); err != nil {
				return err
			}
			sent = tl.Version
		}
		if tl.Poll.State == bq.StateFinalized || tl.Poll.State == bq.StateCancelled {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.stopping:
			return status.Error(codes.Unavailable, "the server is shutting down; watch again when it is back")
		case <-changed:
			continue // votes do not change who may watch
		case <-access:
		case <-expiry:
			expire()
		}
		// A token was revoked, the roster changed or the token expired: before sending
		// anything more, make sure the caller may still see this poll.
		if err := s.recheck(ctx, req); err != nil {
			return err
		}
	}
}

// timeField reads an optional timestamp, refusing one the store cannot hold: times are
// kept as Unix nanoseconds, which end in 2262 (a typo such as 3025 for 2025 would
// otherwise wrap into the past).
func timeField(vs *bq.Violations, field string, t *timestamppb.Timestamp) time.Time {
	if t == nil {
		return time.Time{}
	}
	if err := t.CheckValid(); err != nil || t.GetSeconds() < 0 || t.AsTime().Year() >= 2262 {
		vs.Add(field, "is not a time between 1970 and 2261")
		return time.Time{}
	}
	return t.AsTime()
}

func ts(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func votersPB(vs []bq.Voter) []*pb.Voter {
	out := make([]*pb.Voter, len(vs))
	for i, v := range vs {
		out[i] = &pb.Voter{Person: bq.PersonName(v.PersonID), FullName: v.FullName, ZaloName: v.ZaloName, Deactivated: v.Deactivated}
	}
	return out
}

func pollPB(p *bq.Poll, voters []bq.Voter) *pb.Poll {
	return &pb.Poll{
		Name: bq.PollName(p.ID), Body: bq.GroupName(p.BodyID), Group: bq.GroupName(p.GroupID), Kind: reverse(pollKinds, p.Kind),
		Title: p.Title, Question: p.Question, Description: p.Description, Options: p.Options, MultipleChoice: p.MultipleChoice,
		ZaloRef: p.ZaloRef, Deadline: ts(p.Deadline), DecisionRule: reverse(decisionRules, p.Rule),
		ConfirmationDeadline: ts(p.ConfirmationDeadline), Classification: reverse(classifications, p.Classification),
		State: reverse(pollStates, p.State), CancelReason: p.CancelReason, OpenedBy: p.OpenedBy, ElectorateHash: p.ElectorateHash,
		EligibleCount: int32(p.Eligible), Electorate: votersPB(voters),
		CreateTime: ts(p.CreateTime), CloseTime: ts(p.CloseTime), UpdateTime: ts(p.UpdateTime),
	}
}

func votePB(v *bq.VoteRecord) *pb.Vote {
	return &pb.Vote{
		Poll: bq.PollName(v.PollID), Person: bq.PersonName(v.PersonID), FullName: v.FullName, Options: v.Choice, Withdrawn: v.Withdrawn(),
		Source: reverse(voteSources, v.Source), Note: v.Note, RecordedBy: v.RecordedBy, RecordTime: ts(v.RecordTime), RequestId: v.RequestID,
	}
}

func tallyPB(t *bq.Tally) *pb.Tally {
	out := &pb.Tally{
		Poll: bq.PollName(t.Poll.ID), Version: t.Version, State: reverse(pollStates, t.Poll.State), Voted: int32(t.Voted),
		Eligible: int32(t.Poll.Eligible), Missing: votersPB(t.Missing), DecisionRule: reverse(decisionRules, t.Poll.Rule),
		Required: int32(t.Required), Outcome: outcomes[t.Outcome],
	}
	for i, o := range t.Poll.Options {
		out.Options = append(out.Options, &pb.OptionCount{Option: o, Count: int32(t.Counts[i]), Voters: votersPB(t.Choices[i])})
	}
	if t.Confirmations != nil {
		out.Confirmed = confirmedPB(bq.Reconcile(t, t.Confirmations))
	}
	return out
}
