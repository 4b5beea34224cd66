package acl

import (
	"fmt"
	"strings"
)

// smpType is the type of value a fetch produces, which decides the default
// match method and which explicit methods make sense.
type smpType uint8

const (
	tStr smpType = iota
	tInt
	tIP
	tBool
)

func (t smpType) String() string {
	switch t {
	case tInt:
		return "integer"
	case tIP:
		return "address"
	case tBool:
		return "boolean"
	default:
		return "string"
	}
}

type fetchKind uint8

const (
	fkTrue fetchKind = iota
	fkFalse
	fkProtoHTTP
	fkPath
	fkURL
	fkQuery
	fkURLParam
	fkHdr
	fkHdrCnt
	fkMethod
	fkSrc
	fkDstPort
	fkSSLFC
	fkSNI
	fkSSLProtocol
)

type argSpec uint8

const (
	argNone     argSpec = iota
	argOptional         // hdr(): no name means every header
	argRequired         // url_param(NAME)
)

type fetchDef struct {
	name string // canonical name, for messages
	kind fetchKind
	typ  smpType
	arg  argSpec
}

// baseFetches are the sample fetches tandem implements, by every name
// HAProxy accepts for them.
var baseFetches = map[string]fetchDef{
	"always_true":     {"always_true", fkTrue, tBool, argNone},
	"always_false":    {"always_false", fkFalse, tBool, argNone},
	"req.proto_http":  {"req.proto_http", fkProtoHTTP, tBool, argNone},
	"req_proto_http":  {"req.proto_http", fkProtoHTTP, tBool, argNone},
	"path":            {"path", fkPath, tStr, argNone},
	"url":             {"url", fkURL, tStr, argNone},
	"query":           {"query", fkQuery, tStr, argNone},
	"url_param":       {"url_param", fkURLParam, tStr, argRequired},
	"urlp":            {"url_param", fkURLParam, tStr, argRequired},
	"hdr":             {"hdr", fkHdr, tStr, argOptional},
	"req.hdr":         {"hdr", fkHdr, tStr, argOptional},
	"hdr_cnt":         {"hdr_cnt", fkHdrCnt, tInt, argOptional},
	"req.hdr_cnt":     {"hdr_cnt", fkHdrCnt, tInt, argOptional},
	"method":          {"method", fkMethod, tStr, argNone},
	"src":             {"src", fkSrc, tIP, argNone},
	"dst_port":        {"dst_port", fkDstPort, tInt, argNone},
	"ssl_fc":          {"ssl_fc", fkSSLFC, tBool, argNone},
	"ssl_fc_sni":      {"ssl_fc_sni", fkSNI, tStr, argNone},
	"ssl_fc_protocol": {"ssl_fc_protocol", fkSSLProtocol, tStr, argNone},
}

// derivedFetches are HAProxy's shorthands: a base fetch with an implied
// match method ("path_beg" is "path -m beg").
var derivedFetches = map[string]struct {
	base string
	m    matchMethod
}{
	"path_beg": {"path", mBeg}, "path_end": {"path", mEnd}, "path_sub": {"path", mSub},
	"path_reg": {"path", mReg}, "path_dir": {"path", mDir}, "path_len": {"path", mLen},
	"url_beg": {"url", mBeg}, "url_end": {"url", mEnd}, "url_sub": {"url", mSub},
	"url_reg": {"url", mReg}, "url_dir": {"url", mDir}, "url_len": {"url", mLen},
	"hdr_beg": {"hdr", mBeg}, "hdr_end": {"hdr", mEnd}, "hdr_sub": {"hdr", mSub},
	"hdr_reg": {"hdr", mReg}, "hdr_dir": {"hdr", mDir}, "hdr_dom": {"hdr", mDom},
	"hdr_len":        {"hdr", mLen},
	"urlp_reg":       {"url_param", mReg},
	"ssl_fc_sni_end": {"ssl_fc_sni", mEnd},
	"ssl_fc_sni_reg": {"ssl_fc_sni", mReg},
}

