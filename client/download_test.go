package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// fakeConfirmations serves canned documents, some of them spoiled, to check what the
// client does with what a real server never sends: bytes that do not match their
// digest, a wrong size, a file name with a path in it.
type fakeConfirmations struct {
	pb.UnimplementedConfirmationServiceServer
	confs []*pb.Confirmation
	docs  map[string][]byte // what is actually sent, by confirmation name
}

func (f *fakeConfirmations) ListConfirmations(context.Context, *pb.ListConfirmationsRequest) (*pb.ListConfirmationsResponse, error) {
	return &pb.ListConfirmationsResponse{Confirmations: f.confs}, nil
}

func (f *fakeConfirmations) GetConfirmation(_ context.Context, req *pb.GetConfirmationRequest) (*pb.GetConfirmationResponse, error) {
	for _, c := range f.confs {
		if c.GetName() == req.GetName() {
			return &pb.GetConfirmationResponse{Confirmation: c}, nil
		}
	}
	return nil, nil
}

func (f *fakeConfirmations) DownloadConfirmation(req *pb.DownloadConfirmationRequest, s grpc.ServerStreamingServer[pb.DownloadConfirmationResponse]) error {
	for _, c := range f.confs {
		if c.GetName() != req.GetName() {
			continue
		}
		doc := f.docs[c.GetName()]
		if err := s.Send(&pb.DownloadConfirmationResponse{Confirmation: c}); err != nil {
			return err
		}
		for len(doc) > 0 {
			n := min(len(doc), 7)
			if err := s.Send(&pb.DownloadConfirmationResponse{Chunk: doc[:n]}); err != nil {
				return err
			}
			doc = doc[n:]
		}
	}
	return nil
}

func (f *fakeConfirmations) GetTallyReport(_ *pb.GetTallyReportRequest, s grpc.ServerStreamingServer[pb.GetTallyReportResponse]) error {
	doc := f.docs["report"]
	sum := sha256.Sum256(doc)
	if err := s.Send(&pb.GetTallyReportResponse{FileName: "report.pdf", Sha256: hex.EncodeToString(sum[:]), SizeBytes: int64(len(doc))}); err != nil {
		return err
	}
	return s.Send(&pb.GetTallyReportResponse{Chunk: doc})
}

// fakeConfirmation describes doc as confirmation id of polls/1, in file fileName.
func fakeConfirmation(id, fileName string, doc []byte) *pb.Confirmation {
	sum := sha256.Sum256(doc)
	return &pb.Confirmation{Name: "polls/1/confirmations/" + id, Person: "people/" + id, FullName: "Người " + id,
		Options: []string{"Tán thành"}, Sha256: hex.EncodeToString(sum[:]), SizeBytes: int64(len(doc)), FileName: fileName,
		Status: pb.ConfirmationStatus_CONFIRMATION_STATUS_AWAITING_SIGNATURE}
}

// startFake serves f on loopback, without authentication.
func startFake(t *testing.T, f *fakeConfirmations) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	pb.RegisterConfirmationServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// dirFiles lists the names in dir, hidden ones (temporary files) included.
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDownloadChecksDigest(t *testing.T) {
	t.Parallel()
	good := []byte("%PDF-1.4 good document, long enough for several chunks\n%%EOF\n")
	f := &fakeConfirmations{docs: map[string][]byte{}}
	f.confs = []*pb.Confirmation{fakeConfirmation("1", "polls-1-1-Nguoi-1.pdf", good), fakeConfirmation("2", "polls-1-2-Nguoi-2.pdf", good)}
	f.docs["polls/1/confirmations/1"] = good
	// The second sends other bytes of the announced size: the digest gives it away.
	f.docs["polls/1/confirmations/2"] = bytes.ToUpper(good)
	addr := startFake(t, f)

	dir := filepath.Join(t.TempDir(), "out")
	r := run(t, "", "--addr", addr, "confirm", "download", "1", "--dir", dir)
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "polls/1/confirmations/2: the bytes received have SHA-256 ") ||
		!strings.Contains(r.stderr, "nothing was saved") {
		t.Errorf("a spoiled document:\n%s", r)
	}
	// The good one is kept, the spoiled one leaves nothing behind, not even its part file.
	if got := dirFiles(t, dir); len(got) != 1 || got[0] != "polls-1-1-Nguoi-1.pdf" {
		t.Errorf("the folder holds %q", got)
	}

	one := filepath.Join(t.TempDir(), "one.pdf")
	r = run(t, "", "--addr", addr, "confirm", "download", "polls/1/confirmations/2", "-o", one)
	if r.code != 1 || !strings.Contains(r.stderr, "SHA-256") || len(dirFiles(t, filepath.Dir(one))) != 0 {
		t.Errorf("-o with a spoiled document:\n%s\nfiles %q", r, dirFiles(t, filepath.Dir(one)))
	}
	// Standard output gets nothing of a spoiled document.
	r = run(t, "", "--addr", addr, "confirm", "download", "polls/1/confirmations/2", "-o", "-")
	if r.code != 1 || r.stdout != "" {
		t.Errorf("-o - with a spoiled document:\n%s", r)
	}
	r = run(t, "", "--addr", addr, "confirm", "download", "polls/1/confirmations/1", "-o", "-")
	if r.code != 0 || r.stdout != string(good) || r.stderr != "" {
		t.Errorf("-o - :\n%s", r)
	}

	// A short document is refused too.
	f.docs["polls/1/confirmations/2"] = good[:10]
	r = run(t, "", "--addr", addr, "confirm", "download", "polls/1/confirmations/2", "-o", one)
	if r.code != 1 || !strings.Contains(r.stderr, "received 10 bytes, the server announced") {
		t.Errorf("a short document:\n%s", r)
	}

	// The tally report, checked the same way.
	f.docs["report"] = good
	report := filepath.Join(t.TempDir(), "report.pdf")
	r = run(t, "", "--addr", addr, "poll", "report", "1", "-o", report)
	if b, _ := os.ReadFile(report); r.code != 0 || !bytes.Equal(b, good) || !strings.HasPrefix(r.stdout, "saved: "+report+", the tally report of polls/1, ") {
		t.Errorf("poll report:\n%s", r)
	}
}

