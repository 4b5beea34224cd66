package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tandemlb/tandem/internal/admin"
)

func cmdCtl(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ctl", "[-s SOCKET] COMMAND...", `Send an admin command to a running tandem through its admin socket and print
the answer. Exits 1 if a command failed or tandem is not running.

Commands (';' separates several, as with socat on the socket):
  show info | show stat [json] | show servers state [BACKEND] | show vrrp
  show table [BACKEND] | clear table BACKEND | show peers
  set server BACKEND/SERVER state ready|drain|maint
  set server BACKEND/SERVER weight 0-256 | get weight BACKEND/SERVER
  enable|disable server BACKEND/SERVER | enable|disable health BACKEND/SERVER
  vrrp failover INSTANCE | reload | help`, stderr)
	sock := fs.String("s", "/run/tandem/admin.sock", "admin `socket` path ([global] admin_socket)")
	timeout := fs.Duration("t", 30*time.Second, "give up after this `duration`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	// Words are joined as typed: `tandem ctl show stat` and
	// `tandem ctl "show info; show vrrp"` both work.
	line := strings.Join(fs.Args(), " ")
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	r, err := admin.Query(ctx, *sock, line)
	if err != nil {
		return err
	}
	if r.Text != "" {
		fmt.Fprintln(stdout, r.Text)
	}
	if r.Failed() {
		for _, e := range r.Errors {
			fmt.Fprintf(stderr, "tandem ctl: %s\n", e)
		}
		return exitError{1}
	}
	return nil
}
