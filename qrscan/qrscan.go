// Package qrscan reads the QR codes on scans of paper confirmations: a PNG or JPEG image,
// or a PDF whose pages are scanned images. It implements bieuquyet.ScanReader with
// gozxing, a port of ZXing, kept behind this package as gofpdf is behind pdf.
package qrscan

import (
	"bytes"
	"image"
	_ "image/jpeg" // scans come as JPEG
	_ "image/png"  // and as PNG

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/signedpdf"
)

// maxPixels bounds an image decoded from a scan: an A4 page at 600 dpi is about 35
// million pixels. A file announcing more is refused before it is decoded, so a small
// file cannot make the server allocate gigabytes.
const maxPixels = 40_000_000

// maxPages bounds the pages of a scanned PDF searched for a code.
const maxPages = 8

// Reader reads QR codes from scans.
type Reader struct{}

// New returns a Reader.
func New() Reader { return Reader{} }

var _ bq.ScanReader = Reader{}

// MediaType names the file's type from its first bytes.
func (Reader) MediaType(file []byte) (string, error) {
	switch {
	case bytes.HasPrefix(file, []byte("%PDF-")):
		return "application/pdf", nil
	case bytes.HasPrefix(file, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", nil
	case bytes.HasPrefix(file, []byte("\xff\xd8\xff")):
		return "image/jpeg", nil
	case len(file) == 0:
		return "", bq.Invalid("chunk", "the scan is empty")
	}
	return "", bq.Invalid("chunk", "the scan is neither a PDF, a PNG nor a JPEG file")
}

// Payloads returns the text of the QR codes found on the scan: on the image, or on each
// image of a scanned PDF's pages.
func (r Reader) Payloads(file []byte) ([]string, error) {
	media, err := r.MediaType(file)
	if err != nil {
		return nil, err
	}
	var images []image.Image
	if media == "application/pdf" {
		if images, err = signedpdf.ScanImages(file, maxPages); err != nil {
			return nil, bq.Invalid("chunk", "the scanned PDF cannot be read: %v", err)
		}
	} else {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(file))
		if err != nil {
			return nil, bq.Invalid("chunk", "the %s cannot be read: %v", media, err)
		}
		if cfg.Width*cfg.Height > maxPixels || cfg.Width <= 0 || cfg.Height <= 0 {
			return nil, bq.Invalid("chunk", "the image is %d×%d pixels; at most %d million are read", cfg.Width, cfg.Height, maxPixels/1_000_000)
		}
		img, _, err := image.Decode(bytes.NewReader(file))
		if err != nil {
			return nil, bq.Invalid("chunk", "the %s cannot be read: %v", media, err)
		}
		images = []image.Image{img}
	}
	var out []string
	for _, img := range images {
		if text, ok := decode(img); ok {
			out = append(out, text)
		}
	}
	return out, nil
}

// decode finds one QR code on an image. The confirmation's code sits at the foot of the
// page on the left: that corner is tried first, cropped, then the whole page, then the
// page at half size, which helps ZXing with scans at high resolution.
func decode(img image.Image) (string, bool) {
	b := img.Bounds()
	corner := image.Rect(b.Min.X, b.Min.Y+b.Dy()*3/5, b.Min.X+b.Dx()/2, b.Max.Y)
	tries := []image.Image{crop(img, corner), img}
	if b.Dx() > 1600 {
		tries = append(tries, half(img))
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	for _, im := range tries {
		bmp, err := gozxing.NewBinaryBitmapFromImage(im)
		if err != nil {
			continue
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
		if err == nil {
			return res.GetText(), true
		}
	}
	return "", false
}

// crop returns the part of img within r.
func crop(img image.Image, r image.Rectangle) image.Image {
	if s, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return img
}

// half scales img to half its size in grey, averaging each 2×2 block.
func half(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := 0; y < out.Rect.Dy(); y++ {
		for x := 0; x < out.Rect.Dx(); x++ {
			var sum uint32
			for dy := 0; dy < 2; dy++ {
				for dx := 0; dx < 2; dx++ {
					r, g, bl, _ := img.At(b.Min.X+2*x+dx, b.Min.Y+2*y+dy).RGBA()
					sum += (299*r + 587*g + 114*bl) / 1000 >> 8
				}
			}
			out.Pix[y*out.Stride+x] = uint8(sum / 4)
		}
	}
	return out
}
