import unittest

from ptt.dns import client as C
from ptt.dns import resolver as R
from ptt.dns import wire as W


def h(s):
    return bytes.fromhex(s.replace(" ", ""))


class Bytes:
    """randbytes that hands out a fixed byte string, then repeats it."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def __call__(self, n):
        out = bytearray()
        for i in range(n):
            out.append(self.data[self.pos % len(self.data)])
            self.pos += 1
        return bytes(out)


class Counter:
    """randbytes giving 4-byte big-endian values from a list, in turn."""

    def __init__(self, values):
        self.values = values
        self.i = 0

    def __call__(self, n):
        v = self.values[self.i % len(self.values)]
        self.i += 1
        out = bytearray()
        for k in range(n):
            out.append((v >> (8 * (n - 1 - k))) & 0xFF)
        return bytes(out)


def response(q, answer=(), rcode=W.NOERROR, qname=None, qtype=None,
             qclass=W.IN, qr=True, tc=False, qid=None, opcode=W.QUERY):
    m = W.Message(q.id if qid is None else qid, opcode, qr=qr, tc=tc, rd=True,
                  ra=True, rcode=rcode)
    m.question.append(W.Question(qname or q.name, qtype or q.rtype, qclass))
    m.answer = list(answer)
    return m.to_wire()


def rr(name, t, data, ttl=300):
    return W.RR(name, t, W.IN, ttl, data)


class TestQuery(unittest.TestCase):
    def test_wire_exact(self):
        q = R.Query("example.org", "MX", Bytes(b"\xab\xcd"))
        self.assertEqual(q.id, 0xABCD)
        want = (h("abcd 0100 0001 0000 0000 0001") + b"\x07example\x03org\x00"
                + h("000f 0001") + h("00 0029 04d0 00000000 0000"))
        self.assertEqual(q.to_wire(), want)

    def test_wire_no_edns(self):
        q = R.Query("example.org.", W.A, Bytes(b"\x00\x01"), edns_payload=None)
        self.assertEqual(q.to_wire(), h("0001 0100 0001 0000 0000 0000")
                         + b"\x07example\x03org\x00" + h("0001 0001"))

    def test_bad_name(self):
        with self.assertRaises(W.DnsError):
            R.Query("a..b", W.A, Bytes(b"\0\0"))


class TestCheck(unittest.TestCase):
    def setUp(self):
        self.q = R.Query("mail.example.org", W.A, Bytes(b"\x12\x34"))

    def test_answer(self):
        a = self.q.check(response(self.q, [rr("mail.example.org", W.A, "192.0.2.7", 60),
                                           rr("mail.example.org", W.A, "192.0.2.8", 30)]))
        self.assertEqual(a.data, ["192.0.2.7", "192.0.2.8"])
        self.assertEqual(a.ttl, 30)
        self.assertEqual(a.canonical, "mail.example.org")

    def test_qname_case_insensitive(self):
        a = self.q.check(response(self.q, [rr("MAIL.example.ORG", W.A, "192.0.2.7")],
                                  qname="Mail.Example.Org"))
        self.assertEqual(a.data, ["192.0.2.7"])

    def test_nodata(self):
        a = self.q.check(response(self.q))
        self.assertEqual(a.data, [])
        self.assertIsNone(a.ttl)

    def test_wrong_id(self):
        with self.assertRaises(R.Mismatch):
            self.q.check(response(self.q, qid=0x1235))

    def test_not_a_response(self):
        with self.assertRaises(R.Mismatch):
            self.q.check(response(self.q, qr=False))

    def test_wrong_opcode(self):
        with self.assertRaises(R.Mismatch):
            self.q.check(response(self.q, opcode=W.UPDATE))

    def test_wrong_qname(self):
        with self.assertRaises(R.Mismatch):
            self.q.check(response(self.q, qname="evil.example.org"))

    def test_wrong_qtype(self):
        with self.assertRaises(R.Mismatch):
            self.q.check(response(self.q, qtype=W.AAAA))

    def test_wrong_qclass(self):
        with self.assertRaises(R.Mismatch):
            self.q.check(response(self.q, qclass=3))

    def test_no_question(self):
        m = W.Message(self.q.id, qr=True)
        with self.assertRaises(R.Mismatch):
            self.q.check(m.to_wire())

    def test_short(self):
        with self.assertRaises(W.FormatError):
            self.q.check(b"\x12\x34\x81")

    def test_truncated(self):
        # TC: even a cut-off body is not parsed; ask again over TCP
        w = response(self.q, [rr("mail.example.org", W.A, "192.0.2.7")], tc=True)
        with self.assertRaises(R.Truncated):
            self.q.check(w[:-3])

    def test_nxdomain(self):
        with self.assertRaises(R.NxDomain) as c:
            self.q.check(response(self.q, rcode=W.NXDOMAIN))
        self.assertFalse(c.exception.temporary)
        self.assertIn("mail.example.org does not exist", str(c.exception))

    def test_servfail_is_temporary(self):
        for rc in (W.SERVFAIL, W.REFUSED, W.NOTIMP, W.FORMERR):
            with self.assertRaises(R.ServFail) as c:
                self.q.check(response(self.q, rcode=rc))
            self.assertTrue(c.exception.temporary)
            self.assertIn(W.rcode_name(rc), str(c.exception))

    def test_servfail_without_question(self):
        m = W.Message(self.q.id, qr=True, rcode=W.FORMERR)
        with self.assertRaises(R.ServFail):
            self.q.check(m.to_wire())

    def test_cname_chase(self):
        a = self.q.check(response(self.q, [
            rr("mail.example.org", W.CNAME, "a.example.net"),
            rr("a.example.net", W.CNAME, "b.example.com"),
            rr("b.example.com", W.A, "192.0.2.9"),
            rr("other.example.com", W.A, "192.0.2.66"),
        ]))
        self.assertEqual(a.data, ["192.0.2.9"])
        self.assertEqual(a.canonical, "b.example.com")

    def test_cname_query_not_chased(self):
        q = R.Query("mail.example.org", "CNAME", Bytes(b"\x00\x05"))
        a = q.check(response(q, [rr("mail.example.org", W.CNAME, "a.example.net"),
                                 rr("a.example.net", W.CNAME, "b.example.net")]))
        self.assertEqual(a.data, ["a.example.net"])

    def test_cname_nxdomain_names_target(self):
        with self.assertRaises(R.NxDomain) as c:
            self.q.check(response(self.q, [rr("mail.example.org", W.CNAME,
                                              "gone.example.net")], rcode=W.NXDOMAIN))
        self.assertEqual(c.exception.name, "gone.example.net")

    def test_cname_loop(self):
        with self.assertRaises(R.CnameError):
            self.q.check(response(self.q, [
                rr("mail.example.org", W.CNAME, "a.example.net"),
                rr("a.example.net", W.CNAME, "MAIL.example.org")]))

    def test_cname_chain_bounded(self):
        chain = []
        names = ["mail.example.org"] + ["c%d.example.net" % i for i in range(10)]
        for i in range(10):
            chain.append(rr(names[i], W.CNAME, names[i + 1]))
        chain.append(rr(names[10], W.A, "192.0.2.1"))
        with self.assertRaises(R.CnameError):
            self.q.check(response(self.q, chain))
        # eight hops are fine
        chain = [rr(names[i], W.CNAME, names[i + 1]) for i in range(8)]
        chain.append(rr(names[8], W.A, "192.0.2.1"))
        self.assertEqual(self.q.check(response(self.q, chain)).data, ["192.0.2.1"])

    def test_two_cnames_malformed(self):
        with self.assertRaises(W.FormatError):
            self.q.check(response(self.q, [
                rr("mail.example.org", W.CNAME, "a.example.net"),
                rr("mail.example.org", W.CNAME, "b.example.net")]))


class FakeDns:
    """lookup(name, rtype) from a table {(name, type): [data]}; names in
    `missing` raise NxDomain."""

    def __init__(self, table, missing=()):
        self.table = table
        self.missing = missing
        self.asked = []

    def __call__(self, name, rtype):
        self.asked.append((name, rtype))
        if name in self.missing:
            raise R.NxDomain("%s does not exist" % name, name)
        data = self.table.get((name, rtype), [])
        recs = [rr(name, rtype, d) for d in data]
        return R.Answer(name, rtype, name, recs, None)


class TestMx(unittest.TestCase):
    def test_preference_order_and_shuffle(self):
        dns = FakeDns({("ex.org", W.MX): [(20, "c.ex.org"), (10, "a.ex.org"),
                                          (10, "b.ex.org"), (30, "d.ex.org")]})
        orders = []
        for v in ([0], [1], [5, 0], [0xFFFFFFFF - 1]):
            hosts = R.mx_hosts("ex.org", dns, Counter(v))
            self.assertEqual([p for p, n in hosts], [10, 10, 20, 30])
            self.assertEqual([n for p, n in hosts][2:], ["c.ex.org", "d.ex.org"])
            orders.append(hosts[0][1])
        self.assertIn("a.ex.org", orders)
        self.assertIn("b.ex.org", orders)
        # Fisher-Yates on [a, b] with j = v % 2: 0 swaps, 1 keeps
        self.assertEqual(R.mx_hosts("ex.org", dns, Counter([0]))[0][1], "b.ex.org")
        self.assertEqual(R.mx_hosts("ex.org", dns, Counter([1]))[0][1], "a.ex.org")

    def test_shuffle_reaches_all_orders(self):
        dns = FakeDns({("ex.org", W.MX): [(5, "a"), (5, "b"), (5, "c")]})
        seen = []
        for x in range(6):
            for y in range(6):
                order = tuple([n for p, n in R.mx_hosts("ex.org", dns, Counter([x, y]))])
                if order not in seen:
                    seen.append(order)
        self.assertEqual(len(seen), 6)

    def test_duplicates_dropped(self):
        dns = FakeDns({("ex.org", W.MX): [(10, "mx.ex.org"), (20, "MX.ex.org")]})
        self.assertEqual(R.mx_hosts("ex.org", dns, Counter([0])), [(10, "mx.ex.org")])

    def test_null_mx(self):
        dns = FakeDns({("ex.org", W.MX): [(0, ".")]})
        with self.assertRaises(R.NullMx) as c:
            R.mx_hosts("ex.org", dns, Counter([0]))
        self.assertFalse(c.exception.temporary)
        self.assertIn("RFC 7505", str(c.exception))
        self.assertIn("ex.org does not accept mail", str(c.exception))

    def test_null_mx_mixed_ignored(self):
        dns = FakeDns({("ex.org", W.MX): [(0, "."), (10, "mx.ex.org")]})
        self.assertEqual(R.mx_hosts("ex.org", dns, Counter([0])), [(10, "mx.ex.org")])

    def test_implicit_mx_a(self):
        dns = FakeDns({("ex.org", W.A): ["192.0.2.1"]})
        self.assertEqual(R.mx_hosts("ex.org.", dns, Counter([0])), [(0, "ex.org")])

    def test_implicit_mx_aaaa(self):
        dns = FakeDns({("ex.org", W.AAAA): ["2001:db8::1"]})
        self.assertEqual(R.mx_hosts("ex.org", dns, Counter([0])), [(0, "ex.org")])
        self.assertEqual(dns.asked, [("ex.org", W.MX), ("ex.org", W.A),
                                     ("ex.org", W.AAAA)])

    def test_no_mx_no_address(self):
        with self.assertRaises(R.NoMailHost) as c:
            R.mx_hosts("ex.org", FakeDns({}), Counter([0]))
        self.assertFalse(c.exception.temporary)

    def test_nxdomain_propagates(self):
        with self.assertRaises(R.NxDomain):
            R.mx_hosts("ex.org", FakeDns({}, missing=("ex.org",)), Counter([0]))

    def test_randbelow_rejects_biased_values(self):
        # n = 3: 2**32 % 3 == 1, so 0xFFFFFFFF is rejected, then 7 % 3 == 1
        self.assertEqual(R.randbelow(Counter([0xFFFFFFFF, 7]), 3), 1)

    def test_host_addresses(self):
        dns = FakeDns({("h", W.A): ["192.0.2.1"], ("h", W.AAAA): ["2001:db8::1"]})
        self.assertEqual(R.host_addresses("h", dns), ["192.0.2.1", "2001:db8::1"])


class TestNameserver(unittest.TestCase):
    def test_forms(self):
        P = C.parse_nameserver
        self.assertEqual(P("udp:10.0.2.3"), ("udp", "10.0.2.3", 53))
        self.assertEqual(P("udp:10.0.2.3:5353"), ("udp", "10.0.2.3", 5353))
        self.assertEqual(P("tcp:127.0.0.1:53"), ("tcp", "127.0.0.1", 53))
        self.assertEqual(P("127.0.0.1"), ("udp", "127.0.0.1", 53))
        self.assertEqual(P("127.0.0.1:54"), ("udp", "127.0.0.1", 54))
        self.assertEqual(P("udp:[2001:DB8::1]:53"), ("udp", "2001:db8::1", 53))
        self.assertEqual(P("udp:[::1]"), ("udp", "::1", 53))
        self.assertEqual(P("udp:::1"), ("udp", "::1", 53))

    def test_errors(self):
        for bad in ("", "udp:", "udp:ns.example.org", "udp:1.2.3.4:0",
                    "udp:1.2.3.4:65536", "udp:1.2.3.4:x", "udp:[::1", "udp:[::1]x",
                    "udp:1.2.3"):
            with self.assertRaises(C.ServerSpecError):
                C.parse_nameserver(bad)

    def test_error_says_what_to_do(self):
        with self.assertRaises(C.ServerSpecError) as c:
            C.parse_nameserver("udp:ns.example.org")
        self.assertIn("udp:IP[:PORT]", str(c.exception))


class FakeTransport:
    """Scripted transport: udp_replies[i] is a function(query wire) ->
    list of datagrams for the i-th UDP exchange (None entries: timeout)."""

    def __init__(self, udp=(), tcp=()):
        self.udp_script = list(udp)
        self.tcp_script = list(tcp)
        self.calls = []

    def udp(self, ip, port, wire, timeout_ms, sport, accept):
        self.calls.append(("udp", ip, port, sport))
        f = self.udp_script.pop(0)
        for d in f(wire):
            r = accept(d)
            if r is not None:
                return r
        return None

    def tcp(self, ip, port, wire, timeout_ms):
        self.calls.append(("tcp", ip, port))
        f = self.tcp_script.pop(0)
        return f(wire)


def reply(answer=(), rcode=W.NOERROR, tc=False, qid_delta=0):
    def f(wire):
        q = W.decode(wire)
        m = W.Message((q.id + qid_delta) & 0xFFFF, qr=True, rd=True, ra=True,
                      tc=tc, rcode=rcode)
        m.question = q.question
        m.answer = [rr(q.question[0].name, q.question[0].rtype, d) for d in answer]
        return [m.to_wire()]
    return f


def both(*fs):
    def f(wire):
        out = []
        for g in fs:
            out += g(wire)
        return out
    return f


def silence(wire):
    return []


class TestClient(unittest.TestCase):
    def resolver(self, tr, servers=("udp:127.0.0.1:5300",), **kw):
        return C.Resolver(list(servers), Counter([0x11223344, 0x5566, 77]),
                          transport=tr, **kw)

    def test_udp_answer_and_random_source_port(self):
        tr = FakeTransport(udp=[reply(["192.0.2.1"])])
        r = self.resolver(tr)
        self.assertEqual(r.query("h.example", "A").data, ["192.0.2.1"])
        kind, ip, port, sport = tr.calls[0]
        self.assertEqual((kind, ip, port), ("udp", "127.0.0.1", 5300))
        self.assertTrue(1024 <= sport <= 65535)

    def test_spoofed_reply_ignored(self):
        tr = FakeTransport(udp=[both(reply(["6.6.6.6"], qid_delta=1),
                                     reply(["192.0.2.1"]))])
        self.assertEqual(self.resolver(tr).query("h.example", "A").data, ["192.0.2.1"])

    def test_truncated_goes_tcp(self):
        def tcp(wire):
            return reply(["192.0.2.2"])(wire)[0]
        tr = FakeTransport(udp=[reply(tc=True)], tcp=[tcp])
        r = self.resolver(tr)
        self.assertEqual(r.query("h.example", "A").data, ["192.0.2.2"])
        self.assertEqual([c[0] for c in tr.calls], ["udp", "tcp"])
        self.assertEqual(r.tcp_fallbacks, 1)

    def test_timeout_then_next_server(self):
        tr = FakeTransport(udp=[silence, reply(["192.0.2.3"])])
        r = self.resolver(tr, servers=("udp:127.0.0.1", "udp:127.0.0.2"))
        self.assertEqual(r.query("h.example", "A").data, ["192.0.2.3"])
        self.assertEqual([c[1] for c in tr.calls], ["127.0.0.1", "127.0.0.2"])

    def test_all_silent_timeout(self):
        tr = FakeTransport(udp=[silence, silence])
        with self.assertRaises(R.Timeout) as c:
            self.resolver(tr, attempts=2).query("h.example", "A")
        self.assertTrue(c.exception.temporary)
        self.assertIn("udp:127.0.0.1:5300", str(c.exception))

    def test_servfail_then_retry(self):
        tr = FakeTransport(udp=[reply(rcode=W.SERVFAIL), reply(["192.0.2.4"])])
        self.assertEqual(self.resolver(tr).query("h.example", "A").data, ["192.0.2.4"])

    def test_formerr_retries_without_edns(self):
        seen = []

        def record(f):
            def g(wire):
                seen.append(W.decode(wire).edns is not None)
                return f(wire)
            return g
        tr = FakeTransport(udp=[record(reply(rcode=W.FORMERR)),
                                record(reply(["192.0.2.6"]))])
        self.assertEqual(self.resolver(tr).query("h.example", "A").data, ["192.0.2.6"])
        self.assertEqual(seen, [True, False])

    def test_nxdomain_not_retried(self):
        tr = FakeTransport(udp=[reply(rcode=W.NXDOMAIN)])
        with self.assertRaises(R.NxDomain):
            self.resolver(tr, attempts=3).query("h.example", "A")
        self.assertEqual(len(tr.calls), 1)

    def test_tcp_only_server(self):
        def tcp(wire):
            return reply(["192.0.2.5"])(wire)[0]
        tr = FakeTransport(tcp=[tcp])
        r = self.resolver(tr, servers=("tcp:127.0.0.1",))
        self.assertEqual(r.query("h.example", "A").data, ["192.0.2.5"])

    def test_txt_joined(self):
        tr = FakeTransport(udp=[reply([[b"v=DKIM1; ", b"p=AB"]])])
        self.assertEqual(self.resolver(tr).txt("s._domainkey.example"), [b"v=DKIM1; p=AB"])

    def test_no_servers(self):
        with self.assertRaises(C.ServerSpecError):
            C.Resolver([], Counter([0]))


if __name__ == "__main__":
    unittest.main()