// knownUnsupported are HAProxy fetches people will paste from haproxy.cfg;
// they get a "not supported" rather than an "unknown".
var knownUnsupported = map[string]bool{
	"path_dom": true, "url_dom": true, "url_ip": true, "url_port": true,
	"hdr_ip": true, "hdr_val": true, "hdr_beg_ip": true, "fhdr": true, "req.fhdr": true,
	"src_port": true, "dst": true, "base": true, "base_beg": true, "base_sub": true,
	"cook": true, "req.cook": true, "cook_val": true, "req.ver": true, "req_ver": true,
	"http_auth": true, "http_auth_group": true, "status": true, "res.hdr": true,
	"ssl_c_used": true, "ssl_fc_alpn": true, "req.ssl_sni": true,
	"req_ssl_sni": true, "sc0_conn_rate": true, "src_conn_rate": true, "nbsrv": true,
	"be_conn": true, "fe_conn": true, "pathq": true, "capture.req.uri": true,
}

// parseFetch splits "hdr(host)" into the fetch definition, its arguments
// and the match method its name implies (mNone for a base fetch).
func parseFetch(word string) (fetchDef, []string, matchMethod, error) {
	name, rest, hasArgs := strings.Cut(word, "(")
	var args []string
	if hasArgs {
		inner, after, ok := strings.Cut(rest, ")")
		if !ok {
			return fetchDef{}, nil, mNone, fmt.Errorf("missing ')' in fetch '%s'", word)
		}
		if after != "" {
			if after[0] == ',' {
				return fetchDef{}, nil, mNone, fmt.Errorf("converters ('%s') are not supported", after)
			}
			return fetchDef{}, nil, mNone, fmt.Errorf("unexpected '%s' after ')' in fetch '%s'", after, word)
		}
		if inner != "" {
			args = strings.Split(inner, ",")
		}
	} else if strings.Contains(word, ")") {
		return fetchDef{}, nil, mNone, fmt.Errorf("unexpected ')' in fetch '%s'", word)
	}
	if i := strings.IndexByte(name, ','); i >= 0 {
		return fetchDef{}, nil, mNone, fmt.Errorf("converters ('%s') are not supported", name[i:])
	}
	implied := mNone
	def, ok := baseFetches[name]
	if !ok {
		d, isDerived := derivedFetches[name]
		switch {
		case isDerived:
			def, implied = baseFetches[d.base], d.m
		case knownUnsupported[name]:
			return fetchDef{}, nil, mNone, fmt.Errorf("fetch '%s' is not supported", name)
		case name == "":
			return fetchDef{}, nil, mNone, fmt.Errorf("missing fetch name in '%s'", word)
		default:
			return fetchDef{}, nil, mNone, fmt.Errorf("unknown fetch '%s'", name)
		}
	}
	switch def.arg {
	case argNone:
		if hasArgs {
			return fetchDef{}, nil, mNone, fmt.Errorf("fetch '%s' takes no argument", name)
		}
	case argOptional:
		if len(args) > 1 {
			return fetchDef{}, nil, mNone, fmt.Errorf("fetch '%s': only the header name is supported as argument, not an occurrence", name)
		}
	case argRequired:
		if len(args) == 0 || args[0] == "" {
			return fetchDef{}, nil, mNone, fmt.Errorf("fetch '%s' needs a parameter name: %s(NAME)", name, name)
		}
		if len(args) > 2 {
			return fetchDef{}, nil, mNone, fmt.Errorf("fetch '%s' takes at most a name and a delimiter", name)
		}
		if len(args) == 2 && len(args[1]) != 1 {
			return fetchDef{}, nil, mNone, fmt.Errorf("fetch '%s': delimiter '%s' must be one character", name, args[1])
		}
	}
	return def, args, implied, nil
}
