"""SPF (RFC 7208): check_host(), sans-I/O with DNS given as a function.

    result, explanation = check_host("192.0.2.3", "example.com",
                                     "joe@example.com", "mx.example.com", lookup)
    result, explanation, domain = check_mailfrom(ip, mail_from, helo, lookup)

`result` is one of PASS FAIL SOFTFAIL NEUTRAL NONE PERMERROR TEMPERROR (the
RFC 8601 spelling).  `explanation` is text for logs and bounces: the exp=
text the domain publishes (RFC 7208 6.2) for a "fail" when there is one,
else our own short reason (what matched, or what went wrong).

The lookup interface
--------------------
`lookup(name, rtype)`; `name` is a str, lower case, without the final dot;
`rtype` is one of "TXT", "A", "AAAA", "MX", "PTR".  It returns a list:

- TXT: one str (or bytes) per record, the record's character-strings
  concatenated (RFC 7208 3.3); a record may also be given as a list of its
  strings.
- A / AAAA: address text ("192.0.2.1", "2001:db8::1"), or 4/16 raw bytes.
- MX: (preference, host) pairs; PTR: host names.  Final dots are ignored.

[] means the name exists but has no record of that type (NODATA).  It
raises `NXDomain` (this module's) when the name does not exist; returning
[] for that is equivalent here (both are "void lookups", RFC 7208 4.6.4).
Any other exception (timeout, SERVFAIL, ...) is a temporary DNS error and
gives "temperror".  CNAMEs are the lookup function's business (a resolver
follows them).  A cache is the caller's business too.

Limits (RFC 7208 4.6.4): at most 10 terms that cause DNS queries (include,
a, mx, ptr, exists, redirect) in the whole evaluation, then permerror; at
most 2 void lookups, then permerror; an "mx" with more than 10 MX records is
a permerror; "ptr" and %{p} look at the first 10 PTR names only.  Include
and redirect loops run into the first limit.
"""

from ptt.dns import wire

PASS = "pass"
FAIL = "fail"
SOFTFAIL = "softfail"
NEUTRAL = "neutral"
NONE = "none"
PERMERROR = "permerror"
TEMPERROR = "temperror"

RESULTS = (PASS, FAIL, SOFTFAIL, NEUTRAL, NONE, PERMERROR, TEMPERROR)

MAX_LOOKUPS = 10    # RFC 7208 4.6.4: DNS-querying terms
MAX_VOID = 2        # RFC 7208 4.6.4: void lookups (RECOMMENDED default)
MAX_ADDRESS = 10    # RFC 7208 4.6.4: MX names per "mx", PTR names per "ptr"
MAX_DEPTH = 20      # belt and braces; the lookup limit stops recursion first
MAX_NAME = 253      # RFC 7208 4.8: expanded names are cut to this

_QUALIFIERS = {"+": PASS, "-": FAIL, "~": SOFTFAIL, "?": NEUTRAL}
_MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
_DNS_TERMS = ("include", "a", "mx", "ptr", "exists")
_DELIMITERS = ".-+,/_="
_UNRESERVED = "-._~"


class SPFError(Exception):
    """Base of this module's exceptions."""

    def __init__(self, msg):
        super().__init__(msg)


class NXDomain(SPFError):
    """Raised by a lookup function when the name does not exist (RCODE 3)."""


class _PermError(SPFError):
    pass


class _TempError(SPFError):
    pass


# ---------------------------------------------------------------- helpers

def _is_alpha(c):
    return ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_digit(c):
    return "0" <= c <= "9"


def _is_alnum(c):
    return _is_alpha(c) or _is_digit(c)


def _is_toplabel(s):
    """RFC 7208 7.1 toplabel: alphanumeric with at least one letter, or
    alphanumerics and '-' that neither starts nor ends with '-'."""
    if not s:
        return False
    alpha = False
    for c in s:
        if _is_alpha(c):
            alpha = True
        elif c == "-":
            alpha = True
        elif not _is_digit(c):
            return False
    return alpha and s[0] != "-" and s[-1] != "-"


def _valid_name(name):
    """Can this be asked in DNS (labels 1..63 octets, name <= 253)?"""
    if not name or len(name) > MAX_NAME:
        return False
    for label in name.split("."):
        if not label or len(label) > 63:
            return False
    return True


