"""Mailing-list behaviour end to end (issue 6): the lists server runs under
the real MicroPython binary on a FAT image, swaks talks to it, BIND9 answers
its MX and DMARC queries, and a real Postfix MX receives what it sends.

Each test starts its own Internet and server and stops them in `finally`
(the `with` blocks). Every wait is bounded. "Nothing happened" is shown three
ways: the server's 250 names no queued message ("; queued ..." is absent),
the MX receives nothing during a quiet period, and the store read back with
ptt-tool after a clean stop is unchanged.
"""
import contextlib
import email.utils
import json
import os
import re
import subprocess
import sys
import time

import pytest

from interop.lists_host import ListsHost, free_port
from interop.peers import Internet, swaks
from interop.postfix import POLICY
from ptt_tool.cli import main

pytestmark = pytest.mark.interop

DOMAIN = "lists.test"
LIST = "ptt@lists.test"
MX_DOMAINS = ["a.test", "b.test", "strict.test", "lax.test"]
DMARC = {"strict.test": "reject", "lax.test": "none"}
MOD = "mod@a.test"
TOKENED = re.compile(r"ptt-(confirm|approve|reject)-([a-z2-7]{15})@lists\.test")
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
WAIT = 30           # seconds: upper bound for any single delivery
QUIET = 1.5         # seconds: how long "nothing arrives" is watched


# ---------------------------------------------------------------- the store

def make_store(tmp_path, subscribers, moderators=(MOD,), **settings):
    img = str(tmp_path / "lists.img")
    assert main(["create", img, "--domain", DOMAIN]) == 0
    args = ["add", img, "ptt"]
    for m in moderators:
        args += ["-m", m]
    for s in subscribers:
        args += ["-s", s]
    assert main(args) == 0
    if settings:
        assert main(["set", img, "ptt"] + ["%s=%s" % kv for kv in sorted(settings.items())]) == 0
    return img


