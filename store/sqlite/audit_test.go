package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
)

// fiveEvents makes a small trail: three people, a group, one update.
func fiveEvents(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	a := mustPerson(t, s, "Lê Văn Một", true, 1)
	mustPerson(t, s, "Lê Văn Hai", true, 2)
	mustPerson(t, s, "Lê Văn Ba", false, 3)
	if _, err := s.CreateGroup(ctx, testAudit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: a.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePerson(ctx, testAudit, a.ID, func(p *bq.Person) error { p.Title = "Trưởng ban"; return nil }); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, s *Store) *store.AuditVerdict {
	t.Helper()
	v, err := s.VerifyAuditLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEveryChangeAppendsOneChainedEvent(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	fiveEvents(t, s)
	events, err := s.ListAuditEvents(ctx, store.AuditFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Action+" "+e.Target)
		if e.Actor != testAudit.Actor || e.RequestID != "test" || e.Outcome != bq.OutcomeDone || e.Summary == "" {
			t.Errorf("event %+v lacks who, what or why", e)
		}
	}
	want := "CreatePerson people/1,CreatePerson people/2,CreatePerson people/3,CreateGroup groups/1,UpdatePerson people/1"
	if strings.Join(got, ",") != want {
		t.Fatalf("events: %v\nwant %s", got, want)
	}
	if v := verify(t, s); !v.OK || v.Count != 5 || v.HeadSeq != 5 {
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

func TestRefusedChangeLeavesNoEvent(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	p := mustPerson(t, s, "Lê Văn Một", true, 1)
	_, err := s.CreatePerson(ctx, testAudit, &bq.Person{FullName: "Trùng", Phone: p.Phone})
	wantCode(t, err, bq.CodeAlreadyExists)
	_, err = s.UpdatePerson(ctx, testAudit, p.ID, func(*bq.Person) error { return bq.Invalid("person.title", "no") })
	wantCode(t, err, bq.CodeInvalid)
	if v := verify(t, s); !v.OK || v.Count != 1 {
		t.Fatalf("verdict %+v, want one event", v)
	}
}

func TestVerifyCatchesEveryKindOfTampering(t *testing.T) {
	type tamper struct {
		name   string
		sql    string
		badSeq int64 // 0: the end of the trail is wrong
	}
	var cases []tamper
	for seq := 1; seq <= 5; seq++ {
		cases = append(cases,
			tamper{fmt.Sprintf("edit summary of %d", seq), fmt.Sprintf(`UPDATE audit_events SET summary = summary || '!' WHERE seq = %d`, seq), int64(seq)},
			tamper{fmt.Sprintf("edit actor of %d", seq), fmt.Sprintf(`UPDATE audit_events SET actor = 'people/99' WHERE seq = %d`, seq), int64(seq)},
			tamper{fmt.Sprintf("edit time of %d", seq), fmt.Sprintf(`UPDATE audit_events SET time = time + 1 WHERE seq = %d`, seq), int64(seq)},
		)
		next := int64(seq + 1)
		if seq == 5 {
			next = 0
		}
		cases = append(cases, tamper{fmt.Sprintf("delete %d", seq), fmt.Sprintf(`DELETE FROM audit_events WHERE seq = %d`, seq), next})
	}
	cases = append(cases,
		tamper{"insert in the middle", `UPDATE audit_events SET seq = seq + 10 WHERE seq >= 3; UPDATE audit_events SET seq = seq - 9 WHERE seq >= 13;
			INSERT INTO audit_events (seq, time, actor, credential, action, outcome, target, request_id, summary, prev_hash, hash) SELECT 3, time, actor, credential, action, outcome, target, request_id, 'forged', prev_hash, hash FROM audit_events WHERE seq = 2`, 3},
		tamper{"append a forged event", `INSERT INTO audit_events (seq, time, actor, credential, action, outcome, target, request_id, summary, prev_hash, hash) SELECT 6, time, actor, credential, action, outcome, target, request_id, summary, hash, hash FROM audit_events WHERE seq = 5`, 6},
		tamper{"swap two events", `UPDATE audit_events SET seq = -2 WHERE seq = 2; UPDATE audit_events SET seq = 2 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = -2`, 2},
		tamper{"delete the head", `DELETE FROM audit_head`, 0},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTest(t)
			fiveEvents(t, s)
			if _, err := s.write.Exec(tc.sql); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			v := verify(t, s)
			if v.OK || v.Problem == "" {
				t.Fatalf("tampering not caught: %+v", v)
			}
			if tc.badSeq != 0 && v.BadSeq != tc.badSeq {
				t.Errorf("first bad event = %d, want %d (%s)", v.BadSeq, tc.badSeq, v.Problem)
			}
		})
	}
}

// Rewriting the newest event and the stored head together keeps the chain whole; a head
// written down before is what shows it.
func TestVerifyAgainstAHeadRecordedElsewhere(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	fiveEvents(t, s)
	seq, hash, err := s.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	known := store.KnownHead{Seq: seq, Hash: hash}
	if v, _ := s.VerifyAuditLog(ctx, known); !v.OK {
		t.Fatalf("untouched trail: %+v", v)
	}
	for name, sql := range map[string]string{
		"rewind":  `UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_events WHERE seq = 4); DELETE FROM audit_events WHERE seq = 5`,
		"rewrite": `UPDATE audit_events SET hash = x'00' WHERE seq = 5; UPDATE audit_head SET hash = x'00'`,
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := openTest(t)
			fiveEvents(t, s)
			seq, hash, _ := s.AuditHead(ctx)
			if _, err := s.write.Exec(sql); err != nil {
				t.Fatal(err)
			}
			if v, _ := s.VerifyAuditLog(ctx, store.KnownHead{Seq: seq, Hash: hash}); v.OK {
				t.Fatalf("not caught with the recorded head: %+v", v)
			}
		})
	}
}

func TestAuthenticateRefusesRevokedExpiredAndDeactivated(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	p := mustPerson(t, s, "Lê Văn Một", true, 1)
	if _, err := s.CreateGroup(ctx, testAudit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: p.ID}); err != nil {
		t.Fatal(err)
	}
	mk := func(role bq.TokenRole, person int64, ttl time.Duration) (string, *bq.Token) {
		secret, hash, err := bq.NewTokenSecret()
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.CreateToken(ctx, testAudit, &bq.Token{Name: "t", Role: role, PersonID: person, Hash: hash, ExpireTime: s.now().Add(ttl)})
		if err != nil {
			t.Fatal(err)
		}
		return secret, tok
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
	if _, err := s.RevokeToken(ctx, testAudit, tok.ID); err != nil {
		t.Fatal(err)
	}
	expired, _ := mk(bq.TokenSecretariat, 0, -time.Minute)
	gone := mustPerson(t, s, "Lê Văn Nghỉ", true, 2)
	deactivated, _ := mk(bq.TokenPerson, gone.ID, time.Hour)
	if _, err := s.DeactivatePerson(ctx, testAudit, gone.ID); err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{"revoked": revoked, "unknown": "bq_x", "expired": expired, "deactivated": deactivated} {
		if _, err := s.Authenticate(ctx, bq.HashToken(secret)); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("%s token: %v, want store.ErrBadToken", name, err)
		}
	}
	// Only hashes are stored: no secret is anywhere in the database files.
	s.Close()
	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, secret := range []string{admin, leader, revoked} {
			if strings.Contains(string(b), secret) || strings.Contains(string(b), secret[3:20]) {
				t.Fatalf("a token secret is stored in %s", f)
			}
		}
	}
}
