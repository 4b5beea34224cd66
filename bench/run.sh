#!/usr/bin/env bash
# bench/run.sh — tandem and HAProxy under the same load, side by side.
#
# DESIGN.md "Performance method": the proxy under test is pinned to CPU 0
# (HAProxy nbthread 1, tandem GOMAXPROCS=1); nginx (the backend, one process)
# and wrk (the load) share CPU 1. Each measurement starts a fresh proxy,
# warms it up, then runs wrk; tandem and HAProxy alternate, several rounds,
# and the table shows medians and the ratio tandem/HAProxy. Absolute numbers
# on a shared machine are noise; the ratios measured in one run are what
# count. See bench/README.md for what each figure means.
#
# Environment (all optional):
#   BENCH_DURATION   seconds of load per measurement (default: fits the budget, at most 10)
#   BENCH_ROUNDS     alternating rounds (default 3)
#   BENCH_WARMUP     seconds of unmeasured load before each measurement (default 1; 0 = none)
#   BENCH_CONNS      wrk connections (default 100)
#   BENCH_IDLE       idle keep-alive connections for the memory figures, HTTP and (with the tcp
#                    scenario) TCP mode (default 5000; 0 = skip)
#   BENCH_SCENARIOS  default "keepalive close body64k tcp tls hs-ecdsa hs-rsa" (the TLS ones need openssl)
#   BENCH_HS_CONNS   concurrent tlsload connections in the handshake scenarios (default 32)
#   BENCH_PROXIES    default "tandem haproxy"
#   BENCH_DEADLINE   seconds after which remaining measurements are skipped (default 345)
#   BENCH_HAPROXY_LOG=1  give both proxies a traffic log line per request (to /dev/null); default off for both
#   TANDEM_BIN       tandem binary (default bin/tandem; `make bench` builds it)
#   BENCH_OUT        output directory (default out/bench)
#
# Everything it starts listens on or talks to 127.0.0.1 only, and is stopped
# by PID when the script ends, including on Ctrl-C.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${BENCH_OUT:-$ROOT/out/bench}
ROUNDS=${BENCH_ROUNDS:-3}
WARMUP=${BENCH_WARMUP:-1}
CONNS=${BENCH_CONNS:-100}
IDLE=${BENCH_IDLE:-5000}
SCENARIOS=${BENCH_SCENARIOS:-keepalive close body64k tcp tls hs-ecdsa hs-rsa}
PROXIES=${BENCH_PROXIES:-tandem haproxy}
DEADLINE=${BENCH_DEADLINE:-345}
HS_CONNS=${BENCH_HS_CONNS:-32}
HAPROXY_LOG=${BENCH_HAPROXY_LOG:-0}
TANDEM_BIN=${TANDEM_BIN:-$ROOT/bin/tandem}
PROXY_CPU=0
LOAD_CPU=1

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

for v in ROUNDS WARMUP CONNS IDLE DEADLINE HS_CONNS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number, have '${!v}'"
done
[ "$ROUNDS" -ge 1 ] || die "BENCH_ROUNDS must be at least 1"
[ "$CONNS" -ge 1 ] || die "BENCH_CONNS must be at least 1"
[ "$HS_CONNS" -ge 1 ] || die "BENCH_HS_CONNS must be at least 1"
if [ -n "${BENCH_DURATION:-}" ]; then
  [[ $BENCH_DURATION =~ ^[0-9]+$ && $BENCH_DURATION -ge 1 ]] || die "BENCH_DURATION must be a whole number of seconds >= 1, have '$BENCH_DURATION'"
fi
for p in $PROXIES; do
  case $p in tandem | haproxy) ;; *) die "unknown proxy '$p' in BENCH_PROXIES (tandem, haproxy)" ;; esac
done

