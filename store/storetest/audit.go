package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// FiveEvents makes a small trail in an empty store: three people, a group, one update.
func FiveEvents(t testing.TB, s store.Store) {
	t.Helper()
	ctx := context.Background()
	a := MustPerson(t, s, "Lê Văn Một", true, 1)
	MustPerson(t, s, "Lê Văn Hai", true, 2)
	MustPerson(t, s, "Lê Văn Ba", false, 3)
	if _, err := s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePerson(ctx, Audit, a.ID, func(p *bq.Person) error { p.Title = "Trưởng ban"; return nil }); err != nil {
		t.Fatal(err)
	}
}

// Verify checks the whole audit trail of s.
func Verify(t testing.TB, s store.Store) *store.AuditVerdict {
	t.Helper()
	v, err := s.VerifyAuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testEveryChangeAppendsOneChainedEvent(t *testing.T, open Factory) {
	s := newStore(t, open)
	ctx := context.Background()
	FiveEvents(t, s)
	events, err := s.ListAuditEvents(ctx, store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Action+" "+e.Target)
		if e.Actor != Audit.Actor || e.RequestID != "test" || e.Outcome != bq.OutcomeDone || e.Summary == "" {
			t.Errorf("event %+v lacks who, what or why", e)
		}
	}
	want := "CreatePerson people/1,CreatePerson people/2,CreatePerson people/3,CreateGroup groups/1,UpdatePerson people/1"
	if strings.Join(got, ",") != want {
		t.Fatalf("events: %v\nwant %s", got, want)
	}
	if v := Verify(t, s); !v.OK || v.Count != 5 || v.HeadSeq != 5 {
		t.Fatalf("verdict %+v", v)
	}
	seq, hash, err := s.AuditHead(ctx)
	if err != nil || seq != 5 || string(hash) != string(events[4].Hash) {
		t.Fatalf("head %d %x, %v", seq, hash, err)
	}
	byTarget, _ := s.ListAuditEvents(ctx, store.AuditFilter{Target: "people/1", Limit: 100})
	if len(byTarget) != 2 {
		t.Errorf("events for people/1: %d, want 2", len(byTarget))
	}
}

func testRefusedChangeLeavesNoEvent(t *testing.T, open Factory) {
	s := newStore(t, open)
	ctx := context.Background()
	p := MustPerson(t, s, "Lê Văn Một", true, 1)
	_, err := s.CreatePerson(ctx, Audit, &bq.Person{FullName: "Trùng", Phone: p.Phone})
	wantCode(t, err, bq.CodeAlreadyExists)
	_, err = s.UpdatePerson(ctx, Audit, p.ID, func(*bq.Person) error { return bq.Invalid("person.title", "no") })
	wantCode(t, err, bq.CodeInvalid)
	if v := Verify(t, s); !v.OK || v.Count != 1 {
		t.Fatalf("verdict %+v, want one event", v)
	}
}

// A head written down earlier is checked against the trail: it must still be in it,
// unchanged. Rewriting the trail beneath it needs the back-end's own tests.
func testVerifyAgainstAHeadRecordedElsewhere(t *testing.T, open Factory) {
	s := newStore(t, open)
	ctx := context.Background()
	FiveEvents(t, s)
	seq, hash, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	known := store.KnownHead{Seq: seq, Hash: hash}
	if v, _ := s.VerifyAuditLog(ctx, known); !v.OK {
		t.Fatalf("untouched trail: %+v", v)
	}
	MustPerson(t, s, "Lê Văn Bốn", true, 4)
	if v, err := s.VerifyAuditLog(ctx, known); err != nil || !v.OK {
		t.Fatalf("a trail grown past the recorded head: %+v, %v", v, err)
	}
	for name, head := range map[string]store.KnownHead{
		"another hash":   {Seq: seq, Hash: append([]byte{hash[0] ^ 1}, hash[1:]...)},
		"beyond the end": {Seq: seq + 5, Hash: hash},
	} {
		if v, err := s.VerifyAuditLog(ctx, head); err != nil || v.OK {
			t.Errorf("%s: not caught with the recorded head: %+v, %v", name, v, err)
		}
	}
}

