"""The signer's SMTP handler (ptt.signer.service) with its effects injected:
a scripted next hop (the signature of net.smtp_client.send) and resolver."""
try:
    import asyncio
except ImportError:
    import uasyncio as asyncio
import unittest

from ptt import dkim
from ptt.crypto import b64, keys
from ptt.mail import headers as H
from ptt.net.smtp_server import Envelope, Session
from ptt.signer import args as A
from ptt.signer import service as S
from ptt.smtp import client as C
from ptt.smtp.replies import Reply

from test_arc import RSA_PEM

NOW = 1700000000
MSG = (b"From: Joe <joe@example.org>\r\nTo: bob@example.net\r\nSubject: hi\r\n"
       b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHello.\r\n")


class State:
    words = None


def base_words():
    if State.words is None:
        rsa = b64.encode(keys.private_key_der(keys.load_private_key(RSA_PEM))).decode()
        ed = b64.encode(keys.private_key_der(keys.load_private_key(bytes(range(32))))).decode()
        State.words = ["--ipv4=10.0.2.15/24", "--domain=example.org", "--trusted=10.0.0.0/8",
                       "--selector=s1", "-k", rsa, "-k", ed]
    return State.words


class NextHop:
    """Answers like smtp_client.send: per recipient, from `rules`."""

    def __init__(self, rules=None, down=()):
        self.rules = rules or {}
        self.down = down
        self.sent = []

    async def send(self, host, port, local_hostname, transactions, tls_context=None,
                   require_tls=False, timeout=300, server_hostname=None):
        done = []
        for txn in transactions:
            self.sent.append((host, port, txn))
            results = []
            for r in txn.recipients:
                if host in self.down:
                    rep = Reply(421, "4.4.1", "connection refused")
                    results.append(C.RecipientResult(r, C.TEMPORARY, rep))
                    continue
                rep = self.rules.get(r.split("@")[0], Reply(250, "2.0.0", "Ok: queued as X1"))
                st = C.DELIVERED if rep.code < 300 else (C.PERMANENT if rep.code >= 500 else C.TEMPORARY)
                results.append(C.RecipientResult(r, st, rep))
            done.append(C.TransactionDone(txn, results))
        return done


class NoSuchDomain(Exception):
    temporary = False


class FakeResolver:
    def __init__(self, mx, records=None):
        self.mx = mx
        self.records = records or {}

    def mx_hosts(self, domain):
        if domain not in self.mx:
            raise NoSuchDomain("%s does not exist (NXDOMAIN)" % domain)
        return [(10 * i, h) for i, h in enumerate(self.mx[domain])]

    def addresses(self, host):
        return [host.replace("mx-", "")]

    def txt(self, name):
        return [self.records[name]] if name in self.records else []


def run(coro):
    return asyncio.run(coro)


class Harness:
    def __init__(self, extra=(), hop=None, resolver=None):
        self.cfg = A.parse(base_words() + list(extra))
        self.keys = S.SigningKeys(self.cfg)
        self.keys.update(NOW)
        self.hop = hop or NextHop()
        self.lines = []
        self.relay = S.Relay(self.cfg, self.keys, self.hop.send, resolver, lambda: NOW,
                             lambda n: b"\x01" * n, self.lines.append)

    def session(self, ip="10.1.2.3"):
        s = Session((ip, 40000))
        s.helo_name = "lists.example.org"
        self.relay.on_connect(s)
        return s

    def transaction(self, s, sender, rcpts, data=MSG):
        r = self.relay.on_mail(s, sender, {})
        if r.code != 250:
            return r, []
        accepted = []
        for rc in rcpts:
            if self.relay.on_rcpt(s, rc, {}).code == 250:
                accepted.append(rc)
        return run(self.relay.on_message(s, Envelope(sender, accepted, {}), data)), accepted

    def dns(self):
        recs = {}
        for alg, sel, key in self.keys.signers():
            recs["%s._domainkey.example.org" % sel.decode()] = dkim.txt_record(key)
        return lambda name: recs.get(name)


class TestTrust(unittest.TestCase):
    def test_untrusted_client_gets_550_at_mail(self):
        h = Harness(["--dst=10.0.2.2"])
        s = h.session("192.0.2.1")
        r = h.relay.on_mail(s, "a@example.org", {})
        self.assertEqual((r.code, r.status), (550, "5.7.1"))
        self.assertEqual(h.relay.on_rcpt(s, "b@example.net", {}).code, 550)
        self.assertEqual(h.hop.sent, [])

    def test_unknown_peer_is_untrusted(self):
        h = Harness(["--dst=10.0.2.2"])
        s = Session(("?", 0))
        h.relay.on_connect(s)
        self.assertEqual(h.relay.on_mail(s, "a@example.org", {}).code, 550)


class TestRelay(unittest.TestCase):
    def test_signed_and_relayed_to_dst(self):
        h = Harness(["--dst=10.0.2.2:2525"])
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@example.net", "tim@example.com"])
        self.assertEqual(reply.code, 250)
        self.assertIn("Ok: queued as X1", reply.text)
        host, port, txn = h.hop.sent[0]
        self.assertEqual((host, port), ("10.0.2.2", 2525))
        self.assertEqual(txn.recipients, ["bob@example.net", "tim@example.com"])
        self.assertEqual(txn.reverse_path, "joe@example.org")
        hdrs, _ = H.parse(txn.data)
        self.assertEqual([H.key(n) for n, _ in hdrs[:3]], [b"dkim-signature", b"dkim-signature", b"received"])
        self.assertEqual([r.result for r in dkim.verify(txn.data, h.dns(), NOW)], ["pass", "pass"])
        self.assertTrue(txn.data.endswith(MSG))

    def test_refusal_comes_back(self):
        hop = NextHop({"bob": Reply(550, "5.1.1", "no such user"), "tim": Reply(452, "4.2.2", "full")})
        h = Harness(["--dst=10.0.2.2"], hop)
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@example.net"])
        self.assertEqual((reply.code, reply.status), (550, "5.1.1"))
        self.assertIn("no such user", reply.text)
        reply, _ = h.transaction(h.session(), "joe@example.org", ["tim@example.net"])
        self.assertEqual((reply.code, reply.status), (452, "4.2.2"))

    def test_mixed_outcome_sends_a_dsn(self):
        hop = NextHop({"bob": Reply(550, "5.1.1", "no such user")})
        h = Harness(["--dst=10.0.2.2"], hop)
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@example.net", "tim@example.net"])
        self.assertEqual(reply.code, 250)
        self.assertIn("1 of 2", reply.text)
        self.assertEqual(len(hop.sent), 2)
        dsn = hop.sent[1][2]
        self.assertEqual(dsn.reverse_path, "")
        self.assertEqual(dsn.recipients, ["joe@example.org"])
        self.assertIn(b"Final-Recipient: rfc822; bob@example.net", dsn.data)
        self.assertEqual([r.result for r in dkim.verify(dsn.data, h.dns(), NOW)], ["pass", "pass"])

    def test_mixed_outcome_without_dsn_is_temporary(self):
        hop = NextHop({"bob": Reply(550, "5.1.1", "no such user"),
                       "joe": Reply(550, "5.1.1", "no bounces here")})
        h = Harness(["--dst=10.0.2.2"], hop)
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@example.net", "tim@example.net"])
        self.assertEqual((reply.code, reply.status), (451, "4.4.0"))
        self.assertIn("duplicate", reply.text)

    def test_mixed_with_null_sender_is_accepted(self):
        hop = NextHop({"bob": Reply(550, "5.1.1", "no such user")})
        h = Harness(["--dst=10.0.2.2"], hop)
        reply, _ = h.transaction(h.session(), "", ["bob@example.net", "tim@example.net"])
        self.assertEqual(reply.code, 250)
        self.assertEqual(len(hop.sent), 1)

    def test_unsignable_message_is_refused_not_relayed(self):
        h = Harness(["--dst=10.0.2.2"])
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@example.net"],
                                 b"Subject: no from\r\n\r\nx\r\n")
        self.assertEqual(reply.code, 554)
        self.assertEqual(h.hop.sent, [])

    def test_loop(self):
        h = Harness(["--dst=10.0.2.2"])
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@example.net"],
                                 b"Received: x\r\n" * 30 + MSG)
        self.assertEqual((reply.code, reply.status), (554, "5.4.6"))

    def test_expiration_sets_x(self):
        h = Harness(["--dst=10.0.2.2", "-x", "1d"])
        h.transaction(h.session(), "joe@example.org", ["bob@example.net"])
        self.assertIn(b"x=%d;" % (NOW + 86400), h.hop.sent[0][2].data)


