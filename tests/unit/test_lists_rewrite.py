"""Rewriting posts: exact headers, subject prefix, DMARC From rewriting."""
import unittest

from ptt.mail import headers as H
from ptt.lists import rewrite, dmarc, notices
from test_lists_fixture import DOMAIN, Store, msg, new_list, txt

POST = (b"Received: from mx.example.net by lists.example.org; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        b"Return-Path: <alice@example.net>\r\n"
        b"From: Alice Example <alice@ORIGIN>\r\n"
        b"To: python-dev@lists.example.org\r\n"
        b"Subject: Re: caf\xc3\xa9\r\n and more\r\n"
        b"List-Id: <other.example.com>\r\n"
        b"Message-ID: <m1@example.net>\r\n"
        b"X-Custom: \xff raw \xe2\x82\xac\r\n"
        b"\r\n"
        b"Body line\r\n")

TOP = (b"List-Id: <python-dev.lists.example.org>\r\n"
       b"List-Help: <mailto:python-dev-help@lists.example.org>\r\n"
       b"List-Subscribe: <mailto:python-dev-subscribe@lists.example.org>\r\n"
       b"List-Unsubscribe: <mailto:python-dev-unsubscribe@lists.example.org>\r\n"
       b"List-Post: <mailto:python-dev@lists.example.org>\r\n"
       b"List-Owner: <mailto:python-dev-owner@lists.example.org>\r\n"
       b"Precedence: list\r\n"
       b"Sender: python-dev-owner@lists.example.org\r\n"
       b"X-Loop: python-dev@lists.example.org\r\n")

REST = (b"Received: from mx.example.net by lists.example.org; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
        b"%FROM%"
        b"To: python-dev@lists.example.org\r\n"
        b"Subject: [py] Re: caf\xc3\xa9\r\n and more\r\n"
        b"Message-ID: <m1@example.net>\r\n"
        b"X-Custom: \xff raw \xe2\x82\xac\r\n"
        b"\r\n"
        b"Body line\r\n")


def post(origin, **settings):
    lst = new_list(["alice@%s" % origin, "bob@example.com"], subject_prefix="[py]", **settings)
    st = Store({"python-dev": lst})
    out = st.send("alice@%s" % origin, "python-dev@lists.example.org",
                  POST.replace(b"ORIGIN", origin.encode()))
    return st, out


class TestExactHeaders(unittest.TestCase):
    def test_p_none_keeps_from(self):
        st, out = post("none.example")
        self.assertEqual(len(out.posts), 1)
        want = TOP + REST.replace(b"%FROM%", b"From: Alice Example <alice@none.example>\r\n")
        self.assertEqual(out.posts[0].data, want)

    def test_p_reject_rewrites_from(self):
        st, out = post("reject.example")
        want = (TOP + b"X-Original-From: Alice Example <alice@reject.example>\r\n"
                b"Reply-To: Alice Example <alice@reject.example>\r\n"
                + REST.replace(b"%FROM%", b'From: Alice Example via python-dev '
                                          b"<python-dev@lists.example.org>\r\n"))
        self.assertEqual(out.posts[0].data, want)
        self.assertIn("p=reject", out.log[-1])

    def test_quarantine_and_org_sp_and_failure_mitigate(self):
        for origin, hit in (("quar.example", True), ("sub.org.example", True),
                            ("org.example", False), ("broken.example", True),
                            ("example.net", False), ("nothing.example", False)):
            st, out = post(origin)
            got = b"X-Original-From" in out.posts[0].data
            self.assertEqual(got, hit, origin)

    def test_setting_always_and_never(self):
        st, out = post("none.example", dmarc="always")
        self.assertIn(b'From: Alice Example via python-dev <python-dev@', out.posts[0].data)
        st, out = post("reject.example", dmarc="never")
        self.assertIn(b"From: Alice Example <alice@reject.example>\r\n", out.posts[0].data)

    def test_reply_to_list(self):
        st, out = post("reject.example", reply_to="list")
        self.assertIn(b"Reply-To: python-dev@lists.example.org, Alice Example "
                      b"<alice@reject.example>\r\n", out.posts[0].data)
        st, out = post("none.example", reply_to="list")
        self.assertIn(b"Reply-To: python-dev@lists.example.org\r\n", out.posts[0].data)

    def test_verp_and_counter(self):
        st, out = post("none.example")
        p = out.posts[0]
        self.assertEqual(p.counter, 0)
        self.assertEqual(p.transactions, [
            ("python-dev-return-0-alice=none.example@lists.example.org", "alice@none.example"),
            ("python-dev-return-0-bob=example.com@lists.example.org", "bob@example.com")])
        self.assertEqual(st.state.lists["python-dev"]["counter"], 1)
        out = st.send("bob@example.com", "python-dev@lists.example.org", msg(frm="bob@example.com"))
        self.assertEqual(out.posts[0].counter, 1)
        self.assertEqual(out.posts[0].transactions[1][0],
                         "python-dev-return-1-bob=example.com@lists.example.org")


