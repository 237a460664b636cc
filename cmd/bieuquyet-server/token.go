package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	bq "github.com/bieuquyet/bieuquyet"
	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", env("BIEUQUYET_DB", "./data/bieuquyet.db"), "SQLite database file, created if missing (env BIEUQUYET_DB)")
}

// tokenCommand is `bieuquyet-server token create`: it makes a token directly in the
// database, so that the first admin can get in. It works while the server runs (SQLite
// serialises the writers) and prints only the secret on stdout, for scripts.
func tokenCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: bieuquyet-server token create --role admin|secretariat|person --name NAME [--person ID] [--ttl 2160h] [--db PATH]")
	}
	fs := flag.NewFlagSet("bieuquyet-server token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbPath := dbFlag(fs)
	role := fs.String("role", "", "admin, secretariat or person")
	name := fs.String("name", "", "who or what the token is for")
	person := fs.String("person", "", "for a person token: people/N or N")
	ttl := fs.Duration("ttl", 90*24*time.Hour, "how long the token lives")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if _, err := os.Stat(*dbPath); err != nil {
		// Creating a database here would hide a mistyped path behind an empty roster.
		return fmt.Errorf("--db %s: %w (start the server once to create it)", *dbPath, err)
	}
	t := &bq.Token{Name: bq.CleanText(*name), Role: bq.TokenRole(*role), ExpireTime: time.Now().Add(*ttl).UTC()}
	if *person != "" {
		id, err := strconv.ParseInt(strings.TrimPrefix(*person, "people/"), 10, 64)
		if err != nil || id <= 0 {
			return fmt.Errorf("--person %q is not people/N or N", *person)
		}
		t.PersonID = id
	}
	if err := t.Validate("token", time.Now()).Err("invalid token"); err != nil {
		return err
	}
	secret, hash, err := bq.NewTokenSecret()
	if err != nil {
		return err
	}
	t.Hash = hash
	st, err := sqlite.Open(ctx, *dbPath, sqlite.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	actor := "local:bieuquyet-server"
	if u, err := user.Current(); err == nil {
		actor += ":" + u.Username
	}
	tok, err := st.CreateToken(ctx, bq.Audit{Actor: actor, RequestID: "offline"}, t, bq.RequestKey{})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "created tokens/%d (%s, %q), expires %s; the secret is shown once:\n", tok.ID, tok.Role, tok.Name, tok.ExpireTime.Format(time.RFC3339))
	_, err = fmt.Fprintln(stdout, secret)
	return err
}
