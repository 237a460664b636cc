package signedpdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"sort"
)

// Limits on hostile input. A confirmation is one page and a signer adds a few hundred
// kilobytes; these are far above that and far below what would hurt the service.
const (
	maxInflate    = 32 << 20 // bytes decompressed per call, all streams together
	maxSections   = 64       // xref sections in a /Prev chain
	maxEntries    = 1 << 20  // xref entries, all sections together
	maxObjStm     = 1 << 16  // objects in one object stream
	maxResolves   = 1 << 20  // objects resolved per call
	maxCompare    = 1 << 21  // steps of deep comparison per call
	maxWalkDepth  = 256      // references followed in one comparison chain
	maxPages      = 10000
	maxFieldDepth = 32
	maxNested     = 16 // objects read to read one: /Length, object stream, its /Length
)

// errLimit marks an input that exceeds one of the limits above.
var errLimit = errors.New("limit exceeded")

func limitErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errLimit, fmt.Sprintf(format, a...))
}

// budget is shared by everything one call reads, so that the limits hold for the call
// and not per object.
type budget struct {
	inflated int
	resolves int
	compare  int
	entries  int
}

// xentry is one cross-reference entry.
type xentry struct {
	kind byte // 0 free, 1 at an offset, 2 in an object stream
	off  int  // kind 1: file offset; kind 2: the object stream's number
	gen  int  // kind 1: generation; kind 2: index in the stream
}

// section is one cross-reference section with its trailer.
type section struct {
	off     int
	entries map[int]xentry
	trailer Dict
}

// doc is a resolved state of a file: a cross-reference map and a trailer.
type doc struct {
	b       []byte
	xref    map[int]xentry
	trailer Dict
	bud     *budget
	cache   map[int]any
	objstm  map[int]*objStream
	busy    map[int]bool // objects being resolved, to break /Length and stream cycles
}

type objStream struct {
	data []byte
	offs map[int]int // object number → offset in data
	nums []int       // object numbers in stream order
}

func newDoc(b []byte, bud *budget) *doc {
	return &doc{b: b, xref: map[int]xentry{}, bud: bud, cache: map[int]any{}, objstm: map[int]*objStream{}, busy: map[int]bool{}}
}

// startxref finds the offset after the last "startxref" near the end of b.
func startxref(b []byte) (int, error) {
	tail := b
	if len(tail) > 2048 {
		tail = tail[len(tail)-2048:]
	}
	i := findLast(tail, "startxref")
	if i < 0 {
		return 0, errors.New("no startxref at the end of the file")
	}
	p := &parser{b: tail, pos: i + len("startxref")}
	n, ok := p.integer()
	if !ok || n >= int64(len(b)) {
		return 0, errors.New("startxref is not an offset in the file")
	}
	return int(n), nil
}

// readSection reads the cross-reference section at off: a classic table with its
// trailer, or a cross-reference stream. A hybrid file's /XRefStm is read as part of the
// same section, its entries applying where the table has none.
func (d *doc) readSection(off int, hybrid bool) (*section, error) {
	if off < 0 || off >= len(d.b) {
		return nil, fmt.Errorf("xref offset %d outside the file", off)
	}
	p := &parser{b: d.b, pos: off}
	if p.acceptKeyword("xref") {
		if hybrid {
			return nil, errors.New("/XRefStm points at a table")
		}
		s, err := d.readTable(p, off)
		if err != nil {
			return nil, err
		}
		if x, ok := s.trailer["XRefStm"]; ok {
			xo, ok := x.(int64)
			if !ok || xo < 0 || xo >= int64(len(d.b)) {
				return nil, errors.New("bad /XRefStm")
			}
			hs, err := d.readSection(int(xo), true)
			if err != nil {
				return nil, fmt.Errorf("/XRefStm: %w", err)
			}
			for n, e := range hs.entries {
				if te, ok := s.entries[n]; !ok || te.kind == 0 {
					s.entries[n] = e
				}
			}
		}
		return s, nil
	}
	return d.readXrefStream(off)
}

