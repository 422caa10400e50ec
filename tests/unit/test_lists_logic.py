"""List behaviour through the pure functions: routing, opt-in, moderation,
posting policies, loops, generated mails."""
import unittest

from ptt.mail import headers as H
from ptt.lists import logic, route, tokens, pending
from test_lists_fixture import DOMAIN, SECRET, T0, Store, ctx, msg, new_list, token_address

NAMES = ["python", "python-dev", "a.b"]


class TestRouting(unittest.TestCase):
    def c(self, local):
        return route.classify(local + "@" + DOMAIN, DOMAIN, NAMES)

    def test_dashed_names_take_the_longest(self):
        r = self.c("python-dev-subscribe")
        self.assertEqual((r.name, r.kind), ("python-dev", "subscribe"))
        r = self.c("python-subscribe")
        self.assertEqual((r.name, r.kind), ("python", "subscribe"))
        r = self.c("Python-Dev")
        self.assertEqual((r.name, r.kind), ("python-dev", "post"))
        r = self.c("python-dev-return-7-jo-e=x.example")
        self.assertEqual((r.name, r.counter, str(r.address)), ("python-dev", 7, "jo-e@x.example"))
        r = self.c("python-dev-confirm-" + "a" * 15)
        self.assertEqual((r.name, r.kind, r.token), ("python-dev", "confirm", "a" * 15))

    def test_refused_addresses(self):
        for local in ("python-devx", "python-dev-foo", "nolist", "python-confirm-short",
                      "python-return-x-a=b.example", "python-return-1-nodomain",
                      "python-dev-approve-" + "A1" * 7 + "1"):
            self.assertIsNone(self.c(local), local)
        self.assertFalse(route.accepts("python@other.example", DOMAIN, NAMES))
        self.assertTrue(route.accepts("python@LISTS.EXAMPLE.ORG", DOMAIN, NAMES))
        self.assertFalse(route.accepts("not an address", DOMAIN, NAMES))
        st = Store({"python": new_list()})
        self.assertTrue(logic.accepts(ctx(), st.state, "python-help@" + DOMAIN))
        self.assertFalse(logic.accepts(ctx(), st.state, "postmaster@" + DOMAIN))

    def test_verp_split_on_last_equals(self):
        a = route.verp_decode("a=b=c.example")
        self.assertEqual(str(a), "a=b@c.example")
        self.assertEqual(route.return_path("l", DOMAIN, 3, a),
                         "l-return-3-a=b=c.example@" + DOMAIN)

    def test_tokens(self):
        doc = {"id": "abcde", "list": "l", "address": "A@x.example", "expires": "2030-01-01T00:00:00Z"}
        t = tokens.make(SECRET, doc, "approve")
        self.assertEqual(len(t), 15)
        self.assertTrue(tokens.check(SECRET, doc, "approve", t))
        self.assertFalse(tokens.check(SECRET, doc, "reject", t))
        self.assertFalse(tokens.check(b"other" * 7, doc, "approve", t))
        d2 = dict(doc)
        d2["address"] = "b@x.example"
        self.assertFalse(tokens.check(SECRET, d2, "approve", t))
        d3 = dict(doc)
        d3["address"] = "a@x.example"          # case of the local part does not matter
        self.assertTrue(tokens.check(SECRET, d3, "approve", t))
        self.assertLessEqual(len("x" * 40 + "-approve-" + t), 64)


