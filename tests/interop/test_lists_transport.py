"""The lists server under MicroPython against real peers: swaks posts, BIND9
answers the MX queries, a real Postfix MX receives each subscriber's copy."""
import time

import pytest

from interop.lists_host import ListsHost, free_port
from interop.peers import Internet, swaks
from ptt_tool.cli import main

pytestmark = pytest.mark.interop

DOMAIN = "lists.test"
POST = (b"From: Alice <alice@a.test>\r\nTo: ptt@lists.test\r\nSubject: hello\r\n"
        b"Message-ID: <post-1@a.test>\r\n\r\nHello list.\r\n.leading dot stays\r\n")


def make_store(tmp_path, subscribers):
    img = str(tmp_path / "lipap.img")
    assert main(["create", img, "--domain", DOMAIN]) == 0
    args = ["add", img, "ptt", "-m", "mod@a.test"]
    for s in subscribers:
        args += ["-s", s]
    assert main(args) == 0
    return img


def verp(addr, counter=0):
    local, domain = addr.split("@")
    return "ptt-return-%d-%s=%s@%s" % (counter, local, domain, DOMAIN)


def test_post_reaches_every_subscriber_through_the_mx(tmp_path):
    subs = ["alice@a.test", "bob@b.test", "carol@a.test"]
    with Internet(str(tmp_path / "net"), domains=["a.test", "b.test"]) as net:
        img = make_store(tmp_path, subs)
        srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver).start()
        try:
            r = swaks("127.0.0.1", srv.port, "alice@a.test", "ptt@lists.test", data=POST)
            assert "250 2.0.0 accepted as" in r.transcript, r.transcript
            msgs = net.mx.wait_for(3, timeout=60)
        finally:
            assert srv.stop() == 0
    assert sorted((m.recipient, m.sender) for m in msgs) == sorted((s, verp(s)) for s in subs)
    for m in msgs:
        head, body = m.content.split(b"\r\n\r\n", 1)
        unfolded = head.replace(b"\r\n ", b" ")
        assert b"Received: from client.peers.test ([127.0.0.1]) by lists.test with ESMTP id " in unfolded
        assert b"\r\nList-Id: <ptt.lists.test>" in unfolded
        assert body == b"Hello list.\r\n.leading dot stays\r\n"  # dot-stuffing undone exactly once
    assert "temp queue: 0 messages" in _show(img)


def test_inbound_authentication_results_replace_forged_ones(tmp_path):
    forged = (b"Authentication-Results: LISTS.test; spf=pass smtp.mailfrom=alice@a.test; dmarc=pass\r\n"
              b"Authentication-Results: other.example; spf=fail\r\n" + POST)
    with Internet(str(tmp_path / "net"), domains=["a.test"],
                  records={"a.test": '@ IN TXT "v=spf1 ip4:127.0.0.0/8 -all"'}) as net:
        img = make_store(tmp_path, ["alice@a.test"])
        srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver).start()
        try:
            assert swaks("127.0.0.1", srv.port, "alice@a.test", "ptt@lists.test", data=forged).ok
            msgs = net.mx.wait_for(1, timeout=60)
        finally:
            srv.stop()
    head = msgs[0].content.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
    ours = [l for l in head.split(b"\r\n") if l.lower().startswith(b"authentication-results: lists.test;")]
    assert len(ours) == 1, head  # the forged one is gone, ours is there
    assert b"spf=pass smtp.mailfrom=alice@a.test" in ours[0]
    assert b"dkim=none" in ours[0] and b"dmarc=" in ours[0]
    assert b"Authentication-Results: other.example; spf=fail" in head  # others' fields are kept


def test_unknown_recipients_and_relaying_are_refused(tmp_path):
    img = make_store(tmp_path, ["alice@a.test"])
    srv = ListsHost(img, DOMAIN, free_port(), smarthost="127.0.0.1:9").start()
    try:
        r = swaks("127.0.0.1", srv.port, "x@a.test", "nolist@lists.test", data=POST)
        assert "550 5.1.1" in r.transcript
        r = swaks("127.0.0.1", srv.port, "x@a.test", "someone@elsewhere.test", data=POST)
        assert "550 5.7.1" in r.transcript
    finally:
        srv.stop()
    assert "counter 0" in _show(img)


