package pdf

import (
	"testing"
)

// BenchmarkConfirmation compares the renderer with the naive baseline in the same run,
// on one core and on all of them; "docs/s" is documents per second.
//
//	go test -run '^$' -bench Confirmation -benchtime 3s -count 3 ./pdf/
func BenchmarkConfirmation(b *testing.B) {
	for _, tc := range []struct {
		name string
		r    *Renderer
	}{{"naive", NewNaive()}, {"code-pages", New()}} {
		p := votePaper()
		if _, err := tc.r.Confirmation(p); err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.r.Confirmation(p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
		b.Run(tc.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				p := votePaper()
				for pb.Next() {
					if _, err := tc.r.Confirmation(p); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
