"""DNS messages on the wire (RFC 1035 section 4), sans-I/O.

`decode(bytes) -> Message` is strict and bounded: every malformed packet
raises FormatError (a DnsError), never IndexError. `Message.to_wire()`
encodes with name compression (RFC 1035 4.1.4).

Names are text: labels joined by ".", no trailing dot, the root is ".".
A byte outside 0x21..0x7e, and "." or "\\" inside a label, are written
as \\DDD (RFC 1035 5.1 escapes), so every label round-trips.

Record data by type (RR.data):
  A, AAAA      address text ("192.0.2.1", "2001:db8::1")
  NS, CNAME    name
  MX           (preference, exchange)
  TXT          list of character-strings (bytes, each <= 255); `txt_value`
               joins them. On encode, a single bytes/str value is split into
               255-byte strings.
  SOA          (mname, rname, serial, refresh, retry, expire, minimum)
  TLSA         (usage, selector, matching_type, data bytes)
  TSIG         Tsig
  OPT          decoded into Message.edns (Edns), not kept as an RR
  other types  raw rdata bytes
  empty rdata with class ANY or NONE (UPDATE, RFC 2136 2.4/2.5): None
"""

try:
    from micropython import const
except ImportError:
    def const(x):
        return x


# Types (RFC 1035 3.2.2, RFC 3596, RFC 6891, RFC 6698, RFC 8945)
A = const(1)
NS = const(2)
CNAME = const(5)
SOA = const(6)
MX = const(15)
TXT = const(16)
AAAA = const(28)
OPT = const(41)
TLSA = const(52)
TSIG = const(250)
ANY = const(255)

# Classes (RFC 1035 3.2.4, RFC 2136 1.3)
IN = const(1)
CLASS_NONE = const(254)
CLASS_ANY = const(255)

# Opcodes
QUERY = const(0)
UPDATE = const(5)

# RCODEs (RFC 1035 4.1.1, RFC 2136 2.2, RFC 8945 3)
NOERROR = const(0)
FORMERR = const(1)
SERVFAIL = const(2)
NXDOMAIN = const(3)
NOTIMP = const(4)
REFUSED = const(5)
YXDOMAIN = const(6)
YXRRSET = const(7)
NXRRSET = const(8)
NOTAUTH = const(9)
NOTZONE = const(10)
BADSIG = const(16)
BADKEY = const(17)
BADTIME = const(18)
BADTRUNC = const(22)

TYPE_NAMES = {A: "A", NS: "NS", CNAME: "CNAME", SOA: "SOA", MX: "MX",
              TXT: "TXT", AAAA: "AAAA", OPT: "OPT", TLSA: "TLSA",
              TSIG: "TSIG", ANY: "ANY"}
_TYPE_CODES = {}
for _k in TYPE_NAMES:
    _TYPE_CODES[TYPE_NAMES[_k]] = _k

RCODE_NAMES = {NOERROR: "NOERROR", FORMERR: "FORMERR", SERVFAIL: "SERVFAIL",
               NXDOMAIN: "NXDOMAIN", NOTIMP: "NOTIMP", REFUSED: "REFUSED",
               YXDOMAIN: "YXDOMAIN", YXRRSET: "YXRRSET", NXRRSET: "NXRRSET",
               NOTAUTH: "NOTAUTH", NOTZONE: "NOTZONE", BADSIG: "BADSIG",
               BADKEY: "BADKEY", BADTIME: "BADTIME", BADTRUNC: "BADTRUNC"}

MAX_MESSAGE = const(65535)
MAX_NAME = const(255)        # RFC 1035 2.3.4, wire octets
MAX_LABEL = const(63)
MAX_POINTERS = const(64)     # compression jumps followed per name

_HEADER = const(12)


class DnsError(Exception):
    """Base of every error raised by ptt.dns."""
    # Whether retrying later may succeed (mail delivery: 4xx rather than 5xx).
    temporary = True

    def __init__(self, msg):
        super().__init__(msg)


class FormatError(DnsError):
    """A malformed DNS message or a value that cannot be encoded."""


