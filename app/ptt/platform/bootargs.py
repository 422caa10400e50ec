"""Boot arguments: reference-style options, read from the kernel command line.

Encoding on the kernel command line (see docs/boot.md):

    console=ttyS0 panic=-1 ptt="--ipv4=10.0.2.15/24 --domain=lists.example.org -n udp:10.0.2.3"

- The canonical form is one kernel parameter `ptt="..."`. Its name has no
  dot and its value is quoted, so the kernel neither drops it (a dotted word
  is taken for a module parameter) nor hands its words to init one by one;
  QEMU microvm's appended `virtio_mmio.device=...` stays a kernel parameter.
- Also accepted: bare `--name=value` (or `-x value`) words elsewhere on the
  line, for VMMs that append the app's arguments as-is. No kernel parameter
  starts with `-`, so these are unambiguous.
- The app reads /proc/cmdline verbatim rather than argv/envp, which the
  kernel filters. Never use `--` on the line: the kernel hands everything
  after it to init, including microvm's device list.

Pure code: runs on CPython and MicroPython; no I/O here.
"""


from ptt.dns import wire as W

class BootArgError(Exception):
    def __init__(self, msg):
        super().__init__(msg)


# ---------------------------------------------------------------- value parsers

def parse_ipv4(s, what="address"):
    """'10.0.2.15' -> b'\\n\\x00\\x02\\x0f'."""
    parts = s.split(".")
    if len(parts) != 4:
        raise ValueError("%r is not an IPv4 %s (a.b.c.d)" % (s, what))
    out = bytearray(4)
    for i, p in enumerate(parts):
        if not p or len(p) > 3 or not _digits(p) or (len(p) > 1 and p[0] == "0"):
            raise ValueError("%r is not an IPv4 %s (a.b.c.d)" % (s, what))
        v = int(p)
        if v > 255:
            raise ValueError("%r is not an IPv4 %s: %s is over 255" % (s, what, p))
        out[i] = v
    return bytes(out)


def _digits(s):
    for c in s:
        if c < "0" or c > "9":
            return False
    return len(s) > 0


def parse_ipv4_cidr(s):
    """'10.0.2.15/24' -> (addr bytes, 24)."""
    if "/" not in s:
        raise ValueError("%r is not an IPv4 CIDR: the /prefix is missing (e.g. 10.0.0.2/24)" % s)
    a, p = s.split("/", 1)
    try:
        addr = parse_ipv4(a)
    except ValueError:
        raise ValueError("%r is not an IPv4 CIDR (a.b.c.d/prefix, e.g. 10.0.0.2/24)" % s)
    if not _digits(p) or len(p) > 2 or int(p) > 32:
        raise ValueError("%r is not an IPv4 CIDR: the prefix must be 0 to 32" % s)
    return (addr, int(p))


def parse_ipv6(s):
    """RFC 4291 text form (with ::, no zone) -> 16 bytes."""
    try:
        return W.ipv6_bytes(s)
    except W.FormatError:
        raise ValueError("%r is not an IPv6 address" % s)


def parse_ipv6_cidr(s):
    if "/" not in s:
        raise ValueError("%r is not an IPv6 CIDR: the /prefix is missing (e.g. fd00::2/64)" % s)
    a, p = s.rsplit("/", 1)
    addr = parse_ipv6(a)
    if not _digits(p) or len(p) > 3 or int(p) > 128:
        raise ValueError("%r is not an IPv6 CIDR: the prefix must be 0 to 128" % s)
    return (addr, int(p))


def parse_domain(s):
    """A host name: labels of a-z 0-9 -, 1..63 chars, 253 in all; returns lowercase."""
    d = s.lower()
    if d.endswith("."):
        d = d[:-1]
    if not d or len(d) > 253:
        raise ValueError("%r is not a domain name" % s)
    for label in d.split("."):
        if not label or len(label) > 63:
            raise ValueError("%r is not a domain name: empty or over-long label" % s)
        if label[0] == "-" or label[-1] == "-":
            raise ValueError("%r is not a domain name: a label starts or ends with '-'" % s)
        for c in label:
            if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-"):
                raise ValueError("%r is not a domain name: %r is not allowed" % (s, c))
    return d


_UNITS = (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
          ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1))


def parse_size(s):
    """'10485760', '10MiB', '512KiB', '16M' -> bytes."""
    num, mult = s, 1
    for suffix, m in _UNITS:
        if s.endswith(suffix):
            num, mult = s[:-len(suffix)], m
            break
    if not _digits(num):
        raise ValueError("%r is not a size (a number with an optional unit B, KiB, MiB, "
                         "GiB, TiB)" % s)
    v = int(num) * mult
    if v <= 0:
        raise ValueError("%r: the size must be positive" % s)
    return v


