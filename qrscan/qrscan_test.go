package qrscan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/internal/signtest"
)

// scan renders an issued confirmation as a scanner would give it: a PNG at dpi.
func scan(t *testing.T, doc []byte, dpi int) []byte {
	t.Helper()
	in := signtest.WriteTemp(t, "issued.pdf", doc)
	out := filepath.Join(t.TempDir(), "scan")
	if msg, ok := signtest.Run(t, "pdftoppm", "-r", fmt.Sprint(dpi), "-png", "-singlefile", in, out); !ok {
		t.Fatalf("pdftoppm: %s", msg)
	}
	b, err := os.ReadFile(out + ".png")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func toJPEG(t *testing.T, pngBytes []byte) []byte {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(pngBytes))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegPDF wraps a JPEG into a one-page PDF as a scanner's "scan to PDF" does: the image
// drawn over the whole page with DCTDecode.
func jpegPDF(t *testing.T, jpg []byte) []byte {
	t.Helper()
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(jpg))
	if err != nil {
		t.Fatal(err)
	}
	content := "q 595 0 0 842 0 0 cm /Im0 Do Q"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>",
		fmt.Sprintf("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\nendstream",
			cfg.Width, cfg.Height, len(jpg), jpg),
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func TestReadsTheConfirmationsCode(t *testing.T) {
	paper, doc := signtest.IssuedConfirmation(t, 12)
	want := paper.Payload()
	png150 := scan(t, doc, 150)
	jpg := toJPEG(t, png150)
	for _, tc := range []struct {
		name, media string
		file        []byte
	}{
		{"png 150 dpi", "image/png", png150},
		{"png 300 dpi", "image/png", scan(t, doc, 300)},
		{"jpeg", "image/jpeg", jpg},
		{"scanned pdf", "application/pdf", jpegPDF(t, jpg)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := New()
			media, err := r.MediaType(tc.file)
			if err != nil || media != tc.media {
				t.Fatalf("media type %q, %v; want %s", media, err, tc.media)
			}
			got, err := r.Payloads(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0] != want {
				t.Fatalf("payloads %q, want [%q]", got, want)
			}
			p, err := bq.ParseConfirmationPayload(got[0])
			if err != nil || !p.Matches(paper) {
				t.Fatalf("the payload does not match its paper: %v", err)
			}
		})
	}
}

func TestRefusesWhatIsNotAScan(t *testing.T) {
	r := New()
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"empty", nil},
		{"text", []byte("hello")},
		{"zip", []byte("PK\x03\x04")},
	} {
		if _, err := r.Payloads(tc.file); bq.ErrorCode(err) != bq.CodeInvalid {
			t.Errorf("%s: %v, want invalid", tc.name, err)
		}
	}
	// A PNG header announcing 100000×100000 pixels is refused before decoding.
	var huge bytes.Buffer
	if err := png.Encode(&huge, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	b := huge.Bytes()
	copy(b[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0}) // IHDR width and height
	// The chunk's CRC (over its type and data) made anew, so that the header reads and it
	// is the pixel limit that refuses the file, not a broken checksum.
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29]))
	if _, err := r.Payloads(b); bq.ErrorCode(err) != bq.CodeInvalid || !strings.Contains(err.Error(), "100000×100000 pixels") {
		t.Errorf("a 10-gigapixel PNG: %v, want invalid for its pixels", err)
	}
	// A blank page has no code: no payloads, no error.
	var blank bytes.Buffer
	if err := png.Encode(&blank, image.NewGray(image.Rect(0, 0, 200, 300))); err != nil {
		t.Fatal(err)
	}
	if got, err := r.Payloads(blank.Bytes()); err != nil || len(got) != 0 {
		t.Errorf("blank page: %q, %v", got, err)
	}
}