class BadName(DnsError):
    """A domain name that is not valid (label too long, empty label...)."""
    temporary = False


def type_name(t):
    return TYPE_NAMES.get(t, "TYPE%d" % t)


def type_code(t):
    """"MX" or 15 -> 15."""
    if type(t) is int:
        if 0 <= t <= 0xFFFF:
            return t
    elif type(t) is str:
        u = t.upper()
        if u in _TYPE_CODES:
            return _TYPE_CODES[u]
        if u.startswith("TYPE") and u[4:].isdigit():
            return type_code(int(u[4:]))
    raise FormatError("unknown DNS record type %r: use A, AAAA, MX, TXT, "
                      "CNAME, NS, SOA, TLSA or TYPEnnn" % (t,))


def rcode_name(r):
    return RCODE_NAMES.get(r, "RCODE%d" % r)


# ---------------------------------------------------------------- names

def _bad_name(name, why):
    return BadName("bad domain name %r: %s" % (name, why))


def name_labels(name):
    """Text name -> list of label bytes (root -> []). Validates lengths."""
    if type(name) is not str:
        raise _bad_name(name, "expected text")
    if name == "." or name == "":
        return []
    if name.endswith(".") and not name.endswith("\\."):
        name_ = name[:-1]
    else:
        name_ = name
    raw = name_.encode()
    if len(raw) != len(name_):
        raise _bad_name(name, "not ASCII: use its IDNA (xn--) form")
    labels = []
    cur = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == 0x5C:  # backslash escape
            if i + 1 >= n:
                raise _bad_name(name, "ends with a lone backslash")
            d = raw[i + 1]
            if 0x30 <= d <= 0x39:
                digits = raw[i + 1:i + 4]
                if len(digits) != 3 or not digits.isdigit():
                    raise _bad_name(name, "\\DDD escape needs three digits")
                v = int(digits)
                if v > 255:
                    raise _bad_name(name, "\\DDD escape above 255")
                cur.append(v)
                i += 4
            else:
                cur.append(d)
                i += 2
            continue
        if c == 0x2E:
            if not cur:
                raise _bad_name(name, "empty label")
            labels.append(bytes(cur))
            cur = bytearray()
        else:
            cur.append(c)
        i += 1
    if not cur:
        raise _bad_name(name, "empty label")
    labels.append(bytes(cur))
    total = 1
    for lab in labels:
        if len(lab) > MAX_LABEL:
            raise _bad_name(name, "label longer than 63 octets")
        total += len(lab) + 1
    if total > MAX_NAME:
        raise _bad_name(name, "longer than 255 octets")
    return labels


def labels_name(labels):
    """List of label bytes -> text name (escaped where needed)."""
    if not labels:
        return "."
    out = []
    for lab in labels:
        s = []
        for c in lab:
            if c == 0x2E or c == 0x5C:
                s.append("\\" + chr(c))
            elif 0x21 <= c <= 0x7E:
                s.append(chr(c))
            else:
                s.append("\\%03d" % c)
        out.append("".join(s))
    return ".".join(out)


def canonical(name):
    """Normalised, lower-case form for comparisons (RFC 4343)."""
    return labels_name(name_labels(name)).lower()


def same_name(a, b):
    return canonical(a) == canonical(b)


def is_subdomain(name, zone):
    """True if name is zone or below it."""
    n = name_labels(name)
    z = name_labels(zone)
    if len(z) > len(n):
        return False
    k = len(n) - len(z)
    for i in range(len(z)):
        if n[k + i].lower() != z[i].lower():
            return False
    return True


def name_wire(name, lower=False):
    """Uncompressed wire form of a name (lower-cased for TSIG/DNSSEC)."""
    out = bytearray()
    for lab in name_labels(name):
        if lower:
            lab = lab.lower()
        out.append(len(lab))
        out += lab
    out.append(0)
    return bytes(out)


# ---------------------------------------------------------------- addresses

