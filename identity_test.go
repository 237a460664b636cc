package bieuquyet

import (
	"strings"
	"testing"
)

const (
	fpLower = "3f0c5a7e9b1d2c4f6a8e0b1c3d5f7a9e2b4c6d8f0a1e3c5b7d9f1a2c4e6b8d0f"
	fpUpper = "3F:0C:5A:7E:9B:1D:2C:4F:6A:8E:0B:1C:3D:5F:7A:9E:2B:4C:6D:8F:0A:1E:3C:5B:7D:9F:1A:2C:4E:6B:8D:0F"
)

func TestParseSigningIdentity(t *testing.T) {
	tests := []struct {
		in   string
		want SigningIdentity
		str  string
	}{
		{"", SigningIdentity{}, ""},
		{"   ", SigningIdentity{}, ""},
		{"CCCD:079203000101", SigningIdentity{IdentityCCCD, "079203000101"}, "CCCD:079203000101"},
		{"cccd 079203000101", SigningIdentity{IdentityCCCD, "079203000101"}, "CCCD:079203000101"},
		{" Cccd:  079203000101 ", SigningIdentity{IdentityCCCD, "079203000101"}, "CCCD:079203000101"},
		{"CCCD : 079203000101", SigningIdentity{IdentityCCCD, "079203000101"}, "CCCD:079203000101"},
		{"CMND:271234567", SigningIdentity{IdentityCMND, "271234567"}, "CMND:271234567"},
		{"cmnd\t079203000101", SigningIdentity{IdentityCMND, "079203000101"}, "CMND:079203000101"},
		{"SHA256:" + fpUpper, SigningIdentity{IdentityCertSHA256, fpLower}, "SHA256:" + fpLower},
		{"sha256:" + fpLower, SigningIdentity{IdentityCertSHA256, fpLower}, "SHA256:" + fpLower},
		{"SHA256 " + strings.ReplaceAll(fpUpper, ":", " "), SigningIdentity{IdentityCertSHA256, fpLower}, "SHA256:" + fpLower},
		{"cert_sha256:" + fpLower, SigningIdentity{IdentityCertSHA256, fpLower}, "SHA256:" + fpLower},
	}
	for _, tt := range tests {
		got, err := ParseSigningIdentity("person.signing_identity", tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseSigningIdentity(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if got.String() != tt.str || got.IsZero() != (tt.str == "") {
			t.Errorf("ParseSigningIdentity(%q).String() = %q (zero %t), want %q", tt.in, got.String(), got.IsZero(), tt.str)
		}
		if again, err := ParseSigningIdentity("f", got.String()); err != nil || again != got {
			t.Errorf("round trip of %q: %+v, %v", got.String(), again, err)
		}
		if stored := StoredSigningIdentity(got.String()); stored != got {
			t.Errorf("StoredSigningIdentity(%q) = %+v, want %+v", got.String(), stored, got)
		}
	}
}

func TestParseSigningIdentityRefuses(t *testing.T) {
	tests := []struct{ in, says string }{
		{"079203000101", "CCCD:079203000101 (12 digits)"}, // no kind
		{"CCCD:07920300010", "exactly 12 digits"},
		{"CCCD:0792030001011", "exactly 12 digits"},
		{"CCCD:07920300010a", "exactly 12 digits"},
		{"CCCD:", "exactly 12 digits"},
		{"CMND:2712345678", "9 or 12 digits"},
		{"CMND:27123456", "9 or 12 digits"},
		{"SHA256:" + fpLower[:62], "64 hex digits"},
		{"SHA256:" + fpLower[:63] + "g", "64 hex digits"},
		{"MST:0301234567", "CMND:271234567 (9 or 12 digits)"},
		{"HC:B1234567", "SHA256:"},
		{"CCCD-079203000101", "CCCD:079203000101"},
		{"CCCD:079203000101\u202e", "exactly 12 digits"},
	}
	for _, tt := range tests {
		_, err := ParseSigningIdentity("rows[5].signing_identity", tt.in)
		if ErrorCode(err) != CodeInvalid {
			t.Errorf("ParseSigningIdentity(%q) = %v, want an invalid error", tt.in, err)
			continue
		}
		e := err.(*Error)
		if len(e.Violations) != 1 || e.Violations[0].Field != "rows[5].signing_identity" || !strings.Contains(e.Error(), tt.says) {
			t.Errorf("ParseSigningIdentity(%q) = %v, want it to name rows[5].signing_identity and say %q", tt.in, err, tt.says)
		}
	}
}

func TestStoredSigningIdentity(t *testing.T) {
	for _, raw := range []string{"CMND:1", "MST:0301234567", "cccd 079203000101", "SHA256:" + fpUpper, "chữ ký số của chị Huyền"} {
		id := StoredSigningIdentity(raw)
		if id.Kind != IdentityUnknown || id.String() != raw || id.IsZero() {
			t.Errorf("StoredSigningIdentity(%q) = %+v (%q)", raw, id, id.String())
		}
		if id.Matches(fpLower, []string{raw, "079203000101", "CMND:1"}) {
			t.Errorf("unknown identity %q matched", raw)
		}
		var vs Violations
		id.check(&vs, "p")
		if len(vs) != 0 {
			t.Errorf("stored identity %q refused: %v", raw, vs)
		}
	}
	if id := StoredSigningIdentity(""); !id.IsZero() {
		t.Errorf("StoredSigningIdentity(\"\") = %+v", id)
	}
}

func TestSigningIdentityMatches(t *testing.T) {
	cccd := SigningIdentity{IdentityCCCD, "079203000101"}
	cmnd9 := SigningIdentity{IdentityCMND, "271234567"}
	cmnd12 := SigningIdentity{IdentityCMND, "079203000101"}
	cert := SigningIdentity{IdentityCertSHA256, fpLower}
	tests := []struct {
		name string
		id   SigningIdentity
		fp   string
		ids  []string
		want bool
	}{
		{"cccd in UID", cccd, "", []string{"CCCD:079203000101"}, true},
		{"cccd bare", cccd, "", []string{"079203000101"}, true},
		{"cccd lower prefix", cccd, "", []string{"cccd:079203000101"}, true},
		{"cccd CC dash", cccd, "", []string{"CC-079203000101"}, true},
		{"cccd in serialNumber after another id", cccd, "", []string{"MST:0301234567", " CCCD 079203000101 "}, true},
		{"cccd as 12-digit CMND", cccd, "", []string{"CMND:079203000101"}, true},
		{"cccd as 12-digit CMT", cccd, "", []string{"CMT-079203000101"}, true},
		{"12-digit cmnd as CCCD", cmnd12, "", []string{"CCCD:079203000101"}, true},
		{"cmnd", cmnd9, "", []string{"CMND:271234567"}, true},
		{"cmnd dash", cmnd9, "", []string{"CMND-271234567"}, true},
		{"cmnd CMT", cmnd9, "", []string{"cmt:271234567"}, true},
		{"cmnd bare", cmnd9, "", []string{"271234567"}, true},
		{"other number", cccd, "", []string{"CCCD:079203000102"}, false},
		{"prefix of the number", cccd, "", []string{"CCCD:0792030001011"}, false},
		{"tax code", cccd, "", []string{"MST:079203000101"}, false},
		{"passport", cmnd9, "", []string{"HC:271234567"}, false},
		{"CCCD prefix on 9 digits", cmnd9, "", []string{"CCCD:271234567"}, false},
		{"no separator", cccd, "", []string{"CCCD079203000101"}, false},
		{"spaces inside", cccd, "", []string{"CCCD:079 203 000 101"}, false},
		{"nothing", cccd, "", nil, false},
		{"empty id", cccd, "", []string{""}, false},
		{"personal id ignores fingerprint", cccd, fpLower, nil, false},
		{"fingerprint", cert, fpLower, nil, true},
		{"fingerprint upper", cert, strings.ToUpper(fpLower), nil, true},
		{"fingerprint with colons", cert, fpUpper, nil, true},
		{"other fingerprint", cert, fpLower[:63] + "0", nil, false},
		{"fingerprint ignores ids", cert, "", []string{"SHA256:" + fpLower, fpLower}, false},
		{"zero identity", SigningIdentity{}, "", []string{""}, false},
		{"invalid identity", SigningIdentity{IdentityCCCD, "1"}, "", []string{"1"}, false},
	}
	for _, tt := range tests {
		if got := tt.id.Matches(tt.fp, tt.ids); got != tt.want {
			t.Errorf("%s: %+v.Matches(%q, %q) = %t, want %t", tt.name, tt.id, tt.fp, tt.ids, got, tt.want)
		}
	}
}

func TestSigningIdentityDescribe(t *testing.T) {
	for id, want := range map[SigningIdentity]string{
		{}:                               "",
		{IdentityCCCD, "079203000101"}:   "CCCD 079203000101",
		{IdentityCMND, "271234567"}:      "CMND 271234567",
		{IdentityCertSHA256, fpLower}:    "SHA256 " + fpLower,
		{IdentityUnknown, "MST:0301234"}: "MST:0301234",
	} {
		if got := id.Describe(); got != want {
			t.Errorf("%+v.Describe() = %q, want %q", id, got, want)
		}
	}
}