func (d *doc) readTable(p *parser, off int) (*section, error) {
	s := &section{off: off, entries: map[int]xentry{}}
	for {
		if p.acceptKeyword("trailer") {
			break
		}
		start, ok1 := p.integer()
		count, ok2 := p.integer()
		if !ok1 || !ok2 {
			return nil, p.fail("bad xref subsection header")
		}
		if start > maxObjNum || count > maxObjNum || start+count > maxObjNum+1 {
			return nil, p.fail("xref subsection out of range")
		}
		d.bud.entries += int(count)
		if d.bud.entries > maxEntries {
			return nil, limitErr("more than %d xref entries", maxEntries)
		}
		for i := int64(0); i < count; i++ {
			o, ok1 := p.integer()
			g, ok2 := p.integer()
			kw := p.keyword()
			if !ok1 || !ok2 || len(kw) != 1 || (kw[0] != 'n' && kw[0] != 'f') || g > 65535 || o > int64(len(d.b)) {
				return nil, p.fail("bad xref entry")
			}
			n := int(start + i)
			if kw[0] == 'f' {
				s.entries[n] = xentry{kind: 0}
			} else {
				s.entries[n] = xentry{kind: 1, off: int(o), gen: int(g)}
			}
		}
	}
	t, err := p.object(0)
	if err != nil {
		return nil, fmt.Errorf("trailer: %w", err)
	}
	td, ok := t.(Dict)
	if !ok {
		return nil, errors.New("trailer is not a dictionary")
	}
	s.trailer = td
	return s, nil
}

func (d *doc) readXrefStream(off int) (*section, error) {
	obj, err := readIndirect(d.b, off, nil, directLength)
	if err != nil {
		return nil, fmt.Errorf("xref stream: %w", err)
	}
	st, ok := obj.val.(Stream)
	if !ok || st.Dict["Type"] != Name("XRef") {
		return nil, errors.New("startxref points at neither a table nor an xref stream")
	}
	data, err := d.decode(st)
	if err != nil {
		return nil, fmt.Errorf("xref stream: %w", err)
	}
	w, ok := st.Dict["W"].(Array)
	if !ok || len(w) != 3 {
		return nil, errors.New("xref stream: bad /W")
	}
	var ws [3]int
	rowLen := 0
	for i, x := range w {
		n, ok := x.(int64)
		if !ok || n < 0 || n > 8 {
			return nil, errors.New("xref stream: bad /W")
		}
		ws[i] = int(n)
		rowLen += int(n)
	}
	if rowLen == 0 {
		return nil, errors.New("xref stream: bad /W")
	}
	size, ok := st.Dict["Size"].(int64)
	if !ok || size < 0 || size > maxObjNum+1 {
		return nil, errors.New("xref stream: bad /Size")
	}
	index := Array{int64(0), size}
	if x, ok := st.Dict["Index"]; ok {
		if index, ok = x.(Array); !ok || len(index)%2 != 0 {
			return nil, errors.New("xref stream: bad /Index")
		}
	}
	s := &section{off: off, entries: map[int]xentry{}, trailer: st.Dict}
	row := 0
	for i := 0; i < len(index); i += 2 {
		start, ok1 := index[i].(int64)
		count, ok2 := index[i+1].(int64)
		if !ok1 || !ok2 || start < 0 || count < 0 || start > maxObjNum || count > maxObjNum || start+count > maxObjNum+1 {
			return nil, errors.New("xref stream: bad /Index")
		}
		if int64(row+int(count))*int64(rowLen) > int64(len(data)) {
			return nil, errors.New("xref stream: /Index asks for more rows than the data holds")
		}
		d.bud.entries += int(count)
		if d.bud.entries > maxEntries {
			return nil, limitErr("more than %d xref entries", maxEntries)
		}
		for j := int64(0); j < count; j++ {
			r := data[row*rowLen : (row+1)*rowLen]
			row++
			f := [3]uint64{1, 0, 0} // a missing type field means type 1
			k := 0
			for fi := 0; fi < 3; fi++ {
				if ws[fi] == 0 {
					continue
				}
				var v uint64
				for _, c := range r[k : k+ws[fi]] {
					v = v<<8 | uint64(c)
				}
				f[fi] = v
				k += ws[fi]
			}
			n := int(start + j)
			switch f[0] {
			case 0:
				s.entries[n] = xentry{kind: 0}
			case 1:
				if f[1] >= uint64(len(d.b)) || f[2] > 65535 {
					return nil, fmt.Errorf("xref stream: object %d: bad offset", n)
				}
				s.entries[n] = xentry{kind: 1, off: int(f[1]), gen: int(f[2])}
			case 2:
				if f[1] > maxObjNum || f[2] > maxObjStm {
					return nil, fmt.Errorf("xref stream: object %d: bad object stream entry", n)
				}
				s.entries[n] = xentry{kind: 2, off: int(f[1]), gen: int(f[2])}
			default:
				// Types above 2 are reserved and mean a null object.
			}
		}
	}
	return s, nil
}

