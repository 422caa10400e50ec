"""Inbound authentication for the lists server: SPF + DKIM + DMARC, written
down as an Authentication-Results field (RFC 8601).  Sans-I/O.

    new_message, summary = authenticate(message, "192.0.2.3", "mx.example.com",
                                        "joe@example.com", "lists.example.org",
                                        lookup, now)

`lookup(name, rtype)` is the interface of ptt.spf (see its docstring): one
function serves SPF, the DKIM key records and the DMARC records.

What `authenticate` does, in order:
1. SPF (ptt.spf) of the MAIL FROM identity, or of HELO for the null sender.
2. DKIM (ptt.dkim.verify) of the message as received (before anything here
   changes it).
3. DMARC (RFC 7489; `evaluate`): the RFC5322.From domain, the policy record
   found by ptt.lists.dmarc's DMARCbis tree walk, identifier alignment.
4. Removes every Authentication-Results whose authserv-id is ours, in any
   case (RFC 8601 5: those are forged or stale), keeping all other fields
   in their order, and prepends ours.  The signer (ptt.signer.signing)
   finds it by authserv-id and seals it as the ARC-Authentication-Results.

Organisational domain (relaxed alignment) without the Public Suffix List:
the DMARCbis tree walk (draft-ietf-dmarc-dmarcbis, "Determining the
Organizational Domain"), over the same names ptt.lists.dmarc asks: from the
From domain up to the TLD, the first record with psd=n names the
organisational domain; a record with psd=y makes the name one label below
it the organisational domain; otherwise it is the name with the fewest
labels holding a DMARC record; with none at all, the From domain itself.
Approximations: (a) an identifier domain (SPF or DKIM d=) is taken to be
relaxed-aligned when it is the From's organisational domain or below it;
a psd=n record placed between that organisational domain and the
identifier domain (which would give the identifier a different
organisational domain) is not looked for; (b) a DNS failure above the
policy record ends the upward walk, keeping what was found so far (the
policy itself came from ptt.lists.dmarc.discover, whose failures give
dmarc=temperror).
"""

from ptt import dkim as _dkim
from ptt import spf as _spf
from ptt.lists import dmarc as _dmarc
from ptt.mail import address as _address
from ptt.mail import headers as _headers

FIELD = b"Authentication-Results"
_KEY = b"authentication-results"

PASS = "pass"
FAIL = "fail"
NONE = "none"
TEMPERROR = "temperror"
PERMERROR = "permerror"


# ---------------------------------------------------------------- DMARC

class Dmarc:
    """The DMARC outcome (RFC 7489 / RFC 8601 dmarc method).

    result: pass, fail, none (no policy record), temperror, permerror.
    from_domain: the RFC5322.From domain (or None); p, sp: the record's
    tags (sp defaults to p); policy: the one that applies to this From
    domain (sp when the record was found above it); found_at: the domain
    holding the record; org_domain: the organisational domain used for
    relaxed alignment; aspf, adkim: "r" or "s"; spf_aligned: bool;
    dkim_aligned: the aligned passing d= (str) or None; reason: text.
    """

    __slots__ = ("result", "from_domain", "p", "sp", "policy", "found_at", "org_domain",
                 "aspf", "adkim", "spf_aligned", "dkim_aligned", "reason")

    def __init__(self, result, from_domain=None, reason=""):
        self.result = result
        self.from_domain = from_domain
        self.reason = reason
        self.p = self.sp = self.policy = self.found_at = self.org_domain = None
        self.aspf = self.adkim = "r"
        self.spf_aligned = False
        self.dkim_aligned = None

    def __repr__(self):
        return "Dmarc(%r, from=%r, p=%r, org=%r, %r)" % (
            self.result, self.from_domain, self.policy, self.org_domain, self.reason)


def _text(v):
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray)):
        try:
            v = bytes(v).decode()
        except Exception:
            return None
    return v


