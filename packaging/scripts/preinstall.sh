# tandem %pre ($1: 1 on install, 2 on upgrade).
# The system account tandem drops to after opening its sockets as root
# ([global] user = "tandem"). Created the way CentOS packages do; kept on
# erase, so that files it owns never pass to a later account with its uid.
getent group tandem >/dev/null || groupadd -r tandem
getent passwd tandem >/dev/null || \
    useradd -r -g tandem -d /var/lib/tandem -s /sbin/nologin \
        -c "tandem load balancer" tandem
exit 0