def _host_port(s, default_port, what):
    """'IP[:PORT]' or '[IPv6][:PORT]' -> (ip string, family, port)."""
    if s.startswith("["):
        if "]" not in s:
            raise ValueError("%r is not %s ([IPv6]:port)" % (s, what))
        ip, rest = s[1:].split("]", 1)
        parse_ipv6(ip)
        fam = 6
        if rest and not rest.startswith(":"):
            raise ValueError("%r is not %s" % (s, what))
        port = rest[1:] if rest else ""
    else:
        if s.count(":") > 1:
            raise ValueError("%r: write an IPv6 %s as [addr]:port" % (s, what))
        ip, _, port = s.partition(":")
        parse_ipv4(ip)
        fam = 4
    if port:
        if not _digits(port) or not 0 < int(port) < 65536:
            raise ValueError("%r: the port must be 1 to 65535" % s)
        p = int(port)
    else:
        p = default_port
    return (ip, fam, p)


def parse_ip_port(s):
    return _host_port(s, 53, "IP[:PORT]")


def parse_smtp_host(s):
    """'IP[:PORT]' of an SMTP next hop, port 25 by default -> (ip, port)."""
    ip, _, port = _host_port(s, 25, "IP[:PORT]")
    return (ip, port)


def parse_admin(s):
    """'[LOCAL:]EMAIL' -> (extra local part or None, email)."""
    local, sep, email = s.rpartition(":")
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise ValueError("%r is not [LOCAL:]EMAIL" % s)
    if sep and not local:
        raise ValueError("%r: the local part before ':' is empty" % s)
    return (local.lower() or None, email)


def parse_nameserver(s):
    """'udp:IP[:53]' or 'tcp:IP[:53]' -> (proto, ip, port)."""
    proto, sep, rest = s.partition(":")
    if not sep or proto not in ("udp", "tcp", "tls"):
        raise ValueError("%r is not a nameserver: write udp:IP[:PORT] or tcp:IP[:PORT]" % s)
    if proto == "tls":
        raise ValueError("%r: tls: nameservers are not supported yet; use udp: or tcp:" % s)
    ip, fam, port = _host_port(rest, 53, "a nameserver address")
    return (proto, ip, port)


def parse_bool(s):
    if s in ("true", "1", "yes", "on"):
        return True
    if s in ("false", "0", "no", "off"):
        return False
    raise ValueError("%r is not a boolean (true or false)" % s)


# ---------------------------------------------------------------- the table

FLAG = "flag"

# (long name, short name or None, value kind, required, repeatable, default, help)
# Value kind: a parser function, or FLAG (no value).
COMMON = [
    ("ipv4", None, parse_ipv4_cidr, True, False, None,
     "IPv4 address and prefix of the service interface (eth0), e.g. 10.0.2.15/24"),
    ("ipv4-gateway", None, parse_ipv4, False, False, None,
     "IPv4 default gateway, e.g. 10.0.2.2"),
    ("ipv6", None, parse_ipv6_cidr, False, False, None,
     "static IPv6 address and prefix of eth0 (default: link-local only)"),
    ("nameserver", "n", parse_nameserver, False, True, None,
     "DNS resolver udp:IP[:53] or tcp:IP[:53]; repeatable; UDP and TCP cannot be mixed"),
    ("domain", None, parse_domain, True, False, None,
     "the service's domain: SMTP banner and EHLO name, list domain, certificate name"),
    ("timezone", None, str, False, False, "GMT", "accepted for compatibility; unused"),
    ("limit", None, parse_size, False, False, 10485760,
     "largest message accepted (SIZE), bytes with optional unit B/KiB/MiB/GiB/TiB"),
    ("verbose", "v", FLAG, False, False, False, "more log lines on the console"),
    ("quiet", "q", FLAG, False, False, False, "only errors on the console"),
]

# The reference's --submission-destination and --forward-granted-for served
# its lists -> signer -> lists round trip; here the lists server delivers
# itself (through --destination when set), so they are refused as unknown.
LISTS = COMMON + [
    ("destination", None, parse_smtp_host, False, False, None,
     "IP[:PORT] every outgoing mail goes through (the signer image, so list "
     "mail leaves DKIM-signed); default: the recipients' MX"),
    ("admin", None, parse_admin, False, False, None,
     "[LOCAL:]EMAIL that receives mail to postmaster@ (and LOCAL@) the domain; "
     "default: the moderators of every list"),
]


class Args:
    """Parsed boot arguments: attribute per option (dashes become underscores)."""

    def __init__(self):
        self.given = []

    def get(self, name, default=None):
        return getattr(self, name.replace("-", "_"), default)


def _attr(name):
    return name.replace("-", "_")


