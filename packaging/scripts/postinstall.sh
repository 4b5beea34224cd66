# tandem %post ($1: 1 on install, 2 on upgrade).
# Only on a host where systemd is running: in a chroot or an image build the
# kernel and the service manager are the build host's, not the target's.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -eq 1 ]; then
        # Enabled or not as the host's presets say (CentOS: disabled).
        systemctl preset tandem.service >/dev/null 2>&1 || :
    fi
    # The kernel tuning now rather than at the next boot.
    sysctl -p /usr/lib/sysctl.d/60-tandem.conf >/dev/null 2>&1 || :
    # rsyslog reads /etc/rsyslog.d/tandem.conf (UDP on 127.0.0.1:514) only
    # when it starts; a stopped rsyslog stays stopped.
    systemctl try-restart rsyslog.service >/dev/null 2>&1 || :
fi
exit 0
