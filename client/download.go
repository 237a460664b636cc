package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	pb "github.com/bieuquyet/bieuquyet/proto/bieuquyet/v1"
)

// Downloads. A document comes as a stream: a first message that says what it is (its
// file name, SHA-256 and size), then its bytes in chunks. Nothing is kept that does not
// match what the server says: the bytes go to a temporary file beside the target,
// renamed into place only once checked, and removed otherwise.

// document is what a download stream says of the file it carries.
type document struct {
	fileName string
	sha256   string // hex
	size     int64
	conf     *pb.Confirmation // the confirmation, when it is one
	kept     bool             // already there: not downloaded again
}

// openDoc starts one download; recv returns the next message: the document's description
// in the first only, and the next bytes.
type openDoc func(ctx context.Context, svc services) (recv func() (*document, []byte, error), err error)

// confirmationStream downloads the confirmation called name.
func confirmationStream(name string) openDoc {
	return func(ctx context.Context, svc services) (func() (*document, []byte, error), error) {
		s, err := svc.DownloadConfirmation(ctx, &pb.DownloadConfirmationRequest{Name: name})
		if err != nil {
			return nil, err
		}
		return func() (*document, []byte, error) {
			m, err := s.Recv()
			if err != nil {
				return nil, nil, err
			}
			var d *document
			if c := m.GetConfirmation(); c != nil {
				d = &document{fileName: c.GetFileName(), sha256: c.GetSha256(), size: c.GetSizeBytes(), conf: c}
			}
			return d, m.GetChunk(), nil
		}, nil
	}
}

// reportStream downloads the tally report of poll.
func reportStream(poll string) openDoc {
	return func(ctx context.Context, svc services) (func() (*document, []byte, error), error) {
		s, err := svc.GetTallyReport(ctx, &pb.GetTallyReportRequest{Poll: poll})
		if err != nil {
			return nil, err
		}
		return func() (*document, []byte, error) {
			m, err := s.Recv()
			if err != nil {
				return nil, nil, err
			}
			var d *document
			if m.GetSha256() != "" {
				d = &document{fileName: m.GetFileName(), sha256: m.GetSha256(), size: m.GetSizeBytes()}
			}
			return d, m.GetChunk(), nil
		}, nil
	}
}

// maxDocumentSize bounds what a download keeps in memory for standard output, and what
// any download accepts: a confirmation is one page, a report a few.
const maxDocumentSize = 256 << 20

// saveDocument downloads a document into out ("-" is stdout, written only once the
// whole document is checked) and returns its description.
func (a *app) saveDocument(ctx context.Context, open openDoc, out string, bar *progress) (*document, error) {
	if out == "-" {
		var buf memorySink
		doc, err := a.fetch(ctx, open, &buf, bar)
		if err != nil {
			return nil, err
		}
		if _, err := a.stdout.Write(buf.Bytes()); err != nil {
			return nil, err
		}
		return doc, nil
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.part")
	if err != nil {
		return nil, fmt.Errorf("save %s: %w", out, err)
	}
	tmp := f.Name()
	doc, err := a.fetch(ctx, open, fileSink{f}, bar)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	return doc, nil
}

// sink is where a download goes; reset empties it for another attempt.
type sink interface {
	io.Writer
	reset() error
}

type fileSink struct{ *os.File }

func (f fileSink) reset() error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return f.Truncate(0)
}

type memorySink struct{ bytes.Buffer }

func (m *memorySink) reset() error { m.Reset(); return nil }

// fetch runs a download into s and checks it. Like call, it tries again, from the
// start, while the server cannot be reached or does not finish within --timeout; a
// document that does not match its description is an error at once.
func (a *app) fetch(ctx context.Context, open openDoc, s sink, bar *progress) (*document, error) {
	svc, err := a.services()
	if err != nil {
		return nil, err
	}
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		if err := s.reset(); err != nil {
			return nil, err
		}
		bar.restart()
		doc, err := a.fetchOnce(ctx, svc, open, s, bar)
		if err == nil || !transient(err) || attempt == maxAttempts || ctx.Err() != nil {
			return doc, err
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, err
		}
		backoff *= 2
	}
}

