package signedpdf

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"rsc.io/qr"
)

// makePDF writes a one-revision PDF whose objects 1, 2, … have the given bodies.
func makePDF(bodies ...[]byte) []byte {
	out := []byte("%PDF-1.4\n")
	var offs []int
	for i, b := range bodies {
		offs = append(offs, len(out))
		out = fmt.Appendf(out, "%d 0 obj\n%s\nendobj\n", i+1, b)
	}
	x := len(out)
	out = fmt.Appendf(out, "xref\n0 %d\n0000000000 65535 f \n", len(bodies)+1)
	for _, o := range offs {
		out = fmt.Appendf(out, "%010d 00000 n \n", o)
	}
	return fmt.Appendf(out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(bodies)+1, x)
}

func stream(dict string, data []byte) []byte {
	return fmt.Appendf(nil, "<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

func TestScanImages(t *testing.T) {
	// A QR code as a scanner would store it: 8-bit grey, deflated; the same as a JPEG;
	// a 1-bit black-is-1 bitmap; an RGB image; and a CCITT image that is skipped.
	code, err := qr.Encode("BQ1:polls/3/confirmations/12:br4cHW2GvenLyQBOmf5NGg", qr.M)
	if err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray(image.Rect(0, 0, code.Size*4, code.Size*4))
	for y := range gray.Rect.Dy() {
		for x := range gray.Rect.Dx() {
			if !code.Black(x/4, y/4) {
				gray.Pix[y*gray.Stride+x] = 0xff
			}
		}
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, gray, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	w := gray.Rect.Dx()
	var bits []byte
	stride := (w + 7) / 8
	for y := range w {
		row := make([]byte, stride)
		for x := range w {
			if gray.Pix[y*gray.Stride+x] == 0 {
				row[x/8] |= 0x80 >> (x % 8)
			}
		}
		bits = append(bits, row...)
	}
	rgb := []byte{255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255}
	file := makePDF(
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 /Resources << /XObject << /A 4 0 R /B 5 0 R /C 6 0 R /D 7 0 R /E 8 0 R >> >> >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"),
		stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", w, w), deflate(gray.Pix)),
		stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode", w, w), jpg.Bytes()),
		stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 1 /Decode [1 0]", w, w), bits),
		stream("/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter [/FlateDecode]", deflate(rgb)),
		stream("/Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /CCITTFaxDecode", []byte{0, 0}),
	)
	imgs, err := ScanImages(file, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 4 {
		t.Fatalf("%d images, want 4", len(imgs))
	}
	for i, img := range imgs[:3] {
		if img.Bounds() != gray.Rect {
			t.Fatalf("image %d: bounds %v", i, img.Bounds())
		}
		// The finder pattern's corner is black, the quiet zone white.
		for _, p := range []struct {
			x, y  int
			black bool
		}{{1, 1, true}, {w - 2, 1, true}, {w / 2, w / 2, code.Black(w/8, w/8)}} {
			g := color.GrayModel.Convert(img.At(p.x, p.y)).(color.Gray).Y
			if (g < 128) != p.black {
				t.Errorf("image %d at (%d,%d): grey %d, want black %v", i, p.x, p.y, g, p.black)
			}
		}
	}
	if c := imgs[3].At(1, 0).(color.RGBA); c != (color.RGBA{0, 255, 0, 255}) {
		t.Errorf("RGB image: %v", c)
	}
	if imgs, _ := ScanImages(file, 2); len(imgs) != 2 {
		t.Errorf("max 2: %d images", len(imgs))
	}
	// Too many pixels: skipped, not decoded.
	huge := makePDF(
		[]byte("<< /Type /Catalog /Pages 2 0 R >>"),
		[]byte("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
		[]byte("<< /Type /Page /Parent 2 0 R /Resources << /XObject << /A 4 0 R >> >> >>"),
		stream("/Subtype /Image /Width 60000 /Height 60000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", deflate(make([]byte, 1000))),
	)
	if imgs, err := ScanImages(huge, 0); err != nil || len(imgs) != 0 {
		t.Errorf("huge image: %d images, %v", len(imgs), err)
	}
	if _, err := ScanImages([]byte("not a pdf"), 0); err == nil {
		t.Error("not a PDF: no error")
	}
}
