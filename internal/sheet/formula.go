package sheet

import "strings"

// Formula reports whether a spreadsheet would take a cell's text for a formula, were
// the text written back into one (OWASP's CSV injection): text starting with = or @,
// or with + or - followed by anything but a number. "=HYPERLINK(…)" imported as a name
// would run in the spreadsheet of whoever exports it, while "+84 900 000 101" and
// "-3,5" are a phone number and a number, and stay.
//
// Leading white space is skipped (tabs and carriage returns included), as the importers
// trim cells and a spreadsheet would see the text that follows.
func Formula(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '@':
		return true
	case '+', '-':
		return !number(s[1:])
	}
	return false
}

// number reports whether s is empty or is written only with digits, white space and the
// punctuation of phone numbers and numbers: arithmetic at most, which calls nothing.
func number(s string) bool {
	for _, r := range s {
		switch {
		case '0' <= r && r <= '9', r == ' ', r == '\u00A0':
		case strings.ContainsRune(".,()/-+", r):
		default:
			return false
		}
	}
	return true
}
