// Package proxyproto encodes and parses the PROXY protocol header (HAProxy's
// proxy-protocol.txt, versions 1 and 2) that carries a client's addresses
// across a proxy: servers with send_proxy / send_proxy_v2 get one at the
// start of each connection, frontends with accept_proxy read one before
// anything else.
//
// The codec is pure and never panics on hostile bytes: Parse says how many
// bytes the header took, or that more are needed, or why it is invalid.
// Read (in read.go) takes exactly the header off a live TCP connection by
// peeking, so the bytes that follow stay in the socket for the protocol
// above. The package must not import lb.
package proxyproto
