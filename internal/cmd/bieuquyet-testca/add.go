package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
)

// runAdd issues one more delegate's certificate from a test CA made by init: for a person
// added to the roster after it, as the README's walk-through adds one.
func runAdd(_ context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags("add", stderr)
	dir := flags.String("dir", "", "the test CA's directory, made by init")
	name := flags.String("name", "", "the delegate's full name, the certificate's CN")
	id := flags.String("id", "", "the delegate's signing identity, CCCD:NUMBER or CMND:NUMBER, the certificate's UID")
	operands, err := parse(flags, args)
	if err != nil {
		return err
	}
	if err := needDir("add", *dir); err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageErrorf("add: unexpected argument %q", operands[0])
	}
	p, ok := personOf(*id, strings.TrimSpace(*name))
	switch {
	case strings.TrimSpace(*name) == "":
		return usageErrorf("add: --name is required")
	case !ok:
		return usageErrorf("add: --id must be CCCD:NUMBER (12 digits) or CMND:NUMBER (9 or 12 digits), not %q", *id)
	}
	ca, err := signtest.LoadCA(filepath.Join(*dir, caDir))
	if err != nil {
		return fmt.Errorf("%s holds no test CA (run init first): %w", *dir, err)
	}
	tsvPath := filepath.Join(*dir, peopleFile)
	tsv, err := os.ReadFile(tsvPath)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(tsv), "\n") {
		if n, _, _ := strings.Cut(line, "\t"); n == p.Number {
			return fmt.Errorf("%s already has a certificate for %s", *dir, p.Identity)
		}
	}
	if err := issueOne(ca, p, filepath.Join(*dir, peopleDir)); err != nil {
		return err
	}
	tsv = append(tsv, fmt.Sprintf("%s\t%s\t%s\n", p.Number, p.Identity, p.Name)...)
	if err := writeFile(tsvPath, tsv); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "test certificate for %s (%s) in %s\n", p.Name, p.Identity, filepath.Join(*dir, peopleDir, p.Number+".pem"))
	return err
}
