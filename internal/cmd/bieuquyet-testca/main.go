// Command bieuquyet-testca is a throw-away TEST certificate authority for demonstrations
// and end-to-end tests of the signed confirmations. Its certificates prove nothing: its
// keys are plain files, anyone can issue a certificate in any delegate's name with it,
// and a server that trusts its root accepts forged confirmations. Never give its roots
// directory to a production server.
//
// It makes a test root and intermediate and one personal certificate for every delegate
// of a roster file who has a CCCD (or CMND) signing identity (init), signs issued
// confirmation PDFs as their delegate or as anyone else (sign), and tampers with signed
// files to show how they are rejected (tamper). Run it from the repository root:
//
//	go run ./internal/cmd/bieuquyet-testca help
//
// The work is done by package signtest, the test PKI and signer of the test suites.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// CAName names the test intermediate (and, with " Root CA", the root): a certificate
// viewer shows at once that it is not a real CA.
const CAName = "bieuquyet TEST CA – KHÔNG DÙNG THẬT (do not trust)"

// The exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the command failed
	exitUsage = 2 // the command line is wrong
)

const usage = `bieuquyet-testca: a throw-away TEST certificate authority for bieuquyet.
Its certificates prove nothing; never trust its roots in production.

Usage:
  bieuquyet-testca init --dir DIR [--roster FILE] [--force]
      Make a test root and intermediate, and a certificate for every delegate of the
      roster file (CSV or XLSX; default examples/roster.csv) with a CCCD or CMND signing
      identity: subject CN = the full name, UID = "CCCD:<number>". Writes
        DIR/roots/          the root certificate alone: bieuquyet-server --trust-roots DIR/roots
        DIR/ca/             the root and intermediate with their keys
        DIR/people/N.pem    a delegate's chain (leaf, intermediate); N.key its key
        DIR/people.tsv      number, identity and name of each delegate
  bieuquyet-testca add --dir DIR --name NAME --id CCCD:NUMBER
      Issue one more delegate's certificate from the test CA in DIR (for a person added
      to the roster after init).
  bieuquyet-testca sign --dir DIR [--as NUMBER] [--out OUTDIR] [--visible] FILE...
      Sign each issued confirmation PDF as its delegate, found by the name in the
      PDF's title, or as the delegate NUMBER (a CCCD or CMND number, "CCCD:" optional)
      whoever the confirmation is for. Writes OUTDIR/<file name>, or FILE's name with
      "-signed.pdf" beside it. --visible puts a drawn stroke in the signature area.
  bieuquyet-testca tamper --mode MODE FILE OUT
      Write a tampered copy of a signed PDF. MODE is one of
        flip    change a byte of the Info dictionary's date, inside the signed range
        sig     change a byte of the signature value
        strip   zero the signature's /Contents in place
        append  add an incremental update after the signature (a new /ModDate)
        page    add an update that prints other text on page 1
        annot   add an update with a text annotation on page 1
  bieuquyet-testca help

Exit status: 0 on success, 1 on failure, 2 on a wrong command line.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelpShown ends a run that printed its help because it was asked for.
var errHelpShown = errors.New("help shown")

// exitCode reports err on stderr and returns the exit code for it.
func exitCode(err error, stderr io.Writer) int {
	var ue *usageError
	switch {
	case err == nil || errors.Is(err, errHelpShown):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "bieuquyet-testca: %v\nRun \"bieuquyet-testca help\" for usage.\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "bieuquyet-testca: %v\n", err)
		return exitFail
	}
}

// run runs one command; main and the tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageErrorf("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "init":
		return runInit(ctx, args, stdout, stderr)
	case "add":
		return runAdd(ctx, args, stdout, stderr)
	case "sign":
		return runSign(ctx, args, stdout, stderr)
	case "tamper":
		return runTamper(args, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return errHelpShown
	}
	return usageErrorf("unknown command %q; the commands are init, sign, tamper and help", cmd)
}

// newFlags returns a flag set for a command that reports its errors as usage errors.
func newFlags(cmd string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bieuquyet-testca "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags and operands in any order ("sign a.pdf --dir x b.pdf"), and
// returns the operands; everything after "--" is an operand.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var operands []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelpShown
			}
			return nil, usageErrorf("%s: %v", fs.Name(), err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return operands, nil
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(operands, rest...), nil
		}
		operands, args = append(operands, rest[0]), rest[1:]
	}
}

// needDir checks the --dir flag.
func needDir(cmd, dir string) error {
	if strings.TrimSpace(dir) == "" {
		return usageErrorf("%s: --dir DIR is required", cmd)
	}
	return nil
}
