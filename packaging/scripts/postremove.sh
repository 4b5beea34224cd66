# tandem %postun ($1: 0 on erase, 1 on upgrade; on upgrade this is the old
# package's script and runs after the new files are in place).
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        # Upgrade: restart tandem on the new binary only if it was running.
        systemctl try-restart tandem.service >/dev/null 2>&1 || :
    else
        # Erase: rsyslog forgets /etc/rsyslog.d/tandem.conf.
        systemctl try-restart rsyslog.service >/dev/null 2>&1 || :
    fi
fi
exit 0
