package signtest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"unicode/utf16"
)

// InfoString returns the text of an entry of the file's Info dictionary, such as "Title"
// or "Subject", decoded from UTF-16BE (with its byte order mark) or, without one, read as
// Latin-1 (PDFDocEncoding differs from it only in characters the service never writes).
func InfoString(file []byte, key string) (string, error) {
	tr, err := ReadTrailer(file)
	if err != nil {
		return "", err
	}
	num, ok := Ref([]byte(tr.Info))
	if !ok {
		return "", fmt.Errorf("the file has no /Info")
	}
	v, ok := Entry(dictOf(Object(file, num)), key)
	if !ok {
		return "", fmt.Errorf("the Info dictionary has no /%s", key)
	}
	if n, isRef := Ref(v); isRef {
		v = Object(file, n)
	}
	b, err := pdfString(v)
	if err != nil {
		return "", fmt.Errorf("/%s: %w", key, err)
	}
	return textString(b), nil
}

// pdfString returns the bytes of a literal "( … )" or hexadecimal "< … >" string.
func pdfString(v []byte) ([]byte, error) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) >= 2 && v[0] == '<' && v[len(v)-1] == '>':
		digits := bytes.Map(func(r rune) rune {
			if bytes.ContainsRune([]byte(" \r\n\t\f\x00"), r) {
				return -1
			}
			return r
		}, v[1:len(v)-1])
		if len(digits)%2 == 1 {
			digits = append(digits, '0')
		}
		out := make([]byte, hex.DecodedLen(len(digits)))
		if _, err := hex.Decode(out, digits); err != nil {
			return nil, fmt.Errorf("bad hexadecimal string: %w", err)
		}
		return out, nil
	case len(v) >= 2 && v[0] == '(' && v[len(v)-1] == ')':
		in, out := v[1:len(v)-1], []byte{}
		for i := 0; i < len(in); i++ {
			c := in[i]
			switch {
			case c == '\r': // an end of line in a string is read as \n
				if i+1 < len(in) && in[i+1] == '\n' {
					i++
				}
				out = append(out, '\n')
			case c != '\\':
				out = append(out, c)
			case i+1 == len(in):
				// a lone backslash at the end: ignored
			default:
				i++
				switch e := in[i]; e {
				case 'n':
					out = append(out, '\n')
				case 'r':
					out = append(out, '\r')
				case 't':
					out = append(out, '\t')
				case 'b':
					out = append(out, '\b')
				case 'f':
					out = append(out, '\f')
				case '\r': // a continued line
					if i+1 < len(in) && in[i+1] == '\n' {
						i++
					}
				case '\n':
				case '0', '1', '2', '3', '4', '5', '6', '7':
					n := 0
					for j := 0; j < 3 && i < len(in) && in[i] >= '0' && in[i] <= '7'; j++ {
						n = n*8 + int(in[i]-'0')
						i++
					}
					i--
					out = append(out, byte(n))
				default: // \( \) \\ and any other character stand for themselves
					out = append(out, e)
				}
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("not a string: %.40q", v)
}

// textString decodes a PDF text string: UTF-16BE after a byte order mark, else Latin-1.
func textString(b []byte) string {
	if len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF {
		b = b[2:]
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
		return string(utf16.Decode(u))
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