class TestMx(unittest.TestCase):
    def words(self):
        return ["--nameserver=udp:10.0.2.3"]

    def test_one_next_hop_per_transaction(self):
        res = FakeResolver({"example.net": ["mx-10.9.0.1"], "example.com": ["mx-10.9.0.2"]})
        h = Harness(self.words(), resolver=res)
        reply, accepted = h.transaction(h.session(), "joe@example.org",
                                        ["bob@example.net", "tim@example.com", "al@EXAMPLE.net"])
        self.assertEqual(accepted, ["bob@example.net", "al@EXAMPLE.net"])
        self.assertEqual(reply.code, 250)
        self.assertEqual(h.hop.sent[0][:2], ("10.9.0.1", 25))
        s = h.session()
        h.relay.on_mail(s, "joe@example.org", {})
        h.relay.on_rcpt(s, "bob@example.net", {})
        r = h.relay.on_rcpt(s, "tim@example.com", {})
        self.assertEqual((r.code, r.status), (452, "4.5.3"))

    def test_next_mx_after_connection_failure(self):
        res = FakeResolver({"example.net": ["mx-10.9.0.1", "mx-10.9.0.2"]})
        hop = NextHop(down=("10.9.0.1",))
        h = Harness(self.words() + ["--mx-port=2525"], hop, res)
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@example.net"])
        self.assertEqual(reply.code, 250)
        self.assertEqual([(x[0], x[1]) for x in hop.sent], [("10.9.0.1", 2525), ("10.9.0.2", 2525)])

    def test_all_mx_down_is_temporary(self):
        res = FakeResolver({"example.net": ["mx-10.9.0.1"]})
        h = Harness(self.words(), NextHop(down=("10.9.0.1",)), res)
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@example.net"])
        self.assertEqual((reply.code, reply.status), (451, "4.4.1"))

    def test_no_such_domain_is_permanent(self):
        h = Harness(self.words(), resolver=FakeResolver({}))
        reply, _ = h.transaction(h.session(), "joe@example.org", ["bob@nowhere.invalid"])
        self.assertEqual((reply.code, reply.status), (550, "5.1.2"))


class TestKeys(unittest.TestCase):
    def test_rotating_keys_from_seed(self):
        seed = b64.encode(bytes(range(32))).decode()
        words = ["--ipv4=10.0.2.15/24", "--domain=example.org", "--trusted=10.0.0.0/8",
                 "--dst=10.0.2.2", "--selector=ptt-%d", "--seed=" + seed, "-x", "1h",
                 "--algorithm=ed25519", "--dns-server=10.0.2.3",
                 "--dns-key=k._update.example.org:SHA256:c2VjcmV0"]
        cfg = A.parse(words)
        k = S.SigningKeys(cfg)
        p = k.update(NOW)
        start = NOW - NOW % 3600
        self.assertEqual(k.signers()[0][1], b"ptt-%d-ed25519" % start)
        self.assertEqual(k.expire(NOW), NOW + 3600)
        first = k.signers()[0][2].public_bytes
        k.update(start + 3600)
        self.assertEqual(k.signers()[0][1], b"ptt-%d-ed25519" % (start + 3600))
        self.assertNotEqual(k.signers()[0][2].public_bytes, first)
        self.assertEqual(p.next_change, start + 3600 - 300)