class TestOptIn(unittest.TestCase):
    def setUp(self):
        self.st = Store({"python-dev": new_list(["old@example.com"])})

    def test_double_opt_in_round_trip(self):
        st = self.st
        out = st.send("new@example.com", "python-dev-subscribe@" + DOMAIN, msg(frm="new@example.com"))
        self.assertEqual(len(out.mails), 1)
        m = out.mails[0]
        self.assertEqual(m.sender, "python-dev-bounces@" + DOMAIN)
        self.assertEqual(m.recipients, ["new@example.com"])
        self.assertEqual(len(st.state.pending), 1)
        self.assertNotIn("new@example.com", st.state.lists["python-dev"]["subscribers"])
        conf = token_address(m, "confirm")
        hs, _ = H.parse(m.data)
        self.assertEqual(H.get_all(hs, b"reply-to"), [b" " + conf.encode()])
        # a second request within the hour sends nothing more
        out = st.send("new@example.com", "python-dev-subscribe@" + DOMAIN, msg(frm="new@example.com"))
        self.assertEqual(out.mails, [])
        # the confirmation, from any envelope sender (a reply)
        out = st.send("new@example.com", conf, msg(frm="new@example.com", subject="Re: confirm"))
        self.assertIn("new@example.com", st.state.lists["python-dev"]["subscribers"])
        self.assertEqual(st.state.pending, {})
        self.assertEqual(out.pending_deleted, [conf.split("-")[-1][:5]])
        self.assertIn("Welcome", out.mails[0].data.decode())
        # the token is used up
        out = st.send("new@example.com", conf, msg(frm="new@example.com"))
        self.assertEqual(out.lists, {})
        self.assertIn("unknown, wrong or used token", out.log[0])

    def test_unsubscribe_needs_confirmation(self):
        st = self.st
        out = st.send("OLD@example.com", "python-dev-unsubscribe@" + DOMAIN, msg(frm="old@example.com"))
        self.assertIn("old@example.com", st.state.lists["python-dev"]["subscribers"])
        m = out.mails[0]
        self.assertEqual(m.recipients, ["old@example.com"])      # the stored address
        st.send("someone@else.example", token_address(m, "confirm"), msg())
        self.assertEqual(st.state.lists["python-dev"]["subscribers"], [])

    def test_wrong_token_and_expiry(self):
        st = self.st
        out = st.send("new@example.com", "python-dev-subscribe@" + DOMAIN, msg())
        conf = token_address(out.mails[0], "confirm")
        local = conf.split("@")[0]
        bad = local[:-1] + ("a" if local[-1] != "a" else "b")
        out = st.send("new@example.com", bad + "@" + DOMAIN, msg())
        self.assertEqual(out.lists, {})
        out = st.send("new@example.com", conf, msg(), now=T0 + 8 * 86400)
        self.assertEqual(out.lists, {})
        self.assertIn("expired", out.log[0])
        out = logic.expire(ctx(T0 + 8 * 86400), st.state)
        self.assertEqual(len(out.pending_deleted), 1)

    def test_moderated_subscription_needs_approval(self):
        st = Store({"m": new_list(policy="moderated")})
        out = st.send("new@example.com", "m-subscribe@" + DOMAIN, msg())
        out = st.send("new@example.com", token_address(out.mails[0], "confirm"), msg())
        self.assertEqual(st.state.lists["m"]["subscribers"], [])
        to_mods = [x for x in out.mails if x.recipients == ["mod@example.com"]][0]
        approve = token_address(to_mods, "approve")
        reject = token_address(to_mods, "reject")
        # a forged moderator sender with the wrong action's token does nothing
        out = st.send("mod@example.com", reject.replace("-reject-", "-approve-"), msg())
        self.assertEqual(st.state.lists["m"]["subscribers"], [])
        st.send("mod@example.com", approve, msg(frm="mod@example.com"))
        self.assertEqual(st.state.lists["m"]["subscribers"], ["new@example.com"])

    def test_no_answers_to_robots_lists_or_null(self):
        st = self.st
        cases = [("", msg()),
                 ("MAILER-DAEMON@example.com", msg()),
                 ("x@example.com", msg(extra=b"Auto-Submitted: auto-replied\r\n")),
                 ("x@example.com", msg(extra=b"Precedence: bulk\r\n")),
                 ("x@example.com", msg(extra=b"List-Id: <other.example.com>\r\n")),
                 ("python-dev@" + DOMAIN, msg())]
        for sender, m in cases:
            for cmd in ("subscribe", "unsubscribe", "help", "subscribers"):
                out = st.send(sender, "python-dev-%s@%s" % (cmd, DOMAIN), m)
                self.assertEqual(out.mails, [], (sender, cmd))
        out = st.send("x@example.com", "python-dev-help@" + DOMAIN,
                      msg(extra=b"Auto-Submitted: no\r\n"))
        self.assertEqual(len(out.mails), 1)

    def test_generated_mail_is_well_formed(self):
        out = self.st.send("x@example.com", "python-dev-help@" + DOMAIN, msg())
        hs, body = H.parse(out.mails[0].data)
        names = [n for n, _ in hs]
        self.assertEqual(names, [b"Date", b"From", b"To", b"Subject", b"Message-ID",
                                 b"In-Reply-To", b"References", b"MIME-Version",
                                 b"Content-Type", b"Content-Transfer-Encoding",
                                 b"Auto-Submitted", b"X-Loop"])
        d = dict((n, v) for n, v in hs)
        self.assertEqual(d[b"Date"], b" Tue, 14 Nov 2023 22:13:20 +0000")
        self.assertEqual(d[b"From"], b" python-dev list <python-dev-owner@lists.example.org>")
        self.assertEqual(d[b"Content-Type"], b" text/plain; charset=utf-8")
        self.assertEqual(d[b"Auto-Submitted"], b" auto-replied")
        self.assertEqual(d[b"In-Reply-To"], b" <m1@example.net>")
        self.assertTrue(d[b"Message-ID"].endswith(b"@lists.example.org>"))
        self.assertIn(b"python-dev-subscribe@lists.example.org", body)
        for line in out.mails[0].data.split(b"\r\n"):
            self.assertLessEqual(len(line), 78)

    def test_roster_goes_to_the_stored_member_only(self):
        out = self.st.send("stranger@example.com", "python-dev-subscribers@" + DOMAIN, msg())
        self.assertEqual(out.mails, [])
        out = self.st.send("Old@Example.com", "python-dev-subscribers@" + DOMAIN, msg())
        self.assertEqual(out.mails[0].recipients, ["old@example.com"])
        self.assertIn(b"old@example.com", out.mails[0].data)


