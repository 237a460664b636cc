package bieuquyet

import (
	"errors"
	"strings"
)

// NormalizePhone turns a Vietnamese phone number as people type it ("0912 345 678",
// "+84 912.345.678", "84912345678") into one canonical form, "+84912345678", so that the
// same Zalo account is never entered twice under two spellings.
func NormalizePhone(s string) (string, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return "", errors.New("is required")
	}
	var b strings.Builder
	for i, r := range in {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')':
		default:
			return "", errors.New("may hold only digits, spaces, dots, dashes, brackets and a leading +")
		}
	}
	digits := b.String()
	var national string
	switch {
	case strings.HasPrefix(in, "+"):
		if !strings.HasPrefix(digits, "84") {
			return "", errors.New("must be a Vietnamese number (+84)")
		}
		// "+84 0912 345 678": people often keep the trunk 0 after the country code.
		national = strings.TrimPrefix(digits[2:], "0")
	case strings.HasPrefix(digits, "0"):
		national = digits[1:]
	case strings.HasPrefix(digits, "84") && len(digits) >= 11:
		national = digits[2:]
	default:
		// Excel stores a phone typed as a number without its leading 0; take such a
		// number as the national number rather than refuse a whole spreadsheet.
		national = digits
	}
	// Mobile numbers have 9 national digits and landlines 10; neither starts with 0.
	if len(national) < 9 || len(national) > 10 || national[0] == '0' {
		return "", errors.New("must have 10 digits (or 11 for a landline) counting the leading 0")
	}
	return "+84" + national, nil
}
