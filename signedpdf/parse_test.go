package signedpdf

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
)

func TestParseObjects(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"null", nil},
		{"true", true},
		{"-12", int64(-12)},
		{"+3.5", 3.5},
		{".5", 0.5},
		{"/A#20B", Name("A B")},
		{"(a(b)c\\)\\n\\101\\7)", String("a(b)c)\nA\a")},
		{"(line\\\ncontinued)", String("linecontinued")},
		{"(cr\r\nlf)", String("cr\nlf")},
		{"<48 65 6C6c 6>", String("Hell`")},
		{"[1 0 R 2 /x]", Array{Ref{1, 0}, int64(2), Name("x")}},
		{"<< /K [1 2 R 3 4] /S << >> >>", Dict{"K": Array{Ref{1, 2}, int64(3), int64(4)}, "S": Dict{}}},
		{"% comment\n 7", int64(7)},
	}
	for _, tt := range tests {
		p := &parser{b: []byte(tt.in)}
		got, err := p.object(0)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("object(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "(open", "<4G>", "<< /A >>", "<< /A 1 /A 2 >>", "[1 2", "--5", ")", "<< 1 2 >>", "[-1 0 R]", strings.Repeat("[", 70)} {
		p := &parser{b: []byte(bad)}
		if v, err := p.object(0); err == nil {
			t.Errorf("object(%q) = %#v, want an error", bad, v)
		}
	}
	p := &parser{b: []byte(strings.Repeat("[", 70))}
	if _, err := p.object(0); !errors.Is(err, errLimit) {
		t.Errorf("deep nesting: %v, want a limit error", err)
	}
}

func TestTextString(t *testing.T) {
	for in, want := range map[string]string{
		"\xfe\xff\x00p\x00o\x1e\xa1": "poạ",
		"\xef\xbb\xbfpolls/3":        "polls/3",
		"caf\xe9":                    "café",
	} {
		if got := textString(String(in)); got != want {
			t.Errorf("textString(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"D:20261129100000+07'00'": "2026-11-29T03:00:00Z",
		"D:20261129100000Z":       "2026-11-29T10:00:00Z",
		"D:2026112910":            "2026-11-29T10:00:00Z",
		"20261129100000-05'30":    "2026-11-29T15:30:00Z",
	} {
		got, err := parseDate(in)
		if err != nil || got.UTC().Format("2006-01-02T15:04:05Z") != want {
			t.Errorf("parseDate(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "D:", "D:2026133", "D:20261129100000X"} {
		if _, err := parseDate(bad); err == nil {
			t.Errorf("parseDate(%q) succeeded", bad)
		}
	}
}

func TestUnpredict(t *testing.T) {
	// Two rows of three bytes with PNG filters Sub, Up, Average and Paeth.
	rows := [][]byte{{10, 20, 30}, {11, 22, 33}}
	for ft := byte(0); ft <= 4; ft++ {
		var enc []byte
		prev := []byte{0, 0, 0}
		for _, r := range rows {
			enc = append(enc, ft)
			for i := range r {
				var a, c byte
				if i > 0 {
					a, c = r[i-1], prev[i-1]
				}
				var pred byte
				switch ft {
				case 1:
					pred = a
				case 2:
					pred = prev[i]
				case 3:
					pred = byte((int(a) + int(prev[i])) / 2)
				case 4:
					pred = paeth(a, prev[i], c)
				}
				enc = append(enc, r[i]-pred)
			}
			prev = r
		}
		got, err := unpredict(enc, Dict{"Predictor": int64(12), "Columns": int64(3)})
		if err != nil || !bytes.Equal(got, []byte{10, 20, 30, 11, 22, 33}) {
			t.Errorf("filter %d: %v, %v", ft, got, err)
		}
	}
}

// A hand-made file: classic table, then an update with an xref stream and an object
// stream, then a classic update again; every object resolves to its newest definition.
func TestOpenRevisions(t *testing.T) {
	base := "%PDF-1.4\n"
	var offs []int
	for i, body := range []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] >>",
		"<< /Subject (\\376\\377\\000p\\000/\\0001) >>",
	} {
		offs = append(offs, len(base))
		base += fmt.Sprintf("%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	x := len(base)
	base += "xref\n0 5\n0000000000 65535 f \n"
	for _, o := range offs {
		base += fmt.Sprintf("%010d 00000 n \n", o)
	}
	base += fmt.Sprintf("trailer\n<< /Size 5 /Root 1 0 R /Info 4 0 R >>\nstartxref\n%d\n%%%%EOF\n", x)

	f1 := appendObjStmUpdate(t, []byte(base), map[int]string{4: "<< /Subject <FEFF0070002F0032> >>", 5: "(five)"})
	f2 := appendUpdate(t, f1, map[int]string{8: "(six)"}, "")
	for i, want := range []string{"p/1", "p/2", "p/2"} {
		file := [][]byte{[]byte(base), f1, f2}[i]
		id, err := Identify(file)
		if err != nil || id.Name != want {
			t.Errorf("revision %d: Identify = %+v, %v; want %q", i, id, err, want)
		}
		if want := fmt.Sprintf("%x", sha256Sum([]byte(base))); id.IssuedSHA256 != want {
			t.Errorf("revision %d: digest %s, want %s", i, id.IssuedSHA256, want)
		}
	}
	d, secs, err := open(f2, &budget{})
	if err != nil || len(secs) != 3 {
		t.Fatalf("open: %d sections, %v", len(secs), err)
	}
	for n, want := range map[int]any{5: String("five"), 8: String("six"), 3: Dict{"Type": Name("Page"), "Parent": Ref{2, 0}, "MediaBox": Array{int64(0), int64(0), int64(10), int64(10)}}} {
		got, err := d.get(Ref{n, 0})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("object %d = %#v, %v", n, got, err)
		}
	}
}

// A hybrid-reference file: a classic table whose trailer's /XRefStm lists objects kept
// in an object stream, as Word and Acrobat save for readers of both generations.
func TestOpenHybrid(t *testing.T) {
	base := "%PDF-1.5\n"
	o1 := len(base)
	base += "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
	o2 := len(base)
	base += "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
	stm := "4 0 "
	body := "<< /Subject (hybrid) >>"
	data := stm + body
	z := deflate([]byte(data))
	o3 := len(base)
	base += fmt.Sprintf("3 0 obj\n<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(stm), len(z), z)
	rows := []byte{2, 0, 3, 0}
	o5 := len(base)
	base += fmt.Sprintf("5 0 obj\n<< /Type /XRef /Size 6 /W [1 2 1] /Index [4 1] /Length %d >>\nstream\n%s\nendstream\nendobj\n", len(rows), rows)
	x := len(base)
	base += fmt.Sprintf("xref\n0 4\n0000000000 65535 f \n%010d 00000 n \n%010d 00000 n \n%010d 00000 n \n", o1, o2, o3)
	base += fmt.Sprintf("trailer\n<< /Size 6 /Root 1 0 R /Info 4 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n", o5, x)
	id, err := Identify([]byte(base))
	if err != nil || id.Name != "hybrid" {
		t.Fatalf("Identify = %+v, %v", id, err)
	}
}

func TestIdentifyConfirmation(t *testing.T) {
	p, issued := signtest.IssuedConfirmation(t, 12)
	f := newFixture(t)
	signed := f.signer.Sign(t, issued, signtest.SignOptions{Time: f.signTime()})
	want := fmt.Sprintf("%x", sha256Sum(issued))
	for name, file := range map[string][]byte{"issued": issued, "signed": signed, "poppler": signtest.PopplerSign(t, issued, f.signer, signtest.PopplerOptions{})} {
		id, err := Identify(file)
		if err != nil || id.Name != p.Name() || id.IssuedSHA256 != want {
			t.Errorf("%s: Identify = %+v, %v; want %s %s", name, id, err, p.Name(), want)
		}
	}
	// Metadata changed after issue: the name follows the final revision, the digest
	// still finds the issued document.
	changed := signtest.AppendUpdate(issued, map[int][]byte{28: []byte("<< /Subject (polls/9/confirmations/99) >>")})
	if id, _ := Identify(changed); id.Name != "polls/9/confirmations/99" || id.IssuedSHA256 != want {
		t.Errorf("changed metadata: %+v", id)
	}
	for name, tt := range map[string]struct {
		file   []byte
		reason Reason
	}{
		"empty":   {nil, ReasonEmpty},
		"not pdf": {[]byte("GIF89a"), ReasonNotPDF},
		"no eof":  {issued[:len(issued)-10], ReasonTruncated},
	} {
		_, err := Identify(tt.file)
		var rej *Rejection
		if !errors.As(err, &rej) || rej.Reason != tt.reason {
			t.Errorf("%s: Identify error %v, want %s", name, err, tt.reason)
		}
	}
	// A file whose structure is broken still has a digest, and no name.
	broken := append(bytes.Clone(issued), "garbage startxref 5 %%EOF"...)
	if id, err := Identify(broken); err != nil || id.Name != "" || id.IssuedSHA256 != want {
		t.Errorf("broken: %+v, %v", id, err)
	}
}

// Hostile structures that must end in a limit, not in a crash: a chain of streams each
// needing the next one's /Length, and predictor parameters asking for huge rows.
func TestLimits(t *testing.T) {
	var bodies [][]byte
	bodies = append(bodies, []byte("<< /Type /Catalog /Pages 2 0 R >>"), []byte("<< /Type /Pages /Kids [] /Count 0 >>"))
	const n = 5000
	for i := 3; i < n; i++ {
		bodies = append(bodies, fmt.Appendf(nil, "<< /Length %d 0 R >>\nstream\nx\nendstream", i+1))
	}
	bodies = append(bodies, []byte("1"))
	d, _, err := open(makePDF(bodies...), &budget{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.get(Ref{3, 0}); !errors.Is(err, errLimit) {
		t.Errorf("length chain: %v, want a limit error", err)
	}
	if _, err := unpredict([]byte{2, 0, 0}, Dict{"Predictor": int64(12), "Colors": int64(32), "BitsPerComponent": int64(16), "Columns": int64(1 << 20)}); err == nil {
		t.Error("huge predictor rows: no error")
	}
	bomb := deflate(make([]byte, maxInflate+1))
	d = newDoc(nil, &budget{})
	if _, err := d.inflate(bomb); !errors.Is(err, errLimit) {
		t.Errorf("deflate bomb: %v, want a limit error", err)
	}
}
