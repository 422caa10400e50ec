"""ARC sealing and chain validation (RFC 8617).

    fields = seal(message, b"example.org", b"sel", key, now,
                  b"lists.example.org; dkim=pass header.d=example.com", dnsfunc)
    sealed = fields + message     # ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results
    cv, reason = verify(sealed, dnsfunc)

The new set gets instance i = N + 1 and cv= from validating the N sets
already present (RFC 8617 5.2): none for i=1, pass, or fail.  The seal uses
relaxed header canonicalisation, as RFC 8617 4.1.3 requires.  DNS is the
injected `dnsfunc` of ptt.dkim.
"""
from ptt import dkim as _dkim
from ptt.mail import canon as _canon
from ptt.mail import headers as _headers

AAR = b"ARC-Authentication-Results"
AMS = b"ARC-Message-Signature"
AS = b"ARC-Seal"
MAX_INSTANCE = 50  # RFC 8617 4.2.1

CV_NONE = "none"
CV_PASS = "pass"
CV_FAIL = "fail"

_KEYS = {b"arc-authentication-results": 0, b"arc-message-signature": 1, b"arc-seal": 2}


class ArcError(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


def instance_of(value):
    """The i= of an ARC field value; the AAR has it first, before the authserv-id."""
    name, eq, val = value.split(b";", 1)[0].partition(b"=")
    if eq and _dkim.strip_fws(name) == b"i":
        try:
            return int(_dkim.strip_fws(val))
        except ValueError:
            pass
    # The AMS and AS may carry i= anywhere in their tag list.
    try:
        tags = _dkim.parse_tags(value)
        return int(tags[b"i"])
    except (ValueError, KeyError):
        raise ArcError("ARC field without a valid i= tag: %r" % value[:40])


def collect(headers):
    """-> list indexed by instance-1 of [aar, ams, as] fields ((name, value) or None).

    Raises ArcError on a structural problem (RFC 8617 5.2 step 2 and 4.2.1):
    an i= out of range, a duplicate, or a gap.
    """
    sets = {}
    top = 0
    for field in headers:
        slot = _KEYS.get(_headers.key(field[0]))
        if slot is None:
            continue
        i = instance_of(field[1])
        if i < 1 or i > MAX_INSTANCE:
            raise ArcError("ARC instance i=%d is outside 1..%d" % (i, MAX_INSTANCE))
        entry = sets.setdefault(i, [None, None, None])
        if entry[slot] is not None:
            raise ArcError("two %s fields with i=%d" % (field[0].decode(), i))
        entry[slot] = field
        if i > top:
            top = i
    out = []
    for i in range(1, top + 1):
        entry = sets.get(i)
        if entry is None or None in entry:
            raise ArcError("ARC set i=%d is incomplete" % i)
        out.append(entry)
    return out


def _seal_parts(sets, upto, strip_last):
    """RFC 8617 5.1.1: relaxed AAR, AMS, AS of sets 1..upto in order; the
    last AS with its b= emptied and without its final CRLF."""
    parts = []
    for i in range(upto):
        aar, ams, seal_field = sets[i]
        parts.append(_canon.relaxed_header(aar[0], aar[1]))
        parts.append(_canon.relaxed_header(ams[0], ams[1]))
        if i == upto - 1 and strip_last:
            parts.append(_canon.relaxed_header(seal_field[0],
                                               _dkim.strip_b_value(seal_field[1]))[:-2])
        else:
            parts.append(_canon.relaxed_header(seal_field[0], seal_field[1]))
    return parts


def _check_seal(sets, i, dnsfunc):
    """Verify the ARC-Seal of instance i (1-based); raises DKIMError/ArcError."""
    field = sets[i - 1][2]
    tags = _dkim.parse_tags(field[1])
    for t in (b"i", b"a", b"b", b"cv", b"d", b"s"):
        if t not in tags:
            raise ArcError("ARC-Seal i=%d lacks %s=" % (i, t.decode()))
    if b"h" in tags:
        raise ArcError("ARC-Seal i=%d has an h= tag (RFC 8617 4.1.3 forbids it)" % i)
    alg = tags[b"a"]
    if alg not in _dkim.ALGORITHMS:
        raise ArcError("ARC-Seal i=%d uses unsupported a=%s" % (i, alg.decode()))
    pub, _ = _dkim.fetch_key(dnsfunc, tags[b"s"], tags[b"d"], alg)
    sig = _dkim.b64.decode(tags[b"b"])
    if not _dkim.verify_data(pub, sig, _seal_parts(sets, i, True)):
        raise ArcError("ARC-Seal i=%d does not verify" % i)
    return tags


def validate(headers, body, dnsfunc, now=None):
    """RFC 8617 5.2: -> (cv, reason, n) for the chain already on the message.

    cv is "none" without ARC fields, "pass" or "fail"; n is the number of
    sets.  Never raises.  A DNS failure counts as fail here (the caller can
    retry later if it wants a temporary error instead).
    """
    try:
        sets = collect(headers)
    except ArcError as e:
        return CV_FAIL, str(e), _highest(headers)
    n = len(sets)
    if n == 0:
        return CV_NONE, "", 0
    try:
        # Step 3: cv= of every seal: none at i=1, pass after (any fail is final).
        for i in range(1, n + 1):
            cv = _dkim.parse_tags(sets[i - 1][2][1]).get(b"cv")
            want = b"none" if i == 1 else b"pass"
            if cv != want:
                return CV_FAIL, "ARC-Seal i=%d has cv=%s" % (i, (cv or b"?").decode()), n
        # Step 4: the newest AMS must verify.
        ams = sets[n - 1][1]
        ams_tags = _dkim.parse_tags(ams[1])
        if b"v" in ams_tags:
            raise ArcError("ARC-Message-Signature i=%d has a v= tag" % n)
        _dkim.check_signature(headers, body, ams, dnsfunc, now,
                              required=(b"i", b"a", b"b", b"bh", b"d", b"h", b"s"),
                              tags=ams_tags)
        # Step 6: every seal, newest first.
        for i in range(n, 0, -1):
            _check_seal(sets, i, dnsfunc)
    except ValueError as e:
        return CV_FAIL, str(e), n
    return CV_PASS, "", n


def _highest(headers):
    top = 0
    for n, v in headers:
        if _headers.key(n) in _KEYS:
            try:
                i = instance_of(v)
            except ArcError:
                continue
            if 0 < i <= MAX_INSTANCE and i > top:
                top = i
    return top


def verify(message, dnsfunc, now=None):
    """-> (cv, reason): the chain validation status of a message (RFC 8617 5.2)."""
    headers, body = _dkim.as_message(message)
    cv, reason, _ = validate(headers, body, dnsfunc, now)
    return cv, reason


def _fold_words(name, value, width=78):
    """Fold a generated unstructured-ish value at its spaces (RFC 5322 2.2.3)."""
    if b"\r\n" in value:
        return name + b":" + value
    words = value.split(b" ")
    pieces = [(b" ", w, False) for w in words if w]
    return _headers.fold(name, pieces, width)


def seal(message, domain, selector, key, now, auth_results, dnsfunc,
         canonicalize=b"relaxed/relaxed", include=_dkim.DEFAULT_HEADERS,
         oversign=_dkim.DEFAULT_OVERSIGN, allow_ed25519=False):
    """RFC 8617 5.1: a new ARC set for message, as bytes to prepend to it.

    auth_results: this hop's Authentication-Results payload without "i=",
    e.g. b"lists.example.org; dkim=pass header.d=example.com"; or None to
    use the ARC-Authentication-Results with i=N+1 already on the message
    (as the reference lists server adds it).  Returns the ARC-Seal,
    ARC-Message-Signature and (when made here) ARC-Authentication-Results
    fields, each ending in CRLF.  Raises ArcError when the message must not
    be sealed: 50 sets already, or a chain whose newest seal says cv=fail
    (RFC 8617 5.1.2 - forward it unsealed).  RFC 8617 4.1.3 defines only
    rsa-sha256 and verifiers (dkimpy) reject anything else, so an Ed25519
    key is refused unless allow_ed25519 is set.
    """
    if key.algorithm != "rsa" and not allow_ed25519:
        raise ArcError("ARC sealing needs an RSA key: RFC 8617 defines only rsa-sha256")
    headers, body = _dkim.as_message(message)
    aar_given = None
    if auth_results is None:
        aar_given = [f for f in headers if _headers.key(f[0]) == b"arc-authentication-results"]
        headers = [f for f in headers if f not in aar_given]
    cv, reason, n = validate(headers, body, dnsfunc, now)
    if n >= MAX_INSTANCE:
        raise ArcError("message already has %d ARC sets, the most allowed" % n)
    if cv == CV_FAIL and n:
        try:
            newest = _dkim.parse_tags(collect(headers)[n - 1][2][1]).get(b"cv")
        except ValueError:
            newest = None
        if newest == b"fail":
            raise ArcError("the ARC chain already failed (newest ARC-Seal has cv=fail); "
                           "forward the message without a new set")
    i = n + 1
    istr = str(i).encode()
    if auth_results is None:
        mine = [f for f in aar_given if _safe_instance(f[1]) == i]
        if len(mine) != 1:
            raise ArcError("no ARC-Authentication-Results with i=%d on the message "
                           "and no auth_results given" % i)
        aar_field = mine[0][0] + b":" + mine[0][1]
        headers = headers + [f for f in aar_given if f is not mine[0]]
    else:
        if isinstance(auth_results, str):
            auth_results = auth_results.encode()
        aar_field = _fold_words(AAR, b"i=" + istr + b"; " + auth_results.strip())
    aar = (AAR, aar_field[len(AAR) + 1:]) if auth_results is not None else mine[0]

    alg = _dkim.algorithm_for(key)
    ch, cb = _canon.parse_c(canonicalize)
    h_names = _dkim.headers_to_sign(headers, include, oversign)
    now = int(now)
    ams_tags = [(b"i", istr), (b"a", alg), (b"c", ch.name + b"/" + cb.name), (b"d", domain),
                (b"s", selector), (b"t", str(now).encode())]
    signed = [ch.header(nm, v) for nm, v in _headers.select(headers, h_names)]
    ams_field = _dkim.make_field(AMS, ams_tags, h_names, _dkim.body_hash(body, cb), key,
                                 signed, ch)
    ams = (AMS, ams_field[len(AMS) + 1:-2])

    # RFC 8617 5.1.2: after a failed chain the seal covers only the new set.
    prior = _seal_parts(collect(headers), n, False) if cv != CV_FAIL else []
    as_tags = [(b"i", istr), (b"a", alg), (b"cv", cv.encode()), (b"d", domain),
               (b"s", selector), (b"t", str(now).encode())]
    prior.append(_canon.relaxed_header(aar[0], aar[1]))
    prior.append(_canon.relaxed_header(ams[0], ams[1]))
    as_field = _dkim.make_field(AS, as_tags, None, None, key, prior, _canon.relaxed)
    out = as_field + ams_field
    if auth_results is not None:
        out += aar_field + b"\r\n"
    return out


def _safe_instance(value):
    try:
        return instance_of(value)
    except ArcError:
        return 0
