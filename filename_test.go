package bieuquyet

import "testing"

func TestFoldASCII(t *testing.T) {
	for in, want := range map[string]string{
		"Nguyễn Thị Hồng Nhung":         "Nguyen-Thi-Hong-Nhung",
		"ĐẶNG VĂN ĐỨC":                  "DANG-VAN-DUC",
		"Trần  Thị Bích-Ngọc ":          "Tran-Thi-Bich-Ngoc",
		"Nguyê\u0303n Đư\u0301c":        "Nguyen-Duc", // decomposed (NFD)
		"Huỳnh Thị Thanh Xuân / Lê (2)": "Huynh-Thi-Thanh-Xuan-Le-2",
		"Lưu Hữu Ước, Ỷ Ỹ ỵ":            "Luu-Huu-Uoc-Y-Y-y",
		"../../etc/passwd":              "etc-passwd",
		"":                              "",
		"日本":                            "",
	} {
		if got := FoldASCII(in); got != want {
			t.Errorf("FoldASCII(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestConfirmationFileName(t *testing.T) {
	c := &Confirmation{ID: 12, PollID: 3, PersonID: 5, FullName: "Nguyễn Thị Hồng Nhung"}
	if got, want := c.FileName(), "polls-3-012-Nguyen-Thi-Hong-Nhung.pdf"; got != want {
		t.Errorf("FileName = %q, want %q", got, want)
	}
	c = &Confirmation{ID: 1234, PollID: 3, PersonID: 5, FullName: "日本"}
	if got, want := c.FileName(), "polls-3-1234-person-5.pdf"; got != want {
		t.Errorf("FileName = %q, want %q", got, want)
	}
}
