import unittest

from ptt.dns import wire as W


def h(s):
    """Hex with spaces and '|' separators -> bytes."""
    return bytes.fromhex(s.replace(" ", "").replace("|", "").replace("\n", ""))


def lab(*labels):
    out = b""
    for l in labels:
        out += bytes([len(l)]) + l
    return out + b"\0"


# example.org MX, ID 0x1234, RD (RFC 1035 4.1.1 / 4.1.2)
QUERY_MX = (h("1234 0100 0001 0000 0000 0000") + lab(b"example", b"org")
            + h("000f 0001"))

# The answer: two MX with compression (RFC 1035 4.1.4): owner c00c and
# exchange "mxN" + pointer to the question name.
RESP_MX = (h("1234 8180 0001 0002 0000 0000") + lab(b"example", b"org")
           + h("000f 0001")
           + h("c00c 000f 0001 00000e10 0008 000a") + b"\x03mx1" + h("c00c")
           + h("c00c 000f 0001 00000e10 0008 0014") + b"\x03mx2" + h("c00c"))


class Rng:
    """Deterministic xorshift32 for fuzzing."""

    def __init__(self, seed):
        self.x = seed

    def next(self):
        x = self.x
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.x = x
        return x


class TestEncode(unittest.TestCase):
    def test_query_exact(self):
        m = W.Message(0x1234, rd=True)
        m.question.append(W.Question("example.org", W.MX))
        self.assertEqual(m.to_wire(), QUERY_MX)

    def test_query_trailing_dot_same(self):
        m = W.Message(0x1234, rd=True)
        m.question.append(W.Question("example.org.", W.MX))
        self.assertEqual(m.to_wire(), QUERY_MX)

    def test_query_with_edns(self):
        m = W.Message(0x1234, rd=True)
        m.question.append(W.Question("example.org", W.MX))
        m.edns = W.Edns(1232)
        want = (h("1234 0100 0001 0000 0000 0001") + lab(b"example", b"org")
                + h("000f 0001") + h("00 0029 04d0 00000000 0000"))
        self.assertEqual(m.to_wire(), want)

    def test_response_compressed_exact(self):
        m = W.Message(0x1234, qr=True, rd=True, ra=True)
        m.question.append(W.Question("example.org", W.MX))
        m.answer.append(W.RR("example.org", W.MX, W.IN, 3600, (10, "mx1.example.org")))
        m.answer.append(W.RR("example.org", W.MX, W.IN, 3600, (20, "mx2.example.org")))
        self.assertEqual(m.to_wire(), RESP_MX)

    def test_uncompressed(self):
        m = W.Message(1)
        m.answer.append(W.RR("a.example", W.CNAME, W.IN, 1, "b.example"))
        want = (h("0001 0000 0000 0001 0000 0000") + lab(b"a", b"example")
                + h("0005 0001 00000001 000b") + lab(b"b", b"example"))
        self.assertEqual(m.to_wire(compress=False), want)
        # compressed: rdata "b" + pointer to "example" at offset 14
        want = (h("0001 0000 0000 0001 0000 0000") + lab(b"a", b"example")
                + h("0005 0001 00000001 0004") + b"\x01b" + h("c00e"))
        self.assertEqual(m.to_wire(), want)

    def test_txt_split_over_255(self):
        m = W.Message(7)
        m.answer.append(W.RR("t", W.TXT, W.IN, 60, b"a" * 300))
        want = (h("0007 0000 0000 0001 0000 0000") + lab(b"t")
                + h("0010 0001 0000003c") + h("012e") + b"\xff" + b"a" * 255
                + b"\x2d" + b"a" * 45)
        wire = m.to_wire()
        self.assertEqual(wire, want)
        rr = W.decode(wire).answer[0]
        self.assertEqual(rr.data, [b"a" * 255, b"a" * 45])
        self.assertEqual(W.txt_value(rr.data), b"a" * 300)

    def test_txt_multiple_strings(self):
        m = W.Message(7)
        m.answer.append(W.RR("t", W.TXT, W.IN, 60, [b"v=DKIM1; ", b"p=AB", b""]))
        wire = m.to_wire()
        self.assertTrue(wire.endswith(h("0010") + b"\x09v=DKIM1; \x04p=AB\x00"))
        self.assertEqual(W.decode(wire).answer[0].data, [b"v=DKIM1; ", b"p=AB", b""])

    def test_txt_string_too_long(self):
        m = W.Message(7)
        m.answer.append(W.RR("t", W.TXT, W.IN, 60, [b"a" * 256]))
        with self.assertRaises(W.FormatError):
            m.to_wire()

    def test_a_aaaa_exact(self):
        m = W.Message(2)
        m.answer.append(W.RR("h", W.A, W.IN, 5, "192.0.2.1"))
        m.answer.append(W.RR("h", W.AAAA, W.IN, 5, "2001:db8::1"))
        want = (h("0002 0000 0000 0002 0000 0000") + lab(b"h")
                + h("0001 0001 00000005 0004 c0000201")
                + h("c00c 001c 0001 00000005 0010 20010db8000000000000000000000001"))
        self.assertEqual(m.to_wire(), want)

    def test_soa_ns_tlsa_roundtrip(self):
        m = W.Message(3, qr=True, aa=True)
        m.question.append(W.Question("example.org", W.SOA))
        soa = ("ns.example.org", "hostmaster.example.org", 2024010101, 3600,
               600, 86400, 300)
        m.answer.append(W.RR("example.org", W.SOA, W.IN, 300, soa))
        m.authority.append(W.RR("example.org", W.NS, W.IN, 300, "ns.example.org"))
        m.additional.append(W.RR("_25._tcp.mx.example.org", W.TLSA, W.IN, 300,
                                 (3, 1, 1, b"\x01\x02\x03")))
        m.additional.append(W.RR("x.example.org", 99, W.IN, 300, b"\xde\xad"))
        d = W.decode(m.to_wire())
        self.assertEqual(d.answer[0].data, soa)
        self.assertEqual(d.authority[0].data, "ns.example.org")
        self.assertEqual(d.additional[0].data, (3, 1, 1, b"\x01\x02\x03"))
        self.assertEqual(d.additional[1].data, b"\xde\xad")
        self.assertTrue(d.qr and d.aa)
        self.assertEqual(d.to_wire(), m.to_wire())

    def test_flags_roundtrip(self):
        m = W.Message(0xFFFF, W.UPDATE, qr=True, aa=True, tc=True, rd=True,
                      ra=True, ad=True, cd=True, rcode=W.NOTAUTH)
        w = m.to_wire()
        self.assertEqual(w[:4], h("ffff afb9"))
        d = W.decode(w)
        self.assertEqual((d.opcode, d.qr, d.aa, d.tc, d.rd, d.ra, d.ad, d.cd,
                          d.rcode), (W.UPDATE, True, True, True, True, True,
                                     True, True, W.NOTAUTH))

    def test_extended_rcode(self):
        m = W.Message(1, qr=True, rcode=W.BADSIG)
        with self.assertRaises(W.FormatError):
            m.to_wire()
        m.edns = W.Edns(512)
        d = W.decode(m.to_wire())
        self.assertEqual(d.rcode, W.BADSIG)

    def test_edns_options(self):
        m = W.Message(1)
        m.edns = W.Edns(4096, do=True, options=[(10, b"12345678")])
        w = m.to_wire()
        self.assertEqual(w[12:], h("00 0029 1000 00008000 000c 000a 0008") + b"12345678")
        e = W.decode(w).edns
        self.assertEqual((e.payload, e.do, e.options), (4096, True, [(10, b"12345678")]))

    def test_update_empty_rdata(self):
        m = W.Message(1, W.UPDATE)
        m.authority.append(W.RR("a.example", W.TXT, W.CLASS_ANY, 0, None))
        w = m.to_wire()
        self.assertTrue(w.endswith(h("0010 00ff 00000000 0000")))
        self.assertIsNone(W.decode(w).authority[0].data)


