"""Ed25519 (RFC 8032 section 5.1) in pure Python, for DKIM ed25519-sha256 (RFC 8463).

Points use extended homogeneous coordinates (X, Y, Z, T) with x = X/Z,
y = Y/Z, x*y = T/Z (RFC 8032 5.1.4).  Inverses use Fermat (pow with a
positive exponent works on MicroPython; pow(a, -1, m) does not).  Nothing
here is constant-time: fine for a signer whose attacker sees only
signatures, not timings measured in nanoseconds.
"""
from ptt.crypto.sha512 import sha512

P = 2 ** 255 - 19
L = 2 ** 252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)


class Ed25519Error(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


def _add(p1, p2):
    # RFC 8032 5.1.4, "add".
    X1, Y1, Z1, T1 = p1
    X2, Y2, Z2, T2 = p2
    a = (Y1 - X1) * (Y2 - X2) % P
    b = (Y1 + X1) * (Y2 + X2) % P
    c = 2 * T1 * T2 * D % P
    d = 2 * Z1 * Z2 % P
    e = b - a
    f = d - c
    g = d + c
    h = b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _double(p1):
    # RFC 8032 5.1.4, "dbl".
    X1, Y1, Z1, _ = p1
    a = X1 * X1 % P
    b = Y1 * Y1 % P
    c = 2 * Z1 * Z1 % P
    h = a + b
    e = h - (X1 + Y1) * (X1 + Y1) % P
    g = a - b
    f = c + g
    return (e * f % P, g * h % P, f * g % P, e * h % P)


_IDENTITY = (0, 1, 1, 0)


def _mul(k, pt):
    """k * pt by double-and-add, lowest bit first (no recursion)."""
    q = _IDENTITY
    while k:
        if k & 1:
            q = _add(q, pt)
        pt = _double(pt)
        k >>= 1
    return q


def _recover_x(y, sign):
    # RFC 8032 5.1.3 steps 2-4.
    if y >= P:
        raise Ed25519Error("point y coordinate out of range")
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    vx2 = v * x * x % P
    if vx2 == u:
        pass
    elif vx2 == (-u) % P:
        x = x * _SQRT_M1 % P
    else:
        raise Ed25519Error("not a point on the curve")
    if x == 0 and sign:
        raise Ed25519Error("invalid point encoding (x = 0 with sign bit set)")
    if (x & 1) != sign:
        x = P - x
    return x


def _decode_point(s):
    if len(s) != 32:
        raise Ed25519Error("point encoding must be 32 bytes, got %d" % len(s))
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return (x, y, 1, x * y % P)


def _encode_point(pt):
    X, Y, Z, _ = pt
    zi = pow(Z, P - 2, P)
    x = X * zi % P
    y = Y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


_B = None
_B_POW2 = None  # [2^i * B for i in 0..252], built on first use


def _base_mul(k):
    global _B, _B_POW2
    if _B_POW2 is None:
        by = 4 * pow(5, P - 2, P) % P
        bx = _recover_x(by, 0)
        _B = (bx, by, 1, bx * by % P)
        table = [_B]
        for _ in range(252):
            table.append(_double(table[-1]))
        _B_POW2 = table
    q = _IDENTITY
    i = 0
    k %= L
    while k:
        if k & 1:
            q = _add(q, _B_POW2[i])
        k >>= 1
        i += 1
    return q


def _h_int(data):
    return int.from_bytes(sha512(data).digest(), "little")


def _expand(seed):
    # RFC 8032 5.1.5: hash the seed, clamp the low half, keep the high half.
    if len(seed) != 32:
        raise Ed25519Error("Ed25519 private key seed must be 32 bytes, got %d" % len(seed))
    h = sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


class Ed25519PrivateKey:
    """An Ed25519 key from its 32-byte seed (RFC 8032 5.1.5)."""

    algorithm = "ed25519"

    def __init__(self, seed):
        self.seed = bytes(seed)
        self._a, self._prefix = _expand(self.seed)
        self.public_bytes = _encode_point(_base_mul(self._a))

    def public_key(self):
        return Ed25519PublicKey(self.public_bytes)

    def sign(self, msg):
        """RFC 8032 5.1.6: the 64-byte signature R || S of msg."""
        r = _h_int(self._prefix + msg) % L
        R = _encode_point(_base_mul(r))
        k = _h_int(R + self.public_bytes + msg) % L
        s = (r + k * self._a) % L
        return R + s.to_bytes(32, "little")


class Ed25519PublicKey:
    algorithm = "ed25519"

    def __init__(self, data):
        data = bytes(data)
        self.public_bytes = data
        self._point = _decode_point(data)

    def verify(self, sig, msg):
        """RFC 8032 5.1.7; True or False (never raises on a bad signature)."""
        if len(sig) != 64:
            return False
        try:
            R = _decode_point(sig[:32])
        except Ed25519Error:
            return False
        s = int.from_bytes(sig[32:], "little")
        if s >= L:
            return False
        k = _h_int(sig[:32] + self.public_bytes + msg) % L
        left = _base_mul(s)
        right = _add(R, _mul(k, self._point))
        return (left[0] * right[2] - right[0] * left[2]) % P == 0 and \
            (left[1] * right[2] - right[1] * left[2]) % P == 0
