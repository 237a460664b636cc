package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
)

func runSign(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags("sign", stderr)
	dir := flags.String("dir", "", "the test CA's directory, made by init")
	as := flags.String("as", "", "sign as this delegate (a CCCD or CMND number) whoever the confirmation is for")
	out := flags.String("out", "", "write the signed files into this directory (default: beside each file, as NAME-signed.pdf)")
	visible := flags.Bool("visible", false, "draw a stroke in the confirmation's signature area")
	files, err := parse(flags, args)
	if err != nil {
		return err
	}
	if err := needDir("sign", *dir); err != nil {
		return err
	}
	if len(files) == 0 {
		return usageErrorf("sign: no PDF file given")
	}
	ca, err := signtest.LoadCA(filepath.Join(*dir, caDir))
	if err != nil {
		return fmt.Errorf("load the test CA (run init first): %w", err)
	}
	people, err := readPeople(filepath.Join(*dir, peopleFile))
	if err != nil {
		return err
	}
	var signer *person
	if *as != "" {
		p, err := byNumber(people, *as)
		if err != nil {
			return err
		}
		signer = &p
	}
	if *out != "" {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
	}
	failed := 0
	for _, file := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := signFile(ca, *dir, people, signer, file, *out, *visible)
		if err != nil {
			fmt.Fprintf(stderr, "bieuquyet-testca: sign %s: %v\n", file, err)
			failed++
			continue
		}
		fmt.Fprintln(stdout, line)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files not signed", failed, len(files))
	}
	return nil
}

// signFile signs one file and returns the line that reports it.
func signFile(ca *signtest.CA, dir string, people []person, signer *person, file, outDir string, visible bool) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	title, err := signtest.InfoString(b, "Title")
	if err != nil && signer == nil {
		return "", fmt.Errorf("read the delegate's name from the title: %w", err)
	}
	var p person
	switch {
	case signer != nil:
		p = *signer
	default:
		if p, err = byTitle(people, title); err != nil {
			return "", err
		}
	}
	s, err := signtest.LoadSigner(filepath.Join(dir, peopleDir, p.Number+".pem"), filepath.Join(dir, peopleDir, p.Number+".key"), ca)
	if err != nil {
		return "", err
	}
	signed, err := s.SignE(b, signtest.SignOptions{Visible: visible})
	if err != nil {
		return "", err
	}
	dst := outPath(file, outDir)
	if err := os.WriteFile(dst, signed, 0o644); err != nil {
		return "", err
	}
	what := ""
	if subject, err := signtest.InfoString(b, "Subject"); err == nil && subject != "" {
		what = " " + subject
	}
	return fmt.Sprintf("signed %s%s as %s (%s) -> %s", file, what, p.Name, p.Identity, dst), nil
}

// outPath is where the signed copy of file goes.
func outPath(file, outDir string) string {
	if outDir != "" {
		return filepath.Join(outDir, filepath.Base(file))
	}
	ext := filepath.Ext(file)
	if !strings.EqualFold(ext, ".pdf") {
		ext = ""
	}
	return strings.TrimSuffix(file, ext) + "-signed.pdf"
}

// readPeople reads people.tsv as init wrote it.
func readPeople(path string) ([]person, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the test CA's delegates (run init first): %w", err)
	}
	defer f.Close()
	var people []person
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		if n == 1 || strings.TrimSpace(sc.Text()) == "" {
			continue // the header
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 3 || !allDigits(cols[0]) {
			return nil, fmt.Errorf("%s:%d: want number, identity and name separated by tabs", path, n)
		}
		people = append(people, person{Number: cols[0], Identity: cols[1], Name: cols[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(people) == 0 {
		return nil, fmt.Errorf("%s: no delegates", path)
	}
	return people, nil
}

// byNumber finds a delegate by personal id number, given bare or as "CCCD:…".
func byNumber(people []person, id string) (person, error) {
	id = strings.TrimSpace(id)
	if _, n, ok := strings.Cut(id, ":"); ok {
		id = strings.TrimSpace(n)
	}
	for _, p := range people {
		if p.Number == id {
			return p, nil
		}
	}
	return person{}, usageErrorf("sign: --as %s: no delegate of the test CA has this number", id)
}

// errNoDelegate and errAmbiguous are byTitle's failures.
var (
	errNoDelegate = errors.New("no delegate of the test CA is named in the title")
	errAmbiguous  = errors.New("several delegates of the test CA have the name in the title")
)

// byTitle finds the delegate a confirmation is for from its title, which the service
// writes as "{document title} - {full name} - {poll title}". The document title has no
// " - ", the poll title may; so the name is what follows the first " - ", up to a
// following " - ". A name that is the start of a longer one ("Lê Văn An" and "Lê Văn
// An Bình") cannot be confused, since the separator must follow it.
func byTitle(people []person, title string) (person, error) {
	_, rest, ok := strings.Cut(title, " - ")
	if !ok {
		return person{}, fmt.Errorf("%w %q; it is not a confirmation's title, sign --as NUMBER", errNoDelegate, title)
	}
	var found []person
	for _, p := range people {
		if strings.HasPrefix(rest, p.Name+" - ") {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return person{}, fmt.Errorf("%w %q; sign --as NUMBER", errNoDelegate, title)
	case 1:
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, p := range found {
		ids[i] = p.Identity
	}
	return person{}, fmt.Errorf("%w (%s: %s); choose one with --as NUMBER", errAmbiguous, found[0].Name, strings.Join(ids, ", "))
}
