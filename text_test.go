package bieuquyet

import (
	"strings"
	"testing"
)

// Invisible and direction-changing characters would reach the audit trail and terminals
// unseen: "Nguyễn Văn A\u202e" prints as something else than it stores.
func TestTextRefusesInvisibleCharacters(t *testing.T) {
	for _, r := range []rune{'\u202e', '\u202d', '\u2066', '\u200b', '\u200d', '\ufeff', '\u00ad', '\u2028', '\u2029', '\u0007', '\u0085'} {
		s := "Nguyễn " + string(r) + "Văn A"
		var vs Violations
		vs.Text("person.full_name", s, true)
		if len(vs) != 1 || !strings.Contains(vs[0].Description, "invisible or control character") {
			t.Errorf("Text(%+q) = %v, want one violation naming the character", s, vs)
		}
		var long Violations
		checkLongText(&long, "poll.question", "Đồng ý?\n"+s, true)
		if len(long) != 1 {
			t.Errorf("long text %+q = %v, want one violation", s, long)
		}
	}
	var ok Violations
	ok.Text("person.full_name", "Nguyễn Thị Ánh Tuyết", true)
	checkLongText(&ok, "poll.question", "Đồng ý thông qua?\r\n\tMục 1", true)
	if len(ok) != 0 {
		t.Errorf("plain Vietnamese refused: %v", ok)
	}
}