def _norm_domain(d):
    d = _text(d)
    if not d:
        return None
    d = d.strip().lower()
    if d.endswith("."):
        d = d[:-1]
    try:
        return _address.normalize_domain(d)
    except Exception:
        return d or None


def _records(answers):
    """Parsed DMARC records among TXT answers (ptt.lists.dmarc.parse_record)."""
    out = []
    for r in answers or ():
        if isinstance(r, (list, tuple)):
            r = b"".join(x if isinstance(x, bytes) else x.encode() for x in r)
        r = _text(r)
        if r is None:
            continue
        t = _dmarc.parse_record(r)
        if t is not None:
            out.append(t)
    return out


class _CachedTxt:
    """Wraps a txt(name) function: answers once per name, remembers failures."""

    def __init__(self, txt):
        self.txt = txt
        self.cache = {}
        self.failed = []

    def __call__(self, name):
        if name in self.cache:
            v = self.cache[name]
            if isinstance(v, Exception):
                raise v
            return v
        try:
            v = self.txt(name)
        except Exception as e:
            self.failed.append(name)
            self.cache[name] = e
            raise
        self.cache[name] = v
        return v


def organizational_domain(domain, txt, start=0):
    """The DMARCbis organisational domain of `domain` (see the module
    docstring), walking ptt.lists.dmarc.lookup_names(domain) from index
    `start`.  txt: as for ptt.lists.dmarc."""
    domain = domain.lower().rstrip(".")
    names = _dmarc.lookup_names(domain)
    labels = domain.split(".")
    best = None
    for name in names[start:]:
        here = name[len("_dmarc."):]
        try:
            found = _records(txt(name))
        except Exception:
            break
        if len(found) != 1:
            continue
        psd = found[0].get("psd", "").lower()
        if psd == "n":
            return here
        if psd == "y":
            if here == domain:
                return domain
            n = len(here.split("."))
            return ".".join(labels[len(labels) - n - 1:])
        best = here
    return best or domain


def aligned(ident, from_domain, mode, org_domain):
    """RFC 7489 3.1: is identifier domain `ident` aligned with the From
    domain, in mode "s" (exact) or "r" (same organisational domain)?"""
    if not ident or not from_domain:
        return False
    if ident == from_domain:
        return True
    if mode == "s":
        return False
    return ident == org_domain or ident.endswith("." + org_domain)


def evaluate(from_domain, spf_result, spf_domain, dkim_results, txt):
    """RFC 7489 6.6: -> Dmarc.

    from_domain: the RFC5322.From domain (None when there is not exactly
    one: permerror); spf_result and spf_domain: ptt.spf's result and the
    domain it checked (MAIL FROM, or HELO for the null sender); dkim_results:
    ptt.dkim.Result objects (or anything with .result and .domain);
    txt(name): the TXT records at name as ptt.lists.dmarc wants them ([]
    for none; raises on failure).
    """
    from_domain = _norm_domain(from_domain)
    if not from_domain:
        return Dmarc(PERMERROR, None, "the message has no single RFC5322.From domain")
    ctxt = _CachedTxt(txt)
    pol = _dmarc.discover(from_domain, ctxt)
    if pol.error:
        return Dmarc(TEMPERROR if ctxt.failed else PERMERROR, from_domain, pol.error)
    if pol.policy is None:
        return Dmarc(NONE, from_domain, "%s has no DMARC policy record" % from_domain)
    d = Dmarc(FAIL, from_domain)
    tags = _records(ctxt(pol.found_at))[0]
    d.found_at = pol.found_at[len("_dmarc."):]
    d.policy = pol.policy
    d.p = tags.get("p", "").lower()
    d.sp = tags.get("sp", "").lower() or d.p
    d.aspf = "s" if tags.get("aspf", "r").lower() == "s" else "r"
    d.adkim = "s" if tags.get("adkim", "r").lower() == "s" else "r"
    names = _dmarc.lookup_names(from_domain)
    d.org_domain = organizational_domain(from_domain, ctxt, names.index(pol.found_at))
    spf_domain = _norm_domain(spf_domain)
    if spf_result == _spf.PASS and aligned(spf_domain, from_domain, d.aspf, d.org_domain):
        d.spf_aligned = True
    for r in dkim_results or ():
        if r.result != _dkim.PASS:
            continue
        dom = _norm_domain(r.domain)
        if aligned(dom, from_domain, d.adkim, d.org_domain):
            d.dkim_aligned = dom
            break
    if d.spf_aligned or d.dkim_aligned:
        d.result = PASS
        d.reason = "aligned %s" % ("DKIM d=%s" % d.dkim_aligned if d.dkim_aligned
                                   else "SPF %s" % spf_domain)
    else:
        d.reason = "no aligned SPF or DKIM pass (aspf=%s adkim=%s, organisational domain %s)" % (
            d.aspf, d.adkim, d.org_domain)
    return d


