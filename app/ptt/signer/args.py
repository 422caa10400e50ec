"""Boot arguments of the signer image: the spec (for ptt.platform.bootargs)
and the cross-checks that turn parsed arguments into a Config.

    cfg = args.from_cmdline(open("/proc/cmdline").read())   # or parse(words)

Raises bootargs.BootArgError with one line naming the argument and the fix.
Pure code (no I/O): decoding a --private-key parses the DER, nothing more.
Keys are never logged; describe(cfg) is safe to print.
"""
from ptt.platform import bootargs as B
from ptt.crypto import b64
from ptt.dns import tsig as _tsig
from ptt.mail import canon as _canon
from ptt import dkim as _dkim
from ptt.signer import keyset as K

FLAG = B.FLAG


def _host_port(s, default_port):
    """'IP[:PORT]' or '[IPv6][:PORT]' -> (ip text, port)."""
    if s.startswith("["):
        ip, sep, rest = s[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("%r is not [IPv6]:PORT" % s)
        B.parse_ipv6(ip)
        port = rest[1:]
    else:
        if s.count(":") > 1:
            raise ValueError("%r: write an IPv6 address as [addr]:port" % s)
        ip, _, port = s.partition(":")
        B.parse_ipv4(ip)
    if port:
        if not B._digits(port) or not 0 < int(port) < 65536:
            raise ValueError("%r: the port must be 1 to 65535" % s)
        return (ip, int(port))
    return (ip, default_port)


def parse_dst(s):
    return _host_port(s, 25)


def parse_dns_server(s):
    return _host_port(s, 53)


def parse_network(s):
    """An IPv4 or IPv6 CIDR -> (family 4|6, address bytes, prefix)."""
    if ":" in s:
        a, p = B.parse_ipv6_cidr(s)
        return (6, a, p)
    a, p = B.parse_ipv4_cidr(s)
    return (4, a, p)


def parse_b64(s):
    try:
        v = b64.decode(s)
    except ValueError as e:
        raise ValueError("not valid base64: %s" % e)
    if not v:
        raise ValueError("empty value")
    return v


def parse_private_key(s):
    try:
        return K.load_der(parse_b64(s))
    except K.KeyError_ as e:
        raise ValueError(str(e))


def parse_seed(s):
    v = parse_b64(s)
    if len(v) < 16:
        raise ValueError("the seed has %d bytes; give at least 16 random bytes "
                         "(ptt-tool keys new --seed makes 32)" % len(v))
    return v


def parse_dns_key(s):
    try:
        return _tsig.parse_key(s)
    except Exception as e:   # TsigError is not a ValueError
        raise ValueError(str(e))


def parse_algorithm(s):
    if s == "both":
        return ["rsa", "ed25519"]
    out = []
    for a in s.split(","):
        if a not in K.ALGORITHMS:
            raise ValueError("%r: use rsa, ed25519 or both" % s)
        if a not in out:
            out.append(a)
    return out


def parse_canon(s):
    _canon.parse_c(s.encode())
    return s.encode()


def parse_header_list(s):
    """'from:to:subject' -> [b'from', ...]; 'none' -> []."""
    if s == "none":
        return []
    out = []
    for n in s.split(":"):
        n = n.strip().lower()
        if not n:
            raise ValueError("%r: an empty header name; separate names with ':'" % s)
        for c in n:
            if c <= " " or c > "~":
                raise ValueError("%r: %r is not a header name" % (s, n))
        out.append(n.encode())
    return out


def parse_port(s):
    if not B._digits(s) or not 0 < int(s) < 65536:
        raise ValueError("%r: a port is 1 to 65535" % s)
    return int(s)


def parse_rsa_bits(s):
    if not B._digits(s) or int(s) < 1024 or int(s) % 16:
        raise ValueError("%r: RSA key size in bits, e.g. 2048" % s)
    return int(s)


# (long name, short name or None, kind, required, repeatable, default, help)
SIGNER = B.COMMON + [
    ("dst", None, parse_dst, False, False, None,
     "next hop IP[:PORT] (default port 25) for every message; without it the "
     "recipients' MX (needs --nameserver)"),
    ("trusted", None, parse_network, True, True, None,
     "client network (IPv4 or IPv6 CIDR) allowed to relay through the signer; "
     "repeatable; everyone else gets 550 5.7.1"),
    ("with-dkim", None, FLAG, False, False, False,
     "add DKIM-Signatures (the default when --with-arc is not given)"),
    ("with-arc", None, FLAG, False, False, False,
     "ARC-seal (RFC 8617) with the RSA key; with --with-dkim too, DKIM-sign first"),
    ("private-key", "k", parse_private_key, False, True, None,
     "base64 DER (PKCS#8 or PKCS#1) private key, RSA or Ed25519; repeatable (one each)"),
    ("seed", "p", parse_seed, False, False, None,
     "base64 random seed that derives every key (docs/signer.md); instead of --private-key"),
    ("algorithm", "a", parse_algorithm, False, False, None,
     "rsa, ed25519 or both (default: both with --seed, else the keys given)"),
    ("rsa-bits", None, parse_rsa_bits, False, False, 2048,
     "size of RSA keys derived from --seed"),
    ("selector", "s", K.check_selector, True, False, None,
     "selector base S (records S-rsa and S-ed25519), or a format like ptt-%d "
     "for rotating selectors"),
    ("expiration", "x", K.parse_duration, False, False, None,
     "signature lifetime (x=) and, with a %d selector, the rotation period: "
     "3600, 12h, 7d, 2w"),
    ("dns-server", None, parse_dns_server, False, False, None,
     "primary DNS server IP[:PORT] that takes TSIG-signed UPDATEs for the key records"),
    ("dns-key", None, parse_dns_key, False, False, None,
     "TSIG key NAME:ALG:BASE64 (e.g. k._update.example.org:SHA256:...)"),
    ("dns-zone", None, B.parse_domain, False, False, None,
     "zone to update (default: the labels after _update in the --dns-key name)"),
    ("canonicalization", "c", parse_canon, False, False, b"relaxed/relaxed",
     "header/body canonicalisation: relaxed or simple on each side"),
    ("fields", "f", parse_header_list, False, False, None,
     "header names to sign, ':'-separated (default: the reference list)"),
    ("oversign", None, parse_header_list, False, False, None,
     "header names signed once more than present, ':'-separated, or none"),
    ("authserv-id", None, str, False, False, None,
     "ARC: the Authentication-Results authserv-id to seal (default: the topmost one)"),
    ("mx-port", None, parse_port, False, False, 25, "port of MX hosts (tests only; MX records carry no port)"),
]


class Config:
    """Everything the signer needs, checked. Attribute names follow the
    options; plus mode_dkim, mode_arc, keys (algorithm -> key),
    algorithms, zone."""

    def __repr__(self):
        return "Config(%s)" % describe(self)


def check(a):
    """Cross-check parsed Args -> Config; raises BootArgError."""
    err = B.BootArgError
    c = Config()
    for opt in SIGNER:
        setattr(c, B._attr(opt[0]), a.get(opt[0]))
    c.mode_arc = bool(a.with_arc)
    c.mode_dkim = bool(a.with_dkim) or not a.with_arc
    if a.private_key and a.seed is not None:
        raise err("give either --private-key or --seed, not both")
    keys = {}
    for k in a.private_key or []:
        if k.algorithm in keys:
            raise err("--private-key: two %s keys given; give one RSA and/or one Ed25519 key"
                      % k.algorithm)
        keys[k.algorithm] = k
    c.keys = keys
    if not keys and a.seed is None:
        raise err("no signing key: give --private-key (see `ptt-tool keys new`) or --seed")
    if a.algorithm:
        algs = a.algorithm
    elif keys:
        algs = [x for x in K.ALGORITHMS if x in keys]
    else:
        algs = ["rsa", "ed25519"]
    if keys:
        for x in algs:
            if x not in keys:
                raise err("--algorithm %s needs an %s --private-key" % (x, x))
    c.algorithms = algs
    if c.mode_arc and "rsa" not in algs:
        raise err("--with-arc needs an RSA key: RFC 8617 defines only rsa-sha256 "
                  "(add an RSA --private-key or use --algorithm both)")
    if c.mode_arc and not a.nameserver:
        raise err("--with-arc needs --nameserver udp:IP: sealing validates the ARC chain "
                  "already on the message, which takes DNS lookups (RFC 8617 5.2)")
    if c.mode_arc and not c.mode_dkim and len(algs) > 1:
        c.algorithms = ["rsa"]
    if (a.dns_server is None) != (a.dns_key is None):
        raise err("--dns-server and --dns-key go together (the primary DNS server and "
                  "its TSIG key)")
    zone = a.dns_zone
    if a.dns_key is not None and zone is None:
        zone = _tsig.zone_from_key_name(a.dns_key.name)
        if zone is None:
            raise err("--dns-key %s has no _update label to take the zone from; "
                      "give --dns-zone" % a.dns_key.name)
    c.zone = zone
    if zone is not None:
        d = a.domain
        if not (d == zone or d.endswith("." + zone)):
            raise err("--domain %s is not in the zone %s that --dns-key updates; "
                      "give --dns-zone" % (d, zone))
    if K.is_format(a.selector):
        if a.seed is None:
            raise err("a time-based selector (%s) needs --seed: new keys are derived "
                      "from it at each rotation" % a.selector)
        if a.expiration is None:
            raise err("a time-based selector (%s) needs --expiration (the rotation "
                      "period, e.g. 7d)" % a.selector)
        if a.dns_server is None:
            raise err("a time-based selector (%s) needs --dns-server and --dns-key to "
                      "publish the new keys" % a.selector)
        if a.expiration < K.MIN_PERIOD:
            raise err("--expiration %d s is too short for a rotating selector; use at "
                      "least %d s" % (a.expiration, K.MIN_PERIOD))
    if a.dst is None and not a.nameserver:
        raise err("without --dst the signer relays to the recipients' MX and needs "
                  "--nameserver udp:IP to look them up")
    c.include = a.fields if a.fields is not None else list(_dkim.DEFAULT_HEADERS)
    if b"from" not in c.include:
        c.include = c.include + [b"from"]   # RFC 6376 5.4: From MUST be signed
    c.oversign_list = a.oversign if a.oversign is not None else list(_dkim.DEFAULT_OVERSIGN)
    return c


def parse(words):
    return check(B.parse(words, SIGNER))


def from_cmdline(line):
    return check(B.from_cmdline(line, SIGNER))


def describe(c):
    """One line about the configuration, without secrets."""
    parts = ["domain %s" % c.domain,
             "mode %s" % "+".join([m for m, on in (("dkim", c.mode_dkim), ("arc", c.mode_arc)) if on]),
             "algorithms %s" % ",".join(c.algorithms),
             "selector %s" % c.selector,
             "keys from %s" % ("seed" if c.seed is not None else "--private-key")]
    if c.expiration:
        parts.append("expiration %d s" % c.expiration)
    parts.append("next hop %s" % ("%s:%d" % c.dst if c.dst else "MX"))
    if c.dns_server:
        parts.append("DNS primary %s:%d zone %s" % (c.dns_server[0], c.dns_server[1], c.zone))
    return ", ".join(parts)
