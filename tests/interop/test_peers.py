"""The test peers themselves (postfix.py, peers.py): a private Postfix MX
answering for two domains, its canned answers, BIND's MX and DMARC records,
the guest view, and swaks; checked with plain smtplib, dnspython and swaks."""

import os
import smtplib
import socket

import dns.message
import dns.query
import dns.rdatatype
import pytest

from interop import bind, peers, postfix

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not peers.available(),
                                 reason="needs named, postfix, swaks and root")]

DOMAINS = ["a.test", "b.test"]
LIST_SENDER = "list-bounces+%s=%s@lists.example.test"


def message(to, subject="hello", extra=b""):
    return (b"From: Alice <alice@none.test>\r\nTo: " + to.encode() +
            b"\r\nSubject: " + subject.encode() +
            b"\r\nMessage-ID: <" + subject.encode() + b"@none.test>\r\n" + extra +
            b"\r\nLine one.\r\n.leading dot\r\n\r\nLast line.\r\n")


def verp(rcpt):
    local, _, domain = rcpt.partition("@")
    return LIST_SENDER % (local, domain)


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    d = tmp_path_factory.mktemp("peers")
    n = peers.Internet(str(d), DOMAINS,
                       dmarc={"strict.test": "reject", "none.test": "none"},
                       records={"a.test": 'sel._domainkey IN TXT "v=DKIM1; p=AAAA"'},
                       guest=True)
    n.start()
    yield n
    n.stop()


@pytest.fixture
def mx(net):
    net.mx.reset()
    yield net.mx
    net.mx.reset()


def query(port, name, rdtype):
    q = dns.message.make_query(name, rdtype)
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
    return [rd for rrset in r.answer for rd in rrset
            if rrset.rdtype == dns.rdatatype.from_text(rdtype)]


def mx_address(port, domain):
    """Resolve like a sending MTA: MX, then the exchange's A record."""
    (mxrd,) = query(port, domain, "MX")
    (a,) = query(port, mxrd.exchange.to_text(), "A")
    return a.address


def test_started_fast_and_listens(net):
    assert net.mx.start_seconds < 5, net.mx.start_seconds
    for host in ("127.0.0.2", "127.0.0.1"):
        s = socket.create_connection((host, 25), timeout=3)
        assert s.recv(100).startswith(b"220 mx.peers.test")
        s.close()


def test_two_domains_with_verp_envelopes(net, mx):
    sent = {}
    for rcpt in ("ann@a.test", "bob@b.test"):
        host = mx_address(net.dns_port, rcpt.split("@")[1])
        assert host == "127.0.0.2"
        data = message(rcpt, "verp-" + rcpt.split("@")[0])
        with smtplib.SMTP(host, 25, local_hostname="lists.example.test") as s:
            refused = s.sendmail(verp(rcpt), [rcpt], data)
            assert refused == {}
        sent[rcpt] = data
    msgs = mx.wait_for(2, timeout=10)
    assert len(msgs) == 2
    by_rcpt = dict((m.recipient, m) for m in msgs)
    assert sorted(by_rcpt) == ["ann@a.test", "bob@b.test"]
    for rcpt, m in by_rcpt.items():
        assert m.sender == verp(rcpt)
        assert m.domain == rcpt.split("@")[1]
        assert m.original == sent[rcpt]          # byte-exact after the Received
        assert m["Received"].split()[0:2] == ["from", "lists.example.test"]
        assert m.raw.startswith(b"Return-Path: <" + verp(rcpt).encode() + b">\n")
    assert [a for s, r, a in mx.attempts()] == ["DUNNO", "DUNNO"]


def test_null_sender_and_several_recipients(net, mx):
    with smtplib.SMTP("127.0.0.2", 25) as s:
        s.sendmail("", ["x@a.test", "y@a.test", "z@b.test"], message("x@a.test"))
    msgs = mx.wait_for(3)
    assert sorted(m.recipient for m in msgs) == ["x@a.test", "y@a.test", "z@b.test"]
    assert set(m.sender for m in msgs) == {""}
    assert [m.recipient for m in mx.messages("Y@A.test")] == ["y@a.test"]


def test_temporary_then_accepted(net, mx):
    mx.temp_fail("slow@a.test", times=2)
    replies = []
    for attempt in range(3):
        with smtplib.SMTP("127.0.0.2", 25) as s:
            s.ehlo("lists.example.test")
            s.mail(verp("slow@a.test"))
            code, text = s.rcpt("slow@a.test")
            replies.append((code, text.split()[0]))
            if code == 250:
                assert s.data(message("slow@a.test"))[0] == 250
    assert replies == [(450, b"4.2.0"), (450, b"4.2.0"), (250, b"2.1.5")]
    (m,) = mx.wait_for(1)
    assert m.recipient == "slow@a.test" and m.sender == verp("slow@a.test")
    assert mx.attempts("slow@a.test") == [postfix.BUSY, postfix.BUSY, postfix.ACCEPT]


