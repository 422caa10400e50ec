"""DKIM signing and verification (RFC 6376), rsa-sha256 and ed25519-sha256 (RFC 8463).

    fields = sign(message, b"example.org", b"sel", key, now)
    signed = fields + message            # fields end with CRLF
    both = sign_many(message, b"example.org", [(b"rsa1", rsa_key), (b"ed1", ed_key)], now)
    results = verify(message, dnsfunc, now)   # a list of Result

`message` is bytes or an already parsed (headers, body) pair.  `now` is Unix
seconds and goes into t= (nothing here reads the clock).  We never emit l=
(body length limits let anyone append content).  `dnsfunc(name)` gets the
str "<selector>._domainkey.<domain>" and returns the TXT record as bytes or
str (or a list of its strings), or None when there is none; an exception
from it counts as a temporary error.
"""
import hashlib

from ptt.crypto import b64
from ptt.crypto import keys as _keys
from ptt.mail import canon as _canon
from ptt.mail import headers as _headers

# The reference signer's default h= list (reference study section 4).
DEFAULT_HEADERS = (b"message-id", b"list-id", b"list-post", b"from", b"mime-version",
                   b"date", b"subject", b"to", b"sender")
# Signed once more than present, so nobody can add one later (RFC 6376 8.15).
DEFAULT_OVERSIGN = (b"from", b"subject", b"date", b"to", b"cc", b"list-id", b"list-post",
                    b"list-help", b"list-subscribe", b"list-unsubscribe", b"list-owner",
                    b"list-archive")

ALGORITHMS = (b"rsa-sha256", b"ed25519-sha256")
MIN_RSA_BITS = 1024  # RFC 8301 3.2: verifiers MUST NOT accept smaller keys
MAX_SIGNATURES = 10  # verify() looks at this many at most

PASS = "pass"
FAIL = "fail"
NEUTRAL = "neutral"
PERMERROR = "permerror"
TEMPERROR = "temperror"
NONE = "none"

_FWS = b" \t\r\n"


class DKIMError(ValueError):
    """A signing or verification problem; `result` is the RFC 8601 result it maps to."""

    def __init__(self, msg, result=PERMERROR):
        super().__init__(msg)
        self.result = result


class Result:
    """The outcome for one signature (RFC 6376 6.1; names as in RFC 8601 2.7.1)."""

    def __init__(self, result, reason="", domain=None, selector=None, algorithm=None,
                 identity=None):
        self.result = result
        self.reason = reason
        self.domain = domain
        self.selector = selector
        self.algorithm = algorithm
        self.identity = identity

    def __repr__(self):
        return "Result(%r, %r, d=%r, s=%r)" % (self.result, self.reason, self.domain, self.selector)


# -- tag=value lists (RFC 6376 3.2) -------------------------------------------
#   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
#   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
#   tag-name  =  ALPHA *ALNUMPUNC

def strip_fws(b):
    return b.strip(_FWS)


def parse_tags(value):
    """RFC 6376 3.2: bytes -> dict {tag: value} with surrounding FWS removed.

    Raises DKIMError on a spec without "=", a bad tag name or a duplicate tag.
    """
    tags = {}
    for spec in value.split(b";"):
        if not strip_fws(spec):
            continue  # the optional final ";" (and tolerated empty specs)
        name, eq, val = spec.partition(b"=")
        name = strip_fws(name)
        if not eq:
            raise DKIMError("tag list entry %r has no '='" % spec[:30])
        if not name or not (65 <= name[0] <= 90 or 97 <= name[0] <= 122):
            raise DKIMError("bad tag name %r" % name[:30])
        if name in tags:
            raise DKIMError("duplicate tag %r" % name)
        tags[name] = strip_fws(val)
    return tags


def remove_fws(b):
    return b64.strip_ws(b)


def strip_b_value(value):
    """RFC 6376 3.7: the field value with the b= tag's value (and the FWS
    around it) deleted, keeping everything else byte for byte."""
    parts = value.split(b";")
    for i in range(len(parts)):
        name, eq, _ = parts[i].partition(b"=")
        if eq and strip_fws(name) == b"b":
            parts[i] = name + b"="
    return b";".join(parts)


# -- keys and DNS records ------------------------------------------------------

def txt_record(key):
    """The DNS TXT record text for a key (RFC 6376 3.6.1, RFC 8463 4.2)."""
    k = b"rsa" if key.algorithm == "rsa" else b"ed25519"
    return b"v=DKIM1; k=" + k + b"; p=" + b64.encode(_keys.dkim_public_bytes(key))


