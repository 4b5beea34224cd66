package accesslog

import (
	"net/netip"
	"strconv"
	"time"
)

// NoServer is printed in the server field when no server was reached.
const NoServer = "<NOSRV>"

// HTTP is one finished HTTP request, the fields of HAProxy's httplog line in
// its order. Timers use -1 (any negative value) for a step never reached.
type HTTP struct {
	Client netip.AddrPort
	// Accept is the request date (HAProxy's %tr), printed in its own
	// location as [25/Nov/2026:16:50:00.123].
	Accept time.Time
	// Frontend carries a "~" suffix when the connection is TLS, as HAProxy.
	Frontend string
	// Backend is empty when none was chosen (the frontend's name is printed,
	// as HAProxy does); Server is empty when none was reached ("<NOSRV>").
	Backend, Server    string
	Tq, Tw, Tc, Tr, Ta time.Duration
	Status             int
	// Bytes is the number of bytes sent to the client, headers included.
	Bytes                 int64
	ReqCookie, RespCookie string // captured cookies; "" prints "-"
	// Term is the termination state ("--NI", "sC--", "SH--", "cD--");
	// a zero byte prints as '-'.
	Term                                      [4]byte
	Actconn, Feconn, Beconn, Srvconn, Retries int
	// Redispatched prefixes the retry count with "+": the retries were
	// spent on another server than the one logged.
	Redispatched           bool
	SrvQueue, BackendQueue int
	// RequestLine is `GET /x HTTP/1.1`; empty prints "<BADREQ>".
	// Non-printable bytes, '"' and '#' are written as #XX like HAProxy.
	RequestLine []byte
}

// TCP is one finished TCP-mode connection, the fields of HAProxy's tcplog
// line in its order.
type TCP struct {
	Client                                    netip.AddrPort
	Accept                                    time.Time // accept date (%t)
	Frontend, Backend, Server                 string
	Tw, Tc, Tt                                time.Duration
	Bytes                                     int64
	Term                                      [4]byte // only the first two are printed, as tcplog does
	Actconn, Feconn, Beconn, Srvconn, Retries int
	Redispatched                              bool
	SrvQueue, BackendQueue                    int
}

// AppendHTTP appends e as an HAProxy 2.x httplog line (without the syslog
// header and without a trailing newline):
//
//	%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %{+Q}r
//
// (no header captures, so %hr and %hs print nothing, as in HAProxy).
func AppendHTTP(dst []byte, e *HTTP) []byte {
	dst = appendClient(dst, e.Client)
	dst = append(dst, ' ')
	dst = appendDate(dst, e.Accept)
	dst = append(dst, ' ')
	dst = appendNames(dst, e.Frontend, e.Backend, e.Server)
	dst = append(dst, ' ')
	dst = appendMS(dst, e.Tq)
	dst = append(dst, '/')
	dst = appendMS(dst, e.Tw)
	dst = append(dst, '/')
	dst = appendMS(dst, e.Tc)
	dst = append(dst, '/')
	dst = appendMS(dst, e.Tr)
	dst = append(dst, '/')
	dst = appendMS(dst, e.Ta)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, e.Bytes, 10)
	dst = append(dst, ' ')
	dst = appendCookie(dst, e.ReqCookie)
	dst = append(dst, ' ')
	dst = appendCookie(dst, e.RespCookie)
	dst = append(dst, ' ')
	dst = appendTerm(dst, e.Term[:])
	dst = append(dst, ' ')
	dst = appendConns(dst, e.Actconn, e.Feconn, e.Beconn, e.Srvconn, e.Retries, e.Redispatched)
	dst = append(dst, ' ')
	dst = appendQueues(dst, e.SrvQueue, e.BackendQueue)
	dst = append(dst, ' ', '"')
	if len(e.RequestLine) == 0 {
		dst = append(dst, "<BADREQ>"...)
	} else {
		dst = appendEncoded(dst, e.RequestLine)
	}
	return append(dst, '"')
}

// AppendTCP appends e as an HAProxy tcplog line (without the syslog header
// and without a trailing newline):
//
//	%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
func AppendTCP(dst []byte, e *TCP) []byte {
	dst = appendClient(dst, e.Client)
	dst = append(dst, ' ')
	dst = appendDate(dst, e.Accept)
	dst = append(dst, ' ')
	dst = appendNames(dst, e.Frontend, e.Backend, e.Server)
	dst = append(dst, ' ')
	dst = appendMS(dst, e.Tw)
	dst = append(dst, '/')
	dst = appendMS(dst, e.Tc)
	dst = append(dst, '/')
	dst = appendMS(dst, e.Tt)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, e.Bytes, 10)
	dst = append(dst, ' ')
	dst = appendTerm(dst, e.Term[:2])
	dst = append(dst, ' ')
	dst = appendConns(dst, e.Actconn, e.Feconn, e.Beconn, e.Srvconn, e.Retries, e.Redispatched)
	dst = append(dst, ' ')
	return appendQueues(dst, e.SrvQueue, e.BackendQueue)
}