def test_killed_during_delivery_every_recipient_still_gets_the_post(tmp_path):
    domains = ["d%d.test" % i for i in range(5)]
    subs = ["user%d@%s" % (i, domains[i % 5]) for i in range(400)]
    with Internet(str(tmp_path / "net"), domains=domains) as net:
        img = make_store(tmp_path, subs)
        srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver).start()
        r = swaks("127.0.0.1", srv.port, "user0@d0.test", "ptt@lists.test", data=POST)
        assert "250 2.0.0 accepted as" in r.transcript
        deadline = time.time() + 60
        while len(net.mx.messages()) < 20:
            assert time.time() < deadline, srv.output()
            time.sleep(0.01)
        srv.kill()  # a crash in the middle of the fan-out
        at_crash = len(net.mx.messages())
        assert at_crash < len(subs), "delivery ended before the crash: the test proves nothing"
        srv = ListsHost(img, DOMAIN, srv.port, nameserver=net.resolver).start()
        try:
            deadline = time.time() + 120
            while {m.recipient for m in net.mx.messages()} != set(subs):
                assert time.time() < deadline, (at_crash, len(net.mx.messages()), srv.output()[-2000:])
                time.sleep(0.2)
        finally:
            assert srv.stop() == 0
        got = net.mx.messages()
    # At least once each, with the right envelope; repeats only from the crash window.
    assert {(m.recipient, m.sender) for m in got} == {(s, verp(s)) for s in subs}
    assert len(got) - len(subs) <= at_crash + 400
    assert "temp queue: 0 messages" in _show(img)


def test_temporary_failure_is_retried_then_delivered(tmp_path):
    with Internet(str(tmp_path / "net"), domains=["a.test"]) as net:
        net.mx.temp_fail("slow@a.test", times=2)
        img = make_store(tmp_path, ["slow@a.test", "fast@a.test"])
        srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver, first_retry=1).start()
        try:
            swaks("127.0.0.1", srv.port, "fast@a.test", "ptt@lists.test", data=POST)
            msgs = net.mx.wait_for(2, timeout=60)
        finally:
            srv.stop()
        attempts = net.mx.attempts("slow@a.test")
    assert sorted(m.recipient for m in msgs) == ["fast@a.test", "slow@a.test"]
    assert [a[:3] for a in attempts[:2]] == ["450", "450"], attempts
    assert len(attempts) == 3


def test_permanent_failure_is_not_retried(tmp_path):
    with Internet(str(tmp_path / "net"), domains=["a.test"]) as net:
        net.mx.reject("gone@a.test")
        img = make_store(tmp_path, ["gone@a.test", "here@a.test"])
        srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver, first_retry=1).start()
        try:
            swaks("127.0.0.1", srv.port, "here@a.test", "ptt@lists.test", data=POST)
            net.mx.wait_for(1, timeout=60)
            time.sleep(2.5)  # past two retry delays: nothing more may come
        finally:
            srv.stop()
        assert len(net.mx.attempts("gone@a.test")) == 1
        assert [m.recipient for m in net.mx.messages()] == ["here@a.test"]
    assert "failed for good: 550" in srv.output()
    assert "temp queue: 0 messages" in _show(img)


def test_postmaster_mail_reaches_the_admin_or_the_moderators(tmp_path):
    note = b"From: x@b.test\r\nSubject: abuse report\r\n\r\nYour server...\r\n"
    with Internet(str(tmp_path / "net"), domains=["a.test", "b.test"]) as net:
        img = make_store(tmp_path, ["alice@a.test"])
        srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver,
                        admin="abuse:ops@b.test").start()
        try:
            for rcpt in ("postmaster@lists.test", "Postmaster", "abuse@LISTS.test"):
                r = swaks("127.0.0.1", srv.port, "x@b.test", rcpt, data=note)
                assert r.ok, r.transcript
            msgs = net.mx.wait_for(3, timeout=60)
        finally:
            srv.stop()
        assert [(m.recipient, m.sender) for m in msgs] == [("ops@b.test", "x@b.test")] * 3
        assert all(m.content.endswith(note) for m in msgs)
        # Without --admin, postmaster mail goes to the lists' moderators.
        net.mx.reset()
        srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver,
                        log_path=str(tmp_path / "second.log")).start()
        try:
            assert swaks("127.0.0.1", srv.port, "x@b.test", "postmaster@lists.test", data=note).ok
            r = swaks("127.0.0.1", srv.port, "x@b.test", "abuse@lists.test", data=note)
            assert "550 5.1.1" in r.transcript
            msgs = net.mx.wait_for(1, timeout=60)
        finally:
            srv.stop()
        assert [m.recipient for m in msgs] == ["mod@a.test"]


def test_starttls_with_the_stores_certificate(tmp_path):
    subs = ["alice@a.test"]
    with Internet(str(tmp_path / "net"), domains=["a.test"]) as net:
        img = make_store(tmp_path, subs)
        assert main(["tls", img, "--self-signed"]) == 0
        srv = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver).start()
        try:
            r = swaks("127.0.0.1", srv.port, "alice@a.test", "ptt@lists.test", data=POST, args=["--tls"])
            assert r.ok, r.transcript
            assert "250 STARTTLS" in r.transcript and "=== TLS started with cipher" in r.transcript
            msgs = net.mx.wait_for(1, timeout=60)
        finally:
            srv.stop()
        assert "tls: STARTTLS offered" in srv.output()
    head = msgs[0].content.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ")
    assert b" by lists.test with ESMTPS id " in head


def _show(img):
    import subprocess
    import sys
    import os
    exe = os.path.join(os.path.dirname(sys.executable), "ptt-tool")
    return subprocess.run([exe, "show", img], capture_output=True, text=True).stdout
