package stats

import (
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tandemlb/tandem/health"
	"github.com/tandemlb/tandem/vrrp"
)

// page is what the HTML template renders.
type page struct {
	*View
	URI         string
	Refresh     int // seconds; 0 = none
	HideVersion bool
	Admin       bool
	Token       string
	User        string
	Message     string
	MessageOK   bool
	Tables      []pageTable
}

// pageTable is one frontend or backend table. HAProxy shows a `listen`
// section as one table; tandem's frontends and backends are separate
// objects, so a name used by both gets one table with both rows.
type pageTable struct {
	Name     string
	Mode     string
	Algo     string
	Frontend *FrontendView
	Backend  *BackendView
}

func (v *View) tables() []pageTable {
	var ts []pageTable
	idx := make(map[string]int)
	for i := range v.Frontends {
		f := &v.Frontends[i]
		idx[f.Name] = len(ts)
		ts = append(ts, pageTable{Name: f.Name, Mode: f.ModeName, Frontend: f})
	}
	for i := range v.Backends {
		b := &v.Backends[i]
		if j, ok := idx[b.Name]; ok && ts[j].Backend == nil {
			ts[j].Backend, ts[j].Algo = b, b.Algo
			continue
		}
		ts = append(ts, pageTable{Name: b.Name, Mode: b.Mode.String(), Algo: b.Algo, Backend: b})
	}
	return ts
}

var pageFuncs = template.FuncMap{
	"n": fmtNum,
	"lim": func(n int64) string {
		if n <= 0 {
			return "-"
		}
		return fmtNum(n)
	},
	"ni":    func(n int) string { return fmtNum(int64(n)) },
	"bytes": fmtBytes,
	"ago": func(now, t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return shortDuration(now.Sub(t))
	},
	"dur":   shortDuration,
	"lower": strings.ToLower,
	"chk":   checkText,
	"chkTitle": func(h health.ServerSnapshot) string {
		if !h.CheckEnabled() {
			return ""
		}
		t := h.CheckStatus.Description()
		if h.CheckInfo != "" {
			t += ": " + h.CheckInfo
		}
		return t
	},
	"down": func(now time.Time, h health.ServerSnapshot) string {
		if !h.CheckEnabled() {
			return ""
		}
		return shortDuration(h.DowntimeAt(now))
	},
	"vrrpClass": func(s vrrp.State) string { return "vrrp-" + strings.ToLower(s.String()) },
	"uptime":    uptimeText,
	"yes": func(b bool) string {
		if b {
			return "Y"
		}
		return "-"
	},
}

// checkText is the LastChk cell: "L7OK/200 in 1ms", "L4CON in 0ms".
func checkText(h health.ServerSnapshot) string {
	if !h.CheckEnabled() {
		return ""
	}
	s := h.CheckStatus.String()
	if h.CheckStatus.HasCode() {
		s += "/" + strconv.Itoa(h.CheckCode)
	}
	if h.CheckStatus != health.StatusIni && h.CheckStatus != health.StatusUnknown && h.CheckDuration >= 0 {
		s += " in " + strconv.FormatInt(h.CheckDuration.Milliseconds(), 10) + "ms"
	}
	return s
}

// fmtNum groups digits by three with thin spaces, as HAProxy's page does.
func fmtNum(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u2009")
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// fmtBytes is a byte count in B, KiB, MiB, GiB or TiB, three figures.
func fmtBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	f := float64(n)
	for _, u := range []string{"K", "M", "G", "T"} {
		f /= 1024
		if f < 1024 || u == "T" {
			if f < 10 {
				return strconv.FormatFloat(f, 'f', 1, 64) + u
			}
			return strconv.FormatFloat(f, 'f', 0, 64) + u
		}
	}
	return strconv.FormatInt(n, 10)
}

var pageTemplate = template.Must(template.New("page").Funcs(pageFuncs).Parse(pageHTML))

