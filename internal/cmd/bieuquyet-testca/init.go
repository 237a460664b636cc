package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/bieuquyet/bieuquyet/internal/signtest"
	"github.com/bieuquyet/bieuquyet/rosterfile"
)

// The layout of a test CA's directory.
const (
	caDir      = "ca"
	rootsDir   = "roots"
	peopleDir  = "people"
	peopleFile = "people.tsv"
	readmeFile = "README.txt"
	rootFile   = "bieuquyet-test-ca-root.pem"
)

const readme = `THIS IS A TEST CERTIFICATE AUTHORITY. DO NOT TRUST IT.
ĐÂY LÀ CA THỬ NGHIỆM. KHÔNG DÙNG THẬT.

Made by bieuquyet-testca for demonstrations and tests. Every private key, the CA's
included, is a plain file here: anyone who can read this directory can sign as any
delegate. Give roots/ to a test server only (bieuquyet-server --trust-roots DIR/roots),
never to a production one, and delete this directory when the demonstration is over.
`

// person is a delegate of the test CA.
type person struct {
	Number   string // the personal id number, the name of their files
	Identity string // "CCCD:<number>" or "CMND:<number>", their certificate's UID
	Name     string // full name, their certificate's CN
}

func runInit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlags("init", stderr)
	dir := flags.String("dir", "", "the directory to write the test CA into (created if missing)")
	roster := flags.String("roster", filepath.Join("examples", "roster.csv"), "the roster file, CSV or XLSX")
	force := flags.Bool("force", false, "replace a test CA already in --dir")
	operands, err := parse(flags, args)
	if err != nil {
		return err
	}
	if err := needDir("init", *dir); err != nil {
		return err
	}
	if len(operands) > 0 {
		return usageErrorf("init: unexpected argument %q", operands[0])
	}

	content, err := os.ReadFile(*roster)
	if err != nil {
		return fmt.Errorf("read the roster: %w", err)
	}
	f, err := rosterfile.Parse(content, rosterfile.FormatDetect)
	if err != nil {
		return fmt.Errorf("%s: %w", *roster, err)
	}
	var people []person
	skipped := 0
	for _, rp := range f.People {
		if !rp.Person.Delegate {
			continue
		}
		// fmt rather than a field: the roster's identity is a string on older branches and
		// a SigningIdentity (whose String is "CCCD:…") on newer ones.
		p, ok := personOf(fmt.Sprint(rp.Person.SigningIdentity), rp.Person.FullName)
		if !ok {
			skipped++
			continue
		}
		people = append(people, p)
	}
	if len(people) == 0 {
		return fmt.Errorf("%s: no delegate has a CCCD or CMND signing identity", *roster)
	}

	if _, err := os.Stat(filepath.Join(*dir, caDir)); err == nil && !*force {
		return fmt.Errorf("%s already holds a test CA; use --force to replace it (files signed with it will no longer verify against the new root)", *dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if *force {
		for _, d := range []string{caDir, rootsDir, peopleDir} {
			if err := os.RemoveAll(filepath.Join(*dir, d)); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{caDir, rootsDir, peopleDir} {
		if err := os.MkdirAll(filepath.Join(*dir, d), 0o700); err != nil {
			return err
		}
	}

	progress := func(int) {}
	if isTerminal(stderr) {
		progress = func(n int) {
			fmt.Fprintf(stderr, "\rbieuquyet-testca: %d/%d delegate certificates", n, len(people))
			if n == len(people) {
				fmt.Fprintln(stderr)
			}
		}
	}
	ca, err := signtest.NewCAE(CAName)
	if err != nil {
		return err
	}
	if err := ca.Save(filepath.Join(*dir, caDir)); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*dir, rootsDir, rootFile), ca.RootPEM()); err != nil {
		return err
	}
	if err := issue(ctx, ca, people, filepath.Join(*dir, peopleDir), progress); err != nil {
		return err
	}
	var tsv strings.Builder
	tsv.WriteString("number\tidentity\tname\n")
	for _, p := range people {
		fmt.Fprintf(&tsv, "%s\t%s\t%s\n", p.Number, p.Identity, p.Name)
	}
	if err := writeFile(filepath.Join(*dir, peopleFile), []byte(tsv.String())); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(*dir, readmeFile), []byte(readme)); err != nil {
		return err
	}
	note := ""
	if skipped > 0 {
		note = fmt.Sprintf(" (%d delegates without a CCCD or CMND signing identity have none)", skipped)
	}
	_, err = fmt.Fprintf(stdout, "test CA in %s: %d delegate certificates%s; trust %s with bieuquyet-server --trust-roots (tests only)\n",
		*dir, len(people), note, filepath.Join(*dir, rootsDir))
	return err
}

// personOf reads a roster's signing identity; ok is false unless it is a CCCD (12 digits)
// or CMND (9 or 12 digits) number.
func personOf(identity, name string) (person, bool) {
	kind, number, ok := strings.Cut(strings.TrimSpace(identity), ":")
	kind = strings.ToUpper(strings.TrimSpace(kind))
	number = strings.TrimSpace(number)
	if !ok || !allDigits(number) {
		return person{}, false
	}
	switch {
	case kind == "CCCD" && len(number) == 12, kind == "CMND" && (len(number) == 9 || len(number) == 12):
		return person{Number: number, Identity: kind + ":" + number, Name: name}, true
	}
	return person{}, false
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// issue makes and saves the people's certificates, one worker per CPU since each needs a
// new RSA key, and calls progress with the number done after each.
func issue(ctx context.Context, ca *signtest.CA, people []person, dir string, progress func(int)) error {
	work := make(chan person)
	var (
		mu       sync.Mutex
		done     int
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(people)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				err := issueOne(ca, p, dir)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				done++
				progress(done)
				mu.Unlock()
			}
		}()
	}
feed:
	for _, p := range people {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		select {
		case work <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func issueOne(ca *signtest.CA, p person, dir string) error {
	s, err := ca.DelegateE(signtest.DelegateOptions{FullName: p.Name, UID: p.Identity})
	if err != nil {
		return fmt.Errorf("certificate of %s (%s): %w", p.Name, p.Identity, err)
	}
	return s.Save(filepath.Join(dir, p.Number+".pem"), filepath.Join(dir, p.Number+".key"))
}

// writeFile writes a file readable by its owner only, as signtest does.
func writeFile(path string, b []byte) error {
	return os.WriteFile(path, b, 0o600)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
