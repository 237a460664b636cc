package signedpdf

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/pkcs7"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
)

// lastTrailer reads a file's merged trailer with this package's own reader.
func lastTrailer(t testing.TB, file []byte) (Dict, int) {
	t.Helper()
	d, _, err := open(file, &budget{})
	if err != nil {
		t.Fatalf("read the trailer: %v", err)
	}
	off, _ := startxref(file)
	return d.trailer, off
}

func refText(v any) string {
	r := v.(Ref)
	return fmt.Sprintf("%d %d R", r.Num, r.Gen)
}

// appendUpdate appends an incremental update with a classic xref table defining objs
// (number → body) and extra trailer entries.
func appendUpdate(t testing.TB, file []byte, objs map[int]string, extra string) []byte {
	t.Helper()
	tr, prev := lastTrailer(t, file)
	out := bytes.Clone(file)
	offs := map[int]int{}
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	size := int(tr["Size"].(int64))
	for _, n := range nums {
		offs[n] = len(out)
		out = fmt.Appendf(out, "%d 0 obj\n%s\nendobj\n", n, objs[n])
		size = max(size, n+1)
	}
	x := len(out)
	out = append(out, "xref\n"...)
	for _, n := range nums {
		out = fmt.Appendf(out, "%d 1\n%010d 00000 n \n", n, offs[n])
	}
	info := ""
	if tr["Info"] != nil {
		info = "/Info " + refText(tr["Info"])
	}
	out = fmt.Appendf(out, "trailer\n<< /Size %d /Root %s %s /Prev %d %s >>\nstartxref\n%d\n%%%%EOF\n",
		size, refText(tr["Root"]), info, prev, extra, x)
	return out
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// appendObjStmUpdate appends an update whose objects all live in one object stream,
// indexed by a cross-reference stream with the PNG Up predictor, as PDF 1.5 writers
// (Acrobat, qpdf, pikepdf) save.
func appendObjStmUpdate(t testing.TB, file []byte, objs map[int]string) []byte {
	t.Helper()
	tr, prev := lastTrailer(t, file)
	size := int(tr["Size"].(int64))
	nums := make([]int, 0, len(objs))
	for n := range objs {
		nums = append(nums, n)
		size = max(size, n+1)
	}
	sort.Ints(nums)
	stm, xs := size, size+1
	var head, body bytes.Buffer
	for _, n := range nums {
		fmt.Fprintf(&head, "%d %d ", n, body.Len())
		body.WriteString(objs[n])
		body.WriteString("\n")
	}
	data := append(head.Bytes(), body.Bytes()...)
	out := bytes.Clone(file)
	stmOff := len(out)
	z := deflate(data)
	out = fmt.Appendf(out, "%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream\nendobj\n",
		stm, len(nums), head.Len(), len(z), z)
	xsOff := len(out)
	// Rows of /W [1 4 2] for: each object (type 2), the object stream and the xref stream
	// (type 1), each preceded by the PNG filter byte 2 (Up) and encoded against the row above.
	type row [7]byte
	var rows []row
	var index []int
	add := func(n int, r row) { rows = append(rows, r); index = append(index, n) }
	for i, n := range nums {
		add(n, row{2, 0, 0, byte(stm >> 8), byte(stm), byte(i >> 8), byte(i)})
	}
	add(stm, row{1, byte(stmOff >> 24), byte(stmOff >> 16), byte(stmOff >> 8), byte(stmOff), 0, 0})
	add(xs, row{1, byte(xsOff >> 24), byte(xsOff >> 16), byte(xsOff >> 8), byte(xsOff), 0, 0})
	var enc []byte
	var prevRow row
	for _, r := range rows {
		enc = append(enc, 2)
		for i := range r {
			enc = append(enc, r[i]-prevRow[i])
		}
		prevRow = r
	}
	var idx []byte
	for _, n := range index {
		idx = fmt.Appendf(idx, "%d 1 ", n)
	}
	z = deflate(enc)
	info := ""
	if tr["Info"] != nil {
		info = "/Info " + refText(tr["Info"])
	}
	out = fmt.Appendf(out, "%d 0 obj\n<< /Type /XRef /Size %d /Root %s %s /Prev %d /W [1 4 2] /Index [%s] /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >> /Length %d >>\nstream\n%s\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n",
		xs, xs+1, refText(tr["Root"]), info, prev, bytes.TrimSpace(idx), len(z), z, xsOff)
	return out
}

// object returns the body of object num in file's final state as text, for editing.
func objectText(t testing.TB, file []byte, num int) string {
	t.Helper()
	d, _, err := open(file, &budget{})
	if err != nil {
		t.Fatal(err)
	}
	e := d.xref[num]
	if e.kind == 2 {
		v, err := d.get(Ref{num, 0})
		if err != nil {
			t.Fatal(err)
		}
		return format(v)
	}
	if e.kind != 1 {
		t.Fatalf("object %d is free", num)
	}
	p := &parser{b: file, pos: e.off}
	p.integer()
	p.integer()
	p.acceptKeyword("obj")
	start := p.pos
	end := bytes.Index(file[start:], []byte("endobj"))
	return string(file[start : start+end])
}

// catalogNum returns the catalog's object number.
func catalogNum(t testing.TB, file []byte) int {
	tr, _ := lastTrailer(t, file)
	return tr["Root"].(Ref).Num
}

// sigReserve is how many hex digits signUpdate reserves for the CMS: an RSA 2048 signature
// with two certificates takes about 4,000.
const sigReserve = 8192

// signOpts adjust signUpdate's update.
type signOpts struct {
	extra     map[int]string // more objects in the update
	annots    string         // more references in page 1's /Annots
	fields    string         // more references in the form's /Fields
	catalog   string         // more catalog entries
	widget    string         // more entries in the signature's widget
	subFilter string         // adbe.pkcs7.detached when empty
	timestamp bool           // a document timestamp (ETSI.RFC3161) by s as the authority
}

// signUpdate signs file by appending its own incremental update with a classic xref
// table, whatever the file's earlier revisions use: a signature field merged with its
// widget on page 1, an /AcroForm in the catalog, and a detached PKCS#7 made with
// digitorus/pkcs7 (signingTime now). pdfsign cannot read files whose updates use xref
// streams, so the tests sign those with this.
func signUpdate(t testing.TB, file []byte, s *signtest.Signer, o signOpts) []byte {
	t.Helper()
	tr, _ := lastTrailer(t, file)
	d, _, err := open(file, &budget{})
	if err != nil {
		t.Fatal(err)
	}
	size := int(tr["Size"].(int64))
	for n := range o.extra {
		size = max(size, n+1)
	}
	sig, widget := size, size+1
	cat := tr["Root"].(Ref).Num
	catV, _ := d.resolve(tr["Root"])
	pages, err := walkPages(d, catV.(Dict)["Pages"])
	if err != nil {
		t.Fatal(err)
	}
	page := pages.pages[0].Num
	if o.subFilter == "" {
		o.subFilter = "adbe.pkcs7.detached"
	}
	typ := "/Sig"
	if o.timestamp {
		typ, o.subFilter = "/DocTimeStamp", "ETSI.RFC3161"
	}
	rect := "/Rect [0 0 0 0]" // invisible
	if strings.Contains(o.widget, "/Rect") {
		rect = ""
	}
	objs := map[int]string{
		sig: "<< /Type " + typ + " /Filter /Adobe.PPKLite /SubFilter /" + o.subFilter + " /ByteRange [0 0000000000 0000000000 0000000000] /Contents <" +
			strings.Repeat("0", sigReserve) + "> /M (D:" + time.Now().UTC().Format("20060102150405") + "Z) >>",
		widget: fmt.Sprintf("<< /Type /Annot /Subtype /Widget /FT /Sig /T (Signature1) /V %d 0 R %s /F 132 /P %d 0 R %s >>", sig, rect, page, o.widget),
		page:   addToDict(objectText(t, file, page), fmt.Sprintf("/Annots [%d 0 R %s]", widget, o.annots)),
		cat:    addToDict(objectText(t, file, cat), fmt.Sprintf("/AcroForm << /Fields [%d 0 R %s] /SigFlags 3 >> %s", widget, o.fields, o.catalog)),
	}
	for n, b := range o.extra {
		objs[n] = b
	}
	out := appendUpdate(t, file, objs, "")
	tail := string(out[len(file):])
	b := len(file) + strings.Index(tail, "/Contents <") + len("/Contents ")
	c := b + sigReserve + 2
	br := fmt.Sprintf("[0 %010d %010d %010d]", b, c, len(out)-c)
	i := len(file) + strings.Index(tail, "/ByteRange [")
	copy(out[i+len("/ByteRange "):], br)
	signed := append(bytes.Clone(out[:b]), out[c:]...)
	if o.timestamp {
		signed = makeTSTInfo(t, signed)
	}
	sd, err := pkcs7.NewSignedData(signed)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if o.timestamp {
		sd.SetContentType(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4})
	}
	if err := sd.AddSignerChain(s.Certificate, s.Key, s.Chain[1:], pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	if !o.timestamp {
		sd.Detach()
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if 2*len(der) > sigReserve {
		t.Fatalf("the CMS takes %d bytes, more than reserved", len(der))
	}
	copy(out[b+1:], strings.ToUpper(hex.EncodeToString(der)))
	return out
}

// makeTSTInfo returns an RFC 3161 TSTInfo stamping data now.
func makeTSTInfo(t testing.TB, data []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(data)
	var ti struct {
		Version        int
		Policy         asn1.ObjectIdentifier
		MessageImprint struct {
			HashAlgorithm pkix.AlgorithmIdentifier
			HashedMessage []byte
		}
		SerialNumber *big.Int
		GenTime      time.Time `asn1:"generalized"`
	}
	ti.Version = 1
	ti.Policy = asn1.ObjectIdentifier{1, 2, 3, 4}
	ti.MessageImprint.HashAlgorithm.Algorithm = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	ti.MessageImprint.HashedMessage = sum[:]
	ti.SerialNumber = big.NewInt(42)
	ti.GenTime = time.Now().UTC().Truncate(time.Second)
	der, err := asn1.Marshal(ti)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// format writes a direct object (not a stream) as PDF syntax.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprint(x)
	case int64:
		return fmt.Sprint(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case Name:
		return "/" + string(x)
	case String:
		return "<" + hex.EncodeToString([]byte(x)) + ">"
	case Ref:
		return fmt.Sprintf("%d %d R", x.Num, x.Gen)
	case Array:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = format(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case Dict:
		var b strings.Builder
		b.WriteString("<<")
		for _, k := range sortedKeys(x) {
			fmt.Fprintf(&b, " /%s %s", k, format(x[k]))
		}
		b.WriteString(" >>")
		return b.String()
	}
	panic(fmt.Sprintf("format %T", v))
}

func sha256Sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
