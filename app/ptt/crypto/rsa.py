"""RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 sections 8.2 and 9.2), private op by CRT.

The private operation is a seam: `set_private_op(fn)` installs another
implementation (for example mbedtls through ffi in the kvm image, kept in
app/ptt/platform/mbedtls.py), with fn(key, m) -> m ** d mod n for ints.  Pure
Python (`crt_private_op`) stays the default.  Every signature is checked
with the public exponent before it is returned, so a faulty CRT result
(or a faulty native op) never leaks the key (the Bellcore attack).
"""
import binascii
import hashlib


class RSAError(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


# RFC 8017 section 9.2 note 1: DER of DigestInfo for SHA-256, before the hash.
SHA256_DIGESTINFO = binascii.unhexlify(b"3031300d060960864801650304020105000420")


def modinv(a, m):
    """a^-1 mod m by the iterative extended Euclidean algorithm.

    pow(a, -1, m) returns 0 on MicroPython 1.25, so it is never used.
    """
    a %= m
    if m == 1:
        return 0
    r0, r1 = m, a
    s0, s1 = 0, 1
    while r1:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        s0, s1 = s1, s0 - q * s1
    if r0 != 1:
        raise RSAError("%d has no inverse modulo the given number" % a)
    return s0 % m


def byte_len(n):
    """Octets needed for n (int.bit_length is missing on MicroPython)."""
    h = "%x" % n
    return (len(h) + 1) // 2


def crt_private_op(key, m):
    """m^d mod n via the Chinese remainder theorem (RFC 8017 5.1.2, case b)."""
    m1 = pow(m % key.p, key.dp, key.p)
    m2 = pow(m % key.q, key.dq, key.q)
    h = key.qinv * (m1 - m2) % key.p
    return m2 + h * key.q


_private_op = crt_private_op


def set_private_op(fn, release=None):
    """Install fn(key, m) -> int as the private op; returns the previous one.

    release(key), if given, frees what fn keeps for a key (a native op keeps
    copies of the key in C memory); release() below calls it.
    Pass crt_private_op to go back to pure Python.
    """
    global _private_op, _release
    old = _private_op
    _private_op = fn
    _release = release
    return old


_release = None


def release(key):
    """The key is no longer used (e.g. rotated out): free what the private
    op keeps for it."""
    if _release is not None:
        _release(key)


def emsa_pkcs1_v15(digest, k):
    """RFC 8017 9.2: 0x00 0x01 PS(0xff...) 0x00 DigestInfo(SHA-256, digest)."""
    t = SHA256_DIGESTINFO + digest
    if k < len(t) + 11:
        raise RSAError("RSA modulus too short for a SHA-256 signature")
    return b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t


class RSAPublicKey:
    algorithm = "rsa"

    def __init__(self, n, e):
        self.n = n
        self.e = e
        self.size = byte_len(n)

    def bits(self):
        return len(bin(self.n)) - 2

    def verify_digest(self, sig, digest):
        """RFC 8017 8.2.2 for a SHA-256 digest; True or False."""
        k = self.size
        if len(sig) != k:
            return False
        s = int.from_bytes(sig, "big")
        if s >= self.n:
            return False
        em = pow(s, self.e, self.n).to_bytes(k, "big")
        try:
            return em == emsa_pkcs1_v15(digest, k)
        except RSAError:
            return False

    def verify(self, sig, msg):
        return self.verify_digest(sig, hashlib.sha256(msg).digest())


class RSAPrivateKey:
    """An RSA private key with its CRT values (PKCS#1 RSAPrivateKey fields)."""

    algorithm = "rsa"

    def __init__(self, n, e, d, p, q, dp=None, dq=None, qinv=None):
        if p * q != n:
            raise RSAError("RSA key is inconsistent: p * q != n")
        self.n = n
        self.e = e
        self.d = d
        self.p = p
        self.q = q
        self.dp = dp if dp else d % (p - 1)
        self.dq = dq if dq else d % (q - 1)
        self.qinv = qinv if qinv else modinv(q, p)
        if self.qinv * q % p != 1:
            raise RSAError("RSA key is inconsistent: qInv * q mod p != 1")
        self.size = byte_len(n)

    def bits(self):
        return len(bin(self.n)) - 2

    def public_key(self):
        return RSAPublicKey(self.n, self.e)

    def sign_digest(self, digest):
        """RFC 8017 8.2.1 (RSASSA-PKCS1-V1_5-SIGN) of a SHA-256 digest."""
        k = self.size
        m = int.from_bytes(emsa_pkcs1_v15(digest, k), "big")
        s = _private_op(self, m)
        if pow(s, self.e, self.n) != m:
            raise RSAError("RSA private operation gave a wrong result; signature withheld")
        return s.to_bytes(k, "big")

    def sign(self, msg):
        return self.sign_digest(hashlib.sha256(msg).digest())
