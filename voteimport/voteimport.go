// Package voteimport turns a list of votes, as the secretariat gets it, into one choice
// per delegate of a poll's frozen electorate.
//
// The list is either the voter list of a Zalo poll, copied as text (an option heading,
// then the names of those who chose it), or a CSV or XLSX sheet with one row per
// delegate and option. Parse matches every name or phone against the electorate and
// reports every problem it finds, each naming its line ("lines[12]") or its spreadsheet
// row and column ("rows[12].phone"), so that the secretariat can fix them all in one
// pass. The package is pure: it reads no storage and records nothing.
package voteimport

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/sheet"
)

// Format is the format of a vote list.
type Format int

// The formats. FormatDetect takes content starting with a ZIP signature for XLSX, content
// whose first non-blank line is a CSV header with an option column for CSV, and anything
// else for the text of a Zalo poll's voter list.
const (
	FormatDetect Format = iota
	FormatCSV
	FormatXLSX
	FormatZaloText
)

func (f Format) String() string {
	switch f {
	case FormatDetect:
		return "detect"
	case FormatCSV:
		return "csv"
	case FormatXLSX:
		return "xlsx"
	case FormatZaloText:
		return "zalo_text"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// MaxSize bounds a vote list, in bytes.
const MaxSize = 2 << 20

// MaxRows bounds the votes of a list: the data rows of a sheet (its header and blank
// rows not counted), or the lines of a Zalo list that are not blank. A list names each
// delegate once per option chosen, and an electorate is at most a roster's 10,000 people,
// far more than any council has. A longer list is refused whole, unread beyond the limit.
const MaxRows = 10000

// Entry is one delegate's choice found in the list.
type Entry struct {
	Line     int   // first line (Zalo text) or row (CSV/XLSX) that names this delegate
	PersonID int64 // a member of the electorate
	Options  []int // indices into the poll's options, ascending, no duplicates
}

// Parse reads content and matches every voter against electorate. options are the poll's
// options in order; multiple says whether a delegate may choose several.
//
// It returns the entries sorted by PersonID, or a *bieuquyet.Error: CodeInvalid with a
// violation for every problem found (only the size, for content over MaxSize).
func Parse(content []byte, format Format, options []string, multiple bool, electorate []bieuquyet.Voter) ([]Entry, error) {
	if n := len(content); n > MaxSize {
		return nil, bieuquyet.Invalid(sheet.FieldContent, "is %d bytes; the limit is %d bytes (%d MiB)", n, MaxSize, MaxSize>>20)
	}
	if len(options) == 0 {
		return nil, bieuquyet.Invalid("options", "the poll has no options")
	}
	if len(bytes.TrimSpace(sheet.TrimBOM(content))) == 0 {
		return nil, bieuquyet.Invalid(sheet.FieldContent, "is empty")
	}
	s := newState(options, multiple, electorate)
	if format == FormatDetect {
		format = detect(content)
	}
	switch format {
	case FormatZaloText:
		s.unit = "line"
		s.readText(content)
	case FormatCSV:
		s.readTable(content, sheet.CSV)
	case FormatXLSX:
		s.readTable(content, sheet.XLSX)
	case formatOLE:
		s.readTable(content, sheet.OLE)
	default:
		return nil, bieuquyet.Invalid("format", "%v is not a format of a vote list", format)
	}
	entries := s.collect()
	if s.p.Len() == 0 && len(entries) == 0 {
		s.p.File("holds no votes")
	}
	if err := s.p.Err("the vote list"); err != nil {
		return nil, err
	}
	return entries, nil
}

// formatOLE is a file in an OLE compound document: an .xls workbook, or an encrypted
// .xlsx one. Neither can be read; detect names it so that the error can say why.
const formatOLE Format = -1

func detect(content []byte) Format {
	switch sheet.Detect(content) {
	case sheet.XLSX:
		return FormatXLSX
	case sheet.OLE:
		return formatOLE
	}
	if looksLikeHeader(content) {
		return FormatCSV
	}
	return FormatZaloText
}

// looksLikeHeader reports whether the first non-blank line of content is a CSV header
// (two or more cells, separated as sheet.HeaderLine tells) with a column named option.
func looksLikeHeader(content []byte) bool {
	line, sep := sheet.HeaderLine(content)
	cells := strings.Split(string(line), string(sep))
	if len(cells) < 2 {
		return false
	}
	for _, c := range cells {
		if fold(strings.Trim(strings.TrimSpace(c), `"`)) == colOption {
			return true
		}
	}
	return false
}

// clean puts a text in the form names are shown in: NFC, trimmed, every run of white
// space one space. Vietnamese typed on some keyboards is decomposed (NFD); names must
// compare equal however they were typed.
func clean(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

// fold is clean, lower-cased: the form in which names and options are compared.
func fold(s string) string {
	return norm.NFC.String(strings.ToLower(clean(s)))
}

// state is one run of Parse: the poll, its electorate, the choices found and the
// problems.
type state struct {
	options  []string
	option   map[string]int // folded option → index
	multiple bool
	el       *electorate
	unit     string // "line" or "row", for messages
	choices  []choice
	p        sheet.Problems
}

// choice is one delegate named under one option, at one line or row.
type choice struct {
	pos    int
	field  string
	person int64
	option int
}

func newState(options []string, multiple bool, voters []bieuquyet.Voter) *state {
	s := &state{
		options:  options,
		option:   map[string]int{},
		multiple: multiple,
		el:       newElectorate(voters),
		unit:     "row",
	}
	for i, o := range options {
		k := fold(o)
		if _, dup := s.option[k]; !dup && k != "" {
			s.option[k] = i
		}
	}
	return s
}

// optionList is the poll's options, quoted, for messages.
func (s *state) optionList() string {
	q := make([]string, len(s.options))
	for i, o := range s.options {
		q[i] = strconv.Quote(o)
	}
	return strings.Join(q, ", ")
}

// collect merges the choices into one entry per delegate, reporting a delegate named
// twice under one option, and one named under two options of a single-choice poll.
func (s *state) collect() []Entry {
	type acc struct {
		entry *Entry
		first choice
		at    map[int]int // option → line or row
	}
	by := map[int64]*acc{}
	var entries []*Entry
	for _, c := range s.choices {
		a := by[c.person]
		if a == nil {
			e := &Entry{Line: c.pos, PersonID: c.person, Options: []int{c.option}}
			by[c.person] = &acc{entry: e, first: c, at: map[int]int{c.option: c.pos}}
			entries = append(entries, e)
			continue
		}
		who := s.el.who(c.person)
		if pos, dup := a.at[c.option]; dup {
			s.p.Add(c.pos, c.field, "%s already chose %q at %s %d", who, s.options[c.option], s.unit, pos)
			continue
		}
		if !s.multiple {
			s.p.Add(c.pos, c.field, "%s chose two options in a single-choice poll (%ss %d and %d): %q and %q",
				who, s.unit, a.first.pos, c.pos, s.options[a.first.option], s.options[c.option])
			continue
		}
		a.at[c.option] = c.pos
		a.entry.Options = append(a.entry.Options, c.option)
	}
	out := make([]Entry, len(entries))
	for i, e := range entries {
		sort.Ints(e.Options)
		out[i] = *e
	}
	sort.Slice(out, func(i, j int) bool { return out[i].PersonID < out[j].PersonID })
	return out
}

// electorate indexes a poll's voters by folded name and by phone.
type electorate struct {
	voter   map[int64]bieuquyet.Voter
	byName  map[string][]int64 // folded ZaloName or FullName → person ids, ascending
	byPhone map[string][]int64 // normalised phone → person ids
}

func newElectorate(voters []bieuquyet.Voter) *electorate {
	el := &electorate{voter: map[int64]bieuquyet.Voter{}, byName: map[string][]int64{}, byPhone: map[string][]int64{}}
	vs := append([]bieuquyet.Voter(nil), voters...)
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].PersonID < vs[j].PersonID })
	for _, v := range vs {
		if _, dup := el.voter[v.PersonID]; dup {
			continue
		}
		el.voter[v.PersonID] = v
		for _, n := range []string{v.ZaloName, v.FullName} {
			if k := fold(n); k != "" && !containsID(el.byName[k], v.PersonID) {
				el.byName[k] = append(el.byName[k], v.PersonID)
			}
		}
		if ph, err := bieuquyet.NormalizePhone(v.Phone); err == nil {
			el.byPhone[ph] = append(el.byPhone[ph], v.PersonID)
		}
	}
	return el
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// who names a voter in messages: "Lê Anh Tuấn (people/3)".
func (el *electorate) who(id int64) string {
	v := el.voter[id]
	name := v.FullName
	if name == "" {
		name = v.ZaloName
	}
	return fmt.Sprintf("%s (people/%d)", clean(name), id)
}

// list names several voters: "A and B", "A, B or C".
func (el *electorate) list(ids []int64, conj string) string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = el.who(id)
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + conj + " " + names[len(names)-1]
}

// notMember is the message for a name or phone that matches nobody.
func notMember(text, what string) string {
	return fmt.Sprintf("%q is not in the poll's electorate: a non-member, or a misspelt %s", text, what)
}

// ambiguous is the message for a name that matches several voters.
func (el *electorate) ambiguous(text string, ids []int64, instead string) string {
	return fmt.Sprintf("%q is ambiguous: it matches %s; %s", text, el.list(ids, "and"), instead)
}