class TestPieces(unittest.TestCase):
    def test_subject_prefix_not_doubled(self):
        self.assertEqual(rewrite.prefixed_subject(b" Re: [py] x", "[py]"), b" Re: [py] x")
        self.assertEqual(rewrite.prefixed_subject(b" RE: [PY] x", "[py]"), b" RE: [PY] x")
        self.assertEqual(rewrite.prefixed_subject(b" Fwd: x", "[py]"), b" [py] Fwd: x")
        self.assertEqual(rewrite.prefixed_subject(b" x", ""), b" x")
        long = b" " + b"w" * 70
        self.assertEqual(rewrite.prefixed_subject(long, "[py]"), b" [py]\r\n" + long)
        v = rewrite.prefixed_subject(b" x", b"[caf\xc3\xa9]".decode())
        self.assertEqual(v, b" =?utf-8?b?W2NhZsOpXSA=?= x")

    def test_munged_from_names(self):
        f = rewrite.munged_from
        self.assertEqual(f(b' "Doe, Jane" <j@x.example>', "l", DOMAIN),
                         b' "Doe, Jane via l" <l@lists.example.org>')
        self.assertEqual(f(b" j@x.example", "l", DOMAIN),
                         b' "j at x.example via l" <l@lists.example.org>')
        self.assertEqual(f(b" J\xc3\xb6rg <j@x.example>", "l", DOMAIN),
                         b" =?utf-8?b?SsO2cmcgdmlhIGw=?= <l@lists.example.org>")
        self.assertEqual(f(b" =?iso-8859-1?q?J=F6rg?= <j@x.example>", "a.b", DOMAIN),
                         b' =?iso-8859-1?q?J=F6rg?= "via a.b" <a.b@lists.example.org>')
        self.assertEqual(f(b" j@x.example (Jane)", "l", DOMAIN),
                         b' "j at x.example via l" <l@lists.example.org>')

    def test_parse_from(self):
        p, a = rewrite.parse_from(b' "A <b>" <a@B.example>, c@d.example')
        self.assertEqual((p, str(a)), (b'"A <b>"', "a@b.example"))
        p, a = rewrite.parse_from(b" not an address")
        self.assertIsNone(a)

    def test_encode_words_split_on_characters(self):
        words = notices.encode_words("\u00e9" * 40)
        for w in words:
            self.assertLessEqual(len(w), 75)
        self.assertEqual(len(words), 2)

    def test_dmarc_tree_walk(self):
        asked = []

        def t(name):
            asked.append(name)
            return txt(name)
        self.assertEqual(dmarc.discover("a.b.sub.org.example", t).policy, "reject")
        self.assertEqual(asked, ["_dmarc.a.b.sub.org.example", "_dmarc.b.sub.org.example",
                                 "_dmarc.sub.org.example", "_dmarc.org.example"])
        self.assertEqual(dmarc.discover("org.example", txt).policy, "none")
        self.assertIsNone(dmarc.discover("x.nothing.example", txt).policy)
        self.assertIsNotNone(dmarc.discover("broken.example", txt).error)
        self.assertIsNone(dmarc.parse_record("v=spf1 -all"))
        self.assertEqual(dmarc.parse_record("v=DMARC1;p=reject")["p"], "reject")

    def test_headers_order_and_8bit_survive(self):
        st, out = post("none.example")
        hs, body = H.parse(out.posts[0].data)
        names = [n for n, _ in hs]
        self.assertEqual(names[9:], [b"Received", b"From", b"To", b"Subject", b"Message-ID",
                                     b"X-Custom"])
        self.assertEqual(body, b"Body line\r\n")

    def test_missing_message_id_added(self):
        lst = new_list(["alice@example.net"])
        st = Store({"l": lst})
        m = b"From: alice@example.net\r\nSubject: x\r\n\r\nhi\r\n"
        out = st.send("alice@example.net", "l@lists.example.org", m)
        hs, _ = H.parse(out.posts[0].data)
        mids = H.get_all(hs, b"message-id")
        self.assertEqual(len(mids), 1)
        self.assertTrue(mids[0].endswith(b"@lists.example.org>"))
