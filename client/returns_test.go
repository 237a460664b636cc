package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/pdf"
	"github.com/bieuquyet/bieuquyet/server"
)

// Test doubles. The real signature verifier (signedpdf) and scan reader (qrscan) are
// written elsewhere; these stand in for them so that the client's commands can run
// against the real server. They check nothing cryptographic.

// signedMarker ends a "signed" test file: the issued document, then the marker, the
// signer's personal id and ";" and the certificate subject. A marker with nothing after
// it is a signature that does not verify.
const signedMarker = "\nSIGNED-BY:"

// fakeVerifier is a bq.SignatureVerifier for tests: a file is the issued document with a
// signature when it is the issued bytes followed by signedMarker and a signer.
type fakeVerifier struct{}

// Identify names no confirmation; it gives the digest of what comes before the marker,
// which is the issued document's when the file is a signed copy of it.
func (fakeVerifier) Identify(file []byte) (string, string, error) {
	if !bytes.HasPrefix(file, []byte("%PDF-")) {
		return "", "", errors.New("not a PDF")
	}
	if i := bytes.LastIndex(file, []byte(signedMarker)); i >= 0 {
		file = file[:i]
	}
	sum := sha256.Sum256(file)
	return "", hex.EncodeToString(sum[:]), nil
}

func (fakeVerifier) Verify(issued, file []byte, _, receive time.Time) ([]bq.DocumentSignature, error) {
	rest, ok := bytes.CutPrefix(file, issued)
	if !ok {
		return nil, bq.Reject("not_issued_prefix", "the file does not begin with the document issued")
	}
	signer, ok := bytes.CutPrefix(rest, []byte(signedMarker))
	id, subject, _ := strings.Cut(string(signer), ";")
	if !ok || id == "" {
		return nil, bq.Reject("bad_signature", "the signature does not verify")
	}
	fp := sha256.Sum256([]byte(id))
	return []bq.DocumentSignature{{
		SignerInfo: bq.SignerInfo{Subject: subject, Issuer: "CN=Test CA", Serial: "0a1b", Fingerprint: hex.EncodeToString(fp[:]),
			SigningTime: receive.Add(-time.Minute)},
		PersonalIDs: []string{id},
	}}, nil
}

// fakeScans is a bq.ScanReader for tests: a "scan" is a PNG signature followed by text,
// and every "QR:" line of the text is a QR code's payload.
type fakeScans struct{}

const pngMagic = "\x89PNG\r\n\x1a\n"

func (fakeScans) MediaType(file []byte) (string, error) {
	if bytes.HasPrefix(file, []byte(pngMagic)) {
		return "image/png", nil
	}
	return "", bq.Invalid("chunk", "is not a PDF, PNG or JPEG")
}

