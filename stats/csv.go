package stats

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tandemlb/tandem/health"
)

// Value is one CSV cell: empty (HAProxy leaves the field blank for this
// kind of row), a number or a string.
type Value struct {
	s    string
	n    int64
	kind uint8
}

const (
	kindEmpty uint8 = iota
	kindNum
	kindStr
)

func num(n int64) Value  { return Value{n: n, kind: kindNum} }
func str(s string) Value { return Value{s: s, kind: kindStr} }
func numi(n int) Value   { return num(int64(n)) }
func secs(d time.Duration) Value {
	return num(int64(d / time.Second))
}

// IsEmpty reports whether the field is blank.
func (v Value) IsEmpty() bool { return v.kind == kindEmpty }

// String is the CSV text of the value, unquoted.
func (v Value) String() string {
	switch v.kind {
	case kindNum:
		return strconv.FormatInt(v.n, 10)
	case kindStr:
		return v.s
	}
	return ""
}

// MarshalJSON writes numbers as numbers, strings as strings, empty as null.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case kindNum:
		return strconv.AppendInt(nil, v.n, 10), nil
	case kindStr:
		return json.Marshal(v.s)
	}
	return []byte("null"), nil
}

// Row is one `show stat` line.
type Row [numColumns]Value

// Get returns the value of the column called name.
func (r *Row) Get(name string) Value {
	for i, c := range Columns {
		if c == name {
			return r[i]
		}
	}
	return Value{}
}

// Rows returns the `show stat` lines in HAProxy's order: each frontend,
// then each backend's servers followed by its BACKEND line.
func (v *View) Rows() []Row {
	rows := make([]Row, 0, len(v.Frontends)+len(v.Backends)*4)
	for i := range v.Frontends {
		rows = append(rows, v.frontendRow(&v.Frontends[i]))
	}
	for i := range v.Backends {
		b := &v.Backends[i]
		for j := range b.Servers {
			rows = append(rows, v.serverRow(b, &b.Servers[j]))
		}
		rows = append(rows, v.backendRow(b))
	}
	return rows
}

// zeros sets columns that tandem has no feature for (compression, cache,
// header-rewrite failures...) to 0, as HAProxy shows them when unused.
func (r *Row) zeros(cols ...int) {
	for _, c := range cols {
		r[c] = num(0)
	}
}

func (r *Row) responses(c [6]int64) {
	r[colHrsp1xx], r[colHrsp2xx], r[colHrsp3xx] = num(c[1]), num(c[2]), num(c[3])
	r[colHrsp4xx], r[colHrsp5xx], r[colHrspOther] = num(c[4]), num(c[5]), num(c[0])
}

func (v *View) frontendRow(f *FrontendView) Row {
	var r Row
	r[colPxname], r[colSvname] = str(f.Name), str("FRONTEND")
	r[colScur], r[colSmax], r[colSlim], r[colStot] = num(f.SessCur), num(f.SessMax), num(f.SessLimit), num(f.SessTotal)
	r[colBin], r[colBout] = num(f.BytesIn), num(f.BytesOut)
	r[colDreq], r[colDresp], r[colEreq] = num(f.Denied), num(0), num(f.ErrReq)
	r[colStatus] = str(f.Status)
	r[colPid], r[colIid], r[colSid], r[colType] = num(1), numi(f.IID), num(0), num(0)
	r[colRate], r[colRateLim], r[colRateMax] = num(f.Rate), num(0), num(f.RateMax)
	r.responses(f.Responses)
	r[colReqRate], r[colReqRateMax], r[colReqTot] = num(f.ReqRate), num(f.ReqRateMax), num(f.Requests)
	r[colMode] = str(f.ModeName)
	r[colConnRate], r[colConnRateMax], r[colConnTot] = num(f.Rate), num(f.RateMax), num(f.SessTotal)
	r.zeros(colCompIn, colCompOut, colCompByp, colCompRsp, colIntercepted, colDcon, colDses, colWrew,
		colCacheLookups, colCacheHits, colEint)
	return r
}