func renderPage(w io.Writer, p *page) error {
	p.Tables = p.View.tables()
	return pageTemplate.Execute(w, p)
}

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{if .Refresh}}<meta http-equiv="refresh" content="{{.Refresh}}; url={{.URI}}">{{end}}
<title>Statistics Report for {{.Process.Name}} on {{.Process.Node}}</title>
<style>
:root { --ink:#1f2933; --muted:#616e7c; --line:#d3d9e0; --head:#243b53; --head2:#334e68; --px:#9f1239; }
* { box-sizing:border-box; }
body { font:12px/1.35 "DejaVu Sans", Verdana, Arial, sans-serif; color:var(--ink); margin:0; background:#f5f7fa; }
header { background:var(--head); color:#fff; padding:10px 16px; display:flex; align-items:baseline; gap:18px; flex-wrap:wrap; }
header h1 { font-size:20px; margin:0; font-weight:600; letter-spacing:.2px; }
header .sub { color:#bcccdc; font-size:13px; }
main { padding:12px 16px 24px; }
.top { display:flex; gap:14px; flex-wrap:wrap; align-items:stretch; margin-bottom:14px; }
.box { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px 12px; }
.box h2 { font-size:12px; text-transform:uppercase; letter-spacing:.6px; color:var(--muted); margin:0 0 6px; }
dl.info { display:grid; grid-template-columns:max-content max-content; gap:2px 12px; margin:0; }
dl.info dt { color:var(--muted); } dl.info dd { margin:0; font-weight:600; }
table { border-collapse:collapse; }
.legend td { padding:2px 6px 2px 0; white-space:nowrap; }
.sw { display:inline-block; width:14px; height:12px; border:1px solid #9aa5b1; vertical-align:middle; margin-right:5px; border-radius:2px; }
header nav { margin-left:auto; display:flex; gap:14px; }
header nav a { color:#9fd3ff; text-decoration:none; } header nav a:hover { text-decoration:underline; }
.vrrp th, .vrrp td { padding:3px 8px; text-align:left; border-bottom:1px solid #e4e7eb; white-space:nowrap; }
.vrrp th { color:var(--muted); font-weight:600; }
.pill { display:inline-block; padding:1px 7px; border-radius:9px; font-weight:700; font-size:11px; }
.vrrp-master { background:#16a34a; color:#fff; } .vrrp-backup { background:#2563eb; color:#fff; }
.vrrp-fault { background:#dc2626; color:#fff; } .vrrp-init { background:#9aa5b1; color:#fff; }
section.px { margin:0 0 14px; }
.pxhead { display:flex; align-items:baseline; gap:10px; margin-bottom:0; }
.pxname { background:var(--px); color:#fff; font-weight:700; padding:3px 12px; border-radius:5px 5px 0 0; font-size:13px; }
.pxmeta { color:var(--muted); }
.scroll { overflow-x:auto; }
table.st { width:100%; background:#fff; border:1px solid var(--line); font-size:11px; font-variant-numeric:tabular-nums; }
table.st th { background:var(--head2); color:#fff; font-weight:600; padding:2px 3px; border:1px solid #486581; text-align:center; white-space:nowrap; }
table.st thead tr:first-child th { background:var(--head); }
table.st td { padding:2px 4px; border:1px solid #e4e7eb; text-align:right; white-space:nowrap; }
table.st td.name { text-align:left; font-weight:600; }
table.st td.status { text-align:center; font-weight:700; }
table.st td.lastchk { text-align:left; }
table.st tr.fe td, table.st tr.be td { background:#eef2f6; font-weight:600; }
table.st td.sel { text-align:center; width:22px; }
tr.active-up td { background:#dcfce7; } tr.active-going-down td { background:#fef9c3; }
tr.active-going-up td { background:#fed7aa; } tr.down td { background:#fecaca; }
tr.backup-up td { background:#dbeafe; } tr.backup-going-down td { background:#e9d5ff; }
tr.backup-going-up td { background:#fbcfe8; } tr.maint td { background:#d6a874; }
tr.drain td { background:#7dd3fc; } tr.nocheck td { background:#e5e7eb; }
td.s-UP { color:#166534; } td.s-DOWN { color:#991b1b; } td.s-MAINT { color:#5b3412; } td.s-DRAIN { color:#075985; }
td.s-OPEN { color:#166534; } td.s-STOP, td.s-FULL { color:#991b1b; }
.sw.active-up { background:#dcfce7; } .sw.active-going-down { background:#fef9c3; } .sw.active-going-up { background:#fed7aa; }
.sw.down { background:#fecaca; } .sw.backup-up { background:#dbeafe; } .sw.backup-going-down { background:#e9d5ff; }
.sw.backup-going-up { background:#fbcfe8; } .sw.maint { background:#d6a874; } .sw.drain { background:#7dd3fc; } .sw.nocheck { background:#e5e7eb; }
.actions { margin:5px 0 0; display:flex; gap:6px; align-items:center; }
.actions select, .actions button { font:inherit; padding:2px 6px; }
.msg { padding:6px 10px; border-radius:5px; margin:0 0 12px; font-weight:600; }
.msg.ok { background:#dcfce7; border:1px solid #86efac; } .msg.err { background:#fee2e2; border:1px solid #fca5a5; }
footer { color:var(--muted); padding:0 16px 16px; }
</style>
</head>
<body>
<header>
<h1>{{.Process.Name}} statistics</h1>
<span class="sub">node <b>{{.Process.Node}}</b>{{if not .HideVersion}} · version {{.Process.Version}}{{if .Process.Commit}} ({{.Process.Commit}}){{end}}{{end}} · pid {{.Process.PID}}{{if .User}} · signed in as {{.User}}{{end}}</span>
<nav id="links"><a href="{{.URI}}">Refresh now</a>{{if .Refresh}}<a href="{{.URI}};norefresh">Stop refresh</a>{{end}}<a href="{{.URI}};csv">CSV</a><a href="{{.URI}};json">JSON</a><a href="/metrics">Metrics</a></nav>
</header>
<main>
{{if .Message}}<div class="msg {{if .MessageOK}}ok{{else}}err{{end}}" id="message">{{.Message}}</div>{{end}}
<div class="top">
<div class="box" id="process">
<h2>Process</h2>
<dl class="info">
<dt>pid</dt><dd>{{.Process.PID}}</dd>
<dt>uptime</dt><dd>{{uptime .Uptime}}</dd>
<dt>maxconn</dt><dd>{{ni .Process.MaxConn}}</dd>
<dt>current conns</dt><dd id="curconns">{{n .CurrConns}}</dd>
<dt>conn rate</dt><dd>{{n .ConnRate}}/s (max {{n .MaxConnRate}})</dd>
<dt>req rate</dt><dd>{{n .ReqRate}}/s (max {{n .MaxReqRate}})</dd>
<dt>total conns / reqs</dt><dd>{{n .CumConns}} / {{n .CumReq}}</dd>
</dl>
</div>
{{if .VRRP}}<div class="box" id="vrrp">
<h2>VRRP</h2>
<table class="vrrp">
<tr><th>Instance</th><th>Interface</th><th>VRID</th><th>This node</th><th>Priority</th><th>VIPs</th><th>Master</th><th>Since</th></tr>
{{range .VRRP}}<tr data-instance="{{.Name}}" data-state="{{.State}}">
<td><b>{{.Name}}</b></td><td>{{.Interface}}</td><td>{{.VRID}}</td>
<td><span class="pill {{vrrpClass .State}}">{{.State}}</span></td>
<td>{{.Priority}}{{if ne .Priority .Configured}} (configured {{.Configured}}){{end}}</td>
<td>{{range $i, $p := .VIPs}}{{if $i}}, {{end}}{{$p}}{{end}}</td>
<td>{{if .Master.IsValid}}{{.Master}}{{else}}unknown{{end}}</td>
<td>{{ago $.Now .LastTransition}}</td>
</tr>
{{end}}</table>
</div>{{end}}
<div class="box" id="legend">
<h2>Server status</h2>
<table class="legend">
<tr><td><span class="sw active-up"></span>active UP</td><td><span class="sw backup-up"></span>backup UP</td></tr>
<tr><td><span class="sw active-going-down"></span>active UP, going down</td><td><span class="sw backup-going-down"></span>backup UP, going down</td></tr>
<tr><td><span class="sw active-going-up"></span>active DOWN, going up</td><td><span class="sw backup-going-up"></span>backup DOWN, going up</td></tr>
<tr><td><span class="sw down"></span>active or backup DOWN</td><td><span class="sw nocheck"></span>not checked</td></tr>
<tr><td><span class="sw maint"></span>DOWN for maintenance (MAINT)</td><td><span class="sw drain"></span>DRAIN: no new traffic</td></tr>
</table>
</div>
</div>
{{range .Tables}}{{$t := .}}
<section class="px" id="px-{{.Name}}">
<div class="pxhead"><span class="pxname">{{.Name}}</span><span class="pxmeta">mode {{.Mode}}{{if .Algo}} · balance {{.Algo}}{{end}}</span></div>
{{if and $.Admin .Backend}}<form method="post" action="{{$.URI}}">
<input type="hidden" name="token" value="{{$.Token}}">
<input type="hidden" name="b" value="{{.Name}}">{{end}}
<div class="scroll"><table class="st">
<thead>
<tr>{{if $.Admin}}<th rowspan="2"></th>{{end}}<th rowspan="2">Name</th><th colspan="2">Queue</th><th colspan="2">Rate</th><th colspan="6">Sessions</th><th colspan="2">Bytes</th><th colspan="2">Denied</th><th colspan="3">Errors</th><th colspan="2">Warnings</th><th colspan="6">Responses</th><th colspan="9">Server</th></tr>
<tr><th>Cur</th><th>Max</th><th>Cur</th><th>Max</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>1xx</th><th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th><th>other</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th></tr>
</thead>
<tbody>
{{with .Frontend}}<tr class="fe" data-frontend="{{.Name}}" data-status="{{.Status}}">{{if $.Admin}}<td></td>{{end}}
<td class="name">Frontend</td><td></td><td></td><td>{{n .Rate}}</td><td>{{n .RateMax}}</td>
<td>{{n .SessCur}}</td><td>{{n .SessMax}}</td><td>{{lim .SessLimit}}</td><td>{{n .SessTotal}}</td><td></td><td></td>
<td title="{{n .BytesIn}} bytes">{{bytes .BytesIn}}</td><td title="{{n .BytesOut}} bytes">{{bytes .BytesOut}}</td><td>{{n .Denied}}</td><td>0</td>
<td>{{n .ErrReq}}</td><td></td><td></td><td></td><td></td>
<td>{{n (index .Responses 1)}}</td><td>{{n (index .Responses 2)}}</td><td>{{n (index .Responses 3)}}</td><td>{{n (index .Responses 4)}}</td><td>{{n (index .Responses 5)}}</td><td>{{n (index .Responses 0)}}</td>
<td class="status s-{{.Status}}">{{.Status}}</td><td></td><td></td><td></td><td></td><td></td><td></td><td></td><td></td></tr>
{{end}}{{with .Backend}}{{$b := .}}{{range .Servers}}<tr class="srv {{.Class}}" data-server="{{$b.Name}}/{{.Name}}" data-state="{{.State}}" data-status="{{.Health.StatusText}}">{{if $.Admin}}<td class="sel"><input type="checkbox" name="s" value="{{.Name}}" aria-label="select {{.Name}}"></td>{{end}}
<td class="name" title="{{.Addr}}">{{.Name}}</td><td>{{n .QueueCur}}</td><td>{{n .QueueMax}}</td><td>{{n .Rate}}</td><td>{{n .RateMax}}</td>
<td>{{n .SessCur}}</td><td>{{n .SessMax}}</td><td>{{lim .SessLimit}}</td><td>{{n .SessTotal}}</td><td>{{n .LBTot}}</td><td>{{ago $.Now .LastSess}}</td>
<td title="{{n .BytesIn}} bytes">{{bytes .BytesIn}}</td><td title="{{n .BytesOut}} bytes">{{bytes .BytesOut}}</td><td></td><td>0</td>
<td></td><td>{{n .ErrConn}}</td><td>{{n .ErrResp}}</td><td>{{n .Retries}}</td><td>{{n .Redispatches}}</td>
<td>{{n (index .Responses 1)}}</td><td>{{n (index .Responses 2)}}</td><td>{{n (index .Responses 3)}}</td><td>{{n (index .Responses 4)}}</td><td>{{n (index .Responses 5)}}</td><td>{{n (index .Responses 0)}}</td>
<td class="status s-{{.State}}">{{ago $.Now (.LastChangeAt $.Process.Start)}} {{.Health.StatusText}}</td>
<td class="lastchk" title="{{chkTitle .Health}}">{{chk .Health}}</td>
<td>{{.Weight}}/{{.Health.Weight}}</td><td>{{yes (not .Backup)}}</td><td>{{yes .Backup}}</td>
<td>{{if .Health.CheckEnabled}}{{.Health.ChkFail}}{{end}}</td><td>{{if .Health.CheckEnabled}}{{.Health.ChkDown}}{{end}}</td><td>{{down $.Now .Health}}</td>
<td>{{if ge .Throttle 0}}{{.Throttle}}%{{else}}-{{end}}</td></tr>
{{end}}<tr class="be" data-backend="{{.Name}}" data-status="{{if .Up}}UP{{else}}DOWN{{end}}">{{if $.Admin}}<td></td>{{end}}
<td class="name">Backend</td><td>{{n .QueueCur}}</td><td>{{n .QueueMax}}</td><td>{{n .Rate}}</td><td>{{n .RateMax}}</td>
<td>{{n .SessCur}}</td><td>{{n .SessMax}}</td><td></td><td>{{n .SessTotal}}</td><td>{{n .LBTot}}</td><td>{{ago $.Now .LastSess}}</td>
<td title="{{n .BytesIn}} bytes">{{bytes .BytesIn}}</td><td title="{{n .BytesOut}} bytes">{{bytes .BytesOut}}</td><td>{{n .Denied}}</td><td>0</td>
<td></td><td>{{n .ErrConn}}</td><td>{{n .ErrResp}}</td><td>{{n .Retries}}</td><td>{{n .Redispatches}}</td>
<td>{{n (index .Responses 1)}}</td><td>{{n (index .Responses 2)}}</td><td>{{n (index .Responses 3)}}</td><td>{{n (index .Responses 4)}}</td><td>{{n (index .Responses 5)}}</td><td>{{n (index .Responses 0)}}</td>
<td class="status s-{{if .Up}}UP{{else}}DOWN{{end}}">{{ago $.Now .LastChange}} {{if .Up}}UP{{else}}DOWN{{end}}</td><td></td>
<td>{{.Weight}}/{{.UWeight}}</td><td>{{.ActiveUp}}</td><td>{{.BackupUp}}</td><td></td><td>{{.ChkDown}}</td><td>{{dur .Downtime}}</td><td></td></tr>
{{end}}</tbody>
</table></div>
{{if and $.Admin .Backend}}<div class="actions"><label>Set the checked servers to
<select name="action"><option value="ready">READY</option><option value="drain">DRAIN (no new traffic)</option><option value="maint">MAINT (maintenance)</option><option value="dhlth">Disable health checks</option><option value="ehlth">Enable health checks</option></select></label>
<button type="submit">Apply</button></div>
</form>{{end}}
</section>
{{end}}
</main>
<footer>Generated {{.Now.UTC.Format "2006-01-02 15:04:05 UTC"}}{{if .Refresh}} · refreshes every {{.Refresh}}s{{end}}</footer>
</body>
</html>
`
