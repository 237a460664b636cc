// Command bieuquyet is the command-line client of the bieuquyet service: the council's
// roster and its polls. Run "bieuquyet help" for its commands; the work is done by
// package client. Ctrl-C ends a command, and with it a poll watch.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bieuquyet/bieuquyet/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := client.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
