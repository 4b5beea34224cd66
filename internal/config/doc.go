// Package config reads tandem.toml strictly and validates it as a whole into
// the typed configuration of each package (lb, health, vrrp). Every problem
// is reported at once as `file:line:col: message`: unknown keys, wrong
// types, bad values, unknown references, and keys of features that are not
// built yet. It performs no I/O beyond reading the file and looking at the
// host's interfaces when asked to.
package config
