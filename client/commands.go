package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// command is one subcommand, such as "people create".
type command struct {
	path     string   // the words that name it: "people create"
	args     []string // its positional arguments, in order: {"GROUP", "PERSON"}; a last one ending in "..." takes zero or more
	synopsis string   // its flags, as usage shows them
	summary  string
	// setup declares the command's flags on fs and returns what runs once they are
	// parsed; help calls it too, to list the flags.
	setup func(fs *flag.FlagSet) action
}

// action runs a command with its positional arguments, its flags already parsed.
type action func(ctx context.Context, a *app, args []string) error

// commands lists every command in the order help shows them. Every RPC of the server's
// services has one.
var commands []*command

func init() {
	commands = append(commands, councilCommands...)
	commands = append(commands, peopleCommands...)
	commands = append(commands, groupsCommands...)
	commands = append(commands, rosterCommands...)
	commands = append(commands, pollCommands...)
	commands = append(commands, voteCommands...)
	commands = append(commands, confirmCommands...)
	commands = append(commands, returnCommands...)
	commands = append(commands, accessCommands...)
	commands = append(commands, auditCommands...)
}

// topics are the first words of the commands, in order.
func topics() []string {
	var out []string
	for _, c := range commands {
		t, _, _ := strings.Cut(c.path, " ")
		if len(out) == 0 || out[len(out)-1] != t {
			out = append(out, t)
		}
	}
	return out
}

// hasSubcommands reports whether topic is the first word of commands of two words, such
// as "poll"; "whoami" is a command of its own.
func hasSubcommands(topic string) bool {
	for _, c := range commands {
		if t, name, _ := strings.Cut(c.path, " "); t == topic && name != "" {
			return true
		}
	}
	return false
}

// isHelp reports whether arg asks for help where a subcommand would be.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// findCommand finds the command named by the first words of args.
func findCommand(args []string) (*command, error) {
	topic := args[0]
	var names []string
	for _, c := range commands {
		t, name, _ := strings.Cut(c.path, " ")
		if t != topic {
			continue
		}
		if name == "" {
			return c, nil // a command of one word, such as "whoami"
		}
		names = append(names, name)
		if len(args) > 1 && args[1] == name {
			return c, nil
		}
	}
	switch {
	case len(names) == 0:
		return nil, usageErrorf("", "unknown command %q; the commands are %s", topic, strings.Join(topics(), ", "))
	case len(args) == 1:
		return nil, usageErrorf(topic, "missing subcommand: %s", strings.Join(names, ", "))
	}
	return nil, usageErrorf(topic, "unknown command %q; the %s commands are %s", args[1], topic, strings.Join(names, ", "))
}

// newFlagSet returns a flag set that reports nothing itself: exit turns parse errors
// into one line, and help prints the flags on demand.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func (a *app) runCommand(ctx context.Context, c *command, args []string) error {
	fs := newFlagSet(c.path)
	act := c.setup(fs)
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		printCommandUsage(a.stdout, c)
		return errHelpShown
	}
	if err != nil {
		for _, g := range []string{"addr", "output", "timeout", "token", "tls-ca", "tls-cert", "tls-key", "insecure", "tz"} {
			if strings.HasSuffix(err.Error(), "not defined: -"+g) {
				return usageErrorf(c.path, "%v: --%s is a global flag and goes before the command", err, g)
			}
		}
		return usageErrorf(c.path, "%v", err)
	}
	least, most := len(c.args), len(c.args)
	if n := len(c.args); n > 0 && strings.HasSuffix(c.args[n-1], "...") {
		least, most = n-1, len(pos)
	}
	if len(pos) < least {
		return usageErrorf(c.path, "missing %s", strings.Join(c.args[len(pos):least], " and "))
	}
	if len(pos) > most {
		if flag, value, ok := boolWithSpace(fs, args); ok {
			return usageErrorf(c.path, "unexpected argument %q: give a yes-or-no flag its value with =, as in --%s=%s", value, flag, value)
		}
		return usageErrorf(c.path, "unexpected argument %q", pos[len(c.args)])
	}
	return act(ctx, a, pos)
}

// boolWithSpace finds a yes-or-no flag given its value after a space, as in
// "--delegate false", which the flag package reads as the flag and an argument.
func boolWithSpace(fs *flag.FlagSet, args []string) (name, value string, ok bool) {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--" {
			break
		}
		v := args[i+1]
		if (v != "true" && v != "false") || !strings.HasPrefix(args[i], "-") {
			continue
		}
		n := strings.TrimLeft(args[i], "-")
		f := fs.Lookup(n)
		if f == nil {
			continue
		}
		if b, isBool := f.Value.(interface{ IsBoolFlag() bool }); isBool && b.IsBoolFlag() {
			return n, v, true
		}
	}
	return "", "", false
}

// parseInterspersed parses flags wherever they are among the positional arguments, so
// that "people update 12 --title X" works as people write it. After "--" everything is
// positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// requireFlags returns a usage error naming the first of names that was not given.
func requireFlags(fs *flag.FlagSet, names ...string) error {
	set := visited(fs)
	for _, n := range names {
		if !set[n] {
			return usageErrorf(fs.Name(), "--%s is required", n)
		}
	}
	return nil
}