// appendClient prints ip:port the way HAProxy does: IPv6 without brackets,
// IPv4-mapped addresses as plain IPv4 (a dual-stack listener's clients read
// like an IPv4 listener's). A zero AddrPort (a UNIX socket listener) prints
// "unix:0", HAProxy's "unix" plus a socket number.
func appendClient(dst []byte, c netip.AddrPort) []byte {
	a := c.Addr()
	if !a.IsValid() {
		return append(dst, "unix:0"...)
	}
	dst = a.Unmap().WithZone("").AppendTo(dst)
	dst = append(dst, ':')
	return strconv.AppendUint(dst, uint64(c.Port()), 10)
}

const months = "JanFebMarAprMayJunJulAugSepOctNovDec"

// appendDate prints [dd/Mmm/yyyy:HH:MM:SS.mmm] by hand: time.AppendFormat
// would do, but costs several times more per line.
func appendDate(dst []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	dst = append(dst, '[')
	dst = append2(dst, day)
	dst = append(dst, '/')
	m := (int(month) - 1) * 3
	dst = append(dst, months[m:m+3]...)
	dst = append(dst, '/')
	if year >= 1000 && year <= 9999 {
		dst = append2(dst, year/100)
		dst = append2(dst, year%100)
	} else {
		dst = strconv.AppendInt(dst, int64(year), 10)
	}
	dst = append(dst, ':')
	dst = append2(dst, hour)
	dst = append(dst, ':')
	dst = append2(dst, min)
	dst = append(dst, ':')
	dst = append2(dst, sec)
	dst = append(dst, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), ']')
	return dst
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

func appendNames(dst []byte, fe, be, srv string) []byte {
	dst = append(dst, fe...)
	dst = append(dst, ' ')
	if be == "" {
		// HAProxy logs the frontend as backend when no switching happened
		// (e.g. a request rejected before backend selection).
		be = trimTLS(fe)
	}
	dst = append(dst, be...)
	dst = append(dst, '/')
	if srv == "" {
		srv = NoServer
	}
	return append(dst, srv...)
}

func trimTLS(fe string) string {
	if n := len(fe); n > 0 && fe[n-1] == '~' {
		return fe[:n-1]
	}
	return fe
}

// appendMS prints a timer in whole milliseconds, or -1 when not reached.
func appendMS(dst []byte, d time.Duration) []byte {
	if d < 0 {
		return append(dst, '-', '1')
	}
	return strconv.AppendInt(dst, int64(d/time.Millisecond), 10)
}

func appendCookie(dst []byte, c string) []byte {
	if c == "" {
		return append(dst, '-')
	}
	// Cookies come from the client: a space or a quote in them would shift
	// every field after them for the parsers.
	for i := 0; i < len(c); i++ {
		b := c[i]
		if b <= ' ' || b >= 127 || b == '"' || b == '#' || b == '{' || b == '|' || b == '}' {
			dst = appendHexEscape(dst, b)
			continue
		}
		dst = append(dst, b)
	}
	return dst
}

func appendTerm(dst []byte, term []byte) []byte {
	for _, b := range term {
		if b == 0 {
			b = '-'
		}
		dst = append(dst, b)
	}
	return dst
}

func appendConns(dst []byte, act, fe, be, srv, retries int, redispatched bool) []byte {
	dst = strconv.AppendInt(dst, int64(act), 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, int64(fe), 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, int64(be), 10)
	dst = append(dst, '/')
	dst = strconv.AppendInt(dst, int64(srv), 10)
	dst = append(dst, '/')
	if redispatched {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, int64(retries), 10)
}

func appendQueues(dst []byte, srv, be int) []byte {
	dst = strconv.AppendInt(dst, int64(srv), 10)
	dst = append(dst, '/')
	return strconv.AppendInt(dst, int64(be), 10)
}

const hexDigits = "0123456789ABCDEF"

func appendHexEscape(dst []byte, b byte) []byte {
	return append(dst, '#', hexDigits[b>>4], hexDigits[b&15])
}

// appendEncoded writes the request line with HAProxy's url_encode_map:
// bytes outside 32..126, '"' and '#' become #XX (configuration manual 8.6),
// so a hostile request can neither end the quoted field nor inject a line.
func appendEncoded(dst []byte, s []byte) []byte {
	for _, b := range s {
		if b < ' ' || b >= 127 || b == '"' || b == '#' {
			dst = appendHexEscape(dst, b)
			continue
		}
		dst = append(dst, b)
	}
	return dst
}
