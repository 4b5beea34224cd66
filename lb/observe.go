package lb

import (
	"errors"
	"io"

	"github.com/tandemlb/tandem/health"
)

// What the engine saw of a server on live traffic, for observe
// layer4/layer7 (HAProxy's health_adjust calls). Each is one atomic load
// when the server does not observe.

// observeConnect reports a fresh connection attempt: refused, unreachable
// and timed out all count as "L4 unsuccessful connection". A connection
// taken from the idle pool is not a new attempt and reports nothing.
func (s *server) observeConnect(err error) {
	if err != nil {
		s.health.ReportTraffic(health.TrafficL4Err)
		return
	}
	s.health.ReportTraffic(health.TrafficL4OK)
}

// observeHeadError reports a failure to read a complete response head:
// timeout, the server closing first, or another read error.
func (s *server) observeHeadError(err error) {
	switch {
	case isTimeout(err):
		s.health.ReportTraffic(health.TrafficHTTPReadTimeout)
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		s.health.ReportTraffic(health.TrafficHTTPBrokenPipe)
	default:
		s.health.ReportTraffic(health.TrafficHTTPReadError)
	}
}

// observeInvalidHead reports a response head that does not parse.
func (s *server) observeInvalidHead() {
	s.health.ReportTraffic(health.TrafficHTTPInvalidHead)
}

// observeStatus reports a final response status: 5xx other than 501 and
// 505 is "Wrong http response", anything else a correct one, as HAProxy
// counts them.
func (s *server) observeStatus(code int) {
	if code >= 500 && code != 501 && code != 505 {
		s.health.ReportTraffic(health.TrafficHTTPStatus)
		return
	}
	s.health.ReportTraffic(health.TrafficHTTPOK)
}
