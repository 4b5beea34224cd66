package privdrop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"kernel.org/pub/linux/libs/security/libcap/cap"
)

// keep is what survives the drop; see the package comment for why each.
var keep = []cap.Value{cap.NET_ADMIN, cap.NET_RAW, cap.NET_BIND_SERVICE}

// Kept returns the names of the capabilities Drop keeps, as capsh and the
// systemd unit spell them.
func Kept() []string {
	names := make([]string, len(keep))
	for i, v := range keep {
		names[i] = v.String()
	}
	return names
}

// keepMask is keep as the bit mask /proc/PID/status prints.
func keepMask() uint64 {
	var m uint64
	for _, v := range keep {
		m |= 1 << uint(v)
	}
	return m
}

// User is the account the process runs as after the drop.
type User struct {
	Name string
	UID  int
	GID  int // the account's primary group; supplementary groups are cleared
}

// Lookup finds the account name in the user database (/etc/passwd in the
// static binary). Numeric ids are not accepted: the RPM creates a named
// system account and `tandem check` should catch a typo in it.
func Lookup(name string) (User, error) {
	if name == "" {
		return User{}, errors.New("look up user: empty user name")
	}
	u, err := user.Lookup(name)
	if err != nil {
		return User{}, fmt.Errorf("look up user %q: %w", name, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return User{}, fmt.Errorf("look up user %q: uid %q is not a number", name, u.Uid)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return User{}, fmt.Errorf("look up user %q: gid %q is not a number", name, u.Gid)
	}
	return User{Name: name, UID: uid, GID: gid}, nil
}

// Drop looks up name and switches the whole process to it (see DropTo).
func Drop(name string) (User, error) {
	u, err := Lookup(name)
	if err != nil {
		return User{}, fmt.Errorf("drop privileges: %w", err)
	}
	return u, DropTo(u)
}

// DropTo switches every thread of the process to u's uid and primary gid,
// with no supplementary groups, and leaves exactly CAP_NET_ADMIN, CAP_NET_RAW
// and CAP_NET_BIND_SERVICE permitted and effective (nothing inheritable or
// ambient). When the process may (CAP_SETPCAP, i.e. not under the systemd
// unit, whose bounding set already is that small) it also shrinks the
// bounding set to those three, so that nothing it executes later (VRRP
// notify scripts) can regain root's other powers through a set-uid binary.
//
// It needs euid 0 and CAP_SETUID, CAP_SETGID plus the three kept ones in the
// permitted set; it fails before changing anything when one is missing. On
// success it has verified every thread in /proc/self/task.
func DropTo(u User) error {
	if u.UID == 0 {
		return fmt.Errorf("drop privileges to %s: uid 0 is root; leave [global] user unset to stay root", u.Name)
	}
	if euid := os.Geteuid(); euid != 0 {
		return fmt.Errorf("drop privileges to %s: not running as root (euid %d)", u.Name, euid)
	}
	cur := cap.GetProc()
	var missing []string
	for _, v := range append([]cap.Value{cap.SETUID, cap.SETGID}, keep...) {
		on, err := cur.GetFlag(cap.Permitted, v)
		if err != nil {
			return fmt.Errorf("drop privileges to %s: read capability %s: %w", u.Name, v, err)
		}
		if !on {
			missing = append(missing, v.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("drop privileges to %s: %s not permitted (the systemd unit's CapabilityBoundingSet must list CAP_SETUID CAP_SETGID CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE)",
			u.Name, strings.Join(missing, ", "))
	}
	if on, _ := cur.GetFlag(cap.Permitted, cap.SETPCAP); on {
		if err := shrinkBound(cur); err != nil {
			return fmt.Errorf("drop privileges to %s: %w", u.Name, err)
		}
	}
	if err := cap.SetGroups(u.GID); err != nil {
		return fmt.Errorf("drop privileges to %s: set gid %d and clear supplementary groups: %w", u.Name, u.GID, err)
	}
	// SetUID sets PR_SET_KEEPCAPS around setuid, so the permitted set
	// survives the change from uid 0; it clears the effective set.
	if err := cap.SetUID(u.UID); err != nil {
		return fmt.Errorf("drop privileges to %s: set uid %d: %w", u.Name, u.UID, err)
	}
	final := cap.NewSet()
	if err := final.SetFlag(cap.Permitted, true, keep...); err != nil {
		return fmt.Errorf("drop privileges to %s: %w", u.Name, err)
	}
	if err := final.SetFlag(cap.Effective, true, keep...); err != nil {
		return fmt.Errorf("drop privileges to %s: %w", u.Name, err)
	}
	if err := final.SetProc(); err != nil {
		return fmt.Errorf("drop privileges to %s: set capabilities %s: %w", u.Name, final, err)
	}
	if err := verify(u); err != nil {
		return fmt.Errorf("drop privileges to %s: %w", u.Name, err)
	}
	return nil
}

// shrinkBound drops every bounding-set capability but the kept ones. It
// raises CAP_SETPCAP in the effective set for the duration.
func shrinkBound(cur *cap.Set) error {
	w, err := cur.Dup()
	if err != nil {
		return fmt.Errorf("copy capability set: %w", err)
	}
	if err := w.SetFlag(cap.Effective, true, cap.SETPCAP); err != nil {
		return fmt.Errorf("raise CAP_SETPCAP: %w", err)
	}
	if err := w.SetProc(); err != nil {
		return fmt.Errorf("raise CAP_SETPCAP: %w", err)
	}
	var drop []cap.Value
	for v := cap.Value(0); v < cap.MaxBits(); v++ {
		if !isKept(v) {
			drop = append(drop, v)
		}
	}
	if err := cap.DropBound(drop...); err != nil {
		return fmt.Errorf("shrink the capability bounding set: %w", err)
	}
	return nil
}

func isKept(v cap.Value) bool {
	for _, k := range keep {
		if k == v {
			return true
		}
	}
	return false
}

// Creds is one thread's credentials as /proc/PID/task/TID/status shows them.
type Creds struct {
	TID    int
	UID    [4]int // real, effective, saved, filesystem
	GID    [4]int
	Groups []int
	Inh    uint64 // capability sets, bit n is capability n
	Prm    uint64
	Eff    uint64
	Bnd    uint64
	Amb    uint64
}

// ThreadCreds reads the credentials of every thread of this process.
func ThreadCreds() ([]Creds, error) {
	dirs, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil {
		return nil, fmt.Errorf("list threads: %w", err)
	}
	var out []Creds
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // the thread exited meanwhile
			}
			return nil, fmt.Errorf("read thread credentials: %w", err)
		}
		c, err := parseStatus(b)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		c.TID, _ = strconv.Atoi(filepath.Base(filepath.Dir(f)))
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("list threads: /proc/self/task is empty (is /proc mounted?)")
	}
	return out, nil
}

