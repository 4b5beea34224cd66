package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tandemlb/tandem/internal/convert"
)

func cmdConvert(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("convert", "[--haproxy FILE] [--keepalived FILE] [-o FILE] [--strict]",
		"Convert an haproxy.cfg and a keepalived.conf into one tandem.toml that 'tandem check'\n"+
			"accepts. Every line that does not convert (or not exactly) is listed on stderr as\n"+
			"FILE:LINE: line: reason and kept in the output as a comment. Exits 0 when\n"+
			"everything converted, 1 when the output is partial; with --strict a partial\n"+
			"conversion writes nothing.", stderr)
	haproxy := fs.String("haproxy", "", "haproxy.cfg `file`")
	keepalived := fs.String("keepalived", "", "keepalived.conf `file`")
	out := fs.String("o", "-", "output `file` (- for stdout)")
	strict := fs.Bool("strict", false, "fail, writing nothing, unless everything converts")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *haproxy == "" && *keepalived == "" {
		fmt.Fprintln(stderr, "tandem convert: give --haproxy, --keepalived or both")
		fs.Usage()
		return errUsage
	}
	opts := convert.Options{LookupEnv: os.LookupEnv}
	for _, in := range []struct {
		name string
		dst  **convert.Input
	}{{*haproxy, &opts.HAProxy}, {*keepalived, &opts.Keepalived}} {
		if in.name == "" {
			continue
		}
		b, err := os.ReadFile(in.name)
		if err != nil {
			return fmt.Errorf("read input: %w", err)
		}
		*in.dst = &convert.Input{Name: in.name, Data: b}
	}
	res, err := convert.Convert(opts)
	if err != nil {
		return err
	}
	for _, is := range res.Issues {
		fmt.Fprintln(stderr, is)
	}
	if *strict && !res.Complete() {
		fmt.Fprintf(stderr, "tandem convert: %s not converted; nothing written (--strict)\n", countLines(len(res.Issues)))
		return exitError{1}
	}
	if err := writeOutput(*out, res.TOML, stdout); err != nil {
		return err
	}
	if !res.Complete() {
		fmt.Fprintf(stderr, "tandem convert: partial: %s not converted (kept as comments in %s)\n", countLines(len(res.Issues)), outName(*out))
		return exitError{1}
	}
	return nil
}

func countLines(n int) string {
	if n == 1 {
		return "1 line"
	}
	return fmt.Sprintf("%d lines", n)
}

func outName(name string) string {
	if name == "-" {
		return "the output"
	}
	return name
}

// writeOutput writes the file whole or not at all: a temporary file in the
// same directory renamed over the target. The configuration may hold
// passwords, so it is not world-readable.
func writeOutput(name string, data []byte, stdout io.Writer) error {
	if name == "-" {
		_, err := stdout.Write(data)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tandem-convert-*")
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write output %s: %w", name, err)
	}
	if err := tmp.Chmod(0o640); err != nil {
		tmp.Close()
		return fmt.Errorf("write output %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write output %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}
