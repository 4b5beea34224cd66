package lb

import (
	"net/http"
	"strconv"
)

// errorBodies are HAProxy's built-in error pages, byte for byte, so
// monitoring that greps for them keeps working.
var errorBodies = map[int]string{
	400: "<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n",
	401: "<html><body><h1>401 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
	403: "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n",
	404: "<html><body><h1>404 Not Found</h1>\nThe resource could not be found.\n</body></html>\n",
	405: "<html><body><h1>405 Method Not Allowed</h1>\nA request was made of a resource using a request method not supported by that resource\n</body></html>\n",
	407: "<html><body><h1>407 Unauthorized</h1>\nYou need a valid user and password to access this content.\n</body></html>\n",
	408: "<html><body><h1>408 Request Time-out</h1>\nYour browser didn't send a complete request in time.\n</body></html>\n",
	410: "<html><body><h1>410 Gone</h1>\nThe resource is no longer available and will not be available again.\n</body></html>\n",
	413: "<html><body><h1>413 Payload Too Large</h1>\nThe request entity exceeds the maximum allowed.\n</body></html>\n",
	425: "<html><body><h1>425 Too Early</h1>\nYour browser sent early data.\n</body></html>\n",
	429: "<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n",
	500: "<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n",
	501: "<html><body><h1>501 Not Implemented</h1>\n.The server does not support the functionality required to fulfill the request.\n</body></html>\n",
	502: "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n",
	503: "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n",
	504: "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>\n",
}

// errorPages holds the complete responses, built once: the head as HAProxy
// sends it plus the body. closePages add "connection: close".
var errorPages, closePages = buildErrorPages()

func buildErrorPages() (keep, closing map[int][]byte) {
	keep, closing = map[int][]byte{}, map[int][]byte{}
	for _, code := range []int{400, 401, 403, 404, 405, 407, 408, 410, 413, 414, 425, 429, 431, 500, 501, 502, 503, 504, 505} {
		body, ok := errorBodies[code]
		if !ok {
			body = "<html><body><h1>" + strconv.Itoa(code) + " " + http.StatusText(code) + "</h1>\n" + http.StatusText(code) + ".\n</body></html>\n"
		}
		keep[code] = errorPage(code, body, false)
		closing[code] = errorPage(code, body, true)
	}
	return keep, closing
}

func errorPage(code int, body string, close bool) []byte {
	b := []byte("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	b = append(b, "content-length: "+strconv.Itoa(len(body))+"\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n"...)
	if close {
		b = append(b, "connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// errorResponse returns the page for code, falling back to 500's.
func errorResponse(code int, close bool) []byte {
	m := errorPages
	if close {
		m = closePages
	}
	if b, ok := m[code]; ok {
		return b
	}
	return m[500]
}

func httpStatusText(code int) string { return http.StatusText(code) }
