"""ptt.platform.mbedtls: the RSA private op through mbedtls (ffi) agrees with
pure Python (rsa.crt_private_op) for several keys and messages.

Runs under MicroPython (tools/mpy has libmbedcrypto.so.16, as the image
does); under CPython there is no ffi module and every test is skipped.
"""
import hashlib
import unittest

from ptt.crypto import rsa
from ptt.platform import mbedtls

NO_FFI = mbedtls.ffi is None
WHY = "no ffi module here (CPython): the mbedtls path runs under MicroPython only"

# bits: (e, p, q); made with `cryptography` for this test only
KEYS = (
    (1024, 65537,
     int(
         "f198fb6789c18ebed07d5b83aad6a9b21692247d4a3edcd9bf09bfe2d3147058"
         "86b4cfafb46d50aea8e0ac3940dcf7a569736cd8a6c4124e07af3b574f2bf9ab", 16),
     int(
         "e41bf5557e1ee449d77faaf44b19d89666e56e4f2496dc6dc2c75476e809b0a3"
         "a75ee949d9b2b07728dcf4b17f014d1235e5277fb08d35bc1d3959581f39e005", 16)),
    (1032, 65537,
     int(
         "ee745b20d764a1f5497acce6a97811abc6ea053300d903f701edde83dbeba74c"
         "697f04e30aacb8e750a5d3b4346e5f7bff06503aa533cbf0d3a448fda3e784ee"
         "9", 16),
     int(
         "dba115a01aad638ce3462508b53b5dad53e98c50e9964254776e410647a56629"
         "4092c5ac92dc914870b869cdbf8a85a6fb3ed2358c02d8736e7e21ff58d1c065"
         "7", 16)),
    (1536, 3,
     int(
         "ee4d91df7aa3cc98052dbf766515212fb4225c3f1afa5389bf7928f6de270510"
         "2e3faa2ecaaab3303c1ed0d769ce5d147995fded315b62fbc8e8ae3547d4d934"
         "eda71fb5d0586e6bfab3e88d4e6a2adc129db9d717db5c9ef9a91a5d3f856771", 16),
     int(
         "e7d6128caa659a89bf1db0455c63ca8b9c36eded61c5cf6a0412aae5f372dc82"
         "ebf29ac2ae5ff04073890c38e4514c423e8632c48830496e171c09b1a9cbfe33"
         "47b0fe06609a075cf5b197cfb84fa816cd8c89ff6348e6014a5153824ae2ae29", 16)),
    (2048, 65537,
     int(
         "e0af6bd3542dd8759b48addae241014af7316c444053a35e7ac9d0d67b81b54c"
         "0e70692d883b1e1f6ead669f8385aea10f5f406032fbc30916d079cdb4139596"
         "d202ad745d714673e5c1b464b15a80a48c34beb7ffff640f4b753a8352ae6cf8"
         "5f9394b2c7549ad38a4f723f2901f778f34444863ebfafd8eb1f9a1b0990ae59", 16),
     int(
         "b8abf9b318322cadbf4d17593c60692582d5e14e2f80920e6f048b2c97c02f8a"
         "c6ae15b92d87b6c81136590fca590d3f72598d99404e513efdb2d6cb9d36f37f"
         "07b302da19f35029269a77dc8d56e0ed67d400b6c517fba1ee4c0ef95923967a"
         "6aaeed360b502f61ed35462f61857857698da115c7f8fae68477794741cb68ab", 16)),
)


def make_key(e, p, q):
    return rsa.RSAPrivateKey(p * q, e, rsa.modinv(e, (p - 1) * (q - 1)), p, q)


