"""Keys, seed derivation, selectors and rotation (ptt.signer.keyset)."""
import binascii
import unittest

from ptt import dkim
from ptt.signer import keyset as K

SEED = bytes(range(32))
DAY = 86400


class TestDurations(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(K.parse_duration("3600"), 3600)
        self.assertEqual(K.parse_duration("90s"), 90)
        self.assertEqual(K.parse_duration("30m"), 1800)
        self.assertEqual(K.parse_duration("12h"), 43200)
        self.assertEqual(K.parse_duration("7d"), 7 * DAY)
        self.assertEqual(K.parse_duration("2w"), 14 * DAY)
        self.assertEqual(K.parse_duration("1d12h"), DAY + 43200)

    def test_bad(self):
        for bad in ("", "0", "h", "1y", "-1d", "1.5h", "d1"):
            with self.assertRaises(ValueError):
                K.parse_duration(bad)


class TestDerivation(unittest.TestCase):
    def test_pbkdf2_vectors(self):
        # RFC 7914 section 11 (PBKDF2-HMAC-SHA256, c=1) and a c=2 vector.
        self.assertEqual(binascii.hexlify(K.pbkdf2_sha256(b"passwd", b"salt", 1, 64)),
                         b"55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                         b"49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
        self.assertEqual(binascii.hexlify(K.pbkdf2_sha256(b"password", b"salt", 2, 32)),
                         b"ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43")

    def test_ed25519_is_deterministic_and_per_selector(self):
        a = K.derive_ed25519(SEED, "example.org", "s1-ed25519")
        b = K.derive_ed25519(SEED, "example.org", "s1-ed25519")
        c = K.derive_ed25519(SEED, "example.org", "s2-ed25519")
        d = K.derive_ed25519(SEED, "example.net", "s1-ed25519")
        self.assertEqual(a.public_bytes, b.public_bytes)
        self.assertNotEqual(a.public_bytes, c.public_bytes)
        self.assertNotEqual(a.public_bytes, d.public_bytes)
        self.assertEqual(a.seed, K.pbkdf2_sha256(SEED, b"example.org:ptt:s1-ed25519", 1, 32))

    def test_rsa_from_seed(self):
        k = K.derive_rsa(SEED, "example.org", "s1-rsa", bits=1024)
        self.assertEqual(k.bits(), 1024)
        self.assertEqual(k.p * k.q, k.n)
        self.assertGreater(k.p, k.q)
        self.assertEqual(pow(pow(12345, k.e, k.n), k.d, k.n), 12345)
        again = K.derive_rsa(SEED, "example.org", "s1-rsa", bits=1024)
        self.assertEqual(again.n, k.n)
        sig = k.sign(b"hello")
        self.assertTrue(k.public_key().verify(sig, b"hello"))

    def test_keyring(self):
        ring = K.Keyring("example.org", seed=SEED, rsa_bits=1024)
        k1 = ring.key("ed25519", "s1-ed25519")
        self.assertIs(ring.key("ed25519", "s1-ed25519"), k1)
        ring.forget_except(["s2-ed25519"])
        self.assertFalse(ring.key("ed25519", "s1-ed25519") is k1)
        explicit = K.Keyring("example.org", explicit={"ed25519": k1})
        self.assertIs(explicit.key("ed25519", "whatever"), k1)
        with self.assertRaises(K.KeyError_):
            explicit.key("rsa", "s1-rsa")

    def test_rotated_out_rsa_keys_are_released(self):
        # A native private op (platform/mbedtls) keeps C copies of each key.
        from ptt.crypto import rsa
        released = []
        old = rsa.set_private_op(rsa.crt_private_op, released.append)
        try:
            ring = K.Keyring("example.org", seed=SEED, rsa_bits=1024)
            k1 = ring.key("rsa", "s1-rsa")
            k2 = ring.key("rsa", "s2-rsa")
            ring.key("ed25519", "s1-ed25519")
            ring.forget_except(["s2-rsa"])
            self.assertEqual(len(released), 1)
            self.assertIs(released[0], k1)
            self.assertIs(ring.key("rsa", "s2-rsa"), k2)
        finally:
            rsa.set_private_op(old)

    def test_txt_record(self):
        k = K.derive_ed25519(SEED, "example.org", "s1-ed25519")
        self.assertTrue(dkim.txt_record(k).startswith(b"v=DKIM1; k=ed25519; p="))


class TestSelectors(unittest.TestCase):
    def test_names(self):
        self.assertEqual(K.selector_name("s1", "rsa"), "s1-rsa")
        self.assertEqual(K.selector_name("s1", "ed25519"), "s1-ed25519")
        self.assertEqual(K.record_name("s1-rsa", "example.org"), "s1-rsa._domainkey.example.org")
        self.assertEqual(K.format_selector("ptt-%d", 1700000000), "ptt-1700000000")
        self.assertTrue(K.is_format("ptt-%d"))
        self.assertFalse(K.is_format("ptt"))

    def test_check(self):
        self.assertEqual(K.check_selector("ptt-%d"), "ptt-%d")
        self.assertEqual(K.check_selector("2024.a"), "2024.a")
        for bad in ("", "a%s", "%d%d", "a b", "a..b", "x" * 60):
            with self.assertRaises(ValueError):
                K.check_selector(bad)


class TestPlan(unittest.TestCase):
    def test_fixed(self):
        p = K.plan("s1", ["rsa", "ed25519"], 1700000000)
        self.assertEqual(p.sign, {"rsa": "s1-rsa", "ed25519": "s1-ed25519"})
        self.assertEqual(sorted(p.publish), [("ed25519", "s1-ed25519"), ("rsa", "s1-rsa")])
        self.assertEqual(p.delete, [])
        self.assertIsNone(p.next_change)
        self.assertIsNone(p.expire_after)
        self.assertEqual(K.plan("s1", ["rsa"], 0, 3600).expire_after, 3600)

    def test_rotation(self):
        period = 3600
        t0 = 1700000000 - 1700000000 % period     # a period start
        p = K.plan("ptt-%d", ["ed25519"], t0 + 10, period)
        self.assertEqual(p.sign, {"ed25519": "ptt-%d-ed25519" % t0})
        self.assertEqual(p.publish, [("ed25519", "ptt-%d-ed25519" % (t0 - period)),
                                     ("ed25519", "ptt-%d-ed25519" % t0)])
        self.assertEqual(p.delete, [("ed25519", "ptt-%d-ed25519" % (t0 - 2 * period))])
        lead = K.lead_time(period)
        self.assertEqual(lead, 300)
        self.assertEqual(p.next_change, t0 + period - lead)
        self.assertEqual(p.expire_after, period)
        # Inside the lead time the next record is published, still signing with t0.
        q = K.plan("ptt-%d", ["ed25519"], p.next_change, period)
        self.assertEqual(q.sign, p.sign)
        self.assertIn(("ed25519", "ptt-%d-ed25519" % (t0 + period)), q.publish)
        self.assertEqual(q.next_change, t0 + period)
        # At the period start: switch; the old record stays one more period.
        r = K.plan("ptt-%d", ["ed25519"], t0 + period, period)
        self.assertEqual(r.sign, {"ed25519": "ptt-%d-ed25519" % (t0 + period)})
        self.assertIn(("ed25519", "ptt-%d-ed25519" % t0), r.publish)
        self.assertEqual(r.delete, [("ed25519", "ptt-%d-ed25519" % (t0 - period))])

    def test_signatures_expire_before_their_record_goes(self):
        period = 600
        t = 1700000123
        for step in range(0, 4 * period, 37):
            now = t + step
            p = K.plan("s%d", ["rsa"], now, period)
            sel = p.sign["rsa"]
            expires = now + p.expire_after
            # the record stays published at least until the signature expires
            for later in range(now, expires + 1, 50):
                self.assertIn(("rsa", sel), K.plan("s%d", ["rsa"], later, period).publish)

    def test_rotation_needs_period(self):
        with self.assertRaises(K.KeyError_):
            K.plan("ptt-%d", ["rsa"], 1700000000)
        with self.assertRaises(K.KeyError_):
            K.plan("ptt-%d", ["rsa"], 1700000000, 10)