func (a *app) fetchOnce(ctx context.Context, svc services, open openDoc, w io.Writer, bar *progress) (*document, error) {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	recv, err := open(ctx, svc)
	if err != nil {
		return nil, err
	}
	var doc *document
	h := sha256.New()
	var n int64
	for first := true; ; first = false {
		d, chunk, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if first {
			if d == nil {
				return nil, errNoHeader
			}
			if d.size < 0 || d.size > maxDocumentSize {
				return nil, fmt.Errorf("the server announces a document of %d bytes; at most %d are accepted", d.size, maxDocumentSize)
			}
			doc = d
		}
		n += int64(len(chunk))
		if n > doc.size {
			return nil, fmt.Errorf("%s: the server sent more than the %d bytes it announced; nothing was saved", docLabel(doc), doc.size)
		}
		h.Write(chunk)
		if _, err := w.Write(chunk); err != nil {
			return nil, err
		}
		bar.add(int64(len(chunk)))
	}
	if doc == nil {
		return nil, errNoHeader
	}
	if n != doc.size {
		return nil, fmt.Errorf("%s: received %d bytes, the server announced %d; nothing was saved", docLabel(doc), n, doc.size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, doc.sha256) {
		return nil, fmt.Errorf("%s: the bytes received have SHA-256 %s, not the %s the server reports; nothing was saved",
			docLabel(doc), got, printable(doc.sha256))
	}
	return doc, nil
}

func docLabel(d *document) string {
	if d.conf != nil {
		return printable(d.conf.GetName())
	}
	if d.fileName != "" {
		return printable(d.fileName)
	}
	return "the document"
}

// sameContent reports whether path is a file of size bytes with the hex SHA-256 sum.
// A missing file is not an error.
func sameContent(path, sum string, size int64) (bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !info.Mode().IsRegular() {
		return false, fmt.Errorf("%s is in the way: it is not a regular file", path)
	}
	if info.Size() != size {
		return false, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return false, err
	}
	return strings.EqualFold(hex.EncodeToString(h.Sum(nil)), sum), nil
}

// progress draws a bar on stderr while files download, when stderr is a terminal; a
// nil progress draws nothing. Its methods may be called on nil.
type progress struct {
	w                io.Writer
	files, doneFiles int
	total, doneBytes int64
	current          int64 // bytes of the file under way
	last             time.Time
	drawn            bool
	interval         time.Duration
	now              func() time.Time
}

// newProgress returns a bar over files files of total bytes, or nil when stderr is not a
// terminal: a pipe or a log gets only the final line.
func (a *app) newProgress(files int, total int64) *progress {
	if files == 0 || !isTerminal(a.stderr) {
		return nil
	}
	return &progress{w: a.stderr, files: files, total: total, interval: 100 * time.Millisecond, now: time.Now}
}

func (p *progress) restart() {
	if p != nil {
		p.current = 0
	}
}

func (p *progress) add(n int64) {
	if p == nil {
		return
	}
	p.current += n
	if t := p.now(); t.Sub(p.last) >= p.interval {
		p.last = t
		p.draw()
	}
}

// fileDone counts a file of size bytes as done, downloaded or found already there.
func (p *progress) fileDone(size int64) {
	if p == nil {
		return
	}
	p.doneFiles++
	p.doneBytes += size
	p.current = 0
	p.draw()
}

func (p *progress) draw() {
	p.drawn = true
	fmt.Fprint(p.w, "\r\x1b[K"+progressLine(p.doneFiles, p.files, p.doneBytes+p.current, p.total))
}

// clear removes the bar, so that what follows starts on a clean line.
func (p *progress) clear() {
	if p != nil && p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// progressBarWidth is the width of the bar itself, in characters.
const progressBarWidth = 30

// progressLine is the text of the bar: files done, a bar by bytes, bytes done.
func progressLine(doneFiles, files int, doneBytes, total int64) string {
	filled := progressBarWidth
	if total > 0 {
		filled = int(min(doneBytes, total) * progressBarWidth / total)
	}
	return fmt.Sprintf("%d/%d [%s%s] %s / %s", doneFiles, files, strings.Repeat("#", filled),
		strings.Repeat(".", progressBarWidth-filled), sizeWords(doneBytes), sizeWords(total))
}