def _check_domain(domain):
    """RFC 7208 4.3: a usable <domain> is multi-label and well formed."""
    if not domain:
        return False
    if domain.endswith("."):
        domain = domain[:-1]
    return "." in domain and _valid_name(domain)


def _parse_ip(ip):
    """-> (bytes, is_v6); an IPv4-mapped IPv6 address counts as IPv4 (RFC 7208 5)."""
    if isinstance(ip, (bytes, bytearray)) and len(ip) in (4, 16):
        b = bytes(ip)
    else:
        if isinstance(ip, (bytes, bytearray)):
            ip = bytes(ip).decode()
        ip = ip.strip()
        if ip[:1] == "[" and ip[-1:] == "]":
            ip = ip[1:-1]
        if ip[:5].lower() == "ipv6:":
            ip = ip[5:]
        b = wire.ip_bytes(ip)
    if len(b) == 16 and b[:12] == b"\x00" * 10 + b"\xff\xff":
        b = b[12:]
    return b, len(b) == 16


def _addr_bytes(a, v6):
    """A lookup answer -> bytes of the wanted family, or None."""
    if isinstance(a, (bytes, bytearray)):
        a = bytes(a)
        if len(a) in (4, 16):
            return a if len(a) == (16 if v6 else 4) else None
        a = a.decode()
    try:
        b = wire.ipv6_bytes(a) if v6 else wire.ipv4_bytes(a)
    except Exception:
        return None
    return b


def cidr_match(ip, net, bits):
    """Do the first `bits` bits of two equal-length byte strings agree?"""
    if len(ip) != len(net):
        return False
    full = bits // 8
    if ip[:full] != net[:full]:
        return False
    rest = bits % 8
    if not rest:
        return True
    mask = (0xFF << (8 - rest)) & 0xFF
    return (ip[full] & mask) == (net[full] & mask)


def _url_escape(s):
    out = []
    for c in s:
        if _is_alnum(c) or c in _UNRESERVED:
            out.append(c)
        else:
            for o in c.encode():
                out.append("%%%02X" % o)
    return "".join(out)


def _reverse_name(ip, v6):
    if v6:
        nib = []
        for o in ip:
            nib.append("%x" % (o >> 4))
            nib.append("%x" % (o & 15))
        nib.reverse()
        return ".".join(nib) + ".ip6.arpa"
    return "%d.%d.%d.%d.in-addr.arpa" % (ip[3], ip[2], ip[1], ip[0])


def _host(h):
    if isinstance(h, (bytes, bytearray)):
        h = bytes(h).decode()
    h = h.strip().lower()
    if h.endswith("."):
        h = h[:-1]
    return h


# ---------------------------------------------------------------- macros

def _tokenize(s, exp=False):
    """RFC 7208 7.1 macro-string (explain-string when exp) -> tokens: str
    literals and (letter, digits or 0, reverse, delimiters) tuples.
    Raises _PermError on a syntax error."""
    letters = "slodiphv" + ("crt" if exp else "")
    out = []
    lit = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c != "%":
            o = ord(c)
            if (o < 0x21 or o > 0x7E) and not (exp and c == " "):
                raise _PermError("character %r is not allowed in %r" % (c, s))
            lit.append(c)
            i += 1
            continue
        nxt = s[i + 1:i + 2]
        if nxt == "%":
            lit.append("%")
            i += 2
            continue
        if nxt == "_":
            lit.append(" ")
            i += 2
            continue
        if nxt == "-":
            lit.append("%20")
            i += 2
            continue
        if nxt != "{":
            raise _PermError("bad macro at %r in %r" % (s[i:i + 4], s))
        end = s.find("}", i)
        if end < 0:
            raise _PermError("unterminated macro in %r" % s)
        body = s[i + 2:end]
        if not body or body[0].lower() not in letters:
            raise _PermError("unknown macro letter in %r" % s[i:end + 1])
        letter = body[0]
        j = 1
        while j < len(body) and _is_digit(body[j]):
            j += 1
        digits = int(body[1:j]) if j > 1 else 0
        if j > 1 and digits == 0:
            raise _PermError("macro %r keeps zero parts" % s[i:end + 1])
        reverse = False
        if j < len(body) and body[j] in "rR":
            reverse = True
            j += 1
        delims = body[j:]
        for d in delims:
            if d not in _DELIMITERS:
                raise _PermError("bad delimiter %r in %r" % (d, s[i:end + 1]))
        if lit:
            out.append("".join(lit))
            lit = []
        out.append((letter, digits, reverse, delims or "."))
        i = end + 1
    if lit:
        out.append("".join(lit))
    return out


