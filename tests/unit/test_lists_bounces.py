"""Bounces: DSN parsing, counting in bounces.json, removal after 3 posts."""
import unittest

from ptt.lists import logic, dsn, bounces
from test_lists_fixture import DOMAIN, T0, Store, ctx, msg, new_list

DAY = 86400


def report(rcpt="b@example.com", action="failed", status="5.1.1", b64=False):
    ds = ("Reporting-MTA: dns; mx.example.com\r\n"
          "Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
          "\r\n"
          "Original-Recipient: rfc822;%s\r\n"
          "Final-Recipient: RFC822; %s\r\n"
          "Action: %s\r\n"
          "Status: %s (user unknown)\r\n"
          "Diagnostic-Code: smtp; 550 %s no such user\r\n" % (rcpt, rcpt, action, status, status)).encode()
    cte = b""
    if b64:
        import binascii
        ds = binascii.b2a_base64(ds)
        cte = b"Content-Transfer-Encoding: base64\r\n"
    return (b"From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
            b"To: l-return-0-b=example.com@lists.example.org\r\n"
            b"Subject: Undelivered Mail Returned to Sender\r\n"
            b"MIME-Version: 1.0\r\n"
            b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
            b"\tboundary=\"B1/x.example\"\r\n"
            b"\r\n"
            b"This is a MIME-encapsulated message.\r\n"
            b"\r\n"
            b"--B1/x.example\r\n"
            b"Content-Type: text/plain\r\n"
            b"\r\n"
            b"Your message could not be delivered.\r\n"
            b"\r\n"
            b"--B1/x.example\r\n"
            b"Content-Type: message/delivery-status\r\n" + cte +
            b"\r\n" + ds +
            b"\r\n"
            b"--B1/x.example\r\n"
            b"Content-Type: text/rfc822-headers\r\n"
            b"\r\n"
            b"Subject: the post\r\n"
            b"\r\n"
            b"--B1/x.example--\r\n")


def ret(counter, addr="b=example.com"):
    return "l-return-%d-%s@%s" % (counter, addr, DOMAIN)


class TestDSN(unittest.TestCase):
    def test_parse(self):
        rs = dsn.parse(report())
        self.assertEqual(len(rs), 1)
        r = rs[0]
        self.assertEqual((r.final_recipient, r.action, r.status), ("b@example.com", "failed", "5.1.1"))
        self.assertIn("no such user", r.diagnostic)
        r = dsn.parse(report(b64=True))[0]
        self.assertEqual(r.status, "5.1.1")

    def test_not_a_dsn(self):
        self.assertEqual(dsn.parse(msg(subject="Out of office")), [])
        self.assertEqual(dsn.parse(b"garbage without header"), [])

    def test_counts_as_bounce(self):
        self.assertTrue(dsn.counts_as_bounce("5.1.1"))
        self.assertTrue(dsn.counts_as_bounce("550"))
        self.assertFalse(dsn.counts_as_bounce("5.7.1"))
        self.assertFalse(dsn.counts_as_bounce("5.7.26"))
        self.assertFalse(dsn.counts_as_bounce("4.2.2"))
        self.assertFalse(dsn.counts_as_bounce(""))


class TestCounting(unittest.TestCase):
    def setUp(self):
        self.st = Store({"l": new_list(["a@example.com", "b@example.com"])})

    def test_dsn_counts_a_bounce(self):
        out = self.st.send("", ret(0), report())
        self.assertEqual(out.bounces["lists"], {"l": {"<b@example.com>": [[0, "2023-11-14T22:13:20Z"]]}})
        self.assertEqual(out.bounces["failures"], {})
        self.assertEqual(out.lists, {})

    def test_three_posts_remove_and_tell_moderators(self):
        st = self.st
        st.send("", ret(0), report())
        st.send("", ret(0), report())                      # same post again: still one
        out = logic.delivery_failure(ctx(T0 + DAY), st.state, "l", "B@example.com", 1, "5.1.1",
                                     "550 5.1.1 unknown")
        st.apply(out)
        self.assertEqual(len(st.state.bounces["lists"]["l"]["<b@example.com>"]), 2)
        self.assertIn("b@example.com", st.state.lists["l"]["subscribers"])
        out = st.send("", ret(2), report(), now=T0 + 2 * DAY)
        self.assertEqual(st.state.lists["l"]["subscribers"], ["a@example.com"])
        self.assertEqual(st.state.bounces["lists"], {})
        self.assertEqual(len(out.mails), 1)
        self.assertEqual(out.mails[0].recipients, ["mod@example.com"])
        self.assertIn(b"posts 0, 1, 2", out.mails[0].data)

    def test_policy_rejections_and_delays_do_not_count(self):
        st = self.st
        for i in range(4):
            st.send("", ret(i), report(status="5.7.1"))
            st.apply(logic.delivery_failure(ctx(), st.state, "l", "b@example.com", i, "5.7.26", "DMARC"))
            st.send("", ret(i), report(action="delayed", status="4.4.1"))
            st.send("", ret(i), msg(subject="I am on holiday"))
        self.assertIn("b@example.com", st.state.lists["l"]["subscribers"])
        self.assertIsNone(st.state.bounces)

    def test_window_of_thirty_days(self):
        st = self.st
        st.send("", ret(0), report())
        st.send("", ret(1), report(), now=T0 + 10 * DAY)
        st.send("", ret(2), report(), now=T0 + 31 * DAY)   # post 0 is out of the window
        self.assertIn("b@example.com", st.state.lists["l"]["subscribers"])
        st.send("", ret(3), report(), now=T0 + 32 * DAY)
        self.assertNotIn("b@example.com", st.state.lists["l"]["subscribers"])

    def test_non_member_and_expire(self):
        st = self.st
        out = st.send("", ret(0, "z=example.com"), report(rcpt="z@example.com"))
        self.assertIsNone(out.bounces)
        st.send("", ret(0), report())
        out = logic.expire(ctx(T0 + 40 * DAY), st.state)
        self.assertEqual(out.bounces["lists"], {})
        self.assertIsNone(bounces.prune(out.bounces, T0 + 40 * DAY))

    def test_resubscribe_forgets_old_bounces(self):
        d, posts, due = bounces.record(None, "l", "b@example.com", 5, T0)
        self.assertEqual((posts, due), ([5], False))
        self.assertEqual(bounces.forget(d, "l", "b@example.com")["lists"], {})
        self.assertIsNone(bounces.forget(d, "l", "c@example.com"))
