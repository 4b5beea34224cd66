#!/usr/bin/env bash
# Installs the Debian packages the tests use, when run as root with apt-get.
# Tests that need a missing program skip with a message, so this is a
# convenience for a fresh machine, not a requirement.
set -euo pipefail
declare -A want=(
  [rsyslogd]=rsyslog
  [halog]=haproxy
  [haproxy]=haproxy
  [keepalived]=keepalived
  [ip]=iproute2
  [curl]=curl
  [socat]=socat
  [file]=file
  [tcpdump]=tcpdump
  [logrotate]=logrotate
  [nginx]=nginx-light
  [wrk]=wrk
  [taskset]=util-linux
  [rpm]=rpm
  [rpm2cpio]=rpm2cpio
  [systemd-analyze]=systemd
  [gzip]=gzip
  [ruby]=ruby
  [chromium]=chromium
  [promtool]=prometheus
  [shellcheck]=shellcheck
)
missing=()
for prog in "${!want[@]}"; do
  command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] || missing+=("${want[$prog]}")
done
[ ${#missing[@]} -eq 0 ] && { echo "deps: all test programs present"; exit 0; }
pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "deps: missing $pkgs (not root or no apt-get: the tests that need them will skip)"
  exit 0
fi
echo "deps: installing $pkgs"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# keepalived and haproxy must not start as services: the tests start their own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
