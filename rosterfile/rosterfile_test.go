package rosterfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet"
)

// sampleHeader is the sample file's header.
var sampleHeader = []string{
	"record", "name", "term", "place", "kind", "leader", "zalo_link", "title",
	"delegate", "phone", "zalo_name", "email", "signing_identity", "group", "role",
}

// cells is one row by column name.
type cells map[string]string

// base returns a small valid roster; base()[i] is spreadsheet row i+2.
func base() []cells {
	return []cells{
		{"record": "council", "name": "Hội đồng nhân dân tỉnh Bình Dương", "term": "khóa X, nhiệm kỳ 2021 - 2026", "place": "Bình Dương"},                                                                                                       // 2
		{"record": "person", "name": "Nguyễn Văn An", "title": "Trưởng Ban Pháp chế HĐND tỉnh", "delegate": "yes", "phone": "0900 000 101", "zalo_name": "An Nguyễn", "email": "an.nguyen@example.vn", "signing_identity": "CCCD:074085000101"}, // 3
		{"record": "person", "name": "Trần Thị Bình", "title": "Đại biểu HĐND tỉnh", "delegate": "x", "phone": "0900 000 102"},                                                                                                                  // 4
		{"record": "person", "name": "Lê Văn Cường", "title": "Chuyên viên", "delegate": "no", "phone": "0900 000 201", "signing_identity": "CMND:079000000201"},                                                                                // 5
		{"record": "group", "name": "HĐND - Ban Pháp chế", "kind": "committee", "leader": "0900 000 101", "zalo_link": "https://zalo.me/g/abcdef"},                                                                                              // 6
		{"record": "member", "group": "HĐND - Ban Pháp chế", "phone": "0900 000 101", "role": "member"},                                                                                                                                         // 7
		{"record": "member", "group": "HĐND - Ban Pháp chế", "phone": "0900 000 102", "role": "thành viên"},                                                                                                                                     // 8
		{"record": "member", "group": "HĐND - Ban Pháp chế", "phone": "0900 000 201", "role": "staff"},                                                                                                                                          // 9
	}
}

// table lays rows out under a sampleHeader, as the cells of a sheet.
func table(hdr []string, rows []cells) [][]string {
	out := [][]string{hdr}
	for _, r := range rows {
		rec := make([]string, len(hdr))
		for i, h := range hdr {
			rec[i] = r[strings.ToLower(strings.TrimSpace(h))]
		}
		out = append(out, rec)
	}
	return out
}

