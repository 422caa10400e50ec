"""RSA PKCS#1 v1.5 SHA-256 known-answer tests and key files (ptt.crypto.rsa, keys).

The expected signature and SubjectPublicKeyInfo were computed once with the
`cryptography` package and stored here, since this file also runs under
MicroPython where that package does not exist.
"""
import unittest

from ptt.crypto import rsa, keys, b64
from testkeys import RSA_PEM as PKCS1_PEM


PKCS8_PEM = b"""-----BEGIN PRIVATE KEY-----
MIICdwIBADANBgkqhkiG9w0BAQEFAASCAmEwggJdAgEAAoGBANQNznWH/nwcjQyf
eiDViTSeIgakDAmS7KQWP4Ou/O0aJJfDWw4tP8pDzAmYvWxY3Pgc7DqdstWAJNeC
cXR6LXIzuERpN3lDHYF2GdiULbUwSKyH2S6MEQ/Fs26fb1zL8LzOgExK5tWsQFqP
56NIEjGSwMLRQX3tI4aKHk6YHyGvAgMBAAECgYAfD+auUL12cLg4oSPCq4TtsDxL
vLwGqv7/CkNDht6F3M5/bJ5p9Tbi6gt5XGZi+KFlttbjvzXzEFJVP0ZfSYZeb/Jj
ciDATsA4qwt7JKiFECmckSNgHOhVDUlhXHivCEbN6C7crkUDmLLCYUSNaLnMRcaD
rFYqVwm8MTYTmpEYAQJBAOoN99sLUBF8GvO1WHi36KAUK1NnaEiybydFv5dNR6L9
vHRTkDfX00Qijx9UdB06TlxqRrEdmMjhyJwl6M5N5RkCQQDn78FXcn73lvZsGGOE
Uo2cnSAQmyC1fbjJ/YGmKJpBHROUSZ5Ixf/oX6HyGMQlh/e0IVOEJP8+LL/FYGA5
eo4HAkEAr4Cl1/QVp+a9dv0GSA7vOgmlqzag9dIGkxYz4coq60cEJt36CEWnvzGC
zGVRZBEybQ2r0Gd3Bzp2aM/sT7YNEQJAXts0VIJUIQhRoeXblXt5xSqRuZjoKLHR
SHLwejcy1xyALG5rWNH5lly+S9gLKFpSWQ4kLPBAn3oHuD5xPDC+MwJBAOEQoyoa
kKd2NfWXol67eY32fLAn77i5LAs1IrFAZjDpJNVzaH6u3lCVT8oscWx0JfRjNyzR
73CpwPw5N7H2l7Y=
-----END PRIVATE KEY-----
"""

MESSAGE = b"ptt known-answer test"
# cryptography: key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
EXPECTED_SIG = bytes.fromhex(
    "aa972d6c60c95a8ae896ca406f5ab8724337d15864da41f9929c2baf1ddb63df"
    "c5d1b656d636c2a16ed9b2cda120dc5d1cf263e847241831e432757c28c37a86"
    "eb0e718c77fe39835c39e481b42d6e3070047b78118b9a706f33bafcd771da1e"
    "67334f931c17d6d4100ae9da82db692250a7a66982fe09d8b66815172dbfc1f2")
# cryptography: public_bytes(DER, SubjectPublicKeyInfo)
EXPECTED_SPKI = bytes.fromhex(
    "30819f300d06092a864886f70d010101050003818d0030818902818100d40dce"
    "7587fe7c1c8d0c9f7a20d589349e2206a40c0992eca4163f83aefced1a2497c3"
    "5b0e2d3fca43cc0998bd6c58dcf81cec3a9db2d58024d78271747a2d7233b844"
    "693779431d817619d8942db53048ac87d92e8c110fc5b36e9f6f5ccbf0bcce80"
    "4c4ae6d5ac405a8fe7a348123192c0c2d1417ded23868a1e4e981f21af020301"
    "0001")


