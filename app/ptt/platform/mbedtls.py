"""RSA private operation through mbedtls's bignum code, called with `ffi`.

The pure-Python CRT in ptt.crypto.rsa costs about 30 ms per RSA-2048
signature on MicroPython; the two half-size exponentiations done by
mbedtls 3.6 (libmbedcrypto.so.16, which the micropython binary links for
its TLS module, so it is in every image) cost about 0.7 ms each.

    from ptt.platform import mbedtls
    if mbedtls.install():   # sets ptt.crypto.rsa's private op; False = not available
        ...

What is done (per signature, `private_op(key, m)`):
- blinding of the base: c = m * r^e mod n with a secret random r, and the
  result multiplied by r^-1 mod n (RFC 8017 leaves this to implementations;
  mbedtls's own mbedtls_rsa_private does the same).  The pair (r^e, r^-1) is
  made once per key from os.urandom and then squared after every use (Kocher's
  update), so no inverse is computed per signature.
- m1 = c^dP mod p and m2 = c^dQ mod q with mbedtls_mpi_exp_mod, which in
  mbedtls 3.6 is constant-time in the exponent (mbedtls_mpi_core_exp_mod:
  fixed window, table lookups that touch every entry).  dP/dQ are loaded
  with the byte length of p/q, so their own length does not show either.
  c mod p < p is passed, so mbedtls does no (variable-time) reduction of it.
  R^2 mod p and mod q are cached per key.
- Garner's recombination and the unblinding with Python ints.
What is not done:
- Exponent blinding (d + k*phi): not needed with a constant-time
  exponentiation.
- The Python int arithmetic (m * r^e mod n, c mod p and mod q, Garner's
  step with qInv and q, the blinding updates) is MicroPython's
  variable-time bignum code, and some of it involves p, q and qInv.  Its
  operands are blinded by the secret random r, so an attacker who picks
  the message cannot steer them, but it is not constant-time.
- Secrets held by Python ints are never wiped (nothing in MicroPython can).
  mbedtls_mpi_free zeroises the native copies, but the per-key copies are
  only freed by `forget(key)`, never by the garbage collector (no
  finalisers): a key rotation leaks about 1 KiB of C heap per key.
ptt.crypto.rsa checks each signature with the public exponent before
returning it, so a wrong result here raises instead of leaking the key.

ABI (mbedtls 3.6 on x86-64, checked against the shared library: what
mbedtls_mpi_init and mbedtls_mpi_free write): struct mbedtls_mpi is
{ mbedtls_mpi_uint *p; signed short s; unsigned short n; }: p at offset 0
(8 bytes), s at 8, n (limb count) at 10, sizeof 16, align 8.  Each struct
is a 16-byte bytearray (MicroPython's GC does not move objects); the limbs
behind p live on the C heap.  mbedtls_mpi_read_binary keeps leading zero
bytes as limbs, and the constant-time exponentiation runs over every limb
of the modulus and the exponent, so numbers are loaded with their exact
byte length (never padded to the size of n).
"""
import os

try:
    import ffi
except ImportError:  # CPython, or a MicroPython port without ffi
    ffi = None

from ptt.crypto import rsa

LIBRARY = "libmbedcrypto.so.16"
MPI_SIZE = 16  # sizeof(mbedtls_mpi) on x86-64 for mbedtls 3.6 (see above)

_lib = None
_f = None


class MbedtlsError(rsa.RSAError):
    def __init__(self, msg):
        super().__init__(msg)


class _Funcs:
    def __init__(self, lib):
        self.init = lib.func("v", "mbedtls_mpi_init", "p")
        self.free = lib.func("v", "mbedtls_mpi_free", "p")
        self.read_binary = lib.func("i", "mbedtls_mpi_read_binary", "pPL")
        self.write_binary = lib.func("i", "mbedtls_mpi_write_binary", "PpL")
        # int mbedtls_mpi_exp_mod(X, const A, const E, const N, prec_RR)
        self.exp_mod = lib.func("i", "mbedtls_mpi_exp_mod", "pPPPp")


def _load():
    """The resolved functions (once); MbedtlsError if there is no ffi or library."""
    global _lib, _f
    if _f is None:
        if ffi is None:
            raise MbedtlsError("no ffi module in this Python")
        try:
            _lib = ffi.open(LIBRARY)
            _f = _Funcs(_lib)
        except OSError as e:
            raise MbedtlsError("cannot load %s through ffi: %s" % (LIBRARY, e))
    return _f


def available():
    try:
        _load()
        return True
    except MbedtlsError:
        return False


def _check(rc, what):
    if rc != 0:
        raise MbedtlsError("%s failed: mbedtls error -0x%04x" % (what, -rc))