func (fakeScans) Payloads(file []byte) ([]string, error) {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^QR:(\S+)$`).FindAllSubmatch(file, -1) {
		out = append(out, string(m[1]))
	}
	return out, nil
}

// startReturnServer is startConfirmServer with the test doubles to take confirmations
// back.
func startReturnServer(t *testing.T) string {
	t.Helper()
	return startServerWith(t, server.Config{Renderer: pdf.New(), Verifier: fakeVerifier{}, Scans: fakeScans{}})
}

// The personal ids of the Ban Pháp chế's delegates, bound as their signing identities.
const (
	khaiID = "CCCD:074085000006"
	tamID  = "CCCD:074185000014"
	kienID = "CCCD:074070000024"
)

// issued is a confirmation as confirm list shows it in JSON, with its document read
// from the folder it was downloaded to.
type issued struct {
	Name, Person, FullName, FileName string
	Options                          []string
	doc                              []byte
}

// confirmingPoll opens a vote in Ban Pháp chế, records votes (phone → choice), closes
// it, issues the confirmations due 2030-01-02 17:00 and downloads them; it returns the
// poll and the confirmations by full name. The delegates' signing identities are bound.
func confirmingPoll(t *testing.T, addr string, votes map[string]string) (string, map[string]*issued) {
	t.Helper()
	for phone, id := range map[string]string{khai: khaiID, tam: tamID, kien: kienID} {
		mustRun(t, addr, "people", "update", phone, "--signing-identity", id)
	}
	poll := openVote(t, addr)
	for _, phone := range []string{khai, tam, kien} {
		if choice, ok := votes[phone]; ok {
			mustRun(t, addr, "vote", "record", poll, phone, choice)
		}
	}
	mustRun(t, addr, "poll", "close", poll)
	mustRun(t, addr, "confirm", "generate", poll, "--deadline", "2030-01-02 17:00")
	dir := t.TempDir()
	mustRun(t, addr, "confirm", "download", poll, "--dir", dir)
	var list struct{ Confirmations []*issued }
	if err := json.Unmarshal([]byte(mustRun(t, addr, "--output", "json", "confirm", "list", poll)), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]*issued{}
	for _, c := range list.Confirmations {
		b, err := os.ReadFile(filepath.Join(dir, c.FileName))
		if err != nil {
			t.Fatal(err)
		}
		c.doc = b
		out[c.FullName] = c
	}
	return poll, out
}

// putFile writes content in a new file of dir and returns its path.
func putFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// signedBy is the issued document signed, for the fake verifier, by id with subject.
func signedBy(doc []byte, id, subject string) []byte {
	return append(bytes.Clone(doc), signedMarker+id+";"+subject...)
}

func TestConfirmSubmit(t *testing.T) {
	t.Parallel()
	addr := startReturnServer(t)
	importFixture(t, addr)
	// Recorded, the vote passes: 2 of 3 in favour, 2 needed.
	poll, confs := confirmingPoll(t, addr, map[string]string{khai: "Tán thành", tam: "Tán thành", kien: "Không tán thành"})
	khaiC, tamC, kienC := confs["Võ Văn Khải"], confs["Hồ Thị Tâm"], confs["Đặng Hữu Kiên"]

	dir := t.TempDir()
	good := putFile(t, dir, "khai-signed.pdf", signedBy(khaiC.doc, khaiID, "CN=Võ Văn Khải, serialNumber=CCCD:074085000006"))
	bad := putFile(t, dir, "tam.pdf", append(bytes.Clone(tamC.doc), signedMarker...))
	junk := putFile(t, dir, "notes.pdf", []byte("%PDF-1.7 minutes of the meeting"))
	pad := func(s string) string { return s + strings.Repeat(" ", len(good)-len(s)) }

	// Several files, one rejected and one not a confirmation: a line each, the counts,
	// exit 1, nothing on stderr off a terminal.
	r := run(t, addr, "confirm", "submit", good, bad, junk)
	want := "ok       " + pad(good) + "  " + khaiC.Name + "  Võ Văn Khải  signed by \"CN=Võ Văn Khải, serialNumber=CCCD:074085000006\"\n" +
		"REJECTED " + pad(bad) + "  " + tamC.Name + "  bad_signature: the signature does not verify\n" +
		"ERROR    " + pad(junk) + "  invalid argument: chunk: the file names no confirmation and does not begin with one this service issued; name the confirmation\n" +
		"1 accepted, 1 rejected, 1 failed\n"
	if r.code != 1 || r.stdout != want || r.stderr != "" {
		t.Errorf("confirm submit of three files:\n%s\nwant stdout\n%s", r, want)
	}

	// The same signed file again gets the same answer; it is exit 0 alone.
	r = run(t, addr, "confirm", "submit", good)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ok       "+good+"  "+khaiC.Name+"  Võ Văn Khải  signed by ") ||
		!strings.HasSuffix(r.stdout, "\n1 accepted, 0 rejected, 0 failed\n") {
		t.Errorf("confirm submit of the signed file again:\n%s", r)
	}

	// Another's file under a named confirmation is rejected; so is one signed by someone
	// else. As JSON: one object per line.
	other := putFile(t, dir, "kien-by-tam.pdf", signedBy(kienC.doc, tamID, "CN=Hồ Thị Tâm"))
	r = run(t, addr, "--output", "json", "confirm", "submit", other)
	var line struct {
		File     string
		Response struct {
			Accepted     bool
			Reason       string
			Confirmation struct{ Name, Status string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &line); r.code != 1 || err != nil || strings.Count(r.stdout, "\n") != 1 ||
		line.File != other || line.Response.Accepted || line.Response.Reason != "wrong_signer" ||
		line.Response.Confirmation.Name != kienC.Name || line.Response.Confirmation.Status != "CONFIRMATION_STATUS_REJECTED" {
		t.Errorf("confirm submit --output json of a file signed by another:\n%s\n%+v (%v)", r, line, err)
	}
	// Kiên sends his own, properly signed, which is accepted.
	mustRun(t, addr, "confirm", "submit", putFile(t, dir, "kien.pdf", signedBy(kienC.doc, kienID, "CN=Đặng Hữu Kiên")))
	// He declines it after all? Too late: it is signed.
	r = run(t, addr, "confirm", "decline", kienC.Name, "--reason", "Đổi ý")
	if r.code != 1 || !strings.Contains(r.stderr, "failed precondition: "+kienC.Name+" is signed already") {
		t.Errorf("decline of a signed confirmation:\n%s", r)
	}

	// A delegate submits their own: Tâm again, signed this time, by her own token; but
	// not Khải's.
	_, secret := createToken(t, addr, "--role", "person", "--name", "Điện thoại của Tâm", "--person", tam)
	r = runAs(t, addr, secret, "confirm", "submit", "--confirmation", khaiC.Name, good)
	if r.code != 1 || !strings.HasPrefix(r.stdout, "ERROR    "+good+"  permission denied: ") || !strings.HasSuffix(r.stdout, "\n0 accepted, 0 rejected, 1 failed\n") {
		t.Errorf("a delegate submitting another's confirmation:\n%s", r)
	}

	// The reminder names who still owes one: Tâm alone, whose copy was rejected.
	title := field(t, mustRun(t, addr, "poll", "show", poll), "title")
	remind := "Kính gửi các đồng chí đại biểu,\n" +
		"Thực hiện khoản 2 Điều 7 Quy chế, Văn phòng đề nghị các đồng chí có tên dưới đây ký và gửi lại Phiếu xác nhận kết quả biểu quyết \"" + title + "\" trước 17 giờ 00 phút, ngày 02/01/2030:\n" +
		"1. Hồ Thị Tâm (bản đã gửi bị từ chối, đề nghị gửi lại)\n" +
		"Trân trọng cảm ơn.\n"
	if got := mustRun(t, addr, "confirm", "remind", poll); got != remind {
		t.Errorf("confirm remind with a rejected confirmation:\n%s\nwant\n%s", got, remind)
	}

	// Reconciled: recorded, the vote passes; confirmed, it fails for lack of Tâm's.
	want = "DELEGATE                   RECORDED         WRITTEN          STATUS                   COUNTED\n" +
		"Võ Văn Khải (people/6)     Tán thành        Tán thành        signed                   yes\n" +
		"Hồ Thị Tâm (people/14)     Tán thành        -                rejected: bad_signature  no\n" +
		"Đặng Hữu Kiên (people/24)  Không tán thành  Không tán thành  signed                   yes\n" +
		"\n" +
		"                   RECORDED  CONFIRMED\n" +
		"Tán thành          2         1\n" +
		"Không tán thành    1         1\n" +
		"Không biểu quyết   0         0\n" +
		"voted / confirmed  3/3       2/3\n" +
		"required           2         2\n" +
		"outcome            passed    failed\n" +
		"The recorded votes pass, but the confirmed result fails: 1 confirmation is missing (1 rejected).\n" +
		"The confirmed result is not official yet: " + poll + " is confirming until every confirmation is settled or the deadline, 2030-01-02 17:00:00 +07:00.\n"
	if got := mustRun(t, addr, "poll", "reconcile", poll); got != want {
		t.Errorf("poll reconcile:\n%s\nwant\n%s", got, want)
	}
	// The tally shows the confirmed count under the recorded one.
	wantTally := "Tán thành         2  " + strings.Repeat("█", 20) + "\n" +
		"Không tán thành   1  " + strings.Repeat("█", 10) + "\n" +
		"Không biểu quyết  0\n" +
		"Đã bỏ phiếu: 3/3\n" +
		"Thông qua: 2/3 tán thành, cần 2\n" +
		"\n" +
		"Xác nhận bằng văn bản:\n" +
		"Tán thành         1  " + strings.Repeat("█", 10) + "\n" +
		"Không tán thành   1  " + strings.Repeat("█", 10) + "\n" +
		"Không biểu quyết  0\n" +
		"Đã xác nhận: 2/3\n" +
		"Không thông qua: 1/3 tán thành, cần 2\n" +
		"Chưa phải kết quả chính thức: đang chờ xác nhận bằng văn bản.\n"
	if got := mustRun(t, addr, "poll", "tally", poll); got != wantTally {
		t.Errorf("poll tally with confirmations:\n%s\nwant\n%s", got, wantTally)
	}

	if shown := mustRun(t, addr, "poll", "show", poll); field(t, shown, "confirmed_result") != "failed so far, 2 in favour needed (official once the poll is finalized)" {
		t.Errorf("poll show of the confirming poll:\n%s", shown)
	}

	// show: the rejection, its reason and its history.
	shown := mustRun(t, addr, "confirm", "show", tamC.Name)
	for name, want := range map[string]string{
		"person": "Hồ Thị Tâm (" + tamC.Person + ")",
		"choice": "Tán thành",
		"status": "rejected: bad_signature",
		"reason": "bad_signature",
		"detail": "the signature does not verify",
	} {
		if got := field(t, shown, name); got != want {
			t.Errorf("confirm show %s: %s is %q, want %q\n%s", tamC.Name, name, got, want, shown)
		}
	}
	history := regexp.MustCompile(`(?m)^TIME +ACTOR +ACTION +STATUS +WRITTEN +DETAIL\n` +
		`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00 +tokens/\d+ +rejected +awaiting_signature → rejected +- +bad_signature: the signature does not verify\n\z`)
	if !history.MatchString(shown) {
		t.Errorf("confirm show %s: no history of the rejection:\n%s", tamC.Name, shown)
	}
	shown = mustRun(t, addr, "confirm", "show", khaiC.Name)
	for name, want := range map[string]string{
		"status":        "signed",
		"written":       "Tán thành",
		"evidence":      "signed PDF, application/pdf, " + sizeWords(int64(len(khaiC.doc)+len(signedMarker+khaiID+";CN=Võ Văn Khải, serialNumber=CCCD:074085000006"))),
		"signer":        "CN=Võ Văn Khải, serialNumber=CCCD:074085000006",
		"signer_issuer": "CN=Test CA",
		"signer_serial": "0a1b",
	} {
		if got := field(t, shown, name); got != want {
			t.Errorf("confirm show %s: %s is %q, want %q\n%s", khaiC.Name, name, got, want, shown)
		}
	}
	sum := sha256.Sum256(signedBy(khaiC.doc, khaiID, "CN=Võ Văn Khải, serialNumber=CCCD:074085000006"))
	if got := field(t, shown, "evidence_sha256"); got != hex.EncodeToString(sum[:]) {
		t.Errorf("confirm show: evidence_sha256 %s, want the submitted file's %x", got, sum)
	}

	// Too large: refused before anything is sent.
	big := filepath.Join(dir, "big.pdf")
	if err := os.WriteFile(big, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, maxUploadSize+1); err != nil {
		t.Fatal(err)
	}
	r = run(t, addr, "confirm", "submit", big)
	if r.code != 1 || r.stdout != "ERROR    "+big+"  file "+big+" is 20.0 MiB (20971521 bytes), over the limit of 20 MiB; nothing was sent\n0 accepted, 0 rejected, 1 failed\n" {
		t.Errorf("confirm submit of a file over the limit:\n%s", r)
	}
}

// payloadOf is the QR payload drawn on an issued confirmation, as the domain computes it.
func payloadOf(t *testing.T, addr, poll string, c *issued) string {
	t.Helper()
	var p struct {
		Options        []string
		ElectorateHash string
	}
	if err := json.Unmarshal([]byte(mustRun(t, addr, "--output", "json", "poll", "show", poll)), &struct{ Poll any }{&p}); err != nil {
		t.Fatal(err)
	}
	var idx []int
	for _, o := range c.Options {
		for i, po := range p.Options {
			if po == o {
				idx = append(idx, i)
			}
		}
	}
	d := bq.ConfirmationDigest(c.Name, poll, c.Person, idx, c.Options, p.ElectorateHash)
	return "BQ1:" + c.Name + ":" + base64.RawURLEncoding.EncodeToString(d[:16])
}

func TestConfirmAttestResolveDecline(t *testing.T) {
	t.Parallel()
	addr := startReturnServer(t)
	importFixture(t, addr)
	// Recorded, the vote fails: 1 of 3 in favour, 2 needed; Kiên does not vote.
	poll, confs := confirmingPoll(t, addr, map[string]string{khai: "Tán thành", tam: "Không tán thành"})
	khaiC, tamC := confs["Võ Văn Khải"], confs["Hồ Thị Tâm"]
	dir := t.TempDir()

	// A scan without a readable QR code, unnamed: refused, nothing recorded.
	blank := putFile(t, dir, "blank.png", []byte(pngMagic+"nothing here"))
	r := run(t, addr, "confirm", "attest", blank)
	if r.code != 1 || r.stdout != "" || !strings.HasPrefix(r.stderr, "bieuquyet: invalid argument: chunk: no confirmation's QR code could be read on the scan") {
		t.Errorf("confirm attest of a blank scan:\n%s", r)
	}

	// Tâm's paper, found by its QR code, on which she marked "Tán thành": a mismatch.
	scan := putFile(t, dir, "tam.png", []byte(pngMagic+"QR:"+payloadOf(t, addr, poll, tamC)+"\n"))
	r = run(t, addr, "confirm", "attest", scan, "--written", "Tán thành")
	want := "confirmation: " + tamC.Name + "\n" +
		"person:       Hồ Thị Tâm (" + tamC.Person + ")\n" +
		"status:       mismatch\n" +
		"issued:       Không tán thành\n" +
		"written:      Tán thành\n" +
		"scan:         scan of the signed paper, image/png, " + sizeWords(int64(len(pngMagic+"QR:"+payloadOf(t, addr, poll, tamC)+"\n"))) + "\n" +
		"poll:         " + poll + " is confirming\n" +
		"the written choice differs from the recorded one: it counts once the leader of the body settles it with 'bieuquyet confirm resolve " + tamC.Name + " --note TEXT'\n"
	if r.code != 0 || r.stdout != want || r.stderr != "" {
		t.Errorf("confirm attest --written:\n%s\nwant stdout\n%s", r, want)
	}

	// Only the leader of the body resolves it: not the Office, and Khải leads Ban Pháp chế.
	note := "Đã gọi điện cho đại biểu lúc 9 giờ: đại biểu xác nhận tán thành"
	r = run(t, addr, "confirm", "resolve", tamC.Name, "--note", note)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: permission denied: ") {
		t.Errorf("confirm resolve by the admin:\n%s", r)
	}
	_, leader := createToken(t, addr, "--role", "person", "--name", "Điện thoại của anh Khải", "--person", khai)
	r = runAs(t, addr, leader, "confirm", "resolve", tamC.Name, "--note", note)
	if r.code != 0 || field(t, r.stdout, "status") != "mismatch (đã giải quyết)" || field(t, r.stdout, "resolution") != "the written choice counts: "+note ||
		field(t, r.stdout, "resolved_by") != "Võ Văn Khải (people/6)" || field(t, r.stdout, "poll") != poll+" is confirming" {
		t.Errorf("confirm resolve by the leader:\n%s", r)
	}

	// Khải declines his, stating his choice by its number: every confirmation is
	// settled, so the poll is finalized.
	r = run(t, addr, "confirm", "decline", khaiC.Name, "--reason", "Đại biểu đi công tác nước ngoài, không ký được", "--choice", "1")
	if r.code != 0 || field(t, r.stdout, "status") != "declined" || field(t, r.stdout, "written") != "Tán thành" ||
		field(t, r.stdout, "detail") != "Đại biểu đi công tác nước ngoài, không ký được" ||
		field(t, r.stdout, "poll") != poll+" is finalized: the confirmed result is official" {
		t.Errorf("confirm decline:\n%s", r)
	}

	// The history of Tâm's: the paper, then the resolution, by whom.
	shown := mustRun(t, addr, "confirm", "show", tamC.Name)
	history := regexp.MustCompile(`(?m)^TIME +ACTOR +ACTION +STATUS +WRITTEN +DETAIL\n` +
		`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00 +tokens/\d+ +paper +awaiting_signature → mismatch +Tán thành +-\n` +
		`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+07:00 +Võ Văn Khải \(people/6\) +resolved +mismatch → mismatch +Tán thành +written_counts: ` + regexp.QuoteMeta(note) + `\n\z`)
	if !history.MatchString(shown) || field(t, shown, "evidence") == "" || field(t, shown, "status") != "mismatch (đã giải quyết)" {
		t.Errorf("confirm show %s:\n%s", tamC.Name, shown)
	}

	// Reconciled: Tâm's written choice counts, Khải's decline does not; both fail, so no
	// sentence, and the result is official.
	want = "DELEGATE                   RECORDED         WRITTEN    STATUS                    COUNTED\n" +
		"Võ Văn Khải (people/6)     Tán thành        Tán thành  declined                  no\n" +
		"Hồ Thị Tâm (people/14)     Không tán thành  Tán thành  mismatch (đã giải quyết)  yes\n" +
		"Đặng Hữu Kiên (people/24)  -                -          no vote, none issued      no\n" +
		"\n" +
		"                   RECORDED  CONFIRMED\n" +
		"Tán thành          1         1\n" +
		"Không tán thành    1         0\n" +
		"Không biểu quyết   0         0\n" +
		"voted / confirmed  2/3       1/3\n" +
		"required           2         2\n" +
		"outcome            failed    failed\n" +
		"The confirmed result is official: " + poll + " is finalized.\n"
	if got := mustRun(t, addr, "poll", "reconcile", poll); got != want {
		t.Errorf("poll reconcile:\n%s\nwant\n%s", got, want)
	}
	if got := mustRun(t, addr, "poll", "tally", poll); !strings.HasSuffix(got, "\nĐã xác nhận: 1/3\nKhông thông qua: 1/3 tán thành, cần 2\nĐây là kết quả chính thức.\n") {
		t.Errorf("poll tally of the finalized poll:\n%s", got)
	}
	shown = mustRun(t, addr, "poll", "show", poll)
	if field(t, shown, "state") != "finalized" || field(t, shown, "confirmed") != "1/3 in writing: Tán thành 1, Không tán thành 0, Không biểu quyết 0" ||
		field(t, shown, "confirmed_result") != "failed, 2 in favour needed (official)" {
		t.Errorf("poll show of the finalized poll:\n%s", shown)
	}
	if got := mustRun(t, addr, "confirm", "remind", poll); !strings.HasPrefix(got, "Các đại biểu đã gửi lại đủ") {
		t.Errorf("confirm remind with nothing owed:\n%s", got)
	}
	// Nothing more is taken for a settled confirmation.
	r = run(t, addr, "confirm", "attest", scan, "--confirmation", tamC.Name)
	if r.code != 1 || !strings.Contains(r.stderr, "failed precondition: ") {
		t.Errorf("confirm attest of a resolved confirmation:\n%s", r)
	}
}

// TestReturnUsage checks the help of the new commands and that bad command lines are
// refused before any call: there is no server.
func TestReturnUsage(t *testing.T) {
	t.Parallel()
	dead := deadAddr(t)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"confirm", "submit", "--help"}, []string{"Usage: bieuquyet confirm submit FILE... [--confirmation CONFIRMATION] [--request-id ID]\n", "-confirmation string", "-request-id"}},
		{[]string{"confirm", "attest", "--help"}, []string{"Usage: bieuquyet confirm attest FILE [--confirmation CONFIRMATION] [--written OPTION]... [--request-id ID]\n", "-written OPTION"}},
		{[]string{"confirm", "decline", "--help"}, []string{"Usage: bieuquyet confirm decline CONFIRMATION --reason TEXT [--choice OPTION]... [--request-id ID]\n", "-choice OPTION", "-reason string"}},
		{[]string{"confirm", "resolve", "--help"}, []string{"Usage: bieuquyet confirm resolve CONFIRMATION --note TEXT [--request-id ID]\n", "-note string"}},
		{[]string{"confirm", "show", "--help"}, []string{"Usage: bieuquyet confirm show CONFIRMATION\n"}},
		{[]string{"poll", "reconcile", "--help"}, []string{"Usage: bieuquyet poll reconcile POLL\n"}},
		{[]string{"help", "poll"}, []string{"poll reconcile POLL"}},
	} {
		r := run(t, "", append([]string{"--addr", dead}, tt.args...)...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("bieuquyet %s:\n%s", strings.Join(tt.args, " "), r)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("bieuquyet %s does not say %q:\n%s", strings.Join(tt.args, " "), w, r.stdout)
			}
		}
	}

	long := strings.Repeat("x", 63)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"confirm", "submit"}, "confirm submit: missing FILE"},
		{[]string{"confirm", "submit", "a.pdf", "b.pdf", "--confirmation", "polls/1/confirmations/2"}, "--confirmation names the confirmation of one FILE; 2 were given"},
		{[]string{"confirm", "submit", "a.pdf", "--confirmation", "polls/1"}, `"polls/1" is not a confirmation`},
		{[]string{"confirm", "submit", "a.pdf", "b.pdf", "--request-id", long}, "--request-id must have at most 62 characters with 2 files"},
		{[]string{"confirm", "submit", "a.pdf", "--request-id", "a b"}, "--request-id may hold only printable ASCII"},
		{[]string{"confirm", "attest"}, "confirm attest: missing FILE"},
		{[]string{"confirm", "attest", "a.png", "b.png"}, `unexpected argument "b.png"`},
		{[]string{"confirm", "attest", "a.png", "--confirmation", "x"}, `"x" is not a confirmation`},
		{[]string{"confirm", "decline", "polls/1/confirmations/2"}, "--reason is required"},
		{[]string{"confirm", "decline", "2", "--reason", "r"}, `"2" is not a confirmation`},
		{[]string{"confirm", "resolve", "polls/1/confirmations/2"}, "--note is required"},
		{[]string{"confirm", "show"}, "confirm show: missing CONFIRMATION"},
		{[]string{"poll", "reconcile", "x"}, `poll reconcile: "x" is not a poll`},
	} {
		r := run(t, "", append([]string{"--addr", dead}, tt.args...)...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("bieuquyet %s:\n%s\nwant a usage error saying %q", strings.Join(tt.args, " "), r, tt.want)
		}
	}
}

// TestFileRequestIDs checks the request ids of the files of one submission.
func TestFileRequestIDs(t *testing.T) {
	fs := newFlagSet("confirm submit")
	id := requestIDVar(fs)
	if err := fs.Parse([]string{"--request-id", "run-7"}); err != nil {
		t.Fatal(err)
	}
	if got, err := fileRequestIDs(fs, id, 3); err != nil || fmt.Sprint(got) != "[run-7-1 run-7-2 run-7-3]" {
		t.Errorf("fileRequestIDs(run-7, 3) = %q, %v", got, err)
	}
	if got, err := fileRequestIDs(fs, id, 1); err != nil || fmt.Sprint(got) != "[run-7]" {
		t.Errorf("fileRequestIDs(run-7, 1) = %q, %v", got, err)
	}
}

// TestUploadProgress checks the bar confirm submit draws on a terminal: files done of
// all, bytes sent of all, taken back when an attempt starts over, and cleared for each
// line of output.
func TestUploadProgress(t *testing.T) {
	var b bytes.Buffer
	u := &uploadProgress{bar: &progress{w: &b, files: 2, total: 2000, now: time.Now}, shown: true}
	u.add(1000)
	if !strings.HasSuffix(b.String(), "\r\x1b[K0/2 ["+strings.Repeat("#", 15)+strings.Repeat(".", 15)+"] 1.0 KB / 2.0 KB") {
		t.Errorf("after 1000 bytes: %q", b.String())
	}
	u.add(-1000) // the attempt starts over
	u.add(1000)
	u.fileDone()
	if !strings.HasSuffix(b.String(), "\r\x1b[K1/2 ["+strings.Repeat("#", 15)+strings.Repeat(".", 15)+"] 1.0 KB / 2.0 KB") {
		t.Errorf("after one file: %q", b.String())
	}
	b.Reset()
	u.hide()
	u.add(500)
	if b.String() != "\r\x1b[K" {
		t.Errorf("hidden, the bar drew %q", b.String())
	}
	u.show()
	if !strings.HasSuffix(b.String(), "1/2 ["+strings.Repeat("#", 22)+strings.Repeat(".", 8)+"] 1.5 KB / 2.0 KB") {
		t.Errorf("shown again: %q", b.String())
	}
	var none *uploadProgress // off a terminal: draws nothing
	none.add(1)
	none.fileDone()
	none.hide()
	none.show()
}

// The leader settles a mismatch by re-issuing: the confirmation awaits a signature again,
// now confirming the corrected choice, and its history says so.
func TestConfirmReissue(t *testing.T) {
	t.Parallel()
	addr := startReturnServer(t)
	importFixture(t, addr)
	poll, confs := confirmingPoll(t, addr, map[string]string{khai: "Tán thành", tam: "Không tán thành"})
	tamC := confs["Hồ Thị Tâm"]
	scan := putFile(t, t.TempDir(), "tam.png", []byte(pngMagic+"QR:"+payloadOf(t, addr, poll, tamC)+"\n"))
	if r := run(t, addr, "confirm", "attest", scan, "--written", "Tán thành"); r.code != 0 {
		t.Fatalf("confirm attest:\n%s", r)
	}
	note := "Văn phòng ghi nhầm lựa chọn từ Zalo"
	r := run(t, addr, "confirm", "reissue", tamC.Name, "--choice", "Tán thành", "--note", note)
	if r.code != 1 || !strings.HasPrefix(r.stderr, "bieuquyet: permission denied: ") {
		t.Errorf("confirm reissue by the admin:\n%s", r)
	}
	if r := run(t, addr, "confirm", "reissue", tamC.Name, "--note", note); r.code != 2 || !strings.Contains(r.stderr, "--choice") {
		t.Errorf("confirm reissue without --choice:\n%s", r)
	}
	_, leader := createToken(t, addr, "--role", "person", "--name", "Điện thoại của anh Khải", "--person", khai)
	r = runAs(t, addr, leader, "confirm", "reissue", tamC.Name, "--choice", "1", "--note", note)
	if r.code != 0 || field(t, r.stdout, "status") != "awaiting_signature" || field(t, r.stdout, "issued") != "Tán thành" ||
		field(t, r.stdout, "reissued") != "re-issued with the corrected choice: "+note || field(t, r.stdout, "reissued_by") != "Võ Văn Khải (people/6)" {
		t.Errorf("confirm reissue by the leader:\n%s", r)
	}
	shown := mustRun(t, addr, "confirm", "show", tamC.Name)
	if !regexp.MustCompile(`(?m)^.*Võ Văn Khải \(people/6\) +reissued +mismatch → awaiting_signature +Tán thành +reissued: `+regexp.QuoteMeta(note)+`$`).MatchString(shown) ||
		field(t, shown, "choice") != "Tán thành" {
		t.Errorf("confirm show %s:\n%s", tamC.Name, shown)
	}
}