def ipv4_bytes(text):
    parts = text.split(".") if type(text) is str else []
    if len(parts) != 4:
        raise FormatError("bad IPv4 address %r" % (text,))
    out = bytearray()
    for p in parts:
        if not p or len(p) > 3 or not p.isdigit() or (len(p) > 1 and p[0] == "0"):
            raise FormatError("bad IPv4 address %r" % (text,))
        v = int(p)
        if v > 255:
            raise FormatError("bad IPv4 address %r" % (text,))
        out.append(v)
    return bytes(out)


def ipv4_text(b):
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


_HEXDIGITS = "0123456789abcdefABCDEF"


def ipv6_bytes(text):
    bad = FormatError("bad IPv6 address %r" % (text,))
    if type(text) is not str or not text or len(text) > 45:
        raise bad
    tail = b""
    s = text
    if "." in s:  # embedded IPv4 in the last 32 bits
        k = s.rfind(":")
        if k < 0:
            raise bad
        tail = ipv4_bytes(s[k + 1:])
        s = s[:k + 1] + "0:0"
    if s.count("::") > 1:
        raise bad
    if "::" in s:
        left, right = s.split("::")
        lg = left.split(":") if left else []
        rg = right.split(":") if right else []
        if len(lg) + len(rg) > 7:
            raise bad
        groups = lg + ["0"] * (8 - len(lg) - len(rg)) + rg
    else:
        groups = s.split(":")
        if len(groups) != 8:
            raise bad
    out = bytearray()
    for g in groups:
        if not g or len(g) > 4:
            raise bad
        for ch in g:
            if ch not in _HEXDIGITS:
                raise bad
        v = int(g, 16)
        out.append(v >> 8)
        out.append(v & 0xFF)
    if tail:
        out[12:16] = tail
    return bytes(out)


def ipv6_text(b):
    """RFC 5952 text: lower case, longest run of 2+ zero groups as "::"."""
    g = [(b[i] << 8) | b[i + 1] for i in range(0, 16, 2)]
    best, best_len, i = -1, 1, 0
    while i < 8:
        if g[i] == 0:
            j = i
            while j < 8 and g[j] == 0:
                j += 1
            if j - i > best_len:
                best, best_len = i, j - i
            i = j
        else:
            i += 1
    if best < 0:
        return ":".join(["%x" % v for v in g])
    left = ":".join(["%x" % v for v in g[:best]])
    right = ":".join(["%x" % v for v in g[best + best_len:]])
    return left + "::" + right


def ip_bytes(text):
    """Either family: text -> 4 or 16 bytes."""
    if type(text) is str and ":" in text:
        return ipv6_bytes(text)
    return ipv4_bytes(text)


# ---------------------------------------------------------------- records

class Tsig:
    """TSIG RDATA (RFC 8945 4.2)."""

    def __init__(self, algorithm, time_signed, fudge, mac, original_id,
                 error=0, other=b""):
        self.algorithm = algorithm
        self.time_signed = time_signed
        self.fudge = fudge
        self.mac = mac
        self.original_id = original_id
        self.error = error
        self.other = other

    def __eq__(self, o):
        return isinstance(o, Tsig) and self.__dict__ == o.__dict__

    def __repr__(self):
        return "Tsig(%r, %d, %d, mac=%d bytes, id=%d, error=%s)" % (
            self.algorithm, self.time_signed, self.fudge, len(self.mac),
            self.original_id, rcode_name(self.error))


class Edns:
    """The OPT pseudo-record (RFC 6891 6.1)."""

    def __init__(self, payload=1232, version=0, do=False, options=None,
                 ext_rcode=0):
        self.payload = payload
        self.version = version
        self.do = do
        self.options = options or []   # list of (code, bytes)
        self.ext_rcode = ext_rcode     # upper 8 bits of the 12-bit RCODE

    def __eq__(self, o):
        return isinstance(o, Edns) and self.__dict__ == o.__dict__

    def __repr__(self):
        return "Edns(payload=%d, version=%d, do=%r)" % (
            self.payload, self.version, self.do)


class Question:
    def __init__(self, name, rtype, rclass=IN):
        self.name = name
        self.rtype = rtype
        self.rclass = rclass

    def __eq__(self, o):
        return (isinstance(o, Question) and self.name == o.name
                and self.rtype == o.rtype and self.rclass == o.rclass)

    def __repr__(self):
        return "Question(%r, %s, %d)" % (self.name, type_name(self.rtype),
                                         self.rclass)


