"""Relay decisions, DSNs, signing and DNS decisions of the signer (pure parts)."""
import unittest

from ptt import arc, dkim
from ptt.crypto import keys
from ptt.mail import headers as H
from ptt.signer import dnsconf as D
from ptt.signer import dsn as DSN
from ptt.signer import keyset as K
from ptt.signer import relay as RL
from ptt.signer import signing as SG
from ptt.smtp import client as C
from ptt.smtp.replies import Reply

from test_arc import RSA_PEM

NOW = 1700000000
MSG = (b"From: Joe <joe@example.org>\r\nTo: list@lists.example.org\r\n"
       b"Subject: dinner\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
       b"Message-ID: <1@example.org>\r\n\r\nHi.\r\n")
AR = (b"Authentication-Results: lists.example.org;\r\n\tspf=pass smtp.mailfrom=example.com;\r\n"
      b"\tdkim=pass header.d=example.com; dmarc=pass header.from=example.com\r\n")


class State:
    rsa = None
    ed = None


def keypair():
    if State.rsa is None:
        State.rsa = keys.load_private_key(RSA_PEM)
        State.ed = keys.load_private_key(bytes(range(32)))
    return State.rsa, State.ed


def dns_for(rsa, ed):
    recs = {"s1-rsa._domainkey.example.org": dkim.txt_record(rsa),
            "s1-ed25519._domainkey.example.org": dkim.txt_record(ed)}
    return lambda name: recs.get(name)


class TestPeers(unittest.TestCase):
    def test_peer_ip(self):
        self.assertEqual(RL.peer_ip(("127.0.0.1", 4000)), (4, b"\x7f\0\0\x01"))
        self.assertEqual(RL.peer_ip(("::ffff:10.1.2.3", 1)), (4, b"\x0a\x01\x02\x03"))
        self.assertEqual(RL.peer_ip(("fd00::1", 1))[0], 6)
        for bad in (("?", 0), "?", None, (), ("", 0), 42):
            self.assertIsNone(RL.peer_ip(bad))

    def test_trusted(self):
        nets = [(4, b"\x0a\0\0\0", 8), (4, b"\xc0\xa8\x01\x80", 25), (6, b"\xfd" + b"\0" * 15, 8)]
        self.assertTrue(RL.trusted((4, b"\x0a\xff\x00\x01"), nets))
        self.assertTrue(RL.trusted((4, b"\xc0\xa8\x01\xff"), nets))
        self.assertFalse(RL.trusted((4, b"\xc0\xa8\x01\x7f"), nets))
        self.assertFalse(RL.trusted((4, b"\x0b\0\0\x01"), nets))
        self.assertTrue(RL.trusted(RL.peer_ip(("fd12::5", 1)), nets))
        self.assertFalse(RL.trusted(RL.peer_ip(("fe80::5", 1)), nets))
        self.assertFalse(RL.trusted(None, nets))
        self.assertFalse(RL.trusted((4, b"\x0a\0\0\x01"), []))
        self.assertTrue(RL.trusted((4, b"\x01\x02\x03\x04"), [(4, b"\0\0\0\0", 0)]))

    def test_ip_text(self):
        self.assertEqual(RL.ip_text((4, b"\x7f\0\0\x01")), "127.0.0.1")
        self.assertEqual(RL.ip_text(None), "unknown")