# ---------------------------------------------------------------- From domain

def _strip_comments(s):
    out = []
    depth = 0
    quoted = False
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and (quoted or depth):
            if not depth:
                out.append(s[i:i + 2])
            i += 2
            continue
        if quoted:
            if c == '"':
                quoted = False
            out.append(c)
        elif c == "(":
            depth += 1
        elif c == ")" and depth:
            depth -= 1
        elif depth:
            pass
        else:
            if c == '"':
                quoted = True
            out.append(c)
        i += 1
    return "".join(out)


def _split_list(s):
    """Split a mailbox-list at commas outside quotes and angle brackets."""
    parts = []
    cur = []
    quoted = False
    angle = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\" and quoted:
            cur.append(s[i:i + 2])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "<":
            angle += 1
        elif not quoted and c == ">" and angle:
            angle -= 1
        elif not quoted and not angle and c in ",;":
            parts.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def from_domain(headers):
    """RFC 7489 6.6.1: -> (domain, None) or (None, reason).  Exactly one
    From field; several mailboxes are accepted only if they share a domain."""
    values = _headers.get_all(headers, b"From")
    if not values:
        return None, "the message has no From field"
    if len(values) > 1:
        return None, "the message has %d From fields" % len(values)
    v = values[0].replace(b"\r\n", b"")
    try:
        v = v.decode()
    except Exception:
        return None, "the From field is not UTF-8"
    v = _strip_comments(v)
    domains = []
    for part in _split_list(v):
        lt = part.rfind("<")
        if lt >= 0:
            gt = part.find(">", lt)
            spec = part[lt + 1:gt if gt > 0 else len(part)]
        else:
            spec = part
            colon = spec.find(":")
            if colon >= 0 and '"' not in spec[:colon] and "@" not in spec[:colon]:
                spec = spec[colon + 1:]  # a group's display name
        spec = spec.strip()
        if not spec:
            continue
        local, at, dom = spec.rpartition("@")
        if not at:
            return None, "the From address %r has no domain" % spec
        dom = _norm_domain(dom)
        if not dom:
            return None, "the From address %r has no domain" % spec
        if dom not in domains:
            domains.append(dom)
    if not domains:
        return None, "the From field has no address"
    if len(domains) > 1:
        return None, "the From field names several domains (%s)" % ", ".join(domains)
    return domains[0], None


# ---------------------------------------------------------------- the field

def authserv_id(value):
    """RFC 8601 2.2: the authserv-id of an Authentication-Results value
    (bytes or str), lower case str; None if there is none.  Leading CFWS
    (comments included) is skipped; a quoted-string form is unquoted."""
    v = _text(value)
    if v is None:
        return None
    v = v.replace("\r\n", "")
    i = 0
    n = len(v)
    while i < n:
        c = v[i]
        if c in " \t":
            i += 1
        elif c == "(":
            depth = 0
            while i < n:
                if v[i] == "\\":
                    i += 2
                    continue
                if v[i] == "(":
                    depth += 1
                elif v[i] == ")":
                    depth -= 1
                    if depth == 0:
                        i += 1
                        break
                i += 1
        else:
            break
    if i >= n:
        return None
    if v[i] == '"':
        out = []
        i += 1
        while i < n and v[i] != '"':
            if v[i] == "\\" and i + 1 < n:
                i += 1
            out.append(v[i])
            i += 1
        ident = "".join(out)
    else:
        j = i
        while j < n and v[j] not in " \t;(":
            j += 1
        ident = v[i:j]
    return ident.lower() or None


