package signtest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
)

// stampPNG is the picture a visible signature shows: a blue handwritten-like stroke on a
// transparent ground. pdfsign's own text appearance sets the name in Times-Roman without
// an encoding, so a Vietnamese name prints garbled ("Nguy`n Th, Hng Nhung"); a picture
// avoids that, as the CAs' signing apps do with their stamp images.
var stampPNG = sync.OnceValue(func() []byte {
	const w, h = 300, 125
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	ink := color.NRGBA{R: 0x1a, G: 0x2a, B: 0x8c, A: 0xff}
	for i := 0; i <= 4000; i++ {
		x := 20 + float64(i)*260/4000
		y := 62 + 30*math.Sin(x/17)*math.Cos(x/41) - (x-150)/12
		for dx := -1; dx <= 1; dx++ {
			for dy := -1; dy <= 1; dy++ {
				img.SetNRGBA(int(x)+dx, int(y)+dy, ink)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
})
