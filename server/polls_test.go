package server

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/pdf"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// fakeClock is moved by the test; After fires when Advance passes its time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// countingStore counts tallies computed, to see what watchers cost.
type countingStore struct {
	*sqlite.Store
	tallies atomic.Int64
}

func (c *countingStore) GetTally(ctx context.Context, id int64) (*bq.Tally, error) {
	c.tallies.Add(1)
	return c.Store.GetTally(ctx, id)
}

type pollHarness struct {
	*harness
	clock *fakeClock
	cs    *countingStore
	ban   *pb.Group // HĐND - Ban Pháp chế of the sample roster
	path  string    // the database file
}

// startPolls serves the sample roster on a fake clock shared by server and store.
func startPolls(t testing.TB) *pollHarness {
	t.Helper()
	return startPollsWith(t, func(*Config) {})
}

// startPollsWith is startPolls with the server's configuration edited by edit.
func startPollsWith(t testing.TB, edit func(*Config)) *pollHarness {
	t.Helper()
	clock := newFakeClock()
	path := filepath.Join(t.TempDir(), "polls.db")
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := &countingStore{Store: st}
	secret, hash, _ := bq.NewTokenSecret()
	if _, err := st.CreateToken(context.Background(), bq.Audit{Actor: "local:test"}, &bq.Token{Name: "admin", Role: bq.TokenAdmin, Hash: hash, ExpireTime: clock.Now().Add(24 * time.Hour)}, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Store: cs, Clock: clock, Renderer: pdf.New()}
	edit(&cfg)
	h := startWith(t, cfg, secret)
	h.st = st
	ph := &pollHarness{harness: h, clock: clock, cs: cs, path: path}
	h.importRoster(t, readSample(t, "roster.csv"), false)
	groups, err := h.roster.ListGroups(context.Background(), &pb.ListGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups.GetGroups() {
		if g.GetDisplayName() == "HĐND - Ban Pháp chế" {
			ph.ban = g
		}
	}
	return ph
}

func (h *pollHarness) open(t testing.TB, rule pb.DecisionRule) *pb.Poll {
	t.Helper()
	resp, err := h.polls.CreatePoll(context.Background(), &pb.CreatePollRequest{Poll: &pb.Poll{
		Body: h.ban.GetName(), Kind: pb.PollKind_POLL_KIND_VOTE, Title: "Thông qua báo cáo thẩm tra",
		Question: "Đồng ý thông qua báo cáo thẩm tra dự thảo nghị quyết?", DecisionRule: rule,
		Deadline: timestamppb.New(h.clock.Now().Add(time.Hour)), ZaloRef: "https://zalo.me/g/8jezlo/poll/1"}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetPoll()
}

func (h *pollHarness) record(t *testing.T, poll *pb.Poll, person, option string) error {
	t.Helper()
	_, err := h.polls.RecordVote(context.Background(), &pb.RecordVoteRequest{Poll: poll.GetName(), Person: person, Options: []string{option}})
	return err
}

// voters returns the people of the ban who vote, leader first.
func (h *pollHarness) voters() []*pb.GroupMember {
	var out []*pb.GroupMember
	for _, m := range h.ban.GetMembers() {
		if m.GetRole() != pb.MemberRole_MEMBER_ROLE_STAFF {
			out = append(out, m)
		}
	}
	return out
}

func (h *pollHarness) staff() *pb.GroupMember {
	for _, m := range h.ban.GetMembers() {
		if m.GetRole() == pb.MemberRole_MEMBER_ROLE_STAFF {
			return m
		}
	}
	return nil
}

func TestAVoteInBanPhapCheFromOpenToOutcome(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	voters := h.voters()
	if poll.GetEligibleCount() != int32(len(voters)) || poll.GetState() != pb.PollState_POLL_STATE_OPEN || len(poll.GetOptions()) != 3 {
		t.Fatalf("opened %v", poll)
	}
	// Nine delegates: more than half is five.
	for i, v := range voters {
		option := "Tán thành"
		if i >= 5 {
			option = "Không tán thành"
		}
		if err := h.record(t, poll, v.GetPerson(), option); err != nil {
			t.Fatal(err)
		}
	}
	tl, err := h.polls.GetTally(ctx, &pb.GetTallyRequest{Poll: poll.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if got := tl.GetTally(); got.GetOutcome() != pb.Outcome_OUTCOME_PENDING || got.GetRequired() != 5 || got.GetOptions()[0].GetCount() != 5 {
		t.Fatalf("open tally %v", got)
	}
	if _, err := h.polls.ClosePoll(ctx, &pb.ClosePollRequest{Name: poll.GetName()}); err != nil {
		t.Fatal(err)
	}
	tl, _ = h.polls.GetTally(ctx, &pb.GetTallyRequest{Poll: poll.GetName()})
	if got := tl.GetTally(); got.GetOutcome() != pb.Outcome_OUTCOME_PASSED || got.GetVoted() != 9 || len(got.GetMissing()) != 0 || len(got.GetOptions()[1].GetVoters()) != 4 {
		t.Fatalf("closed tally %v", got)
	}
	err = h.record(t, poll, voters[0].GetPerson(), "Không tán thành")
	wantStatus(t, err, codes.FailedPrecondition)
	got, _ := h.polls.GetPoll(ctx, &pb.GetPollRequest{Name: poll.GetName()})
	if len(got.GetPoll().GetElectorate()) != 9 || got.GetPoll().GetElectorateHash() != poll.GetElectorateHash() {
		t.Fatalf("electorate %v", got.GetPoll())
	}
}

func TestBadPollsAndVotesAreRefused(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	base := func() *pb.Poll {
		return &pb.Poll{Body: h.ban.GetName(), Kind: pb.PollKind_POLL_KIND_VOTE, Title: "T", Question: "Q",
			DecisionRule: pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL, Deadline: timestamppb.New(h.clock.Now().Add(time.Hour))}
	}
	for name, tc := range map[string]struct {
		edit  func(*pb.Poll)
		code  codes.Code
		field string
	}{
		"classified Mật":        {func(p *pb.Poll) { p.Classification = pb.Classification_CLASSIFICATION_MAT }, codes.InvalidArgument, "poll.classification"},
		"classified Tuyệt mật":  {func(p *pb.Poll) { p.Classification = pb.Classification_CLASSIFICATION_TUYET_MAT }, codes.InvalidArgument, "poll.classification"},
		"no deadline":           {func(p *pb.Poll) { p.Deadline = nil }, codes.InvalidArgument, "poll.deadline"},
		"opinion with 1 option": {func(p *pb.Poll) { p.Kind, p.DecisionRule, p.Options = pb.PollKind_POLL_KIND_OPINION, 0, []string{"A"} }, codes.InvalidArgument, "poll.options"},
		"Ban polls everyone":    {func(p *pb.Poll) { p.Group = "groups/1" }, codes.FailedPrecondition, ""},
		"all delegates opens":   {func(p *pb.Poll) { p.Body = "groups/1" }, codes.FailedPrecondition, ""},
		"unknown body":          {func(p *pb.Poll) { p.Body = "groups/99" }, codes.InvalidArgument, "poll.body"},
		"deadline past 2262":    {func(p *pb.Poll) { p.Deadline = timestamppb.New(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)) }, codes.InvalidArgument, "poll.deadline"},
		"deadline in 3025":      {func(p *pb.Poll) { p.Deadline = timestamppb.New(time.Date(3025, 1, 1, 0, 0, 0, 0, time.UTC)) }, codes.InvalidArgument, "poll.deadline"},
	} {
		p := base()
		tc.edit(p)
		_, err := h.polls.CreatePoll(ctx, &pb.CreatePollRequest{Poll: p})
		if tc.field != "" {
			wantStatus(t, err, tc.code, tc.field)
		} else {
			wantStatus(t, err, tc.code)
		}
		if t.Failed() {
			t.Fatalf("case %s", name)
		}
	}
	if list, _ := h.polls.ListPolls(ctx, &pb.ListPollsRequest{}); len(list.GetPolls()) != 0 {
		t.Fatal("a refused poll was stored")
	}
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_TWO_THIRDS_OF_ALL)
	member := h.voters()[1].GetPerson()
	_, err := h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: poll.GetName(), Person: member, Options: []string{"Đồng ý"}})
	wantStatus(t, err, codes.InvalidArgument, "options")
	_, err = h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: poll.GetName(), Person: member, Options: []string{"Tán thành"}, Source: pb.VoteSource_VOTE_SOURCE_OTHER})
	wantStatus(t, err, codes.InvalidArgument, "note")
	_, err = h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: poll.GetName(), Person: member, Options: []string{"Tán thành", "Không tán thành"}})
	wantStatus(t, err, codes.InvalidArgument, "options")
	err = h.record(t, poll, h.staff().GetPerson(), "Tán thành")
	wantStatus(t, err, codes.FailedPrecondition)
	_, err = h.polls.ClosePoll(ctx, &pb.ClosePollRequest{Name: "polls/99"})
	wantStatus(t, err, codes.NotFound)
	_, err = h.polls.CancelPoll(ctx, &pb.CancelPollRequest{Name: poll.GetName()})
	wantStatus(t, err, codes.InvalidArgument, "reason")
	_, err = h.polls.CancelPoll(ctx, &pb.CancelPollRequest{Name: poll.GetName(), Reason: "nhầm \x1b[2Jxoá màn hình"})
	wantStatus(t, err, codes.InvalidArgument, "reason")
	// By phone call, with a note, NFD text: accepted.
	_, err = h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: poll.GetName(), Person: member, Options: []string{norm.NFD.String("tán thành")},
		Source: pb.VoteSource_VOTE_SOURCE_OTHER, Note: "Đại biểu gọi điện lúc 9 giờ, Zalo lỗi"})
	if err != nil {
		t.Fatal(err)
	}
}

