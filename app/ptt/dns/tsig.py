"""TSIG: HMAC-signed DNS messages (RFC 8945), sans-I/O.

    key = parse_key("k._update.example.org:SHA256:BASE64SECRET")
    signed, mac = sign(wire, key, now)           # a request
    verify(response_wire, key, mac, now)         # its response

`now` is Unix seconds, passed in. Algorithms: hmac-sha256 (required),
hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512 where the runtime's hashlib
has the hash (MicroPython: sha1 and sha256 only); parse_key says clearly
when an algorithm is unavailable here.
"""

from ptt.crypto import b64
from ptt.crypto import hmac
from ptt.dns import wire as W

try:
    from micropython import const
except ImportError:
    def const(x):
        return x

FUDGE = const(300)   # seconds (RFC 8945 10: 300 recommended)

# key-string name -> (TSIG algorithm name, hashlib name)
ALGORITHMS = {
    "sha1": ("hmac-sha1", "sha1"),
    "sha224": ("hmac-sha224", "sha224"),
    "sha256": ("hmac-sha256", "sha256"),
    "sha384": ("hmac-sha384", "sha384"),
    "sha512": ("hmac-sha512", "sha512"),
}


class TsigError(W.DnsError):
    """A TSIG key, signature or server verdict problem."""
    temporary = False

    def __init__(self, msg, error=None):
        super().__init__(msg)
        self.error = error      # TSIG error code (BADSIG...) if any


class Key:
    def __init__(self, name, algorithm, secret):
        """name: key name; algorithm: "sha256" or "hmac-sha256"; secret: bytes."""
        a = algorithm.lower()
        if a.startswith("hmac-"):
            a = a[5:]
        if a not in ALGORITHMS:
            raise TsigError("TSIG algorithm %r is not supported: use SHA256 "
                            "(or SHA1, SHA224, SHA384, SHA512)" % (algorithm,))
        self.algorithm, self.hash = ALGORITHMS[a]
        if not hmac.available(self.hash):
            raise TsigError("TSIG key %s: %s is not available on this runtime "
                            "(its hashlib lacks %s): use a hmac-sha256 key"
                            % (name, self.algorithm, self.hash))
        W.name_labels(name)
        if name == "." or not name:
            raise TsigError("TSIG key name is empty")
        self.name = W.canonical(name)
        if not secret:
            raise TsigError("TSIG key %s has an empty secret" % name)
        self.secret = bytes(secret)

    def __repr__(self):   # never show the secret
        return "Key(%r, %r)" % (self.name, self.algorithm)


def parse_key(text):
    """"NAME:ALG:BASE64" (ALG: SHA256, SHA1, ... or hmac-sha256) -> Key."""
    parts = text.split(":", 2) if type(text) is str else []
    if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2]:
        raise TsigError("TSIG key must look like NAME:ALG:BASE64 "
                        "(e.g. k._update.example.org:SHA256:c2VjcmV0), "
                        "got something else")
    name, alg, data = parts
    try:
        secret = b64.decode(data)
    except ValueError as e:
        raise TsigError("TSIG key %s: its secret is not valid base64 (%s)"
                        % (name, e))
    return Key(name, alg, secret)


def zone_from_key_name(name):
    """The zone the reference derives from a key name: the labels after
    "_update" ("k._update.example.org" -> "example.org"); None if absent."""
    labels = W.name_labels(name)
    for i in range(len(labels)):
        if labels[i].lower() == b"_update" and i + 1 < len(labels):
            return W.labels_name(labels[i + 1:])
    return None


def _u16(v):
    return bytes([(v >> 8) & 0xFF, v & 0xFF])


def _u32(v):
    return bytes([(v >> 24) & 0xFF, (v >> 16) & 0xFF, (v >> 8) & 0xFF,
                  v & 0xFF])


def _variables(key, time_signed, fudge, error, other):
    """TSIG variables (RFC 8945 4.3.3), names in canonical lower case."""
    return (W.name_wire(key.name, lower=True) + _u16(W.CLASS_ANY) + _u32(0)
            + W.name_wire(key.algorithm, lower=True)
            + _u16(time_signed >> 32) + _u32(time_signed & 0xFFFFFFFF)
            + _u16(fudge) + _u16(error) + _u16(len(other)) + other)