// visited returns the flags given on the command line.
func visited(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// maskPaths returns, in the order of fields, the field names whose flags were given.
// fields pairs each flag with the field it sets: {"full-name", "full_name", …}.
func maskPaths(fs *flag.FlagSet, fields ...string) []string {
	set := visited(fs)
	var paths []string
	for i := 0; i+1 < len(fields); i += 2 {
		if set[fields[i]] {
			paths = append(paths, fields[i+1])
		}
	}
	return paths
}

// nothingToUpdate is the usage error of an update command given no field to change.
func nothingToUpdate(fs *flag.FlagSet, fields ...string) error {
	var names []string
	for i := 0; i+1 < len(fields); i += 2 {
		names = append(names, "--"+fields[i])
	}
	return usageErrorf(fs.Name(), "nothing to update: give at least one of %s", strings.Join(names, ", "))
}

func (a *app) help(args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		printUsage(a.stdout)
		return errHelpShown
	}
	c, err := findCommand(args)
	if err != nil {
		var ue *usageError
		if errors.As(err, &ue) && len(args) == 1 && ue.cmd == args[0] {
			// "help people" lists the people commands.
			printUsage(a.stdout, args[0])
			return errHelpShown
		}
		return err
	}
	printCommandUsage(a.stdout, c)
	return errHelpShown
}

func usageLine(c *command) string {
	parts := []string{"bieuquyet", c.path}
	parts = append(parts, c.args...)
	if c.synopsis != "" {
		parts = append(parts, c.synopsis)
	}
	return strings.Join(parts, " ")
}

// printUsage lists the commands, or those of the given topics.
func printUsage(w io.Writer, only ...string) {
	fmt.Fprint(w, `bieuquyet is the command-line client of the bieuquyet roster and poll service.

Usage:
  bieuquyet [global flags] COMMAND [arguments] [flags]

Global flags, before the command:
  --addr HOST:PORT     the server (default $`+envAddr+`, else `+defaultAddr+`)
  --output table|json  how to print results (default table)
  --timeout DURATION   deadline of each attempt of a call to the server (default `+defaultTimeout.String()+`);
                       a read, or a change sent with a request id, is tried up to
                       3 times while the server is unreachable or late
  --tz ZONE            time zone of the times shown, and of those given without an
                       offset (default $`+envTZ+`, else `+defaultTZ+`)
  --token SECRET       bearer token (default $`+envToken+`)
  --tls-ca FILE        PEM certificate of the CA that signed the server's: turns TLS on
  --tls-cert FILE      PEM client certificate, for servers that ask for one (with --tls-key)
  --tls-key FILE       PEM key of --tls-cert
  --insecure           allow plaintext to an address other than loopback, when
                       something else encrypts the traffic (without it, such an
                       address needs --tls-ca)

Commands:
`)
	for _, c := range commands {
		t, _, _ := strings.Cut(c.path, " ")
		if len(only) > 0 && t != only[0] {
			continue
		}
		fmt.Fprintf(w, "  %s\n        %s\n", strings.TrimPrefix(usageLine(c), "bieuquyet "), c.summary)
	}
	fmt.Fprint(w, `
PERSON is people/ID, ID or a phone number (0912 345 678, +84912345678).
GROUP is groups/ID, ID or the group's exact name ("HĐND - Ban Pháp chế").
TOKEN is tokens/ID or ID. POLL is polls/ID or ID. CONFIRMATION is
polls/ID/confirmations/ID, as confirm list shows it. TIME is RFC 3339
(2026-03-01T08:00:00+07:00) or a date (2026-03-01), which means midnight in --tz; the
--deadline of poll open and confirm generate, and --confirm-by, take RFC 3339 or
"2026-03-01 17:00" in --tz.
A change that takes --request-id (poll open, close and cancel, vote record and
import, confirm generate, submit, attest, decline and resolve, token create) is sent
with a new random id unless given one; the server carries out one id once. When such a change fails unanswered, the id is printed:
run the same command again with --request-id ID to be sure it happens once.
OPTION is an option's number, as poll show lists them from 1, or its text: as the
poll words it ("Tán thành"), or without diacritics or case ("tan thanh") when that
names one option only.
Flags may come before or after the arguments. Run 'bieuquyet help COMMAND' or
'bieuquyet COMMAND --help' for a command's flags, for instance 'bieuquyet help people
create'; 'bieuquyet poll --help' lists the poll commands.
`)
}

func printCommandUsage(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", usageLine(c), c.summary)
	fs := newFlagSet(c.path)
	c.setup(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// enumFlag is a flag whose value is one of a few words.
type enumFlag struct {
	value   string
	allowed []string
}

func (f *enumFlag) String() string { return f.value }

func (f *enumFlag) Set(s string) error {
	for _, a := range f.allowed {
		if s == a || strings.ReplaceAll(s, "-", "_") == a {
			f.value = a
			return nil
		}
	}
	return fmt.Errorf("must be %s", orList(f.allowed))
}

// optBool is a yes-or-no flag that may also be left out: unset, --delegate (true) or
// --delegate=false, like every other yes-or-no flag. IsBoolFlag makes the flag package
// take it without a value, so "--delegate false" is refused instead of half-read.
type optBool struct {
	set   bool
	value bool
}

func (f *optBool) String() string {
	if !f.set {
		return ""
	}
	return strconv.FormatBool(f.value)
}

func (f *optBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("must be true or false")
	}
	f.set, f.value = true, v
	return nil
}

func (f *optBool) IsBoolFlag() bool { return true }

func (f *optBool) ptr() *bool {
	if !f.set {
		return nil
	}
	v := f.value
	return &v
}

func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
