"""Stub-resolver logic, sans-I/O: build a query, check its response, choose
mail hosts.

    q = Query("example.org", "MX", randbytes)
    wire = q.to_wire()                 # send it (client.py does the I/O)
    answer = q.check(response_wire)    # Answer, or a ResolveError

`randbytes(n) -> bytes` (os.urandom) is passed in. A lookup function for
mx_hosts() is `lookup(name, rtype) -> Answer`, e.g. client.Resolver.query.

Errors carry `temporary`: True when a retry later may succeed (4xx in mail),
False when the answer is final (5xx).
"""

from ptt.dns import wire as W

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

MAX_CNAME = const(8)        # CNAME hops followed inside one answer
EDNS_PAYLOAD = const(1232)  # DNS flag day 2020 recommendation


class ResolveError(W.DnsError):
    def __init__(self, msg, name=None):
        super().__init__(msg)
        self.name = name


class Mismatch(ResolveError):
    """A response that does not answer our question (spoofed or stray):
    over UDP it is ignored and we keep waiting."""


class Truncated(ResolveError):
    """TC bit: retry the same question over TCP."""


class NxDomain(ResolveError):
    temporary = False


class ServFail(ResolveError):
    """SERVFAIL, REFUSED, NOTIMP, FORMERR...: the server could not answer."""
    rcode = None


class Timeout(ResolveError):
    pass


class CnameError(ResolveError):
    """CNAME loop or chain too long in an answer."""


class NullMx(ResolveError):
    """RFC 7505: the domain says it accepts no mail."""
    temporary = False


class NoMailHost(ResolveError):
    """No MX and no A/AAAA: nowhere to deliver."""
    temporary = False


def randbelow(randbytes, n):
    """Uniform integer in [0, n) from randbytes (rejection sampling)."""
    if n <= 1:
        return 0
    lim = (1 << 32) - ((1 << 32) % n)
    while True:
        b = randbytes(4)
        v = (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]
        if v < lim:
            return v % n


def shuffle(items, randbytes):
    """Fisher-Yates shuffle in place."""
    for i in range(len(items) - 1, 0, -1):
        j = randbelow(randbytes, i + 1)
        items[i], items[j] = items[j], items[i]


class Answer:
    """The checked result of one query.

    name: the question; canonical: the name after CNAMEs; records: RRs of
    the asked type at canonical; data: their data; ttl: lowest TTL (None if
    no records); message: the whole decoded response."""

    def __init__(self, name, rtype, canonical, records, message):
        self.name = name
        self.rtype = rtype
        self.canonical = canonical
        self.records = records
        self.message = message
        self.data = [rr.data for rr in records]
        self.ttl = min([rr.ttl for rr in records]) if records else None

    def __repr__(self):
        return "Answer(%r, %s, %r)" % (self.name, W.type_name(self.rtype),
                                       self.data)


class Query:
    def __init__(self, name, rtype, randbytes, rd=True,
                 edns_payload=EDNS_PAYLOAD):
        """edns_payload None sends no OPT record (512-byte UDP answers)."""
        self.name = W.labels_name(W.name_labels(name))
        self.rtype = W.type_code(rtype)
        b = randbytes(2)
        self.id = (b[0] << 8) | b[1]
        self.rd = rd
        self.edns_payload = edns_payload

    def message(self):
        m = W.Message(self.id, W.QUERY, rd=self.rd)
        m.question.append(W.Question(self.name, self.rtype, W.IN))
        if self.edns_payload is not None:
            m.edns = W.Edns(self.edns_payload)
        return m

    def to_wire(self):
        return self.message().to_wire()

    def check(self, wire):
        return check_response(self, wire)


def _what(q):
    return "%s %s" % (q.name, W.type_name(q.rtype))


