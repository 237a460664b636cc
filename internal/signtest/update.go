package signtest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"slices"
)

// AppendUpdate appends an incremental update to file that defines the given objects (new
// numbers, or new definitions of existing ones, all generation 0) with the given bodies
// (what goes between "N 0 obj" and "endobj"), followed by a classic cross-reference
// section and a trailer carrying /Size, /Root, /Info and /Prev from the last trailer.
// file is left unchanged and is a prefix of the result. It panics if file has no readable
// trailer: its callers build test files, and a bad one is a bug in the test.
func AppendUpdate(file []byte, objects map[int][]byte) []byte {
	out, tr, offsets := appendObjects(file, objects)
	nums := sortedKeys(offsets)
	xref := len(out)
	out = append(out, "xref\n"...)
	for _, run := range runs(nums) {
		out = fmt.Appendf(out, "%d %d\n", run[0], len(run))
		for _, n := range run {
			// Each entry is exactly 20 bytes: the end of line is " \n".
			out = fmt.Appendf(out, "%010d 00000 n \n", offsets[n])
		}
	}
	out = append(out, "trailer\n"...)
	out = append(out, trailerDict(tr, max(tr.Size, nums[len(nums)-1]+1), "")...)
	return fmt.Appendf(out, "\nstartxref\n%d\n%%%%EOF\n", xref)
}

// AppendUpdateXRefStream is AppendUpdate with a cross-reference stream (PDF 1.5) instead
// of a classic table: an object of /Type /XRef, FlateDecode, /W [1 4 2], with an /Index
// listing the new objects and itself.
func AppendUpdateXRefStream(file []byte, objects map[int][]byte) []byte {
	out, tr, offsets := appendObjects(file, objects)
	nums := sortedKeys(offsets)
	self := max(tr.Size, nums[len(nums)-1]+1)
	offsets[self] = len(out)
	nums = append(nums, self)
	var rows bytes.Buffer
	index := []byte("[")
	for _, run := range runs(nums) {
		index = fmt.Appendf(index, "%d %d ", run[0], len(run))
		for _, n := range run {
			var row [7]byte
			row[0] = 1 // in use, at a byte offset
			binary.BigEndian.PutUint32(row[1:5], uint32(offsets[n]))
			rows.Write(row[:]) // generation 0 in the last two bytes
		}
	}
	index = append(bytes.TrimSpace(index), ']')
	dict := trailerDict(tr, self+1, "/Type /XRef /W [1 4 2] /Index "+string(index)+" /Filter /FlateDecode")
	out = fmt.Appendf(out, "%d 0 obj\n%s\nendobj\n", self, StreamObject(string(dict[2:len(dict)-2]), deflate(rows.Bytes())))
	return fmt.Appendf(out, "startxref\n%d\n%%%%EOF\n", offsets[self])
}

// StreamObject returns the body of a stream object: a dictionary with the given entries
// (such as "/Filter /FlateDecode") and the right /Length, then the data as is.
func StreamObject(entries string, data []byte) []byte {
	b := fmt.Appendf(nil, "<< %s /Length %d >>\nstream\n", entries, len(data))
	b = append(b, data...)
	return append(b, "\nendstream"...)
}

func appendObjects(file []byte, objects map[int][]byte) ([]byte, Trailer, map[int]int) {
	tr, err := ReadTrailer(file)
	if err != nil {
		panic("signtest: append an update: " + err.Error())
	}
	if len(objects) == 0 {
		panic("signtest: an update needs at least one object")
	}
	out := append([]byte(nil), file...)
	if out[len(out)-1] != '\n' && out[len(out)-1] != '\r' {
		out = append(out, '\n')
	}
	offsets := map[int]int{}
	for _, n := range sortedKeys(objects) {
		offsets[n] = len(out)
		out = fmt.Appendf(out, "%d 0 obj\n%s\nendobj\n", n, bytes.TrimSpace(objects[n]))
	}
	return out, tr, offsets
}

func trailerDict(tr Trailer, size int, extra string) []byte {
	b := []byte("<<")
	if extra != "" {
		b = append(b, " "+extra...)
	}
	b = fmt.Appendf(b, " /Size %d /Root %s", size, tr.Root)
	if tr.Info != "" {
		b = append(b, " /Info "+tr.Info...)
	}
	return fmt.Appendf(b, " /Prev %d >>", tr.StartXRef)
}

// runs splits ascending object numbers into runs of consecutive numbers, one
// cross-reference subsection each.
func runs(nums []int) [][]int {
	var out [][]int
	for i, n := range nums {
		if i == 0 || n != nums[i-1]+1 {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], n)
	}
	return out
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b) // writes to a bytes.Buffer do not fail
	w.Close()
	return buf.Bytes()
}
