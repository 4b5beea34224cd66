// Package packaging builds the RPM for CentOS 7 (nfpm, xz payload) from the
// static binary and the host files in deploy/. It holds no runtime code.
package packaging
