//go:build !(linux || darwin || dragonfly || freebsd || illumos || netbsd || openbsd)

package main

import "io"

type noLock struct{}

func (noLock) Close() error { return nil }

// lockDatabase does nothing where flock is missing (Windows): Linux is the target, and
// elsewhere nothing stops a second server on the same database.
func lockDatabase(string) (io.Closer, error) { return noLock{}, nil }