class RR:
    def __init__(self, name, rtype, rclass=IN, ttl=0, data=None):
        self.name = name
        self.rtype = rtype
        self.rclass = rclass
        self.ttl = ttl
        self.data = data

    def __eq__(self, o):
        return (isinstance(o, RR) and self.name == o.name
                and self.rtype == o.rtype and self.rclass == o.rclass
                and self.ttl == o.ttl and self.data == o.data)

    def __repr__(self):
        return "RR(%r, %s, %d, %d, %r)" % (self.name, type_name(self.rtype),
                                           self.rclass, self.ttl, self.data)


def txt_strings(value):
    """bytes/str -> list of character-strings of at most 255 bytes."""
    if type(value) is str:
        value = value.encode()
    value = bytes(value)
    if not value:
        return [b""]
    return [value[i:i + 255] for i in range(0, len(value), 255)]


def txt_value(data):
    """TXT RR data (list of character-strings) -> one bytes value."""
    return b"".join(data)


class Message:
    """A DNS message. For UPDATE the sections are zone, prerequisite,
    update and additional (RFC 2136 2): question, answer, authority,
    additional here."""

    def __init__(self, id=0, opcode=QUERY, qr=False, aa=False, tc=False,
                 rd=False, ra=False, ad=False, cd=False, rcode=NOERROR):
        self.id = id
        self.opcode = opcode
        self.qr = qr
        self.aa = aa
        self.tc = tc
        self.rd = rd
        self.ra = ra
        self.ad = ad
        self.cd = cd
        self.rcode = rcode          # full 12-bit RCODE (with EDNS)
        self.question = []
        self.answer = []
        self.authority = []
        self.additional = []        # without OPT and TSIG
        self.edns = None            # Edns or None
        self.tsig = None            # RR with Tsig data, or None
        self.tsig_offset = None     # decode: where the TSIG RR starts

    def flags(self):
        f = (self.opcode & 0xF) << 11
        if self.qr:
            f |= 0x8000
        if self.aa:
            f |= 0x0400
        if self.tc:
            f |= 0x0200
        if self.rd:
            f |= 0x0100
        if self.ra:
            f |= 0x0080
        if self.ad:
            f |= 0x0020
        if self.cd:
            f |= 0x0010
        return f | (self.rcode & 0xF)

    def to_wire(self, compress=True):
        if self.rcode > 0xF and self.edns is None:
            raise FormatError("RCODE %d needs EDNS" % self.rcode)
        out = bytearray()
        add = len(self.additional)
        if self.edns is not None:
            add += 1
        if self.tsig is not None:
            add += 1
        for v in (self.id, self.flags(), len(self.question), len(self.answer),
                  len(self.authority), add):
            _put16(out, v)
        comp = {} if compress else None
        for q in self.question:
            _put_name(out, name_labels(q.name), comp)
            _put16(out, q.rtype)
            _put16(out, q.rclass)
        for sec in (self.answer, self.authority, self.additional):
            for rr in sec:
                _put_rr(out, rr, comp)
        if self.edns is not None:
            e = self.edns
            ttl = (((self.rcode >> 4) & 0xFF) << 24) | ((e.version & 0xFF) << 16)
            if e.do:
                ttl |= 0x8000
            opts = bytearray()
            for code, val in e.options:
                _put16(opts, code)
                _put16(opts, len(val))
                opts += val
            out.append(0)
            _put16(out, OPT)
            _put16(out, e.payload)
            _put32(out, ttl)
            _put16(out, len(opts))
            out += opts
        if self.tsig is not None:
            _put_rr(out, self.tsig, None)
        if len(out) > MAX_MESSAGE:
            raise FormatError("message of %d bytes exceeds 65535" % len(out))
        return bytes(out)

    def __repr__(self):
        return "Message(id=%d, opcode=%d, rcode=%s, qd=%r, an=%r, ns=%r, ar=%r)" % (
            self.id, self.opcode, rcode_name(self.rcode), self.question,
            self.answer, self.authority, self.additional)


