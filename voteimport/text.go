package voteimport

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bieuquyet/bieuquyet/internal/sheet"
)

// countUnits are the words Zalo and people write after a heading's count.
const countUnits = `bình chọn|phiếu|người|votes?`

// countRE splits a folded heading line into its option and its count: "tán thành (31)",
// "tán thành - 31", "tán thành: 31 bình chọn", "tán thành · 31 phiếu", "tán thành 31
// người". Brackets must be balanced.
var countRE = regexp.MustCompile(`^(.+?)\s*(?:\(\s*(\d+)\s*(?:` + countUnits + `)?\s*\)|[-–—:·]?\s*(\d+)\s*(?:` + countUnits + `)?)$`)

// markerRE matches a list marker at the start of a line: "1.", "2)", "-", "•", "*".
var markerRE = regexp.MustCompile(`^(?:\d{1,4}\s*[.)]|[-–—•*·+●▪◦])\s*`)

// heading is an option heading of a Zalo voter list.
type heading struct {
	line     int
	option   int
	count    int
	hasCount bool
	names    int // the name lines that follow it
}

// readText reads the text of a Zalo poll's voter list: lines naming an option, each
// followed by the names of the delegates who chose it.
func (s *state) readText(content []byte) {
	content = sheet.TrimBOM(content)
	var cur *heading
	var headings []*heading
	var orphans []int // name lines before any heading
	finish := func() {
		if cur == nil || !cur.hasCount || cur.names == cur.count {
			return
		}
		s.p.Add(cur.line, lineField(cur.line), "the heading says %s but %s", plural(cur.count, "vote", "votes"), follow(cur.names))
	}
	// The lines are taken one at a time: a list of a million short lines split at once
	// would cost 16 bytes a line before the first is read.
	num, lines := 0, 0
	for rest := string(content); rest != ""; {
		var raw string
		raw, rest, _ = strings.Cut(rest, "\n")
		num++
		raw = strings.TrimSuffix(raw, "\r")
		valid := utf8.ValidString(raw)
		if !valid {
			raw = strings.ToValidUTF8(raw, "\uFFFD")
		}
		text := clean(raw)
		if text == "" {
			continue
		}
		if lines++; lines > MaxRows {
			s.p.Reset() // the list is refused whole; the rest is not read
			s.p.File("has more than %d lines that are not blank; the limit is %d", MaxRows, MaxRows)
			s.choices = nil
			return
		}
		if valid {
			if h, ok := s.heading(text); ok {
				finish()
				h.line = num
				cur = h
				headings = append(headings, h)
				continue
			}
		}
		name := markerRE.ReplaceAllString(text, "")
		if name == "" {
			continue // a bare list marker, as a separator
		}
		if cur != nil {
			cur.names++
		}
		switch {
		case !valid:
			s.p.Add(num, lineField(num), "is not valid UTF-8")
			continue
		case cur == nil:
			orphans = append(orphans, num)
			continue
		}
		if id, ok := s.matchName(num, lineField(num), name); ok {
			s.choices = append(s.choices, choice{pos: num, field: lineField(num), person: id, option: cur.option})
		}
	}
	finish()
	switch {
	case len(headings) == 0 && len(orphans) > 0:
		s.p.File("no line names an option of the poll (%s): the list gives each option, then the names of those who chose it", s.optionList())
	default:
		for _, num := range orphans {
			s.p.Add(num, lineField(num), "a name before any option heading; the list gives each option (%s), then the names of those who chose it", s.optionList())
		}
	}
}

// heading reports whether a cleaned line names an option, with or without a count, or
// does so after a list marker. The whole line is tried first, so that an option whose
// own text ends in a number is not taken for a shorter one with a count.
func (s *state) heading(text string) (*heading, bool) {
	for _, t := range []string{text, markerRE.ReplaceAllString(text, "")} {
		k := fold(t)
		if i, ok := s.option[k]; ok {
			return &heading{option: i}, true
		}
		m := countRE.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		i, ok := s.option[m[1]]
		if !ok {
			continue
		}
		digits := m[2] + m[3]
		n, err := strconv.Atoi(digits)
		if err != nil {
			continue // too many digits to be a count
		}
		return &heading{option: i, count: n, hasCount: true}, true
	}
	return nil, false
}

// matchName finds the one voter a name in a Zalo list names, or reports why not.
func (s *state) matchName(pos int, field, name string) (int64, bool) {
	ids := s.el.byName[fold(name)]
	switch len(ids) {
	case 0:
		s.p.Add(pos, field, "%s", notMember(name, "name"))
		return 0, false
	case 1:
		return ids[0], true
	}
	s.p.Add(pos, field, "%s", s.el.ambiguous(name, ids, "use the phone in a CSV file instead"))
	return 0, false
}

// lineField names a line of the text: "lines[12]".
func lineField(n int) string { return fmt.Sprintf("lines[%d]", n) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func follow(n int) string {
	switch n {
	case 0:
		return "no names follow"
	case 1:
		return "1 name follows"
	}
	return strconv.Itoa(n) + " names follow"
}