func (v *View) backendRow(b *BackendView) Row {
	var r Row
	r[colPxname], r[colSvname] = str(b.Name), str("BACKEND")
	r[colQcur], r[colQmax] = num(b.QueueCur), num(b.QueueMax)
	r[colScur], r[colSmax], r[colStot] = num(b.SessCur), num(b.SessMax), num(b.SessTotal)
	r[colBin], r[colBout] = num(b.BytesIn), num(b.BytesOut)
	r[colDreq], r[colDresp] = num(b.Denied), num(0)
	r[colEcon], r[colEresp], r[colWretr], r[colWredis] = num(b.ErrConn), num(b.ErrResp), num(b.Retries), num(b.Redispatches)
	status := "DOWN"
	if b.Up {
		status = "UP"
	}
	r[colStatus] = str(status)
	r[colWeight], r[colAct], r[colBck] = numi(b.Weight), numi(b.ActiveUp), numi(b.BackupUp)
	r[colChkdown], r[colLastchg], r[colDowntime] = num(b.ChkDown), secs(v.Now.Sub(b.LastChange)), secs(b.Downtime)
	r[colPid], r[colIid], r[colSid], r[colType] = num(1), numi(b.IID), num(0), num(1)
	r[colLbtot] = num(b.LBTot)
	r[colRate], r[colRateMax] = num(b.Rate), num(b.RateMax)
	r.responses(b.Responses)
	r[colReqTot] = num(b.Requests)
	r[colLastsess] = lastSess(v.Now, b.LastSess)
	r[colMode], r[colAlgo] = str(b.Mode.String()), str(b.Algo)
	r[colUweight] = numi(b.UWeight)
	r.zeros(colCompIn, colCompOut, colCompByp, colCompRsp, colWrew, colCacheLookups, colCacheHits, colEint)
	return r
}

func (v *View) serverRow(b *BackendView, s *ServerView) Row {
	var r Row
	h := &s.Health
	r[colPxname], r[colSvname] = str(b.Name), str(s.Name)
	r[colQcur], r[colQmax] = num(s.QueueCur), num(s.QueueMax)
	r[colScur], r[colSmax], r[colStot] = num(s.SessCur), num(s.SessMax), num(s.SessTotal)
	if s.MaxConn > 0 {
		r[colSlim] = numi(s.MaxConn)
	}
	r[colBin], r[colBout] = num(s.BytesIn), num(s.BytesOut)
	r[colDresp] = num(0)
	r[colEcon], r[colEresp], r[colWretr], r[colWredis] = num(s.ErrConn), num(s.ErrResp), num(s.Retries), num(s.Redispatches)
	r[colStatus] = str(h.StatusText())
	r[colWeight], r[colAct], r[colBck] = numi(s.Weight), num(1), num(0)
	if s.Backup {
		r[colAct], r[colBck] = num(0), num(1)
	}
	r[colLastchg] = secs(v.Now.Sub(s.LastChangeAt(v.Process.Start)))
	if h.CheckEnabled() {
		// HAProxy leaves the check columns empty for a server whose
		// checks are stopped (`disable health`).
		r[colChkfail], r[colChkdown] = num(int64(h.ChkFail)), num(int64(h.ChkDown))
		r[colDowntime] = secs(h.DowntimeAt(v.Now))
		r[colCheckStatus] = str(h.CheckStatus.String())
		if h.CheckStatus.HasCode() {
			r[colCheckCode] = numi(h.CheckCode)
		}
		if h.CheckStatus != health.StatusIni && h.CheckStatus != health.StatusUnknown && h.CheckDuration >= 0 {
			r[colCheckDuration] = num(h.CheckDuration.Milliseconds())
		}
		if h.CheckInfo != "" {
			r[colLastChk] = str(h.CheckInfo)
		}
		r[colCheckDesc] = str(h.CheckStatus.Description())
		r[colCheckRise], r[colCheckFall], r[colCheckHealth] = numi(h.Rise), numi(h.Fall), numi(h.Health)
		if h.HanaFail > 0 {
			r[colHanafail] = num(int64(h.HanaFail))
		}
	}
	r[colPid], r[colIid], r[colSid], r[colType] = num(1), numi(b.IID), numi(s.SID), num(2)
	if t := s.Throttle(); t >= 0 {
		r[colThrottle] = numi(t)
	}
	r[colLbtot] = num(s.LBTot)
	r[colRate], r[colRateMax] = num(s.Rate), num(s.RateMax)
	r.responses(s.Responses)
	r[colReqTot] = num(s.Requests)
	r[colLastsess] = lastSess(v.Now, s.LastSess)
	r[colAddr], r[colMode] = str(s.Addr), str(b.Mode.String())
	r[colUweight] = numi(h.Weight)
	r.zeros(colWrew, colSrvIcur, colEint)
	return r
}

func lastSess(now, t time.Time) Value {
	if t.IsZero() {
		return num(-1)
	}
	return secs(now.Sub(t))
}