def txt_strings(record, size=255):
    """Split a TXT record into DNS character-strings of at most `size` octets
    (RFC 1035 3.3.14); a DKIM verifier concatenates them (RFC 6376 3.6.2.2)."""
    return [record[i:i + size] for i in range(0, len(record), size)] or [b""]


def algorithm_for(key):
    return b"rsa-sha256" if key.algorithm == "rsa" else b"ed25519-sha256"


def _lookup(dnsfunc, name):
    try:
        rec = dnsfunc(name)
    except Exception as e:
        raise DKIMError("DNS lookup of %s failed: %s" % (name, e), TEMPERROR)
    if rec is None:
        return None
    if isinstance(rec, (list, tuple)):
        rec = b"".join(r.encode() if isinstance(r, str) else bytes(r) for r in rec)
    if isinstance(rec, str):
        rec = rec.encode()
    return bytes(rec)


def fetch_key(dnsfunc, selector, domain, algorithm):
    """RFC 6376 3.6.2 and 6.1.2: find, parse and check the public key.

    Returns (public_key, key_tags); raises DKIMError with result permerror
    or temperror.
    """
    name = "%s._domainkey.%s" % (selector.decode(), domain.decode())
    rec = _lookup(dnsfunc, name)
    if rec is None:
        raise DKIMError("no key record at %s" % name, PERMERROR)
    try:
        tags = parse_tags(rec)
    except DKIMError as e:
        raise DKIMError("key record at %s is malformed: %s" % (name, e))
    if tags.get(b"v", b"DKIM1") != b"DKIM1":
        raise DKIMError("key record at %s has v=%s, not DKIM1" % (name, tags[b"v"]))
    k = tags.get(b"k", b"rsa")
    want = b"rsa" if algorithm == b"rsa-sha256" else b"ed25519"
    if k != want:
        raise DKIMError("key at %s is k=%s but the signature uses %s" % (name, k, algorithm))
    if b"h" in tags and b"sha256" not in [strip_fws(x) for x in tags[b"h"].split(b":")]:
        raise DKIMError("key at %s does not allow sha256 (h=%s)" % (name, tags[b"h"]))
    if b"s" in tags:
        services = [strip_fws(x) for x in tags[b"s"].split(b":")]
        if b"*" not in services and b"email" not in services:
            raise DKIMError("key at %s is not for email (s=%s)" % (name, tags[b"s"]))
    p = remove_fws(tags.get(b"p", b""))
    if not p:
        raise DKIMError("key at %s has been revoked (empty p=)" % name)
    try:
        pub = _keys.load_public_key(b64.decode(p), k.decode())
    except ValueError as e:
        raise DKIMError("key at %s is unusable: %s" % (name, e))
    if pub.algorithm == "rsa" and pub.bits() < MIN_RSA_BITS:
        raise DKIMError("key at %s has only %d bits (RFC 8301 wants 1024 or more)"
                        % (name, pub.bits()))
    return pub, tags


# -- signing -------------------------------------------------------------------

def as_message(message):
    """bytes or (headers, body) -> (headers, body)."""
    if isinstance(message, (bytes, bytearray, memoryview)):
        return _headers.parse(bytes(message))
    headers, body = message
    return headers, body


def headers_to_sign(headers, include=DEFAULT_HEADERS, oversign=DEFAULT_OVERSIGN):
    """The h= list: every instance of each included name, and one extra
    (empty) instance of the oversigned names, so none can be added later.
    Oversigned names are signed even if `include` does not name them."""
    present = [_headers.key(n) for n, _ in headers]
    include = [_headers.lower(n) for n in include]
    oversign = [_headers.lower(n) for n in oversign]
    names = []
    for n in include + [o for o in oversign if o not in include]:
        count = present.count(n) + (1 if n in oversign else 0)
        names.extend([n] * count)
    return names


def body_hash(body, cb, cache=None):
    """base64 SHA-256 of the canonical body (RFC 6376 3.7), cached per c=."""
    if cache is not None and cb.name in cache:
        return cache[cb.name]
    bh = b64.encode(hashlib.sha256(cb.body(body)).digest())
    if cache is not None:
        cache[cb.name] = bh
    return bh


def sign_data(key, data_parts):
    """SHA-256 over the parts, then RSASSA-PKCS1-v1_5 or Ed25519 of the hash
    (RFC 8463 3: Ed25519 signs the SHA-256 digest)."""
    h = hashlib.sha256()
    for part in data_parts:
        h.update(part)
    digest = h.digest()
    if key.algorithm == "rsa":
        return key.sign_digest(digest)
    return key.sign(digest)


