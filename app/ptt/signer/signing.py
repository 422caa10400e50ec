"""Sign or seal one message with the signer's current keys (pure).

    out = sign_message(data, opts, signers, now, dnsfunc, trace=b"Received: ...")

Order (RFC 8617 5.1: the seal comes after every other change): the trace
field is added first, then the DKIM-Signatures (rsa-sha256 and
ed25519-sha256 together, RFC 8463 6), then the ARC set, on top.

ARC: the AAR payload is the Authentication-Results that the lists server
wrote (the one whose authserv-id is opts.authserv_id, else the topmost);
a message that already has an ARC-Authentication-Results with the next
instance (as the reference lists server adds it) is sealed with that.
"""
from ptt import arc as _arc
from ptt import dkim as _dkim
from ptt.mail import headers as _headers
from ptt.smtp.replies import Reply


class SignError(Exception):
    """The message cannot be signed; .reply is the answer for the client."""

    def __init__(self, reply):
        super().__init__(reply.text)
        self.reply = reply


class Options:
    def __init__(self, domain, mode_dkim=True, mode_arc=False, canonicalize=b"relaxed/relaxed",
                 include=_dkim.DEFAULT_HEADERS, oversign=_dkim.DEFAULT_OVERSIGN,
                 authserv_id=None):
        self.domain = domain
        self.mode_dkim = mode_dkim
        self.mode_arc = mode_arc
        self.canonicalize = canonicalize
        self.include = include
        self.oversign = oversign
        self.authserv_id = authserv_id


def options_from(cfg):
    return Options(cfg.domain, cfg.mode_dkim, cfg.mode_arc, cfg.canonicalization,
                   cfg.include, cfg.oversign_list, cfg.authserv_id)


def _unfold(value):
    v = value.replace(b"\r\n", b"").replace(b"\t", b" ")
    while b"  " in v:
        v = v.replace(b"  ", b" ")
    return v.strip()


def authserv_id(value):
    """RFC 8601 2.2: the authserv-id of an Authentication-Results value."""
    head = _unfold(value).split(b";", 1)[0].strip()
    return head.split(b" ", 1)[0].lower()


def find_auth_results(headers, wanted=None):
    """The payload (unfolded value) of the Authentication-Results to seal,
    or None."""
    for name, value in headers:
        if _headers.key(name) != b"authentication-results":
            continue
        if wanted is None or authserv_id(value) == wanted.lower().encode():
            return _unfold(value)
    return None


def sign_message(data, opts, signers, now, dnsfunc, trace=b"", expire=None, log=None):
    """data: the message; signers: [(algorithm, selector bytes, key)] in
    signing order; expire: x= (Unix seconds) or None. Returns the new bytes.
    Raises SignError with the client's reply."""
    msg = trace + data
    try:
        headers, body = _headers.parse(msg)
    except ValueError as e:
        raise SignError(Reply(554, "5.6.0", "the message header cannot be parsed (%s); "
                              "fix the sending software" % e))
    domain = opts.domain.encode()
    now = int(now)
    fields = b""
    if opts.mode_dkim:
        many = [(sel, key) for alg, sel, key in signers]
        try:
            fields = _dkim.sign_many((headers, body), domain, many, now,
                                     canonicalize=opts.canonicalize, include=opts.include,
                                     oversign=opts.oversign, expire=expire)
        except _dkim.DKIMError as e:
            raise SignError(Reply(554, "5.6.0", "cannot DKIM-sign this message: %s" % e))
    if not opts.mode_arc:
        return fields + msg
    rsa = [(sel, key) for alg, sel, key in signers if alg == "rsa"]
    if not rsa:
        raise SignError(Reply(451, "4.3.5", "ARC sealing needs the RSA key, which is not "
                              "loaded; check the signer's keys"))
    sel, key = rsa[0]
    if fields:
        headers, body = _headers.parse(fields + msg)
        msg = fields + msg
    payload = find_auth_results(headers, opts.authserv_id)
    if payload is None:
        has_aar = [1 for n, v in headers if _headers.key(n) == b"arc-authentication-results"]
        if not has_aar:
            who = ("with authserv-id %s " % opts.authserv_id) if opts.authserv_id else ""
            raise SignError(Reply(554, "5.7.0", "ARC sealing needs the Authentication-Results "
                                  "%sthat the list server adds (RFC 8601); the message has "
                                  "none, check the list server's configuration" % who))
    try:
        sealed = _arc.seal((headers, body), domain, sel, key, now, payload, dnsfunc,
                           canonicalize=opts.canonicalize, include=opts.include,
                           oversign=opts.oversign)
    except _arc.ArcError as e:
        if "already failed" in str(e):
            if log:
                log("ARC chain already failed; relaying without a new ARC set (RFC 8617 5.1.2)")
            return msg
        raise SignError(Reply(554, "5.7.0", "cannot ARC-seal this message: %s" % e))
    except _dkim.DKIMError as e:
        raise SignError(Reply(554, "5.6.0", "cannot ARC-seal this message: %s" % e))
    return sealed + msg