// directLength accepts only a direct /Length, as cross-reference streams must have.
func directLength(v any) (int, error) {
	n, ok := v.(int64)
	if !ok || n < 0 || n > 1<<40 {
		return 0, errors.New("not a direct non-negative integer")
	}
	return int(n), nil
}

// chain reads the /Prev chain from the section at off, newest first, stopping before
// the section at stop (use -1 to read to the end).
func (d *doc) chain(off, stop int) ([]*section, error) {
	var out []*section
	seen := map[int]bool{}
	for off != stop {
		if seen[off] {
			return nil, errors.New("/Prev chain loops")
		}
		seen[off] = true
		if len(out) >= maxSections {
			return nil, limitErr("more than %d xref sections", maxSections)
		}
		s, err := d.readSection(off, false)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		prev, ok := s.trailer["Prev"]
		if !ok {
			if stop >= 0 {
				return nil, errors.New("the /Prev chain does not reach the issued revision")
			}
			break
		}
		p, ok := prev.(int64)
		if !ok || p < 0 || p >= int64(len(d.b)) {
			return nil, errors.New("bad /Prev")
		}
		off = int(p)
	}
	return out, nil
}

// apply merges sections, oldest last in the slice, into d; newer entries and trailer
// keys override older ones (a trailer that omits /Info keeps the older one, as readers do).
func (d *doc) apply(secs []*section) {
	for i := len(secs) - 1; i >= 0; i-- {
		for n, e := range secs[i].entries {
			d.xref[n] = e
		}
		if d.trailer == nil {
			d.trailer = Dict{}
		}
		for k, v := range secs[i].trailer {
			d.trailer[k] = v
		}
	}
}

// open resolves the state of a whole file from its last startxref.
func open(b []byte, bud *budget) (*doc, []*section, error) {
	off, err := startxref(b)
	if err != nil {
		return nil, nil, err
	}
	d := newDoc(b, bud)
	secs, err := d.chain(off, -1)
	if err != nil {
		return nil, nil, err
	}
	d.apply(secs)
	return d, secs, nil
}