def test_permanent_refusals(net, mx):
    mx.reject("gone@a.test")                       # 550 5.1.1
    mx.reject("blocked@b.test", postfix.POLICY)    # 550 5.7.1
    mx.reject("@b.test", "550 5.7.1 whole domain refused")
    mx.set_rule("blocked@b.test", postfix.POLICY)  # an address beats its domain
    with smtplib.SMTP("127.0.0.2", 25) as s:
        s.ehlo("lists.example.test")
        s.mail("sender@lists.example.test")
        gone = s.rcpt("gone@a.test")
        blocked = s.rcpt("blocked@b.test")
        other = s.rcpt("anyone@b.test")
        relay = s.rcpt("someone@elsewhere.test")
        ok = s.rcpt("fine@a.test")
        assert s.data(message("fine@a.test"))[0] == 250
    assert gone[0] == 550 and gone[1].startswith(b"5.1.1 <gone@a.test>")
    assert blocked[0] == 550 and blocked[1].startswith(b"5.7.1 ")
    assert b"refused by local policy" in blocked[1]
    assert other[0] == 550 and b"whole domain refused" in other[1]
    assert relay[0] == 554 and b"Relay access denied" in relay[1]   # not an open relay
    assert ok[0] == 250
    (m,) = mx.wait_for(1)
    assert m.recipient == "fine@a.test"
    # the same answer again and again
    with smtplib.SMTP("127.0.0.2", 25) as s:
        s.ehlo("x.test")
        s.mail("sender@lists.example.test")
        assert s.rcpt("gone@a.test")[0] == 550


def test_dns_mx_dmarc_and_records(net):
    for d in DOMAINS:
        (rd,) = query(net.dns_port, d, "MX")
        assert rd.preference == 10 and rd.exchange.to_text() == "mx.%s." % d
    assert mx_address(net.dns_port, "b.test") == "127.0.0.2"
    (strict,) = query(net.dns_port, "_dmarc.strict.test", "TXT")
    assert b"".join(strict.strings) == b"v=DMARC1; p=reject"
    (lax,) = query(net.dns_port, "_dmarc.none.test", "TXT")
    assert b"".join(lax.strings) == b"v=DMARC1; p=none"
    assert query(net.dns_port, "strict.test", "MX") == []    # not a mail domain
    (dk,) = query(net.dns_port, "sel._domainkey.a.test", "TXT")
    assert b"".join(dk.strings) == b"v=DKIM1; p=AAAA"


def test_guest_view_answers_10_0_2_2(net):
    assert net.guest_resolver == "udp:10.0.2.2:%d" % net.guest_dns_port
    assert mx_address(net.guest_dns_port, "a.test") == "10.0.2.2"
    (strict,) = query(net.guest_dns_port, "_dmarc.strict.test", "TXT")
    assert b"".join(strict.strings) == b"v=DMARC1; p=reject"


def test_ptt_resolver_sees_the_mx(net):
    from ptt.dns import client as C
    r = C.Resolver([net.resolver], os.urandom, timeout=2.0)
    assert r.mx_hosts("a.test") == [(10, "mx.a.test")]
    assert r.addresses("mx.a.test") == ["127.0.0.2"]


def test_swaks_helper(net, mx):
    mx.reject("nobody@b.test")
    data = message("bob@b.test", "swaks")
    r = net.swaks("alice@none.test", "bob@b.test", data)
    assert r.ok, r
    assert any(line.startswith("250 2.0.0 Ok: queued") for line in r.replies()), r
    (m,) = mx.wait_for(1)
    assert m.recipient == "bob@b.test" and m.sender == "alice@none.test"
    assert m.original == data
    r = net.swaks("alice@none.test", "nobody@b.test", data)
    assert r.returncode == 24, r           # no recipient accepted
    assert any(line.startswith("550 5.1.1") for line in r.replies()), r


def test_stop_frees_port_and_kills_master(tmp_path):
    port = postfix.free_port("127.0.0.3")
    mx = postfix.PostfixMX(str(tmp_path), ["c.test"], [("127.0.0.3", port)])
    with mx:
        pid = mx.master_pid()
        assert pid and postfix._alive(pid)
        inst = mx.dir
        with smtplib.SMTP("127.0.0.3", port) as s:
            s.sendmail("a@x.test", ["q@c.test"], b"Subject: q\r\n\r\nq\r\n")
        assert mx.wait_for(1)[0].recipient == "q@c.test"
    assert not postfix._alive(pid)
    assert postfix.port_free("127.0.0.3", port)
    assert not os.path.exists(inst)        # removed after a clean run


def test_failed_start_reports_the_log(tmp_path):
    mx = postfix.PostfixMX(str(tmp_path), ["c.test"], [("127.0.0.3", postfix.free_port("127.0.0.3"))],
                           main={"inet_interfaces": "127.0.0.99"})
    with pytest.raises(postfix.PostfixError) as e:
        mx.start()
    mx.keep = False
    mx.stop()
    # Postfix says so only to syslog, or to stderr when that is a terminal
    assert "no local interface found for 127.0.0.99" in str(e.value)


def test_listener_taken_by_another_fixture_waits_then_fails(net):
    # Postfix binds with SO_REUSEPORT: two instances on one address would
    # share its connections. A lock file per address makes fixtures take turns.
    mx = postfix.PostfixMX(None, ["c.test"], [("127.0.0.2", 25)])
    with pytest.raises(postfix.PostfixError) as e:
        mx.start(lock_timeout=0.3)
    assert "127.0.0.2:25 is held by another test fixture (pid %d" % os.getpid() in str(e.value)


def test_port_in_use_is_reported():
    s = socket.socket()
    s.bind(("127.0.0.3", 0))
    s.listen(1)
    try:
        mx = postfix.PostfixMX(None, ["c.test"], [s.getsockname()])
        with pytest.raises(postfix.PostfixError) as e:
            mx.start()
        assert "127.0.0.3:%d is already in use" % s.getsockname()[1] in str(e.value)
    finally:
        s.close()
