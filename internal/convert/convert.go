package convert

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tandemlb/tandem/internal/config"
)

// Input is one configuration file to convert.
type Input struct {
	Name string // as given on the command line; used in messages and comments
	Data []byte
}

// Options say what to convert and how to reach the environment.
type Options struct {
	HAProxy    *Input // nil when there is no haproxy.cfg
	Keepalived *Input // nil when there is no keepalived.conf

	// LookupEnv resolves HAProxy's "${VAR}"; nil means no variable is set.
	LookupEnv func(string) (string, bool)
	// ReadFile and Glob serve keepalived's include; nil means os.ReadFile
	// and filepath.Glob.
	ReadFile func(name string) ([]byte, error)
	Glob     func(pattern string) ([]string, error)
}

// Result is the converted configuration and what could not be converted.
type Result struct {
	TOML   []byte
	Issues []Issue // sorted by file and line
}

// Complete reports whether everything was converted.
func (r *Result) Complete() bool { return len(r.Issues) == 0 }

// maxRounds bounds the loader feedback loop: each round comments out at
// least one more part, so it ends well before on any real input.
const maxRounds = 500

// Convert converts the inputs. The TOML it returns always passes the
// loader; Issues lists every input line, or part of one, that is not in it.
// An error means the conversion itself failed (a bug), never bad input.
func Convert(opts Options) (*Result, error) {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Glob == nil {
		opts.Glob = filepath.Glob
	}
	doc := &document{}
	var names []string
	var issues []Issue
	var fronts []string
	if opts.HAProxy != nil {
		names = append(names, opts.HAProxy.Name)
		hr := convertHAProxy(opts.HAProxy.Name, opts.HAProxy.Data, opts.LookupEnv)
		doc.sections = append(doc.sections, hr.sections...)
		issues = append(issues, hr.issues...)
		fronts = hr.frontNames
	}
	if opts.Keepalived != nil {
		names = append(names, opts.Keepalived.Name)
		kr := convertKeepalived(opts.Keepalived.Name, opts.Keepalived.Data, fronts, opts.HAProxy != nil, opts.ReadFile, opts.Glob)
		doc.sections = append(doc.sections, kr.sections...)
		issues = append(issues, kr.issues...)
	}
	doc.lead = []string{
		"Converted by 'tandem convert' from " + strings.Join(names, " and ") + ".",
		"Lines that did not convert one-to-one are kept as comments below, with",
		"their file:line and the reason; 'tandem convert' listed them on stderr.",
	}
	out, err := settle(doc)
	if err != nil {
		return nil, err
	}
	issues = append(issues, doc.issues()...)
	return &Result{TOML: out, Issues: sortIssues(issues)}, nil
}

// settle renders the document and loads it, commenting out whatever the
// loader rejects, until the loader accepts it.
func settle(doc *document) ([]byte, error) {
	for range maxRounds {
		out := doc.render()
		_, ds := config.Load("tandem.toml", out, config.Options{})
		errs := ds.Errors()
		if len(errs) == 0 {
			return out, nil
		}
		changed := false
		for _, d := range errs {
			if doc.reject(d.Pos.Line, d.Msg, "tandem check: "+d.Msg) {
				changed = true
			}
		}
		if !changed {
			return nil, fmt.Errorf("convert: the output does not load and no part of it can be left out:\n%v", errs)
		}
	}
	return nil, errors.New("convert: the output did not settle")
}
