// Package convert turns an haproxy.cfg and a keepalived.conf into one
// tandem.toml: it parses HAProxy's configuration language (sections,
// quoting, escaping, environment variables, several defaults sections) and
// keepalived's (nested blocks, include, $NAME parameters), maps every
// keyword tandem supports to its TOML key, and lists everything else as an
// Issue with its file:line and a reason, leaving the original line in the
// output as a comment.
//
// The output is always accepted by the configuration loader
// (internal/config): before returning, Convert loads what it wrote and
// comments out whatever the loader rejects (a feature being built, a value
// out of range, a reference to something that was itself commented out),
// reporting it too. So the conversion follows the loader as features land,
// without changes here.
//
// It reads files only through the functions in Options and never resolves
// host names: tandem takes IP addresses, so a host name is reported.
package convert