// resolve follows references until a direct object; a missing or free object is null.
func (d *doc) resolve(v any) (any, error) {
	for i := 0; i < 32; i++ {
		r, ok := v.(Ref)
		if !ok {
			return v, nil
		}
		var err error
		if v, err = d.get(r); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("reference chain too long")
}

// get returns object r.
func (d *doc) get(r Ref) (any, error) {
	if v, ok := d.cache[r.Num]; ok {
		return v, nil
	}
	e, ok := d.xref[r.Num]
	if !ok || e.kind == 0 {
		return nil, nil
	}
	if d.busy[r.Num] {
		return nil, fmt.Errorf("object %d refers to itself while being read", r.Num)
	}
	d.bud.resolves++
	if d.bud.resolves > maxResolves {
		return nil, limitErr("more than %d objects read", maxResolves)
	}
	// Reading one object can need another (a stream's indirect /Length, an object
	// stream); a chain of such needs would otherwise recurse as deep as the file is long.
	if len(d.busy) >= maxNested {
		return nil, limitErr("more than %d objects needed to read one", maxNested)
	}
	d.busy[r.Num] = true
	defer delete(d.busy, r.Num)
	var v any
	switch e.kind {
	case 1:
		if e.gen != r.Gen {
			return nil, nil
		}
		obj, err := readIndirect(d.b, e.off, nil, d.length)
		if err != nil {
			return nil, fmt.Errorf("object %d: %w", r.Num, err)
		}
		if obj.ref != r {
			return nil, fmt.Errorf("object %d: the xref points at object %d %d", r.Num, obj.ref.Num, obj.ref.Gen)
		}
		v = obj.val
	case 2:
		if r.Gen != 0 {
			return nil, nil
		}
		os, err := d.objStream(e.off)
		if err != nil {
			return nil, fmt.Errorf("object %d: object stream %d: %w", r.Num, e.off, err)
		}
		o, ok := os.offs[r.Num]
		if !ok {
			return nil, fmt.Errorf("object %d: not in object stream %d", r.Num, e.off)
		}
		p := &parser{b: os.data, pos: o}
		if v, err = p.object(0); err != nil {
			return nil, fmt.Errorf("object %d in object stream %d: %w", r.Num, e.off, err)
		}
		if _, isRef := v.(Ref); isRef {
			return nil, fmt.Errorf("object %d in object stream %d is a bare reference", r.Num, e.off)
		}
	}
	d.cache[r.Num] = v
	return v, nil
}

// length resolves a stream's /Length.
func (d *doc) length(v any) (int, error) {
	v, err := d.resolve(v)
	if err != nil {
		return 0, err
	}
	return directLength(v)
}

func (d *doc) objStream(num int) (*objStream, error) {
	if os, ok := d.objstm[num]; ok {
		if os == nil {
			return nil, errors.New("unreadable")
		}
		return os, nil
	}
	d.objstm[num] = nil
	e, ok := d.xref[num]
	if !ok || e.kind != 1 {
		return nil, errors.New("not a stream at an offset")
	}
	v, err := d.get(Ref{num, e.gen})
	if err != nil {
		return nil, err
	}
	st, ok := v.(Stream)
	if !ok || st.Dict["Type"] != Name("ObjStm") {
		return nil, errors.New("not an object stream")
	}
	n, ok1 := st.Dict["N"].(int64)
	first, ok2 := st.Dict["First"].(int64)
	if !ok1 || !ok2 || n < 0 || n > maxObjStm || first < 0 {
		return nil, errors.New("bad /N or /First")
	}
	data, err := d.decode(st)
	if err != nil {
		return nil, err
	}
	if first > int64(len(data)) {
		return nil, errors.New("/First past the end")
	}
	os := &objStream{data: data, offs: map[int]int{}}
	p := &parser{b: data[:first]}
	for i := int64(0); i < n; i++ {
		on, ok1 := p.integer()
		oo, ok2 := p.integer()
		if !ok1 || !ok2 || on > maxObjNum || first+oo >= int64(len(data)) {
			return nil, errors.New("bad object stream header")
		}
		if _, dup := os.offs[int(on)]; dup {
			return nil, fmt.Errorf("object %d twice", on)
		}
		os.offs[int(on)] = int(first + oo)
		os.nums = append(os.nums, int(on))
	}
	d.objstm[num] = os
	return os, nil
}

// decode returns a stream's decoded bytes. Only what this package needs is supported:
// no filter, or FlateDecode with or without a PNG or TIFF predictor.
func (d *doc) decode(st Stream) ([]byte, error) {
	f, err := d.resolve(st.Dict["Filter"])
	if err != nil {
		return nil, err
	}
	parms, err := d.resolve(st.Dict["DecodeParms"])
	if err != nil {
		return nil, err
	}
	if a, ok := f.(Array); ok {
		if len(a) > 1 {
			return nil, errors.New("more than one filter")
		}
		f = nil
		if len(a) == 1 {
			f = a[0]
		}
		if pa, ok := parms.(Array); ok {
			parms = nil
			if len(pa) == 1 {
				if parms, err = d.resolve(pa[0]); err != nil {
					return nil, err
				}
			}
		}
	}
	switch f {
	case nil:
		return st.Raw, nil
	case Name("FlateDecode"), Name("Fl"):
	default:
		return nil, fmt.Errorf("unsupported filter %v", f)
	}
	out, err := d.inflate(st.Raw)
	if err != nil {
		return nil, err
	}
	pd, _ := parms.(Dict)
	return unpredict(out, pd)
}

func (d *doc) inflate(raw []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("flate: %w", err)
	}
	left := maxInflate - d.bud.inflated
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(zr, int64(left)+1))
	d.bud.inflated += int(n)
	if n > int64(left) {
		return nil, limitErr("more than %d bytes decompressed", maxInflate)
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("flate: %w", err)
	}
	return buf.Bytes(), nil
}

