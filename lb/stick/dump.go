package stick

import (
	"strconv"
	"time"
)

// Entry is one entry as Entries reports it.
type Entry struct {
	Key    string // encoded (see FormatKey)
	Server Server
	Expire time.Time // zero when the table does not expire
}

// Entries returns a snapshot of the live entries, most recently used first
// within each shard.
func (t *Table) Entries() []Entry {
	now := t.now().UnixNano()
	var out []Entry
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for e := sh.head; e != nil; e = e.next {
			if e.exp != 0 && e.exp <= now {
				continue
			}
			out = append(out, Entry{Key: e.key, Server: e.srv, Expire: expTime(e.exp)})
		}
		sh.mu.Unlock()
	}
	return out
}

// AppendShow appends the table as HAProxy's `show table NAME` prints it:
//
//	# table: ms1, type: ip, size:100000, used:1
//	0x1: key=127.0.0.1 use=0 exp=1799998 server_id=1 server_key=ms1.srv1
//
// exp is the time left in milliseconds. The hexadecimal first field is an
// entry serial number where HAProxy prints an address.
func (t *Table) AppendShow(dst []byte, name string) []byte {
	now := t.now().UnixNano()
	type line struct {
		id  uint64
		key string
		srv Server
		exp int64
	}
	var lines []line
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for e := sh.head; e != nil; e = e.next {
			if e.exp != 0 && e.exp <= now {
				continue
			}
			lines = append(lines, line{e.id, e.key, e.srv, e.exp})
		}
		sh.mu.Unlock()
	}
	dst = append(dst, "# table: "...)
	dst = append(dst, name...)
	dst = append(dst, ", type: "...)
	dst = append(dst, t.cfg.Type.String()...)
	dst = append(dst, ", size:"...)
	dst = strconv.AppendInt(dst, int64(t.cfg.Size), 10)
	dst = append(dst, ", used:"...)
	dst = strconv.AppendInt(dst, int64(len(lines)), 10)
	dst = append(dst, '\n')
	for _, l := range lines {
		dst = append(dst, "0x"...)
		dst = strconv.AppendUint(dst, l.id, 16)
		dst = append(dst, ": key="...)
		dst = t.AppendKey(dst, l.key)
		dst = append(dst, " use=0 exp="...)
		if l.exp == 0 {
			dst = append(dst, '0')
		} else {
			dst = strconv.AppendInt(dst, (l.exp-now)/int64(time.Millisecond), 10)
		}
		dst = append(dst, " server_id="...)
		dst = strconv.AppendInt(dst, int64(l.srv.ID), 10)
		dst = append(dst, " server_key="...)
		dst = append(dst, l.srv.Name...)
		dst = append(dst, '\n')
	}
	return dst
}