def _split_any(value, delims):
    parts = []
    cur = []
    for c in value:
        if c in delims:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return parts


def _domain_end_ok(tokens):
    """RFC 7208 7.1: domain-spec = macro-string domain-end, where domain-end
    is "." toplabel ["."] or a macro-expand (so "%{d}." is a permerror, as
    in pyspf)."""
    if not tokens:
        return False
    last = tokens[-1]
    if not isinstance(last, str):
        return True
    if last.endswith("."):
        last = last[:-1]
    dot = last.rfind(".")
    if dot < 0:
        return False
    return _is_toplabel(last[dot + 1:])


# ---------------------------------------------------------------- records

class _Term:
    __slots__ = ("qual", "name", "spec", "cidr4", "cidr6", "net", "text")

    def __init__(self, qual, name, spec=None, cidr4=None, cidr6=None, net=None):
        self.text = name
        self.qual = qual
        self.name = name
        self.spec = spec      # tokens of the domain-spec, or None
        self.cidr4 = cidr4
        self.cidr6 = cidr6
        self.net = net


def _cidr(text, maxbits, what):
    # ip4-cidr-length = "/" ("0" / %x31-39 0*1DIGIT); ip6: 0*2DIGIT
    if not text or len(text) > 3:
        raise _PermError("bad %s prefix length %r" % (what, text))
    for c in text:
        if not _is_digit(c):
            raise _PermError("bad %s prefix length %r" % (what, text))
    if len(text) > 1 and text[0] == "0":
        raise _PermError("bad %s prefix length %r" % (what, text))
    v = int(text)
    if v > maxbits:
        raise _PermError("%s prefix length %d is over %d" % (what, v, maxbits))
    return v


def _trailing_digits(s):
    """Split s into (head, digits) where digits follow the last '/'."""
    k = s.rfind("/")
    if k < 0:
        return s, None
    tail = s[k + 1:]
    if not tail:
        return s, None
    for c in tail:
        if not _is_digit(c):
            return s, None
    return s[:k], tail


def _split_dual_cidr(rest):
    """'example.com/24//64' -> ('example.com', '24', '64')."""
    c4 = c6 = None
    head, digits = _trailing_digits(rest)
    if digits is not None and head.endswith("/"):
        c6 = digits
        rest = head[:-1]
        head, digits = _trailing_digits(rest)
    if digits is not None:
        c4 = digits
        rest = head
    return rest, c4, c6


def _parse_mechanism(term):
    qual = PASS
    if term[0] in _QUALIFIERS:
        qual = _QUALIFIERS[term[0]]
        term = term[1:]
    i = 0
    while i < len(term) and term[i] not in ":/":
        i += 1
    name = term[:i].lower()
    rest = term[i:]
    if name not in _MECHANISMS:
        raise _PermError("unknown mechanism %r" % term)
    if name == "all":
        if rest:
            raise _PermError("'all' takes no argument: %r" % term)
        return _Term(qual, name)
    if name in ("ip4", "ip6"):
        if rest[:1] != ":" or len(rest) < 2:
            raise _PermError("%s needs an address: %r" % (name, term))
        addr, c4, c6 = _split_dual_cidr(rest[1:])
        if c6 is not None:
            raise _PermError("%s takes one prefix length: %r" % (name, term))
        try:
            net = wire.ipv4_bytes(addr) if name == "ip4" else wire.ipv6_bytes(addr)
        except Exception:
            raise _PermError("bad address in %r" % term)
        bits = len(net) * 8
        if c4 is not None:
            bits = _cidr(c4, bits, name)
        return _Term(qual, name, cidr4=bits, net=net)
    spec = None
    c4 = c6 = None
    if name in ("a", "mx"):
        body, c4, c6 = _split_dual_cidr(rest)
        c4 = 32 if c4 is None else _cidr(c4, 32, "IPv4")
        c6 = 128 if c6 is None else _cidr(c6, 128, "IPv6")
    else:
        body = rest
    if body:
        if body[0] != ":" or len(body) < 2:
            raise _PermError("bad argument in %r" % term)
        spec = _tokenize(body[1:])
        if not _domain_end_ok(spec):
            raise _PermError("bad domain-spec in %r" % term)
    elif name in ("include", "exists"):
        raise _PermError("%s needs a domain: %r" % (name, term))
    return _Term(qual, name, spec, c4, c6)


