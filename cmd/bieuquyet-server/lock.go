//go:build linux || darwin || dragonfly || freebsd || illumos || netbsd || openbsd

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockDatabase takes an exclusive, non-blocking flock on <db>.lock and holds it until the
// returned Closer is closed or the process ends; the kernel drops it when the process
// dies, so a crash or kill -9 leaves nothing stale. It locks a sibling rather than the
// database: SQLite keeps its own fcntl locks on the database, and on NFS Linux emulates
// flock with fcntl, so the two would collide. The lock file is never removed: a server
// that removed it on exit could leave one waiting server locking the unlinked file while a
// third created and locked a new one, and both would serve.
func lockDatabase(db string) (io.Closer, error) {
	// Through a symbolic link to the database, lock beside the file itself, so that both
	// names meet on the same lock.
	target := db
	if resolved, err := filepath.EvalSymlinks(db); err == nil {
		target = resolved
	}
	path := target + ".lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock database: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		holder := ""
		if b, err := io.ReadAll(f); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				holder = fmt.Sprintf(" (pid %d)", pid)
			}
		}
		f.Close()
		return nil, fmt.Errorf("another bieuquyet-server is serving %s%s; stop it first or give another --db", db, holder)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock database: flock %s: %w", path, err)
	}
	// The pid only makes the message above more helpful; the lock is what counts, so a
	// failed write is not worth refusing to start.
	if f.Truncate(0) == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