func testAuthenticateRefusesRevokedExpiredAndDeactivated(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Tick)
	ctx := context.Background()
	p := MustPerson(t, s, "Lê Văn Một", true, 1)
	if _, err := s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: p.ID}); err != nil {
		t.Fatal(err)
	}
	mk := func(role bq.TokenRole, person int64, ttl time.Duration) (string, *bq.Token) {
		return MustToken(t, s, role, person, clock.Tick().Add(ttl))
	}
	admin, _ := mk(bq.TokenAdmin, 0, time.Hour)
	pr, err := s.Authenticate(ctx, bq.HashToken(admin))
	if err != nil || !pr.IsAdmin() || pr.Person != nil {
		t.Fatalf("admin: %+v, %v", pr, err)
	}
	leader, _ := mk(bq.TokenPerson, p.ID, time.Hour)
	pr, err = s.Authenticate(ctx, bq.HashToken(leader))
	if err != nil || pr.Person.ID != p.ID || !pr.Leads(1) || pr.Actor() != "people/1" {
		t.Fatalf("person: %+v, %v", pr, err)
	}
	revoked, tok := mk(bq.TokenSecretariat, 0, time.Hour)
	if _, err := s.RevokeToken(ctx, Audit, tok.ID); err != nil {
		t.Fatal(err)
	}
	expired, _ := mk(bq.TokenSecretariat, 0, -time.Minute)
	gone := MustPerson(t, s, "Lê Văn Nghỉ", true, 2)
	deactivated, _ := mk(bq.TokenPerson, gone.ID, time.Hour)
	if _, err := s.DeactivatePerson(ctx, Audit, gone.ID); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"revoked": revoked, "unknown": "bq_x", "expired": expired, "deactivated": deactivated} {
		if _, err := s.Authenticate(ctx, bq.HashToken(secret)); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("%s token: %v, want store.ErrBadToken", name, err)
		}
	}
}

// What Authenticate answered once is no promise: a revocation, a deactivation, a
// membership removed or the token's expiry shows at the next call, however the store
// keeps principals between calls; and a principal the caller changes changes nothing.
func testAuthenticateSeesEveryChangeAtOnce(t *testing.T, open Factory) {
	clock := NewClock()
	s := open(t, clock.Now)
	ctx := context.Background()
	p := MustPerson(t, s, "Lê Văn Một", true, 1)
	lead := MustPerson(t, s, "Trần Thị Hai", true, 2)
	g, err := s.CreateGroup(ctx, Audit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: lead.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddGroupMember(ctx, Audit, g.ID, p.ID, ""); err != nil {
		t.Fatal(err)
	}
	secret, _ := MustToken(t, s, bq.TokenPerson, p.ID, clock.Now().Add(time.Hour))
	hash := bq.HashToken(secret)
	auth := func() (*bq.Principal, error) { return s.Authenticate(ctx, hash) }
	for range 2 {
		pr, err := auth()
		if err != nil || !pr.MemberOf(g.ID) {
			t.Fatalf("before: %+v, %v", pr, err)
		}
		delete(pr.Groups, g.ID) // the caller's copy
	}
	if _, err := s.RemoveGroupMember(ctx, Audit, g.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	if pr, err := auth(); err != nil || pr.MemberOf(g.ID) {
		t.Fatalf("after leaving the group: %+v, %v", pr, err)
	}
	clock.Advance(time.Hour)
	if _, err := auth(); !errors.Is(err, store.ErrBadToken) {
		t.Fatalf("after its expiry: %v, want store.ErrBadToken", err)
	}
	secret, tok := MustToken(t, s, bq.TokenPerson, p.ID, clock.Now().Add(time.Hour))
	hash = bq.HashToken(secret)
	if _, err := auth(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeToken(ctx, Audit, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := auth(); !errors.Is(err, store.ErrBadToken) {
		t.Fatalf("after revocation: %v, want store.ErrBadToken", err)
	}
	secret, _ = MustToken(t, s, bq.TokenPerson, p.ID, clock.Now().Add(time.Hour))
	hash = bq.HashToken(secret)
	if _, err := auth(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeactivatePerson(ctx, Audit, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := auth(); !errors.Is(err, store.ErrBadToken) {
		t.Fatalf("after deactivation: %v, want store.ErrBadToken", err)
	}
}