def parse_record(text):
    """An SPF record (starting "v=spf1") -> (terms, redirect, exp); raises
    _PermError on any syntax error (RFC 7208 4.6: the whole record is
    checked before anything is evaluated)."""
    words = text.split(" ")
    terms = []
    redirect = exp = None
    seen = []
    for w in words[1:]:
        if not w:
            continue
        i = 0
        if _is_alpha(w[0]):
            i = 1
            while i < len(w) and (_is_alnum(w[i]) or w[i] in "-_."):
                i += 1
        if i and i < len(w) and w[i] == "=":
            name = w[:i].lower()
            value = w[i + 1:]
            tokens = _tokenize(value)
            if name in ("redirect", "exp"):
                if name in seen:
                    raise _PermError("%s= appears more than once" % name)
                seen.append(name)
                if not _domain_end_ok(tokens):
                    raise _PermError("bad domain-spec in %r" % w)
                if name == "redirect":
                    redirect = tokens
                else:
                    exp = tokens
            continue  # unknown modifiers are ignored (RFC 7208 6)
        t = _parse_mechanism(w)
        t.text = w
        terms.append(t)
    return terms, redirect, exp


def _is_spf(r):
    low = r[:7].lower()
    return low == "v=spf1" or low == "v=spf1 "


# ---------------------------------------------------------------- evaluation

class _State:
    def __init__(self, ip, v6, sender, helo, lookup, now, receiver):
        self.ip = ip
        self.v6 = v6
        local, at, dom = sender.rpartition("@")
        if not at:
            local, dom = "", sender
        self.local = local or "postmaster"
        self.sender_domain = dom
        self.sender = self.local + "@" + dom
        self.helo = helo or ""
        self.lookup = lookup
        self.now = now
        self.receiver = receiver
        self.lookups = 0
        self.voids = 0

    def count(self, what):
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise _PermError("more than %d DNS-querying terms (at %s)" % (MAX_LOOKUPS, what))

    def dns(self, name, rtype):
        """Answers for (name, rtype); [] for none (counted as void)."""
        answers = None
        if _valid_name(name):
            try:
                answers = self.lookup(name, rtype)
            except NXDomain:
                answers = None
            except Exception as e:
                raise _TempError("DNS lookup of %s %s failed: %s" % (name, rtype, e))
        if not answers:
            self.voids += 1
            if self.voids > MAX_VOID:
                raise _PermError("more than %d void DNS lookups (at %s %s)"
                                 % (MAX_VOID, name, rtype))
            return []
        return answers

    def addresses(self, name):
        rtype = "AAAA" if self.v6 else "A"
        out = []
        for a in self.dns(name, rtype):
            b = _addr_bytes(a, self.v6)
            if b is not None:
                out.append(b)
        return out

    def validated(self, limit=MAX_ADDRESS):
        """RFC 7208 5.5: PTR names of the client whose addresses lead back."""
        try:
            names = self.dns(_reverse_name(self.ip, self.v6), "PTR")
        except _TempError:
            return []
        out = []
        for n in names[:limit]:
            n = _host(n)
            try:
                if self.ip in self.addresses(n):
                    out.append(n)
            except _TempError:
                continue
        return out

    # -- macros (RFC 7208 7)

    def _value(self, letter, domain):
        if letter == "s":
            return self.sender
        if letter == "l":
            return self.local
        if letter == "o":
            return self.sender_domain
        if letter == "d":
            return domain
        if letter == "i":
            if self.v6:
                nib = []
                for o in self.ip:
                    nib.append("%x" % (o >> 4))
                    nib.append("%x" % (o & 15))
                return ".".join(nib)
            return "%d.%d.%d.%d" % (self.ip[0], self.ip[1], self.ip[2], self.ip[3])
        if letter == "p":
            names = self.validated()
            for n in names:
                if n == domain:
                    return n
            for n in names:
                if n.endswith("." + domain):
                    return n
            return names[0] if names else "unknown"
        if letter == "v":
            return "ip6" if self.v6 else "in-addr"
        if letter == "h":
            return self.helo
        if letter == "c":
            return wire.ipv6_text(self.ip) if self.v6 else wire.ipv4_text(self.ip)
        if letter == "r":
            return self.receiver or "unknown"
        if letter == "t":
            return str(int(self.now or 0))
        raise _PermError("unknown macro letter %r" % letter)

    def expand(self, tokens, domain):
        out = []
        for t in tokens:
            if isinstance(t, str):
                out.append(t)
                continue
            letter, digits, reverse, delims = t
            parts = _split_any(self._value(letter.lower(), domain), delims)
            if reverse:
                parts.reverse()
            if digits and digits < len(parts):
                parts = parts[len(parts) - digits:]
            v = ".".join(parts)
            if letter != letter.lower():
                v = _url_escape(v)
            out.append(v)
        return "".join(out)

    def target(self, tokens, domain):
        """Expand a domain-spec into the name to query (RFC 7208 4.8)."""
        if tokens is None:
            return domain
        name = self.expand(tokens, domain)
        if name.endswith("."):
            name = name[:-1]
        while len(name) > MAX_NAME and "." in name:
            name = name[name.find(".") + 1:]
        return name.lower()


