package signedpdf

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
)

// Limits for ScanImages: a page scanned at 600 dpi in colour is about 35 million pixels;
// the decoded images are held in memory together.
const (
	maxImagePixels = 40 << 20
	maxTotalPixels = 80 << 20
	maxFormDepth   = 4 // form XObjects inside form XObjects, where scanners nest images
)

// ScanImages returns the images drawn on the pages of a scanned PDF, in page order, at
// most max of them (max <= 0 means no limit but the pixel limits), so that the caller can
// look for a confirmation's QR code on a scanned paper copy. It reads the image XObjects
// in each page's resources (and in form XObjects there): DCTDecode (JPEG) images, and
// FlateDecode or unfiltered images of 1 or 8 bits per component in DeviceGray or
// DeviceRGB (or ICCBased with 1 or 3 components). Other images (CCITT, JBIG2, JPX,
// indexed colour, masks) are skipped, as are images over the pixel limits. An error is a
// *Rejection when the file cannot be read at all.
func ScanImages(file []byte, max int) (imgs []image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			imgs, err = nil, reject(ReasonMalformed, "internal error reading the file: %v", r)
		}
	}()
	switch {
	case len(file) == 0:
		return nil, reject(ReasonEmpty, "")
	case !bytes.HasPrefix(file, []byte("%PDF-")):
		return nil, reject(ReasonNotPDF, "no %%PDF- header")
	}
	d, _, err := open(file, &budget{})
	if err != nil {
		return nil, readErr("xref", err)
	}
	cv, err := d.resolve(d.trailer["Root"])
	if err != nil {
		return nil, readErr("catalog", err)
	}
	cat, ok := cv.(Dict)
	if !ok {
		return nil, reject(ReasonMalformed, "no catalog")
	}
	tree, err := walkPages(d, cat["Pages"])
	if err != nil {
		return nil, readErr("page tree", err)
	}
	s := &scanner{d: d, max: max, seen: map[Ref]bool{}}
	for _, p := range tree.pages {
		res, err := s.pageResources(p)
		if err != nil {
			return nil, readErr("page resources", err)
		}
		if err := s.resources(res, 0); err != nil {
			if errors.Is(err, errEnough) {
				break
			}
			return nil, readErr("images", err)
		}
	}
	return s.out, nil
}

var errEnough = errors.New("enough images")

type scanner struct {
	d      *doc
	max    int
	out    []image.Image
	pixels int
	seen   map[Ref]bool
}