def verify_data(pub, sig, data_parts):
    h = hashlib.sha256()
    for part in data_parts:
        h.update(part)
    digest = h.digest()
    if pub.algorithm == "rsa":
        return pub.verify_digest(sig, digest)
    return pub.verify(sig, digest)


def make_field(field_name, tags, h_names, bh, key, signed_parts, ch, width=78):
    """Build, sign and fold a DKIM-style signature field (DKIM-Signature,
    ARC-Message-Signature, ARC-Seal).

    tags: ordered (name, value) pairs before h=; h_names: the h= list or None
    (ARC-Seal has none); bh: body hash or None; signed_parts: the canonical
    header bytes that precede this field in the signed data.  Returns the
    folded field with its final CRLF.
    """
    pieces = []
    for t, v in tags:
        pieces.append((b" ", t + b"=" + v + b";", False))
    if h_names is not None:
        for i in range(len(h_names)):
            text = (b"h=" if i == 0 else b":") + h_names[i]
            if i == len(h_names) - 1:
                text += b";"
            pieces.append((b" " if i == 0 else b"", text, False))
    if bh is not None:
        pieces.append((b" ", b"bh=", False))
        pieces.append((b"", bh + b";", True))
    pieces.append((b" ", b"b=", False))
    unsigned = _headers.fold(field_name, pieces + [(b"", b"", True)], width)
    value = unsigned[len(field_name) + 1:]
    last = ch.header(field_name, value)[:-2]  # RFC 6376 3.7: no final CRLF
    sig = sign_data(key, list(signed_parts) + [last])
    field = _headers.fold(field_name, pieces + [(b"", b64.encode(sig), True)], width)
    if not field.startswith(unsigned):
        raise DKIMError("internal error: folding changed the signed part of the field")
    return field + b"\r\n"


def sign(message, domain, selector, key, now, algorithm=None, canonicalize=b"relaxed/relaxed",
         include=DEFAULT_HEADERS, oversign=DEFAULT_OVERSIGN, expire=None,
         field_name=b"DKIM-Signature", _cache=None):
    """RFC 6376 5: one DKIM-Signature field (folded, ending in CRLF) for message.

    domain, selector: bytes (d=, s=).  key: RSAPrivateKey or
    Ed25519PrivateKey (see ptt.crypto.keys.load_private_key).  now: Unix
    seconds for t=.  expire: Unix seconds for x=, or None.  canonicalize:
    b"relaxed/relaxed" (default), any of simple|relaxed on each side.
    """
    headers, body = as_message(message)
    alg = algorithm_for(key)
    if algorithm is not None and algorithm != alg:
        raise DKIMError("algorithm %r does not match the %s key" % (algorithm, key.algorithm))
    ch, cb = _canon.parse_c(canonicalize)
    if not _headers.get_all(headers, b"from"):
        raise DKIMError("message has no From field; RFC 6376 5.4 requires signing it")
    now = int(now)
    if expire is not None and int(expire) <= now:
        raise DKIMError("x= (%d) must be after t= (%d)" % (int(expire), now))
    h_names = headers_to_sign(headers, include, oversign)
    tags = [(b"v", b"1"), (b"a", alg), (b"c", ch.name + b"/" + cb.name), (b"d", domain),
            (b"s", selector), (b"t", str(now).encode())]
    if expire is not None:
        tags.append((b"x", str(int(expire)).encode()))
    bh = body_hash(body, cb, _cache)
    signed = [ch.header(n, v) for n, v in _headers.select(headers, h_names)]
    return make_field(field_name, tags, h_names, bh, key, signed, ch)


def sign_many(message, domain, signers, now, **kw):
    """Several DKIM-Signature fields at once (e.g. RSA and Ed25519, RFC 8463 6):
    signers is a list of (selector, key).  Returns the fields concatenated,
    in the given order, ready to prepend."""
    headers, body = as_message(message)
    cache = {}
    out = []
    for selector, key in signers:
        out.append(sign((headers, body), domain, selector, key, now, _cache=cache, **kw))
    return b"".join(out)


# -- verification --------------------------------------------------------------