def _spf_record(st, domain):
    """The SPF record text of domain, or None (RFC 7208 4.5)."""
    found = []
    for r in st.dns(domain, "TXT"):
        if isinstance(r, (list, tuple)):
            r = b"".join(x if isinstance(x, bytes) else x.encode() for x in r)
        if isinstance(r, (bytes, bytearray)):
            r = bytes(r)
            if not (r[:7].lower() in (b"v=spf1", b"v=spf1 ")):
                continue
            try:
                r = r.decode()
            except Exception:
                raise _PermError("the SPF record of %s is not ASCII" % domain)
        if _is_spf(r):
            found.append(r)
    if len(found) > 1:
        raise _PermError("%s has %d SPF records (it must have one)" % (domain, len(found)))
    if not found:
        return None
    for c in found[0]:
        if ord(c) > 0x7E:
            raise _PermError("the SPF record of %s is not ASCII" % domain)
    return found[0]


def _explain(st, exp, domain):
    """RFC 7208 6.2: the exp= text, or None on any problem (no counting)."""
    try:
        name = st.target(exp, domain)
        if not _valid_name(name):
            return None
        try:
            recs = st.lookup(name, "TXT")
        except Exception:
            return None
        if not recs or len(recs) != 1:
            return None
        r = recs[0]
        if isinstance(r, (list, tuple)):
            r = b"".join(x if isinstance(x, bytes) else x.encode() for x in r)
        if isinstance(r, (bytes, bytearray)):
            r = bytes(r).decode()
        text = st.expand(_tokenize(r, exp=True), domain)
        for c in text:
            if ord(c) < 0x20 or ord(c) > 0x7E:
                return None
        return text
    except Exception:
        return None


