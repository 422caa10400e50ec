"""DNS I/O: a stub resolver (UDP, TCP on truncation, retries) and UPDATE
sending (TCP), over transport.SocketTransport or an injected transport.

    r = Resolver(["udp:127.0.0.1:53"], os.urandom)
    r.query("example.org", "MX")        # Answer (resolver.py) or ResolveError
    r.mx_hosts("example.org")           # [(pref, host), ...]
    r.txt("sel._domainkey.example.org") # [b"v=DKIM1; ...", ...]

    publish_txt("127.0.0.1:53", key, "sel._domainkey.example.org",
                b"v=DKIM1; ...", os.urandom, time.time())

Random bytes and the wall clock (for TSIG) are passed in; timeouts use the
transport's monotonic clock.
"""

from ptt.dns import resolver as R
from ptt.dns import tsig as T
from ptt.dns import update as U
from ptt.dns import wire as W


class ServerSpecError(W.DnsError):
    temporary = False


def parse_nameserver(text, default_port=53, default_proto="udp"):
    """Boot-argument form "udp:IP[:PORT]" / "tcp:IP[:PORT]" / "IP[:PORT]"
    -> (proto, ip, port). IPv6: "udp:[::1]:53" or "udp:::1" (no port).

    proto "udp" means UDP with TCP fallback; "tcp" means TCP only."""
    if type(text) is not str or not text:
        raise ServerSpecError("name server must look like udp:IP[:PORT], "
                              "got %r" % (text,))
    proto = default_proto
    rest = text
    for p in ("udp:", "tcp:"):
        if text.lower().startswith(p):
            proto = p[:3]
            rest = text[4:]
    port = default_port
    if rest.startswith("["):
        k = rest.find("]")
        if k < 0:
            raise ServerSpecError("name server %r: missing ']'" % text)
        ip = rest[1:k]
        tail = rest[k + 1:]
        if tail:
            if not tail.startswith(":"):
                raise ServerSpecError("name server %r: junk after ']'" % text)
            port = _port(tail[1:], text)
        fam6 = True
    elif rest.count(":") == 1:
        ip, p = rest.split(":")
        port = _port(p, text)
        fam6 = False
    else:
        ip = rest
        fam6 = ":" in rest
    try:
        if fam6:
            ip = W.ipv6_text(W.ipv6_bytes(ip))
        else:
            ip = W.ipv4_text(W.ipv4_bytes(ip))
    except W.FormatError:
        raise ServerSpecError("name server %r: %r is not an IP address (give "
                              "an address, not a host name: udp:IP[:PORT])"
                              % (text, ip))
    return proto, ip, port


def _port(p, text):
    if not p.isdigit() or not 0 < int(p) < 65536:
        raise ServerSpecError("name server %r: bad port %r" % (text, p))
    return int(p)


def _server(s, default_port=53):
    if type(s) is tuple:
        return s
    return parse_nameserver(s, default_port)


def _transport(t):
    if t is not None:
        return t
    from ptt.net.dns_transport import SocketTransport
    return SocketTransport()


def _source_port(randbytes):
    # Random source port in 1024..65535 (RFC 5452 4.5).
    return 1024 + R.randbelow(randbytes, 65536 - 1024)


