package peers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/tandemlb/tandem/internal/config"
)

// Digest is a configuration's SHA-256 per section, keyed by the section's
// name as an operator reads it: "global", "log", "frontend http-in",
// "backend ms1", "vrrp VI_1", "stats". Two nodes of a pair should have the
// same digest; the sections that differ are named in the drift warning.
type Digest map[string][sha256.Size]byte

// ConfigDigest digests the validated configuration, leaving out what
// legitimately differs between the two nodes:
//   - [peers] as a whole (each node names itself and the other);
//   - [global] admin_socket and [log] target (local plumbing);
//   - per VRRP instance: priority, initial state, unicast_src_ip and
//     unicast_peer (one node is the master-to-be, and each names the other).
//
// Binds stay in: a pair binds the same `*:port` (or the VIP) on both nodes,
// so a difference there is drift.
func ConfigDigest(cfg *config.Config) Digest {
	d := Digest{}
	if cfg == nil {
		return d
	}
	d["global"] = sum(struct {
		MaxConn, BufSize, MaxHeaders int
		HardStopAfter                time.Duration
		User                         string
	}{cfg.Global.MaxConn, cfg.Proxy.BufSize, cfg.Proxy.MaxHeaders, cfg.Proxy.HardStopAfter, cfg.Global.User})
	lg := cfg.Log
	lg.Target = ""
	d["log"] = sum(lg)
	for _, f := range cfg.Proxy.Frontends {
		d["frontend "+f.Name] = sum(f)
	}
	for _, b := range cfg.Proxy.Backends {
		d["backend "+b.Name] = sum(b)
	}
	for _, v := range cfg.VRRP {
		v.Priority, v.InitialState = 0, 0
		v.UnicastSrc, v.UnicastPeers = netip.Addr{}, nil
		d["vrrp "+v.Name] = sum(v)
	}
	if cfg.Stats != nil {
		d["stats"] = sum(cfg.Stats)
	}
	return d
}

// Diff returns the sections that differ, or exist on one side only, sorted.
func (d Digest) Diff(o Digest) []string {
	var out []string
	for k, v := range d {
		if w, ok := o[k]; !ok || w != v {
			out = append(out, k)
		}
	}
	for k := range o {
		if _, ok := d[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// keyed turns the digest into what a hello carries: each section's sum
// keyed with the secret and the sender's nonce, so that a captured hello
// does not let anyone test guesses of a section's content (a stats
// password, a VRRP auth_pass) without the secret.
func (d Digest) keyed(secret []byte, nonce [nonceLen]byte) []SectionSum {
	out := make([]SectionSum, 0, len(d))
	for name, s := range d {
		out = append(out, SectionSum{Name: name, Sum: keyedSum(secret, nonce, name, s)})
	}
	slices.SortFunc(out, func(a, b SectionSum) int { return cmpString(a.Name, b.Name) })
	return out
}

// diffKeyed compares the peer's keyed sections with ours under the peer's
// nonce.
func (d Digest) diffKeyed(secret []byte, nonce [nonceLen]byte, peer []SectionSum) []string {
	seen := make(map[string]bool, len(peer))
	var out []string
	for _, p := range peer {
		seen[p.Name] = true
		s, ok := d[p.Name]
		if !ok || keyedSum(secret, nonce, p.Name, s) != p.Sum {
			out = append(out, p.Name)
		}
	}
	for name := range d {
		if !seen[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func keyedSum(secret []byte, nonce [nonceLen]byte, name string, s [sha256.Size]byte) [sectionMAC]byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("tandem-peers digest\x00"))
	m.Write(nonce[:])
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(s[:])
	var out [sectionMAC]byte
	copy(out[:], m.Sum(nil))
	return out
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sum hashes a canonical encoding of v: exported fields by name, maps in
// key order, pointers followed, text marshalers (addresses, prefixes) by
// their text, functions and channels left out. It depends on the typed
// configuration only, never on how the TOML was written.
func sum(v any) [sha256.Size]byte {
	var b bytes.Buffer
	canon(&b, reflect.ValueOf(v))
	return sha256.Sum256(b.Bytes())
}

var textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()

func canon(b *bytes.Buffer, v reflect.Value) {
	if !v.IsValid() {
		b.WriteString("nil;")
		return
	}
	if v.Type().Implements(textMarshaler) && (v.Kind() != reflect.Pointer || !v.IsNil()) {
		if t, err := v.Interface().(encoding.TextMarshaler).MarshalText(); err == nil {
			writeStr(b, string(t))
			return
		}
	}
	switch v.Kind() {
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case reflect.String:
		writeStr(b, v.String())
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil")
		} else {
			canon(b, v.Elem())
		}
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			b.WriteString("[]")
			break
		}
		b.WriteString("[" + strconv.Itoa(v.Len()) + ":")
		for i := 0; i < v.Len(); i++ {
			canon(b, v.Index(i))
		}
		b.WriteByte(']')
	case reflect.Map:
		keys := make([]string, 0, v.Len())
		vals := make(map[string]reflect.Value, v.Len())
		for it := v.MapRange(); it.Next(); {
			var kb bytes.Buffer
			canon(&kb, it.Key())
			keys = append(keys, kb.String())
			vals[kb.String()] = it.Value()
		}
		sort.Strings(keys)
		b.WriteString("{" + strconv.Itoa(len(keys)) + ":")
		for _, k := range keys {
			b.WriteString(k)
			b.WriteByte('=')
			canon(b, vals[k])
		}
		b.WriteByte('}')
	case reflect.Struct:
		t := v.Type()
		b.WriteByte('(')
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			switch f.Type.Kind() {
			case reflect.Func, reflect.Chan, reflect.UnsafePointer:
				continue
			}
			b.WriteString(f.Name)
			b.WriteByte('=')
			canon(b, v.Field(i))
		}
		b.WriteByte(')')
	default:
		// Functions, channels: behaviour, not configuration.
		b.WriteString("-")
	}
	b.WriteByte(';')
}

func writeStr(b *bytes.Buffer, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte('"')
	b.WriteString(s)
}
