// Package acl compiles and evaluates HAProxy-style ACLs and conditions:
// named ACL definitions ("path_beg -i /ms1/"), and the conditions that use
// them in use_backend and http rules ("url_ms1 !LOCALHOST || { src 192.0.2.0/24 }").
//
// Everything is compiled once at configuration time (patterns lowered,
// regular expressions compiled, integer ranges and networks parsed) so that
// Cond.Match on the request path reads the engine's in-place parsed head
// through the Sample interface without allocating.
//
// It knows nothing of sockets, buffers or the config file: the engine
// implements Sample, and the config loader adds file:line:col to the plain
// error strings returned here.
package acl