def check_response(query, wire):
    """Check a response against our query -> Answer, or raise.

    Mismatch: not an answer to this question (ID, QR, opcode, question).
    Truncated: TC set, ask again over TCP. NxDomain, ServFail: RCODEs.
    FormatError: the message is malformed.
    An empty Answer (no records) is NODATA."""
    qid, flags, qd, an, ns, ar = W.decode_header(wire)
    if qid != query.id:
        raise Mismatch("response ID %d is not our query's %d" % (qid, query.id))
    if not flags & 0x8000:
        raise Mismatch("got a query, not a response, with our ID")
    if (flags >> 11) & 0xF != W.QUERY:
        raise Mismatch("response opcode %d is not QUERY" % ((flags >> 11) & 0xF))
    if flags & 0x0200:
        raise Truncated("answer to %s truncated over UDP: ask over TCP"
                        % _what(query), query.name)
    m = W.decode(wire)
    if m.question or m.rcode == W.NOERROR or m.rcode == W.NXDOMAIN:
        if len(m.question) != 1:
            raise Mismatch("response has %d questions, we asked one"
                           % len(m.question))
        q = m.question[0]
        if (q.name.lower() != query.name.lower() or q.rtype != query.rtype
                or q.rclass != W.IN):
            raise Mismatch("response is for %s %s, we asked %s"
                           % (q.name, W.type_name(q.rtype), _what(query)))
    rc = m.rcode
    if rc != W.NOERROR and rc != W.NXDOMAIN:
        e = ServFail("DNS server answered %s for %s: it could not resolve "
                     "the name; try again later or check the resolver"
                     % (W.rcode_name(rc), _what(query)), query.name)
        e.rcode = rc
        raise e
    target = query.name.lower()
    seen = [target]
    records = []
    for hop in range(MAX_CNAME + 1):
        records = [rr for rr in m.answer
                   if rr.rtype == query.rtype and rr.rclass == W.IN
                   and rr.name.lower() == target]
        if records or query.rtype == W.CNAME:
            break
        cn = [rr for rr in m.answer
              if rr.rtype == W.CNAME and rr.rclass == W.IN
              and rr.name.lower() == target]
        if not cn:
            break
        if len(cn) > 1:
            raise W.FormatError("%s has %d CNAME records" % (target, len(cn)))
        target = cn[0].data.lower()
        if target in seen:
            raise CnameError("CNAME loop at %s while resolving %s"
                             % (target, _what(query)), query.name)
        seen.append(target)
    else:
        raise CnameError("more than %d CNAMEs while resolving %s"
                         % (MAX_CNAME, _what(query)), query.name)
    if rc == W.NXDOMAIN:
        if target != query.name.lower():
            raise NxDomain("%s does not exist (NXDOMAIN; %s is a CNAME for it)"
                           % (target, query.name), target)
        raise NxDomain("%s does not exist (NXDOMAIN)" % query.name, query.name)
    return Answer(query.name, query.rtype, target, records, m)


# ---------------------------------------------------------------- mail hosts

def mx_hosts(domain, lookup, randbytes):
    """RFC 5321 5.1 mail hosts of a domain -> [(preference, host), ...].

    Sorted by preference, equal preferences shuffled with randbytes.
    No MX: the domain itself if it has an A or AAAA record (implicit MX,
    preference 0), otherwise NoMailHost. A null MX (RFC 7505: only "." as
    exchange) raises NullMx. NxDomain and ServFail from lookup propagate."""
    domain = W.labels_name(W.name_labels(domain))
    ans = lookup(domain, W.MX)
    mxs = ans.data
    if not mxs:
        for t in (W.A, W.AAAA):
            if lookup(domain, t).data:
                return [(0, domain)]
        raise NoMailHost("%s has no MX and no A/AAAA record: no host accepts "
                         "mail for it" % domain, domain)
    real = [mx for mx in mxs if mx[1] != "."]
    if not real:
        raise NullMx("%s does not accept mail (null MX, RFC 7505)" % domain,
                     domain)
    prefs = sorted(set([mx[0] for mx in real]))
    out = []
    seen = []
    for p in prefs:
        group = [mx for mx in real if mx[0] == p]
        group.sort(key=lambda mx: mx[1].lower())   # deterministic start
        shuffle(group, randbytes)
        for mx in group:
            k = mx[1].lower()
            if k not in seen:
                seen.append(k)
                out.append(mx)
    return out


def host_addresses(host, lookup, families=(W.A, W.AAAA)):
    """Addresses of a host, in family order; [] if it has none.
    A name that does not exist raises NxDomain."""
    out = []
    for t in families:
        out.extend(lookup(host, t).data)
    return out
