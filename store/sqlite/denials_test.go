package sqlite

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

func openClocked(t *testing.T, path string, clock *storetest.Clock) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func allEvents(t *testing.T, s *Store) []bq.AuditEvent {
	t.Helper()
	events, err := s.ListAuditEvents(context.Background(), store.AuditFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

var (
	intruder = bq.Audit{Actor: "people/7", Credential: "tokens/4", RequestID: "r"}
	refusal  = "people/3 shares no group with the caller"
)

func deny(t *testing.T, s *Store, a bq.Audit, action, target, reason string) {
	t.Helper()
	if err := s.RecordDenied(context.Background(), a, action, target, reason); err != nil {
		t.Fatal(err)
	}
}

// A thousand identical denials in 2.9 s used to append a thousand events. Now the first
// is appended at once and the rest fold into one event, with their count and time span,
// when the run's window closes.
func TestRepeatedDenialsFoldIntoOneEvent(t *testing.T) {
	clock := storetest.NewClock()
	s := openClocked(t, filepath.Join(t.TempDir(), "d.db"), clock)
	start := clock.Now()
	for i := range 1000 {
		a := intruder
		a.RequestID = fmt.Sprintf("r%d", i)
		deny(t, s, a, "GetPerson", "people/3", refusal)
		clock.Advance(2900 * time.Microsecond)
	}
	events := allEvents(t, s)
	if len(events) != 1 || events[0].Summary != refusal || events[0].Outcome != bq.OutcomeDenied || events[0].RequestID != "r0" {
		t.Fatalf("during the run: %+v", events)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("during the run: %+v", v)
	}

	// The window closes; the next write, of any kind, folds the run.
	clock.Advance(denialWindow)
	storetest.MustPerson(t, s, "Lê Văn Một", true, 1)
	events = allEvents(t, s)
	if len(events) != 3 {
		t.Fatalf("%d events after the run, want the first denial, its summary and the new person: %+v", len(events), events)
	}
	sum := events[1]
	from, to := start.Add(2900*time.Microsecond), start.Add(999*2900*time.Microsecond)
	want := fmt.Sprintf("denied 999 more times between %s and %s, as at seq 1: %s", stamp(nanos(from)), stamp(nanos(to)), refusal)
	if sum.Summary != want || sum.Actor != intruder.Actor || sum.Credential != intruder.Credential || sum.Action != "GetPerson" ||
		sum.Target != "people/3" || sum.Outcome != bq.OutcomeDenied || sum.RequestID != "r999" {
		t.Fatalf("summary event %+v\nwant summary %q", sum, want)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("after the run: %+v", v)
	}

	// After the window, the same denial starts a new run.
	deny(t, s, intruder, "GetPerson", "people/3", refusal)
	if n := len(allEvents(t, s)); n != 4 {
		t.Fatalf("a denial after the window: %d events, want 4", n)
	}
}

// Each of caller, credential, action, target and reason makes another run, appended at
// once; alternating between two runs does not defeat the folding.
func TestDifferentDenialsStartNewRuns(t *testing.T) {
	clock := storetest.NewClock()
	s := openClocked(t, filepath.Join(t.TempDir(), "d.db"), clock)
	other := intruder
	other.Actor = "people/8"
	otherToken := intruder
	otherToken.Credential = "tokens/5"
	variants := []func(){
		func() { deny(t, s, intruder, "GetPerson", "people/3", refusal) },
		func() { deny(t, s, intruder, "GetPerson", "people/3", "another reason") },
		func() { deny(t, s, intruder, "GetPerson", "people/4", refusal) },
		func() { deny(t, s, intruder, "UpdatePerson", "people/3", refusal) },
		func() { deny(t, s, other, "GetPerson", "people/3", refusal) },
		func() { deny(t, s, otherToken, "GetPerson", "people/3", refusal) },
	}
	for i, v := range variants {
		v()
		if n := len(allEvents(t, s)); n != i+1 {
			t.Fatalf("variant %d: %d events, want %d", i, n, i+1)
		}
	}
	for i := range 100 {
		variants[i%2]()
		clock.Advance(time.Millisecond)
	}
	if err := s.endDenialRuns(context.Background()); err != nil {
		t.Fatal(err)
	}
	events := allEvents(t, s)
	if len(events) != len(variants)+2 {
		t.Fatalf("%d events, want %d", len(events), len(variants)+2)
	}
	for _, e := range events[len(variants):] {
		if !strings.HasPrefix(e.Summary, "denied 50 more times between") {
			t.Errorf("summary %q", e.Summary)
		}
	}
}

// A caller who varies the target (say, every id) still adds a bounded number of events:
// past maxDenialRuns open runs, its denials are counted in one overflow run.
func TestACallerCannotFloodTheTrailByVaryingTheTarget(t *testing.T) {
	clock := storetest.NewClock()
	s := openClocked(t, filepath.Join(t.TempDir(), "d.db"), clock)
	for i := range 1000 {
		deny(t, s, intruder, "GetPerson", bq.PersonName(int64(i+1)), "not visible")
		clock.Advance(time.Millisecond)
	}
	if n := len(allEvents(t, s)); n != maxDenialRuns {
		t.Fatalf("%d events during the flood, want %d", n, maxDenialRuns)
	}
	// Another caller is not held back by the first one's flood.
	deny(t, s, bq.Audit{Actor: "people/8", Credential: "tokens/5"}, "GetPerson", "people/1", "not visible")
	if n := len(allEvents(t, s)); n != maxDenialRuns+1 {
		t.Fatalf("%d events, want %d", n, maxDenialRuns+1)
	}
	clock.Advance(denialWindow)
	deny(t, s, intruder, "GetPerson", "people/1", "not visible") // folds the runs, starts a new one
	events := allEvents(t, s)
	if len(events) != maxDenialRuns+3 {
		t.Fatalf("%d events after the window, want %d", len(events), maxDenialRuns+3)
	}
	over := events[maxDenialRuns+1]
	if over.Action != "DeniedCalls" || !strings.HasPrefix(over.Summary, fmt.Sprintf("denied %d more calls between", 1000-maxDenialRuns)) ||
		!strings.HasSuffix(over.Summary, "the last: GetPerson people/1000: not visible") {
		t.Fatalf("overflow event %+v", over)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Fatalf("verdict %+v", v)
	}
}

// Counts are committed with each denial: a crash loses none, and the run is folded at
// the first write after its window; a clean Close folds every run at once.
func TestDenialCountsSurviveACrashAndEndAtClose(t *testing.T) {
	clock := storetest.NewClock()
	dir := t.TempDir()
	path := filepath.Join(dir, "d.db")
	s := openClocked(t, path, clock)
	for range 10 {
		deny(t, s, intruder, "GetPerson", "people/3", refusal)
		clock.Advance(time.Second)
	}
	// The files as a power cut would leave them: copied while the store is open.
	crashed := filepath.Join(t.TempDir(), "crashed.db")
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, path+suffix, crashed+suffix)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openClocked(t, path, clock)
	events := allEvents(t, s)
	if len(events) != 2 || !strings.HasPrefix(events[1].Summary, "denied 9 more times between") {
		t.Fatalf("after Close: %+v", events)
	}

	c := openClocked(t, crashed, clock)
	if n := len(allEvents(t, c)); n != 1 {
		t.Fatalf("after the crash: %d events, want the first denial only", n)
	}
	clock.Advance(denialWindow)
	storetest.MustPerson(t, c, "Lê Văn Một", true, 1)
	events = allEvents(t, c)
	if len(events) != 3 || !strings.HasPrefix(events[1].Summary, "denied 9 more times between") {
		t.Fatalf("after the crash and a write: %+v", events)
	}
	if v := storetest.Verify(t, c); !v.OK {
		t.Fatalf("verdict %+v", v)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