# ---------------------------------------------------------------- encoding

def _put16(out, v):
    if not 0 <= v <= 0xFFFF:
        raise FormatError("16-bit field out of range: %r" % (v,))
    out.append(v >> 8)
    out.append(v & 0xFF)


def _put32(out, v):
    if not 0 <= v <= 0xFFFFFFFF:
        raise FormatError("32-bit field out of range: %r" % (v,))
    out += bytes([(v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF])


def _put_name(out, labels, comp):
    """Append a name; comp maps wire suffix -> offset (None: no compression)."""
    n = len(labels)
    for i in range(n):
        if comp is not None:
            key = b"".join([bytes([len(l)]) + l for l in labels[i:]])
            off = comp.get(key)
            if off is not None:
                out.append(0xC0 | (off >> 8))
                out.append(off & 0xFF)
                return
            if len(out) < 0x4000:
                comp[key] = len(out)
        out.append(len(labels[i]))
        out += labels[i]
    out.append(0)


def _put_rr(out, rr, comp):
    _put_name(out, name_labels(rr.name), comp)
    _put16(out, rr.rtype)
    _put16(out, rr.rclass)
    _put32(out, rr.ttl)
    at = len(out)
    out += b"\0\0"
    if rr.data is not None:
        _put_rdata(out, rr.rtype, rr.data, comp)
    n = len(out) - at - 2
    if n > 0xFFFF:
        raise FormatError("rdata of %d bytes is too long" % n)
    out[at] = n >> 8
    out[at + 1] = n & 0xFF


def _put_rdata(out, t, d, comp):
    # Only RFC 1035 types compress names in RDATA (RFC 3597 4).
    if t == A:
        out += ipv4_bytes(d)
    elif t == AAAA:
        out += ipv6_bytes(d)
    elif t == NS or t == CNAME:
        _put_name(out, name_labels(d), comp)
    elif t == MX:
        _put16(out, d[0])
        _put_name(out, name_labels(d[1]), comp)
    elif t == TXT:
        if type(d) is str or type(d) is bytes or type(d) is bytearray:
            d = txt_strings(d)
        if not d:
            raise FormatError("TXT record needs at least one string")
        for s in d:
            if type(s) is str:
                s = s.encode()
            if len(s) > 255:
                raise FormatError("TXT character-string longer than 255 bytes:"
                                  " split it (txt_strings)")
            out.append(len(s))
            out += s
    elif t == SOA:
        _put_name(out, name_labels(d[0]), comp)
        _put_name(out, name_labels(d[1]), comp)
        for v in d[2:7]:
            _put32(out, v)
    elif t == TLSA:
        out.append(d[0])
        out.append(d[1])
        out.append(d[2])
        out += d[3]
    elif t == TSIG:
        out += name_wire(d.algorithm, lower=True)
        ts = d.time_signed
        if not 0 <= ts < (1 << 48):
            raise FormatError("TSIG time out of range")
        _put16(out, ts >> 32)
        _put32(out, ts & 0xFFFFFFFF)
        _put16(out, d.fudge)
        _put16(out, len(d.mac))
        out += d.mac
        _put16(out, d.original_id)
        _put16(out, d.error)
        _put16(out, len(d.other))
        out += d.other
    else:
        if type(d) is not bytes and type(d) is not bytearray:
            raise FormatError("no encoder for %s data %r: give raw bytes"
                              % (type_name(t), d))
        out += d


# ---------------------------------------------------------------- decoding

def _u16(buf, p, end):
    if p + 2 > end:
        raise FormatError("message truncated at offset %d" % p)
    return (buf[p] << 8) | buf[p + 1]


def _u32(buf, p, end):
    if p + 4 > end:
        raise FormatError("message truncated at offset %d" % p)
    return (buf[p] << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]


def _get_name(buf, pos, end):
    """Read a possibly compressed name at pos; return (labels, next pos).

    Loop-safe: every pointer must point before the start of the label run
    that contains it, so each jump goes strictly backwards; jumps are also
    counted (MAX_POINTERS) and the name must stay within 255 octets.
    """
    labels = []
    total = 1
    p = pos
    limit = end          # the label run being read must stay below this
    run_start = pos
    ret = -1
    jumps = 0
    while True:
        if p >= limit:
            raise FormatError("name at offset %d runs past its end" % pos)
        c = buf[p]
        if c >= 0xC0:
            if p + 1 >= limit:
                raise FormatError("name at offset %d: cut compression pointer"
                                  % pos)
            target = ((c & 0x3F) << 8) | buf[p + 1]
            if ret < 0:
                ret = p + 2
            if target < _HEADER:
                raise FormatError("compression pointer at offset %d points "
                                  "into the header (%d)" % (p, target))
            if target >= run_start:
                raise FormatError("compression pointer at offset %d points "
                                  "forward or loops (to %d)" % (p, target))
            jumps += 1
            if jumps > MAX_POINTERS:
                raise FormatError("too many compression pointers in name at "
                                  "offset %d" % pos)
            limit = run_start
            run_start = target
            p = target
        elif c >= 0x40:
            raise FormatError("unsupported label type 0x%02x at offset %d"
                              % (c, p))
        elif c == 0:
            p += 1
            break
        else:
            if p + 1 + c > limit:
                raise FormatError("label at offset %d runs past its end" % p)
            total += c + 1
            if total > MAX_NAME:
                raise FormatError("name at offset %d is longer than 255 octets"
                                  % pos)
            labels.append(bytes(buf[p + 1:p + 1 + c]))
            p += 1 + c
    return labels, (ret if ret >= 0 else p)


def _get_rdata(buf, t, rclass, p, end):
    if t == A:
        if end - p != 4:
            raise FormatError("A record with %d bytes of data" % (end - p))
        return ipv4_text(buf[p:end])
    if t == AAAA:
        if end - p != 16:
            raise FormatError("AAAA record with %d bytes of data" % (end - p))
        return ipv6_text(buf[p:end])
    if t == NS or t == CNAME:
        labels, q = _get_name(buf, p, end)
        _exact(q, end, t)
        return labels_name(labels)
    if t == MX:
        pref = _u16(buf, p, end)
        labels, q = _get_name(buf, p + 2, end)
        _exact(q, end, t)
        return (pref, labels_name(labels))
    if t == TXT:
        strings = []
        q = p
        while q < end:
            n = buf[q]
            if q + 1 + n > end:
                raise FormatError("TXT character-string runs past its record")
            strings.append(bytes(buf[q + 1:q + 1 + n]))
            q += 1 + n
        if not strings:
            raise FormatError("TXT record without character-strings")
        return strings
    if t == SOA:
        l1, q = _get_name(buf, p, end)
        l2, q = _get_name(buf, q, end)
        vals = [labels_name(l1), labels_name(l2)]
        for i in range(5):
            vals.append(_u32(buf, q, end))
            q += 4
        _exact(q, end, t)
        return tuple(vals)
    if t == TLSA:
        if end - p < 3:
            raise FormatError("TLSA record too short")
        return (buf[p], buf[p + 1], buf[p + 2], bytes(buf[p + 3:end]))
    if t == TSIG:
        # The algorithm name is never compressed (RFC 8945 4.2); read it
        # with a bound that forbids pointers by checking the first bytes.
        labels, q = _get_name(buf, p, end)
        if q - p != sum([len(l) + 1 for l in labels]) + 1:
            raise FormatError("TSIG algorithm name must not be compressed")
        hi = _u16(buf, q, end)
        ts = (hi << 32) | _u32(buf, q + 2, end)
        fudge = _u16(buf, q + 6, end)
        n = _u16(buf, q + 8, end)
        q += 10
        if q + n > end:
            raise FormatError("TSIG MAC runs past its record")
        mac = bytes(buf[q:q + n])
        q += n
        oid = _u16(buf, q, end)
        err = _u16(buf, q + 2, end)
        on = _u16(buf, q + 4, end)
        q += 6
        if q + on > end:
            raise FormatError("TSIG other data runs past its record")
        other = bytes(buf[q:q + on])
        _exact(q + on, end, t)
        return Tsig(labels_name(labels).lower(), ts, fudge, mac, oid, err,
                    other)
    return bytes(buf[p:end])


def _exact(q, end, t):
    if q != end:
        raise FormatError("%s record data length does not match its content"
                          % type_name(t))


def _get_question(buf, p, n):
    labels, p = _get_name(buf, p, n)
    t = _u16(buf, p, n)
    c = _u16(buf, p + 2, n)
    return Question(labels_name(labels), t, c), p + 4


def _get_rr(buf, p, n):
    labels, p = _get_name(buf, p, n)
    t = _u16(buf, p, n)
    c = _u16(buf, p + 2, n)
    ttl = _u32(buf, p + 4, n)
    rdlen = _u16(buf, p + 8, n)
    p += 10
    end = p + rdlen
    if end > n:
        raise FormatError("record data at offset %d runs past the end of "
                          "the message" % p)
    if rdlen == 0 and (c == CLASS_ANY or c == CLASS_NONE):
        data = None
    elif t == OPT:
        data = bytes(buf[p:end])
    else:
        data = _get_rdata(buf, t, c, p, end)
    return RR(labels_name(labels), t, c, ttl, data), end


def decode_header(wire):
    """(id, flags, qdcount, ancount, nscount, arcount); FormatError if short."""
    if len(wire) < _HEADER:
        raise FormatError("DNS message of %d bytes is shorter than its "
                          "12-byte header" % len(wire))
    return tuple([(wire[i] << 8) | wire[i + 1] for i in range(0, 12, 2)])


def decode(wire):
    """bytes -> Message. Raises FormatError on anything malformed."""
    if type(wire) is not bytes:
        wire = bytes(wire)
    n = len(wire)
    if n > MAX_MESSAGE:
        raise FormatError("DNS message longer than 65535 bytes")
    qid, f, qd, an, ns, ar = decode_header(wire)
    m = Message(qid, (f >> 11) & 0xF, bool(f & 0x8000), bool(f & 0x0400),
                bool(f & 0x0200), bool(f & 0x0100), bool(f & 0x0080),
                bool(f & 0x0020), bool(f & 0x0010), f & 0xF)
    p = _HEADER
    for i in range(qd):
        q, p = _get_question(wire, p, n)
        m.question.append(q)
    for sec, count in ((m.answer, an), (m.authority, ns)):
        for i in range(count):
            rr, p = _get_rr(wire, p, n)
            if rr.rtype == OPT or rr.rtype == TSIG:
                raise FormatError("%s record outside the additional section"
                                  % type_name(rr.rtype))
            sec.append(rr)
    for i in range(ar):
        start = p
        rr, p = _get_rr(wire, p, n)
        if m.tsig is not None:
            raise FormatError("TSIG record is not the last record")
        if rr.rtype == OPT:
            if m.edns is not None:
                raise FormatError("more than one OPT record")
            if rr.name != ".":
                raise FormatError("OPT record with a name other than the root")
            m.edns = _edns(rr)
            m.rcode |= m.edns.ext_rcode << 4
        elif rr.rtype == TSIG:
            if rr.rclass != CLASS_ANY or rr.data is None:
                raise FormatError("TSIG record with class %d" % rr.rclass)
            m.tsig = rr
            m.tsig_offset = start
        else:
            m.additional.append(rr)
    if p != n:
        raise FormatError("%d bytes of junk after the last record" % (n - p))
    return m


def _edns(rr):
    opts = []
    d = rr.data or b""
    q = 0
    while q < len(d):
        code = _u16(d, q, len(d))
        ln = _u16(d, q + 2, len(d))
        q += 4
        if q + ln > len(d):
            raise FormatError("EDNS option runs past the OPT record")
        opts.append((code, d[q:q + ln]))
        q += ln
    return Edns(rr.rclass, (rr.ttl >> 16) & 0xFF, bool(rr.ttl & 0x8000), opts,
                (rr.ttl >> 24) & 0xFF)