func TestDownloadRefusesBadFileNames(t *testing.T) {
	t.Parallel()
	doc := []byte("%PDF-1.4\n")
	for _, name := range []string{"../escape.pdf", "sub/dir.pdf", ".hidden.pdf", "..", "a\x1b[2Jb.pdf", "report.PDF.exe"} {
		f := &fakeConfirmations{docs: map[string][]byte{"polls/1/confirmations/1": doc},
			confs: []*pb.Confirmation{fakeConfirmation("1", name, doc)}}
		addr := startFake(t, f)
		parent := t.TempDir()
		dir := filepath.Join(parent, "out")
		r := run(t, "", "--addr", addr, "confirm", "download", "1", "--dir", dir)
		if r.code != 1 || !strings.Contains(r.stderr, "which is not a plain file name ending in .pdf; nothing was saved") {
			t.Errorf("file name %q:\n%s", name, r)
		}
		if got := dirFiles(t, parent); len(got) != 0 {
			t.Errorf("file name %q: wrote %q", name, got)
		}
	}

	// Two confirmations under one file name would overwrite each other.
	f := &fakeConfirmations{docs: map[string][]byte{"polls/1/confirmations/1": doc, "polls/1/confirmations/2": doc},
		confs: []*pb.Confirmation{fakeConfirmation("1", "same.pdf", doc), fakeConfirmation("2", "SAME.pdf", doc)}}
	r := run(t, "", "--addr", startFake(t, f), "confirm", "download", "1", "--dir", t.TempDir())
	if r.code != 1 || !strings.Contains(r.stderr, "the same file name") {
		t.Errorf("two confirmations in one file:\n%s", r)
	}
}

func TestProgressLine(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		done, files  int
		bytes, total int64
		want         string
	}{
		{0, 3, 0, 300_000, "0/3 [..............................] 0 B / 300.0 KB"},
		{1, 3, 150_000, 300_000, "1/3 [###############...............] 150.0 KB / 300.0 KB"},
		{3, 3, 300_000, 300_000, "3/3 [##############################] 300.0 KB / 300.0 KB"},
		{0, 1, 0, 0, "0/1 [##############################] 0 B / 0 B"},
	} {
		if got := progressLine(tt.done, tt.files, tt.bytes, tt.total); got != tt.want {
			t.Errorf("progressLine(%d, %d, %d, %d) = %q, want %q", tt.done, tt.files, tt.bytes, tt.total, got, tt.want)
		}
	}
}

// TestProgressDrawsAndClears checks the bar as a terminal gets it: redrawn in place on
// one line, and wiped before the summary line.
func TestProgressDrawsAndClears(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	p := &progress{w: &b, files: 2, total: 20, now: time.Now}
	p.add(5)
	p.fileDone(10)
	p.restart()
	p.add(10)
	p.fileDone(10)
	p.clear()
	want := "\r\x1b[K0/2 [#######.......................] 5 B / 20 B" +
		"\r\x1b[K1/2 [###############...............] 10 B / 20 B" +
		"\r\x1b[K1/2 [##############################] 20 B / 20 B" +
		"\r\x1b[K2/2 [##############################] 20 B / 20 B" +
		"\r\x1b[K"
	if b.String() != want {
		t.Errorf("the bar drew %q, want %q", b.String(), want)
	}
	// Off a terminal there is no bar, and nil draws nothing.
	a := &app{stderr: &b}
	if a.newProgress(3, 10) != nil {
		t.Error("a bar on a buffer")
	}
	var none *progress
	none.add(1)
	none.fileDone(1)
	none.clear()
}

// TestDownloadRefusesHostileNames checks what a hostile server can make --dir write: a
// confirmation without a file name is saved under one made from its name, which must be
// as plain as a given one; and a file that is not a PDF (a user's notes.txt in the
// folder) is never overwritten.
func TestDownloadRefusesHostileNames(t *testing.T) {
	t.Parallel()
	doc := []byte("%PDF-1.4\n")
	for _, tc := range []struct{ name, fileName string }{
		{"polls/1/confirmations/1\x1b[2J", ""},
		{`polls/1/confirmations/..\..\escape`, ""},
		{"polls/1/confirmations/1", "notes.txt"},
	} {
		c := fakeConfirmation("1", tc.fileName, doc)
		c.Name = tc.name
		f := &fakeConfirmations{docs: map[string][]byte{tc.name: doc}, confs: []*pb.Confirmation{c}}
		addr := startFake(t, f)
		dir := t.TempDir()
		notes := filepath.Join(dir, "notes.txt")
		if err := os.WriteFile(notes, []byte("my notes"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := run(t, "", "--addr", addr, "confirm", "download", "1", "--dir", dir)
		if r.code != 1 || !strings.Contains(r.stderr, "which is not a plain file name") {
			t.Errorf("name %q, file name %q:\n%s", tc.name, tc.fileName, r)
		}
		if got := dirFiles(t, dir); len(got) != 1 {
			t.Errorf("name %q, file name %q: the folder holds %q", tc.name, tc.fileName, got)
		}
		if b, _ := os.ReadFile(notes); string(b) != "my notes" {
			t.Errorf("name %q, file name %q: notes.txt was overwritten", tc.name, tc.fileName)
		}
	}
}
