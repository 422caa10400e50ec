"""Cross-checks of ptt.dns against dnspython (CPython only)."""

import os
import time

import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from ptt.dns import resolver as R
from ptt.dns import tsig as T
from ptt.dns import update as U
from ptt.dns import wire as W

pytestmark = pytest.mark.interop

SECRET = os.urandom(32)
KEYNAME = "k._update.example.org"
ALGS = [("SHA1", dns.tsig.HMAC_SHA1), ("SHA224", dns.tsig.HMAC_SHA224),
        ("SHA256", dns.tsig.HMAC_SHA256), ("SHA384", dns.tsig.HMAC_SHA384),
        ("SHA512", dns.tsig.HMAC_SHA512)]


def keyring(alg):
    return {dns.name.from_text(KEYNAME): dns.tsig.Key(KEYNAME, SECRET, alg)}


def our_update():
    u = U.Update("example.org", os.urandom)
    u.require_no_rrset("new.example.org", "A")
    u.replace("sel._domainkey.example.org", "TXT", 3600, "v=DKIM1; p=" + "A" * 400)
    u.add("new.example.org", "A", 300, "192.0.2.1")
    u.add("new.example.org", "AAAA", 300, "2001:db8::1")
    u.add("mx.example.org", "MX", 300, (10, "new.example.org"))
    u.delete_rr("old.example.org", "A", "192.0.2.9")
    return u


@pytest.mark.parametrize("alg,dalg", ALGS)
def test_dnspython_verifies_our_tsig(alg, dalg):
    key = T.Key(KEYNAME, alg, SECRET)
    u = our_update()
    wire, mac = u.sign(key, time.time())
    m = dns.message.from_wire(wire, keyring=keyring(dalg))   # raises if bad
    assert m.had_tsig and m.mac == mac
    assert m.id == u.id
    upd = [str(r) for r in m.update]
    assert any("TXT" in r and "sel._domainkey" in r for r in upd)
    # a wrong secret must fail in dnspython too
    bad = T.Key(KEYNAME, alg, b"x" + SECRET)
    wire2, _ = u.sign(bad, time.time())
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(wire2, keyring=keyring(dalg))


@pytest.mark.parametrize("alg,dalg", ALGS)
def test_we_verify_dnspython_response(alg, dalg):
    key = T.Key(KEYNAME, alg, SECRET)
    u = our_update()
    now = time.time()
    wire, mac = u.sign(key, now)
    req = dns.message.from_wire(wire, keyring=keyring(dalg))
    resp = dns.message.make_response(req)     # signed with the request MAC
    rwire = resp.to_wire()
    m = u.check_response(rwire, key, mac, now)
    assert m.rcode == W.NOERROR and m.tsig is not None
    # an error response, signed
    resp = dns.message.make_response(req)
    resp.set_rcode(dns.rcode.NXRRSET)
    with pytest.raises(U.UpdateError) as e:
        u.check_response(resp.to_wire(), key, mac, now)
    assert e.value.rcode == W.NXRRSET
    # tampered
    bad = bytearray(rwire)
    bad[3] ^= 0x10
    with pytest.raises(W.DnsError):
        u.check_response(bytes(bad), key, mac, now)


def test_dnspython_update_decodes():
    up = dns.update.UpdateMessage("example.org")
    up.present("a.example.org.", "TXT")
    up.absent("b.example.org.")
    up.replace("c.example.org.", 60, "TXT", '"x" "y"')
    up.delete("d.example.org.", "A", "192.0.2.1")
    up.delete("e.example.org.")
    m = W.decode(up.to_wire())
    assert m.opcode == W.UPDATE
    assert m.question == [W.Question("example.org", W.SOA, W.IN)]
    assert [(r.name, r.rtype, r.rclass, r.data) for r in m.answer] == [
        ("a.example.org", W.TXT, W.CLASS_ANY, None),
        ("b.example.org", W.ANY, W.CLASS_NONE, None)]
    assert [(r.name, r.rtype, r.rclass, r.data) for r in m.authority] == [
        ("c.example.org", W.TXT, W.CLASS_ANY, None),
        ("c.example.org", W.TXT, W.IN, [b"x", b"y"]),
        ("d.example.org", W.A, W.CLASS_NONE, "192.0.2.1"),
        ("e.example.org", W.ANY, W.CLASS_ANY, None)]


RECORDS = [
    ("example.org.", "MX", ["10 mx1.example.org.", "20 mx2.example.net."]),
    ("example.org.", "SOA", ["ns.example.org. h.example.org. 1 2 3 4 5"]),
    ("example.org.", "NS", ["ns.example.org."]),
    ("a.example.org.", "A", ["192.0.2.1", "192.0.2.2"]),
    ("a.example.org.", "AAAA", ["2001:db8::1", "::ffff:c000:201", "fe80::"]),
    ("t.example.org.", "TXT", ['"%s" "%s"' % ("a" * 255, "b" * 10), '""']),
    ("c.example.org.", "CNAME", ["a.example.org."]),
    ("_25._tcp.a.example.org.", "TLSA", ["3 1 1 " + "ab" * 32]),
    ("x\\.y.example.org.", "A", ["192.0.2.3"]),
]


def test_roundtrip_against_dnspython():
    q = dns.message.make_query("example.org.", "ANY")
    r = dns.message.make_response(q)
    r.use_edns(0, 0, 1232)
    for name, t, datas in RECORDS:
        r.answer.append(dns.rrset.from_text(name, 300, "IN", t, *datas))
    wire = r.to_wire()
    m = W.decode(wire)
    assert m.edns.payload == 1232
    ours = m.to_wire()
    back = dns.message.from_wire(ours)
    assert back == dns.message.from_wire(wire)
    # data types as documented
    got = {(rr.name, rr.rtype): [] for rr in m.answer}
    for rr in m.answer:
        got[(rr.name, rr.rtype)].append(rr.data)
    assert sorted(got[("a.example.org", W.AAAA)]) == ["2001:db8::1", "::ffff:c000:201", "fe80::"]
    assert sorted(got[("t.example.org", W.TXT)]) == [[b""], [b"a" * 255, b"b" * 10]]
    assert got[("x\\.y.example.org", W.A)] == ["192.0.2.3"]


def test_our_query_parses_in_dnspython():
    q = R.Query("Example.ORG", "MX", os.urandom)
    m = dns.message.from_wire(q.to_wire())
    assert m.id == q.id
    assert m.question[0].name == dns.name.from_text("example.org.")
    assert m.question[0].rdtype == dns.rdatatype.MX
    assert m.edns == 0 and m.payload == 1232
    resp = dns.message.make_response(m)
    resp.answer.append(dns.rrset.from_text("example.org.", 60, "IN", "MX", "0 ."))
    a = q.check(resp.to_wire())
    assert a.data == [(0, ".")]


def test_random_mutations_only_format_errors():
    import random
    rnd = random.Random(7)
    r = dns.message.make_response(dns.message.make_query("example.org.", "MX"))
    for name, t, datas in RECORDS:
        r.answer.append(dns.rrset.from_text(name, 300, "IN", t, *datas))
    base = r.to_wire()
    for _ in range(5000):
        b = bytearray(base)
        for _ in range(rnd.randint(1, 6)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
        if rnd.random() < 0.3:
            del b[rnd.randrange(len(b)):]
        try:
            W.decode(bytes(b))
        except W.FormatError:
            pass
