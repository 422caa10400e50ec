"""The signer's boot arguments (ptt.signer.args) on top of ptt.platform.bootargs."""
import unittest

from ptt.crypto import b64, keys
from ptt.platform import bootargs as B
from ptt.signer import args as A

from test_arc import RSA_PEM

SEED = b64.encode(bytes(range(32))).decode()
BASE = ["--ipv4=10.0.2.15/24", "--domain=example.org", "--trusted=10.0.0.0/8",
        "--dst=10.0.2.2", "--selector=s1"]


def der_b64(key):
    return b64.encode(keys.private_key_der(key)).decode()


class State:
    rsa = None
    ed = None


def rsa_arg():
    if State.rsa is None:
        State.rsa = der_b64(keys.load_private_key(RSA_PEM))
        State.ed = der_b64(keys.load_private_key(bytes(range(32))))
    return State.rsa


def ed_arg():
    rsa_arg()
    return State.ed


class TestSigner(unittest.TestCase):
    def test_seed_defaults(self):
        c = A.parse(BASE + ["--seed=" + SEED])
        self.assertEqual(c.algorithms, ["rsa", "ed25519"])
        self.assertTrue(c.mode_dkim)
        self.assertFalse(c.mode_arc)
        self.assertEqual(c.dst, ("10.0.2.2", 25))
        self.assertEqual(c.trusted, [(4, b"\x0a\0\0\0", 8)])
        self.assertEqual(c.canonicalization, b"relaxed/relaxed")
        self.assertIn(b"from", c.include)
        self.assertIsNone(c.expiration)
        self.assertEqual(c.seed, bytes(range(32)))

    def test_private_keys_pick_algorithms(self):
        c = A.parse(BASE + ["--private-key=" + rsa_arg()])
        self.assertEqual(c.algorithms, ["rsa"])
        self.assertEqual(c.keys["rsa"].algorithm, "rsa")
        c = A.parse(BASE + ["-k", rsa_arg(), "-k", ed_arg()])
        self.assertEqual(c.algorithms, ["rsa", "ed25519"])

    def test_kernel_cmdline(self):
        line = ('console=ttyS0 ptt="%s --seed=%s --dst=10.0.2.2:2525 --trusted=fd00::/8 '
                '-x 7d --with-arc -n udp:10.0.2.3" virtio_mmio.device=512@0xfeb00e00:12'
                % (" ".join(BASE[:3] + BASE[4:]), SEED))
        c = A.from_cmdline(line)
        self.assertEqual(c.dst, ("10.0.2.2", 2525))
        self.assertEqual(c.trusted[1][0], 6)
        self.assertEqual(c.expiration, 7 * 86400)
        self.assertTrue(c.mode_arc)
        self.assertFalse(c.mode_dkim)
        self.assertEqual(c.algorithms, ["rsa"])

    def test_dns_zone_from_key(self):
        c = A.parse(BASE + ["--seed=" + SEED, "--dns-server=10.0.2.3",
                            "--dns-key=k._update.example.org:SHA256:c2VjcmV0"])
        self.assertEqual(c.zone, "example.org")
        self.assertEqual(c.dns_server, ("10.0.2.3", 53))
        self.assertEqual(c.dns_key.name, "k._update.example.org")

    def test_time_based_selector(self):
        words = [w for w in BASE if not w.startswith("--selector")]
        c = A.parse(words + ["--seed=" + SEED, "--selector=ptt-%d", "--expiration=1h",
                             "--dns-server=10.0.2.3",
                             "--dns-key=k._update.example.org:SHA256:c2VjcmV0"])
        self.assertEqual(c.expiration, 3600)

    def errors(self, words):
        with self.assertRaises(B.BootArgError) as cm:
            A.parse(words)
        return str(cm.exception)

    def test_errors_are_one_clear_line(self):
        cases = [
            (BASE, "no signing key"),
            (BASE + ["--seed=" + SEED, "-k", rsa_arg()], "either --private-key or --seed"),
            (BASE + ["-k", rsa_arg(), "-k", rsa_arg()], "two rsa keys"),
            (BASE + ["-k", ed_arg(), "--with-arc"], "needs an RSA key"),
            (BASE + ["-k", rsa_arg(), "--with-arc"], "--with-arc needs --nameserver"),
            (BASE + ["-k", ed_arg(), "--algorithm=rsa"], "needs an rsa --private-key"),
            (BASE + ["--seed=" + SEED, "--dns-server=10.0.2.3"], "go together"),
            (BASE + ["--seed=c2hvcnQ="], "at least 16"),
            (BASE + ["--seed=" + SEED, "--dns-server=10.0.2.3", "--dns-key=k.example.org:SHA256:c2VjcmV0"],
             "give --dns-zone"),
            (BASE + ["--seed=" + SEED, "--dns-server=10.0.2.3",
                     "--dns-key=k._update.other.org:SHA256:c2VjcmV0"], "not in the zone"),
            (BASE + ["--seed=" + SEED, "--dns-key=bad"], "NAME:ALG:BASE64"),
            (BASE + ["--seed=" + SEED, "--dst=10.0.2.2:99999"], "port"),
            (BASE + ["--seed=" + SEED, "--trusted=10.0.0.0"], "prefix"),
            (BASE + ["--seed=" + SEED, "-x", "soon"], "duration"),
            (BASE + ["--seed=" + SEED, "-c", "loose/simple"], "--canonicalization"),
            (BASE + ["--seed=" + SEED, "--private-key=AAAA"], "--private-key"),
            ([w for w in BASE if w != "--dst=10.0.2.2"] + ["--seed=" + SEED], "--nameserver"),
            ([w for w in BASE if not w.startswith("--trusted")] + ["--seed=" + SEED], "--trusted is required"),
        ]
        for words, want in cases:
            msg = self.errors(words)
            self.assertIn(want, msg, (words, msg))
            self.assertNotIn("\n", msg)

    def test_rotation_needs_seed_expiration_and_dns(self):
        words = [w for w in BASE if not w.startswith("--selector")] + ["--selector=ptt-%d"]
        self.assertIn("needs --seed", self.errors(words + ["-k", rsa_arg(), "-x", "1d"]))
        self.assertIn("needs --expiration", self.errors(words + ["--seed=" + SEED]))
        self.assertIn("--dns-server", self.errors(words + ["--seed=" + SEED, "-x", "1d"]))
        dns = ["--dns-server=10.0.2.3", "--dns-key=k._update.example.org:SHA256:c2VjcmV0"]
        self.assertIn("too short", self.errors(words + ["--seed=" + SEED, "-x", "30"] + dns))

    def test_bad_selectors(self):
        for bad in ("a%s", "p-%d-%d", "a b", "x%", "a..b"):
            msg = self.errors([w for w in BASE if not w.startswith("--selector")]
                              + ["--seed=" + SEED, "--selector=" + bad])
            self.assertIn("--selector", msg)

    def test_header_lists(self):
        c = A.parse(BASE + ["--seed=" + SEED, "-f", "Subject:To", "--oversign=none"])
        self.assertEqual(c.include, [b"subject", b"to", b"from"])
        self.assertEqual(c.oversign_list, [])

    def test_describe_has_no_secrets(self):
        c = A.parse(BASE + ["--seed=" + SEED, "--dns-server=10.0.2.3",
                            "--dns-key=k._update.example.org:SHA256:c2VjcmV0"])
        d = A.describe(c)
        self.assertNotIn(SEED, d)
        self.assertNotIn("c2VjcmV0", d)
        self.assertIn("example.org", d)
