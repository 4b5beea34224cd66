# tandem %preun ($1: 0 on erase, 1 on upgrade).
# On erase, stop tandem (it hands the virtual IP to its peer) and disable it.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --no-reload disable tandem.service >/dev/null 2>&1 || :
    systemctl stop tandem.service >/dev/null 2>&1 || :
fi
exit 0
