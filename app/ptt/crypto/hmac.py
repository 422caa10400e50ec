"""HMAC (RFC 2104) over hashlib, for MicroPython (which has no hmac module).

Works with whatever hashes the runtime's hashlib has: CPython has them all;
MicroPython 1.25 has only md5, sha1 and sha256, plus sha512 from our pure
Python ptt.crypto.sha512 (sha224 and sha384 are unavailable there). `available(name)` says
whether a hash can be used here; `new()` raises UnsupportedDigest naming the
hash and the runtime otherwise.

MicroPython's hash objects have no copy(), so each HMAC builds its inner hash
once and the outer hash at digest() time; digest() may be called only once
(as with MicroPython's hashlib).

    mac = hmac.new(key, msg, "sha256").digest()
    hmac.digest(key, msg, "sha256")
    hmac.compare_digest(a, b)
"""

import hashlib

# Block sizes in bytes (FIPS 180-4, RFC 1321).
_BLOCK = {"md5": 64, "sha1": 64, "sha224": 64, "sha256": 64,
          "sha384": 128, "sha512": 128}


class UnsupportedDigest(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


def _runtime():
    try:
        import sys
        return sys.implementation.name
    except Exception:
        return "this runtime"


def _find(name):
    h = getattr(hashlib, name, None)
    if h is None and name == "sha512":
        # MicroPython: our pure-Python SHA-512 (slow, but fine for HMAC of
        # small messages such as DNS UPDATEs).
        try:
            from ptt.crypto.sha512 import sha512 as h
        except ImportError:
            h = None
    return h


def available(name):
    """True if HMAC with this hash works on this runtime."""
    return name in _BLOCK and _find(name) is not None


def _ctor(name):
    if name not in _BLOCK:
        raise UnsupportedDigest("HMAC hash %r is unknown: use one of md5, sha1, "
                                "sha224, sha256, sha384, sha512" % (name,))
    h = _find(name)
    if h is None:
        raise UnsupportedDigest(
            "%s is not available on %s (its hashlib lacks it): use sha256"
            % (name, _runtime()))
    return h


class HMAC:
    def __init__(self, key, msg=None, digestmod="sha256"):
        h = _ctor(digestmod)
        self.name = digestmod
        self.block_size = _BLOCK[digestmod]
        self._h = h
        key = bytes(key)
        if len(key) > self.block_size:
            key = h(key).digest()
        key = key + b"\0" * (self.block_size - len(key))
        self._okey = bytes([b ^ 0x5C for b in key])
        self._inner = h(bytes([b ^ 0x36 for b in key]))
        self._done = False
        if msg is not None:
            self._inner.update(msg)

    def update(self, msg):
        if self._done:
            raise ValueError("HMAC already finalised by digest()")
        self._inner.update(msg)

    def digest(self):
        if self._done:
            raise ValueError("HMAC digest() may be called only once")
        self._done = True
        outer = self._h(self._okey)
        outer.update(self._inner.digest())
        return outer.digest()


def new(key, msg=None, digestmod="sha256"):
    return HMAC(key, msg, digestmod)


def digest(key, msg, digestmod="sha256"):
    return HMAC(key, msg, digestmod).digest()


def compare_digest(a, b):
    """Compare two byte strings in time independent of where they differ."""
    if len(a) != len(b):
        return False
    r = 0
    for i in range(len(a)):
        r |= a[i] ^ b[i]
    return r == 0
