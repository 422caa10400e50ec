"""SHA-512 (FIPS 180-4 section 6.4) in pure Python: MicroPython's hashlib lacks it.

Ed25519 (RFC 8032) needs it for key expansion and for the nonce and challenge
hashes; those inputs are short, so speed matters little.  The round constants
are derived at import from their definition (FIPS 180-4 sections 4.2.3 and
5.3.5: the first 64 bits of the fractional parts of the cube roots of the
first 80 primes, and of the square roots of the first 8 primes), which avoids
typing 88 hex numbers by hand.
"""

_M = 0xFFFFFFFFFFFFFFFF


def _primes(n):
    out = []
    c = 2
    while len(out) < n:
        if all(c % p for p in out):
            out.append(c)
        c += 1
    return out


def _iroot(n, k):
    """floor(n ** (1/k)) for k in (2, 3), by Newton's method from above."""
    x = 1
    while x ** k <= n:
        x <<= 1
    while True:
        y = ((k - 1) * x + n // (x ** (k - 1))) // k
        if y >= x:
            return x
        x = y


_P = _primes(80)
_K = [_iroot(p << 192, 3) & _M for p in _P]
_H0 = [_iroot(p << 128, 2) & _M for p in _P[:8]]
del _P


def _compress(h, block):
    w = [int.from_bytes(block[i:i + 8], "big") for i in range(0, 128, 8)]
    M = _M
    for t in range(16, 80):
        x = w[t - 15]
        s0 = ((x >> 1) | (x << 63)) ^ ((x >> 8) | (x << 56)) ^ (x >> 7)
        x = w[t - 2]
        s1 = ((x >> 19) | (x << 45)) ^ ((x >> 61) | (x << 3)) ^ (x >> 6)
        w.append((w[t - 16] + s0 + w[t - 7] + s1) & M)
    a, b, c, d, e, f, g, hh = h
    K = _K
    for t in range(80):
        S1 = ((e >> 14) | (e << 50)) ^ ((e >> 18) | (e << 46)) ^ ((e >> 41) | (e << 23))
        ch = (e & f) ^ (~e & g)
        t1 = (hh + (S1 & M) + ch + K[t] + w[t]) & M
        S0 = ((a >> 28) | (a << 36)) ^ ((a >> 34) | (a << 30)) ^ ((a >> 39) | (a << 25))
        maj = (a & b) ^ (a & c) ^ (b & c)
        t2 = ((S0 & M) + maj) & M
        hh = g
        g = f
        f = e
        e = (d + t1) & M
        d = c
        c = b
        b = a
        a = (t1 + t2) & M
    return [(x + y) & M for x, y in zip(h, (a, b, c, d, e, f, g, hh))]


class SHA512:
    """Incremental SHA-512: update(data) then digest() (digest does not finalise)."""

    digest_size = 64
    block_size = 128

    def __init__(self, data=b""):
        self._h = list(_H0)
        self._buf = b""
        self._len = 0
        if data:
            self.update(data)

    def update(self, data):
        self._len += len(data)
        buf = self._buf + bytes(data)
        n = len(buf) - len(buf) % 128
        h = self._h
        for i in range(0, n, 128):
            h = _compress(h, buf[i:i + 128])
        self._h = h
        self._buf = buf[n:]

    def digest(self):
        # FIPS 180-4 5.1.2: 0x80, zeros, then the bit length as 128 bits.
        buf = self._buf + b"\x80"
        buf += b"\x00" * ((112 - len(buf)) % 128)
        buf += (self._len * 8).to_bytes(16, "big")
        h = self._h
        for i in range(0, len(buf), 128):
            h = _compress(h, buf[i:i + 128])
        return b"".join(x.to_bytes(8, "big") for x in h)


def sha512(data=b""):
    return SHA512(data)