def parse(words, spec=LISTS):
    """Parse a list of argument words; raises BootArgError with one line."""
    longs = {}
    shorts = {}
    for opt in spec:
        longs[opt[0]] = opt
        if opt[1]:
            shorts[opt[1]] = opt
    a = Args()
    for opt in spec:
        setattr(a, _attr(opt[0]), [] if opt[4] else opt[5])
    seen = []
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if w.startswith("--"):
            name, eq, val = w[2:].partition("=")
            opt = longs.get(name)
            label = "--" + name
        elif w.startswith("-") and len(w) > 1:
            name, eq, val = w[1:2], "", ""
            if len(w) > 2:
                eq, val = "=", w[2:]
                if val.startswith("="):
                    val = val[1:]
            opt = shorts.get(name)
            label = "-" + name
        else:
            raise BootArgError("unexpected word %r: boot arguments are --name=value "
                               "(see docs/boot.md)" % w)
        if opt is None:
            raise BootArgError("unknown boot argument %s (known: %s)"
                               % (label, " ".join("--" + o[0] for o in spec)))
        label = "--" + opt[0]
        kind = opt[2]
        if kind is FLAG:
            if eq:
                try:
                    v = parse_bool(val)
                except ValueError as e:
                    raise BootArgError("%s: %s" % (label, e))
            else:
                v = True
        else:
            if not eq:
                if i >= len(words):
                    raise BootArgError("%s needs a value (%s)" % (label, opt[6]))
                val = words[i]
                i += 1
            if val == "":
                raise BootArgError("%s needs a value (%s)" % (label, opt[6]))
            try:
                v = kind(val)
            except ValueError as e:
                raise BootArgError("%s: %s" % (label, e))
        if opt[4]:
            getattr(a, _attr(opt[0])).append(v)
        else:
            if opt[0] in seen:
                raise BootArgError("%s is given twice; give it once" % label)
            setattr(a, _attr(opt[0]), v)
        seen.append(opt[0])
    for opt in spec:
        if opt[3] and opt[0] not in seen:
            raise BootArgError("--%s is required: %s" % (opt[0], opt[6]))
    protos = []
    for ns in a.get("nameserver") or []:
        if ns[0] not in protos:
            protos.append(ns[0])
    if len(protos) > 1:
        raise BootArgError("--nameserver: UDP and TCP nameservers cannot be mixed")
    if a.get("verbose") and a.get("quiet"):
        raise BootArgError("--verbose and --quiet exclude each other")
    a.given = seen
    return a


# ---------------------------------------------------------------- kernel command line

def split_cmdline(line):
    """Split like the kernel's next_arg(): spaces separate, double quotes group.

    Returns [(name, value or None)]; quotes are removed from the value.
    """
    out = []
    i = 0
    n = len(line)
    while i < n:
        while i < n and line[i] in " \t\n":
            i += 1
        if i >= n:
            break
        start = i
        quoted = False
        while i < n and (quoted or line[i] not in " \t\n"):
            if line[i] == '"':
                quoted = not quoted
            i += 1
        word = line[start:i]
        if "=" in word:
            name, _, val = word.partition("=")
            name = name.replace('"', "")
            if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
                val = val[1:-1]
            else:
                val = val.replace('"', "")
            out.append((name, val))
        else:
            out.append((word.replace('"', ""), None))
    return out


PARAM = "ptt"


def words_from_cmdline(line, spec=LISTS):
    """The app's argument words from /proc/cmdline (see the module docstring)."""
    words = []
    takes_value = {}
    for opt in spec:
        v = opt[2] is not FLAG
        takes_value["--" + opt[0]] = v
        if opt[1]:
            takes_value["-" + opt[1]] = v
    toks = split_cmdline(line)
    i = 0
    while i < len(toks):
        name, val = toks[i]
        i += 1
        if name == "--" and val is None:
            break  # everything after belongs to init, not to us (and is a mistake)
        if name == PARAM and val is not None:
            words.extend(val.split())
        elif name.startswith("-"):
            words.append(name if val is None else name + "=" + val)
            if val is None and takes_value.get(name) and i < len(toks):
                nxt, nval = toks[i]
                words.append(nxt if nval is None else nxt + "=" + nval)
                i += 1
    return words


def from_cmdline(line, spec=LISTS):
    return parse(words_from_cmdline(line, spec), spec)


def encode(words):
    """The kernel parameter for `words` (what ptt-tool run puts on -append)."""
    for w in words:
        if '"' in w or " " in w or "\t" in w:
            raise BootArgError("boot argument %r contains a space or a quote; the kernel "
                               "command line cannot carry it" % w)
    return '%s="%s"' % (PARAM, " ".join(words))


def describe(spec=LISTS):
    """[{name, short, required, repeatable, default, help}] for manifests and docs."""
    out = []
    for o in spec:
        d = o[5]
        out.append({"name": "--" + o[0], "short": ("-" + o[1]) if o[1] else None,
                    "value": o[2] is not FLAG, "required": o[3], "repeatable": o[4],
                    "default": d if (d is None or isinstance(d, (int, str))) else str(d),
                    "help": o[6]})
    return out