def _evaluate(st, domain, depth):
    """-> (result, explanation); raises _PermError / _TempError."""
    if depth > MAX_DEPTH:
        raise _PermError("include/redirect nesting deeper than %d" % MAX_DEPTH)
    record = _spf_record(st, domain)
    if record is None:
        return NONE, "%s publishes no SPF record" % domain
    terms, redirect, exp = parse_record(record)
    for t in terms:
        name = t.name
        if name in _DNS_TERMS:
            st.count(name)
        matched = False
        if name == "all":
            matched = True
        elif name in ("ip4", "ip6"):
            matched = cidr_match(st.ip, t.net, t.cidr4)
        elif name == "include":
            target = st.target(t.spec, domain)
            r, why = _evaluate(st, target, depth + 1)
            if r == PASS:
                matched = True
            elif r == TEMPERROR:
                raise _TempError(why)
            elif r == PERMERROR:
                raise _PermError(why)
            elif r == NONE:
                raise _PermError("include:%s: %s" % (target, why))
        elif name == "a":
            target = st.target(t.spec, domain)
            bits = t.cidr6 if st.v6 else t.cidr4
            for a in st.addresses(target):
                if cidr_match(st.ip, a, bits):
                    matched = True
                    break
        elif name == "mx":
            target = st.target(t.spec, domain)
            mxs = st.dns(target, "MX")
            if len(mxs) > MAX_ADDRESS:
                raise _PermError("%s has %d MX records (more than %d)"
                                 % (target, len(mxs), MAX_ADDRESS))
            bits = t.cidr6 if st.v6 else t.cidr4
            for mx in mxs:
                host = _host(mx[1] if isinstance(mx, (list, tuple)) else mx)
                if not host:
                    continue  # null MX (RFC 7505)
                for a in st.addresses(host):
                    if cidr_match(st.ip, a, bits):
                        matched = True
                        break
                if matched:
                    break
        elif name == "ptr":
            target = st.target(t.spec, domain)
            for n in st.validated():
                if n == target or n.endswith("." + target):
                    matched = True
                    break
        elif name == "exists":
            target = st.target(t.spec, domain)
            # RFC 7208 5.7: an A query even when the client is IPv6
            matched = bool(st.dns(target, "A"))
        if matched:
            where = "%s matched at %s" % (t.text, domain)
            if t.qual == FAIL and exp is not None:
                text = _explain(st, exp, domain)
                if text:
                    return FAIL, text
            return t.qual, where
    if redirect is not None:
        st.count("redirect")
        target = st.target(redirect, domain)
        if not _check_domain(target):
            raise _PermError("redirect=%s is not a usable domain" % target)
        r, why = _evaluate(st, target, depth + 1)
        if r == NONE:
            raise _PermError("redirect=%s: %s" % (target, why))
        return r, why
    return NEUTRAL, "nothing matched in the SPF record of %s" % domain


def check_host(ip, domain, sender, helo, lookup, now=None, receiver="unknown"):
    """RFC 7208 4: -> (result, explanation).

    ip: the SMTP client's address (text, or 4/16 bytes; IPv4-mapped IPv6
    counts as IPv4); domain: the domain to check (the MAIL FROM domain, or
    the HELO name); sender: the MAIL FROM address, or "postmaster@<helo>"
    when checking HELO (a sender without local part gets "postmaster");
    helo: the HELO/EHLO name (for %{h}); lookup: see the module docstring;
    now: Unix seconds (only for %{t} in exp=); receiver: our host name
    (only for %{r} in exp=).  Never raises on bad input or DNS trouble.
    """
    try:
        ipb, v6 = _parse_ip(ip)
    except Exception:
        return PERMERROR, "the client address %r cannot be parsed" % (ip,)
    if isinstance(domain, (bytes, bytearray)):
        domain = bytes(domain).decode()
    if isinstance(sender, (bytes, bytearray)):
        sender = bytes(sender).decode()
    if isinstance(helo, (bytes, bytearray)):
        helo = bytes(helo).decode()
    domain = (domain or "").strip().lower()
    if domain.endswith("."):
        domain = domain[:-1]
    if not _check_domain(domain):
        return NONE, "%r is not a domain SPF can check" % domain
    st = _State(ipb, v6, sender or ("postmaster@" + domain), helo, lookup, now, receiver)
    try:
        return _evaluate(st, domain, 0)
    except _PermError as e:
        return PERMERROR, str(e)
    except _TempError as e:
        return TEMPERROR, str(e)
    except RuntimeError as e:  # MicroPython's recursion limit, should it ever hit
        return PERMERROR, "evaluation too deep: %s" % e


def check_mailfrom(ip, mail_from, helo, lookup, now=None, receiver="unknown"):
    """Check the MAIL FROM identity, or HELO for the null sender (RFC 7208
    2.4).  -> (result, explanation, scope, domain) where scope is "mailfrom"
    or "helo" and domain the checked domain."""
    if isinstance(mail_from, (bytes, bytearray)):
        mail_from = bytes(mail_from).decode()
    if isinstance(helo, (bytes, bytearray)):
        helo = bytes(helo).decode()
    mail_from = (mail_from or "").strip()
    if mail_from[:1] == "<" and mail_from[-1:] == ">":
        mail_from = mail_from[1:-1]
    helo = (helo or "").strip()
    if mail_from:
        local, at, dom = mail_from.rpartition("@")
        if not at:
            dom = mail_from
        r, why = check_host(ip, dom, mail_from, helo, lookup, now, receiver)
        return r, why, "mailfrom", dom.lower()
    r, why = check_host(ip, helo, "postmaster@" + helo, helo, lookup, now, receiver)
    return r, why, "helo", helo.lower()
