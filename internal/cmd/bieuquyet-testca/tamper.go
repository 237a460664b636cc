package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
)

// tamperMode is one way of spoiling a signed file.
type tamperMode struct {
	what string
	do   func(signed []byte, r [4]int) ([]byte, error)
}

var tamperModes = map[string]tamperMode{
	"flip": {"a byte of the Info dictionary's creation date changed, inside the signed range", func(b []byte, r [4]int) ([]byte, error) {
		const date = "/CreationDate (D:"
		i := bytes.Index(b[:r[1]], []byte(date))
		if i < 0 {
			return nil, fmt.Errorf("no %s in the signed range", date)
		}
		// The year's third digit: the date stays a date, "2026" becomes "2036".
		return signtest.FlipByte(b, i+len(date)+2), nil
	}},
	"sig": {"a byte of the signature value changed", func(b []byte, r [4]int) ([]byte, error) {
		// The RSA signature ends the CMS; the hex after it is zero padding.
		end := r[1] + 1 + len(bytes.TrimRight(b[r[1]+1:r[2]-1], "0"))
		for i := end - 20; i > r[1]; i-- {
			if b[i] >= '0' && b[i] <= '9' {
				return signtest.FlipByte(b, i), nil
			}
		}
		return nil, fmt.Errorf("no signature value in /Contents")
	}},
	"strip":  {"the signature's /Contents zeroed", func(b []byte, _ [4]int) ([]byte, error) { return signtest.StripSignature(b), nil }},
	"append": {"an incremental update after the signature (a new /ModDate)", func(b []byte, _ [4]int) ([]byte, error) { return signtest.AppendAfterSigning(b), nil }},
	"page":   {"an incremental update that prints " + fmt.Sprintf("%q", signtest.ChangedText) + " on page 1", func(b []byte, _ [4]int) ([]byte, error) { return signtest.ChangePageContent(b), nil }},
	"annot":  {"an incremental update with an annotation on page 1", func(b []byte, _ [4]int) ([]byte, error) { return signtest.AddAnnotation(b), nil }},
}

func modeNames() string {
	names := make([]string, 0, len(tamperModes))
	for n := range tamperModes {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func runTamper(args []string, stdout, stderr io.Writer) error {
	flags := newFlags("tamper", stderr)
	mode := flags.String("mode", "", "how to tamper: "+modeNames())
	operands, err := parse(flags, args)
	if err != nil {
		return err
	}
	m, ok := tamperModes[*mode]
	switch {
	case *mode == "":
		return usageErrorf("tamper: --mode is required (%s)", modeNames())
	case !ok:
		return usageErrorf("tamper: unknown --mode %q; the modes are %s", *mode, modeNames())
	case len(operands) != 2:
		return usageErrorf("tamper: want FILE OUT, got %d arguments", len(operands))
	}
	in, out := operands[0], operands[1]
	b, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	r, ok := signtest.ByteRange(b)
	if !ok || r[0] != 0 || r[1]+2 > r[2] || r[2]+r[3] > len(b) {
		return fmt.Errorf("%s is not a signed PDF (no usable /ByteRange)", in)
	}
	tampered, err := safely(func() ([]byte, error) { return m.do(b, r) })
	if err != nil {
		return fmt.Errorf("tamper with %s: %w", in, err)
	}
	if err := os.WriteFile(out, tampered, 0o644); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "wrote %s: %s, %s\n", out, in, m.what)
	return err
}

// safely turns a panic of signtest's test-grade PDF reading, on a file unlike those it
// knows, into an error.
func safely(f func() ([]byte, error)) (b []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, fmt.Errorf("%v", p)
		}
	}()
	return f()
}