func parseStatus(b []byte) (Creds, error) {
	var c Creds
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		var err error
		switch key {
		case "Uid":
			err = ids(fields, c.UID[:])
		case "Gid":
			err = ids(fields, c.GID[:])
		case "Groups":
			c.Groups = make([]int, len(fields))
			err = ids(fields, c.Groups)
		case "CapInh":
			c.Inh, err = mask(fields)
		case "CapPrm":
			c.Prm, err = mask(fields)
		case "CapEff":
			c.Eff, err = mask(fields)
		case "CapBnd":
			c.Bnd, err = mask(fields)
		case "CapAmb": // absent before Linux 4.3, which has no ambient set
			c.Amb, err = mask(fields)
		default:
			continue
		}
		if err != nil {
			return c, fmt.Errorf("%s: %w", key, err)
		}
		seen++
	}
	if seen < 7 {
		return c, errors.New("missing Uid, Gid, Groups or Cap lines")
	}
	return c, nil
}

func ids(fields []string, dst []int) error {
	if len(fields) != len(dst) {
		return fmt.Errorf("want %d ids, have %d", len(dst), len(fields))
	}
	for i, f := range fields {
		n, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("bad id %q", f)
		}
		dst[i] = n
	}
	return nil
}

func mask(fields []string) (uint64, error) {
	if len(fields) != 1 {
		return 0, errors.New("want one hex mask")
	}
	return strconv.ParseUint(fields[0], 16, 64)
}

// verify checks that every thread carries u's ids and exactly the kept
// capabilities, so a thread the broadcast missed cannot stay root.
func verify(u User) error {
	threads, err := ThreadCreds()
	if err != nil {
		return err
	}
	want := keepMask()
	for _, c := range threads {
		switch {
		case c.UID != [4]int{u.UID, u.UID, u.UID, u.UID}:
			return fmt.Errorf("thread %d: uids are %v, want %d", c.TID, c.UID, u.UID)
		case c.GID != [4]int{u.GID, u.GID, u.GID, u.GID}:
			return fmt.Errorf("thread %d: gids are %v, want %d", c.TID, c.GID, u.GID)
		case len(c.Groups) != 0:
			return fmt.Errorf("thread %d: supplementary groups %v remain", c.TID, c.Groups)
		case c.Prm != want || c.Eff != want || c.Inh != 0 || c.Amb != 0:
			return fmt.Errorf("thread %d: capabilities permitted %#x effective %#x inheritable %#x ambient %#x, want %#x %#x 0 0",
				c.TID, c.Prm, c.Eff, c.Inh, c.Amb, want, want)
		}
	}
	return nil
}