class TestRSA(unittest.TestCase):
    def setUp(self):
        self.key = keys.load_private_key(PKCS1_PEM)

    def test_known_answer_pkcs1_v15_sha256(self):
        self.assertEqual(self.key.sign(MESSAGE), EXPECTED_SIG)

    def test_public_key_verifies(self):
        pub = self.key.public_key()
        self.assertTrue(pub.verify(EXPECTED_SIG, MESSAGE))
        self.assertFalse(pub.verify(EXPECTED_SIG, MESSAGE + b"!"))
        self.assertFalse(pub.verify(EXPECTED_SIG[:-1], MESSAGE))

    def test_pkcs8_pem_and_der_give_the_same_key(self):
        k8 = keys.load_private_key(PKCS8_PEM)
        self.assertEqual((k8.n, k8.d, k8.qinv), (self.key.n, self.key.d, self.key.qinv))
        der = keys.pem_decode(PKCS8_PEM)[1]
        self.assertEqual(keys.load_private_key(der).n, self.key.n)
        self.assertEqual(keys.private_key_der(self.key), der)
        der1 = keys.pem_decode(PKCS1_PEM)[1]
        self.assertEqual(keys.load_private_key(der1).sign(MESSAGE), EXPECTED_SIG)

    def test_spki_export_for_dkim_p(self):
        self.assertEqual(keys.spki_der(self.key), EXPECTED_SPKI)
        self.assertEqual(keys.dkim_public_bytes(self.key), EXPECTED_SPKI)
        pub = keys.load_public_key(EXPECTED_SPKI, "rsa")
        self.assertEqual((pub.n, pub.e), (self.key.n, 65537))
        # PKCS#1 RSAPublicKey in p= is accepted too.
        pub = keys.load_public_key(keys.rsa_public_der(self.key), "rsa")
        self.assertEqual(pub.n, self.key.n)

    def test_modinv_extended_euclid(self):
        self.assertEqual(rsa.modinv(3, 11), 4)
        self.assertEqual(rsa.modinv(self.key.q, self.key.p), self.key.qinv)
        self.assertEqual(rsa.modinv(10, 17) * 10 % 17, 1)
        with self.assertRaises(rsa.RSAError):
            rsa.modinv(6, 9)

    def test_crt_values_recomputed_when_missing(self):
        k = self.key
        k2 = rsa.RSAPrivateKey(k.n, k.e, k.d, k.p, k.q)
        self.assertEqual((k2.dp, k2.dq, k2.qinv), (k.dp, k.dq, k.qinv))
        self.assertEqual(k2.sign(MESSAGE), EXPECTED_SIG)

    def test_inconsistent_key_refused(self):
        k = self.key
        with self.assertRaises(rsa.RSAError):
            rsa.RSAPrivateKey(k.n + 2, k.e, k.d, k.p, k.q)

    def test_private_op_seam(self):
        calls = []

        def native(key, m):
            calls.append(m)
            return pow(m, key.d, key.n)

        old = rsa.set_private_op(native)
        try:
            self.assertEqual(self.key.sign(MESSAGE), EXPECTED_SIG)
            self.assertEqual(len(calls), 1)
            rsa.set_private_op(lambda key, m: m)  # a broken op
            with self.assertRaises(rsa.RSAError):
                self.key.sign(MESSAGE)
        finally:
            rsa.set_private_op(old)
        self.assertIs(old, rsa.crt_private_op)

    def test_byte_len(self):
        self.assertEqual(rsa.byte_len(self.key.n), 128)
        self.assertEqual(rsa.byte_len(255), 1)
        self.assertEqual(rsa.byte_len(256), 2)
        self.assertEqual(self.key.bits(), 1024)


class TestKeyFiles(unittest.TestCase):
    def test_ed25519_pkcs8_and_raw_seed(self):
        seed = bytes(range(32))
        der = (b"\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20" + seed)
        k = keys.load_private_key(der)
        self.assertEqual(k.seed, seed)
        self.assertEqual(keys.private_key_der(k), der)
        self.assertEqual(keys.load_private_key(seed).public_bytes, k.public_bytes)
        pem = keys.pem_encode("PRIVATE KEY", der)
        self.assertEqual(keys.load_private_key(pem).seed, seed)
        spki = keys.spki_der(k)
        self.assertEqual(spki[:12], b"\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00")
        self.assertEqual(keys.dkim_public_bytes(k), k.public_bytes)

    def test_truncated_der(self):
        der = keys.pem_decode(PKCS1_PEM)[1]
        for cut in (1, 2, 10, len(der) - 1):
            with self.assertRaises(keys.KeyFormatError):
                keys.load_private_key(der[:cut])

    def test_overlong_length_field(self):
        with self.assertRaises(keys.KeyFormatError):
            keys.load_private_key(b"\x30\x85\x01\x00\x00\x00\x00\x00")
        with self.assertRaises(keys.KeyFormatError):
            keys.load_private_key(b"\x30\x80\x00\x00")  # indefinite length

    def test_bad_pem(self):
        with self.assertRaises(keys.KeyFormatError):
            keys.load_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
        with self.assertRaises(keys.KeyFormatError):
            keys.load_private_key(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        with self.assertRaises(keys.KeyFormatError):
            keys.load_private_key(b"-----BEGIN PRIVATE KEY-----\nA!AA\n-----END PRIVATE KEY-----\n")

    def test_unknown_algorithm(self):
        # PKCS#8 with the EC OID 1.2.840.10045.2.1
        der = b"\x30\x13\x02\x01\x00\x30\x09\x06\x07\x2a\x86\x48\xce\x3d\x02\x01\x04\x03\x04\x01\x00"
        with self.assertRaises(keys.KeyFormatError):
            keys.load_private_key(der)

    def test_ed25519_public_wrong_size(self):
        with self.assertRaises(keys.KeyFormatError):
            keys.load_public_key(b"\x00" * 31, "ed25519")


class TestBase64(unittest.TestCase):
    def test_round_trip(self):
        for n in range(0, 10):
            data = bytes(range(n))
            self.assertEqual(b64.decode(b64.encode(data)), data)
        self.assertEqual(b64.encode(b"hi"), b"aGk=")

    def test_whitespace_allowed(self):
        self.assertEqual(b64.decode(b" aG\r\n\tk= "), b"hi")

    def test_strict(self):
        for bad in (b"aGk", b"a*k=", b"aG=k", b"====", b"aGk=aGk"):
            with self.assertRaises(b64.Base64Error):
                b64.decode(bad)
