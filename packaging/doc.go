// Package packaging builds tandem's RPM for CentOS 7 from the static binary
// and the host files in deploy/: nfpm.yaml says what goes where with which
// owner and mode, scripts/ holds the scriptlets, and Build drives nfpm's
// library (xz payload, since CentOS 7's rpm 4.11 cannot read zstd).
// `make rpm` runs it through cmd/mkrpm. It holds no runtime code and is never
// linked into tandem.
package packaging
