package syslog

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/rs/zerolog"
)

// NewZerologWriter adapts w to zerolog: every record at info and above (and
// records without a level) goes to facility, warnings and above also to
// warnFacility, each as a readable line (see the package doc). Records below
// info stay out of syslog; they reach the console only.
//
// Errors are not returned to zerolog, which would print a complaint on
// stderr for every record while the daemon is away: they are counted in
// w.Dropped.
func NewZerologWriter(w *Writer, facility, warnFacility Facility) zerolog.LevelWriter {
	return &zerologWriter{w: w, fac: facility, warn: warnFacility}
}

type zerologWriter struct {
	w         *Writer
	fac, warn Facility
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (z *zerologWriter) Write(p []byte) (int, error) {
	return z.WriteLevel(zerolog.NoLevel, p)
}

func (z *zerologWriter) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	if level < zerolog.InfoLevel || level == zerolog.Disabled {
		return len(p), nil
	}
	sev := severityOf(level)
	bp := linePool.Get().(*[]byte)
	line := AppendReadable((*bp)[:0], p)
	_ = z.w.Write(z.fac, sev, line)
	if level >= zerolog.WarnLevel && level != zerolog.NoLevel && z.warn != z.fac {
		_ = z.w.Write(z.warn, sev, line)
	}
	*bp = line
	linePool.Put(bp)
	return len(p), nil
}

func severityOf(l zerolog.Level) Severity {
	switch l {
	case zerolog.TraceLevel, zerolog.DebugLevel:
		return Debug
	case zerolog.WarnLevel:
		return Warning
	case zerolog.ErrorLevel:
		return Err
	case zerolog.FatalLevel:
		return Crit
	case zerolog.PanicLevel:
		return Emerg
	default:
		return Info
	}
}

// AppendReadable rewrites one zerolog JSON record as a line for people:
// the message, then each other field as key=value in the order logged,
// values quoted only when they need it. The level and the timestamp are
// dropped (syslog carries both). A record that is not a JSON object is
// appended as it is, without its trailing newline. Control bytes left in the
// result (in the message) become spaces.
func AppendReadable(dst []byte, record []byte) []byte {
	start := len(dst)
	out, ok := appendReadable(dst, record)
	if !ok {
		out = append(dst[:start], bytes.TrimRight(record, "\r\n")...)
	}
	// One record, one line: a control byte in a message (a newline in an
	// error text) would split it, or be escaped differently by each daemon.
	for i := start; i < len(out); i++ {
		if out[i] < ' ' || out[i] == 0x7f {
			out[i] = ' '
		}
	}
	return out
}

func appendReadable(dst []byte, record []byte) ([]byte, bool) {
	dec := json.NewDecoder(bytes.NewReader(record))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return dst, false
	}
	type field struct {
		key string
		val json.RawMessage
	}
	var msg string
	var fields []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return dst, false
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return dst, false
		}
		switch key {
		case zerolog.LevelFieldName, zerolog.TimestampFieldName:
			continue
		case zerolog.MessageFieldName:
			if err := json.Unmarshal(raw, &msg); err == nil {
				continue
			}
		}
		fields = append(fields, field{key, raw})
	}
	start := len(dst)
	dst = append(dst, msg...)
	for _, f := range fields {
		if len(dst) > start {
			dst = append(dst, ' ')
		}
		dst = appendValue(dst, f.key)
		dst = append(dst, '=')
		var s string
		if len(f.val) > 0 && f.val[0] == '"' && json.Unmarshal(f.val, &s) == nil {
			dst = appendValue(dst, s)
			continue
		}
		var compact bytes.Buffer
		if json.Compact(&compact, f.val) == nil {
			dst = appendValue(dst, compact.String())
		}
	}
	return dst, true
}

// appendValue writes s bare when a reader (and a logfmt parser) can tell
// where it ends, quoted otherwise.
func appendValue(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, `""`...)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r <= ' ' || r == '=' || r == '"' || r == '\\' || r == utf8.RuneError || r == 0x7f {
			return strconv.AppendQuote(dst, s)
		}
		i += n
	}
	return append(dst, s...)
}

// Console returns a writer for stderr: one human line per record,
// `2026-11-25T16:50:00.123Z WRN Server ms1/ms1.srv1 is DOWN backend=ms1`,
// without colour. The console shows the timestamp as the record carries
// it: milliseconds need zerolog.TimeFieldFormat to have them (cmd/tandem's
// choice, e.g. "2006-01-02T15:04:05.000Z07:00").
func Console(w io.Writer) io.Writer {
	return zerolog.ConsoleWriter{
		Out:        w,
		NoColor:    true,
		TimeFormat: "2006-01-02T15:04:05.000Z07:00",
	}
}
