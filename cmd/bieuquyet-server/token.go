package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

const tokenSynopsis = `  bieuquyet-server token create --role admin|secretariat|person --name NAME
                                [--person people/N] [--ttl 2160h] [--db PATH]
`

// tokenAbout explains token create, in both the main help and the token command's.
const tokenAbout = `token create makes an access token straight in the database, so that the first admin can
get in before any token exists. It works offline, even beside a server running on the
same database. The database must exist already: start the server once to create it.

It prints the secret alone on stdout, once, and what it created on stderr. On any failure
it says why on stderr, prints nothing on stdout and exits non-zero. In a script, keep the
assignment apart from export, or export hides the failure:
  BIEUQUYET_TOKEN=$(bieuquyet-server token create --role admin --name "Quản trị viên") &&
    export BIEUQUYET_TOKEN
`

// tokenConfig holds the flags of token create.
type tokenConfig struct {
	db, role, name, person string
	ttl                    time.Duration
}

func tokenFlags(c *tokenConfig) *flag.FlagSet {
	fs := quietFlagSet("bieuquyet-server token create")
	fs.StringVar(&c.db, "db", env("BIEUQUYET_DB", "./data/bieuquyet.db"), "the SQLite database file; it must exist (env BIEUQUYET_DB)")
	fs.StringVar(&c.role, "role", "", "admin, secretariat or person")
	fs.StringVar(&c.name, "name", "", "who or what the token is for")
	fs.StringVar(&c.person, "person", "", "for a person token: people/N or N")
	fs.DurationVar(&c.ttl, "ttl", 90*24*time.Hour, "how long the token lives, at most two years")
	return fs
}

func tokenHelp(stdout io.Writer) error {
	fmt.Fprint(stdout, "Usage:\n"+tokenSynopsis+"\n"+tokenAbout+"\nFlags of token create:\n")
	printFlags(stdout, tokenFlags(&tokenConfig{}))
	return nil
}

// tokenCommand is `bieuquyet-server token …`; create is its only subcommand.
func tokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("token needs a subcommand: bieuquyet-server token create --role … --name … (see `bieuquyet-server help token`)")
	}
	switch args[0] {
	case "create":
		return tokenCreateCommand(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		return tokenHelp(stdout)
	}
	return fmt.Errorf("unknown token subcommand %q: the only one is create (see `bieuquyet-server help token`)", args[0])
}

// tokenCreateCommand is `bieuquyet-server token create`. It does not take the server's
// lock on purpose: SQLite serialises its write with the server's. It writes to stdout only
// once the token exists, so that `$(…)` is empty whenever it fails.
func tokenCreateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c tokenConfig
	fs := tokenFlags(&c)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return tokenHelp(stdout)
	} else if err != nil {
		return fmt.Errorf("token create: %w (see `bieuquyet-server help token`)", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("token create: unexpected argument %q: a --name with spaces needs quotes (see `bieuquyet-server help token`)", fs.Arg(0))
	}
	t, err := c.token(time.Now())
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	if err := checkDatabase(c.db); err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	secret, hash, err := bq.NewTokenSecret()
	if err != nil {
		return fmt.Errorf("token create: %w", err)
	}
	t.Hash = hash
	st, err := sqlite.Open(ctx, c.db, sqlite.Options{})
	if err != nil {
		return fmt.Errorf("token create: database %s: %w", c.db, err)
	}
	defer st.Close()
	actor := "local:bieuquyet-server"
	if u, err := user.Current(); err == nil {
		actor += ":" + u.Username
	}
	tok, err := st.CreateToken(ctx, bq.Audit{Actor: actor, RequestID: "offline"}, t, bq.RequestKey{})
	if err != nil {
		return fmt.Errorf("token create in %s: %w", c.db, inFlagTerms(err))
	}
	fmt.Fprintf(stderr, "created tokens/%d (%s, %q) in %s, expires %s; the secret is shown once:\n",
		tok.ID, tok.Role, tok.Name, c.db, tok.ExpireTime.Format(time.RFC3339))
	if _, err := fmt.Fprintln(stdout, secret); err != nil {
		return fmt.Errorf("token create: print the secret: %w (tokens/%d exists but nobody has its secret: revoke it)", err, tok.ID)
	}
	return nil
}

// token checks the flags and returns the token they describe, without its secret.
func (c *tokenConfig) token(now time.Time) (*bq.Token, error) {
	role := bq.TokenRole(c.role)
	switch {
	case c.role == "":
		return nil, errors.New("--role is required: admin, secretariat or person")
	case !role.Valid():
		return nil, fmt.Errorf("--role %q is not admin, secretariat or person", c.role)
	case role == bq.TokenPerson && c.person == "":
		return nil, errors.New("--role person needs --person people/N, the person the token is for")
	case role != bq.TokenPerson && c.person != "":
		return nil, fmt.Errorf("--person is only for --role person, not %s", c.role)
	case c.ttl <= 0:
		return nil, fmt.Errorf("--ttl %s must be positive", c.ttl)
	case c.ttl > bq.MaxTokenTTL:
		return nil, fmt.Errorf("--ttl %s is longer than two years (%s)", c.ttl, bq.MaxTokenTTL)
	}
	t := &bq.Token{Name: bq.CleanText(c.name), Role: role, ExpireTime: now.Add(c.ttl).UTC()}
	if c.person != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(c.person, "people/"), 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("--person %q is not people/N or N", c.person)
		}
		t.PersonID = id
	}
	if err := t.Validate("token", now).Err("invalid token"); err != nil {
		return nil, inFlagTerms(err)
	}
	return t, nil
}

// flagOf names the flag behind each field a token's checks may report.
var flagOf = map[string]string{
	"token.display_name": "--name",
	"token.role":         "--role",
	"token.person":       "--person",
	"token.expire_time":  "--ttl",
}

// inFlagTerms restates a domain error's field violations with the flags to fix, since
// the person at the terminal never sees the API's field names.
func inFlagTerms(err error) error {
	var e *bq.Error
	if !errors.As(err, &e) || len(e.Violations) == 0 {
		return err
	}
	parts := make([]string, 0, len(e.Violations))
	for _, v := range e.Violations {
		name := flagOf[v.Field]
		if name == "" {
			name = v.Field
		}
		parts = append(parts, name+" "+v.Description)
	}
	return errors.New(strings.Join(parts, "; "))
}

// checkDatabase refuses a database that does not exist. Creating it here would give the
// user a token in a fresh, empty database (a mistyped --db, or ./data seen from another
// folder) that no server uses, and nothing would say so.
func checkDatabase(db string) error {
	info, err := os.Stat(db)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The absolute path shows where it looked: the usual mistake is the default ./data
		// read from another folder.
		where := db
		if abs, err := filepath.Abs(db); err == nil {
			if abs != db {
				where += " (looked for " + abs + ")"
			}
			if _, err := os.Stat(filepath.Dir(abs)); errors.Is(err, fs.ErrNotExist) {
				where += ", and the folder " + filepath.Dir(abs) + " does not exist either"
			}
		}
		return fmt.Errorf("no database at %s: start the server once with `make run` to create it, or give --db", where)
	case err != nil:
		return fmt.Errorf("database %s: %w", db, err)
	case info.IsDir():
		return fmt.Errorf("--db %s is a folder, not a database file", db)
	}
	return nil
}
