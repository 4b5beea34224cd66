package main

import (
	"errors"
	"io"
)

func cmdConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", "[--haproxy FILE] [--keepalived FILE] [-o FILE]", "Convert an haproxy.cfg and a keepalived.conf into one tandem.toml.", stderr)
	fs.String("haproxy", "", "haproxy.cfg `file`")
	fs.String("keepalived", "", "keepalived.conf `file`")
	fs.String("o", "-", "output `file` (- for stdout)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("not implemented yet")
}
