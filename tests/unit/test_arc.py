"""ARC sealing and chain validation (ptt.arc, RFC 8617)."""
import unittest

from ptt import arc, dkim
from ptt.crypto import keys
from ptt.mail import headers as H
from testkeys import RSA_PEM


MSG = (b"From: Joe <joe@football.example.com>\r\nTo: list@lists.example.org\r\n"
       b"Subject: dinner\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
       b"Message-ID: <1@football.example.com>\r\n\r\nHi.\r\n")
NOW = 1700000000


class State:
    key = None
    ed = None


def setup_keys():
    if State.key is None:
        State.key = keys.load_private_key(RSA_PEM)
        State.ed = keys.load_private_key(bytes(range(32)))
    return State.key


def dnsfunc(name):
    if name == "arc._domainkey.lists.example.org":
        return dkim.txt_record(State.key)
    if name == "ed._domainkey.lists.example.org":
        return dkim.txt_record(State.ed)
    return None


def seal(msg, ar=b"lists.example.org; dkim=pass header.d=football.example.com", now=NOW, **kw):
    return arc.seal(msg, b"lists.example.org", b"arc", State.key, now, ar, dnsfunc, **kw)


class TestSeal(unittest.TestCase):
    def setUp(self):
        setup_keys()

    def test_first_set_has_cv_none(self):
        out = seal(MSG)
        hs, _ = H.parse(out + MSG)
        self.assertEqual([H.key(n) for n, _ in hs[:3]],
                         [b"arc-seal", b"arc-message-signature", b"arc-authentication-results"])
        as_tags = dkim.parse_tags(hs[0][1])
        self.assertEqual((as_tags[b"i"], as_tags[b"cv"], as_tags[b"a"]), (b"1", b"none", b"rsa-sha256"))
        self.assertNotIn(b"h", as_tags)
        self.assertEqual(hs[2][1].replace(b"\r\n", b""), b" i=1; lists.example.org; dkim=pass header.d=football.example.com")
        self.assertEqual(arc.verify(out + MSG, dnsfunc), ("pass", ""))

    def test_second_set_has_cv_pass(self):
        m1 = seal(MSG) + MSG
        m2 = seal(m1, b"lists.example.org; arc=pass", NOW + 60) + m1
        hs, _ = H.parse(m2)
        self.assertEqual(dkim.parse_tags(hs[0][1])[b"cv"], b"pass")
        self.assertEqual(dkim.parse_tags(hs[0][1])[b"i"], b"2")
        self.assertEqual(arc.verify(m2, dnsfunc), ("pass", ""))

    def test_modified_body_then_sealed_gives_cv_fail(self):
        m1 = seal(MSG) + MSG
        broken = m1.replace(b"Hi.", b"Ho.")
        cv, reason = arc.verify(broken, dnsfunc)
        self.assertEqual(cv, "fail")
        self.assertIn("body hash", reason)
        m2 = seal(broken) + broken
        self.assertEqual(dkim.parse_tags(H.parse(m2)[0][0][1])[b"cv"], b"fail")
        self.assertEqual(arc.verify(m2, dnsfunc)[0], "fail")
        with self.assertRaises(arc.ArcError):
            seal(m2)  # the newest seal says cv=fail: no further sets

    def test_modified_seal_fails(self):
        m1 = seal(MSG) + MSG
        m1 = m1.replace(b"dkim=pass", b"dkim=fail", 1)
        self.assertEqual(arc.verify(m1, dnsfunc)[0], "fail")

    def test_structural_problems(self):
        m1 = seal(MSG) + MSG
        hs, body = H.parse(m1)
        no_aar = [h for h in hs if H.key(h[0]) != b"arc-authentication-results"]
        self.assertEqual(arc.verify((no_aar, body), dnsfunc)[0], "fail")
        dup = [hs[1]] + hs
        self.assertEqual(arc.verify((dup, body), dnsfunc)[0], "fail")
        self.assertEqual(arc.verify(MSG, dnsfunc), ("none", ""))

    def test_existing_aar_used_when_no_results_given(self):
        pre = b"ARC-Authentication-Results: i=1; lists.example.org; spf=pass\r\n" + MSG
        out = seal(pre, None)
        self.assertNotIn(b"ARC-Authentication-Results", out)
        self.assertEqual(arc.verify(out + pre, dnsfunc), ("pass", ""))
        with self.assertRaises(arc.ArcError):
            seal(MSG, None)

    def test_ed25519_refused_unless_allowed(self):
        with self.assertRaises(arc.ArcError):
            arc.seal(MSG, b"lists.example.org", b"ed", State.ed, NOW, b"x; none", dnsfunc)
        out = arc.seal(MSG, b"lists.example.org", b"ed", State.ed, NOW, b"x; none", dnsfunc,
                       allow_ed25519=True)
        self.assertEqual(arc.verify(out + MSG, dnsfunc), ("pass", ""))

    def test_long_auth_results_folded(self):
        ar = b"lists.example.org; " + b"; ".join(b"dkim=pass header.d=d%d.example" % i
                                                 for i in range(10))
        out = seal(MSG, ar)
        for line in out.split(b"\r\n"):
            self.assertLessEqual(len(line), 78)
        self.assertEqual(arc.verify(out + MSG, dnsfunc), ("pass", ""))

    def test_instance_parsing(self):
        self.assertEqual(arc.instance_of(b" i=3; example.org; none"), 3)
        self.assertEqual(arc.instance_of(b" a=rsa-sha256; i=7; b=x"), 7)
        with self.assertRaises(arc.ArcError):
            arc.instance_of(b" example.org; none")
