package bieuquyet

import (
	"fmt"
	"strings"
)

// FileName names the confirmation's document for a folder of them:
// "polls-3-012-Nguyen-Thi-Hong-Nhung.pdf". The id is zero-padded to three digits so the
// files of a poll sort in issue order, and the delegate's name is folded to ASCII so
// that any file system, archive tool or e-mail client keeps it, and a person sorting the
// folder finds the delegate by the name they know.
func (c *Confirmation) FileName() string {
	name := FoldASCII(c.FullName)
	if name == "" {
		name = "person-" + fmt.Sprint(c.PersonID)
	}
	return fmt.Sprintf("polls-%d-%03d-%s.pdf", c.PollID, c.ID, name)
}

// vietnameseLetters lists, for each base letter, the precomposed letters (NFC) that fold
// to it: the vowels with their breve, circumflex or horn and their five tone marks, and
// đ.
var vietnameseLetters = map[rune]string{
	'a': "àáảãạăằắẳẵặâầấẩẫậ",
	'e': "èéẻẽẹêềếểễệ",
	'i': "ìíỉĩị",
	'o': "òóỏõọôồốổỗộơờớởỡợ",
	'u': "ùúủũụưừứửữự",
	'y': "ỳýỷỹỵ",
	'd': "đ",
	'A': "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ",
	'E': "ÈÉẺẼẸÊỀẾỂỄỆ",
	'I': "ÌÍỈĨỊ",
	'O': "ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ",
	'U': "ÙÚỦŨỤƯỪỨỬỮỰ",
	'Y': "ỲÝỶỸỴ",
	'D': "ĐÐ",
}

var asciiFold = func() map[rune]rune {
	m := map[rune]rune{}
	for base, letters := range vietnameseLetters {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// FoldASCII writes s in ASCII letters and digits separated by single hyphens: Vietnamese
// letters lose their marks (đ becomes d), combining marks of decomposed text are dropped,
// and every other run of characters becomes one hyphen. "Nguyễn Thị Hồng Nhung" gives
// "Nguyen-Thi-Hong-Nhung".
func FoldASCII(s string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range s {
		if f, ok := asciiFold[r]; ok {
			r = f
		}
		switch {
		case r >= 0x300 && r <= 0x36f: // a combining mark of decomposed (NFD) text
			continue
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
		default:
			hyphen = true
		}
	}
	return b.String()
}
