// Package rules compiles and applies HAProxy-style http_request and
// http_response rules: redirect, deny, return, and header, path and query
// rewrites, each guarded by an optional acl condition.
//
// Compile validates a whole rule list at configuration time and reports
// every bad rule at once, with its index and key, so the config loader can
// place each error. Apply runs on the request path against a Message the
// engine implements over its parsed head; it records edits through that
// interface and never touches buffers or sockets itself.
package rules