// WriteCSV writes the header and rows as HAProxy's `show stat` does: a
// "# " header, a trailing comma on every line, fields quoted only when
// they hold a comma, a quote or a line break.
func WriteCSV(w io.Writer, rows []Row) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("# ")
	for _, c := range Columns {
		bw.WriteString(c)
		bw.WriteByte(',')
	}
	bw.WriteByte('\n')
	for i := range rows {
		for _, f := range rows[i] {
			writeField(bw, f.String())
			bw.WriteByte(',')
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

func writeField(w *bufio.Writer, s string) {
	if !strings.ContainsAny(s, ",\"\r\n") {
		w.WriteString(s)
		return
	}
	w.WriteByte('"')
	w.WriteString(strings.ReplaceAll(s, `"`, `""`))
	w.WriteByte('"')
}

// jsonDoc is the `;json` answer: the process information, one object per
// `show stat` line (keys are the CSV column names, blank fields left
// out) and the VRRP instances.
type jsonDoc struct {
	Info  []InfoField        `json:"info"`
	Stats []map[string]Value `json:"stats"`
	VRRP  []jsonVRRP         `json:"vrrp"`
}

type jsonVRRP struct {
	Name           string    `json:"name"`
	Interface      string    `json:"interface"`
	VRID           uint8     `json:"vrid"`
	State          string    `json:"state"`
	Priority       uint8     `json:"priority"`
	Configured     uint8     `json:"configured_priority"`
	Master         string    `json:"master,omitempty"`
	VIPs           []string  `json:"vips"`
	LastTransition time.Time `json:"last_transition,omitzero"`
	AdvertsSent    uint64    `json:"adverts_sent"`
	AdvertsRecv    uint64    `json:"adverts_received"`
	BecameMaster   uint64    `json:"became_master"`
}

// WriteJSON writes the view as JSON (see jsonDoc).
func WriteJSON(w io.Writer, v *View, hideVersion bool) error {
	doc := jsonDoc{Info: v.Info(hideVersion), Stats: []map[string]Value{}, VRRP: []jsonVRRP{}}
	for _, r := range v.Rows() {
		m := make(map[string]Value)
		for i, f := range r {
			if !f.IsEmpty() {
				m[Columns[i]] = f
			}
		}
		doc.Stats = append(doc.Stats, m)
	}
	for _, in := range v.VRRP {
		j := jsonVRRP{Name: in.Name, Interface: in.Interface, VRID: in.VRID, State: in.State.String(),
			Priority: in.Priority, Configured: in.Configured, VIPs: []string{}, LastTransition: in.LastTransition,
			AdvertsSent: in.Counters.AdvertsSent, AdvertsRecv: in.Counters.AdvertsReceived, BecameMaster: in.Counters.BecameMaster}
		if in.Master.IsValid() {
			j.Master = in.Master.String()
		}
		for _, p := range in.VIPs {
			j.VIPs = append(j.VIPs, p.String())
		}
		doc.VRRP = append(doc.VRRP, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(doc)
}

// InfoField is one `show info` line.
type InfoField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Info returns the `show info` fields, named as HAProxy names them.
func (v *View) Info(hideVersion bool) []InfoField {
	p := v.Process
	ver, commit := p.Version, p.Commit
	if hideVersion {
		ver, commit = "", ""
	}
	up := v.Uptime()
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []InfoField{
		{"Name", p.Name},
		{"Version", ver},
		{"Commit", commit},
		{"Nbthread", "1"},
		{"Nbproc", "1"},
		{"Process_num", "1"},
		{"Pid", strconv.Itoa(p.PID)},
		{"Uptime", uptimeText(up)},
		{"Uptime_sec", i(int64(up / time.Second))},
		{"Start_time_sec", i(p.Start.Unix())},
		{"Maxconn", strconv.Itoa(p.MaxConn)},
		{"Hard_maxconn", strconv.Itoa(p.MaxConn)},
		{"CurrConns", i(v.CurrConns)},
		{"CumConns", i(v.CumConns)},
		{"CumReq", i(v.CumReq)},
		{"ConnRate", i(v.ConnRate)},
		{"ConnRateLimit", "0"},
		{"MaxConnRate", i(v.MaxConnRate)},
		{"SessRate", i(v.ConnRate)},
		{"SessRateLimit", "0"},
		{"MaxSessRate", i(v.MaxConnRate)},
		{"ReqRate", i(v.ReqRate)},
		{"MaxReqRate", i(v.MaxReqRate)},
		{"node", p.Node},
		{"Stopping", "0"},
		{"Frontends", strconv.Itoa(len(v.Frontends))},
		{"Backends", strconv.Itoa(len(v.Backends))},
		{"VRRP_instances", strconv.Itoa(len(v.VRRP))},
	}
}

// WriteInfo writes `show info`: "Name: value" lines.
func WriteInfo(w io.Writer, v *View) error {
	bw := bufio.NewWriter(w)
	for _, f := range v.Info(false) {
		bw.WriteString(f.Name)
		bw.WriteString(": ")
		bw.WriteString(f.Value)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
