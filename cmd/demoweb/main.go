// Command demoweb is the demo's web server, standing in for the seed
// article's nginx back-ends: each listener serves /GROUP/demo.html (and
// /demo.html) naming its group and server, so a client sees which server
// answered.
//
//	demoweb ms1:ms1.srv1@192.0.2.21:8080 ms2:ms2.srv1@192.0.2.21:8081 ...
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tandemlb/tandem/internal/testbackend"
)

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		fmt.Fprintln(os.Stderr, "usage: demoweb GROUP:SERVER@ADDRESS:PORT ...")
		os.Exit(2)
	}
	var servers []*testbackend.Server
	for _, spec := range os.Args[1:] {
		names, addr, ok := strings.Cut(spec, "@")
		group, name, ok2 := strings.Cut(names, ":")
		if !ok || !ok2 {
			fmt.Fprintf(os.Stderr, "demoweb: %q: want GROUP:SERVER@ADDRESS:PORT\n", spec)
			os.Exit(2)
		}
		s, err := testbackend.Start(group, name, addr)
		if err != nil {
			fmt.Fprintf(os.Stderr, "demoweb: %v\n", err)
			os.Exit(1)
		}
		servers = append(servers, s)
		fmt.Printf("demoweb: %s/%s listening on %s\n", group, name, addr)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	for _, s := range servers {
		_ = s.Close()
	}
}
