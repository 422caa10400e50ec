import unittest

from ptt.platform import bootargs as B

MICROVM_TAIL = (" virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11"
                " virtio_mmio.device=512@0xfeb00a00:10")


class TestValues(unittest.TestCase):
    def test_ipv4_cidr(self):
        self.assertEqual(B.parse_ipv4_cidr("10.0.2.15/24"), (b"\x0a\x00\x02\x0f", 24))
        self.assertEqual(B.parse_ipv4_cidr("0.0.0.0/0"), (b"\0\0\0\0", 0))

    def test_bad_cidr(self):
        for bad in ("10.0.2.15", "10.0.2/24", "10.0.2.256/24", "10.0.2.15/33", "a.b.c.d/8",
                    "10.0.2.15/", "10.0.2.15/2x", "010.0.0.1/8", "1.2.3.4.5/8"):
            with self.assertRaises(ValueError):
                B.parse_ipv4_cidr(bad)

    def test_ipv6(self):
        self.assertEqual(B.parse_ipv6("::1"), b"\0" * 15 + b"\x01")
        self.assertEqual(B.parse_ipv6("fd00::2")[:2], b"\xfd\x00")
        self.assertEqual(len(B.parse_ipv6("1:2:3:4:5:6:7:8")), 16)
        for bad in ("1::2::3", "1:2:3", "12345::", "g::1", ""):
            with self.assertRaises(ValueError):
                B.parse_ipv6(bad)
        self.assertEqual(B.parse_ipv6_cidr("fd00::2/64")[1], 64)

    def test_domain(self):
        self.assertEqual(B.parse_domain("Lists.Example.ORG"), "lists.example.org")
        for bad in ("", "-a.org", "a-.org", "a..org", "a_b.org", "x" * 64 + ".org"):
            with self.assertRaises(ValueError):
                B.parse_domain(bad)

    def test_size(self):
        self.assertEqual(B.parse_size("10485760"), 10485760)
        self.assertEqual(B.parse_size("10MiB"), 10485760)
        self.assertEqual(B.parse_size("512KiB"), 524288)
        self.assertEqual(B.parse_size("1GiB"), 1 << 30)
        for bad in ("", "MiB", "1.5MiB", "-1", "0", "10 MiB"):
            with self.assertRaises(ValueError):
                B.parse_size(bad)

    def test_nameserver(self):
        self.assertEqual(B.parse_nameserver("udp:10.0.2.3"), ("udp", "10.0.2.3", 53))
        self.assertEqual(B.parse_nameserver("tcp:10.0.2.3:5353"), ("tcp", "10.0.2.3", 5353))
        self.assertEqual(B.parse_nameserver("udp:[fd00::3]:53"), ("udp", "fd00::3", 53))
        for bad in ("10.0.2.3", "udp:", "udp:10.0.2.3:0", "udp:10.0.2.3:x", "xyz:1.2.3.4"):
            with self.assertRaises(ValueError):
                B.parse_nameserver(bad)


class TestParse(unittest.TestCase):
    def test_minimal(self):
        a = B.parse(["--ipv4=10.0.2.15/24", "--domain=lists.example.org"])
        self.assertEqual(a.ipv4, (b"\x0a\x00\x02\x0f", 24))
        self.assertEqual(a.domain, "lists.example.org")
        self.assertEqual(a.limit, 10485760)
        self.assertIsNone(a.ipv4_gateway)
        self.assertEqual(a.nameserver, [])
        self.assertFalse(a.verbose)

    def test_forms(self):
        a = B.parse(["--ipv4", "10.0.2.15/24", "--domain", "x.org", "-n", "udp:10.0.2.3",
                     "--nameserver=udp:10.0.2.4:53", "-v", "--limit=1MiB",
                     "--ipv4-gateway=10.0.2.2"])
        self.assertEqual(a.nameserver, [("udp", "10.0.2.3", 53), ("udp", "10.0.2.4", 53)])
        self.assertTrue(a.verbose)
        self.assertEqual(a.limit, 1 << 20)
        self.assertEqual(a.ipv4_gateway, b"\x0a\x00\x02\x02")

    def _err(self, words):
        with self.assertRaises(B.BootArgError) as cm:
            B.parse(words)
        msg = str(cm.exception)
        self.assertNotIn("\n", msg)
        return msg

    def test_missing_domain(self):
        msg = self._err(["--ipv4=10.0.2.15/24"])
        self.assertIn("--domain is required", msg)

    def test_missing_ipv4(self):
        self.assertIn("--ipv4 is required", self._err(["--domain=x.org"]))

    def test_bad_cidr(self):
        msg = self._err(["--ipv4=10.0.2.300/24", "--domain=x.org"])
        self.assertIn("--ipv4", msg)
        self.assertIn("10.0.2.300/24", msg)

    def test_unknown(self):
        self.assertIn("unknown boot argument --colour",
                      self._err(["--colour=auto", "--ipv4=10.0.2.15/24", "--domain=x.org"]))

    def test_twice(self):
        self.assertIn("twice", self._err(["--domain=a.org", "--domain=b.org",
                                          "--ipv4=10.0.2.15/24"]))

    def test_missing_value(self):
        self.assertIn("needs a value", self._err(["--ipv4=10.0.2.15/24", "--domain"]))
        self.assertIn("needs a value", self._err(["--ipv4=", "--domain=x.org"]))

    def test_mixed_nameservers(self):
        self.assertIn("mixed", self._err(["--ipv4=10.0.2.15/24", "--domain=x.org",
                                          "-n", "udp:1.1.1.1", "-n", "tcp:1.0.0.1"]))

    def test_bare_word(self):
        self.assertIn("unexpected word", self._err(["hello"]))


