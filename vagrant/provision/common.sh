#!/bin/bash
# Provisioning shared by every box: CentOS 7 is end of life, so yum is
# pointed at vault.centos.org (the mirrors are gone), and firewalld runs
# with the lab interface eth1 in the public zone. Safe to run again.
set -euo pipefail

release=7.9.2009
for f in /etc/yum.repos.d/CentOS-*.repo; do
	[ -e "$f" ] || continue
	# mirrorlist.centos.org no longer answers; use fixed vault URLs.
	sed -i \
		-e 's/^mirrorlist=/#mirrorlist=/' \
		-e "s|^#\?baseurl=http://mirror.centos.org/centos/\$releasever|baseurl=http://vault.centos.org/$release|" \
		-e "s|^#\?baseurl=http://mirror.centos.org/\$contentdir/\$releasever|baseurl=http://vault.centos.org/$release|" \
		"$f"
done
yum clean all -q
yum install -y -q firewalld curl
systemctl enable --now firewalld
firewall-cmd -q --permanent --zone=public --change-interface=eth1
firewall-cmd -q --reload
