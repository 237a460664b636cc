package bieuquyet

import "testing"

func TestNormalizePhone(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"0912 345 678", "+84912345678", true},
		{"+84 912.345.678", "+84912345678", true},
		{"84912345678", "+84912345678", true},
		{"(0274) 3822 123", "+842743822123", true}, // a landline: 10 national digits
		{"912345678", "+84912345678", true},        // Excel dropped the leading 0
		{"0912-345-678", "+84912345678", true},
		{"+84 0912 345 678", "+84912345678", true},
		{"", "", false},
		{"+1 650 253 0000", "", false},
		{"0912 34", "", false},
		{"0912345678901", "", false},
		{"0912abc678", "", false},
		{"00912345678", "", false},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