class Resolver:
    """servers: list of "udp:IP[:PORT]" strings or (proto, ip, port)."""

    def __init__(self, servers, randbytes, timeout=2.0, attempts=2,
                 edns_payload=R.EDNS_PAYLOAD, transport=None):
        if not servers:
            raise ServerSpecError("no name server given: pass -n udp:IP[:53]")
        if type(servers) is str:
            servers = [servers]
        self.servers = [_server(s) for s in servers]
        self.randbytes = randbytes
        self.timeout_ms = int(timeout * 1000)
        self.attempts = attempts
        self.edns_payload = edns_payload
        self.transport = _transport(transport)
        self.tcp_fallbacks = 0      # how often TC sent us to TCP

    def _udp(self, server, q):
        wire = q.to_wire()

        def accept(data):
            try:
                return q.check(data)
            except R.Mismatch:
                return None         # stray or spoofed: keep listening

        for i in range(3):
            try:
                return self.transport.udp(server[1], server[2], wire,
                                          self.timeout_ms,
                                          _source_port(self.randbytes), accept)
            except OSError as e:
                if i == 2 or "busy" not in str(e):
                    raise
        return None

    def _tcp(self, server, q):
        data = self.transport.tcp(server[1], server[2], q.to_wire(),
                                  self.timeout_ms)
        return q.check(data)

    def query(self, name, rtype):
        """-> Answer (maybe with no records: NODATA). Raises NxDomain
        (permanent), ServFail/Timeout (temporary), FormatError..."""
        last = None
        edns = self.edns_payload
        for attempt in range(self.attempts):
            for server in self.servers:
                q = R.Query(name, rtype, self.randbytes, edns_payload=edns)
                where = "%s:%s:%d" % server
                try:
                    if server[0] == "tcp":
                        return self._tcp(server, q)
                    try:
                        a = self._udp(server, q)
                    except R.Truncated:
                        self.tcp_fallbacks += 1
                        return self._tcp(server, q)
                    if a is None:
                        last = R.Timeout("no answer from %s for %s %s within "
                                         "%d ms: check the -n name server"
                                         % (where, name, W.type_name(q.rtype),
                                            self.timeout_ms), name)
                        continue
                    return a
                except R.NxDomain:
                    raise
                except R.ServFail as e:
                    last = e
                    if e.rcode == W.FORMERR and edns is not None:
                        edns = None     # an old server without EDNS (RFC 6891 7)
                except (R.Mismatch, R.Truncated, W.FormatError) as e:
                    last = R.ServFail("bad answer from %s: %s" % (where, e),
                                      name)
                except OSError as e:
                    last = R.Timeout("cannot ask %s for %s: %s" % (where, name,
                                                                   e), name)
        raise last

    def lookup(self, name, rtype):
        return self.query(name, rtype)

    def mx_hosts(self, domain):
        return R.mx_hosts(domain, self.query, self.randbytes)

    def addresses(self, host, families=(W.A, W.AAAA)):
        return R.host_addresses(host, self.query, families)

    def txt(self, name):
        """TXT values at name, each record's strings joined."""
        return [W.txt_value(d) for d in self.query(name, W.TXT).data]


def send_update(server, update, key, randbytes, now, timeout=5.0,
                transport=None):
    """Sign (if key) and send an Update over TCP; check the answer.
    Returns the response Message; raises UpdateError / TsigError naming
    the cause and what to do."""
    proto, ip, port = _server(server)
    if key is not None:
        wire, mac = update.sign(key, now)
    else:
        wire, mac = update.to_wire(), None
    tr = _transport(transport)
    try:
        resp = tr.tcp(ip, port, wire, int(timeout * 1000))
    except OSError as e:
        err = U.UpdateError("cannot send the DNS update for %s to %s port %d "
                            "over TCP: %s; check --dns-server and that the "
                            "server is up" % (update.zone, ip, port, e))
        err.temporary = True
        raise err
    return update.check_response(resp, key, mac, now)


def publish_txt(server, key, name, value, randbytes, now, ttl=3600,
                zone=None, replace=True, timeout=5.0, transport=None):
    """Publish a TXT record by a TSIG-signed UPDATE: delete the TXT RRset at
    name (replace=True), add value with ttl. zone defaults to the labels
    after "_update" in the key name (as the reference does)."""
    if zone is None:
        zone = T.zone_from_key_name(key.name)
        if zone is None:
            raise U.UpdateError("cannot tell the zone of %s: the key name %s "
                                "has no _update label; pass zone=" % (name,
                                                                     key.name))
    u = U.Update(zone, randbytes)
    if replace:
        u.replace(name, W.TXT, ttl, value)
    else:
        u.add(name, W.TXT, ttl, value)
    return send_update(server, u, key, randbytes, now, timeout, transport)