// csvOf writes a table as CSV.
func csvOf(t *testing.T, tbl [][]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(tbl); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// xlsxOf writes a table as an XLSX workbook, every cell as text.
func xlsxOf(t *testing.T, tbl [][]string) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for i, rec := range tbl {
		for j, c := range rec {
			if c == "" {
				continue
			}
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				t.Fatal(err)
			}
			if err := x.SetCellStr("Sheet1", cell, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func mustParse(t *testing.T, content []byte, format Format) *bieuquyet.RosterFile {
	t.Helper()
	f, err := Parse(content, format)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

// parseErr parses content that must be refused with the given code.
func parseErr(t *testing.T, content []byte, format Format, code bieuquyet.Code) *bieuquyet.Error {
	t.Helper()
	f, err := Parse(content, format)
	if err == nil {
		t.Fatalf("Parse succeeded (%d people, %d groups, %d members); want a %s error", len(f.People), len(f.Groups), len(f.Members), code)
	}
	var e *bieuquyet.Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse error %T %v is not a *bieuquyet.Error", err, err)
	}
	if e.Code != code {
		t.Fatalf("Parse error code %s, want %s: %v", e.Code, code, e)
	}
	return e
}

// violation is a violation a test expects: the exact field, and words of the description.
type violation struct {
	field, contains string
}

func wantViolations(t *testing.T, e *bieuquyet.Error, want ...violation) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, v := range e.Violations {
			if v.Field == w.field && strings.Contains(v.Description, w.contains) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no violation %s containing %q; got:\n%s", w.field, w.contains, listViolations(e))
		}
	}
}

func listViolations(e *bieuquyet.Error) string {
	var b strings.Builder
	for _, v := range e.Violations {
		fmt.Fprintf(&b, "\t%s: %s\n", v.Field, v.Description)
	}
	return b.String()
}

func TestParseBase(t *testing.T) {
	f := mustParse(t, csvOf(t, table(sampleHeader, base())), FormatCSV)
	want := &bieuquyet.RosterFile{
		Council: &bieuquyet.RosterCouncil{Row: 2, Council: bieuquyet.Council{
			Name: "Hội đồng nhân dân tỉnh Bình Dương", Term: "khóa X, nhiệm kỳ 2021 - 2026", Place: "Bình Dương",
		}},
		People: []bieuquyet.RosterPerson{
			{Row: 3, Person: bieuquyet.Person{FullName: "Nguyễn Văn An", Title: "Trưởng Ban Pháp chế HĐND tỉnh", Delegate: true, Phone: "+84900000101", ZaloName: "An Nguyễn", Email: "an.nguyen@example.vn",
				SigningIdentity: bieuquyet.SigningIdentity{Kind: bieuquyet.IdentityCCCD, Value: "074085000101"}, Active: true}},
			{Row: 4, Person: bieuquyet.Person{FullName: "Trần Thị Bình", Title: "Đại biểu HĐND tỉnh", Delegate: true, Phone: "+84900000102", Active: true}},
			{Row: 5, Person: bieuquyet.Person{FullName: "Lê Văn Cường", Title: "Chuyên viên", Phone: "+84900000201", SigningIdentity: bieuquyet.SigningIdentity{Kind: bieuquyet.IdentityCMND, Value: "079000000201"}, Active: true}},
		},
		Groups: []bieuquyet.RosterGroup{
			{Row: 6, Group: bieuquyet.Group{DisplayName: "HĐND - Ban Pháp chế", Kind: bieuquyet.KindCommittee, ZaloLink: "https://zalo.me/g/abcdef"}, LeaderPhone: "+84900000101"},
		},
		Members: []bieuquyet.RosterMember{
			{Row: 7, Group: "HĐND - Ban Pháp chế", Phone: "+84900000101", Role: bieuquyet.RoleMember},
			{Row: 8, Group: "HĐND - Ban Pháp chế", Phone: "+84900000102", Role: bieuquyet.RoleMember},
			{Row: 9, Group: "HĐND - Ban Pháp chế", Phone: "+84900000201", Role: bieuquyet.RoleStaff},
		},
	}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", f, want)
	}
}

