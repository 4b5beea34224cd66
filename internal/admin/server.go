package admin

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// Timeouts of a connection: a client has this long to send each line
// (and, in prompt mode, between lines).
const (
	lineTimeout   = 10 * time.Second
	promptTimeout = 5 * time.Minute
	writeTimeout  = 10 * time.Second
)

// ErrInUse is returned by Listen when another process answers on the socket.
var ErrInUse = errors.New("another process is answering on the admin socket (is tandem already running?)")

// Server serves the admin socket.
type Server struct {
	src  Source
	log  zerolog.Logger
	path string
	ln   *net.UnixListener
	ino  uint64

	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// NewServer returns a Server answering from src.
func NewServer(src Source, log zerolog.Logger) *Server {
	return &Server{src: src, log: log, conns: make(map[net.Conn]struct{})}
}

// Listen creates the socket at path with mode 0600, creating its directory
// (0755) if missing. A socket left by a process that died is replaced; one
// that another process still answers on is ErrInUse. The socket is built
// under a temporary name and renamed into place, so it is never reachable
// with a wider mode.
func (s *Server) Listen(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("admin socket %s: create directory: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("admin socket %s: exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("admin socket %s: %w", path, ErrInUse)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("admin socket %s: check for a running tandem: %w", path, err)
		}
		// Stale: nobody listens. Rename below replaces it.
	}
	tmp := path + ".tmp." + strconv.Itoa(os.Getpid())
	_ = os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return fmt.Errorf("admin socket %s: listen: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(what string, err error) error {
		ln.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("admin socket %s: %s: %w", path, what, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail("chmod 0600", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail("move into place", err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil {
		s.ino = st.Ino
	}
	s.ln, s.path = ln, path
	return nil
}

// Path returns the socket path (after Listen).
func (s *Server) Path() string { return s.path }

// Serve answers connections until ctx ends, then closes the listener and
// every connection, waits for their goroutines, and removes the socket
// if it is still the one it created.
func (s *Server) Serve(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("admin: Serve before Listen")
	}
	stop := context.AfterFunc(ctx, func() {
		s.ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
	})
	defer stop()
	defer s.removeSocket()
	var err error
	for {
		c, aerr := s.ln.AcceptUnix()
		if aerr != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("admin socket %s: accept: %w", s.path, aerr)
			}
			break
		}
		s.mu.Lock()
		if ctx.Err() != nil {
			s.mu.Unlock()
			c.Close()
			break
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.ServeConn(c, peerName(c))
		}()
	}
	s.ln.Close()
	s.wg.Wait()
	return err
}

func (s *Server) removeSocket() {
	var st unix.Stat_t
	if unix.Stat(s.path, &st) == nil && st.Ino == s.ino {
		_ = os.Remove(s.path)
	}
}

// peerName names the client for the log: its uid and pid.
func peerName(c *net.UnixConn) string {
	raw, err := c.SyscallConn()
	if err != nil {
		return "admin socket"
	}
	var cred *unix.Ucred
	_ = raw.Control(func(fd uintptr) {
		cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if cred == nil {
		return "admin socket"
	}
	return fmt.Sprintf("admin socket (uid %d, pid %d)", cred.Uid, cred.Pid)
}

type deadliner interface {
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// ServeConn runs one client: lines of commands until EOF, `quit`, or, out
// of prompt mode, the end of the first line.
func (s *Server) ServeConn(c io.ReadWriter, who string) {
	sess := &session{severity: "none", who: who}
	dl, _ := c.(deadliner)
	br := bufio.NewReaderSize(c, 4096)
	bw := bufio.NewWriter(c)
	for {
		if dl != nil {
			t := lineTimeout
			if sess.prompt {
				t = promptTimeout
			}
			_ = dl.SetReadDeadline(time.Now().Add(t))
		}
		line, err := readLine(br)
		if errors.Is(err, errLineTooLong) {
			writeAnswer(bw, sess, fail("Command line too long (at most %d bytes).", MaxLine))
			bw.Flush()
			return
		}
		if err != nil && line == "" {
			return
		}
		s.runLine(bw, sess, line)
		if sess.prompt && !sess.quit {
			bw.WriteString("> ")
		}
		if dl != nil {
			_ = dl.SetWriteDeadline(time.Now().Add(writeTimeout))
		}
		if bw.Flush() != nil || sess.quit || !sess.prompt || err != nil {
			return
		}
	}
}

func (s *Server) runLine(w *bufio.Writer, sess *session, line string) {
	cmds, err := Parse(line)
	if err != nil {
		writeAnswer(w, sess, fail("%v", err))
		return
	}
	if len(cmds) == 0 {
		if !sess.prompt {
			writeAnswer(w, sess, fail("Empty command. Type 'help' for the list of commands."))
		}
		return
	}
	for _, cmd := range cmds {
		a := exec(s.src, cmd, sess)
		if sess.quit {
			return
		}
		if a.sev == sevErr {
			s.log.Debug().Str("command", truncate(cmd.String(), 200)).Str("by", sess.who).Str("answer", a.text).Msg("admin command refused")
		}
		writeAnswer(w, sess, a)
	}
}

// readLine reads one line without its newline, bounded by MaxLine.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLine+1 {
			return "", errLineTooLong
		}
		switch {
		case err == nil:
			return string(buf[:len(buf)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return string(buf), err
		}
	}
}

// writeAnswer writes the text, prefixed by its severity when the session
// asked for it, and the empty line that ends every answer.
func writeAnswer(w *bufio.Writer, sess *session, a answer) {
	if a.sev != 0 && a.text != "" {
		switch sess.severity {
		case "number":
			fmt.Fprintf(w, "[%d]: ", a.sev)
		case "string":
			w.WriteString("[" + sevName(a.sev) + "]: ")
		}
	}
	w.WriteString(a.text)
	if a.text != "" {
		w.WriteByte('\n')
	}
	w.WriteByte('\n')
}

func sevName(n int) string {
	switch n {
	case sevErr:
		return "err"
	case sevInfo:
		return "info"
	}
	return strconv.Itoa(n)
}