class TestDecode(unittest.TestCase):
    def test_response(self):
        m = W.decode(RESP_MX)
        self.assertEqual(m.id, 0x1234)
        self.assertTrue(m.qr and m.rd and m.ra)
        self.assertEqual(m.question, [W.Question("example.org", W.MX, W.IN)])
        self.assertEqual([rr.data for rr in m.answer],
                         [(10, "mx1.example.org"), (20, "mx2.example.org")])
        self.assertEqual(m.answer[0].ttl, 3600)
        self.assertEqual(m.answer[0].name, "example.org")

    def test_bytearray_and_memoryview_input(self):
        self.assertEqual(W.decode(bytearray(RESP_MX)).id, 0x1234)

    def test_every_prefix_raises_format_error(self):
        for n in range(len(RESP_MX)):
            with self.assertRaises(W.FormatError):
                W.decode(RESP_MX[:n])

    def test_trailing_junk(self):
        with self.assertRaises(W.FormatError):
            W.decode(RESP_MX + b"\0")

    def test_pointer_loop_self(self):
        w = h("0001 8000 0001 0000 0000 0000") + h("c00c 0001 0001")
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_pointer_loop_two(self):
        # question name at 12: "a" then a pointer to 20, the answer's owner,
        # which points back to 12: a -> c014 -> c00c -> a -> ...
        w = (h("0001 8000 0001 0001 0000 0000") + b"\x01a" + h("c014")
             + h("0001 0001") + h("c00c 0001 0001 00000000 0004 01020304"))
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_pointer_forward(self):
        w = h("0001 8000 0001 0000 0000 0000") + h("c010 0001 0001") + b"\x00"
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_pointer_out_of_range(self):
        w = h("0001 8000 0001 0000 0000 0000") + h("ffff 0001 0001")
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_pointer_into_header(self):
        w = h("0001 8000 0001 0000 0000 0000") + h("c002 0001 0001")
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_reserved_label_type(self):
        w = h("0001 8000 0001 0000 0000 0000") + h("4001 00 0001 0001")
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_name_too_long_via_pointers(self):
        # 4 names of 63-byte labels, each pointing to the previous: the
        # fourth expands beyond 255 octets.
        body = bytearray(h("0001 8000 0004 0000 0000 0000"))
        prev = None
        for i in range(5):
            start = len(body)
            body += b"\x3f" + b"a" * 63
            if prev is None:
                body += b"\x00"
            else:
                body += bytes([0xC0 | (prev >> 8), prev & 0xFF])
            body += h("0001 0001")
            prev = start
        body[5] = 5
        with self.assertRaises(W.FormatError):
            W.decode(bytes(body))

    def test_rdlength_past_end(self):
        w = (h("0001 8000 0000 0001 0000 0000") + b"\x00"
             + h("0001 0001 00000000 0010 01020304"))
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_a_wrong_length(self):
        w = (h("0001 8000 0000 0001 0000 0000") + b"\x00"
             + h("0001 0001 00000000 0005 0102030405"))
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_mx_rdata_length_mismatch(self):
        # MX whose name ends before its rdlength
        w = (h("0001 8000 0000 0001 0000 0000") + b"\x00"
             + h("000f 0001 00000000 0005 000a 00 ffff"))
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_txt_string_past_record(self):
        w = (h("0001 8000 0000 0001 0000 0000") + b"\x00"
             + h("0010 0001 00000000 0003 05 6162"))
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_name_in_rdata_cannot_run_past_rdata(self):
        # CNAME rdlength 2, but the name in it is 3 bytes long
        w = (h("0001 8000 0000 0001 0000 0000") + b"\x00"
             + h("0005 0001 00000000 0002 0161 00"))
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_opt_outside_additional(self):
        w = (h("0001 8000 0000 0001 0000 0000") + h("00 0029 0200 00000000 0000"))
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_two_opt(self):
        w = (h("0001 8000 0000 0000 0000 0002") + h("00 0029 0200 00000000 0000") * 2)
        with self.assertRaises(W.FormatError):
            W.decode(w)

    def test_fuzz_only_format_errors(self):
        rng = Rng(12345)
        seeds = [RESP_MX, QUERY_MX]
        for i in range(1500):
            b = bytearray(seeds[i % 2])
            for k in range(1 + rng.next() % 4):
                b[rng.next() % len(b)] = rng.next() & 0xFF
            if rng.next() % 3 == 0:
                b = b[:rng.next() % len(b)]
            try:
                W.decode(bytes(b))
            except W.FormatError:
                pass