class TestDecisions(unittest.TestCase):
    def test_route_key(self):
        self.assertEqual(RL.route_key("a@Example.ORG", ("10.0.0.1", 25)), "dst")
        self.assertEqual(RL.route_key("a@Example.ORG", None), "example.org")

    def test_received(self):
        r = RL.received("client (evil) [x]", (4, b"\x7f\0\0\x01"), "signer.example.org", True,
                        "Tue, 14 Nov 2023 22:13:20 +0000", "b@example.net")
        self.assertTrue(r.startswith(b"Received: from clientevilx ([127.0.0.1])\r\n\tby signer.example.org"))
        self.assertIn(b"with ESMTPS", r)
        self.assertIn(b"for <b@example.net>;", r)
        self.assertTrue(r.endswith(b"+0000\r\n"))
        h, _ = H.parse(r + MSG)
        self.assertEqual(RL.count_received(h), 1)

    def results(self, *pairs):
        return [C.RecipientResult("r%d@x" % i, st, rep) for i, (st, rep) in enumerate(pairs)]

    def test_all_delivered(self):
        ok = Reply(250, "2.0.0", "queued as ABC")
        reply, failed = RL.outcome(self.results((C.DELIVERED, ok), (C.DELIVERED, ok)), "10.0.0.1:25")
        self.assertEqual(reply.code, 250)
        self.assertIn("queued as ABC", reply.text)
        self.assertEqual(failed, [])

    def test_all_refused_passes_the_reply_back(self):
        bad = Reply(550, "5.1.1", "no such user")
        reply, failed = RL.outcome(self.results((C.PERMANENT, bad)), "mx:25")
        self.assertEqual((reply.code, reply.status), (550, "5.1.1"))
        self.assertIn("mx:25 said: no such user", reply.text)
        self.assertEqual(failed, [])
        # No enhanced code from the next hop: one is made from the class.
        reply, _ = RL.outcome(self.results((C.PERMANENT, Reply(554, None, "no"))), "mx")
        self.assertEqual(reply.status, "5.0.0")

    def test_any_temporary_wins_when_nothing_was_delivered(self):
        reply, _ = RL.outcome(self.results((C.PERMANENT, Reply(550, "5.1.1", "no")),
                                           (C.TEMPORARY, Reply(451, "4.3.0", "later"))), "mx")
        self.assertEqual((reply.code, reply.status), (451, "4.3.0"))

    def test_mixed(self):
        reply, failed = RL.outcome(self.results((C.DELIVERED, Reply(250, "2.0.0", "ok")),
                                                (C.PERMANENT, Reply(550, "5.1.1", "no"))), "mx")
        self.assertEqual(reply.code, 250)
        self.assertEqual([f[0] for f in failed], ["r1@x"])
        self.assertEqual(RL.dsn_failed_reply(1, 2, "mx").code, 451)

    def test_no_results(self):
        self.assertEqual(RL.outcome([], "mx")[0].code, 451)


class TestDsn(unittest.TestCase):
    def test_build(self):
        msg = DSN.build("signer.example.org", NOW, "abc", "joe@example.org",
                        [("bob@example.net", Reply(550, "5.1.1", "no such user")),
                         ("tim@example.net", Reply(452, "4.2.2", "full"))], MSG, "mx:25")
        h, body = H.parse(msg)
        self.assertEqual(H.get_all(h, b"to"), [b" <joe@example.org>"])
        self.assertIn(b"multipart/report", H.get_all(h, b"content-type")[0])
        self.assertIn(b"Final-Recipient: rfc822; bob@example.net\r\nAction: failed\r\nStatus: 5.1.1", body)
        self.assertIn(b"Status: 5.2.2", body)     # no spool here: temporary becomes failed
        self.assertIn(b"Subject: dinner", body)  # the original header section
        self.assertTrue(body.endswith(b"--ptt-dsn-abc--\r\n"))
        self.assertEqual(msg.count(b"\n"), msg.count(b"\r\n"))


