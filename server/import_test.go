package server

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	bq "github.com/bieuquyet/bieuquyet"
	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
	"github.com/bieuquyet/bieuquyet/rosterfile"
)

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (h *harness) importRoster(t testing.TB, content []byte, dryRun bool) *pb.ImportRosterResponse {
	t.Helper()
	resp, err := h.roster.ImportRoster(context.Background(), &pb.ImportRosterRequest{Content: content, DryRun: dryRun})
	if err != nil {
		t.Fatalf("ImportRoster: %v", err)
	}
	return resp
}

// snapshot is everything the roster service shows, to compare before and after.
func (h *harness) snapshot(t *testing.T) []proto.Message {
	t.Helper()
	ctx := context.Background()
	var out []proto.Message
	if c, err := h.roster.GetCouncil(ctx, &pb.GetCouncilRequest{}); err == nil {
		out = append(out, c)
	}
	people, err := h.roster.ListPeople(ctx, &pb.ListPeopleRequest{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := h.roster.ListGroups(ctx, &pb.ListGroupsRequest{PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, people, groups)
}

func sameSnapshot(a, b []proto.Message) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestImportSampleRosterGivesTheTwelveGroups(t *testing.T) {
	h := startStore(t)
	ctx := context.Background()
	csv := readSample(t, "roster.csv")
	// What the file says, read independently of the store, to check the store against.
	file, err := rosterfile.Parse(csv, rosterfile.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	delegates := 0
	names := map[string]string{}
	for _, p := range file.People {
		names[p.Person.Phone] = p.Person.FullName
		if p.Person.Delegate {
			delegates++
		}
	}

	dry := h.importRoster(t, csv, true)
	if len(dry.GetChanges()) == 0 || !dry.GetDryRun() {
		t.Fatalf("dry run: %v", dry)
	}
	if len(h.snapshot(t)) != 2 {
		t.Fatal("a dry run set up the council")
	}
	real := h.importRoster(t, csv, false)
	if len(real.GetChanges()) != len(dry.GetChanges()) {
		t.Errorf("dry run announced %d changes, the import made %d", len(dry.GetChanges()), len(real.GetChanges()))
	}
	if real.GetGroups() != 12 || real.GetPeople() != int32(len(file.People)) {
		t.Errorf("counts: %v", real)
	}
	before := h.snapshot(t)
	if again := h.importRoster(t, csv, false); len(again.GetChanges()) != 0 {
		t.Fatalf("importing the same file again changed %v", again.GetChanges())
	}
	if xlsx := h.importRoster(t, readSample(t, "roster.xlsx"), false); len(xlsx.GetChanges()) != 0 {
		t.Fatalf("the XLSX sample differs from the CSV: %v", xlsx.GetChanges())
	}
	if !sameSnapshot(before, h.snapshot(t)) {
		t.Fatal("re-imports changed the roster")
	}

	groups, err := h.roster.ListGroups(ctx, &pb.ListGroupsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	wantNames := []string{
		"HĐND - Đại biểu khóa X", "HĐND - Thường trực khóa X",
		"HĐND - Ban Kinh tế - Ngân sách", "HĐND - Ban Văn hóa - Xã hội", "HĐND - Ban Pháp chế",
		"HĐND - Tổ ĐB Thủ Dầu Một", "HĐND - Tổ ĐB Thuận An", "HĐND - Tổ ĐB Dĩ An", "HĐND - Tổ ĐB Bến Cát",
		"HĐND - Tổ ĐB Tân Uyên", "HĐND - Tổ ĐB Dầu Tiếng - Bàu Bàng", "HĐND - Tổ ĐB Phú Giáo - Bắc Tân Uyên",
	}
	if len(groups.GetGroups()) != len(wantNames) {
		t.Fatalf("%d groups, want 12", len(groups.GetGroups()))
	}
	for i, g := range groups.GetGroups() {
		rg := file.Groups[i]
		if g.GetDisplayName() != wantNames[i] {
			t.Errorf("group %d is %q, want %q", i, g.GetDisplayName(), wantNames[i])
		}
		leader := g.GetMembers()[0]
		if leader.GetRole() != pb.MemberRole_MEMBER_ROLE_LEADER || leader.GetFullName() != names[rg.LeaderPhone] || !leader.GetDelegate() {
			t.Errorf("%s: leader %v, want %s", g.GetDisplayName(), leader, names[rg.LeaderPhone])
		}
		voting := 0
		for _, m := range file.Members {
			if m.Group == rg.Group.DisplayName && m.Role == bq.RoleMember {
				voting++
			}
		}
		if rg.Group.Kind == bq.KindAllDelegates {
			voting = delegates
		}
		if g.GetVotingMemberCount() != int32(voting) {
			t.Errorf("%s: %d voting members, want %d", g.GetDisplayName(), g.GetVotingMemberCount(), voting)
		}
		for _, m := range g.GetMembers() {
			if (m.GetRole() == pb.MemberRole_MEMBER_ROLE_STAFF) == m.GetDelegate() {
				t.Errorf("%s: %s is %v but delegate=%v", g.GetDisplayName(), m.GetFullName(), m.GetRole(), m.GetDelegate())
			}
		}
	}
}

// sampleLines returns the sample CSV's lines; line i is spreadsheet row i+1.
func sampleLines(t *testing.T) []string {
	t.Helper()
	return strings.Split(strings.TrimRight(string(readSample(t, "roster.csv")), "\n"), "\n")
}

// find returns the index of the first line with the prefix and containing all parts.
func find(t *testing.T, lines []string, prefix string, parts ...string) int {
	t.Helper()
	for i, l := range lines {
		if !strings.HasPrefix(l, prefix) {
			continue
		}
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return i
		}
	}
	t.Fatalf("no line %q with %v", prefix, parts)
	return -1
}

func cells(line string) []string { return strings.Split(line, ",") }

func TestImportBadFilesChangeNothing(t *testing.T) {
	h := startStore(t)
	h.importRoster(t, readSample(t, "roster.csv"), false)
	before := h.snapshot(t)

	type edit func(t *testing.T, lines []string) ([]string, string)
	row := func(i int, col string) string { return bq.RowField(i+1, col) }
	cases := []struct {
		name string
		edit edit
		code codes.Code
	}{
		{"missing column", func(t *testing.T, l []string) ([]string, string) {
			for i := range l {
				c := cells(l[i])
				l[i] = strings.Join(c[:len(c)-1], ",") // drop "role", the last column
			}
			return l, row(0, "role")
		}, codes.InvalidArgument},
		{"duplicate phone", func(t *testing.T, l []string) ([]string, string) {
			i := find(t, l, "person,", "0900 000 103")
			l[i] = strings.Replace(l[i], "0900 000 103", "0900 000 101", 1)
			return l, row(i, "phone")
		}, codes.InvalidArgument},
		{"unknown group", func(t *testing.T, l []string) ([]string, string) {
			i := find(t, l, "member,", "HĐND - Ban Pháp chế")
			l[i] = strings.Replace(l[i], "HĐND - Ban Pháp chế", "HĐND - Ban Tài chính", 1)
			return l, row(i, "group")
		}, codes.InvalidArgument},
		{"leader not a member", func(t *testing.T, l []string) ([]string, string) {
			i := find(t, l, "group,", "HĐND - Ban Pháp chế")
			c := cells(l[i])
			// The Chủ tịch (first person) is in the Standing Committee, not in this Ban.
			c[5] = "0900 000 101"
			l[i] = strings.Join(c, ",")
			return l, row(i, "leader")
		}, codes.InvalidArgument},
		{"leader not a delegate", func(t *testing.T, l []string) ([]string, string) {
			i := find(t, l, "group,", "HĐND - Ban Pháp chế")
			staff := cells(l[find(t, l, "member,", "HĐND - Ban Pháp chế,staff")])[9]
			c := cells(l[i])
			c[5] = staff
			l[i] = strings.Join(c, ",")
			return l, row(i, "leader")
		}, codes.InvalidArgument},
		{"invalid UTF-8", func(t *testing.T, l []string) ([]string, string) {
			i := find(t, l, "person,", "0900 000 105")
			c := cells(l[i])
			c[1] = "Nguy\xff\xfen"
			l[i] = strings.Join(c, ",")
			return l, row(i, "name")
		}, codes.InvalidArgument},
		{"kind of a stored group changes", func(t *testing.T, l []string) ([]string, string) {
			i := find(t, l, "group,", "HĐND - Ban Pháp chế")
			l[i] = strings.Replace(l[i], ",committee,", ",delegate_group,", 1)
			return l, row(i, "kind")
		}, codes.InvalidArgument},
		{"empty file", func(t *testing.T, l []string) ([]string, string) {
			return nil, "content"
		}, codes.InvalidArgument},
		{"file over the 8 MiB limit", func(t *testing.T, l []string) ([]string, string) {
			pad := strings.Repeat("x", rosterfile.MaxSize)
			return append(l, "person,"+pad), "content"
		}, codes.InvalidArgument},
		{"50 MB file", func(t *testing.T, l []string) ([]string, string) {
			pad := strings.Repeat("x", 50<<20)
			return append(l, "person,"+pad), ""
		}, codes.ResourceExhausted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines, field := tc.edit(t, sampleLines(t))
			var content []byte
			if lines != nil {
				content = []byte(strings.Join(lines, "\n") + "\n")
			}
			for _, dry := range []bool{true, false} {
				resp, err := h.roster.ImportRoster(context.Background(), &pb.ImportRosterRequest{Content: content, DryRun: dry})
				switch {
				case field == "":
					wantStatus(t, err, tc.code)
				case dry:
					// A dry run answers with the problems in its reply.
					var got []string
					for _, p := range resp.GetProblems() {
						got = append(got, p.GetField())
					}
					if err != nil || !contains(got, field) || len(resp.GetChanges()) != 0 {
						t.Errorf("dry run: %v, problems %v do not name %s", err, got, field)
					}
				default:
					st := wantStatus(t, err, tc.code)
					if got := violationFields(st); !contains(got, field) {
						t.Errorf("violations %v do not name %s (%s)", got, field, st.Message())
					}
				}
			}
			if !sameSnapshot(before, h.snapshot(t)) {
				t.Fatal("a refused import changed the roster")
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestImportReportsEveryProblemAtOnce(t *testing.T) {
	h := startStore(t)
	lines := sampleLines(t)
	var want []string
	for _, phone := range []string{"0900 000 103", "0900 000 104", "0900 000 105"} {
		i := find(t, lines, "person,", phone)
		c := cells(lines[i])
		c[8] = "maybe" // delegate
		lines[i] = strings.Join(c, ",")
		want = append(want, bq.RowField(i+1, "delegate"))
	}
	_, err := h.roster.ImportRoster(context.Background(), &pb.ImportRosterRequest{Content: []byte(strings.Join(lines, "\n"))})
	st := wantStatus(t, err, codes.InvalidArgument)
	got := violationFields(st)
	for _, w := range want {
		if !contains(got, w) {
			t.Errorf("missing %s in %v", w, got)
		}
	}
	if len(h.snapshot(t)) != 2 {
		t.Error("a refused import set up the council")
	}
}

func TestImportChangesMembershipToMatchTheFile(t *testing.T) {
	h := startStore(t)
	h.importRoster(t, readSample(t, "roster.csv"), false)
	lines := sampleLines(t)
	// Take one delegate member out of Ban Pháp chế; the group must lose them, nothing else.
	i := find(t, lines, "member,", "HĐND - Ban Pháp chế,member")
	lines = append(lines[:i+1], lines[i+2:]...) // the leader's row stays, the next goes
	resp := h.importRoster(t, []byte(strings.Join(lines, "\n")), false)
	if len(resp.GetChanges()) != 1 || resp.GetChanges()[0].GetAction() != "remove_member" {
		t.Fatalf("changes: %v", resp.GetChanges())
	}
	var buf bytes.Buffer
	for _, c := range resp.GetChanges() {
		fmt.Fprintln(&buf, c.GetDetail())
	}
	if !strings.Contains(buf.String(), "HĐND - Ban Pháp chế") {
		t.Errorf("change detail does not name the group: %s", buf.String())
	}
}

// gRPC clients built on C-core (Python, C#, Ruby) refuse response metadata over 8 KiB and
// then report INTERNAL. A file with a thousand bad rows must still reach such a client as
// INVALID_ARGUMENT, with the first problems and a count; its dry run lists them all.
func TestErrorDetailsFitClientsThatLimitMetadata(t *testing.T) {
	h := startStore(t, grpc.WithMaxHeaderListSize(8<<10)) // what C-core accepts by default
	lines := sampleLines(t)
	var bad int
	for i, l := range lines {
		if strings.HasPrefix(l, "person,") {
			c := cells(l)
			c[8] = "có lẽ là đại biểu Hội đồng nhân dân tỉnh" // delegate: not a yes or no
			lines[i] = strings.Join(c, ",")
			bad++
		}
	}
	for len(lines) < 900 { // more rows of the same kind, each with its own problem (under the readers' cap of 1,000)
		lines = append(lines, fmt.Sprintf("person,,Người thứ %d,,không rõ,09%08d,,,,", len(lines), len(lines)))
		bad++
	}
	content := []byte(strings.Join(lines, "\n"))
	_, err := h.roster.ImportRoster(context.Background(), &pb.ImportRosterRequest{Content: content})
	st := wantStatus(t, err, codes.InvalidArgument)
	size := proto.Size(st.Proto())
	if size > 6<<10 {
		t.Errorf("status with details is %d bytes", size)
	}
	fields := violationFields(st)
	last := st.Details()[0].(*errdetails.BadRequest).GetFieldViolations()
	if len(fields) < 10 || !strings.Contains(last[len(last)-1].GetDescription(), "more problems: a dry run lists them all") {
		t.Errorf("%d violations, last %q: want the first problems and a count of the rest", len(fields), last[len(last)-1].GetDescription())
	}
	resp, err := h.roster.ImportRoster(context.Background(), &pb.ImportRosterRequest{Content: content, DryRun: true})
	if err != nil || len(resp.GetProblems()) < bad {
		t.Fatalf("dry run: %v, %d problems; want all %d", err, len(resp.GetProblems()), bad)
	}
}