// pageResources returns a page's /Resources, inherited from its ancestors if need be.
func (s *scanner) pageResources(p Ref) (Dict, error) {
	v, err := s.d.resolve(p)
	if err != nil {
		return nil, err
	}
	for i := 0; i < maxWalkDepth; i++ {
		n, ok := v.(Dict)
		if !ok {
			return nil, nil
		}
		if r, ok := n["Resources"]; ok {
			rv, err := s.d.resolve(r)
			if err != nil {
				return nil, err
			}
			res, _ := rv.(Dict)
			return res, nil
		}
		if v, err = s.d.resolve(n["Parent"]); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (s *scanner) resources(res Dict, depth int) error {
	xv, err := s.d.resolve(res["XObject"])
	if err != nil {
		return err
	}
	xo, _ := xv.(Dict)
	for _, k := range sortedKeys(xo) {
		r, isRef := xo[k].(Ref)
		if isRef {
			if s.seen[r] {
				continue
			}
			s.seen[r] = true
		}
		v, err := s.d.resolve(xo[k])
		if err != nil {
			return err
		}
		st, ok := v.(Stream)
		if !ok {
			continue
		}
		switch st.Dict["Subtype"] {
		case Name("Image"):
			img, err := s.image(st)
			if err != nil {
				if errors.Is(err, errLimit) {
					return err
				}
				continue // an image we cannot read is not a reason to read no others
			}
			if img == nil {
				continue
			}
			s.out = append(s.out, img)
			if s.max > 0 && len(s.out) >= s.max {
				return errEnough
			}
		case Name("Form"):
			if depth >= maxFormDepth {
				continue
			}
			rv, err := s.d.resolve(st.Dict["Resources"])
			if err != nil {
				return err
			}
			if fr, ok := rv.(Dict); ok {
				if err := s.resources(fr, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// image decodes one image XObject, or returns nil for a kind it skips.
func (s *scanner) image(st Stream) (image.Image, error) {
	d := s.d
	w, h := intOr(mustResolve(d, st.Dict["Width"]), 0), intOr(mustResolve(d, st.Dict["Height"]), 0)
	if w <= 0 || h <= 0 || w > 1<<16 || h > 1<<16 {
		return nil, errors.New("bad image size")
	}
	if w*h > maxImagePixels || s.pixels+w*h > maxTotalPixels {
		return nil, nil
	}
	if m, _ := mustResolve(d, st.Dict["ImageMask"]).(bool); m {
		return nil, nil
	}
	f := mustResolve(d, st.Dict["Filter"])
	if a, ok := f.(Array); ok && len(a) == 1 {
		f = mustResolve(d, a[0])
	}
	switch f {
	case Name("DCTDecode"), Name("DCT"):
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(st.Raw))
		if err != nil {
			return nil, err
		}
		if cfg.Width*cfg.Height > maxImagePixels || s.pixels+cfg.Width*cfg.Height > maxTotalPixels {
			return nil, nil
		}
		img, err := jpeg.Decode(bytes.NewReader(st.Raw))
		if err != nil {
			return nil, err
		}
		s.pixels += cfg.Width * cfg.Height
		return img, nil
	case nil, Name("FlateDecode"), Name("Fl"):
	default:
		return nil, nil
	}
	ncomp := components(d, mustResolve(d, st.Dict["ColorSpace"]))
	bpc := intOr(mustResolve(d, st.Dict["BitsPerComponent"]), 8)
	if (ncomp != 1 && ncomp != 3) || (bpc != 8 && !(bpc == 1 && ncomp == 1)) {
		return nil, nil
	}
	data, err := d.decode(st)
	if err != nil {
		return nil, err
	}
	stride := (w*ncomp*bpc + 7) / 8
	if len(data) < stride*h {
		return nil, fmt.Errorf("image data short: %d bytes for %dx%d", len(data), w, h)
	}
	// A /Decode of [1 0] inverts a grey image, as scanners write black-is-1 bitmaps.
	invert := false
	if dec, ok := mustResolve(d, st.Dict["Decode"]).(Array); ok && ncomp == 1 && len(dec) == 2 {
		if x, ok := dec[0].(int64); ok && x == 1 {
			invert = true
		}
	}
	s.pixels += w * h
	r := image.Rect(0, 0, w, h)
	if ncomp == 3 {
		img := image.NewRGBA(r)
		for y := 0; y < h; y++ {
			row := data[y*stride:]
			for x := 0; x < w; x++ {
				img.SetRGBA(x, y, color.RGBA{row[3*x], row[3*x+1], row[3*x+2], 0xff})
			}
		}
		return img, nil
	}
	img := image.NewGray(r)
	for y := 0; y < h; y++ {
		row := data[y*stride:]
		for x := 0; x < w; x++ {
			var v byte
			if bpc == 8 {
				v = row[x]
			} else if row[x/8]&(0x80>>(x%8)) != 0 {
				v = 0xff
			}
			if invert {
				v = 0xff - v
			}
			img.Pix[y*img.Stride+x] = v
		}
	}
	return img, nil
}

// components is the number of colour components of a colour space this package decodes,
// or 0.
func components(d *doc, cs any) int {
	switch cs {
	case Name("DeviceGray"), Name("G"), Name("CalGray"):
		return 1
	case Name("DeviceRGB"), Name("RGB"), Name("CalRGB"):
		return 3
	}
	if a, ok := cs.(Array); ok && len(a) == 2 {
		switch mustResolve(d, a[0]) {
		case Name("ICCBased"):
			if st, ok := mustResolve(d, a[1]).(Stream); ok {
				return intOr(mustResolve(d, st.Dict["N"]), 0)
			}
		case Name("CalGray"):
			return 1
		case Name("CalRGB"):
			return 3
		}
	}
	return 0
}

// mustResolve resolves v, reading an unreadable object as null: for optional values where
// a broken one means the image is skipped.
func mustResolve(d *doc, v any) any {
	r, err := d.resolve(v)
	if err != nil {
		return nil
	}
	return r
}
