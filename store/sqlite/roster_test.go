package sqlite

import (
	"context"
	"database/sql"
	"testing"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store/storetest"
)

// A signing identity stored as free text, before identities were structured, is read
// as an unknown identity holding the text; writing the person back keeps the text byte
// for byte, so the audit trail's state digests still verify.
func TestLegacySigningIdentityIsKept(t *testing.T) {
	ctx := context.Background()
	s, path := openTest(t)
	p := storetest.MustPerson(t, s, "Nguyễn Văn Cũ", true, 1)
	const legacy = "MST:0301234567 (chứng thư cũ)"
	rawExec(t, path, `UPDATE people SET signing_identity = '`+legacy+`' WHERE id = 1`)

	got, err := s.GetPerson(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bq.SigningIdentity{Kind: bq.IdentityUnknown, Value: legacy}); got.SigningIdentity != want {
		t.Fatalf("legacy identity read as %+v, want %+v", got.SigningIdentity, want)
	}
	if got.SigningIdentity.Matches("", []string{legacy, "MST:0301234567", "0301234567"}) {
		t.Error("a legacy identity matched")
	}
	if _, err := s.UpdatePerson(ctx, storetest.Audit, p.ID, func(p *bq.Person) error {
		p.Title = "Đại biểu HĐND tỉnh"
		p.Normalize()
		return p.Validate("person").Err("invalid person")
	}); err != nil {
		t.Fatalf("updating a person with a legacy identity: %v", err)
	}
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRow(`SELECT signing_identity FROM people WHERE id = ?`, p.ID).Scan(&stored); err != nil || stored != legacy {
		t.Fatalf("stored identity after the update = %q, %v; want %q", stored, err, legacy)
	}
	if v := storetest.Verify(t, s); !v.OK {
		t.Errorf("audit trail after the update: %+v", v)
	}

	// Writing a real identity over it replaces it.
	cccd := bq.SigningIdentity{Kind: bq.IdentityCCCD, Value: "074085000101"}
	if _, err := s.UpdatePerson(ctx, storetest.Audit, p.ID, func(p *bq.Person) error { p.SigningIdentity = cccd; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT signing_identity FROM people WHERE id = ?`, p.ID).Scan(&stored); err != nil || stored != "CCCD:074085000101" {
		t.Fatalf("stored identity = %q, %v; want CCCD:074085000101", stored, err)
	}
}
