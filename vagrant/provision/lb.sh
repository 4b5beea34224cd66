#!/bin/bash
# Provisioning of a load balancer (lb1 or lb2): installs tandem from the
# newest RPM in the repository's dist/ (`make rpm` on the host), installs
# this node's configuration (generated from deploy/examples/seed.toml by
# vagrant/demo: lb1 master priority 101, lb2 backup 100, [peers] linking
# the two), opens VRRP (IP protocol 112), the ports and the peers link to
# the other node, and starts rsyslog and tandem.
# Usage: lb.sh NODE. Safe to run again.
set -euo pipefail

node=${1:?usage: lb.sh lb1|lb2}
src=/tandem

rpm=$(find "$src/dist" -maxdepth 1 -name 'tandem-*-1.el7.x86_64.rpm' 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$rpm" ]; then
	echo "lb.sh: no $src/dist/tandem-*-1.el7.x86_64.rpm: run 'make rpm' on the host, then 'vagrant rsync $node && vagrant provision $node'" >&2
	exit 1
fi
# yum install of a local file also upgrades; reinstall when it is the same.
yum install -y -q "$rpm" || yum reinstall -y -q "$rpm"

install -m 0640 -o root -g tandem "$src/vagrant/provision/$node.toml" /etc/tandem/tandem.toml
/usr/sbin/tandem check -c /etc/tandem/tandem.toml

# VRRP adverts (protocol 112, to 224.0.0.18) between lb1 and lb2, the
# frontend and the stats page.
firewall-cmd -q --permanent --zone=public --add-rich-rule='rule protocol value="vrrp" accept'
firewall-cmd -q --permanent --zone=public --add-port=9001/tcp
firewall-cmd -q --permanent --zone=public --add-port=1080/tcp
# The [peers] link (stick tables, server states): this node's peers port
# ([peers] bind), from the other node's address (peer = { address }) only.
peer_ip=$(sed -n 's/^peer = {.*address = "\([0-9.]*\):[0-9]*".*/\1/p' /etc/tandem/tandem.toml)
peers_port=$(sed -n 's/^bind = "[0-9.]*:\([0-9]*\)"$/\1/p' /etc/tandem/tandem.toml)
if [ -n "$peer_ip" ] && [ -n "$peers_port" ]; then
	firewall-cmd -q --permanent --zone=public --add-rich-rule="rule family=\"ipv4\" source address=\"$peer_ip\" port port=\"$peers_port\" protocol=\"tcp\" accept"
fi
firewall-cmd -q --reload

sysctl -q --system
systemctl enable rsyslog tandem
systemctl restart rsyslog
systemctl restart tandem
systemctl --no-pager status tandem | head -n 5
