#!/bin/bash
# Provisioning of a web server (web1 or web2), the article's nginx
# back-ends: each argument GROUP:SERVER@ADDRESS:PORT is one listener
# serving /GROUP/demo.html. It runs the repository's demoweb when the host
# built it (CGO_ENABLED=0 go build -o bin/demoweb ./cmd/demoweb), else
# Python's SimpleHTTPServer on static pages. Safe to run again.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: web.sh GROUP:SERVER@ADDRESS:PORT ..." >&2; exit 2; }
src=/tandem
ports=()
for spec in "$@"; do
	ports+=("${spec##*:}")
done

# Stop whichever flavour ran before.
systemctl disable --now demoweb.service 2>/dev/null || true
for unit in $(systemctl list-units --all --plain --no-legend 'demoweb-py@*' | awk '{print $1}'); do
	systemctl disable --now "$unit" || true
done

if [ -x "$src/bin/demoweb" ]; then
	install -m 0755 "$src/bin/demoweb" /usr/local/bin/demoweb
	cat > /etc/systemd/system/demoweb.service <<UNIT
[Unit]
Description=tandem demo web servers ($*)
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/demoweb $*
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
	systemctl daemon-reload
	systemctl enable --now demoweb.service
else
	echo "web.sh: $src/bin/demoweb not built on the host; serving static pages with python" >&2
	for spec in "$@"; do
		names=${spec%%@*}
		group=${names%%:*}
		server=${names#*:}
		port=${spec##*:}
		root=/srv/demoweb/$port
		mkdir -p "$root/$group"
		page="<html><body><h1>$group</h1><p>served by $server</p></body></html>"
		echo "$page" > "$root/demo.html"
		echo "$page" > "$root/$group/demo.html"
	done
	cat > /etc/systemd/system/demoweb-py@.service <<'UNIT'
[Unit]
Description=tandem demo web server on port %i (python)
After=network-online.target

[Service]
WorkingDirectory=/srv/demoweb/%i
ExecStart=/usr/bin/python -m SimpleHTTPServer %i
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
	systemctl daemon-reload
	for port in "${ports[@]}"; do
		systemctl enable --now "demoweb-py@$port.service"
	done
fi

for port in "${ports[@]}"; do
	firewall-cmd -q --permanent --zone=public --add-port="$port/tcp"
done
firewall-cmd -q --reload
