package client

import (
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// cellWidth measures text as a terminal shows it. Vietnamese letters carry one or two
// diacritics, precomposed (NFC) or as combining marks (NFD): either way a letter takes
// one column, so neither bytes nor runes measure it. East Asian ambiguous widths are
// off whatever the locale says, so that output does not depend on the environment.
var cellWidth = &runewidth.Condition{EastAsianWidth: false}

// table prints rows in columns aligned by display width, under a header row.
type table struct {
	rows [][]string
}

func newTable(header ...string) *table {
	return &table{rows: [][]string{header}}
}

// add appends a row; a cell's line breaks and tabs become spaces, which would otherwise
// break the columns, and anything else invisible is escaped (see printable).
func (t *table) add(cells ...string) {
	row := make([]string, len(cells))
	for i, c := range cells {
		row[i] = printable(strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == '\t' {
				return ' '
			}
			return r
		}, c))
	}
	t.rows = append(t.rows, row)
}

// write prints the table: two spaces between columns, no trailing spaces.
func (t *table) write(w io.Writer) error {
	var widths []int
	for _, row := range t.rows {
		for i, c := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], cellWidth.StringWidth(c))
		}
	}
	var b strings.Builder
	for _, row := range t.rows {
		line := ""
		for i, c := range row {
			if i > 0 {
				line += "  "
			}
			line += c
			if i < len(row)-1 {
				line += strings.Repeat(" ", widths[i]-cellWidth.StringWidth(c))
			}
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