def messages(key):
    """Edge values, PKCS#1 v1.5 encodings and pseudo-random values below n."""
    out = [0, 1, 2, key.n - 1, key.n - 2, key.p, key.q, key.p - 1, key.q + 1]
    for i in range(4):
        digest = hashlib.sha256(b"message %d" % i).digest()
        out.append(int.from_bytes(rsa.emsa_pkcs1_v15(digest, key.size), "big"))
        wide = b""
        for j in range(key.size // 32 + 1):
            wide += hashlib.sha256(b"%d/%d" % (i, j)).digest()
        out.append(int.from_bytes(wide, "big") % key.n)
    return out


class MbedtlsPrivateOpTest(unittest.TestCase):
    def setUp(self):
        self.old = rsa.set_private_op(rsa.crt_private_op)
        self.keys = [make_key(e, p, q) for _, e, p, q in KEYS]

    def tearDown(self):
        rsa.set_private_op(self.old)
        if not NO_FFI:
            for k in self.keys:
                mbedtls.forget(k)

    @unittest.skipIf(NO_FFI, WHY)
    def test_loads_library(self):
        self.assertTrue(mbedtls.available())

    @unittest.skipIf(NO_FFI, WHY)
    def test_sizes(self):
        for (bits, _, _, _), key in zip(KEYS, self.keys):
            self.assertEqual(key.bits(), bits)

    @unittest.skipIf(NO_FFI, WHY)
    def test_agrees_with_pure_python(self):
        for key in self.keys:
            for m in messages(key):
                self.assertEqual(mbedtls.private_op(key, m), rsa.crt_private_op(key, m),
                                 "%d-bit key, m=%x" % (key.bits(), m))

    @unittest.skipIf(NO_FFI, WHY)
    def test_repeated_use_updates_blinding_and_stays_right(self):
        key = self.keys[-1]
        m = messages(key)[-1]
        want = rsa.crt_private_op(key, m)
        seen = []
        for _ in range(6):
            seen.append(getattr(key, mbedtls._ATTR).vi if getattr(key, mbedtls._ATTR, None)
                        else None)
            self.assertEqual(mbedtls.private_op(key, m), want)
        st = getattr(key, mbedtls._ATTR)
        self.assertEqual(st.vi * pow(st.vf, key.e, key.n) % key.n, 1)
        self.assertEqual(len(set(seen[1:])), len(seen) - 1)

    @unittest.skipIf(NO_FFI, WHY)
    def test_signatures_match_and_verify(self):
        for key in self.keys:
            msg = b"ptt mbedtls test %d" % key.bits()
            rsa.set_private_op(rsa.crt_private_op)
            want = key.sign(msg)
            rsa.set_private_op(mbedtls.private_op)
            got = key.sign(msg)
            self.assertEqual(got, want)
            self.assertTrue(key.public_key().verify(got, msg))

    @unittest.skipIf(NO_FFI, WHY)
    def test_install_sets_the_private_op(self):
        self.assertTrue(mbedtls.install())
        self.assertEqual(mbedtls.why_not, "")
        prev = rsa.set_private_op(rsa.crt_private_op)
        self.assertIs(prev, mbedtls.private_op)

    @unittest.skipIf(NO_FFI, WHY)
    def test_forget_then_use_again(self):
        key = self.keys[0]
        m = messages(key)[-1]
        a = mbedtls.private_op(key, m)
        mbedtls.forget(key)
        self.assertIsNone(getattr(key, mbedtls._ATTR))
        mbedtls.forget(key)  # twice is harmless
        self.assertEqual(mbedtls.private_op(key, m), a)

    @unittest.skipIf(NO_FFI, WHY)
    def test_mbedtls_errors_raise(self):
        # exp_mod refuses an even modulus: the error must surface, not a number.
        f = mbedtls._load()
        x, a, e, n = (mbedtls._mpi(f) for _ in range(4))
        try:
            mbedtls._load_int(f, a, 3, 1)
            mbedtls._load_int(f, e, 5, 1)
            mbedtls._load_int(f, n, 10, 1)
            with self.assertRaises(mbedtls.MbedtlsError):
                mbedtls._check(f.exp_mod(x, a, e, n, None), "mbedtls_mpi_exp_mod")
        finally:
            for b in (x, a, e, n):
                f.free(b)

    def test_install_is_false_without_ffi(self):
        # Runs everywhere: under CPython install() must say no and change nothing.
        if not NO_FFI:
            self.skipTest("this runtime has ffi")
        self.assertFalse(mbedtls.install())
        self.assertIn("ffi", mbedtls.why_not)
        self.assertIs(rsa.set_private_op(rsa.crt_private_op), rsa.crt_private_op)
