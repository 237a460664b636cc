package signtest

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
)

// ChangedText is the text ChangePageContent and AddAnnotation put on page 1: ASCII, so
// that it prints in the page's own subset fonts, whose bytes 0-126 are WinAnsi.
const ChangedText = "Khong tan thanh (sua sau khi ky)"

// FlipByte returns a copy of file with the byte at offset XORed with 1 (for example a digit
// of the Info dictionary's dates becomes another digit).
func FlipByte(file []byte, offset int) []byte {
	out := bytes.Clone(file)
	out[offset] ^= 1
	return out
}

// Truncate returns a copy of the first n bytes of file.
func Truncate(file []byte, n int) []byte {
	return bytes.Clone(file[:n])
}

// StripSignature returns a copy of a signed file with the hex digits of its last
// signature's /Contents all zero: the signature field and its byte range are still there,
// the signature is gone, as a tool that "removes" a signature in place leaves it. (The
// issued, never signed file is the other "no signature" case.) It panics if file has no
// /ByteRange.
func StripSignature(signed []byte) []byte {
	r, ok := ByteRange(signed)
	if !ok || r[1]+2 > r[2] || r[2] > len(signed) {
		panic("signtest: StripSignature: no usable /ByteRange")
	}
	out := bytes.Clone(signed)
	for i := r[1] + 1; i < r[2]-1; i++ {
		out[i] = '0'
	}
	return out
}

// ChangePageContent appends an update that redefines the object of page 1's content
// stream (keeping its number, so neither the page nor anything the signature covers is
// rewritten: the "shadow" change) with the original content followed by ChangedText
// printed in red in the free space above the signature block.
func ChangePageContent(file []byte) []byte {
	return AppendUpdate(file, PageContentUpdate(file))
}

// PageContentUpdate returns the objects of ChangePageContent's update, to be written with
// AppendUpdate or AppendUpdateXRefStream.
func PageContentUpdate(file []byte) map[int][]byte {
	page := mustPage(file)
	dict := dictOf(Object(file, page))
	contents, _ := Entry(dict, "Contents")
	num, ok := Ref(contents)
	if !ok {
		panic(fmt.Sprintf("signtest: page %d's /Contents is not one reference: %s", page, contents))
	}
	original := streamData(Object(file, num))
	font := firstFont(file, dict)
	data := fmt.Appendf(original, "\nq BT /%s 14 Tf 1 0 0 1 85 268 Tm 0.8 0 0 rg (%s) Tj ET Q\n", font, escapeASCII(ChangedText))
	return map[int][]byte{num: StreamObject("/Filter /FlateDecode", deflate(data))}
}

// AddAnnotation appends an update that adds a /FreeText annotation reading ChangedText to
// page 1, redefining the page with the annotation in its /Annots.
func AddAnnotation(file []byte) []byte {
	return AppendUpdate(file, AnnotationUpdate(file))
}

// AnnotationUpdate returns the objects of AddAnnotation's update.
func AnnotationUpdate(file []byte) map[int][]byte {
	tr, err := ReadTrailer(file)
	if err != nil {
		panic("signtest: " + err.Error())
	}
	page := mustPage(file)
	pageDict := dictOf(Object(file, page))
	annot, ap := tr.Size, tr.Size+1
	objects := map[int][]byte{
		annot: fmt.Appendf(nil, "<< /Type /Annot /Subtype /FreeText /Rect [85 140 330 165] /P %d 0 R /F 4 /Contents (%s) /DA (/Helv 12 Tf 0.8 0 0 rg) /AP << /N %d 0 R >> >>",
			page, escapeASCII(ChangedText), ap),
		ap: StreamObject("/Type /XObject /Subtype /Form /BBox [0 0 245 25] /Resources << /Font << /Helv << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>",
			fmt.Appendf(nil, "BT /Helv 12 Tf 0.8 0 0 rg 2 8 Td (%s) Tj ET", escapeASCII(ChangedText))),
	}
	ref := fmt.Appendf(nil, "%d 0 R", annot)
	annots, ok := Entry(pageDict, "Annots")
	switch n, isRef := Ref(annots); {
	case !ok:
		objects[page] = SetEntry(pageDict, "Annots", fmt.Appendf(nil, "[%s]", ref))
	case isRef: // an indirect array: redefine the array, not the page
		arr := bytes.TrimSpace(Object(file, n))
		objects[n] = fmt.Appendf(nil, "%s %s]", bytes.TrimSuffix(arr, []byte("]")), ref)
	default:
		objects[page] = SetEntry(pageDict, "Annots", fmt.Appendf(nil, "%s %s]", bytes.TrimSuffix(bytes.TrimSpace(annots), []byte("]")), ref))
	}
	return objects
}

// AppendAfterSigning appends an update after a signature that only redefines the Info
// dictionary (a new /ModDate and /Producer), as a viewer that saves incrementally does:
// nothing visible changes, but the signature no longer covers the whole file.
func AppendAfterSigning(signed []byte) []byte {
	return AppendUpdate(signed, InfoUpdate(signed))
}

// InfoUpdate returns the objects of AppendAfterSigning's update. It panics if the file
// has no Info dictionary (every file made here has one).
func InfoUpdate(file []byte) map[int][]byte {
	tr, err := ReadTrailer(file)
	if err != nil {
		panic("signtest: " + err.Error())
	}
	num, ok := Ref([]byte(tr.Info))
	if !ok {
		panic("signtest: the file has no /Info")
	}
	dict := dictOf(Object(file, num))
	dict = SetEntry(dict, "ModDate", []byte("(D:20261130120000+07'00')"))
	dict = SetEntry(dict, "Producer", []byte("(signtest after signing)"))
	return map[int][]byte{num: dict}
}

// firstFont returns the name of a font in a page's resources.
func firstFont(file []byte, pageDict []byte) string {
	res, _ := Entry(pageDict, "Resources")
	if n, ok := Ref(res); ok {
		res = dictOf(Object(file, n))
	}
	fonts, _ := Entry(res, "Font")
	if n, ok := Ref(fonts); ok {
		fonts = dictOf(Object(file, n))
	}
	keys, _ := Entries(fonts)
	if len(keys) == 0 {
		panic("signtest: page 1 has no fonts")
	}
	return keys[0]
}

// streamData returns a stream object's data, inflated if it is FlateDecode.
func streamData(body []byte) []byte {
	dict, rest, ok := cutDict(body)
	if !ok {
		panic("signtest: not a stream object")
	}
	i := bytes.Index(rest, []byte("stream"))
	j := bytes.LastIndex(rest, []byte("endstream"))
	if i < 0 || j < i {
		panic("signtest: not a stream object")
	}
	data := rest[i+len("stream") : j]
	data = bytes.TrimPrefix(bytes.TrimPrefix(data, []byte("\r")), []byte("\n"))
	if f, _ := Entry(dict, "Filter"); bytes.Contains(f, []byte("FlateDecode")) {
		r, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			panic("signtest: inflate the content stream: " + err.Error())
		}
		// The data may end in an end-of-line after the compressed bytes; read what inflates.
		out, _ := io.ReadAll(r)
		return out
	}
	return bytes.Clone(data)
}

func mustPage(file []byte) int {
	page, err := Page(file)
	if err != nil {
		panic("signtest: " + err.Error())
	}
	return page
}

// escapeASCII writes s for a PDF literal string.
func escapeASCII(s string) string {
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if c == '(' || c == ')' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
