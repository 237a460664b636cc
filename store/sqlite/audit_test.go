package sqlite

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// Someone with the database file can rewrite the tables beneath the store; every kind of
// rewrite must show. The audit tests that need no SQL are in storetest.
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
			storetest.FiveEvents(t, s)
			if _, err := s.write.Exec(tc.sql); err != nil {
				t.Fatalf("tamper: %v", err)
			}
			v := storetest.Verify(t, s)
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
	ctx := context.Background()
	for name, sql := range map[string]string{
		"rewind":  `UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_events WHERE seq = 4); DELETE FROM audit_events WHERE seq = 5`,
		"rewrite": `UPDATE audit_events SET hash = x'00' WHERE seq = 5; UPDATE audit_head SET hash = x'00'`,
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := openTest(t)
			storetest.FiveEvents(t, s)
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

// Only hashes of tokens are stored: no secret is anywhere in the database files.
func TestTokenSecretsAreNotStored(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	p := storetest.MustPerson(t, s, "Lê Văn Một", true, 1)
	if _, err := s.CreateGroup(ctx, storetest.Audit, &bq.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bq.KindCommittee, LeaderID: p.ID}); err != nil {
		t.Fatal(err)
	}
	expire := s.now().Add(time.Hour)
	admin, _ := storetest.MustToken(t, s, bq.TokenAdmin, 0, expire)
	leader, _ := storetest.MustToken(t, s, bq.TokenPerson, p.ID, expire)
	revoked, tok := storetest.MustToken(t, s, bq.TokenSecretariat, 0, expire)
	if _, err := s.RevokeToken(ctx, storetest.Audit, tok.ID); err != nil {
		t.Fatal(err)
	}
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