class TestSigning(unittest.TestCase):
    def test_dkim_both_algorithms(self):
        rsa, ed = keypair()
        opts = SG.Options("example.org")
        out = SG.sign_message(MSG, opts, [("rsa", b"s1-rsa", rsa), ("ed25519", b"s1-ed25519", ed)],
                              NOW, None, b"Received: from x\r\n", NOW + 3600)
        self.assertTrue(out.startswith(b"DKIM-Signature: v=1; a=rsa-sha256"))
        results = dkim.verify(out, dns_for(rsa, ed), NOW + 10)
        self.assertEqual([r.result for r in results], ["pass", "pass"])
        self.assertIn(b"x=%d" % (NOW + 3600), out)
        self.assertEqual(dkim.verify(out, dns_for(rsa, ed), NOW + 3601)[0].result, "fail")

    def test_no_from_is_refused(self):
        rsa, ed = keypair()
        with self.assertRaises(SG.SignError) as cm:
            SG.sign_message(b"Subject: x\r\n\r\nbody\r\n", SG.Options("example.org"),
                            [("rsa", b"s1-rsa", rsa)], NOW, None)
        self.assertEqual(cm.exception.reply.code, 554)
        self.assertIn("From", cm.exception.reply.text)

    def test_arc_seals_the_list_servers_results(self):
        rsa, ed = keypair()
        opts = SG.Options("example.org", mode_dkim=False, mode_arc=True,
                          authserv_id="lists.example.org")
        out = SG.sign_message(AR + MSG, opts, [("rsa", b"s1-rsa", rsa)], NOW, dns_for(rsa, ed),
                              b"Received: from x\r\n")
        h, _ = H.parse(out)
        self.assertEqual(H.key(h[0][0]), b"arc-seal")       # the seal is on top: last change
        aar = H.get_all(h, b"arc-authentication-results")[0]
        self.assertIn(b"i=1; lists.example.org; spf=pass smtp.mailfrom=example.com; dkim=pass",
                      aar.replace(b"\r\n", b""))
        self.assertEqual(arc.verify(out, dns_for(rsa, ed)), ("pass", ""))
        self.assertEqual(H.get_all(h, b"dkim-signature"), [])

    def test_dkim_then_arc(self):
        rsa, ed = keypair()
        opts = SG.Options("example.org", mode_dkim=True, mode_arc=True)
        out = SG.sign_message(AR + MSG, opts, [("rsa", b"s1-rsa", rsa), ("ed25519", b"s1-ed25519", ed)],
                              NOW, dns_for(rsa, ed))
        h, _ = H.parse(out)
        self.assertEqual([H.key(n) for n, _ in h[:5]],
                         [b"arc-seal", b"arc-message-signature", b"arc-authentication-results",
                          b"dkim-signature", b"dkim-signature"])
        self.assertEqual(arc.verify(out, dns_for(rsa, ed)), ("pass", ""))
        self.assertEqual([r.result for r in dkim.verify(out, dns_for(rsa, ed))], ["pass", "pass"])

    def test_arc_without_results_is_refused(self):
        rsa, ed = keypair()
        opts = SG.Options("example.org", mode_dkim=False, mode_arc=True, authserv_id="other.example")
        with self.assertRaises(SG.SignError) as cm:
            SG.sign_message(AR + MSG, opts, [("rsa", b"s1-rsa", rsa)], NOW, dns_for(rsa, ed))
        self.assertEqual(cm.exception.reply.status, "5.7.0")
        self.assertIn("other.example", cm.exception.reply.text)

    def test_authserv_id(self):
        self.assertEqual(SG.authserv_id(b" Lists.Example.org 1;\r\n spf=pass"), b"lists.example.org")
        h, _ = H.parse(AR + MSG)
        self.assertEqual(SG.find_auth_results(h, "LISTS.example.org")[:24], b"lists.example.org; spf=p")
        self.assertIsNone(SG.find_auth_results(h, "x.example"))


class TestDnsDecisions(unittest.TestCase):
    def test_decide(self):
        rsa, ed = keypair()
        want = dkim.txt_record(ed)
        same_other_spacing = want.replace(b"; ", b";").replace(b"p=", b"p = ") + b"; t=s"
        acts = D.decide([("a", want), ("b", want), ("c", want), ("d", want)],
                        {"a": [same_other_spacing], "b": None,
                         "c": [dkim.txt_record(rsa)], "d": [b"v=spf1 -all", want]},
                        delete=["old", "gone"])
        self.assertEqual([(x[0], x[1]) for x in acts],
                         [(D.OK, "a"), (D.PUBLISH, "b"), (D.PUBLISH, "c"), (D.OK, "d")])
        acts = D.decide([], {"old": [want], "gone": None}, delete=["old", "gone"])
        self.assertEqual([(x[0], x[1]) for x in acts], [(D.DELETE, "old")])

    def test_sync(self):
        rsa, ed = keypair()
        ring = K.Keyring("example.org", explicit={"ed25519": ed})
        plan = K.plan("s1", ["ed25519"], NOW)
        zone = {}
        lines = []

        def lookup(name):
            if name not in zone:
                raise NoName("NXDOMAIN")
            return zone[name]

        def publish(name, value):
            zone[name] = [value]

        acts = D.sync(plan, ring, "example.org", lookup, publish, None, lines.append)
        self.assertEqual([a[0] for a in acts], [D.PUBLISH])
        self.assertEqual(zone["s1-ed25519._domainkey.example.org"], [dkim.txt_record(ed)])
        acts = D.sync(plan, ring, "example.org", lookup, publish, None, lines.append)
        self.assertEqual([a[0] for a in acts], [D.OK])
        zone.clear()
        with self.assertRaises(D.DnsConfError) as cm:
            D.sync(plan, ring, "example.org", lookup, None, None, lines.append)
        self.assertIn('s1-ed25519._domainkey.example.org TXT "v=DKIM1; k=ed25519', str(cm.exception))

        def broken(name):
            raise OSError("timed out")
        with self.assertRaises(D.DnsConfError) as cm:
            D.sync(plan, ring, "example.org", broken, publish, None, lines.append)
        self.assertIn("cannot look up", str(cm.exception))


class NoName(Exception):
    temporary = False
