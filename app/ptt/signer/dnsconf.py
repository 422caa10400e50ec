"""The signer's DNS self-configuration: decide (pure), then do (thin I/O).

    actions = decide(wanted, found)        # pure
    sync(plan, keyring, domain, lookup, publish, delete, log)

wanted: [(name, value)] the TXT records the plan needs; found: {name:
[values] or None (no record)}. A record counts as present when one of the
TXT values at the name has the same k= and p= (whitespace ignored) and
v=DKIM1 or no v= — other tags (t=, n=, a future x= in someone's notes) do
not force a republish (the reference's needless republishing is not
copied).
"""
from ptt import dkim as _dkim
from ptt.signer import keyset as K

OK = "ok"
PUBLISH = "publish"
DELETE = "delete"


def _key_tags(value):
    try:
        t = _dkim.parse_tags(value)
    except ValueError:
        return None
    if t.get(b"v", b"DKIM1") != b"DKIM1":
        return None
    return (t.get(b"k", b"rsa"), _dkim.remove_fws(t.get(b"p", b"")))


def same_key(value, wanted):
    a = _key_tags(value)
    return a is not None and a == _key_tags(wanted)


def decide(wanted, found, delete=()):
    """-> [(action, name, value)] for every wanted record and every name
    in delete that still has a record."""
    out = []
    for name, value in wanted:
        have = found.get(name) or []
        if any(same_key(v, value) for v in have):
            out.append((OK, name, value))
        else:
            out.append((PUBLISH, name, value))
    for name in delete:
        if found.get(name):
            out.append((DELETE, name, None))
    return out


def wanted_records(plan, keyring, domain):
    """[(name, TXT value bytes)] the plan needs published."""
    out = []
    for alg, sel in plan.publish:
        key = keyring.key(alg, sel)
        out.append((K.record_name(sel, domain), _dkim.txt_record(key)))
    return out


def deleted_names(plan, domain):
    return [K.record_name(sel, domain) for alg, sel in plan.delete]


class DnsConfError(Exception):
    def __init__(self, msg):
        super().__init__(msg)


def sync(plan, keyring, domain, lookup, publish=None, delete=None, log=print):
    """Look up every record of the plan; publish the missing or different
    ones and delete the expired ones (when publish/delete are given).

    lookup(name) -> [bytes] (raises NxDomain-like errors with .temporary
    False for "no such name"); publish(name, value); delete(name).
    Returns the actions taken. Raises DnsConfError when a record is missing
    and cannot be published (no --dns-key), or when the server refuses.
    """
    wanted = wanted_records(plan, keyring, domain)
    gone = deleted_names(plan, domain)
    found = {}
    for name in [n for n, _ in wanted] + gone:
        found[name] = _lookup(lookup, name)
    actions = decide(wanted, found, gone)
    missing = []
    for action, name, value in actions:
        if action == OK:
            log("DNS: %s is published and matches the key" % name)
        elif action == PUBLISH:
            if publish is None:
                missing.append((name, value))
                continue
            try:
                publish(name, value)
            except Exception as e:
                raise DnsConfError("publishing %s failed: %s" % (name, e))
            log("DNS: published %s (%s)" % (name, "replaced a different key"
                                             if found.get(name) else "was missing"))
        elif action == DELETE:
            if delete is None:
                log("DNS: %s has expired; delete it from the zone" % name)
                continue
            try:
                delete(name)
            except Exception as e:
                log("DNS: deleting the expired %s failed: %s; it is left in the zone" % (name, e))
                continue
            log("DNS: deleted %s (its signatures have expired)" % name)
    if missing:
        lines = "; ".join('%s TXT "%s"' % (n, v.decode()) for n, v in missing)
        raise DnsConfError("the key record is missing or different and there is no "
                           "--dns-server/--dns-key to publish it: add %s" % lines)
    return actions


def _lookup(lookup, name):
    try:
        return lookup(name)
    except Exception as e:
        if getattr(e, "temporary", True):
            raise DnsConfError("cannot look up %s: %s" % (name, e))
        return None


def io_functions(cfg, randbytes, wallclock, transport=None):
    """(lookup, publish, delete) over ptt.dns for the Config: lookups ask the
    primary (--dns-server) directly when given, else the --nameserver
    resolvers; publish/delete are TSIG-signed UPDATEs over TCP, or None
    without --dns-key."""
    from ptt.dns import client as C
    from ptt.dns import update as U
    from ptt.dns import wire as W
    if cfg.dns_server is not None:
        servers = [("udp", cfg.dns_server[0], cfg.dns_server[1])]
    else:
        servers = list(cfg.nameserver or [])
    if not servers:
        raise DnsConfError("no name server to check the key records with: give "
                           "--dns-server or --nameserver")
    res = C.Resolver(servers, randbytes, transport=transport)

    def lookup(name):
        return res.txt(name)

    if cfg.dns_key is None:
        return lookup, None, None
    server = ("tcp", cfg.dns_server[0], cfg.dns_server[1])

    def publish(name, value):
        C.publish_txt(server, cfg.dns_key, name, value, randbytes, int(wallclock()),
                      zone=cfg.zone, transport=transport)

    def delete(name):
        u = U.Update(cfg.zone, randbytes)
        u.delete_rrset(name, W.TXT)
        C.send_update(server, u, cfg.dns_key, randbytes, int(wallclock()), transport=transport)

    return lookup, publish, delete
