package signedpdf

import (
	"bytes"
	"fmt"
	"strconv"
)

// The PDF object model. A null is the Go nil; booleans, integers and reals are bool,
// int64 and float64.
type (
	// Name is a PDF name, without its solidus and with #xx escapes decoded.
	Name string
	// String is a PDF string's bytes, literal or hex, escapes decoded.
	String string
	// Array is a PDF array.
	Array []any
	// Dict is a PDF dictionary.
	Dict map[Name]any
	// Ref is an indirect reference "num gen R".
	Ref struct{ Num, Gen int }
	// Stream is a stream object: its dictionary and its raw (still encoded) bytes, which
	// alias the file.
	Stream struct {
		Dict Dict
		Raw  []byte
	}
)

// maxDepth bounds the nesting of arrays and dictionaries, so a hostile file cannot
// exhaust the stack.
const maxDepth = 64

// syntaxErr is a parse error at an offset.
type syntaxErr struct {
	off int
	msg string
}

func (e *syntaxErr) Error() string { return fmt.Sprintf("offset %d: %s", e.off, e.msg) }

// parser reads PDF objects from b starting at pos.
type parser struct {
	b   []byte
	pos int
	// spans, when not nil, receives the byte span of each value of the outermost
	// dictionary, so that a signature's /Contents can be matched with its ByteRange gap.
	spans map[Name][2]int
}

func (p *parser) fail(format string, a ...any) error {
	return &syntaxErr{p.pos, fmt.Sprintf(format, a...)}
}

func isWhite(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func isRegular(c byte) bool { return !isWhite(c) && !isDelim(c) }

// skip passes white space and comments.
func (p *parser) skip() {
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		switch {
		case isWhite(c):
			p.pos++
		case c == '%':
			for p.pos < len(p.b) && p.b[p.pos] != '\n' && p.b[p.pos] != '\r' {
				p.pos++
			}
		default:
			return
		}
	}
}

// keyword reads a run of regular characters without consuming anything else.
func (p *parser) keyword() []byte {
	p.skip()
	s := p.pos
	for p.pos < len(p.b) && isRegular(p.b[p.pos]) {
		p.pos++
	}
	return p.b[s:p.pos]
}

// peekKeyword tells whether the next token is the keyword k, consuming it if so.
func (p *parser) acceptKeyword(k string) bool {
	save := p.pos
	if string(p.keyword()) == k {
		return true
	}
	p.pos = save
	return false
}

// integer reads a non-negative decimal integer token, for xref tables and object
// headers; it does not consume anything on failure.
func (p *parser) integer() (int64, bool) {
	save := p.pos
	p.skip()
	s := p.pos
	for p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == s || p.pos-s > 18 || (p.pos < len(p.b) && isRegular(p.b[p.pos])) {
		p.pos = save
		return 0, false
	}
	n, _ := strconv.ParseInt(string(p.b[s:p.pos]), 10, 64)
	return n, true
}

