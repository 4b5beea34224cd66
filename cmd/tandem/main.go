// Command tandem is the load-balancer appliance: the proxy engine and VRRP in
// one process, configured by one TOML file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/rs/zerolog"

	"github.com/tandemlb/tandem/internal/config"
)

// Set by the Makefile with -ldflags.
var (
	version = "dev"
	commit  = "unknown"
)

const defaultConfig = "/etc/tandem/tandem.toml"

// errUsage marks a command-line mistake: exit status 2.
var errUsage = errors.New("usage error")

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "run the proxy and VRRP in the foreground", cmdRun},
		{"check", "validate a configuration file", cmdCheck},
		{"ctl", "talk to a running tandem through its admin socket", cmdCtl},
		{"convert", "convert haproxy.cfg and keepalived.conf to tandem.toml", cmdConvert},
		{"version", "print version information", cmdVersion},
	}
}

func main() {
	zerolog.TimeFieldFormat = "2006-01-02T15:04:05.000Z07:00"
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			return run([]string{args[1], "--help"}, stdout, stderr)
		}
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		default:
			var ee exitError
			if errors.As(err, &ee) {
				return ee.code
			}
			fmt.Fprintf(stderr, "tandem %s: %v\n", name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "tandem: unknown command %q\n\n", name)
	usage(stderr)
	return 2
}

// exitError ends the process with code after its message was printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func usage(w io.Writer) {
	fmt.Fprintf(w, "tandem is a two-node HA load balancer: an L4/L7 proxy and VRRP in one binary.\n\nUsage:\n  tandem COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'tandem COMMAND --help' for the flags of a command.\n")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, args, desc string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tandem "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: tandem %s %s\n\n%s\n\nFlags:\n", name, args, desc)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args and rejects stray positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	return nil
}

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "", "Print the version, the commit it was built from and the Go version.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tandem %s (commit %s, %s, %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "[-c FILE]", "Validate the whole configuration (proxy and VRRP together) and print every\nproblem as FILE:LINE:COL: message. Exits 1 on any error. Things that depend\non this host (a missing VRRP interface, a bind address that is not local)\nare warnings here and errors for 'tandem run'.", stderr)
	file := fs.String("c", defaultConfig, "configuration `file`")
	quiet := fs.Bool("q", false, "print nothing when the configuration is valid")
	host := fs.Bool("host", false, "also compare this host (sysctls, open-file limit, capabilities, syslog) with what the configuration needs")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, ds, err := config.LoadFile(*file, config.Options{Host: true})
	if err != nil {
		return err
	}
	for _, d := range ds {
		fmt.Fprintln(stderr, d)
	}
	if cfg == nil {
		n := len(ds.Errors())
		fmt.Fprintf(stderr, "%s: %d %s\n", *file, n, pluralize(n, "error"))
		return exitError{1}
	}
	if !*quiet {
		fmt.Fprintf(stdout, "%s: configuration is valid: %s\n", *file, cfg.Summary())
	}
	if *host {
		if code := checkHost(cfg, "/proc", stdout); code != 0 {
			return exitError{code}
		}
	}
	return nil
}

func pluralize(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
