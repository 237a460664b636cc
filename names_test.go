package bieuquyet

import "testing"

func TestNamesAreCanonical(t *testing.T) {
	for _, tc := range []struct {
		name string
		id   int64
		ok   bool
	}{
		{"polls/3", 3, true},
		{"polls/9223372036854775807", 9223372036854775807, true},
		{"polls/03", 0, false},
		{"polls/+3", 0, false},
		{"polls/-3", 0, false},
		{"polls/0", 0, false},
		{"polls/ 3", 0, false},
		{"polls/3 ", 0, false},
		{"polls/3/", 0, false},
		{"polls/9223372036854775808", 0, false},
		{"polls/", 0, false},
		{"groups/3", 0, false},
		{"Polls/3", 0, false},
		{"3", 0, false},
		{"polls/٣", 0, false}, // an Arabic-Indic three
	} {
		id, err := ParseName("poll", Polls, tc.name)
		if (err == nil) != tc.ok || id != tc.id {
			t.Errorf("ParseName(%q) = %d, %v; want %d, ok=%v", tc.name, id, err, tc.id, tc.ok)
		}
		if err == nil && PollName(id) != tc.name {
			t.Errorf("PollName(%d) = %q, want %q", id, PollName(id), tc.name)
		}
	}
	if _, err := ParseName("poll", Polls, ""); err == nil || err.(*Error).Violations[0].Description != "is required" {
		t.Errorf("empty name: %v", err)
	}
}

func TestConfirmationNames(t *testing.T) {
	if got := ConfirmationName(3, 12); got != "polls/3/confirmations/12" {
		t.Fatalf("ConfirmationName = %q", got)
	}
	p, c, err := ParseConfirmationName("name", "polls/3/confirmations/12")
	if err != nil || p != 3 || c != 12 {
		t.Fatalf("ParseConfirmationName = %d, %d, %v", p, c, err)
	}
	for _, bad := range []string{"polls/3/confirmations/012", "polls/03/confirmations/12", "polls/3/votes/12", "polls/3/confirmations", "polls/3/confirmations/12/x", "confirmations/12"} {
		if _, _, err := ParseConfirmationName("name", bad); err == nil {
			t.Errorf("ParseConfirmationName(%q) took a non-canonical name", bad)
		}
	}
}
