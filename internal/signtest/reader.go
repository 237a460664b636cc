package signtest

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
)

// A test-grade PDF reader: enough to find the newest definition of an object, the last
// trailer and page 1 in the files this package deals with (gofpdf, pdfsign and poppler
// output, and the updates written here), none of which use object streams. It finds
// objects by their "N G obj" headers, the last definition in the file winning as it does
// after incremental updates, rather than by following the cross-reference sections.

var (
	objHeaderRE  = regexp.MustCompile(`(?:^|[\r\n\t ])(\d+)[\r\n\t ]+(\d+)[\r\n\t ]+obj\b`)
	startxrefRE  = regexp.MustCompile(`startxref[\r\n\t ]+(\d+)[\r\n\t ]+%%EOF`)
	refRE        = regexp.MustCompile(`^(\d+)\s+(\d+)\s+R$`)
	lengthRE     = regexp.MustCompile(`^\d+$`)
	anyRefRE     = regexp.MustCompile(`\d+\s+\d+\s+R\b`)
	leadingRefRE = regexp.MustCompile(`^\d+\s+\d+\s+R\b`)
)

// Object returns the body of the newest definition of object num: the bytes between
// "num G obj" and "endobj", trimmed, a stream included. It returns nil if there is none.
func Object(file []byte, num int) []byte {
	var last []int
	for _, m := range objHeaderRE.FindAllSubmatchIndex(file, -1) {
		if n, _ := strconv.Atoi(string(file[m[2]:m[3]])); n == num {
			last = m
		}
	}
	if last == nil {
		return nil
	}
	body := file[last[1]:]
	end := bytes.Index(body, []byte("endobj"))
	// A stream may hold the bytes "endobj"; skip its data by its direct /Length.
	if dict, rest, ok := cutDict(body); ok {
		if i := bytes.Index(rest, []byte("stream")); i >= 0 && len(bytes.TrimSpace(rest[:i])) == 0 {
			if l, ok := Entry(dict, "Length"); ok && lengthRE.Match(l) {
				n, _ := strconv.Atoi(string(l))
				start := len(body) - len(rest) + i + len("stream")
				if start < len(body) && body[start] == '\r' {
					start++
				}
				start++
				if start+n <= len(body) {
					if e := bytes.Index(body[start+n:], []byte("endobj")); e >= 0 {
						end = start + n + e
					}
				}
			}
		}
	}
	if end < 0 {
		return nil
	}
	return bytes.TrimSpace(body[:end])
}

// Trailer is what the last trailer (or cross-reference stream dictionary) of a file says.
type Trailer struct {
	Root, Info string // references such as "29 0 R"; Info may be empty
	Size       int
	StartXRef  int // the offset of the last cross-reference section, the next /Prev
}

// ReadTrailer reads the trailer of the last cross-reference section: a classic trailer
// dictionary or a cross-reference stream's dictionary.
func ReadTrailer(file []byte) (Trailer, error) {
	var tr Trailer
	all := startxrefRE.FindAllSubmatch(file, -1)
	if len(all) == 0 {
		return tr, fmt.Errorf("no startxref")
	}
	tr.StartXRef, _ = strconv.Atoi(string(all[len(all)-1][1]))
	if tr.StartXRef >= len(file) {
		return tr, fmt.Errorf("startxref %d is past the end (%d bytes)", tr.StartXRef, len(file))
	}
	at := file[tr.StartXRef:]
	var dict []byte
	if bytes.HasPrefix(at, []byte("xref")) {
		i := bytes.Index(at, []byte("trailer"))
		if i < 0 {
			return tr, fmt.Errorf("no trailer after the xref at %d", tr.StartXRef)
		}
		d, _, ok := cutDict(at[i+len("trailer"):])
		if !ok {
			return tr, fmt.Errorf("no trailer dictionary at %d", tr.StartXRef)
		}
		dict = d
	} else {
		m := objHeaderRE.FindSubmatchIndex(at)
		if m == nil || len(bytes.TrimSpace(at[:m[0]])) != 0 {
			return tr, fmt.Errorf("neither xref nor an object at startxref %d", tr.StartXRef)
		}
		d, _, ok := cutDict(at[m[1]:])
		if !ok {
			return tr, fmt.Errorf("no cross-reference stream dictionary at %d", tr.StartXRef)
		}
		dict = d
	}
	root, _ := Entry(dict, "Root")
	info, _ := Entry(dict, "Info")
	size, _ := Entry(dict, "Size")
	tr.Root, tr.Info = string(root), string(info)
	tr.Size, _ = strconv.Atoi(string(size))
	if !refRE.Match(root) || tr.Size == 0 {
		return tr, fmt.Errorf("the trailer lacks /Root or /Size: %s", dict)
	}
	return tr, nil
}

