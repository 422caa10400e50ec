"""Shared fixtures for the tests/unit/test_lists_*.py files, and their own check."""
import unittest

from ptt.lists import logic

DOMAIN = "lists.example.org"
SECRET = b"k" * 32
T0 = 1700000000  # 2023-11-14T22:13:20Z

# DMARC answers by name; a name mapped to None raises (DNS failure).
DNS = {
    "_dmarc.reject.example": ["v=DMARC1; p=reject; rua=mailto:d@reject.example"],
    "_dmarc.quar.example": ["v=DMARC1; p=quarantine"],
    "_dmarc.none.example": ["v=DMARC1; p=none"],
    "_dmarc.example.net": ["v=spf1 -all"],
    "_dmarc.org.example": ["v=DMARC1; p=none; sp=reject"],
    "_dmarc.broken.example": None,
}


def txt(name):
    if name in DNS:
        if DNS[name] is None:
            raise OSError("SERVFAIL for %s" % name)
        return DNS[name]
    return []


class Rand:
    """Deterministic 'random' bytes: 0, 1, 2, ... as a running counter."""

    def __init__(self, start=1):
        self.n = start

    def __call__(self, k):
        out = bytes((self.n + i) % 256 for i in range(k))
        self.n += 7
        return out


def ctx(now=T0, rand=None):
    return logic.Context(DOMAIN, SECRET, now, rand or Rand(), txt)


def new_list(subs=(), mods=("mod@example.com",), **settings):
    d = {"counter": 0, "subscribers": list(subs), "moderators": list(mods)}
    for k in settings:
        d[k] = settings[k]
    return d


class Store:
    """An in-memory store that applies Outcomes like the lead's layer."""

    def __init__(self, lists, bounces=None):
        self.held_bodies = {}
        self.state = logic.State(lists, {}, bounces, self.held_bodies.__getitem__)
        self.mails = []
        self.posts = []
        self.log = []

    def apply(self, out):
        for i in out.pending_deleted:
            self.held_bodies.pop(i, None)
        for i in out.held:
            self.held_bodies[i] = out.held[i]
        out.apply(self.state)
        self.mails.extend(out.mails)
        self.posts.extend(out.posts)
        self.log.extend(out.log)
        return out

    def send(self, sender, rcpts, message, now=T0, rand=None):
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        return self.apply(logic.incoming(ctx(now, rand), self.state, sender, rcpts, message))


def msg(frm="Alice <alice@example.net>", to="x@lists.example.org", subject="hello",
        extra=b"", body=b"Hi all\r\n"):
    return (b"From: " + frm.encode() + b"\r\nTo: " + to.encode() + b"\r\nSubject: "
            + subject.encode() + b"\r\nMessage-ID: <m1@example.net>\r\n" + extra
            + b"\r\n" + body)


def token_address(mail, kind):
    """The NAME-KIND-TOKEN@ address quoted in a generated mail's body."""
    text = mail.data.decode()
    for word in text.split():
        if ("-" + kind + "-") in word and word.endswith("@" + DOMAIN):
            return word
    raise AssertionError("no %s address in %r" % (kind, text[:400]))


class TestFixture(unittest.TestCase):
    def test_rand_is_deterministic_and_txt_fails_on_demand(self):
        self.assertEqual(Rand()(3), Rand()(3))
        self.assertEqual(txt("_dmarc.none.example"), ["v=DMARC1; p=none"])
        self.assertEqual(txt("_dmarc.nothing.example"), [])
        with self.assertRaises(OSError):
            txt("_dmarc.broken.example")
