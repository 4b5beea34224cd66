package stats

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemlb/tandem/vrrp"
)

// collector exposes a View as Prometheus metrics, named in the spirit of
// HAProxy's exporter (tandem_frontend_*, tandem_backend_*, tandem_server_*)
// plus tandem_vrrp_*. It reads one View per scrape, so the proxy pays
// nothing per request. Labels are bounded by the configuration: proxy and
// server names, response classes, and fixed state sets.
type collector struct {
	src         *Source
	hideVersion bool
}

func newCollector(src *Source, hideVersion bool) *collector {
	return &collector{src: src, hideVersion: hideVersion}
}

type metric struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
}

func newMetric(name, help string, typ prometheus.ValueType, labels ...string) metric {
	return metric{prometheus.NewDesc("tandem_"+name, help, labels, nil), typ}
}

var (
	codes = [6]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

	mInfo        = newMetric("process_info", "Build information of the running tandem (value 1).", prometheus.GaugeValue, "version", "commit")
	mStart       = newMetric("process_start_time_seconds", "Start time of the process since the Unix epoch.", prometheus.GaugeValue)
	mMaxConn     = newMetric("process_max_connections", "Configured maxconn.", prometheus.GaugeValue)
	mCurConn     = newMetric("process_current_connections", "Client connections open now.", prometheus.GaugeValue)
	mConnTotal   = newMetric("process_connections_total", "Client connections accepted since start.", prometheus.CounterValue)
	mReqTotal    = newMetric("process_requests_total", "HTTP requests received since start.", prometheus.CounterValue)
	mFeStatus    = newMetric("frontend_status", "1 when the frontend is open and accepting, 0 when stopped.", prometheus.GaugeValue, "proxy")
	mFeCur       = newMetric("frontend_current_sessions", "Current sessions.", prometheus.GaugeValue, "proxy")
	mFeMax       = newMetric("frontend_max_sessions", "Highest number of concurrent sessions seen.", prometheus.GaugeValue, "proxy")
	mFeLimit     = newMetric("frontend_limit_sessions", "Configured session limit.", prometheus.GaugeValue, "proxy")
	mFeTotal     = newMetric("frontend_sessions_total", "Sessions since start.", prometheus.CounterValue, "proxy")
	mFeBytesIn   = newMetric("frontend_bytes_in_total", "Bytes received from clients.", prometheus.CounterValue, "proxy")
	mFeBytesOut  = newMetric("frontend_bytes_out_total", "Bytes sent to clients.", prometheus.CounterValue, "proxy")
	mFeDenied    = newMetric("frontend_requests_denied_total", "Requests denied by rules.", prometheus.CounterValue, "proxy")
	mFeErrReq    = newMetric("frontend_request_errors_total", "Invalid or aborted requests.", prometheus.CounterValue, "proxy")
	mFeReqs      = newMetric("frontend_http_requests_total", "HTTP requests received.", prometheus.CounterValue, "proxy")
	mFeResp      = newMetric("frontend_http_responses_total", "HTTP responses sent, by status class.", prometheus.CounterValue, "proxy", "code")
	mBeUp        = newMetric("backend_up", "1 when at least one server of the backend can take traffic.", prometheus.GaugeValue, "proxy")
	mBeActive    = newMetric("backend_active_servers", "Active servers that are up.", prometheus.GaugeValue, "proxy")
	mBeBackup    = newMetric("backend_backup_servers", "Backup servers that are up.", prometheus.GaugeValue, "proxy")
	mBeWeight    = newMetric("backend_weight", "Total effective weight of the servers taking traffic.", prometheus.GaugeValue, "proxy")
	mBeCur       = newMetric("backend_current_sessions", "Current sessions.", prometheus.GaugeValue, "proxy")
	mBeMax       = newMetric("backend_max_sessions", "Highest number of concurrent sessions seen.", prometheus.GaugeValue, "proxy")
	mBeTotal     = newMetric("backend_sessions_total", "Sessions since start.", prometheus.CounterValue, "proxy")
	mBeQCur      = newMetric("backend_current_queue", "Requests waiting for a server.", prometheus.GaugeValue, "proxy")
	mBeQMax      = newMetric("backend_max_queue", "Highest queue length seen.", prometheus.GaugeValue, "proxy")
	mBeBytesIn   = newMetric("backend_bytes_in_total", "Bytes received from clients for this backend.", prometheus.CounterValue, "proxy")
	mBeBytesOut  = newMetric("backend_bytes_out_total", "Bytes sent to clients from this backend.", prometheus.CounterValue, "proxy")
	mBeConnErr   = newMetric("backend_connection_errors_total", "Failed connections to servers.", prometheus.CounterValue, "proxy")
	mBeRespErr   = newMetric("backend_response_errors_total", "Invalid or aborted server responses.", prometheus.CounterValue, "proxy")
	mBeRetry     = newMetric("backend_retry_warnings_total", "Connection retries.", prometheus.CounterValue, "proxy")
	mBeRedisp    = newMetric("backend_redispatch_warnings_total", "Requests redispatched to another server.", prometheus.CounterValue, "proxy")
	mBeLB        = newMetric("backend_loadbalanced_total", "Times a server was picked.", prometheus.CounterValue, "proxy")
	mBeReqs      = newMetric("backend_http_requests_total", "HTTP requests sent to the backend.", prometheus.CounterValue, "proxy")
	mBeResp      = newMetric("backend_http_responses_total", "HTTP responses, by status class.", prometheus.CounterValue, "proxy", "code")
	mBeDowntime  = newMetric("backend_downtime_seconds_total", "Time the whole backend had no server up.", prometheus.CounterValue, "proxy")
	mSrvStatus   = newMetric("server_status", "Server state: 1 for the current one of UP, DOWN, MAINT, DRAIN.", prometheus.GaugeValue, "proxy", "server", "state")
	mSrvWeight   = newMetric("server_weight", "Effective weight (slowstart applied).", prometheus.GaugeValue, "proxy", "server")
	mSrvUWeight  = newMetric("server_user_weight", "Runtime weight set by configuration or operator.", prometheus.GaugeValue, "proxy", "server")
	mSrvCur      = newMetric("server_current_sessions", "Connections in use.", prometheus.GaugeValue, "proxy", "server")
	mSrvMax      = newMetric("server_max_sessions", "Highest number of concurrent connections seen.", prometheus.GaugeValue, "proxy", "server")
	mSrvLimit    = newMetric("server_limit_sessions", "Configured maxconn (0: none).", prometheus.GaugeValue, "proxy", "server")
	mSrvTotal    = newMetric("server_sessions_total", "Sessions since start.", prometheus.CounterValue, "proxy", "server")
	mSrvQCur     = newMetric("server_current_queue", "Requests waiting for this server.", prometheus.GaugeValue, "proxy", "server")
	mSrvBytesIn  = newMetric("server_bytes_in_total", "Bytes received from clients for this server.", prometheus.CounterValue, "proxy", "server")
	mSrvBytesOut = newMetric("server_bytes_out_total", "Bytes sent to clients from this server.", prometheus.CounterValue, "proxy", "server")
	mSrvConnErr  = newMetric("server_connection_errors_total", "Failed connections.", prometheus.CounterValue, "proxy", "server")
	mSrvRespErr  = newMetric("server_response_errors_total", "Invalid or aborted responses.", prometheus.CounterValue, "proxy", "server")
	mSrvRetry    = newMetric("server_retry_warnings_total", "Connection retries.", prometheus.CounterValue, "proxy", "server")
	mSrvRedisp   = newMetric("server_redispatch_warnings_total", "Requests moved away from this server.", prometheus.CounterValue, "proxy", "server")
	mSrvLB       = newMetric("server_loadbalanced_total", "Times the server was picked.", prometheus.CounterValue, "proxy", "server")
	mSrvReqs     = newMetric("server_http_requests_total", "HTTP requests sent to the server.", prometheus.CounterValue, "proxy", "server")
	mSrvResp     = newMetric("server_http_responses_total", "HTTP responses, by status class.", prometheus.CounterValue, "proxy", "server", "code")
	mSrvChkFail  = newMetric("server_check_failures_total", "Failed health checks.", prometheus.CounterValue, "proxy", "server")
	mSrvChkDown  = newMetric("server_check_up_down_total", "UP to DOWN transitions.", prometheus.CounterValue, "proxy", "server")
	mSrvDowntime = newMetric("server_downtime_seconds_total", "Time spent DOWN or in maintenance.", prometheus.CounterValue, "proxy", "server")
	mSrvLastChg  = newMetric("server_last_status_change_seconds", "Seconds since the last state change.", prometheus.GaugeValue, "proxy", "server")
	mSrvChkDur   = newMetric("server_check_duration_seconds", "Duration of the last health check.", prometheus.GaugeValue, "proxy", "server")
	mVRRPState   = newMetric("vrrp_state", "VRRP state of this node: 1 for the current one of INIT, BACKUP, MASTER, FAULT.", prometheus.GaugeValue, "instance", "state")
	mVRRPPrio    = newMetric("vrrp_priority", "Effective VRRP priority.", prometheus.GaugeValue, "instance")
	mVRRPConf    = newMetric("vrrp_configured_priority", "Configured VRRP priority.", prometheus.GaugeValue, "instance")
	mVRRPSent    = newMetric("vrrp_adverts_sent_total", "Adverts sent.", prometheus.CounterValue, "instance")
	mVRRPRecv    = newMetric("vrrp_adverts_received_total", "Valid adverts received.", prometheus.CounterValue, "instance")
	mVRRPMaster  = newMetric("vrrp_became_master_total", "Transitions to MASTER.", prometheus.CounterValue, "instance")
	mVRRPDropped = newMetric("vrrp_adverts_dropped_total", "Adverts dropped, by reason.", prometheus.CounterValue, "instance", "reason")

	allMetrics = []metric{mInfo, mStart, mMaxConn, mCurConn, mConnTotal, mReqTotal,
		mFeStatus, mFeCur, mFeMax, mFeLimit, mFeTotal, mFeBytesIn, mFeBytesOut, mFeDenied, mFeErrReq, mFeReqs, mFeResp,
		mBeUp, mBeActive, mBeBackup, mBeWeight, mBeCur, mBeMax, mBeTotal, mBeQCur, mBeQMax, mBeBytesIn, mBeBytesOut,
		mBeConnErr, mBeRespErr, mBeRetry, mBeRedisp, mBeLB, mBeReqs, mBeResp, mBeDowntime,
		mSrvStatus, mSrvWeight, mSrvUWeight, mSrvCur, mSrvMax, mSrvLimit, mSrvTotal, mSrvQCur, mSrvBytesIn, mSrvBytesOut,
		mSrvConnErr, mSrvRespErr, mSrvRetry, mSrvRedisp, mSrvLB, mSrvReqs, mSrvResp, mSrvChkFail, mSrvChkDown,
		mSrvDowntime, mSrvLastChg, mSrvChkDur,
		mVRRPState, mVRRPPrio, mVRRPConf, mVRRPSent, mVRRPRecv, mVRRPMaster, mVRRPDropped}

	serverStates = []string{"UP", "DOWN", "MAINT", "DRAIN"}
	vrrpStates   = []vrrp.State{vrrp.StateInit, vrrp.StateBackup, vrrp.StateMaster, vrrp.StateFault}
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range allMetrics {
		ch <- m.desc
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	v := c.src.View()
	emit := func(m metric, val float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, val, labels...)
	}
	b01 := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	ver, commit := v.Process.Version, v.Process.Commit
	if c.hideVersion {
		ver, commit = "", ""
	}
	emit(mInfo, 1, ver, commit)
	emit(mStart, float64(v.Process.Start.UnixNano())/1e9)
	emit(mMaxConn, float64(v.Process.MaxConn))
	emit(mCurConn, float64(v.CurrConns))
	emit(mConnTotal, float64(v.CumConns))
	emit(mReqTotal, float64(v.CumReq))
	for _, f := range v.Frontends {
		emit(mFeStatus, b01(f.Open), f.Name)
		emit(mFeCur, float64(f.SessCur), f.Name)
		emit(mFeMax, float64(f.SessMax), f.Name)
		emit(mFeLimit, float64(f.SessLimit), f.Name)
		emit(mFeTotal, float64(f.SessTotal), f.Name)
		emit(mFeBytesIn, float64(f.BytesIn), f.Name)
		emit(mFeBytesOut, float64(f.BytesOut), f.Name)
		emit(mFeDenied, float64(f.Denied), f.Name)
		emit(mFeErrReq, float64(f.ErrReq), f.Name)
		emit(mFeReqs, float64(f.Requests), f.Name)
		for i, code := range codes {
			emit(mFeResp, float64(f.Responses[i]), f.Name, code)
		}
	}
	for _, b := range v.Backends {
		emit(mBeUp, b01(b.Up), b.Name)
		emit(mBeActive, float64(b.ActiveUp), b.Name)
		emit(mBeBackup, float64(b.BackupUp), b.Name)
		emit(mBeWeight, float64(b.Weight), b.Name)
		emit(mBeCur, float64(b.SessCur), b.Name)
		emit(mBeMax, float64(b.SessMax), b.Name)
		emit(mBeTotal, float64(b.SessTotal), b.Name)
		emit(mBeQCur, float64(b.QueueCur), b.Name)
		emit(mBeQMax, float64(b.QueueMax), b.Name)
		emit(mBeBytesIn, float64(b.BytesIn), b.Name)
		emit(mBeBytesOut, float64(b.BytesOut), b.Name)
		emit(mBeConnErr, float64(b.ErrConn), b.Name)
		emit(mBeRespErr, float64(b.ErrResp), b.Name)
		emit(mBeRetry, float64(b.Retries), b.Name)
		emit(mBeRedisp, float64(b.Redispatches), b.Name)
		emit(mBeLB, float64(b.LBTot), b.Name)
		emit(mBeReqs, float64(b.Requests), b.Name)
		for i, code := range codes {
			emit(mBeResp, float64(b.Responses[i]), b.Name, code)
		}
		emit(mBeDowntime, b.Downtime.Seconds(), b.Name)
		for _, s := range b.Servers {
			l := []string{b.Name, s.Name}
			state := s.State()
			for _, st := range serverStates {
				emit(mSrvStatus, b01(st == state), b.Name, s.Name, st)
			}
			emit(mSrvWeight, float64(s.Weight), l...)
			emit(mSrvUWeight, float64(s.Health.Weight), l...)
			emit(mSrvCur, float64(s.SessCur), l...)
			emit(mSrvMax, float64(s.SessMax), l...)
			emit(mSrvLimit, float64(s.MaxConn), l...)
			emit(mSrvTotal, float64(s.SessTotal), l...)
			emit(mSrvQCur, float64(s.QueueCur), l...)
			emit(mSrvBytesIn, float64(s.BytesIn), l...)
			emit(mSrvBytesOut, float64(s.BytesOut), l...)
			emit(mSrvConnErr, float64(s.ErrConn), l...)
			emit(mSrvRespErr, float64(s.ErrResp), l...)
			emit(mSrvRetry, float64(s.Retries), l...)
			emit(mSrvRedisp, float64(s.Redispatches), l...)
			emit(mSrvLB, float64(s.LBTot), l...)
			emit(mSrvReqs, float64(s.Requests), l...)
			for i, code := range codes {
				emit(mSrvResp, float64(s.Responses[i]), b.Name, s.Name, code)
			}
			emit(mSrvChkFail, float64(s.Health.ChkFail), l...)
			emit(mSrvChkDown, float64(s.Health.ChkDown), l...)
			emit(mSrvDowntime, s.Health.DowntimeAt(v.Now).Seconds(), l...)
			emit(mSrvLastChg, v.Now.Sub(s.LastChangeAt(v.Process.Start)).Seconds(), l...)
			emit(mSrvChkDur, max(s.Health.CheckDuration, 0).Seconds(), l...)
		}
	}
	for _, in := range v.VRRP {
		for _, st := range vrrpStates {
			emit(mVRRPState, b01(in.State == st), in.Name, st.String())
		}
		emit(mVRRPPrio, float64(in.Priority), in.Name)
		emit(mVRRPConf, float64(in.Configured), in.Name)
		emit(mVRRPSent, float64(in.Counters.AdvertsSent), in.Name)
		emit(mVRRPRecv, float64(in.Counters.AdvertsReceived), in.Name)
		emit(mVRRPMaster, float64(in.Counters.BecameMaster), in.Name)
		k := in.Counters
		for _, d := range []struct {
			reason string
			n      uint64
		}{{"auth", k.AuthMismatch}, {"interval", k.IntervalMismatch}, {"vip", k.VIPMismatch},
			{"version", k.VersionMismatch}, {"ttl", k.TTLErrors}, {"packet", k.PacketErrors}} {
			emit(mVRRPDropped, float64(d.n), in.Name, d.reason)
		}
	}
}