def compute_mac(key, message, time_signed, fudge=FUDGE, request_mac=None,
                error=0, other=b""):
    """MAC over [request MAC] + message (without TSIG, original ID) +
    TSIG variables (RFC 8945 4.3)."""
    h = hmac.new(key.secret, None, key.hash)
    if request_mac is not None:
        h.update(_u16(len(request_mac)))
        h.update(request_mac)
    h.update(message)
    h.update(_variables(key, time_signed, fudge, error, other))
    return h.digest()


def sign(message, key, now, fudge=FUDGE, request_mac=None, error=0,
         other=b""):
    """Append a TSIG RR to an unsigned wire message -> (signed wire, MAC)."""
    message = bytes(message)
    if len(message) < 12:
        raise W.FormatError("cannot sign a message shorter than its header")
    now = int(now)
    mac = compute_mac(key, message, now, fudge, request_mac, error, other)
    orig_id = (message[0] << 8) | message[1]
    rr = W.RR(key.name, W.TSIG, W.CLASS_ANY, 0,
              W.Tsig(key.algorithm, now, fudge, mac, orig_id, error, other))
    out = bytearray(message)
    ar = ((out[10] << 8) | out[11]) + 1
    if ar > 0xFFFF:
        raise W.FormatError("too many additional records to sign")
    out[10] = ar >> 8
    out[11] = ar & 0xFF
    W._put_rr(out, rr, None)
    return bytes(out), mac


_ERROR_HELP = {
    W.BADSIG: "the server says our signature is wrong (BADSIG): the secret of "
              "key %s does not match the server's; check the key string",
    W.BADKEY: "the server does not know key %s or its algorithm (BADKEY): "
              "check the key name and algorithm against the server's config",
    W.BADTIME: "the server says our clock is off by more than the fudge "
               "(BADTIME) for key %s: fix the system time",
    W.BADTRUNC: "the server rejected a truncated MAC (BADTRUNC) for key %s",
}


def error_text(code, key_name):
    t = _ERROR_HELP.get(code)
    if t is None:
        return "TSIG error %s for key %s" % (W.rcode_name(code), key_name)
    return t % key_name


def verify(response, key, request_mac, now, msg=None):
    """Check the TSIG of a response to our signed request; returns the
    decoded Message. Raises TsigError naming the cause."""
    if msg is None:
        msg = W.decode(response)
    rr = msg.tsig
    if rr is None:
        raise TsigError("the response is not TSIG-signed although our request "
                        "was (key %s): it may be forged, or the server does "
                        "not know TSIG" % key.name)
    t = rr.data
    if W.canonical(rr.name) != key.name or t.algorithm != key.algorithm:
        if t.error:
            raise TsigError(error_text(t.error, key.name), t.error)
        raise TsigError("the response is signed with key %s/%s, not ours "
                        "(%s/%s)" % (rr.name, t.algorithm, key.name,
                                     key.algorithm), W.BADKEY)
    if t.error:
        # BADSIG and BADKEY answers carry no MAC (RFC 8945 5.3.2).
        raise TsigError(error_text(t.error, key.name), t.error)
    body = bytearray(response[:msg.tsig_offset])
    body[0] = t.original_id >> 8
    body[1] = t.original_id & 0xFF
    ar = ((body[10] << 8) | body[11]) - 1
    body[10] = ar >> 8
    body[11] = ar & 0xFF
    want = compute_mac(key, bytes(body), t.time_signed, t.fudge, request_mac,
                       t.error, t.other)
    if len(t.mac) != len(want):
        raise TsigError("the response MAC has %d bytes, expected %d "
                        "(truncated MACs are not accepted)"
                        % (len(t.mac), len(want)), W.BADTRUNC)
    if not hmac.compare_digest(t.mac, want):
        raise TsigError("the response's TSIG signature is wrong (key %s): it "
                        "may be forged, or the server's secret differs"
                        % key.name, W.BADSIG)
    now = int(now)
    if now - t.time_signed > t.fudge or t.time_signed - now > t.fudge:
        raise TsigError("the response was signed at %d, %d s away from our "
                        "clock (fudge %d): fix the system time"
                        % (t.time_signed, now - t.time_signed, t.fudge),
                        W.BADTIME)
    return msg