def _same_id(a, b):
    if a is None or b is None:
        return False
    return a.rstrip(".").lower() == b.rstrip(".").lower()


def remove_ours(headers, authserv):
    """RFC 8601 5: the header list without the Authentication-Results fields
    whose authserv-id equals `authserv` (case-insensitively); all other
    fields, other Authentication-Results included, stay in their order."""
    mine = _text(authserv)
    out = []
    for f in headers:
        if _headers.key(f[0]) == _KEY and _same_id(authserv_id(f[1]), mine):
            continue
        out.append(f)
    return out


_TSPECIALS = ' \t()<>@,;:\\"[]?='


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _value(s):
    """An RFC 8601 pvalue for a plain value: a token, else a quoted-string."""
    s = _text(s) or ""
    if not s:
        return '""'
    for c in s:
        if c in _TSPECIALS or ord(c) < 33 or ord(c) == 127:
            return _quote(s)
    return s


def _mailbox_value(addr):
    """pvalue for smtp.mailfrom: [local-part "@"] domain (RFC 8601 2.3)."""
    addr = _text(addr) or ""
    local, at, dom = addr.rpartition("@")
    if not at:
        return _value(addr)
    for c in dom:
        if c in _TSPECIALS or ord(c) < 33:
            return _quote(addr)
    if local and not _address.is_dot_string(local):
        if local[:1] == '"' and local[-1:] == '"' and len(local) > 1:
            return local + "@" + dom
        return _quote(local) + "@" + dom
    return addr


def _b_prefix(b):
    """RFC 6008: header.b carries the signature's first 8 characters.  Written
    unquoted as OpenDKIM does (authres and dkimpy read it so; a quoted form
    is dropped by the authres parser) although '/' is a tspecial."""
    b = _text(b) or ""
    b = "".join(c for c in b if c not in " \t\r\n")
    return b[:8]


class Summary:
    """What authenticate() found: spf (result), spf_reason, spf_scope
    ("mailfrom" or "helo"), spf_identity (the MAIL FROM address or the HELO
    name), spf_domain; dkim: list of ptt.dkim.Result; dmarc: Dmarc;
    removed: how many Authentication-Results with our authserv-id were
    dropped; field: the Authentication-Results we prepended (bytes, with
    its final CRLF)."""

    def __init__(self):
        self.spf = NONE
        self.spf_reason = ""
        self.spf_scope = "mailfrom"
        self.spf_identity = ""
        self.spf_domain = ""
        self.dkim = []
        self.dmarc = None
        self.removed = 0
        self.field = b""

    def __repr__(self):
        return "Summary(spf=%r, dkim=%r, dmarc=%r, removed=%d)" % (
            self.spf, [r.result for r in self.dkim], self.dmarc, self.removed)


def resinfos(summary):
    """The result words of each method, as lists of str."""
    out = []
    s = ["spf=" + summary.spf]
    if summary.spf_scope == "helo":
        if summary.spf_identity:
            s.append("smtp.helo=" + _value(summary.spf_identity))
    elif summary.spf_identity:
        s.append("smtp.mailfrom=" + _mailbox_value(summary.spf_identity))
    out.append(s)
    if not summary.dkim:
        out.append(["dkim=none"])
    for r in summary.dkim:
        words = ["dkim=" + r.result]
        if r.domain:
            words.append("header.d=" + _value(r.domain))
        if r.selector:
            words.append("header.s=" + _value(r.selector))
        b = _b_prefix(getattr(r, "b", None))
        if b:
            words.append("header.b=" + b)
        if r.algorithm:
            words.append("header.a=" + _value(r.algorithm))
        out.append(words)
    d = summary.dmarc
    if d is not None:
        words = ["dmarc=" + d.result]
        if d.p:
            words.append("(p=%s" % d.p)
            words.append("sp=%s)" % (d.sp or d.p))
        if d.from_domain:
            words.append("header.from=" + _value(d.from_domain))
        out.append(words)
    return out