// object reads one direct object (a reference "n g R" included).
func (p *parser) object(depth int) (any, error) {
	if depth > maxDepth {
		return nil, limitErr("offset %d: nesting deeper than %d", p.pos, maxDepth)
	}
	p.skip()
	if p.pos >= len(p.b) {
		return nil, p.fail("unexpected end of data")
	}
	c := p.b[p.pos]
	switch {
	case c == '<' && p.pos+1 < len(p.b) && p.b[p.pos+1] == '<':
		return p.dict(depth)
	case c == '<':
		return p.hexString()
	case c == '(':
		return p.literalString()
	case c == '[':
		p.pos++
		a := Array{}
		for {
			p.skip()
			if p.pos >= len(p.b) {
				return nil, p.fail("unterminated array")
			}
			if p.b[p.pos] == ']' {
				p.pos++
				return a, nil
			}
			v, err := p.object(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case c == '/':
		return p.name()
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return p.number()
	}
	kw := p.keyword()
	switch string(kw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	if len(kw) == 0 {
		p.pos++ // a stray delimiter such as ')' or '>'
	}
	return nil, p.fail("unexpected %q", truncate(kw, 20))
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func (p *parser) dict(depth int) (any, error) {
	p.pos += 2
	d := Dict{}
	for {
		p.skip()
		if p.pos+1 < len(p.b) && p.b[p.pos] == '>' && p.b[p.pos+1] == '>' {
			p.pos += 2
			return d, nil
		}
		if p.pos >= len(p.b) {
			return nil, p.fail("unterminated dictionary")
		}
		if p.b[p.pos] != '/' {
			return nil, p.fail("dictionary key is not a name")
		}
		k, err := p.name()
		if err != nil {
			return nil, err
		}
		p.skip()
		start := p.pos
		v, err := p.object(depth + 1)
		if err != nil {
			return nil, err
		}
		// Readers disagree on which of two equal keys wins, which is exactly what a
		// forger wants; no writer we accept produces them.
		if _, dup := d[k.(Name)]; dup {
			return nil, p.fail("duplicate key /%s", k.(Name))
		}
		if depth == 0 && p.spans != nil {
			p.spans[k.(Name)] = [2]int{start, p.pos}
		}
		d[k.(Name)] = v
	}
}

func (p *parser) name() (any, error) {
	p.pos++ // '/'
	var out []byte
	for p.pos < len(p.b) && isRegular(p.b[p.pos]) {
		c := p.b[p.pos]
		if c == '#' && p.pos+2 < len(p.b) {
			if h, ok := unhex2(p.b[p.pos+1], p.b[p.pos+2]); ok {
				out = append(out, h)
				p.pos += 3
				continue
			}
		}
		out = append(out, c)
		p.pos++
	}
	return Name(out), nil
}

func unhexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func unhex2(a, b byte) (byte, bool) {
	x, ok1 := unhexDigit(a)
	y, ok2 := unhexDigit(b)
	return x<<4 | y, ok1 && ok2
}

func (p *parser) hexString() (any, error) {
	p.pos++ // '<'
	var out []byte
	var hi byte
	half := false
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		p.pos++
		if c == '>' {
			if half {
				out = append(out, hi<<4)
			}
			return String(out), nil
		}
		if isWhite(c) {
			continue
		}
		d, ok := unhexDigit(c)
		if !ok {
			return nil, p.fail("bad hex digit %q", c)
		}
		if half {
			out = append(out, hi<<4|d)
		} else {
			hi = d
		}
		half = !half
	}
	return nil, p.fail("unterminated hex string")
}

func (p *parser) literalString() (any, error) {
	p.pos++ // '('
	var out []byte
	nest := 0
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		p.pos++
		switch c {
		case '(':
			nest++
		case ')':
			if nest == 0 {
				return String(out), nil
			}
			nest--
		case '\r':
			// An end of line in a string reads as a line feed, whatever its bytes.
			if p.pos < len(p.b) && p.b[p.pos] == '\n' {
				p.pos++
			}
			c = '\n'
		case '\\':
			if p.pos >= len(p.b) {
				return nil, p.fail("unterminated string")
			}
			e := p.b[p.pos]
			p.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if p.pos < len(p.b) && p.b[p.pos] == '\n' {
					p.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for i := 0; i < 2 && p.pos < len(p.b) && p.b[p.pos] >= '0' && p.b[p.pos] <= '7'; i++ {
						v = v*8 + int(p.b[p.pos]-'0')
						p.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		out = append(out, c)
	}
	return nil, p.fail("unterminated string")
}

// number reads an integer or real, and an integer followed by "gen R" as a reference.
func (p *parser) number() (any, error) {
	s := p.pos
	for p.pos < len(p.b) && isRegular(p.b[p.pos]) {
		p.pos++
	}
	tok := string(p.b[s:p.pos])
	if n, err := strconv.ParseInt(tok, 10, 64); err == nil {
		if n >= 0 && n <= maxObjNum && tok[0] != '+' && tok[0] != '-' {
			save := p.pos
			if g, ok := p.integer(); ok && g <= 65535 {
				if p.acceptKeyword("R") {
					return Ref{int(n), int(g)}, nil
				}
			}
			p.pos = save
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		// Writers emit "--5" and "5-" now and then; no file of ours does, and a number we
		// cannot read is not something to guess at.
		return nil, &syntaxErr{s, fmt.Sprintf("bad number %q", truncate([]byte(tok), 20))}
	}
	return f, nil
}

// maxObjNum bounds object numbers; the spec's own limit is 8,388,607.
const maxObjNum = 1<<23 - 1

// indirect is an object read at a file offset.
type indirect struct {
	ref Ref
	val any
	end int // offset after "endobj"
}

// readIndirect reads "num gen obj … endobj" at off. length resolves a stream's
// /Length when it is a reference.
func readIndirect(b []byte, off int, spans map[Name][2]int, length func(any) (int, error)) (indirect, error) {
	if off < 0 || off >= len(b) {
		return indirect{}, &syntaxErr{off, "object offset outside the file"}
	}
	p := &parser{b: b, pos: off, spans: spans}
	num, ok1 := p.integer()
	gen, ok2 := p.integer()
	if !ok1 || !ok2 || num > maxObjNum || gen > 65535 || !p.acceptKeyword("obj") {
		return indirect{}, p.fail("no object header")
	}
	ref := Ref{int(num), int(gen)}
	v, err := p.object(0)
	if err != nil {
		return indirect{}, err
	}
	save := p.pos
	if d, isDict := v.(Dict); isDict && p.acceptKeyword("stream") {
		// The keyword is followed by CRLF or LF; a lone CR is wrong but harmless.
		if p.pos < len(p.b) && p.b[p.pos] == '\r' {
			p.pos++
		}
		if p.pos < len(p.b) && p.b[p.pos] == '\n' {
			p.pos++
		}
		n, err := length(d["Length"])
		if err != nil {
			return indirect{}, fmt.Errorf("object %d: /Length: %w", num, err)
		}
		if n < 0 || n > len(p.b)-p.pos {
			return indirect{}, p.fail("object %d: stream runs past the end of the file", num)
		}
		raw := p.b[p.pos : p.pos+n : p.pos+n]
		p.pos += n
		if !p.acceptKeyword("endstream") {
			return indirect{}, p.fail("object %d: no endstream after /Length bytes", num)
		}
		v = Stream{Dict: d, Raw: raw}
		save = p.pos
	}
	p.pos = save
	if !p.acceptKeyword("endobj") {
		return indirect{}, p.fail("object %d: no endobj", num)
	}
	return indirect{ref, v, p.pos}, nil
}

// findLast returns the offset of the last occurrence of pat in b, or -1.
func findLast(b []byte, pat string) int { return bytes.LastIndex(b, []byte(pat)) }