func TestParseEquivalentFiles(t *testing.T) {
	plain := csvOf(t, table(sampleHeader, base()))
	want := mustParse(t, plain, FormatCSV)

	// The header in another order and letter case, with stray spaces.
	shuffled := slices.Clone(sampleHeader)
	slices.Reverse(shuffled)
	for i := range shuffled {
		shuffled[i] = " " + strings.ToUpper(shuffled[i]) + " "
	}
	// Keywords in other letter cases and in Vietnamese.
	keywords := base()
	keywords[0]["record"] = "Council"
	keywords[1]["delegate"] = "Có"
	keywords[1]["signing_identity"] = "cccd 074085000101"
	keywords[4]["kind"] = "BAN"
	keywords[7]["record"], keywords[7]["role"] = "MEMBER", "Công chức"
	// Rows with their trailing empty cells left out (ragged CSV).
	var short strings.Builder
	for _, line := range strings.SplitAfter(string(plain), "\n") {
		short.WriteString(strings.TrimRight(line, ",\n") + "\n")
	}
	if short.Len() > len(plain)-20 {
		t.Fatalf("the short rows are not short:\n%s", short.String())
	}
	// Semicolons, as Excel writes "CSV" where the decimal separator is a comma.
	var semi bytes.Buffer
	w := csv.NewWriter(&semi)
	w.Comma = ';'
	if err := w.WriteAll(table(sampleHeader, base())); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		content []byte
		format  Format
	}{
		{"detect", plain, FormatDetect},
		{"BOM", append([]byte("\xEF\xBB\xBF"), plain...), FormatCSV},
		{"BOM detect", append([]byte("\xEF\xBB\xBF"), plain...), FormatDetect},
		{"CRLF", []byte(strings.ReplaceAll(string(plain), "\n", "\r\n")), FormatCSV},
		{"header order and case", csvOf(t, table(shuffled, base())), FormatCSV},
		{"keywords", csvOf(t, table(sampleHeader, keywords)), FormatCSV},
		{"ragged rows", []byte(short.String()), FormatCSV},
		{"semicolons", semi.Bytes(), FormatCSV},
		{"xlsx", xlsxOf(t, table(sampleHeader, base())), FormatXLSX},
		{"xlsx detect", xlsxOf(t, table(sampleHeader, base())), FormatDetect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustParse(t, tt.content, tt.format)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

func TestParseNFD(t *testing.T) {
	rows := base()
	// The group row and person names typed as NFD, with extra spaces; the member rows
	// name the group in NFC.
	for _, i := range []int{1, 2, 3, 4} {
		rows[i]["name"] = "  " + norm.NFD.String(rows[i]["name"]) + " "
	}
	rows[0]["term"] = norm.NFD.String(rows[0]["term"])
	rows[4]["kind"] = norm.NFD.String("Ban")
	rows[6]["role"] = norm.NFD.String("Thành viên")
	if norm.NFD.String(base()[1]["name"]) == base()[1]["name"] {
		t.Fatal("NFD did not change the name; the test tests nothing")
	}
	got := mustParse(t, csvOf(t, table(sampleHeader, rows)), FormatCSV)
	want := mustParse(t, csvOf(t, table(sampleHeader, base())), FormatCSV)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NFD file parses to\n%+v\nwant\n%+v", got, want)
	}
	if n := got.People[0].Person.FullName; !norm.NFC.IsNormalString(n) || n != "Nguyễn Văn An" {
		t.Errorf("name %q is not the NFC %q", n, "Nguyễn Văn An")
	}
}

// TestParseXLSXMatchesCSV checks that an XLSX sheet and the CSV file with the same cells
// parse alike: row numbers, a blank row, a phone Excel stored as a number.
func TestParseXLSXMatchesCSV(t *testing.T) {
	rows := base()
	rows = slices.Insert(rows, 4, cells{}) // a blank row 6, skipped but counted
	rows[2]["phone"] = "900000102"         // as Excel keeps 0900 000 102 typed as a number
	tbl := table(sampleHeader, rows)

	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", "Danh sách"); err != nil {
		t.Fatal(err)
	}
	for i, rec := range tbl {
		for j, c := range rec {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			switch {
			case c == "":
			case c == "900000102":
				if err := x.SetCellInt("Danh sách", cell, 900000102); err != nil {
					t.Fatal(err)
				}
			default:
				if err := x.SetCellStr("Danh sách", cell, c); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// A second sheet, which Parse ignores.
	if _, err := x.NewSheet("Ghi chú"); err != nil {
		t.Fatal(err)
	}
	if err := x.SetCellStr("Ghi chú", "A1", "not a roster"); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := x.Write(&b); err != nil {
		t.Fatal(err)
	}

	fromCSV := mustParse(t, csvOf(t, tbl), FormatCSV)
	fromXLSX := mustParse(t, b.Bytes(), FormatDetect)
	if !reflect.DeepEqual(fromXLSX, fromCSV) {
		t.Errorf("XLSX parses to\n%+v\nCSV to\n%+v", fromXLSX, fromCSV)
	}
	if g := fromXLSX.Groups[0]; g.Row != 7 {
		t.Errorf("group row is %d, want 7 (the blank row 6 counts)", g.Row)
	}
	if p := fromXLSX.People[1].Person.Phone; p != "+84900000102" {
		t.Errorf("phone stored as a number = %q, want +84900000102", p)
	}
}

func TestParseProblems(t *testing.T) {
	// edit changes a copy of base(); rows[i] is spreadsheet row i+2.
	type edit func(rows []cells) []cells
	set := func(i int, column, value string) edit {
		return func(rows []cells) []cells {
			rows[i][column] = value
			return rows
		}
	}
	add := func(r cells) edit {
		return func(rows []cells) []cells { return append(rows, r) }
	}
	without := func(hdr []string, column string) []string {
		return slices.DeleteFunc(slices.Clone(hdr), func(s string) bool { return s == column })
	}
	tests := []struct {
		name string
		hdr  []string // header; nil for the usual one
		edit edit
		raw  []byte // the file itself, instead of hdr and edit
		want []violation
	}{
		{name: "missing column", hdr: without(sampleHeader, "role"),
			want: []violation{{"rows[1].role", "column is missing"}}},
		{name: "missing columns", hdr: without(without(sampleHeader, "record"), "kind"),
			want: []violation{{"rows[1].record", "column is missing"}, {"rows[1].kind", "column is missing"}}},
		{name: "unknown column", hdr: append(slices.Clone(sampleHeader), "Ghi chú"),
			want: []violation{{"rows[1].ghi chú", "unknown column; known columns are record, name, term"}}},
		{name: "duplicate column", hdr: append(slices.Clone(sampleHeader), "Phone"),
			want: []violation{{"rows[1].phone", "appears twice, in columns J and P"}}},
		{name: "duplicate phone", edit: add(cells{"record": "person", "name": "Phạm Văn Dũng", "delegate": "yes", "phone": "0900.000.102"}),
			want: []violation{{"rows[10].phone", "+84900000102 is already used by row 4"}}},
		{name: "duplicate signing identity", edit: set(2, "signing_identity", " cccd : 074085000101"),
			want: []violation{{"rows[4].signing_identity", "CCCD:074085000101 is already used by row 3"}}},
		{name: "short CCCD", edit: set(1, "signing_identity", "CCCD:74085000101"),
			want: []violation{{"rows[3].signing_identity", `"CCCD:74085000101" is not a signing identity: a CCCD number has exactly 12 digits, as CCCD:079203000101`}}},
		{name: "signing identity without a kind", edit: set(3, "signing_identity", "079000000201"),
			want: []violation{{"rows[5].signing_identity", `"079000000201" is not a signing identity: write CCCD:079203000101 (12 digits), CMND:271234567 (9 or 12 digits) or SHA256:`}}},
		{name: "tax code as signing identity", edit: set(3, "signing_identity", "MST:0301234567"),
			want: []violation{{"rows[5].signing_identity", `"MST:0301234567" is not a signing identity`}}},
		{name: "unknown group", edit: add(cells{"record": "member", "group": "HĐND - Ban Kinh tế", "phone": "0900 000 102", "role": "member"}),
			want: []violation{{"rows[10].group", `"HĐND - Ban Kinh tế" is not defined by a group row`}}},
		{name: "member of no person", edit: set(6, "phone", "0900 000 999"),
			want: []violation{{"rows[8].phone", "is not the phone of any person row"}}},
		{name: "leader not a member", edit: func(rows []cells) []cells { rows[5] = cells{}; return rows },
			want: []violation{{"rows[6].leader", "Nguyễn Văn An is not a member"}}},
		{name: "leader not a delegate", edit: set(4, "leader", "0900 000 201"),
			want: []violation{{"rows[6].leader", "Lê Văn Cường (row 5) is not a delegate"}}},
		{name: "leader role", edit: set(5, "role", "leader"),
			want: []violation{{"rows[7].role", "the leader is named in the group row's leader column"}}},
		{name: "staff row for a delegate", edit: set(6, "role", "thư ký"),
			want: []violation{{"rows[8].role", "is a delegate, so joins a group as a member, not as staff"}}},
		{name: "member row for staff", edit: set(7, "role", "member"),
			want: []violation{{"rows[9].role", "is not a delegate"}}},
		{name: "invalid UTF-8", edit: set(2, "zalo_name", "B\xecnh"),
			want: []violation{{"rows[4].zalo_name", "is not valid UTF-8"}}},
		{name: "invalid UTF-8 header", hdr: append(slices.Clone(sampleHeader), "gh\xed ch\xfa"),
			want: []violation{{"rows[1].column_P", "is not valid UTF-8"}}},
		{name: "empty file", raw: []byte(""),
			want: []violation{{"content", "the file is empty"}}},
		{name: "only a BOM", raw: []byte("\xEF\xBB\xBF"),
			want: []violation{{"content", "the file is empty"}}},
		{name: "only white space", raw: []byte("\xEF\xBB\xBF \r\n\n\t\n"),
			want: []violation{{"content", "the file is empty"}}},
		{name: "only commas", raw: []byte(",,,\n,,\n"),
			want: []violation{{"content", "the file is empty"}}},
		{name: "header only", edit: func([]cells) []cells { return nil },
			want: []violation{{"content", "the file has no data rows"}}},
		{name: "header and blank rows", edit: func([]cells) []cells { return []cells{{}, {}} },
			want: []violation{{"content", "the file has no data rows"}}},
		{name: "bad kind", edit: set(4, "kind", "Hội đồng"),
			want: []violation{{"rows[6].kind", `"Hội đồng" is not a group kind; use one of all_delegates (Đại biểu), standing_committee`}}},
		{name: "missing kind", edit: set(4, "kind", ""),
			want: []violation{{"rows[6].kind", "is required"}}},
		{name: "bad delegate", edit: set(2, "delegate", "maybe"),
			want: []violation{{"rows[4].delegate", `"maybe" is not yes or no`}}},
		{name: "bad role", edit: set(5, "role", "chủ tọa"),
			want: []violation{{"rows[7].role", `"chủ tọa" is not a role; use member (thành viên) or staff`}}},
		{name: "missing role", edit: set(5, "role", ""),
			want: []violation{{"rows[7].role", "is required"}}},
		{name: "cell in an unused column", edit: set(4, "phone", "0900 000 101"),
			want: []violation{{"rows[6].phone", "is not used by a group row"}}},
		{name: "cells shifted", edit: func(rows []cells) []cells {
			rows[1]["term"], rows[1]["title"] = rows[1]["title"], ""
			rows[5]["zalo_name"] = "x"
			return rows
		}, want: []violation{{"rows[3].term", "is not used by a person row"}, {"rows[7].zalo_name", "is not used by a member row"}}},
		{name: "cell beyond the header", raw: []byte(strings.Replace(string(csvOf(t, table(sampleHeader, base()))), "staff\n", "staff,,oops\n", 1)),
			want: []violation{{"rows[9].column_Q", "is in column Q, beyond the header's last column (O)"}}},
		{name: "cell under an empty header", hdr: append(slices.Clone(sampleHeader), ""),
			edit: func(rows []cells) []cells { rows[3][""] = "stray"; return rows },
			want: []violation{{"rows[5].column_P", "is in column P, which has no header"}}},
		{name: "bad record", edit: set(2, "record", "delegate"),
			want: []violation{{"rows[4].record", `"delegate" is not a record type; use one of council, person, group, member`}}},
		{name: "missing record", edit: set(2, "record", ""),
			want: []violation{{"rows[4].record", "is required"}}},
		{name: "second council", edit: add(cells{"record": "Council", "name": "HĐND tỉnh Bình Phước", "term": "khóa X", "place": "Bình Phước"}),
			want: []violation{{"rows[10].record", "at most one council row, and row 2 is it"}}},
		{name: "bad phone", edit: set(1, "phone", "0900 ABC"),
			want: []violation{{"rows[3].phone", "may hold only digits"}}},
		{name: "bad email", edit: set(1, "email", "an at example.vn"),
			want: []violation{{"rows[3].email", "is not an e-mail address"}}},
		{name: "missing name", edit: set(2, "name", "  "),
			want: []violation{{"rows[4].name", "is required"}}},
		{name: "bad council", edit: set(0, "place", ""),
			want: []violation{{"rows[2].place", "is required"}}},
		{name: "bad link", edit: set(4, "zalo_link", "zalo.me/g/abcdef"),
			want: []violation{{"rows[6].zalo_link", "is not an https link"}}},
		{name: "bare quote", raw: []byte(strings.Replace(string(csvOf(t, table(sampleHeader, base()))), "Trần Thị Bình", `Trần "Bình"`, 1)),
			want: []violation{{"rows[4]", "is not valid CSV"}}},
		{name: "corrupt xlsx", raw: []byte("PK\x03\x04 not really a zip file"),
			want: []violation{{"content", "cannot be read as an Excel workbook (.xlsx)"}}},
		{name: "xls", raw: []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1\x00\x00"),
			want: []violation{{"content", "old Excel workbook (.xls)"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			content := tt.raw
			if content == nil {
				hdr, rows := tt.hdr, base()
				if hdr == nil {
					hdr = sampleHeader
				}
				if tt.edit != nil {
					rows = tt.edit(rows)
				}
				content = csvOf(t, table(hdr, rows))
			}
			e := parseErr(t, content, FormatDetect, bieuquyet.CodeInvalid)
			wantViolations(t, e, tt.want...)
			if t.Failed() {
				t.Logf("file:\n%s", content)
			}
			checkOnePerCell(t, e)
		})
	}
}

// checkOnePerCell checks that no cell has two violations: Parse's own and the domain's
// check of the same cell must not both be reported.
func checkOnePerCell(t *testing.T, e *bieuquyet.Error) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range e.Violations {
		if seen[v.Field] && v.Field != "content" {
			t.Errorf("two violations for %s:\n%s", v.Field, listViolations(e))
		}
		seen[v.Field] = true
	}
}

func TestParseInvalidUTF8Cells(t *testing.T) {
	rows := base()
	rows[2]["name"] = "Tr\xe2\x80n Th\xcb B\xecnh" // Windows-1258 bytes in a UTF-8 file
	rows[6]["group"] = "HĐND - Ban Ph\xe1p chế"
	e := parseErr(t, csvOf(t, table(sampleHeader, rows)), FormatDetect, bieuquyet.CodeInvalid)
	wantViolations(t, e,
		violation{"rows[4].name", "is not valid UTF-8"},
		violation{"rows[8].group", "is not valid UTF-8"},
	)
	checkOnePerCell(t, e)
	if len(e.Violations) != 2 {
		t.Errorf("got %d violations, want 2:\n%s", len(e.Violations), listViolations(e))
	}

	// A cell with two problems, not valid UTF-8 and another, has one violation.
	rows = base()
	rows[4]["kind"] = "B\xe1n"            // not a kind either
	rows[4]["title"] = "Tr\xfd\xf4ng ban" // not used by a group row either
	rows[5]["role"] = "th\xe0nh vi\xean"  // not a role either
	content := strings.Replace(string(csvOf(t, table(sampleHeader, rows))), "staff\n", "staff,\xff\n", 1)
	e = parseErr(t, []byte(content), FormatDetect, bieuquyet.CodeInvalid)
	wantViolations(t, e,
		violation{"rows[6].kind", "is not valid UTF-8"},
		violation{"rows[6].title", "is not valid UTF-8"},
		violation{"rows[7].role", "is not valid UTF-8"},
		violation{"rows[9].column_P", "is not valid UTF-8"},
	)
	checkOnePerCell(t, e)
	if len(e.Violations) != 4 {
		t.Errorf("got %d violations, want 4:\n%s", len(e.Violations), listViolations(e))
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	rows := base()
	rows[2]["zalo_name"] = "B\xecnh"                                                                                 // row 4
	rows[3]["delegate"] = "maybe"                                                                                    // row 5
	rows[3]["kind"] = "Ban"                                                                                          // row 5: a person row
	rows[4]["kind"] = "Hội đồng"                                                                                     // row 6
	rows[6]["group"] = "HĐND - Ban Kinh tế"                                                                          // row 8
	rows = append(rows, cells{"record": "nobody"})                                                                   // row 10
	rows = append(rows, cells{"record": "person", "name": "Phạm Văn Dũng", "delegate": "có", "phone": "0900000101"}) // row 11
	e := parseErr(t, csvOf(t, table(sampleHeader, rows)), FormatDetect, bieuquyet.CodeInvalid)
	want := []violation{
		{"rows[4].zalo_name", "is not valid UTF-8"},
		{"rows[5].delegate", "is not yes or no"},
		{"rows[5].kind", "is not used by a person row"},
		{"rows[6].kind", "is not a group kind"},
		{"rows[8].group", "is not defined by a group row"},
		{"rows[10].record", "is not a record type"},
		{"rows[11].phone", "is already used by row 3"},
	}
	wantViolations(t, e, want...)
	if len(e.Violations) != len(want) {
		t.Errorf("got %d violations, want %d:\n%s", len(e.Violations), len(want), listViolations(e))
	}
	if wantMsg := fmt.Sprintf("the roster file has %d problems", len(want)); e.Message != wantMsg {
		t.Errorf("message %q, want %q", e.Message, wantMsg)
	}
	for i := 1; i < len(e.Violations); i++ {
		if sheet.RowOf(e.Violations[i-1].Field) > sheet.RowOf(e.Violations[i].Field) {
			t.Errorf("violations are not in the order of the rows:\n%s", listViolations(e))
			break
		}
	}
}

func TestParseTooLarge(t *testing.T) {
	content := bytes.Repeat([]byte("a"), 50<<20)
	for _, format := range []Format{FormatDetect, FormatCSV, FormatXLSX} {
		e := parseErr(t, content, format, bieuquyet.CodeInvalid)
		if want := "content: the file is 50.0 MiB; the limit is 8 MiB"; e.Message != want || len(e.Violations) != 1 || e.Violations[0].Field != "content" {
			t.Errorf("%v: message %q, want %q", format, e.Message, want)
		}
	}
	e := parseErr(t, make([]byte, MaxSize+1), FormatDetect, bieuquyet.CodeInvalid)
	if want := "content: the file is 8388609 bytes; the limit is 8 MiB"; e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
	// Exactly MaxSize is not too large (it is not a roster either).
	parseErr(t, bytes.Repeat([]byte("a"), MaxSize), FormatDetect, bieuquyet.CodeInvalid)
}

func TestParseTooManyRows(t *testing.T) {
	people := func(n int) [][]string {
		tbl := [][]string{sampleHeader}
		for i := range n {
			rec := make([]string, len(sampleHeader))
			rec[0], rec[1], rec[9] = "person", fmt.Sprintf("Người %d", i), fmt.Sprintf("0900 %06d", i)
			tbl = append(tbl, rec)
		}
		return tbl
	}
	tests := []struct {
		name    string
		content []byte
		ok      bool
	}{
		{"csv at the limit", csvOf(t, people(MaxRows)), true},
		{"csv over the limit", csvOf(t, people(MaxRows+1)), false},
		{"csv with blank rows", []byte(strings.Replace(string(csvOf(t, people(MaxRows))), "\n", "\n,,,\n\n", 100)), true},
		{"xlsx over the limit", xlsxOf(t, people(MaxRows+1)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.ok {
				if f := mustParse(t, tt.content, FormatDetect); len(f.People) != MaxRows {
					t.Errorf("got %d people, want %d", len(f.People), MaxRows)
				}
				return
			}
			e := parseErr(t, tt.content, FormatDetect, bieuquyet.CodeInvalid)
			wantViolations(t, e, violation{"content", "the file has more than 10000 data rows; the limit is 10000"})
			if len(e.Violations) != 1 {
				t.Errorf("got %d violations, want 1:\n%s", len(e.Violations), listViolations(e))
			}
		})
	}
}

func TestParseViolationLimit(t *testing.T) {
	tbl := [][]string{sampleHeader}
	for range 2 * sheet.MaxViolations {
		rec := make([]string, len(sampleHeader))
		rec[0] = "nobody"
		tbl = append(tbl, rec)
	}
	e := parseErr(t, csvOf(t, tbl), FormatDetect, bieuquyet.CodeInvalid)
	if len(e.Violations) != sheet.MaxViolations {
		t.Errorf("got %d violations, want %d", len(e.Violations), sheet.MaxViolations)
	}
	if want := fmt.Sprintf("the roster file has %d problems; the first %d are listed", 2*sheet.MaxViolations, sheet.MaxViolations); e.Message != want {
		t.Errorf("message %q, want %q", e.Message, want)
	}
}

// TestParseCSVRowNumbers checks that CSV rows are numbered as a spreadsheet shows them,
// as XLSX rows are: an empty line is a row (encoding/csv skips it), and a quoted cell
// spanning two lines stays in one row.
func TestParseCSVRowNumbers(t *testing.T) {
	rows := base()
	rows[0]["term"] = "khóa X,\nnhiệm kỳ 2021 - 2026" // row 2, over two lines of the file
	rows = slices.Insert(rows, 2, cells{})            // an empty row 4
	rows[8]["role"] = "chủ tọa"                       // row 10
	// csvOf writes the empty row as commas; a spreadsheet shows an empty line alike.
	emptyLine := func(content []byte) []byte {
		commas := "\n" + strings.Repeat(",", len(sampleHeader)-1) + "\n"
		if !bytes.Contains(content, []byte(commas)) {
			t.Fatalf("the CSV file has no empty row:\n%s", content)
		}
		return bytes.Replace(content, []byte(commas), []byte("\n\n"), 1)
	}
	e := parseErr(t, emptyLine(csvOf(t, table(sampleHeader, rows))), FormatDetect, bieuquyet.CodeInvalid)
	wantViolations(t, e, violation{"rows[10].role", `"chủ tọa" is not a role`})
	if len(e.Violations) != 1 {
		t.Errorf("got %d violations, want 1:\n%s", len(e.Violations), listViolations(e))
	}

	rows[8]["role"] = "staff"
	tbl := table(sampleHeader, rows)
	fromCSV := mustParse(t, emptyLine(csvOf(t, tbl)), FormatCSV)
	var got []int
	for _, p := range fromCSV.People {
		got = append(got, p.Row)
	}
	got = append(got, fromCSV.Groups[0].Row)
	for _, m := range fromCSV.Members {
		got = append(got, m.Row)
	}
	if want := []int{3, 5, 6, 7, 8, 9, 10}; fromCSV.Council.Row != 2 || !slices.Equal(got, want) {
		t.Errorf("council at row %d, people, group and members at rows %v; want 2 and %v", fromCSV.Council.Row, got, want)
	}
	if fromXLSX := mustParse(t, xlsxOf(t, tbl), FormatXLSX); !reflect.DeepEqual(fromXLSX, fromCSV) {
		t.Errorf("XLSX parses to\n%+v\nCSV to\n%+v", fromXLSX, fromCSV)
	}
}

func TestParseCSVSyntaxErrors(t *testing.T) {
	// A bad record is reported and the records after it are still read and numbered.
	lines := strings.SplitAfter(string(csvOf(t, table(sampleHeader, base()))), "\n")
	lines[3] = `person,Trần "Bình",,,,,,,x,0900 000 102,,,,,` + "\n" // row 4
	lines[5] = `group,"HĐND - Ban "Pháp chế",committee` + "\n"       // row 6
	content := []byte(strings.Join(lines, ""))
	e := parseErr(t, content, FormatDetect, bieuquyet.CodeInvalid)
	wantViolations(t, e,
		violation{"rows[4]", `bare " in non-quoted-field (line 4, column 15 of the file)`},
		violation{"rows[6]", `extraneous or missing " in quoted-field (line 6`},
		// The rows after the bad ones are read, and numbered right.
		violation{"rows[8].phone", "+84900000102 is not the phone of any person row"},
		violation{"rows[7].group", `"HĐND - Ban Pháp chế" is not defined by a group row`},
	)

	// A bad header: nothing more can be said.
	e = parseErr(t, []byte("record,\"name\"x,kind\nperson,An,\n"), FormatDetect, bieuquyet.CodeInvalid)
	wantViolations(t, e, violation{"rows[1]", "is not valid CSV"})
	if len(e.Violations) != 1 {
		t.Errorf("got %d violations, want 1:\n%s", len(e.Violations), listViolations(e))
	}
}

func TestValues(t *testing.T) {
	kinds := map[string]bieuquyet.GroupKind{
		"all_delegates": bieuquyet.KindAllDelegates, "ALL_DELEGATES": bieuquyet.KindAllDelegates,
		"Đại biểu": bieuquyet.KindAllDelegates, "đại biểu": bieuquyet.KindAllDelegates, norm.NFD.String("ĐẠI BIỂU"): bieuquyet.KindAllDelegates,
		"standing_committee": bieuquyet.KindStandingCommittee, "Thường trực": bieuquyet.KindStandingCommittee,
		"committee": bieuquyet.KindCommittee, "Ban": bieuquyet.KindCommittee, "BAN": bieuquyet.KindCommittee,
		"delegate_group": bieuquyet.KindDelegateGroup, "Tổ": bieuquyet.KindDelegateGroup, "tổ": bieuquyet.KindDelegateGroup,
		"Tổ đại biểu": "", "group": "", "To": "",
	}
	roles := map[string]bieuquyet.Role{
		"member": bieuquyet.RoleMember, "Member": bieuquyet.RoleMember, "Thành viên": bieuquyet.RoleMember,
		"staff": bieuquyet.RoleStaff, "Thư ký": bieuquyet.RoleStaff, "công chức": bieuquyet.RoleStaff, "Nhân viên": bieuquyet.RoleStaff,
		"leader": bieuquyet.RoleLeader, "Trưởng nhóm": bieuquyet.RoleLeader,
		"secretary": "", "": "",
	}
	delegates := map[string]bool{
		"yes": true, "YES": true, "true": true, "1": true, "x": true, "X": true, "có": true, "Có": true,
		"no": false, "false": false, "0": false, "không": false, "KHÔNG": false, "": false,
	}
	badDelegates := []string{"maybe", "y", "2", "co"}

	for s, want := range kinds {
		r := row{&sheet.Record{Cells: cells{"kind": clean(s)}, Problems: &sheet.Problems{}}}
		if got := r.kind(); got != want || (want == "") != (r.Problems.Len() == 1) {
			t.Errorf("kind %q = %q with %v, want %q", s, got, r.Problems, want)
		}
	}
	for s, want := range roles {
		r := row{&sheet.Record{Cells: cells{"role": clean(s)}, Problems: &sheet.Problems{}}}
		if got := r.role(); got != want || (want == "") != (r.Problems.Len() == 1) {
			t.Errorf("role %q = %q with %v, want %q", s, got, r.Problems, want)
		}
	}
	for s, want := range delegates {
		r := row{&sheet.Record{Cells: cells{"delegate": clean(s)}, Problems: &sheet.Problems{}}}
		if got := r.delegate(); got != want || r.Problems.Len() != 0 {
			t.Errorf("delegate %q = %v with %v, want %v", s, got, r.Problems, want)
		}
	}
	for _, s := range badDelegates {
		r := row{&sheet.Record{Cells: cells{"delegate": s}, Problems: &sheet.Problems{}}}
		if r.delegate(); r.Problems.Len() != 1 {
			t.Errorf("delegate %q gives %v, want one problem", s, r.Problems)
		}
	}
}