class TestModeration(unittest.TestCase):
    def setUp(self):
        self.st = Store({"m": new_list(["a@example.com", "b@example.com"], policy="moderated")})
        out = self.st.send("a@example.com", "m@" + DOMAIN, msg(frm="a@example.com", subject="held"))
        self.notice = out.mails[0]
        self.rid = list(self.st.state.pending)[0]

    def test_post_is_held_with_notice(self):
        self.assertEqual(self.st.posts, [])
        self.assertEqual(self.notice.recipients, ["mod@example.com"])
        self.assertIn(b"Auto-Submitted: auto-generated", self.notice.data)
        self.assertIn(b"Content-Type: message/rfc822", self.notice.data)
        self.assertIn(b"Subject: held", self.notice.data)
        self.assertIn(self.rid, self.st.held_bodies)
        doc = self.st.state.pending[self.rid]
        self.assertEqual((doc["kind"], doc["stage"], doc["address"]), ("post", "approve", "a@example.com"))
        self.assertEqual(pending.problems(doc), [])

    def test_approve_distributes(self):
        approve = token_address(self.notice, "approve")
        out = self.st.send("mod@example.com", approve, msg(frm="mod@example.com"))
        self.assertEqual(len(out.posts), 1)
        self.assertEqual(len(out.posts[0].transactions), 2)
        self.assertIn(b"Subject: held", out.posts[0].data)
        self.assertEqual(self.st.state.pending, {})
        self.assertEqual(self.st.held_bodies, {})
        self.assertEqual(self.st.state.lists["m"]["counter"], 1)

    def test_wrong_token_or_forged_sender_changes_nothing(self):
        approve = token_address(self.notice, "approve")
        local = approve.split("@")[0]
        forged = local[:-3] + "aaa" if not local.endswith("aaa") else local[:-3] + "bbb"
        for sender, rcpt in (("mod@example.com", forged + "@" + DOMAIN),
                             ("mod@example.com", "m-approve-" + "a" * 15 + "@" + DOMAIN),
                             ("mod@example.com", "m-subscribe-accept-a=example.com@" + DOMAIN)):
            out = self.st.send(sender, rcpt, msg(frm="mod@example.com"))
            self.assertEqual(out.posts, [])
            self.assertEqual(out.lists, {})
        self.assertEqual(len(self.st.state.pending), 1)
        # the reject token rejects; approving afterwards does nothing
        self.st.send("x@example.com", token_address(self.notice, "reject"), msg())
        self.assertEqual(self.st.state.pending, {})
        out = self.st.send("mod@example.com", approve, msg())
        self.assertEqual(out.posts, [])

    def test_autoreply_does_not_approve(self):
        approve = token_address(self.notice, "approve")
        out = self.st.send("mod@example.com", approve,
                           msg(extra=b"Auto-Submitted: auto-replied\r\n"))
        self.assertEqual(out.posts, [])
        self.assertEqual(len(self.st.state.pending), 1)