def show(img):
    """`ptt-tool show --json IMG ptt`: the list's document (with addresses)."""
    exe = os.path.join(os.path.dirname(sys.executable), "ptt-tool")
    p = subprocess.run([exe, "show", "--json", img, "ptt"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    info = json.loads(p.stdout)
    [lst] = [x for x in info["lists"] if x["name"] == "ptt"]
    lst["temp_queue"] = info["temp_queue"]
    return lst


def bounces_json(img):
    """bounces.json read straight off the FAT image with mtools."""
    p = subprocess.run(["mtype", "-i", img, "::/bounces.json"], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.decode())


def bounce_record(img, address):
    """The counted posts of `address` on ptt: sorted counters ([] if none)."""
    per = (bounces_json(img).get("lists") or {}).get("ptt") or {}
    return sorted(pair[0] for pair in per.get("<%s>" % address, []))


# ---------------------------------------------------------------- the server

_runs = {}


@contextlib.contextmanager
def serving(net, img):
    """The lists server on `img`, using net's BIND; a clean stop at the end
    (a failed stop is an error of its own, unless the body already failed)."""
    # A log file per run: ListsHost.start() waits for "ready:" in its log, and
    # an appended log would show the previous run's line at once.
    _runs[img] = _runs.get(img, 0) + 1
    srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver, first_retry=1,
                    log_path="%s.run%d.log" % (img, _runs[img])).start()
    body_ok = False
    try:
        yield srv
        body_ok = True
    finally:
        try:
            rc = srv.stop()
        except Exception:
            srv.kill()
            rc = "killed after a stop that did not finish"
    if body_ok:
        assert rc == 0, "lists server stop: %s\n%s" % (rc, srv.output()[-3000:])


def message(frm, subject, to=LIST, body="Hello list.\r\n", extra=()):
    lines = ["From: %s" % frm, "To: %s" % to, "Subject: %s" % subject,
             "Date: Mon, 13 Jan 2025 10:00:00 +0000",
             "Message-ID: <%s.%d@%s>" % (re.sub(r"[^a-z0-9]", "", subject.lower()),
                                         time.monotonic_ns(), frm.split("@")[-1].strip("> "))]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def send(srv, sender, to, data, helo="client.peers.test"):
    """swaks to the lists server; returns (result, the answer to DATA's end)."""
    r = swaks("127.0.0.1", srv.port, sender, to, data=data, helo=helo)
    replies = [x for x in r.replies() if not x.startswith("221")]
    return r, (replies[-1] if replies else "")


def send_ok(srv, sender, to, data, queued=True, **kw):
    """Send and require 250; queued says whether the server must have queued
    mail for it (its 250 lists the queued messages) or must not have."""
    r, last = send(srv, sender, to, data, **kw)
    assert last.startswith("250 2.0.0 accepted as"), (r.transcript, srv.output()[-3000:])
    assert ("; queued " in last) == queued, (last, srv.output()[-3000:])
    return last


def wait_until(what, pred, srv, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("no %s after %ss; server log tail:\n%s"
                                 % (what, timeout, srv.output()[-3000:]))
        time.sleep(0.05)


def with_subject(net, text, recipient=None):
    """Copies whose Subject contains `text`."""
    return [m for m in net.mx.messages(recipient) if text in (m["Subject"] or "")]


def copies_of(net, subject):
    """Copies of the post whose Subject is exactly `subject` (not notices about it)."""
    return [m for m in net.mx.messages() if m["Subject"] == subject]


def wait_mail(net, srv, recipients, subject, timeout=WAIT):
    """Wait until each recipient holds a copy whose Subject contains
    `subject`; returns {recipient: [copies]}."""
    def done():
        got = dict((r, with_subject(net, subject, r)) for r in recipients)
        return got if all(got.values()) else None
    return wait_until("mail %r for each of %s" % (subject, recipients), done, srv, timeout)


def assert_quiet(net, count, srv, seconds=QUIET):
    """Nothing more reaches the MX for `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = net.mx.messages()
        assert len(got) == count, ("unexpected deliveries", got[count:], srv.output()[-3000:])
        time.sleep(0.05)


def verp(addr, counter):
    local, domain = addr.split("@")
    return "ptt-return-%d-%s=%s@%s" % (counter, local, domain, DOMAIN)


def tokened(msg, kind):
    """The NAME-KIND-TOKEN@ address written in a mail the list sent."""
    text = msg.content.decode("utf-8", "replace")
    found = set(m.group(0) for m in TOKENED.finditer(text) if m.group(1) == kind)
    assert len(found) == 1, (kind, found, text)
    return found.pop()


def altered(addr):
    """The same tokened address with one character of its token changed
    (the last: the MAC part; position 0: the request ID)."""
    local, domain = addr.split("@")
    head, token = local.rsplit("-", 1)

    def flip(c):
        return ALPHABET[(ALPHABET.index(c) + 1) % len(ALPHABET)]
    return head + "-" + token[:-1] + flip(token[-1]) + "@" + domain


def altered_id(addr):
    local, domain = addr.split("@")
    head, token = local.rsplit("-", 1)
    c = ALPHABET[(ALPHABET.index(token[0]) + 1) % len(ALPHABET)]
    return head + "-" + c + token[1:] + "@" + domain


LIST_HEADERS = {
    "List-Id": "<ptt.lists.test>",
    "List-Help": "<mailto:ptt-help@lists.test>",
    "List-Subscribe": "<mailto:ptt-subscribe@lists.test>",
    "List-Unsubscribe": "<mailto:ptt-unsubscribe@lists.test>",
    "List-Post": "<mailto:ptt@lists.test>",
    "List-Owner": "<mailto:ptt-owner@lists.test>",
    "Precedence": "list",
    "Sender": "ptt-owner@lists.test",
    "X-Loop": "ptt@lists.test",
}


def assert_list_headers(m):
    for name, value in LIST_HEADERS.items():
        got = m.message.get_all(name) or []
        assert [v.strip() for v in got] == [value], (name, got, m.content[:1500])


# ---------------------------------------------------------------- 1. posting

def test_subscriber_post_reaches_every_subscriber_with_list_headers_and_verp(tmp_path):
    subs = ["alice@a.test", "bob@b.test", "carol@lax.test"]
    with Internet(str(tmp_path / "net"), domains=MX_DOMAINS, dmarc=DMARC) as net:
        img = make_store(tmp_path, subs)
        assert show(img)["counter"] == 0
        with serving(net, img) as srv:
            bodies = {}
            for n in range(3):
                subject = "post number %d" % n
                bodies[n] = ("Post %d.\r\n.a line with a leading dot\r\n" % n).encode()
                data = message("Carol Lax <carol@lax.test>", subject, body=bodies[n].decode(), extra=[
                    # fields a post may bring along from elsewhere: replaced by ours
                    "Sender: carols-assistant@lax.test",
                    "List-Unsubscribe: <mailto:other-unsubscribe@elsewhere.test>",
                    "Precedence: bulk",
                    "X-Custom: kept as it is"])
                send_ok(srv, "carol@lax.test", LIST, data)
                wait_mail(net, srv, subs, subject)
            assert_quiet(net, 3 * len(subs), srv)
        lst = show(img)
        assert lst["counter"] == 3, lst
        assert lst["temp_queue"] == 0
        assert sorted(lst["subscriber_addresses"]) == sorted(subs)
        msgs = net.mx.messages()
        assert len(msgs) == 9
        for n in range(3):
            copies = with_subject(net, "post number %d" % n)
            # one copy per subscriber, each in its own transaction with the VERP
            # sender naming this post's counter and that subscriber
            assert sorted((m.recipient, m.sender) for m in copies) == \
                sorted((s, verp(s, n)) for s in subs)
            for m in copies:
                assert_list_headers(m)
                assert m["From"] == "Carol Lax <carol@lax.test>"      # lax.test: p=none
                assert m["X-Original-From"] is None
                assert m["Reply-To"] is None
                assert m["X-Custom"] == "kept as it is"
                assert m["Subject"] == "post number %d" % n
                assert m["Message-ID"].startswith("<postnumber%d." % n)
                head, body = m.original.split(b"\r\n\r\n", 1)
                assert body == bodies[n]
                assert b"carols-assistant" not in head and b"elsewhere.test" not in head
                assert b"bulk" not in head


# ---------------------------------------------------------------- 2. DMARC

def test_dmarc_reject_poster_is_rewritten_and_none_poster_is_not(tmp_path):
    subs = ["alice@a.test", "sam@strict.test", "lou@lax.test"]
    with Internet(str(tmp_path / "net"), domains=MX_DOMAINS, dmarc=DMARC) as net:
        img = make_store(tmp_path, subs)
        with serving(net, img) as srv:
            send_ok(srv, "sam@strict.test", LIST,
                    message('"Sam Strict" <sam@strict.test>', "from a strict domain"))
            strict = wait_mail(net, srv, subs, "from a strict domain")
            send_ok(srv, "lou@lax.test", LIST, message("Lou Lax <lou@lax.test>", "from a lax domain"))
            lax = wait_mail(net, srv, subs, "from a lax domain")
    for s in subs:
        [m] = strict[s]
        assert_list_headers(m)
        name, addr = email.utils.parseaddr(m["From"])
        assert (name, addr) == ("Sam Strict via ptt", LIST), m["From"]
        assert email.utils.parseaddr(m["Reply-To"])[1] == "sam@strict.test", m["Reply-To"]
        assert email.utils.parseaddr(m["X-Original-From"])[1] == "sam@strict.test"
        assert len(m.message.get_all("From")) == 1
        assert m.sender == verp(s, 0)
        [m] = lax[s]
        assert_list_headers(m)
        assert m["From"] == "Lou Lax <lou@lax.test>"
        assert m["X-Original-From"] is None and m["Reply-To"] is None
        assert m.sender == verp(s, 1)


def test_dmarc_tree_walk_uses_the_parent_domains_policy(tmp_path):
    """_dmarc.<From domain> does not exist (NXDOMAIN): that is "no record
    here", not a failed lookup, and the walk goes on to the parent domain."""
    subs = ["alice@a.test"]
    with Internet(str(tmp_path / "net"), domains=MX_DOMAINS, dmarc=DMARC) as net:
        img = make_store(tmp_path, subs, policy="open")
        with serving(net, img) as srv:
            send_ok(srv, "lou@sub.lax.test", LIST,
                    message("Lou Sub <lou@sub.lax.test>", "from below a p=none domain"))
            [lax] = wait_mail(net, srv, subs, "from below a p=none domain")["alice@a.test"]
            send_ok(srv, "sam@sub.strict.test", LIST,
                    message("Sam Sub <sam@sub.strict.test>", "from below a p=reject domain"))
            [strict] = wait_mail(net, srv, subs, "from below a p=reject domain")["alice@a.test"]
            log = srv.output()
    assert email.utils.parseaddr(strict["From"]) == ("Sam Sub via ptt", LIST), log
    assert email.utils.parseaddr(strict["X-Original-From"])[1] == "sam@sub.strict.test"
    assert lax["From"] == "Lou Sub <lou@sub.lax.test>", log
    assert lax["X-Original-From"] is None


# ---------------------------------------------------------------- 3. opt-in

def test_double_opt_in_subscribe_and_unsubscribe_round_trip(tmp_path):
    new = "newbie@b.test"
    with Internet(str(tmp_path / "net"), domains=MX_DOMAINS, dmarc=DMARC) as net:
        img = make_store(tmp_path, ["alice@a.test"])
        with serving(net, img) as srv:
            send_ok(srv, new, "ptt-subscribe@lists.test",
                    message(new, "please let me in", to="ptt-subscribe@lists.test"))
            [conf] = wait_mail(net, srv, [new], "Confirm your subscription")[new]
            assert conf.sender == "ptt-bounces@lists.test"
            assert email.utils.parseaddr(conf["From"])[1] == "ptt-owner@lists.test"
            assert conf["Auto-Submitted"] == "auto-replied"
            assert conf["In-Reply-To"] and conf["In-Reply-To"].startswith("<pleaseletmein.")
            confirm = tokened(conf, "confirm")
            assert email.utils.parseaddr(conf["Reply-To"])[1] == confirm
            # asked but not confirmed: not a member yet
            send_ok(srv, "alice@a.test", LIST, message("Alice <alice@a.test>", "before confirming"))
            wait_mail(net, srv, ["alice@a.test"], "before confirming")
            # a reply from the subscriber's mail client confirms
            send_ok(srv, new, confirm, message(new, "Re: " + conf["Subject"], to=confirm, extra=[
                "In-Reply-To: %s" % conf["Message-ID"]], body="> To confirm, reply\r\n"))
            wait_mail(net, srv, [new], "Welcome to ptt@lists.test")
            # the same confirmation again: the request is used up
            send_ok(srv, new, confirm, message(new, "Re: again", to=confirm), queued=False)
        assert with_subject(net, "before confirming", new) == []
        lst = show(img)
        assert new in lst["subscriber_addresses"], lst
        assert lst["counter"] == 1

        with serving(net, img) as srv:      # what was confirmed survives a restart
            send_ok(srv, "alice@a.test", LIST, message("Alice <alice@a.test>", "after joining"))
            got = wait_mail(net, srv, ["alice@a.test", new], "after joining")
            assert [m.sender for m in got[new]] == [verp(new, 1)]

            send_ok(srv, new, "ptt-unsubscribe@lists.test",
                    message(new, "let me out", to="ptt-unsubscribe@lists.test"))
            [conf] = wait_mail(net, srv, [new], "Confirm that you leave")[new]
            leave = tokened(conf, "confirm")
            assert email.utils.parseaddr(conf["Reply-To"])[1] == leave
            # not yet confirmed: still a member
            send_ok(srv, "alice@a.test", LIST, message("Alice <alice@a.test>", "still in"))
            wait_mail(net, srv, ["alice@a.test", new], "still in")
            send_ok(srv, new, leave, message(new, "Re: " + conf["Subject"], to=leave))
            wait_mail(net, srv, [new], "You have left")
            send_ok(srv, "alice@a.test", LIST, message("Alice <alice@a.test>", "after leaving"))
            wait_mail(net, srv, ["alice@a.test"], "after leaving")
            count = len(net.mx.messages())
            assert_quiet(net, count, srv)
        assert with_subject(net, "after leaving", new) == []
        lst = show(img)
    assert new not in lst["subscriber_addresses"], lst
    assert lst["subscriber_addresses"] == ["alice@a.test"]
    assert lst["counter"] == 4


# ---------------------------------------------------------------- 4. moderation

def test_moderated_post_is_held_and_only_the_right_token_releases_it(tmp_path):
    subs = ["alice@a.test", "bob@b.test"]
    with Internet(str(tmp_path / "net"), domains=MX_DOMAINS, dmarc=DMARC) as net:
        img = make_store(tmp_path, subs, policy="moderated")
        with serving(net, img) as srv:
            send_ok(srv, "outsider@lax.test", LIST,
                    message("Out Sider <outsider@lax.test>", "a held post",
                            body="Please distribute me.\r\n"))
            [notice] = wait_mail(net, srv, [MOD], "held for approval")[MOD]
            assert notice.sender == "ptt-bounces@lists.test"
            assert notice["Auto-Submitted"] == "auto-generated"
            approve = tokened(notice, "approve")
            reject = tokened(notice, "reject")
            assert approve.split("-")[2] != reject.split("-")[2]
            # the post itself travels with the notice, as message/rfc822
            parts = [p for p in notice.message.walk() if p.get_content_type() == "message/rfc822"]
            assert len(parts) == 1
            assert "a held post" in parts[0].as_string()
            assert copies_of(net, "a held post") == []      # nobody got the post

            count = len(net.mx.messages())
            moderator_mail = message(MOD, "ok", to="x")
            # 1. the moderator, with one character of the token wrong
            wrong = altered(approve)
            send_ok(srv, MOD, wrong, moderator_mail.replace(b"To: x", b"To: " + wrong.encode()),
                    queued=False)
            # 2. a forged envelope (and From) naming the moderator, wrong token
            forged = altered_id(approve)
            send_ok(srv, MOD, forged, message("Moderator <%s>" % MOD, "approve", to=forged),
                    queued=False, helo="attacker.example")
            # 3. a stranger, the right request ID with the reject action's MAC altered
            send_ok(srv, "mallory@b.test", altered(reject),
                    message("mallory@b.test", "reject it", to=altered(reject)), queued=False)
            # 4. the approve token used at the reject address (wrong action)
            cross = reject.split("-")[0] + "-reject-" + approve.split("-")[2]
            send_ok(srv, MOD, cross, message(MOD, "reject", to=cross), queued=False)
            wait_until("four refused tokens in the log", lambda: srv.output().count(
                "with an unknown, wrong or used token") == 4, srv, timeout=10)
            assert_quiet(net, count, srv)
        lst = show(img)
        assert lst["counter"] == 0
        assert pending_count(img) == 1      # still held: nothing above touched it

        with serving(net, img) as srv:      # the hold survives a restart
            send_ok(srv, MOD, approve, message(MOD, "Re: approve", to=approve))
            got = wait_mail(net, srv, subs, "a held post")
            # used once: the same approval again does nothing
            send_ok(srv, MOD, approve, message(MOD, "Re: approve again", to=approve), queued=False)
            send_ok(srv, MOD, reject, message(MOD, "Re: reject now", to=reject), queued=False)
            count = len(net.mx.messages())
            assert_quiet(net, count, srv)
        lst = show(img)
        assert lst["counter"] == 1
        assert pending_count(img) == 0
        for s in subs:
            [m] = got[s]
            assert m.sender == verp(s, 0)
            assert_list_headers(m)
            assert m["From"] == "Out Sider <outsider@lax.test>"
            assert m.original.split(b"\r\n\r\n", 1)[1] == b"Please distribute me.\r\n"
        assert sorted(m.recipient for m in copies_of(net, "a held post")) == sorted(subs)


def pending_count(img):
    """Documents in pending/ on the image (mtools)."""
    p = subprocess.run(["mdir", "-b", "-i", img, "::/pending"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    return len([n for n in p.stdout.split() if n.lower().endswith(".json")])


# ---------------------------------------------------------------- 5. bounces

def dsn(reporting, final, counter, action="failed", status="5.1.1",
        diagnostic="smtp; 550 5.1.1 <%s>: Recipient address rejected: User unknown"):
    """An RFC 3464 report about post `counter` to `final`, as a real MTA
    writes it (text part, delivery-status, the returned headers)."""
    rcpt = verp(final, counter)
    diag = diagnostic % final if "%s" in diagnostic else diagnostic
    return ("From: Mail Delivery System <MAILER-DAEMON@%(mta)s>\r\n"
            "To: %(rcpt)s\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            "Date: Mon, 13 Jan 2025 10:05:00 +0000\r\n"
            "Message-ID: <dsn.%(n)d.%(t)d@%(mta)s>\r\n"
            "Auto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status;\r\n"
            "\tboundary=\"BOUNDARY.%(t)d\"\r\n"
            "\r\n"
            "This is a MIME-encapsulated message.\r\n"
            "\r\n"
            "--BOUNDARY.%(t)d\r\n"
            "Content-Description: Notification\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            "I'm sorry to have to inform you that your message could not\r\n"
            "be delivered to one or more recipients.\r\n"
            "\r\n"
            "--BOUNDARY.%(t)d\r\n"
            "Content-Description: Delivery report\r\n"
            "Content-Type: message/delivery-status\r\n"
            "\r\n"
            "Reporting-MTA: dns; %(mta)s\r\n"
            "Arrival-Date: Mon, 13 Jan 2025 10:04:59 +0000\r\n"
            "\r\n"
            "Final-Recipient: rfc822; %(final)s\r\n"
            "Original-Recipient: rfc822;%(final)s\r\n"
            "Action: %(action)s\r\n"
            "Status: %(status)s\r\n"
            "Diagnostic-Code: %(diag)s\r\n"
            "\r\n"
            "--BOUNDARY.%(t)d\r\n"
            "Content-Description: Undelivered Message Headers\r\n"
            "Content-Type: text/rfc822-headers\r\n"
            "\r\n"
            "From: Alice <alice@a.test>\r\n"
            "To: ptt@lists.test\r\n"
            "Subject: bounce test %(n)d\r\n"
            "\r\n"
            "--BOUNDARY.%(t)d--\r\n" % dict(mta=reporting, rcpt=rcpt, n=counter,
                                          t=time.monotonic_ns(), final=final,
                                          action=action, status=status, diag=diag)).encode()


def send_dsn(srv, final, counter, queued=False, **kw):
    """A DSN from the null sender to the VERP return address of the post."""
    rcpt = verp(final, counter)
    return send_ok(srv, "<>", rcpt, dsn("mx.b.test", final, counter, **kw), queued=queued)


def removal_notices(net):
    """The moderator's notices that a member was removed after bounces,
    as {member: text}; each must be an auto-generated mail of the list."""
    out = {}
    for m in with_subject(net, "after bounces", MOD):
        assert m.sender == "ptt-bounces@lists.test"
        assert m["Auto-Submitted"] == "auto-generated"
        assert email.utils.parseaddr(m["From"])[1] == "ptt-owner@lists.test"
        out[m["Subject"].split(" ")[0]] = m.content.decode("utf-8", "replace")
    return out


def post_and_wait(net, srv, n, receivers):
    subject = "bounce test %d" % n
    send_ok(srv, "alice@a.test", LIST, message("Alice <alice@a.test>", subject))
    return wait_mail(net, srv, receivers, subject)


def test_dsn_bounces_count_per_post_and_three_remove_the_subscriber(tmp_path):
    gone = "gone@b.test"            # the MX takes the copy, a DSN comes back later
    policy = "policy@b.test"        # the MX refuses at RCPT: 550 5.7.1 (policy)
    slow = "slow@b.test"            # DSNs that must not count: delayed, 5.7.1, not a DSN
    subs = ["alice@a.test", gone, policy, slow]
    with Internet(str(tmp_path / "net"), domains=MX_DOMAINS, dmarc=DMARC) as net:
        net.mx.reject(policy, POLICY)
        img = make_store(tmp_path, subs)
        with serving(net, img) as srv:
            post_and_wait(net, srv, 0, ["alice@a.test", gone, slow])
            send_dsn(srv, gone, 0)
            send_dsn(srv, gone, 0)                                  # the same post: counts once
            send_dsn(srv, slow, 0, action="delayed", status="4.4.1",
                     diagnostic="smtp; 451 4.4.1 try again later")
            send_dsn(srv, slow, 0, status="5.7.1",
                     diagnostic="smtp; 550 5.7.1 message refused as spam")
            # not a DSN (an out-of-office note) at the return address
            send_ok(srv, "slow@b.test", verp(slow, 0),
                    message("slow@b.test", "I am away", to=verp(slow, 0)), queued=False)
            send_dsn(srv, "stranger@b.test", 0)                     # not a member: ignored
            wait_until("the MX's refusal of policy@", lambda: "failed for good" in srv.output(), srv)
            assert_quiet(net, len(net.mx.messages()), srv)
        assert bounce_record(img, gone) == [0]
        assert bounce_record(img, slow) == []
        assert bounce_record(img, policy) == []
        assert bounce_record(img, "stranger@b.test") == []
        assert sorted(show(img)["subscriber_addresses"]) == sorted(subs)

        with serving(net, img) as srv:
            post_and_wait(net, srv, 1, ["alice@a.test", gone, slow])
            send_dsn(srv, gone, 1)
            post_and_wait(net, srv, 2, ["alice@a.test", gone, slow])
            wait_until("the MX's refusals of policy@",
                       lambda: srv.output().count("failed for good") >= 2, srv)
            assert removal_notices(net) == {}
            # the third post's bounce removes gone@ and queues the moderators' notice
            send_dsn(srv, gone, 2, queued=True)
            wait_mail(net, srv, [MOD], "after bounces")
            post_and_wait(net, srv, 3, ["alice@a.test", slow])
            # the 5.7.1 refusals reached the bounce logic, which did not count them
            wait_until("policy@'s refusals of posts 1-3 judged",
                       lambda: srv.output().count("for policy@b.test on post") >= 3, srv)
            assert srv.output().count("does not count (policy rejection)") >= 3
            assert_quiet(net, len(net.mx.messages()), srv)
        lst = show(img)
        notices = removal_notices(net)
        assert with_subject(net, "bounce test 3", gone) == []
        # policy@ was refused with 5.7.1 for four posts and stays
        assert net.mx.attempts(policy) == [POLICY] * 4
        assert bounce_record(img, policy) == []
        assert bounce_record(img, gone) == []
    assert sorted(lst["subscriber_addresses"]) == sorted(["alice@a.test", policy, slow]), lst
    assert lst["counter"] == 4
    assert list(notices) == [gone], notices
    assert "posts 0, 1, 2" in notices[gone] and "5.1.1" in notices[gone], notices[gone]


def test_synchronous_5xx_rejections_count_from_the_first_post(tmp_path):
    dead = "dead@b.test"            # the MX refuses at RCPT: 550 5.1.1, every time
    subs = ["alice@a.test", dead]
    with Internet(str(tmp_path / "net"), domains=MX_DOMAINS, dmarc=DMARC) as net:
        net.mx.reject(dead)
        img = make_store(tmp_path, subs)
        with serving(net, img) as srv:
            for n in range(3):
                post_and_wait(net, srv, n, ["alice@a.test"])
                wait_until("the MX's refusal of post %d" % n,
                           lambda: srv.output().count("failed for good") >= n + 1, srv)
            wait_until("the moderator's notice",
                       lambda: with_subject(net, "after bounces", MOD), srv, timeout=10)
            post_and_wait(net, srv, 3, ["alice@a.test"])
            assert_quiet(net, len(net.mx.messages()), srv)
        lst = show(img)
        notices = removal_notices(net)
        assert net.mx.attempts(dead) == ["550 5.1.1 no such user here"] * 3   # none for post 3
    assert lst["subscriber_addresses"] == ["alice@a.test"], lst
    assert lst["counter"] == 4
    assert list(notices) == [dead]
    assert "posts 0, 1, 2" in notices[dead] and "5.1.1" in notices[dead], notices[dead]


# ---------------------------------------------------------------- 6. refusals

def test_non_member_post_is_refused_and_a_looping_post_is_dropped(tmp_path):
    subs = ["alice@a.test", "bob@b.test"]
    with Internet(str(tmp_path / "net"), domains=MX_DOMAINS, dmarc=DMARC) as net:
        img = make_store(tmp_path, subs)
        with serving(net, img) as srv:
            r, last = send(srv, "stranger@lax.test", LIST,
                           message("Stranger <stranger@lax.test>", "let me post"))
            assert last.startswith("550 5.7.1"), r.transcript
            assert "ptt-subscribe@lists.test" in last                   # says how to join
            assert r.returncode != 0
            # the null sender may not post, even naming a member in From
            r, last = send(srv, "<>", LIST, message("Alice <alice@a.test>", "null sender post"))
            assert last.startswith("550 5.7.1"), r.transcript
            # loops: our own List-Id (any case, folded) or X-Loop, from a member
            send_ok(srv, "alice@a.test", LIST, message("Alice <alice@a.test>", "a looping post", extra=[
                "List-Id: The ptt list\r\n <PTT.lists.test>"]), queued=False)
            send_ok(srv, "bob@b.test", LIST, message("Bob <bob@b.test>", "another loop", extra=[
                "X-Loop: ptt@lists.test"]), queued=False)
            wait_until("two loops in the log", lambda: srv.output().count("(a loop)") == 2, srv,
                       timeout=10)
            # the control: a member's plain post goes through, after them
            send_ok(srv, "bob@b.test", LIST, message("Bob <bob@b.test>", "a fine post"))
            wait_mail(net, srv, subs, "a fine post")
            assert_quiet(net, len(subs), srv)
        lst = show(img)
        assert lst["counter"] == 1
        assert sorted(m["Subject"] for m in net.mx.messages()) == ["a fine post"] * len(subs)
        assert [m.sender for m in with_subject(net, "a fine post", "alice@a.test")] == \
            [verp("alice@a.test", 0)]