// unpredict undoes a PNG (10-15) or TIFF (2) predictor.
func unpredict(b []byte, parms Dict) ([]byte, error) {
	pred := intOr(parms["Predictor"], 1)
	if pred == 1 {
		return b, nil
	}
	colors := intOr(parms["Colors"], 1)
	bpc := intOr(parms["BitsPerComponent"], 8)
	cols := intOr(parms["Columns"], 1)
	if colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) || cols < 1 || cols > 1<<20 {
		return nil, errors.New("bad predictor parameters")
	}
	bpp := (colors*bpc + 7) / 8
	rowLen := (colors*bpc*cols + 7) / 8
	if rowLen >= len(b) {
		// Not even one row: nothing to undo, and no reason to allocate a row buffer
		// as long as hostile parameters ask.
		return nil, errors.New("predictor rows longer than the data")
	}
	switch {
	case pred == 2:
		if bpc != 8 {
			return nil, errors.New("TIFF predictor with other than 8 bits")
		}
		for r := 0; r+rowLen <= len(b); r += rowLen {
			for i := bpp; i < rowLen; i++ {
				b[r+i] += b[r+i-bpp]
			}
		}
		return b, nil
	case pred >= 10 && pred <= 15:
		out := make([]byte, 0, len(b)/(rowLen+1)*rowLen)
		prev := make([]byte, rowLen)
		for r := 0; r+rowLen+1 <= len(b); r += rowLen + 1 {
			ft := b[r]
			row := b[r+1 : r+1+rowLen]
			for i := range row {
				var a, c byte
				if i >= bpp {
					a = row[i-bpp]
					c = prev[i-bpp]
				}
				up := prev[i]
				switch ft {
				case 0:
				case 1:
					row[i] += a
				case 2:
					row[i] += up
				case 3:
					row[i] += byte((int(a) + int(up)) / 2)
				case 4:
					row[i] += paeth(a, up, c)
				default:
					return nil, fmt.Errorf("bad PNG filter type %d", ft)
				}
			}
			out = append(out, row...)
			prev = row
		}
		return out, nil
	}
	return nil, fmt.Errorf("unsupported predictor %d", pred)
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func intOr(v any, def int) int {
	if n, ok := v.(int64); ok && n >= -1<<31 && n < 1<<31 {
		return int(n)
	}
	return def
}

// sortedKeys returns a dictionary's keys in order, for deterministic messages.
func sortedKeys(ds ...Dict) []Name {
	seen := map[Name]bool{}
	var ks []Name
	for _, d := range ds {
		for k := range d {
			if !seen[k] {
				seen[k] = true
				ks = append(ks, k)
			}
		}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}
