// Command mkrpm builds tandem's RPM for CentOS 7 (see package packaging):
//
//	go run ./packaging/cmd/mkrpm -bin bin/tandem -version "$(git describe --tags --always --dirty)" -out dist
//
// It prints the path of the package it wrote.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tandemlb/tandem/packaging"
)

func main() {
	var opts packaging.Options
	flag.StringVar(&opts.Root, "root", ".", "repository `dir` (holds "+packaging.ConfigPath+" and deploy/)")
	flag.StringVar(&opts.Binary, "bin", "bin/tandem", "static tandem `binary` to package")
	flag.StringVar(&opts.Version, "version", "", "tandem `version` as git describe prints it (required)")
	flag.StringVar(&opts.OutDir, "out", "dist", "output `dir`")
	flag.Parse()
	if opts.Version == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	path, err := packaging.Build(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkrpm:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}
