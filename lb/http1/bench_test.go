package http1

import (
	"strings"
	"testing"
)

func BenchmarkParseRequest(b *testing.B) {
	buf := []byte(browserGET)
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := ParseRequest(buf, Limits{}, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequestMinimal(b *testing.B) {
	buf := []byte("GET / HTTP/1.1\r\nHost: 192.0.2.100:9001\r\n\r\n")
	var r Request
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := ParseRequest(buf, Limits{}, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequestReject(b *testing.B) {
	buf := []byte("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n")
	var r Request
	b.ReportAllocs()
	for b.Loop() {
		if err := ParseRequest(buf, Limits{}, &r); err == nil {
			b.Fatal("accepted CL+TE")
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	buf := []byte(typicalResponse)
	var r Response
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := ParseResponse(buf, Limits{}, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func benchChunks(b *testing.B, chunk, count int) {
	var sb strings.Builder
	data := strings.Repeat("x", chunk)
	for range count {
		sb.WriteString(hex(chunk))
		sb.WriteString("\r\n" + data + "\r\n")
	}
	sb.WriteString("0\r\n\r\n")
	buf := []byte(sb.String())
	var s ChunkScanner
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		s.Reset()
		if n, done, err := s.Scan(buf); n != len(buf) || !done || err != nil {
			b.Fatal(n, done, err)
		}
	}
}

func hex(n int) string {
	const digits = "0123456789abcdef"
	s := ""
	for ; n > 0; n >>= 4 {
		s = string(digits[n&15]) + s
	}
	return s
}

func BenchmarkChunkScanner(b *testing.B) {
	b.Run("16x4KiB", func(b *testing.B) { benchChunks(b, 4096, 16) })
	b.Run("256x16B", func(b *testing.B) { benchChunks(b, 16, 256) })
}
