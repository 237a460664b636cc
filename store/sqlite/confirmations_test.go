package sqlite

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// issuedPoll is a closed poll of the fixture's Ban whose confirmations were issued, with
// documents of some size.
func issuedPoll(t *testing.T) (*Store, string, []bq.Confirmation) {
	t.Helper()
	ctx := context.Background()
	clock := storetest.NewClock()
	s, path := openOn(t, clock.Now)
	f := storetest.NewPollFixture(t, s, clock)
	p := f.Open(t, bq.RuleMajorityOfAll)
	for i, id := range f.Members[:5] {
		if err := f.Vote(t, p, id, bq.VoteOptions[i%3]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ClosePoll(ctx, storetest.Audit, p.ID, bq.RequestKey{}); err != nil {
		t.Fatal(err)
	}
	plan, err := s.PlanConfirmations(ctx, p.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	docs := make([][]byte, len(plan.Confirmations))
	for i, c := range plan.Confirmations {
		docs[i] = []byte("%PDF-1.4 " + c.Name() + strings.Repeat(" x", 20000))
	}
	_, issued, err := s.IssueConfirmations(ctx, storetest.Audit, plan, docs, bq.RequestKey{})
	if err != nil {
		t.Fatal(err)
	}
	return s, path, issued
}

// Someone with the database file changes a confirmation: its document, its digest, its
// status, or adds or removes one. Each must show, naming the confirmation.
func TestVerifyCatchesTamperedConfirmations(t *testing.T) {
	cases := []struct {
		name, sql string
		target    func(cs []bq.Confirmation) string
		says      string
	}{
		{"change a byte of a document", `UPDATE confirmations SET document = CAST(replace(CAST(document AS TEXT), ' x x', ' x y') AS BLOB) WHERE id = 2`,
			func(cs []bq.Confirmation) string { return cs[1].Name() }, "confirmations row"},
		{"swap a document and its digest for another's", `UPDATE confirmations SET (document, sha256, size) =
			(SELECT document, sha256, size FROM confirmations WHERE id = 1) WHERE id = 3`,
			func(cs []bq.Confirmation) string { return cs[2].Name() }, "confirmations row"},
		{"change a digest", `UPDATE confirmations SET sha256 = replace(sha256, substr(sha256, 1, 1), 'f') WHERE id = 1`,
			func(cs []bq.Confirmation) string { return cs[0].Name() }, "confirmations row"},
		{"mark one signed", `UPDATE confirmations SET status = 'signed' WHERE id = 4`,
			func(cs []bq.Confirmation) string { return cs[3].Name() }, "confirmations row"},
		{"change the confirmed choice", `UPDATE confirmations SET options = '[1]' WHERE id = 1`,
			func(cs []bq.Confirmation) string { return cs[0].Name() }, "confirmations row"},
		{"remove one", `DELETE FROM confirmations WHERE id = 5`,
			func(cs []bq.Confirmation) string { return cs[4].Name() }, "changed or removed"},
		{"add one", `INSERT INTO confirmations (poll_id, person_id, vote_id, options, issue_time, deadline, status, sha256, size, document)
			SELECT poll_id, 6, vote_id, options, issue_time, deadline, status, sha256, size, document FROM confirmations WHERE id = 1`,
			func(cs []bq.Confirmation) string { return bq.ConfirmationName(cs[0].PollID, 6) }, "no event"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, path, issued := issuedPoll(t)
			if v := storetest.Verify(t, s); !v.OK {
				t.Fatalf("before tampering: %+v", v)
			}
			rawExec(t, path, tc.sql)
			v := storetest.Verify(t, s)
			if v.OK || v.Problem == "" {
				t.Fatalf("tampering not caught: %+v", v)
			}
			if want := tc.target(issued); v.Target != want || !strings.Contains(v.Problem, want) || !strings.Contains(v.Problem, tc.says) {
				t.Errorf("verdict names %q: %s\nwant %s and %q", v.Target, v.Problem, want, tc.says)
			}
			t.Log(v.Problem)
		})
	}
}

// The documents are kept exactly, across a restart.
func TestConfirmationDocumentsSurviveReopen(t *testing.T) {
	s, path, issued := issuedPoll(t)
	ctx := context.Background()
	var before [][]byte
	for _, c := range issued {
		_, doc, err := s.ConfirmationDocument(ctx, c.PollID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		before = append(before, doc)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, path, Options{Now: storetest.NewClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	list, err := s2.ListConfirmations(ctx, store.ConfirmationFilter{PollID: issued[0].PollID, Limit: 100})
	if err != nil || len(list) != len(issued) {
		t.Fatalf("after reopen: %d, %v", len(list), err)
	}
	for i, c := range list {
		_, doc, err := s2.ConfirmationDocument(ctx, c.PollID, c.ID)
		if err != nil || string(doc) != string(before[i]) || fmt.Sprint(c) != fmt.Sprint(issued[i]) {
			t.Fatalf("%s after reopen: %+v (%v), want %+v", c.Name(), c, err, issued[i])
		}
	}
	if v := storetest.Verify(t, s2); !v.OK {
		t.Fatalf("after reopen: %+v", v)
	}
}