// Ref returns the object number of a reference "N G R".
func Ref(v []byte) (int, bool) {
	m := refRE.FindSubmatch(bytes.TrimSpace(v))
	if m == nil {
		return 0, false
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n, true
}

// Page returns the object number of page 1, from the catalog's /Pages, following the first
// kid of each page tree node.
func Page(file []byte) (int, error) {
	tr, err := ReadTrailer(file)
	if err != nil {
		return 0, err
	}
	root, _ := Ref([]byte(tr.Root))
	v, ok := Entry(dictOf(Object(file, root)), "Pages")
	for depth := 0; ok && depth < 32; depth++ {
		n, isRef := Ref(v)
		if !isRef {
			break
		}
		d := dictOf(Object(file, n))
		if t, _ := Entry(d, "Type"); string(t) == "/Page" {
			return n, nil
		}
		kids, _ := Entry(d, "Kids")
		first := anyRefRE.Find(kids)
		v, ok = first, first != nil
	}
	return 0, fmt.Errorf("page 1 not found")
}

// dictOf returns the dictionary that starts an object's body, or nil.
func dictOf(body []byte) []byte {
	d, _, _ := cutDict(body)
	return d
}

// cutDict returns the dictionary "<< … >>" at the start of b (after white space), and
// what follows it.
func cutDict(b []byte) (dict, rest []byte, ok bool) {
	t := bytes.TrimLeft(b, "\r\n\t\f ")
	if !bytes.HasPrefix(t, []byte("<<")) {
		return nil, b, false
	}
	n := valueLen(t)
	if n == 0 {
		return nil, b, false
	}
	return t[:n], t[n:], true
}

// Entries returns a dictionary's top-level entries in order, as key (without the slash)
// and raw value text.
func Entries(dict []byte) (keys []string, values [][]byte) {
	if !bytes.HasPrefix(dict, []byte("<<")) || !bytes.HasSuffix(dict, []byte(">>")) {
		return nil, nil
	}
	b := dict[2 : len(dict)-2]
	for {
		b = skipSpace(b)
		if len(b) == 0 || b[0] != '/' {
			return keys, values
		}
		k := nameLen(b)
		key := string(b[1:k])
		b = skipSpace(b[k:])
		n := valueLen(b)
		// A reference is three tokens: "12 0 R".
		if m := leadingRefRE.Find(b); m != nil {
			n = len(m)
		}
		if n == 0 {
			return keys, values
		}
		keys, values = append(keys, key), append(values, b[:n])
		b = b[n:]
	}
}

// Entry returns the raw value of a dictionary's top-level key.
func Entry(dict []byte, key string) ([]byte, bool) {
	keys, values := Entries(dict)
	for i, k := range keys {
		if k == key {
			return values[i], true
		}
	}
	return nil, false
}

// SetEntry returns dict with key set to value, replacing the old value in place or adding
// the entry at the end.
func SetEntry(dict []byte, key string, value []byte) []byte {
	keys, values := Entries(dict)
	var b bytes.Buffer
	b.WriteString("<<")
	set := false
	for i, k := range keys {
		v := values[i]
		if k == key {
			v, set = value, true
		}
		fmt.Fprintf(&b, " /%s %s", k, v)
	}
	if !set {
		fmt.Fprintf(&b, " /%s %s", key, value)
	}
	b.WriteString(" >>")
	return b.Bytes()
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 {
		switch b[0] {
		case ' ', '\r', '\n', '\t', '\f', 0:
			b = b[1:]
		case '%':
			i := bytes.IndexAny(b, "\r\n")
			if i < 0 {
				return nil
			}
			b = b[i:]
		default:
			return b
		}
	}
	return b
}

func nameLen(b []byte) int {
	n := 1
	for n < len(b) && !bytes.ContainsRune([]byte(" \r\n\t\f\x00/<>[]()%{}"), rune(b[n])) {
		n++
	}
	return n
}

// valueLen returns the length of the value at the start of b: a dictionary, array, string,
// hex string, name or other token; 0 if there is none.
func valueLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	switch {
	case bytes.HasPrefix(b, []byte("<<")), b[0] == '[':
		depth := 0
		for i := 0; i < len(b); {
			switch {
			case bytes.HasPrefix(b[i:], []byte("<<")):
				depth, i = depth+1, i+2
			case bytes.HasPrefix(b[i:], []byte(">>")):
				depth, i = depth-1, i+2
			case b[i] == '[':
				depth, i = depth+1, i+1
			case b[i] == ']':
				depth, i = depth-1, i+1
			case b[i] == '(' || b[i] == '<':
				n := valueLen(b[i:])
				if n == 0 {
					return 0
				}
				i += n
			case b[i] == '%':
				rest := skipSpace(b[i:])
				i = len(b) - len(rest)
			default:
				i++
			}
			if depth == 0 {
				return i
			}
		}
		return 0
	case b[0] == '(':
		depth := 0
		for i := 0; i < len(b); i++ {
			switch b[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return 0
	case b[0] == '<':
		i := bytes.IndexByte(b, '>')
		return i + 1
	case b[0] == '/':
		return nameLen(b)
	default:
		n := 0
		for n < len(b) && !bytes.ContainsRune([]byte(" \r\n\t\f\x00/<>[]()%"), rune(b[n])) {
			n++
		}
		return n
	}
}