func TestMemberAddedAfterOpeningCannotVote(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	newcomer, err := h.roster.CreatePerson(ctx, &pb.CreatePersonRequest{Person: &pb.Person{FullName: "Người Đến Sau", Phone: "0900 000 999", Delegate: true}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.roster.AddGroupMember(ctx, &pb.AddGroupMemberRequest{Group: h.ban.GetName(), Person: newcomer.GetPerson().GetName()}); err != nil {
		t.Fatal(err)
	}
	err = h.record(t, poll, newcomer.GetPerson().GetName(), "Tán thành")
	wantStatus(t, err, codes.FailedPrecondition)
	tl, _ := h.polls.GetTally(ctx, &pb.GetTallyRequest{Poll: poll.GetName()})
	if tl.GetTally().GetEligible() != 9 {
		t.Fatalf("eligible changed to %d", tl.GetTally().GetEligible())
	}
}

func TestImportPastedZaloList(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	v := h.voters()
	// Names typed decomposed (NFD), as some keyboards do, and a list marker.
	good := norm.NFD.String("Tán thành (2)\n1. " + v[0].GetFullName() + "\n2. " + v[1].GetFullName() + "\nKhông tán thành (1)\n" + v[2].GetFullName() + "\n")
	dry, err := h.polls.ImportVotes(ctx, &pb.ImportVotesRequest{Poll: poll.GetName(), Content: []byte(good), DryRun: true})
	if err != nil || len(dry.GetVotes()) != 3 {
		t.Fatalf("dry run: %v, %v", dry, err)
	}
	before, _ := h.polls.GetTally(ctx, &pb.GetTallyRequest{Poll: poll.GetName()})
	if before.GetTally().GetVoted() != 0 {
		t.Fatal("a dry run recorded votes")
	}
	outsider := "Huỳnh Thùy Huyền" // the Chủ tịch, not in this Ban
	for name, content := range map[string]string{
		"a non-member": "Tán thành\n" + v[0].GetFullName() + "\n" + outsider + "\n",
		"an unknown":   "Tán thành\n" + v[0].GetFullName() + "\nKhông Có Ai\n",
	} {
		_, err := h.polls.ImportVotes(ctx, &pb.ImportVotesRequest{Poll: poll.GetName(), Content: []byte(content)})
		st := wantStatus(t, err, codes.InvalidArgument)
		if got := violationFields(st); len(got) != 1 || got[0] != "lines[3]" {
			t.Errorf("%s: violations %v (%s)", name, got, st.Message())
		}
	}
	after, _ := h.polls.GetTally(ctx, &pb.GetTallyRequest{Poll: poll.GetName()})
	if after.GetTally().GetVoted() != 0 {
		t.Fatal("a refused import recorded votes")
	}
	resp, err := h.polls.ImportVotes(ctx, &pb.ImportVotesRequest{Poll: poll.GetName(), Content: []byte(good)})
	if err != nil || len(resp.GetVotes()) != 3 {
		t.Fatalf("import: %v, %v", resp, err)
	}
	again, err := h.polls.ImportVotes(ctx, &pb.ImportVotesRequest{Poll: poll.GetName(), Content: []byte(good)})
	if err != nil || len(again.GetVotes()) != 0 || again.GetUnchanged() != 3 {
		t.Fatalf("second import: %v, %v", again, err)
	}
}

// waitFor polls cond until it holds; the scheduler runs on its own goroutine.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPollClosesAtItsDeadline(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	state := func() pb.PollState {
		p, err := h.polls.GetPoll(ctx, &pb.GetPollRequest{Name: poll.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		return p.GetPoll().GetState()
	}
	h.clock.Advance(59 * time.Minute)
	time.Sleep(50 * time.Millisecond)
	if state() != pb.PollState_POLL_STATE_OPEN {
		t.Fatal("closed before its deadline")
	}
	h.clock.Advance(time.Minute)
	waitFor(t, "the poll to close", func() bool { return state() == pb.PollState_POLL_STATE_CLOSED })
	events, _ := h.audit.ListAuditEvents(ctx, &pb.ListAuditEventsRequest{Target: poll.GetName()})
	last := events.GetEvents()[len(events.GetEvents())-1]
	if last.GetActor() != "system:scheduler" || last.GetAction() != "ClosePoll" {
		t.Fatalf("last event %v", last)
	}
}

func TestWatchersSeeEveryChangeInOrder(t *testing.T) {
	h := startPolls(t)
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := h.polls.WatchPoll(ctx, &pb.WatchPollRequest{Poll: poll.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	next := func() *pb.Tally {
		t.Helper()
		m, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return m.GetTally()
	}
	first := next()
	if first.GetVoted() != 0 {
		t.Fatalf("first tally %v", first)
	}
	version := first.GetVersion()
	for i, v := range h.voters()[:4] {
		if err := h.record(t, poll, v.GetPerson(), "Tán thành"); err != nil {
			t.Fatal(err)
		}
		got := next()
		if got.GetVersion() <= version || got.GetVoted() != int32(i+1) {
			t.Fatalf("after vote %d: %v (previous version %d)", i+1, got, version)
		}
		version = got.GetVersion()
	}
	if _, err := h.polls.CancelPoll(context.Background(), &pb.CancelPollRequest{Name: poll.GetName(), Reason: "nhập nhầm câu hỏi"}); err != nil {
		t.Fatal(err)
	}
	if last := next(); last.GetState() != pb.PollState_POLL_STATE_CANCELLED || last.GetOutcome() != pb.Outcome_OUTCOME_NOT_APPLICABLE {
		t.Fatalf("after cancel: %v", last)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("the stream must end after a cancelled poll, got %v", err)
	}
}

func TestManyWatchersShareOneTallyPerChange(t *testing.T) {
	h := startPolls(t)
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const watchers = 300
	voters := h.voters()
	var wg sync.WaitGroup
	ready := make(chan struct{}, watchers)
	final := make(chan int32, watchers)
	for range watchers {
		stream, err := h.polls.WatchPoll(ctx, &pb.WatchPollRequest{Poll: poll.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				m, err := stream.Recv()
				if err != nil {
					if first {
						ready <- struct{}{} // let the test go on and fail on the count
					}
					return
				}
				if first {
					ready <- struct{}{}
					first = false
				}
				if m.GetTally().GetVoted() == int32(len(voters)) {
					final <- m.GetTally().GetVoted()
					return
				}
			}
		}()
	}
	for range watchers {
		select {
		case <-ready:
		case <-time.After(20 * time.Second):
			t.Fatal("watchers did not get their first tally")
		}
	}
	before := h.cs.tallies.Load()
	encodedBefore := encodings.Load()
	for _, v := range voters {
		if err := h.record(t, poll, v.GetPerson(), "Tán thành"); err != nil {
			t.Fatal(err)
		}
	}
	for range watchers {
		select {
		case <-final:
		case <-time.After(20 * time.Second):
			t.Fatal("a watcher never saw the last vote")
		}
	}
	cancel()
	wg.Wait()
	// One tally per change would be 9; one per watcher per change would be 2,700.
	n := h.cs.tallies.Load() - before
	if n > int64(2*len(voters)) {
		t.Errorf("%d tallies computed for %d changes and %d watchers", n, len(voters), watchers)
	}
	// Each tally is encoded once, and every watcher sends the same bytes.
	if e := encodings.Load() - encodedBefore; e > n || e == 0 {
		t.Errorf("%d tallies encoded %d times for %d watchers", n, e, watchers)
	}
	if before > watchers/2 {
		t.Errorf("%d tallies computed for %d watchers joining", before, watchers)
	}
}

func TestWatchEndsWhenAccessEnds(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	voters := h.voters()
	token := func(person string) (string, string) {
		resp, err := h.access.CreateToken(ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "đại biểu", Role: pb.TokenRole_TOKEN_ROLE_PERSON, Person: person}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetSecret(), resp.GetToken().GetName()
	}
	watch := func(secret string) pb.PollService_WatchPollClient {
		stream, err := h.polls.WatchPoll(withToken(ctx, secret), &pb.WatchPollRequest{Poll: poll.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stream.Recv(); err != nil {
			t.Fatal(err)
		}
		return stream
	}
	ends := func(stream pb.PollService_WatchPollClient, code codes.Code) {
		t.Helper()
		for {
			_, err := stream.Recv()
			if err != nil {
				wantStatus(t, err, code)
				return
			}
		}
	}

	// A revoked token ends the stream at once, before the next tally.
	secret, name := token(voters[1].GetPerson())
	stream := watch(secret)
	if _, err := h.access.RevokeToken(ctx, &pb.RevokeTokenRequest{Name: name}); err != nil {
		t.Fatal(err)
	}
	ends(stream, codes.Unauthenticated)

	// Leaving the group ends it too.
	secret, _ = token(voters[2].GetPerson())
	stream = watch(secret)
	if _, err := h.roster.RemoveGroupMember(ctx, &pb.RemoveGroupMemberRequest{Group: h.ban.GetName(), Person: voters[2].GetPerson()}); err != nil {
		t.Fatal(err)
	}
	ends(stream, codes.PermissionDenied)

	// And so does the token's expiry.
	short, err := h.access.CreateToken(ctx, &pb.CreateTokenRequest{Token: &pb.Token{DisplayName: "ngắn", Role: pb.TokenRole_TOKEN_ROLE_PERSON,
		Person: voters[3].GetPerson()}, Ttl: durationpb.New(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	stream = watch(short.GetSecret())
	h.clock.Advance(2 * time.Minute)
	ends(stream, codes.Unauthenticated)
}

// A request_id reused with another choice, or by another caller, is ALREADY_EXISTS over
// the wire too: the server fingerprints the request, not only its id.
func TestReusedRequestIDIsOneRequestOnly(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	person := h.voters()[1].GetPerson()
	req := &pb.RecordVoteRequest{Poll: poll.GetName(), Person: person, Options: []string{"Tán thành"}, RequestId: "7d0c3f1e-vote"}
	first, err := h.polls.RecordVote(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.polls.RecordVote(ctx, req)
	if err != nil || again.GetVote().GetRecordTime().AsTime() != first.GetVote().GetRecordTime().AsTime() {
		t.Fatalf("retry: %v, %v", again, err)
	}
	changed := &pb.RecordVoteRequest{Poll: poll.GetName(), Person: person, Options: []string{"Không tán thành"}, RequestId: "7d0c3f1e-vote"}
	_, err = h.polls.RecordVote(ctx, changed)
	wantStatus(t, err, codes.AlreadyExists)
	tl, _ := h.polls.GetTally(ctx, &pb.GetTallyRequest{Poll: poll.GetName()})
	if tl.GetTally().GetOptions()[0].GetCount() != 1 || tl.GetTally().GetOptions()[1].GetCount() != 0 {
		t.Fatalf("tally after a refused reuse: %v", tl.GetTally())
	}
	// Re-running "poll open" after a timeout with the same id opens no second poll.
	open := &pb.CreatePollRequest{RequestId: "open-1", Poll: &pb.Poll{Body: h.ban.GetName(), Kind: pb.PollKind_POLL_KIND_VOTE, Title: "Lần hai",
		Question: "Đồng ý?", DecisionRule: pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL, Deadline: timestamppb.New(h.clock.Now().Add(time.Hour))}}
	p1, err := h.polls.CreatePoll(ctx, open)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := h.polls.CreatePoll(ctx, open)
	if err != nil || p2.GetPoll().GetName() != p1.GetPoll().GetName() {
		t.Fatalf("second open: %v, %v", p2, err)
	}
	for _, bad := range []string{"có dấu", "a b", strings.Repeat("x", 101)} {
		_, err := h.polls.ClosePoll(ctx, &pb.ClosePollRequest{Name: poll.GetName(), RequestId: bad})
		wantStatus(t, err, codes.InvalidArgument)
	}
}

// An open watch ends as soon as the server shuts down, with UNAVAILABLE, rather than hold
// the graceful stop for its whole grace period.
func TestShutdownEndsWatches(t *testing.T) {
	clock := newFakeClock()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "watch.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	secret, hash, _ := bq.NewTokenSecret()
	if _, err := st.CreateToken(context.Background(), bq.Audit{Actor: "local:test"}, &bq.Token{Name: "admin", Role: bq.TokenAdmin, Hash: hash, ExpireTime: clock.Now().Add(time.Hour)}, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Store: st, Clock: clock})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+secret)
	h := &harness{conn: conn, roster: pb.NewRosterServiceClient(conn), polls: pb.NewPollServiceClient(conn)}
	if _, err := h.roster.ImportRoster(ctx, &pb.ImportRosterRequest{Content: readSample(t, "roster.csv")}); err != nil {
		t.Fatal(err)
	}
	groups, err := h.roster.ListGroups(ctx, &pb.ListGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var ban string
	for _, g := range groups.GetGroups() {
		if g.GetDisplayName() == "HĐND - Ban Pháp chế" {
			ban = g.GetName()
		}
	}
	p, err := h.polls.CreatePoll(ctx, &pb.CreatePollRequest{Poll: &pb.Poll{Body: ban, Kind: pb.PollKind_POLL_KIND_VOTE, Title: "T", Question: "Q?",
		DecisionRule: pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL, Deadline: timestamppb.New(clock.Now().Add(time.Hour))}})
	if err != nil {
		t.Fatal(err)
	}
	watchCtx, cancel := context.WithTimeout(ctx, time.Minute) // a bound for a failing test only
	defer cancel()
	stream, err := h.polls.WatchPoll(watchCtx, &pb.WatchPollRequest{Poll: p.GetPoll().GetName()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	// With no deadline of its own, a graceful stop would wait for the watch for ever.
	done := make(chan struct{})
	go func() {
		srv.Shutdown(context.Background())
		close(done)
	}()
	_, err = stream.Recv()
	wantStatus(t, err, codes.Unavailable)
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("Shutdown still waits for the watch")
	}
}

// Text the written confirmations could not print is refused when it is written: a poll
// with an emoji in an option could be opened and voted, and then never confirmed.
func TestUnprintableTextIsRefusedWhenWritten(t *testing.T) {
	h := startPolls(t)
	ctx := context.Background()
	_, err := h.polls.CreatePoll(ctx, &pb.CreatePollRequest{Poll: &pb.Poll{
		Body: h.ban.GetName(), Kind: pb.PollKind_POLL_KIND_OPINION, Title: "Chọn ngày họp", Question: "Ngày nào?",
		Options: []string{"Thứ Hai", "Thứ Ba 👍"}, Deadline: timestamppb.New(h.clock.Now().Add(time.Hour))}})
	st := wantStatus(t, err, codes.InvalidArgument)
	if got := violationFields(st); len(got) != 1 || got[0] != "poll.options[1]" {
		t.Errorf("violations %v, want poll.options[1] (%s)", got, st.Message())
	}
	poll := h.open(t, pb.DecisionRule_DECISION_RULE_MAJORITY_OF_ALL)
	_, err = h.polls.RecordVote(ctx, &pb.RecordVoteRequest{Poll: poll.GetName(), Person: h.voters()[1].GetPerson(), Options: []string{"Tán thành"},
		Source: pb.VoteSource_VOTE_SOURCE_OTHER, Note: "gọi điện 📞"})
	st = wantStatus(t, err, codes.InvalidArgument)
	if got := violationFields(st); len(got) != 1 || got[0] != "note" {
		t.Errorf("violations %v, want note (%s)", got, st.Message())
	}
	if polls, _ := h.polls.ListPolls(ctx, &pb.ListPollsRequest{}); len(polls.GetPolls()) != 1 {
		t.Errorf("%d polls, want only the printable one", len(polls.GetPolls()))
	}
}