class TestPolicies(unittest.TestCase):
    def test_members_list_refuses_strangers(self):
        st = Store({"l": new_list(["a@example.com"])})
        m = msg(frm="stranger@example.com")
        why = logic.precheck(ctx(), st.state, "stranger@example.com", ["l@" + DOMAIN], m)
        self.assertEqual(why[:2], (550, "5.7.1"))
        self.assertIn("l-subscribe@", why[2])
        out = st.send("stranger@example.com", "l@" + DOMAIN, m)
        self.assertEqual((out.posts, out.mails, out.lists), ([], [], {}))
        self.assertIsNone(logic.precheck(ctx(), st.state, "a@example.com", ["l@" + DOMAIN],
                                         msg(frm="a@example.com")))
        # a moderator may post too; the From header counts like the envelope
        self.assertIsNone(logic.precheck(ctx(), st.state, "srs=x@fwd.example", ["l@" + DOMAIN],
                                         msg(frm="A <A@example.com>")))
        self.assertIsNone(logic.precheck(ctx(), st.state, "mod@example.com", ["l@" + DOMAIN], msg()))

    def test_precheck_other_refusals(self):
        st = Store({"l": new_list(["a@example.com"], max_size=1024),
                    "ann": new_list(policy="announce"), "o": new_list(policy="open")})
        big = msg(frm="a@example.com", body=b"x" * 2000 + b"\r\n")
        self.assertEqual(logic.precheck(ctx(), st.state, "a@example.com", ["l@" + DOMAIN], big)[:2],
                         (552, "5.3.4"))
        self.assertEqual(logic.precheck(ctx(), st.state, "", ["o@" + DOMAIN], msg())[:2],
                         (550, "5.7.1"))
        self.assertEqual(logic.precheck(ctx(), st.state, "x@example.com", ["ann@" + DOMAIN], msg())[:2],
                         (550, "5.7.1"))
        self.assertIsNone(logic.precheck(ctx(), st.state, "x@example.com", ["o@" + DOMAIN], msg()))
        self.assertIsNone(logic.precheck(ctx(), st.state, "", ["o-help@" + DOMAIN], msg()))
        self.assertEqual(logic.precheck(ctx(), st.state, "x@example.com", ["o@" + DOMAIN],
                                        b"bad header\r\n\r\n")[:2], (550, "5.6.0"))

    def test_open_and_announce(self):
        st = Store({"o": new_list(["a@example.com"], policy="open"),
                    "ann": new_list(["a@example.com"], policy="announce")})
        out = st.send("x@example.com", "o@" + DOMAIN, msg())
        self.assertEqual(len(out.posts), 1)
        out = st.send("x@example.com", "ann@" + DOMAIN, msg())
        self.assertEqual((out.posts, out.pending), ([], {}))
        out = st.send("mod@example.com", "ann@" + DOMAIN, msg(frm="mod@example.com"))
        self.assertEqual(out.posts, [])                    # held: a forged moderator posts nothing
        out = st.send("mod@example.com", token_address(out.mails[0], "approve"), msg())
        self.assertEqual(len(out.posts), 1)
        self.assertIn(b"List-Post: NO\r\n", out.posts[0].data)

    def test_loops_are_dropped(self):
        st = Store({"l": new_list(["a@example.com"])})
        for extra in (b"List-Id: L list <l.lists.example.org>\r\n",
                      b"X-Loop: L@Lists.Example.Org\r\n"):
            m = msg(frm="a@example.com", extra=extra)
            self.assertIsNone(logic.precheck(ctx(), st.state, "a@example.com", ["l@" + DOMAIN], m))
            out = st.send("a@example.com", "l@" + DOMAIN, m)
            self.assertEqual(out.posts, [])
            self.assertIn("loop", out.log[0])
        # another list's List-Id is no loop (and is replaced)
        out = st.send("a@example.com", "l@" + DOMAIN,
                      msg(frm="a@example.com", extra=b"List-Id: <other.example.com>\r\n"))
        self.assertEqual(len(out.posts), 1)
        self.assertNotIn(b"other.example.com", out.posts[0].data)

    def test_auto_submitted_post_dropped(self):
        st = Store({"l": new_list(["a@example.com"])})
        out = st.send("a@example.com", "l@" + DOMAIN,
                      msg(frm="a@example.com", extra=b"Auto-Submitted: auto-replied\r\n"))
        self.assertEqual(out.posts, [])

    def test_same_list_twice_in_one_transaction(self):
        st = Store({"l": new_list(["a@example.com"])})
        out = st.send("a@example.com", ["l@" + DOMAIN, "L@" + DOMAIN], msg(frm="a@example.com"))
        self.assertEqual(len(out.posts), 1)


