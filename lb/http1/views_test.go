package http1

import (
	"testing"
	"unsafe"
)

// inside reports whether v is empty or lies within buf's backing bytes.
func inside(buf, v []byte) bool {
	if len(v) == 0 {
		return true
	}
	if len(buf) == 0 {
		return false
	}
	b0 := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	v0 := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	return v0 >= b0 && v0+uintptr(len(v)) <= b0+uintptr(len(buf))
}

func checkReqViews(t *testing.T, buf []byte, r *Request) {
	t.Helper()
	if r.HeadLen <= 0 || r.HeadLen > len(buf) {
		t.Fatalf("HeadLen %d outside (0, %d]", r.HeadLen, len(buf))
	}
	head := buf[:r.HeadLen]
	views := [][]byte{r.Method, r.Target, r.Proto, r.Host, r.Path(), r.Query(), r.Authority(), r.RequestLine()}
	for _, h := range r.Headers {
		views = append(views, h.Name, h.Value)
	}
	for i, v := range views {
		if !inside(head, v) {
			t.Fatalf("view %d %q lies outside the head", i, v)
		}
	}
}

func checkRespViews(t *testing.T, buf []byte, r *Response) {
	t.Helper()
	if r.HeadLen <= 0 || r.HeadLen > len(buf) {
		t.Fatalf("HeadLen %d outside (0, %d]", r.HeadLen, len(buf))
	}
	head := buf[:r.HeadLen]
	views := [][]byte{r.Proto, r.Reason}
	for _, h := range r.Headers {
		views = append(views, h.Name, h.Value)
	}
	for i, v := range views {
		if !inside(head, v) {
			t.Fatalf("view %d %q lies outside the head", i, v)
		}
	}
}