class TestCmdline(unittest.TestCase):
    def test_split_quotes(self):
        toks = B.split_cmdline('console=ttyS0 ptt="--a=1 --b=2" quiet  x="y"')
        self.assertEqual(toks, [("console", "ttyS0"), ("ptt", "--a=1 --b=2"),
                                ("quiet", None), ("x", "y")])

    def test_canonical_with_microvm_tail(self):
        line = ('console=ttyS0 panic=-1 reboot=t quiet ptt="--ipv4=10.0.2.15/24 '
                '--ipv4-gateway=10.0.2.2 --domain=lists.example.org -n udp:10.0.2.3"'
                + MICROVM_TAIL)
        a = B.from_cmdline(line)
        self.assertEqual(a.domain, "lists.example.org")
        self.assertEqual(a.nameserver, [("udp", "10.0.2.3", 53)])
        self.assertEqual(a.ipv4_gateway, b"\x0a\x00\x02\x02")

    def test_bare_words(self):
        line = ("console=ttyS0 --ipv4=10.0.2.15/24 --domain=lists.example.org -n udp:10.0.2.3"
                " quiet" + MICROVM_TAIL)
        self.assertEqual(B.words_from_cmdline(line),
                         ["--ipv4=10.0.2.15/24", "--domain=lists.example.org", "-n",
                          "udp:10.0.2.3"])
        a = B.from_cmdline(line)
        self.assertEqual(a.nameserver, [("udp", "10.0.2.3", 53)])

    def test_double_dash_stops(self):
        line = 'console=ttyS0 ptt="--domain=x.org" -- --ipv4=10.0.2.15/24'
        self.assertEqual(B.words_from_cmdline(line), ["--domain=x.org"])

    def test_encode_roundtrip(self):
        words = ["--ipv4=10.0.2.15/24", "--domain=lists.example.org", "-n", "udp:10.0.2.3"]
        p = B.encode(words)
        self.assertEqual(p, 'ptt="--ipv4=10.0.2.15/24 --domain=lists.example.org -n udp:10.0.2.3"')
        self.assertEqual(B.words_from_cmdline("console=ttyS0 " + p + MICROVM_TAIL), words)
        with self.assertRaises(B.BootArgError):
            B.encode(['--admin="x y"'])

    def test_missing_domain_from_cmdline(self):
        with self.assertRaises(B.BootArgError):
            B.from_cmdline('console=ttyS0 ptt="--ipv4=10.0.2.15/24"' + MICROVM_TAIL)

    def test_describe(self):
        names = [d["name"] for d in B.describe()]
        self.assertIn("--ipv4", names)
        self.assertIn("--domain", names)


class TestListsRouting(unittest.TestCase):
    def base(self):
        return ["--ipv4=10.0.2.15/24", "--domain=lists.example.org"]

    def test_destination_and_admin(self):
        a = B.parse(self.base() + ["--destination=10.0.2.2", "--admin=pm:ops@example.org"], B.LISTS)
        self.assertEqual(a.destination, ("10.0.2.2", 25))
        self.assertEqual(a.admin, ("pm", "ops@example.org"))
        a = B.parse(self.base() + ["--destination=10.0.2.2:2525", "--admin=ops@example.org"], B.LISTS)
        self.assertEqual(a.destination, ("10.0.2.2", 2525))
        self.assertEqual(a.admin, (None, "ops@example.org"))

    def test_bad_destination_and_admin(self):
        for w in ("--destination=mx.example.org", "--destination=10.0.2.2:0", "--admin=nobody",
                  "--admin=:ops@example.org"):
            with self.assertRaises(B.BootArgError):
                B.parse(self.base() + [w], B.LISTS)

    def test_reference_round_trip_arguments_are_refused(self):
        for w in ("--submission-destination=10.0.0.2", "--forward-granted-for=10.0.0.0/24"):
            with self.assertRaises(B.BootArgError):
                B.parse(self.base() + [w], B.LISTS)