def build(authserv, infos, width=78):
    """RFC 8601 2.2: the folded field "Authentication-Results: <authserv>;
    <resinfo>; ..." ending in CRLF.  infos: lists of words (see resinfos);
    none gives "<authserv>; none"."""
    authserv = _text(authserv)
    words = []
    if not infos:
        words = [authserv + ";", "none"]
    else:
        words.append(authserv + ";")
        for k, info in enumerate(infos):
            for j, w in enumerate(info):
                if j == len(info) - 1 and k < len(infos) - 1:
                    w += ";"
                words.append(w)
    pieces = [(b" ", w.encode(), False) for w in words]
    return _headers.fold(FIELD, pieces, width) + b"\r\n"


def _dkim_dnsfunc(lookup):
    def dnsfunc(name):
        try:
            recs = lookup(name, "TXT")
        except _spf.NXDomain:
            return None
        if not recs:
            return None
        for r in recs:
            t = r
            if isinstance(t, (list, tuple)):
                t = b"".join(x if isinstance(x, bytes) else x.encode() for x in t)
            if isinstance(t, str):
                t = t.encode()
            if b"p=" in bytes(t):
                return bytes(t)
        return recs[0]
    return dnsfunc


def _dmarc_txt(lookup):
    def txt(name):
        try:
            return lookup(name, "TXT") or []
        except _spf.NXDomain:
            return []
    return txt


def _b_values(headers):
    """b= of each DKIM-Signature, top to bottom (ptt.dkim.verify's order)."""
    out = []
    for n, v in headers:
        if _headers.key(n) != b"dkim-signature":
            continue
        b = None
        for spec in v.split(b";"):
            name, eq, val = spec.partition(b"=")
            if eq and name.strip(b" \t\r\n") == b"b":
                b = val
        out.append(b)
    return out


def authenticate(message, ip, helo, mail_from, authserv, lookup, now, receiver=None):
    """-> (new message bytes, Summary): the message without forged
    Authentication-Results (our authserv-id) and with ours on top.

    message: bytes as received (CRLF or LF line ends); ip: the SMTP
    client's address text; helo: the EHLO/HELO name; mail_from: the
    envelope sender without angle brackets ("" for the null sender);
    authserv: our authserv-id (str, e.g. "lists.example.org"); lookup: the
    ptt.spf interface; now: Unix seconds (DKIM x= and t=).  Raises
    ptt.mail.headers.HeaderError (a ValueError) when the header section
    cannot be parsed; never raises for DNS trouble (temperror results).
    """
    headers, body = _headers.parse(message)
    s = Summary()
    s.spf, s.spf_reason, s.spf_scope, s.spf_domain = _spf.check_mailfrom(
        ip, mail_from, helo, lookup, now, receiver or _text(authserv))
    s.spf_identity = (_text(mail_from) or "") if s.spf_scope == "mailfrom" else (_text(helo) or "")
    s.dkim = _dkim.verify((headers, body), _dkim_dnsfunc(lookup), now)
    bs = _b_values(headers)
    for k, r in enumerate(s.dkim):
        r.b = bs[k] if k < len(bs) else None
    fd, why = from_domain(headers)
    if fd is None:
        s.dmarc = Dmarc(PERMERROR, None, why)
    else:
        s.dmarc = evaluate(fd, s.spf, s.spf_domain, s.dkim, _dmarc_txt(lookup))
    kept = remove_ours(headers, authserv)
    s.removed = len(headers) - len(kept)
    s.field = build(authserv, resinfos(s))
    return s.field + _headers.serialize(kept, body), s
