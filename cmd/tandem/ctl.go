package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

func cmdCtl(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("ctl", "[-s SOCKET] COMMAND...", "Send an admin command to a running tandem (show info, show stat, set server ...).", stderr)
	fs.String("s", "/run/tandem/admin.sock", "admin `socket` path")
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
	return fmt.Errorf("%q: the admin socket is not implemented yet", strings.Join(fs.Args(), " "))
}