def check_signature(headers, body, field, dnsfunc, now=None, required=(b"v", b"a", b"b", b"bh",
                    b"d", b"h", b"s"), tags=None):
    """RFC 6376 6.1: verify one signature field (name, value) of the message.

    Returns (tags, public_key) on success; raises DKIMError (result fail,
    permerror or temperror) otherwise.  Shared with ARC's AMS.
    """
    name, value = field
    if tags is None:
        tags = parse_tags(value)
    for t in required:
        if t not in tags:
            raise DKIMError("signature lacks the required %s= tag" % t.decode())
    if b"v" in required and tags[b"v"] != b"1":
        raise DKIMError("unsupported DKIM version v=%s" % tags[b"v"].decode())
    alg = tags[b"a"]
    if alg == b"rsa-sha1":
        raise DKIMError("rsa-sha1 signatures are not accepted (RFC 8301 3.1)")
    if alg not in ALGORITHMS:
        raise DKIMError("unknown algorithm a=%s" % alg.decode())
    try:
        ch, cb = _canon.parse_c(tags.get(b"c", b"simple/simple"))
    except ValueError as e:
        raise DKIMError(str(e))
    domain = tags[b"d"]
    h_names = [strip_fws(x) for x in remove_fws(tags[b"h"]).split(b":")]
    if b"from" not in [_headers.lower(x) for x in h_names]:
        raise DKIMError("h= does not include From (RFC 6376 5.4)")
    dkim_i = b"v" in required and b"i" in tags  # in an AMS, i= is the ARC instance
    if dkim_i:
        ident = tags[b"i"]
        idom = _headers.lower(ident.rpartition(b"@")[2])
        ldom = _headers.lower(domain)
        if not (idom == ldom or idom.endswith(b"." + ldom)):
            raise DKIMError("i= is not in the d= domain (RFC 6376 3.5)")
    if now is not None and b"x" in tags:
        try:
            x = int(tags[b"x"])
        except ValueError:
            raise DKIMError("x= is not a number")
        if x < int(now):
            raise DKIMError("signature expired at %d" % x, FAIL)
    pub, keytags = fetch_key(dnsfunc, tags[b"s"], domain, alg)
    if dkim_i and b"s" in [strip_fws(f) for f in keytags.get(b"t", b"").split(b":")]:
        if _headers.lower(tags[b"i"].rpartition(b"@")[2]) != _headers.lower(domain):
            raise DKIMError("key has t=s but i= is a subdomain of d=")
    if b"bh" in required:
        cbody = cb.body(body)
        if b"l" in tags:
            try:
                length = int(tags[b"l"])
            except ValueError:
                raise DKIMError("l= is not a number")
            if length > len(cbody):
                raise DKIMError("l= is longer than the body", FAIL)
            cbody = cbody[:length]
        try:
            want_bh = b64.decode(tags[b"bh"])
        except ValueError:
            raise DKIMError("bh= is not base64")
        if hashlib.sha256(cbody).digest() != want_bh:
            raise DKIMError("body hash mismatch: the body changed after signing", FAIL)
    signed = [ch.header(n, v) for n, v in _headers.select(headers, h_names)]
    signed.append(ch.header(name, strip_b_value(value))[:-2])
    try:
        sig = b64.decode(tags[b"b"])
    except ValueError:
        raise DKIMError("b= is not base64")
    if not verify_data(pub, sig, signed):
        raise DKIMError("signature does not verify: a signed header changed or the key differs",
                        FAIL)
    return tags, pub


def verify(message, dnsfunc, now=None, field_name=b"DKIM-Signature", limit=MAX_SIGNATURES):
    """Check every DKIM-Signature (up to `limit`), top to bottom.

    Returns a list of Result (empty if the message is unsigned: result
    "none" in Authentication-Results terms).  Never raises on bad input.
    """
    try:
        headers, body = as_message(message)
    except ValueError as e:
        return [Result(PERMERROR, "message cannot be parsed: %s" % e)]
    key = _headers.lower(field_name)
    out = []
    for field in headers:
        if _headers.key(field[0]) != key:
            continue
        if len(out) >= limit:
            break
        tags = {}
        try:
            tags = parse_tags(field[1])
            check_signature(headers, body, field, dnsfunc, now, tags=tags)
            res = Result(PASS, "", tags.get(b"d"), tags.get(b"s"), tags.get(b"a"), tags.get(b"i"))
        except DKIMError as e:
            res = Result(e.result, str(e), tags.get(b"d"), tags.get(b"s"), tags.get(b"a"),
                         tags.get(b"i"))
        except ValueError as e:
            res = Result(PERMERROR, str(e), tags.get(b"d"), tags.get(b"s"), tags.get(b"a"))
        out.append(res)
    return out
