package http1

import (
	"errors"
	"strconv"
)

// ErrNeedMore reports that the buffer does not yet hold a complete head and
// is still below the head size limit: read more and parse again.
var ErrNeedMore = errors.New("http1: incomplete message head")

// Error is a protocol violation. Status is what a proxy answers the client
// with (400, 414, 431, 501, 505 for requests; 502 for responses) and Reason
// is a short text for the log.
//
// The parsers return shared, preallocated *Error values so that rejecting
// hostile input does not allocate either; callers must not modify them.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string {
	return "http1: " + strconv.Itoa(e.Status) + " " + e.Reason
}

func newErr(status int, reason string) *Error { return &Error{Status: status, Reason: reason} }

// Request errors.
var (
	errReqLine        = newErr(400, "malformed request line")
	errMethod         = newErr(400, "invalid method token")
	errTarget         = newErr(400, "invalid character in request target")
	errTargetForm     = newErr(400, "request target is not origin, absolute, authority or asterisk form")
	errTargetFragment = newErr(400, "fragment in request target")
	errTargetPct      = newErr(400, "invalid percent-encoding in request target path")
	errTargetUserinfo = newErr(400, "userinfo in request target")
	errTargetHost     = newErr(400, "invalid authority in request target")
	errVersion        = newErr(400, "malformed HTTP version")
	errVersionReq     = newErr(505, "HTTP version not supported")
	errURITooLong     = newErr(414, "request line too long")
	errReqTooLarge    = newErr(431, "request head too large")
	errReqTooMany     = newErr(431, "too many header fields")
	errNoHost         = newErr(400, "HTTP/1.1 request without Host")
	errManyHost       = newErr(400, "several Host header fields")
	errBadHost        = newErr(400, "invalid Host header value")
	errTE10           = newErr(400, "Transfer-Encoding in HTTP/1.0 request")
	errCLTE           = newErr(400, "both Content-Length and Transfer-Encoding")
	errCL             = newErr(400, "invalid Content-Length")
	errCLDiffer       = newErr(400, "several differing Content-Length values")
	errTEChunkedTwice = newErr(400, "chunked transfer-coding applied twice")
	errTEList         = newErr(400, "malformed Transfer-Encoding")
	errTEUnknown      = newErr(501, "unsupported transfer-coding")
)

// Field-line errors, one set per direction so responses answer 502.
type fieldErrs struct {
	bareLF, bareCR, obsFold, noColon, emptyName, spaceBeforeColon, badName, badValue *Error
}

var reqFieldErrs = fieldErrs{
	bareLF:           newErr(400, "bare LF in message head"),
	bareCR:           newErr(400, "bare CR in message head"),
	obsFold:          newErr(400, "obs-fold (header line starting with whitespace)"),
	noColon:          newErr(400, "header line without colon"),
	emptyName:        newErr(400, "empty header name"),
	spaceBeforeColon: newErr(400, "whitespace between header name and colon"),
	badName:          newErr(400, "invalid character in header name"),
	badValue:         newErr(400, "invalid character in header value"),
}

var respFieldErrs = fieldErrs{
	bareLF:           newErr(502, "bare LF in response head"),
	bareCR:           newErr(502, "bare CR in response head"),
	obsFold:          newErr(502, "obs-fold in response head"),
	noColon:          newErr(502, "response header line without colon"),
	emptyName:        newErr(502, "empty response header name"),
	spaceBeforeColon: newErr(502, "whitespace between response header name and colon"),
	badName:          newErr(502, "invalid character in response header name"),
	badValue:         newErr(502, "invalid character in response header value"),
}

// Response errors.
var (
	errStatusLine    = newErr(502, "malformed status line")
	errRespVersion   = newErr(502, "unsupported HTTP version in response")
	errStatus        = newErr(502, "invalid status code")
	errReason        = newErr(502, "invalid character in reason phrase")
	errRespTooLarge  = newErr(502, "response head too large")
	errRespTooMany   = newErr(502, "too many response header fields")
	errRespCLTE      = newErr(502, "response with both Content-Length and Transfer-Encoding")
	errRespCL        = newErr(502, "invalid Content-Length in response")
	errRespCLDiffer  = newErr(502, "several differing Content-Length values in response")
	errRespTE        = newErr(502, "unsupported Transfer-Encoding in response")
	errRespTE10      = newErr(502, "Transfer-Encoding in HTTP/1.0 response")
	errRespTEChunked = newErr(502, "chunked transfer-coding applied twice in response")
)

// Chunked framing errors.
var (
	errChunkSize      = newErr(400, "invalid chunk size")
	errChunkOverflow  = newErr(400, "chunk size overflow")
	errChunkExt       = newErr(400, "invalid chunk extension")
	errChunkExtLong   = newErr(400, "chunk size line too long")
	errChunkCRLF      = newErr(400, "missing CRLF after chunk")
	errChunkBareLF    = newErr(400, "bare LF in chunked framing")
	errTrailer        = newErr(400, "invalid trailer field")
	errTrailerObsFold = newErr(400, "obs-fold in trailer section")
	errTrailerLarge   = newErr(400, "trailer section too large")
)
