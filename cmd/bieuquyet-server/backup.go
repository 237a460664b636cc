package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/bieuquyet/bieuquyet/store/sqlite"
)

// backupAbout explains backup, in both the main help and its own.
const backupAbout = `backup copies the database into one file while the server keeps serving: it takes no
lock and blocks no vote, and the copy holds every change committed before it started.
The copy is checked (integrity, schema version, the audit trail verified whole) before
it replaces --out; on any failure --out is left as it was and it exits non-zero. The
database must have this build's schema version. To restore, see README, Operations.
`

// backupConfig holds the flags of backup.
type backupConfig struct{ db, out string }

func backupFlags(c *backupConfig) *flag.FlagSet {
	fs := quietFlagSet("bieuquyet-server backup")
	fs.StringVar(&c.db, "db", env("BIEUQUYET_DB", "./data/bieuquyet.db"), "the SQLite database file to copy (env BIEUQUYET_DB)")
	fs.StringVar(&c.out, "out", "", "`FILE` to write the copy to, replaced only by a copy that checks out")
	return fs
}

func backupHelp(stdout io.Writer) error {
	fmt.Fprint(stdout, "Usage:\n  bieuquyet-server backup [--db PATH] --out FILE\n\n"+backupAbout+"\nFlags of backup:\n")
	printFlags(stdout, backupFlags(&backupConfig{}))
	return nil
}

// backupCommand is `bieuquyet-server backup`. Like token create it does not take the
// server's lock: it only reads, and SQLite keeps its snapshot whole.
func backupCommand(ctx context.Context, args []string, stdout io.Writer) error {
	var c backupConfig
	fs := backupFlags(&c)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return backupHelp(stdout)
	} else if err != nil {
		return fmt.Errorf("backup: %w (see `bieuquyet-server help backup`)", err)
	}
	switch {
	case fs.NArg() > 0 && fs.Arg(0) == "help":
		return backupHelp(stdout)
	case fs.NArg() > 0:
		return fmt.Errorf("backup: unexpected argument %q (see `bieuquyet-server help backup`)", fs.Arg(0))
	case c.out == "":
		return errors.New("backup: --out is required: the file to write the copy to (see `bieuquyet-server help backup`)")
	}
	if err := checkDatabase(c.db); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	res, err := sqlite.Backup(ctx, c.db, c.out)
	if err != nil {
		return fmt.Errorf("%w; %s is left as it was", err, c.out)
	}
	a := res.Audit
	fmt.Fprintf(stdout, "backed up %s to %s\n", c.db, c.out)
	fmt.Fprintf(stdout, "  pages:          %d of %d bytes (%d bytes)\n", res.Pages, res.PageSize, res.Pages*res.PageSize)
	fmt.Fprintf(stdout, "  schema version: %d\n", res.SchemaVersion)
	fmt.Fprintf(stdout, "  integrity:      ok\n")
	events := "events"
	if a.Count == 1 {
		events = "event"
	}
	fmt.Fprintf(stdout, "  audit trail:    intact, %d %s\n", a.Count, events)
	// As `bieuquyet audit head` prints it, for `bieuquyet audit verify --head` later.
	fmt.Fprintf(stdout, "  audit head:     %d:%x\n", a.HeadSeq, a.HeadHash)
	return nil
}
