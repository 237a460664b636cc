package pdf

// NewNaive returns a renderer that gives gofpdf the three full Liberation Serif files as
// Unicode fonts for every document, as a straightforward gofpdf program does. It draws
// the same layout as New and exists as the baseline the benchmarks measure New against
// (docs/benchmarks.md); the service never uses it.
func NewNaive() *Renderer { return &Renderer{fonts: unicodeFonts{}} }
