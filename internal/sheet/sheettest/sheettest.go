// Package sheettest builds the large and hostile spreadsheets that the importers' tests
// feed them, and measures what reading one costs in memory.
package sheettest

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// Usage is what a function cost in memory.
type Usage struct {
	// Allocated counts the bytes allocated while it ran, freed or not. It bounds the
	// peak from above and, unlike the peak, does not depend on when the collector ran.
	Allocated uint64
	// Peak is the most heap held at once above what was held before it ran, as sampled
	// every millisecond; short spikes between samples can be missed.
	Peak uint64
}

func (u Usage) String() string {
	return fmt.Sprintf("allocated %.1f MiB, peak heap %.1f MiB", float64(u.Allocated)/(1<<20), float64(u.Peak)/(1<<20))
}

// Measure runs f and returns what it cost. Nothing else should run meanwhile: tests that
// measure must not call t.Parallel.
func Measure(f func()) Usage {
	// The peak counts garbage not yet collected, which depends on the collector's pace:
	// on a busy machine, or under the race detector, it fell behind by tens of MiB. A low
	// GC percentage keeps the heap near what f holds live, which is what the limits bound.
	defer debug.SetGCPercent(debug.SetGCPercent(20))
	samples := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	metrics.Read(samples)
	allocs, base := samples[0].Value.Uint64(), samples[1].Value.Uint64()

	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	f()
	metrics.Read(samples)
	close(done)
	wg.Wait()
	peak = max(peak, samples[1].Value.Uint64())
	u := Usage{Allocated: samples[0].Value.Uint64() - allocs}
	if peak > base {
		u.Peak = peak - base
	}
	return u
}

// The parts of a workbook a test writes as XML, and how they start and end.
const (
	SheetPart         = "xl/worksheets/sheet1.xml"
	SharedStringsPart = "xl/sharedStrings.xml"
	xmlHead           = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`
	SheetHead         = xmlHead + `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`
	SheetTail         = `</sheetData></worksheet>`
	SharedStringsHead = xmlHead + `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`
	SharedStringsTail = `</sst>`
)

// Sheet returns a workbook whose first sheet's rows are the XML rows, written as they
// are: <row><c t="inlineStr"><is><t>phone</t></is></c></row>.
func Sheet(t testing.TB, rows ...string) []byte {
	t.Helper()
	return Replace(t, XLSX(t, []any{"x"}, nil, 0), SheetPart, Repeat(SheetHead+strings.Join(rows, ""), "", SheetTail, 0))
}

// InlineRow returns the XML of a row of text cells, as inline strings.
func InlineRow(cells ...string) string {
	var b strings.Builder
	b.WriteString("<row>")
	for _, c := range cells {
		b.WriteString(`<c t="inlineStr"><is><t>`)
		xml.EscapeText(&b, []byte(c))
		b.WriteString(`</t></is></c>`)
	}
	b.WriteString("</row>")
	return b.String()
}

// XLSX writes a workbook with header in row 1 and then n copies of row, with excelize's
// StreamWriter as a program exporting a large sheet would.
func XLSX(t testing.TB, header, row []any, n int) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	w, err := x.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SetRow("A1", header); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := w.SetRow(cell, row); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := x.Write(&b, excelize.Options{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Replace returns a copy of the workbook xlsx with its part name written by write
// (added if it has none), deflated as tightly as it goes: a ZIP bomb, when write writes
// much of the same.
func Replace(t testing.TB, xlsx []byte, name string, write func(w io.Writer) error) []byte {
	t.Helper()
	r, err := zip.NewReader(bytes.NewReader(xlsx), int64(len(xlsx)))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	replaced := false
	put := func() {
		f, err := w.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := write(f); err != nil {
			t.Fatal(err)
		}
		replaced = true
	}
	for _, f := range r.File {
		if f.Name == name {
			put()
			continue
		}
		if err := w.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	if !replaced {
		put()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Repeat writes head, then s n times, then tail.
func Repeat(head, s, tail string, n int) func(w io.Writer) error {
	return func(w io.Writer) error {
		if _, err := io.WriteString(w, head); err != nil {
			return err
		}
		if s == "" {
			n = 0
		}
		chunk := bytes.Repeat([]byte(s), max(1, 64<<10/max(1, len(s))))
		per := len(chunk) / max(1, len(s))
		for n > 0 {
			k := min(n, per)
			if _, err := w.Write(chunk[:k*len(s)]); err != nil {
				return err
			}
			n -= k
		}
		_, err := io.WriteString(w, tail)
		return err
	}
}

// Stored returns the smallest workbook the readers take, its first sheet's rows the
// table's text cells (inline strings, the empty ones left out): its parts are stored,
// not deflated, and carry no CRC-32, so that a fuzzer changing a cell's text in place
// gives a workbook that still opens. A seed of a few hundred bytes, where one written by
// Excel or excelize is 10 KiB or more of parts nobody reads.
func Stored(t testing.TB, table [][]string) []byte {
	t.Helper()
	var rows strings.Builder
	for i, r := range table {
		fmt.Fprintf(&rows, `<row r="%d">`, i+1)
		for j, c := range r {
			if c == "" {
				continue
			}
			ref, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&rows, `<c r="%s" t="inlineStr"><is><t>`, ref)
			xml.EscapeText(&rows, []byte(c))
			rows.WriteString(`</t></is></c>`)
		}
		rows.WriteString("</row>")
	}
	const ns = `xmlns="http://schemas.openxmlformats.org/package/2006/relationships"`
	const rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	parts := [][2]string{
		{"_rels/.rels", `<Relationships ` + ns + `><Relationship Id="rId1" Type="` + rel + `/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="` + rel + `"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<Relationships ` + ns + `><Relationship Id="rId1" Type="` + rel + `/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`},
		{SheetPart, SheetHead + rows.String() + SheetTail},
	}
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	for _, p := range parts {
		f, err := w.CreateRaw(&zip.FileHeader{Name: p[0], Method: zip.Store,
			CompressedSize64: uint64(len(p[1])), UncompressedSize64: uint64(len(p[1]))})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(f, p[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