class TestNames(unittest.TestCase):
    def test_escapes_roundtrip(self):
        labels = [b"a.b", b"c\\d", b"sp ace", b"\x00\xff"]
        name = W.labels_name(labels)
        self.assertEqual(name, "a\\.b.c\\\\d.sp\\032ace.\\000\\255")
        self.assertEqual(W.name_labels(name), labels)

    def test_root(self):
        self.assertEqual(W.name_labels("."), [])
        self.assertEqual(W.labels_name([]), ".")
        self.assertEqual(W.name_wire("."), b"\x00")

    def test_limits(self):
        W.name_labels("a" * 63 + ".org")
        with self.assertRaises(W.DnsError):
            W.name_labels("a" * 64 + ".org")
        ok = ".".join(["a" * 63] * 3 + ["a" * 61])   # 255 octets on the wire
        self.assertEqual(len(W.name_wire(ok)), 255)
        with self.assertRaises(W.DnsError):
            W.name_labels(ok + "a")

    def test_bad_names(self):
        for bad in ("a..b", ".a", "a\\", "a\\25", "a\\999", "h\u00e9.org"):
            with self.assertRaises(W.DnsError):
                W.name_labels(bad)

    def test_canonical_and_subdomain(self):
        self.assertEqual(W.canonical("WWW.Example.ORG."), "www.example.org")
        self.assertTrue(W.same_name("a.B.c", "A.b.C."))
        self.assertTrue(W.is_subdomain("x.Example.org", "example.org"))
        self.assertTrue(W.is_subdomain("example.org", "example.org"))
        self.assertFalse(W.is_subdomain("badexample.org", "example.org"))
        self.assertFalse(W.is_subdomain("org", "example.org"))

    def test_type_code(self):
        self.assertEqual(W.type_code("mx"), 15)
        self.assertEqual(W.type_code("TYPE99"), 99)
        self.assertEqual(W.type_code(16), 16)
        with self.assertRaises(W.FormatError):
            W.type_code("BOGUS")


class TestAddresses(unittest.TestCase):
    def test_ipv6_text(self):
        cases = [("2001:db8::1", "2001:db8::1"), ("::", "::"), ("::1", "::1"),
                 ("1::", "1::"), ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
                 ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
                 ("::ffff:192.0.2.1", "::ffff:c000:201"),
                 ("fe80:0000::0001", "fe80::1")]
        for text, want in cases:
            self.assertEqual(W.ipv6_text(W.ipv6_bytes(text)), want)

    def test_bad_ipv6(self):
        for bad in ("", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9",
                    "1:2:3:4:5:6:7", "g::", "::1.2.3", "1:2:3:4:5:6:7::8"):
            with self.assertRaises(W.FormatError):
                W.ipv6_bytes(bad)

    def test_ipv4(self):
        self.assertEqual(W.ipv4_bytes("127.0.0.1"), b"\x7f\0\0\x01")
        for bad in ("1.2.3", "1.2.3.256", "01.2.3.4", "a.b.c.d", "1.2.3.4.5", ""):
            with self.assertRaises(W.FormatError):
                W.ipv4_bytes(bad)


if __name__ == "__main__":
    unittest.main()
