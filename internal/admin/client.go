package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// ErrNotRunning means nothing answers on the socket: tandem is not running
// (or runs with another admin_socket).
var ErrNotRunning = errors.New("tandem is not running")

// Reply is the answer to one line of commands.
type Reply struct {
	// Text is the output without the error messages, the severity
	// prefixes and the final empty line.
	Text string
	// Errors are the error messages among it (severity err or worse).
	Errors []string
}

// Failed reports whether any command of the line failed.
func (r Reply) Failed() bool { return len(r.Errors) > 0 }

var sevPrefix = regexp.MustCompile(`^\[(\d)\]: `)

// Query sends line to the admin socket at path and reads the answer. It
// asks for numbered severities first, so errors can be told from output
// (the way one would with socat: "set severity-output number; ...").
func Query(ctx context.Context, path, line string) (Reply, error) {
	if strings.ContainsAny(line, "\r\n") {
		return Reply{}, errors.New("a command cannot contain a line break")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		switch {
		case errors.Is(err, syscall.ENOENT):
			return Reply{}, fmt.Errorf("%w: no admin socket at %s (start tandem, or pass -s with [global] admin_socket)", ErrNotRunning, path)
		case errors.Is(err, syscall.ECONNREFUSED):
			return Reply{}, fmt.Errorf("%w: %s refuses connections (a stale socket left by a stopped tandem)", ErrNotRunning, path)
		case errors.Is(err, syscall.EACCES), errors.Is(err, os.ErrPermission):
			return Reply{}, fmt.Errorf("connect to %s: permission denied (the admin socket is mode 0600: run as the user tandem runs as, usually root)", path)
		}
		return Reply{}, fmt.Errorf("connect to %s: %w", path, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	if _, err := io.WriteString(c, "set severity-output number;"+line+"\n"); err != nil {
		return Reply{}, fmt.Errorf("send to %s: %w", path, err)
	}
	out, err := io.ReadAll(c)
	if err != nil {
		return Reply{}, fmt.Errorf("read the answer from %s: %w", path, err)
	}
	return parseReply(string(out)), nil
}

// parseReply separates error messages from output and strips the
// severity tags and the empty lines that end answers.
func parseReply(out string) Reply {
	// The first answer is the one of "set severity-output": an empty line.
	out = strings.TrimPrefix(out, "\n")
	var r Reply
	var text []string
	for _, l := range strings.Split(out, "\n") {
		m := sevPrefix.FindStringSubmatch(l)
		switch {
		case m == nil:
			text = append(text, l)
		case m[1][0] <= '3':
			r.Errors = append(r.Errors, l[len(m[0]):])
		default:
			text = append(text, l[len(m[0]):])
		}
	}
	r.Text = strings.Trim(strings.Join(text, "\n"), "\n")
	return r
}