class TestOwnerAndRemove(unittest.TestCase):
    def test_owner_forwarded_with_loop_guard(self):
        st = Store({"l": new_list(mods=["m1@example.com", "m2@example.com"])})
        out = st.send("x@reject.example", "l-owner@" + DOMAIN, msg(frm="X <x@reject.example>"))
        m = out.mails[0]
        self.assertEqual(m.recipients, ["m1@example.com", "m2@example.com"])
        self.assertEqual(m.sender, "l-bounces@" + DOMAIN)
        self.assertTrue(m.data.startswith(b"X-Loop: l-owner@lists.example.org\r\n"
                                          b"Reply-To: X <x@reject.example>\r\n"
                                          b"From: X via l <l-owner@lists.example.org>\r\n"))
        out = st.send("x@example.com", "l-owner@" + DOMAIN, m.data)
        self.assertEqual(out.mails, [])

    def test_moderator_removes_with_confirmation(self):
        st = Store({"l": new_list(["a@example.com", "b@example.com"])})
        # a non-moderator, and a forged moderator's request only reach the moderator
        out = st.send("x@example.com", "l-remove@" + DOMAIN, msg(subject="a@example.com"))
        self.assertEqual(out.mails, [])
        out = st.send("mod@example.com", "l-remove@" + DOMAIN,
                      msg(frm="mod@example.com", subject="remove <A@example.com>"))
        self.assertEqual(out.mails[0].recipients, ["mod@example.com"])
        self.assertEqual(st.state.lists["l"]["subscribers"], ["a@example.com", "b@example.com"])
        out = st.send("mod@example.com", token_address(out.mails[0], "confirm"), msg())
        self.assertEqual(st.state.lists["l"]["subscribers"], ["b@example.com"])
        self.assertEqual(out.mails[0].recipients, ["mod@example.com"])