def _mpi(f):
    b = bytearray(MPI_SIZE)
    f.init(b)
    return b


def _load_int(f, x, value, nbytes):
    buf = value.to_bytes(nbytes, "big")
    _check(f.read_binary(x, buf, nbytes), "mbedtls_mpi_read_binary")


class _KeyState:
    """One key's native copies of p, q, dP, dQ, the R^2 caches and the blinding pair."""

    def __init__(self, key):
        f = _load()
        self.n = key.n
        self.lp = rsa.byte_len(key.p)
        self.lq = rsa.byte_len(key.q)
        self.mpis = []
        self.P = self._new(f, key.p, self.lp)
        self.Q = self._new(f, key.q, self.lq)
        self.DP = self._new(f, key.dp, self.lp)
        self.DQ = self._new(f, key.dq, self.lq)
        self.RRP = self._new(f)
        self.RRQ = self._new(f)
        self.A = self._new(f)
        self.X = self._new(f)
        self.out_p = bytearray(self.lp)
        self.out_q = bytearray(self.lq)
        self.vi, self.vf = self._blinding_pair(key)

    def _new(self, f, value=None, nbytes=0):
        x = _mpi(f)
        self.mpis.append(x)
        if value is not None:
            _load_int(f, x, value, nbytes)
        return x

    @staticmethod
    def _blinding_pair(key):
        """(r^e mod n, r^-1 mod n) for a random r invertible mod n."""
        while True:
            r = int.from_bytes(os.urandom(key.size + 8), "big") % key.n
            if r > 1:
                try:
                    return pow(r, key.e, key.n), rsa.modinv(r, key.n)
                except rsa.RSAError:  # shares a factor with n: astronomically unlikely
                    pass

    def free(self):
        f = _load()
        for x in self.mpis:
            f.free(x)
        self.mpis = []

    def exp(self, f, c, mod, exp_, rr, out, nbytes):
        """c^exp_ mod `mod` in mbedtls; c < mod, loaded with `nbytes` bytes."""
        _load_int(f, self.A, c, nbytes)
        _check(f.exp_mod(self.X, self.A, exp_, mod, rr), "mbedtls_mpi_exp_mod")
        _check(f.write_binary(self.X, out, nbytes), "mbedtls_mpi_write_binary")
        return int.from_bytes(out, "big")


_ATTR = "_ptt_mbedtls"


def _state(key):
    st = getattr(key, _ATTR, None)
    if st is None or st.n != key.n:
        st = _KeyState(key)
        setattr(key, _ATTR, st)
    return st


def forget(key):
    """Free (and zeroise) the native copies kept for `key`."""
    st = getattr(key, _ATTR, None)
    if st is not None:
        st.free()
        setattr(key, _ATTR, None)


def private_op(key, m):
    """m^d mod n for an rsa.RSAPrivateKey, by CRT in mbedtls, with base blinding."""
    f = _load()
    st = _state(key)
    n = key.n
    c = m * st.vi % n
    st.vi = st.vi * st.vi % n
    vf = st.vf
    st.vf = vf * vf % n
    p = key.p
    q = key.q
    m1 = st.exp(f, c % p, st.P, st.DP, st.RRP, st.out_p, st.lp)
    m2 = st.exp(f, c % q, st.Q, st.DQ, st.RRQ, st.out_q, st.lq)
    h = key.qinv * (m1 - m2) % p
    return (m2 + h * q) * vf % n


why_not = ""  # after install() returned False: the reason, for the console line


def install():
    """Make mbedtls the RSA private op if it loads and agrees with pure Python
    on a small self-test key; True if installed, False if not (pure Python
    stays, and `why_not` says why)."""
    global why_not
    try:
        _load()
        if not _self_test():
            why_not = "self-test gave a result different from pure Python"
            return False
    except Exception as e:  # noqa: any failure here means "not available"
        why_not = str(e) or type(e).__name__
        return False
    why_not = ""
    rsa.set_private_op(private_op, forget)
    return True


def _self_test():
    """Compare with rsa.crt_private_op on a fixed small key and a few messages."""
    # A 512-bit test key made for this check only (256-bit primes).
    p = 0xF24A8CDC167EDFDAEC7EA1C99D6D1F17A28E6D2AE81B9FCC35D25AE0D45D1139
    q = 0xC7ED00441F740B00001E6F135092C597B2C4D80A8B5646C92E0968AF8F5E5555
    e = 65537
    phi = (p - 1) * (q - 1)
    d = rsa.modinv(e, phi)
    key = rsa.RSAPrivateKey(p * q, e, d, p, q)
    try:
        for m in (2, 3, 0x1234567890ABCDEF, key.n - 2):
            if private_op(key, m) != rsa.crt_private_op(key, m):
                return False
    finally:
        forget(key)
    return True