# ---------------------------------------------------------------- processes
# Every background process is recorded here and stopped by PID at exit.
PIDS=()
TMP=""
cleanup() {
  local pid i
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
  [ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

forget_pid() { # PID: drop from PIDS once it has been stopped
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

stop_pid() { # PID: TERM, up to 5 s, then KILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

# ---------------------------------------------------------------- packages
install_missing() {
  declare -A want=([haproxy]=haproxy [nginx]=nginx-light [wrk]=wrk [taskset]=util-linux [ps]=procps [ss]=iproute2)
  local prog missing=() pkgs created=0
  for prog in "${!want[@]}"; do
    command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] || missing+=("${want[$prog]}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "missing packages: $pkgs(not root or no apt-get; install them and rerun)"
    return 0 # the checks below say what cannot run
  fi
  say "installing $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  # Services must not start: the bench runs its own foreground processes.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created=1
  fi
  # shellcheck disable=SC2086
  if ! timeout 240 apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; then
    timeout 120 apt-get update -qq || true
    # shellcheck disable=SC2086
    timeout 240 apt-get install -y -qq --no-install-recommends $pkgs >/dev/null || say "apt-get install $pkgs failed"
  fi
  [ "$created" = 1 ] && rm -f /usr/sbin/policy-rc.d
  return 0
}

PATH=$PATH:/usr/sbin:/sbin:/usr/local/go/bin
install_missing
for prog in haproxy nginx wrk taskset; do
  command -v "$prog" >/dev/null 2>&1 || die "$prog is missing (Debian: apt-get install haproxy nginx-light wrk util-linux)"
done
if [ "$(nproc)" -lt 2 ]; then
  say "only $(nproc) CPU: the proxy and the load share it; ratios are still comparable, absolute numbers are not"
  LOAD_CPU=0
fi

# tandem takes part when its binary exists; a scenario it cannot serve is n/a.
WANT_TANDEM=0
for p in $PROXIES; do [ "$p" = tandem ] && WANT_TANDEM=1; done
if [ "$WANT_TANDEM" = 1 ] && [ ! -x "$TANDEM_BIN" ]; then
  say "tandem: $TANDEM_BIN not found (run \`make build\`); measuring HAProxy only"
  PROXIES=${PROXIES//tandem/}
fi
PROXIES=$(echo $PROXIES) # squeeze spaces
[ -n "$PROXIES" ] || die "no proxy to measure"

# Room for 5,000 idle clients, their backend connections and the load.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "$IDLE" -gt 0 ] && [ "$(ulimit -n)" != unlimited ] && [ $((IDLE + 200)) -gt "$(ulimit -n)" ]; then
  IDLE=$(($(ulimit -n) - 200))
  say "open-file limit $(ulimit -n): idle connections lowered to $IDLE"
fi

# maxconn on both sides: high, but within the open-file limit each proxy
# derives from it (HAProxy about 2*maxconn, tandem 2*maxconn+64).
MAXCONN=20000
if [ "$(ulimit -n)" != unlimited ] && [ $(( ($(ulimit -n) - 100) / 2 )) -lt "$MAXCONN" ]; then
  MAXCONN=$(( ($(ulimit -n) - 100) / 2 ))
fi
if [ "$IDLE" -gt 0 ] && [ $((IDLE + CONNS + 100)) -gt "$MAXCONN" ]; then
  IDLE=$((MAXCONN - CONNS - 100))
  say "maxconn $MAXCONN (open-file limit $(ulimit -n)): idle connections lowered to $IDLE"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/tandem-bench.XXXXXX")
mkdir -p "$OUT/logs" "$TMP/www" "$TMP/nginx-temp"
rm -f "$OUT"/logs/*

# Throw-away certificates for the TLS scenarios (one day), the same files
# for both proxies: a bundle (certificate then key) as HAProxy's crt and
# tandem's certificates = ["..."] read it. ECDSA P-256 and RSA 2048.
if command -v openssl >/dev/null 2>&1; then
  for kind in ecdsa rsa; do
    case $kind in
    ecdsa) keyopts=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1) ;;
    rsa) keyopts=(-newkey rsa:2048) ;;
    esac
    if openssl req -x509 "${keyopts[@]}" -nodes -days 1 -subj /CN=bench.test \
      -keyout "$TMP/bench-$kind.key" -out "$TMP/bench-$kind.crt" >/dev/null 2>&1; then
      cat "$TMP/bench-$kind.crt" "$TMP/bench-$kind.key" >"$TMP/bench-$kind.pem"
    else
      say "openssl could not make the $kind certificate"
    fi
  done
else
  say "openssl is missing (Debian: apt-get install openssl): no TLS scenario"
fi
# The full-handshake client (wrk resumes sessions and keeps its connections).
TLSLOAD=""
if [[ " $SCENARIOS " == *" hs-"* ]]; then
  if command -v go >/dev/null 2>&1 && (cd "$ROOT" && CGO_ENABLED=0 timeout 120 go build -o "$TMP/tlsload" ./bench/cmd/tlsload) 2>"$OUT/logs/tlsload-build.txt"; then
    TLSLOAD=$TMP/tlsload
  else
    say "cannot build bench/cmd/tlsload (Go missing?): no handshake scenario"
  fi
fi
if [ -z "${BENCH_SCENARIOS:-}" ]; then # drop the default scenarios that cannot run here
  runnable=""
  for scen in $SCENARIOS; do
    case $scen in
    tls) [ -s "$TMP/bench-ecdsa.pem" ] || continue ;;
    hs-ecdsa | hs-rsa) if [ ! -s "$TMP/bench-${scen#hs-}.pem" ] || [ -z "$TLSLOAD" ]; then continue; fi ;;
    esac
    runnable="$runnable $scen"
  done
  SCENARIOS=${runnable# }
fi

# ---------------------------------------------------------------- budget
nscen=$(wc -w <<<"$SCENARIOS")
nprox=$(wc -w <<<"$PROXIES")
if [ -n "${BENCH_DURATION:-}" ]; then
  DURATION=$BENCH_DURATION
else
  # 330 s in all: idle-memory runs (~6 s each) and start-up first, then
  # per measurement the warm-up and ~1.5 s of start/stop around the load.
  idle_modes=1; [[ " $SCENARIOS " == *" tcp "* ]] && idle_modes=2
  idle_cost=0; [ "$IDLE" -gt 0 ] && idle_cost=$((ROUNDS * nprox * 6 * idle_modes))
  runs=$((ROUNDS * nscen * nprox))
  DURATION=$(( (330 - 15 - idle_cost) * 10 / runs / 10 - WARMUP - 2 ))
  [ "$DURATION" -gt 10 ] && DURATION=10
  [ "$DURATION" -lt 2 ] && DURATION=2
fi
WRK_TIMEOUT=$((DURATION + 20))

# ---------------------------------------------------------------- helpers
port_free() { # PORT
  if command -v ss >/dev/null 2>&1; then
    [ -z "$(ss -Htan "sport = :$1" 2>/dev/null)" ]
  else
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}
pick_port() { # prints a free port in 20000-29999 not in USED_PORTS
  local p i
  for ((i = 0; i < 200; i++)); do
    p=$((20000 + RANDOM % 10000))
    [[ " ${USED_PORTS:-} " == *" $p "* ]] && continue
    if port_free "$p"; then USED_PORTS="${USED_PORTS:-} $p"; echo "$p"; return 0; fi
  done
  die "no free port found in 20000-29999"
}

# probe PORT PATH: one HTTP/1.0 GET through bash's /dev/tcp, 200 expected.
probe() {
  local out
  out=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET %s HTTP/1.0\r\nHost: bench\r\n\r\n" "$2" >&3 && head -c 12 <&3' _ "$1" "$2" 2>/dev/null) || return 1
  [[ $out == HTTP/1.?" 200" ]]
}

# probe_tls PORT PATH: the same through TLS (certificate not verified).
probe_tls() {
  local out
  out=$(printf 'GET %s HTTP/1.0\r\nHost: bench\r\n\r\n' "$2" | timeout 2 openssl s_client -quiet -connect "127.0.0.1:$1" 2>/dev/null | head -c 12) || return 1
  [[ $out == HTTP/1.?" 200" ]]
}

# wait_ready PID PORT PATH [tls]: up to 10 s for a 200 through PORT while PID lives.
wait_ready() {
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$1" 2>/dev/null || return 1
    if [ "${4:-}" = tls ]; then probe_tls "$2" "$3" && return 0; else probe "$2" "$3" && return 0; fi
    sleep 0.1
  done
  return 1
}

# CPU time of a process in clock ticks (utime + stime, fields 14 and 15).
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# ---------------------------------------------------------------- backend
NGINX_PORT=$(pick_port)
head -c 100 /dev/zero | tr '\0' 'a' >"$TMP/www/100b"
head -c 65536 /dev/zero | tr '\0' 'b' >"$TMP/www/64k"
cat >"$TMP/nginx.conf" <<EOF
# One process (no master), pinned by taskset: the backend, never the bottleneck we measure.
master_process off;
worker_rlimit_nofile 65536;
error_log $TMP/nginx-error.log warn;
pid $TMP/nginx.pid;
events { worker_connections 20000; multi_accept on; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 100000000;
    default_type application/octet-stream;
    client_body_temp_path $TMP/nginx-temp/body;
    proxy_temp_path $TMP/nginx-temp/proxy;
    fastcgi_temp_path $TMP/nginx-temp/fastcgi;
    uwsgi_temp_path $TMP/nginx-temp/uwsgi;
    scgi_temp_path $TMP/nginx-temp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        root $TMP/www;
        location / { }
    }
}
EOF
taskset -c "$LOAD_CPU" nginx -p "$TMP" -c "$TMP/nginx.conf" -g 'daemon off;' >"$OUT/logs/nginx.out" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_ready "$NGINX_PID" "$NGINX_PORT" /100b || { cat "$OUT/logs/nginx.out" "$TMP/nginx-error.log" >&2 2>/dev/null; die "nginx did not serve on 127.0.0.1:$NGINX_PORT"; }

# ---------------------------------------------------------------- proxies
declare -A PORT
for p in $PROXIES; do PORT[$p]=$(pick_port); done


# Same settings both sides: keep-alive to clients and server, no traffic
# log (tandem's goes to /dev/null, see README), high maxconn, same timeouts.
# TLS (MODE https-ecdsa, https-rsa): the same bundle, one key exchange
# (X25519, as tandem's curves = ["X25519"]) and TLS 1.3 ciphers in Go's
# order, so that both proxies pick X25519 and AES-128-GCM; sessions and
# tickets as each proxy does by default (the handshake client uses neither).
write_haproxy_cfg() { # MODE FILE (MODE https-KIND = http with TLS on the bind line)
  local mode=$1 opts="" log="" ssl=""
  case $mode in https-*)
    ssl=" ssl crt $TMP/bench-${mode#https-}.pem alpn http/1.1 curves X25519 ciphersuites TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
    mode=http
    ;;
  esac
  if [ "$mode" = http ]; then opts="    option http-keep-alive"; fi
  if [ "$HAPROXY_LOG" = 1 ]; then
    log="    log stderr format raw local0"
    opts="$opts
    option ${mode}log"
  fi
  cat >"$2" <<EOF
global
    nbthread 1
    maxconn $MAXCONN
$log
defaults
    mode $mode
$( [ -n "$log" ] && echo "    log global")
$opts
    timeout connect 5s
    timeout client 50s
    timeout server 50s
    maxconn $MAXCONN
frontend bench
    bind 127.0.0.1:${PORT[haproxy]}$ssl
    default_backend nginx
backend nginx
$( [ "$mode" = http ] && echo "    http-reuse safe")
    server nginx1 127.0.0.1:$NGINX_PORT
EOF
}

write_tandem_cfg() { # MODE FILE (MODE https-KIND = http with [frontend.tls])
  local mode=$1 tls=""
  case $mode in https-*)
    # [frontend.tls] with certificates: a PEM holding the certificate and
    # its key, as HAProxy's crt.
    tls="
[frontend.tls]
certificates = [\"$TMP/bench-${mode#https-}.pem\"]
alpn = [\"http/1.1\"]
curves = [\"X25519\"]"
    mode=http
    ;;
  esac
  cat >"$2" <<EOF
[global]
maxconn = $MAXCONN
admin_socket = "$TMP/tandem-admin.sock"

[log]
target = "stderr"   # stderr goes to /dev/null
level = "warning"
traffic = $([ "$HAPROXY_LOG" = 1 ] && echo true || echo false)   # as HAProxy's: off unless BENCH_HAPROXY_LOG=1

[defaults]
mode = "$mode"
timeout_connect = "5s"
timeout_client = "50s"
timeout_server = "50s"
maxconn = $MAXCONN

[[frontend]]
name = "bench"
bind = ["127.0.0.1:${PORT[tandem]}"]
default_backend = "nginx"
$tls

[[backend]]
name = "nginx"
server = [ { name = "nginx1", address = "127.0.0.1:$NGINX_PORT" } ]
EOF
}

# start_proxy NAME MODE: a fresh proxy on CPU 0; sets PROXY_PID. A proxy
# that does not serve within 10 s is stopped and the reason logged.
PROXY_PID=""
start_proxy() {
  local name=$1 mode=$2 log="$OUT/logs/$1-$2.log"
  PROXY_PID=""
  case $name in
  haproxy)
    write_haproxy_cfg "$mode" "$TMP/haproxy-$mode.cfg"
    cp "$TMP/haproxy-$mode.cfg" "$OUT/logs/"
    if [ "$HAPROXY_LOG" = 1 ]; then
      taskset -c "$PROXY_CPU" haproxy -db -f "$TMP/haproxy-$mode.cfg" >/dev/null 2>&1 &
    else
      taskset -c "$PROXY_CPU" haproxy -db -f "$TMP/haproxy-$mode.cfg" >>"$log" 2>&1 &
    fi
    ;;
  tandem)
    write_tandem_cfg "$mode" "$TMP/tandem-$mode.toml"
    cp "$TMP/tandem-$mode.toml" "$OUT/logs/"
    # Start-up diagnostics first, then run with stderr (traffic lines) discarded.
    if ! "$TANDEM_BIN" check -c "$TMP/tandem-$mode.toml" >>"$log" 2>&1; then
      say "tandem rejects $mode mode: $(grep -m1 -E ':[0-9]+:[0-9]+: ' "$log" || tail -n1 "$log")"
      return 1
    fi
    GOMAXPROCS=1 taskset -c "$PROXY_CPU" "$TANDEM_BIN" run -c "$TMP/tandem-$mode.toml" </dev/null >/dev/null 2>&1 &
    ;;
  esac
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  if ! wait_ready "$PROXY_PID" "${PORT[$name]}" /100b "$([[ $mode == https-* ]] && echo tls)"; then
    stop_pid "$PROXY_PID"
    if [ "$name" = tandem ]; then # run again briefly to see why
      timeout 3 "$TANDEM_BIN" run -c "$TMP/tandem-$mode.toml" </dev/null >>"$log" 2>&1 || true
    fi
    say "$name ($mode) did not serve on 127.0.0.1:${PORT[$name]}: $(grep -m1 -iE 'alert|error|fatal|cannot' "$log" || echo "see $log")"
    PROXY_PID=""
    return 1
  fi
}

stop_proxy() {
  if [ -n "$PROXY_PID" ]; then stop_pid "$PROXY_PID"; fi
  PROXY_PID=""
}

# A wrk script that prints the figures in one machine-readable line.
cat >"$TMP/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d status_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
EOF

# run_wrk SECONDS URL LOG [HEADER]: wrk on the load CPU, bounded by timeout.
run_wrk() {
  local secs=$1 url=$2 log=$3 hdr=${4:-} pid rc=0
  local args=(-t1 "-c$CONNS" "-d${secs}s" --latency --timeout 5s -s "$TMP/report.lua")
  [ -n "$hdr" ] && args+=(-H "$hdr")
  timeout -k 2 "$WRK_TIMEOUT" taskset -c "$LOAD_CPU" wrk "${args[@]}" "$url" >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  forget_pid "$pid"
  return "$rc"
}

# run_tlsload SECONDS URL LOG: full handshakes, pinned and bounded like wrk.
# GOMAXPROCS=1: one thread, as wrk -t1.
run_tlsload() {
  local secs=$1 url=$2 log=$3 pid rc=0 addr
  addr=${url#https://}; addr=${addr%%/*}
  timeout -k 2 "$WRK_TIMEOUT" env GOMAXPROCS=1 taskset -c "$LOAD_CPU" "$TLSLOAD" -addr "$addr" -path "$S_PATH" \
    -c "$HS_CONNS" -d "${secs}s" -curve X25519 >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait "$pid" || rc=$?
  forget_pid "$pid"
  return "$rc"
}

# Scenarios: proxy mode, path, extra request header, scheme, load client.
# "https-KIND" is http mode with TLS on the client side (the proxies
# terminate it with the KIND certificate and talk plain HTTP to nginx).
scenario() { # NAME: sets S_MODE S_PATH S_HDR S_SCHEME S_LOAD, or fails with a reason
  S_MODE=http S_PATH=/100b S_HDR="" S_SCHEME=http S_LOAD=run_wrk
  case $1 in
  keepalive) ;;
  close) S_HDR="Connection: close" ;;
  body64k) S_PATH=/64k ;;
  tcp) S_MODE=tcp ;;
  tls)
    [ -s "$TMP/bench-ecdsa.pem" ] || { say "tls: no certificate (openssl missing?)"; return 1; }
    S_MODE=https-ecdsa S_SCHEME=https
    ;;
  hs-ecdsa | hs-rsa)
    [ -s "$TMP/bench-${1#hs-}.pem" ] || { say "$1: no certificate (openssl missing?)"; return 1; }
    [ -n "$TLSLOAD" ] || { say "$1: no bench/cmd/tlsload (Go missing?)"; return 1; }
    S_MODE=https-${1#hs-} S_SCHEME=https S_LOAD=run_tlsload
    ;;
  *) say "unknown scenario '$1'"; return 1 ;;
  esac
}

RUNS="$OUT/runs.txt"
IDLES="$OUT/idle.txt"
echo "round scenario proxy status rps p99_us cpu_us_per_req rss_kib requests errors p50_us cpu_busy_pct" >"$RUNS"
echo "round proxy status kib_per_conn rss_before_kib rss_after_kib conns mode" >"$IDLES"

# measure ROUND SCENARIO PROXY: one fresh proxy, warm-up, measured load.
measure() {
  local round=$1 scen=$2 name=$3 url log t0 t1 rss line
  local requests duration_us p99_us p50_us errors status_errors
  url="$S_SCHEME://127.0.0.1:${PORT[$name]}$S_PATH"
  log="$OUT/logs/wrk-r$round-$scen-$name.txt"
  if [ $((SECONDS + WARMUP + DURATION + 5)) -gt "$DEADLINE" ]; then
    say "round $round $scen $name: skipped, the ${DEADLINE}s budget is spent"
    echo "$round $scen $name skipped - - - - - - - -" >>"$RUNS"
    return 0
  fi
  if ! start_proxy "$name" "$S_MODE"; then
    echo "$round $scen $name n/a - - - - - - - -" >>"$RUNS"
    return 0
  fi
  if [ "$WARMUP" -gt 0 ]; then
    "$S_LOAD" "$WARMUP" "$url" "$log.warmup" "$S_HDR" || true
  fi
  t0=$(ticks "$PROXY_PID")
  if ! "$S_LOAD" "$DURATION" "$url" "$log" "$S_HDR"; then
    say "round $round $scen $name: ${S_LOAD#run_} failed; see $log"
  fi
  if ! kill -0 "$PROXY_PID" 2>/dev/null; then
    say "round $round $scen $name: the proxy died during the load"
    wait "$PROXY_PID" 2>/dev/null || true
    forget_pid "$PROXY_PID"; PROXY_PID=""
    echo "$round $scen $name died - - - - - - - -" >>"$RUNS"
    return 0
  fi
  t1=$(ticks "$PROXY_PID")
  rss=$(rss_kib "$PROXY_PID")
  stop_proxy
  line=$(sed -n 's/^BENCH //p' "$log")
  if [ -z "$line" ]; then
    echo "$round $scen $name failed - - - - - - - -" >>"$RUNS"
    return 0
  fi
  # requests= duration_us= p50_us= p99_us= errors= status_errors=, all integers
  local kv
  requests=0 duration_us=0 p50_us=0 p99_us=0 errors=0 status_errors=0
  for kv in $line; do
    [[ $kv =~ ^(requests|duration_us|p50_us|p99_us|errors|status_errors)=([0-9]+)$ ]] || continue
    printf -v "${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
  done
  errors=$((errors + status_errors))
  awk -v r="$round" -v s="$scen" -v p="$name" -v n="$requests" -v d="$duration_us" \
    -v p99="$p99_us" -v p50="$p50_us" -v e="$errors" -v dt=$((t1 - t0)) -v hz="$CLK_TCK" -v rss="$rss" 'BEGIN {
      st = (n > 0 && e * 100 <= n) ? "ok" : "errors"
      rps = d > 0 ? n / (d / 1e6) : 0
      cpu = n > 0 ? dt * 1e6 / hz / n : 0
      busy = d > 0 ? dt * 100 / hz / (d / 1e6) : 0
      printf "%s %s %s %s %.0f %d %.2f %d %d %d %d %.0f\n", r, s, p, st, rps, p99, cpu, rss, n, e, p50, busy
    }' >>"$RUNS"
  tail -n1 "$RUNS" | awk '{ printf "bench:   %-9s %-9s %-7s %8s req/s  p99 %6.2f ms  %6s us/req  CPU %3s%%  RSS %6s KiB  errors %s\n", "r" $1, $2, $3, $5, $6 / 1000, $7, $12, $8, $10 }' >&2
}

# measure_idle ROUND PROXY MODE: RSS growth of a fresh proxy holding IDLE
# idle keep-alive connections, each after one request; MODE http, or tcp
# (each client connection then holds a server connection too).
measure_idle() {
  local round=$1 name=$2 mode=$3 rss0 rss1 prev pid i out="$OUT/logs/idle-r$1-$2-$3.txt"
  if [ $((SECONDS + 15)) -gt "$DEADLINE" ]; then
    echo "$round $name skipped - - - - $mode" >>"$IDLES"
    return 0
  fi
  if ! start_proxy "$name" "$mode"; then
    echo "$round $name n/a - - - - $mode" >>"$IDLES"
    return 0
  fi
  rss0=$(rss_kib "$PROXY_PID")
  : >"$out"
  taskset -c "$LOAD_CPU" "$TMP/idleconns" -addr "127.0.0.1:${PORT[$name]}" -n "$IDLE" -hold 60s </dev/null >"$out" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  for ((i = 0; i < 400; i++)); do # up to 40 s
    grep -q '^ready' "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if ! grep -q '^ready' "$out"; then
    say "round $round idle $name: connections not established: $(tail -n1 "$out")"
    stop_pid "$pid"; stop_proxy
    echo "$round $name failed - - - - $mode" >>"$IDLES"
    return 0
  fi
  # Let the proxy finish with the last responses: RSS steady for 0.3 s, at most 3 s.
  prev=0
  for ((i = 0; i < 10; i++)); do
    sleep 0.3
    rss1=$(rss_kib "$PROXY_PID")
    [ "$rss1" = "$prev" ] && break
    prev=$rss1
  done
  stop_pid "$pid"
  stop_proxy
  awk -v r="$round" -v p="$name" -v a="$rss0" -v b="$rss1" -v n="$IDLE" -v m="$mode" \
    'BEGIN { printf "%s %s ok %.2f %d %d %d %s\n", r, p, (b - a) / n, a, b, n, m }' >>"$IDLES"
  tail -n1 "$IDLES" | awk '{ printf "bench:   %-9s idle %-4s %-7s %s KiB/conn (RSS %s -> %s KiB, %s conns)\n", "r" $1, $8, $2, $4, $5, $6, $7 }' >&2
}

if [ "$IDLE" -gt 0 ]; then
  if command -v go >/dev/null 2>&1 && (cd "$ROOT" && CGO_ENABLED=0 timeout 120 go build -o "$TMP/idleconns" ./bench/cmd/idleconns) 2>"$OUT/logs/idleconns-build.txt"; then
    :
  else
    say "cannot build bench/cmd/idleconns (Go missing?): skipping the idle-connection figure"
    IDLE=0
  fi
fi

# ---------------------------------------------------------------- run
{
  echo "# tandem bench $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# host: $(uname -srm), $(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# haproxy: $(haproxy -v 2>/dev/null | head -n1)"
  echo "# nginx: $(nginx -v 2>&1)"
  echo "# wrk: $(wrk -v 2>&1 | head -n1)"
  [ -x "$TANDEM_BIN" ] && echo "# tandem: $TANDEM_BIN $("$TANDEM_BIN" version 2>/dev/null | head -n1)"
  echo "# settings: proxies '$PROXIES', scenarios '$SCENARIOS', $ROUNDS rounds x ${DURATION}s (+${WARMUP}s warm-up), $CONNS connections, $IDLE idle connections, maxconn $MAXCONN, proxy on CPU $PROXY_CPU, nginx and wrk on CPU $LOAD_CPU, HAProxy traffic log: $([ "$HAPROXY_LOG" = 1 ] && echo 'to /dev/null' || echo off), tandem traffic log: $([ "$HAPROXY_LOG" = 1 ] && echo 'to /dev/null' || echo off)"
} >"$OUT/header.txt"
cat "$OUT/header.txt" >&2

for ((round = 1; round <= ROUNDS; round++)); do
  # Alternate who goes first, so a drift in the machine's load hits both.
  order=$PROXIES
  if [ $((round % 2)) = 0 ]; then order=$(echo "$PROXIES" | awk '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? " " : "") }'); fi
  say "round $round/$ROUNDS ($order)"
  for scen in $SCENARIOS; do
    scenario "$scen" || continue
    for name in $order; do measure "$round" "$scen" "$name"; done
  done
  if [ "$IDLE" -gt 0 ]; then
    for name in $order; do measure_idle "$round" "$name" http; done
    if [[ " $SCENARIOS " == *" tcp "* ]]; then
      for name in $order; do measure_idle "$round" "$name" tcp; done
    fi
  fi
done

# ---------------------------------------------------------------- table
table() {
  awk -v proxies="$PROXIES" -v scenarios="$SCENARIOS" -v rounds="$ROUNDS" -v dur="$DURATION" -v conns="$CONNS" -v idle="$IDLE" -v runs="$RUNS" -v idles="$IDLES" '
    function median(key,   n, i, j, t, a) {
      n = cnt[key]
      if (n == 0) return ""
      for (i = 1; i <= n; i++) a[i] = val[key, i]
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j > 0 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function add(key, v) { cnt[key]++; val[key, cnt[key]] = v + 0 }
    function fmt(v, f) { return v == "" ? "-" : sprintf(f, v) }
    function row(scen, label, key, f, better,   t, h, r) {
      t = median("tandem" SUBSEP key); h = median("haproxy" SUBSEP key)
      r = (t != "" && h != "" && h > 0) ? sprintf("%.2f", t / h) : "-"
      printf "%-10s %-22s %12s %12s %10s   %s\n", scen, label, fmt(t, f), fmt(h, f), r, better
    }
    BEGIN {
      while ((getline line < runs) > 0) {
        split(line, c, " ")
        if (c[4] != "ok") continue
        k = c[2]
        add(c[3] SUBSEP k SUBSEP "rps", c[5]); add(c[3] SUBSEP k SUBSEP "p99", c[6] / 1000)
        add(c[3] SUBSEP k SUBSEP "cpu", c[7]); add(c[3] SUBSEP k SUBSEP "rss", c[8] / 1024)
        add(c[3] SUBSEP k SUBSEP "busy", c[12])
      }
      while ((getline line < idles) > 0) {
        split(line, c, " ")
        if (c[3] == "ok") add(c[2] SUBSEP "idle-" c[8] SUBSEP "kib", c[4])
      }
      printf "tandem vs HAProxy: medians of %s rounds x %ss, %s connections (ratio < 1 is better for tandem except requests/s and handshakes/s)\n", rounds, dur, conns
      printf "%-10s %-22s %12s %12s %10s\n", "scenario", "figure", "tandem", "haproxy", "t/h"
      n = split(scenarios, sc, " ")
      for (i = 1; i <= n; i++) {
        s = sc[i]
        # Handshake scenarios: a request is one connection (full handshake
        # and one request), p99 the time of a whole connection.
        unit = s ~ /^hs-/ ? "handshake" : "request"
        row(s, unit "s/s", s SUBSEP "rps", "%.0f", "higher is better")
        row("", "p99 latency ms", s SUBSEP "p99", "%.2f", "")
        row("", "CPU us/" unit, s SUBSEP "cpu", "%.2f", "")
        row("", "proxy CPU busy %", s SUBSEP "busy", "%.0f", "")
        row("", "RSS MiB", s SUBSEP "rss", "%.1f", "")
      }
      if (idle > 0) {
        row("idle", "KiB/idle conn (" idle ")", "idle-http" SUBSEP "kib", "%.2f", "")
        if (scenarios ~ /(^| )tcp( |$)/) row("idle tcp", "KiB/idle conn (" idle ")", "idle-tcp" SUBSEP "kib", "%.2f", "")
      }
    }'
}

{
  cat "$OUT/header.txt"
  echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); elapsed ${SECONDS}s"
  echo
  echo "## measurements (status ok counts towards the medians; CPU from /proc/PID/stat, RSS from VmRSS after the load)"
  cat "$RUNS"
  echo
  echo "## idle keep-alive connections (RSS of a fresh proxy before and after)"
  cat "$IDLES"
  echo
  echo "## medians"
  table
} >"$OUT/results.txt"

echo
table
echo
say "raw numbers: $OUT/results.txt (logs and configs in $OUT/logs); ${SECONDS}s"
