"""ptt.dns against a real BIND9: queries (UDP, TCP on truncation), TSIG
UPDATE, and the same under the real MicroPython binary (tools/mpy)."""

import os
import subprocess
import time

import pytest

from interop import bind
from ptt.dns import client as C
from ptt.dns import resolver as R
from ptt.dns import tsig as T
from ptt.dns import update as U
from ptt.dns import wire as W

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not bind.available(), reason="named missing")]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MPY = os.path.join(ROOT, "tools", "mpy")

ZONE = "example.test"
KEY = "k._update.example.test"
SECRET = b"0123456789abcdef0123456789abcdef"
KEY1 = "k1._update.example.test"
SECRET1 = b"sha1 secret for the test key...."
LONG_TXT = ("v=DKIM1; k=rsa; p=" + "A" * 400)
BIG_TXT = "x" * 1000

ZONE_BODY = """
@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@ IN NS ns
ns IN A 127.0.0.1
@ IN MX 10 mx1
@ IN MX 10 mx2
@ IN MX 20 mx3
mx1 IN A 127.0.0.11
mx2 IN A 127.0.0.12
mx3 IN A 127.0.0.13
mx3 IN AAAA 2001:db8::13
www IN A 192.0.2.1
www IN AAAA 2001:db8::1
alias IN CNAME www
implicit IN A 127.0.0.20
nothing IN TXT "no address here"
nullmx IN MX 0 .
long IN TXT %s
big IN TXT %s
""" % (
    " ".join('"%s"' % LONG_TXT[i:i + 200] for i in range(0, len(LONG_TXT), 200)),
    " ".join('"%s"' % BIG_TXT[i:i + 250] for i in range(0, len(BIG_TXT), 250)),
)


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    d = tmp_path_factory.mktemp("named")
    b = bind.Bind(str(d), {ZONE: ZONE_BODY},
                  keys={KEY: ("hmac-sha256", SECRET), KEY1: ("hmac-sha1", SECRET1)})
    b.start()
    yield b
    b.stop()


def resolver(ns, **kw):
    return C.Resolver(["udp:127.0.0.1:%d" % ns.port], os.urandom, timeout=2.0, **kw)


def test_mx_order(ns):
    r = resolver(ns)
    seen = set()
    for _ in range(20):
        hosts = r.mx_hosts(ZONE)
        assert [h[0] for h in hosts] == [10, 10, 20]
        assert hosts[2][1] == "mx3.example.test"
        seen.add(hosts[0][1])
    assert seen == {"mx1.example.test", "mx2.example.test"}
    assert r.tcp_fallbacks == 0


def test_a_aaaa_cname(ns):
    r = resolver(ns)
    assert r.query("www.example.test", "A").data == ["192.0.2.1"]
    assert r.query("WWW.Example.Test", "AAAA").data == ["2001:db8::1"]
    a = r.query("alias.example.test", "A")
    assert a.data == ["192.0.2.1"] and a.canonical == "www.example.test"
    assert r.addresses("mx3.example.test") == ["127.0.0.13", "2001:db8::13"]


def test_long_txt(ns):
    r = resolver(ns)
    ans = r.query("long.example.test", "TXT")
    assert len(ans.data[0]) == 3
    assert r.txt("long.example.test") == [LONG_TXT.encode()]


def test_truncated_udp_goes_tcp(ns):
    r = resolver(ns, edns_payload=None)
    assert r.txt("big.example.test") == [BIG_TXT.encode()]
    assert r.tcp_fallbacks == 1


def test_nxdomain_nodata(ns):
    r = resolver(ns)
    with pytest.raises(R.NxDomain) as e:
        r.query("nope.example.test", "A")
    assert "nope.example.test does not exist" in str(e.value)
    assert not e.value.temporary
    assert r.query("www.example.test", "MX").data == []


def test_null_and_implicit_mx(ns):
    r = resolver(ns)
    with pytest.raises(R.NullMx) as e:
        r.mx_hosts("nullmx.example.test")
    assert "does not accept mail" in str(e.value)
    assert r.mx_hosts("implicit.example.test") == [(0, "implicit.example.test")]
    with pytest.raises(R.NoMailHost):
        r.mx_hosts("nothing.example.test")


def test_timeout_names_server():
    port = bind.free_port()   # nothing listens there
    r = C.Resolver(["udp:127.0.0.1:%d" % port], os.urandom, timeout=0.3, attempts=1)
    with pytest.raises(R.ResolveError) as e:
        r.query("example.test", "A")
    assert e.value.temporary
    assert "127.0.0.1" in str(e.value)


def test_update_sha256_publishes_txt(ns):
    key = T.parse_key(ns.key_string(KEY))
    name = "sel1._domainkey.example.test"
    C.publish_txt("127.0.0.1:%d" % ns.port, key, name, LONG_TXT, os.urandom,
                  time.time())
    assert ns.txt(name) == [LONG_TXT.encode()]
    # replace: the old value goes
    C.publish_txt("127.0.0.1:%d" % ns.port, key, name, "v=DKIM1; p=new",
                  os.urandom, time.time())
    assert ns.txt(name) == [b"v=DKIM1; p=new"]
    assert resolver(ns).txt(name) == [b"v=DKIM1; p=new"]


def test_update_sha1_and_delete(ns):
    key = T.parse_key(ns.key_string(KEY1))
    name = "sha1._domainkey.example.test"
    server = "udp:127.0.0.1:%d" % ns.port
    C.publish_txt(server, key, name, "one", os.urandom, time.time())
    assert ns.txt(name) == [b"one"]
    u = U.Update(ZONE, os.urandom)
    u.require_rrset(name, "TXT")
    u.delete_rrset(name, "TXT")
    C.send_update(server, u, key, os.urandom, time.time())
    assert ns.txt(name) == []
    # prerequisite now fails
    u = U.Update(ZONE, os.urandom)
    u.require_rrset(name, "TXT")
    u.delete_rrset(name, "TXT")
    with pytest.raises(U.UpdateError) as e:
        C.send_update(server, u, key, os.urandom, time.time())
    assert e.value.rcode == W.NXRRSET


def test_wrong_secret_badsig(ns):
    bad = T.Key(KEY, "hmac-sha256", b"not the secret")
    name = "bad._domainkey.example.test"
    with pytest.raises(T.TsigError) as e:
        C.publish_txt("127.0.0.1:%d" % ns.port, bad, name, "v=DKIM1; p=x",
                      os.urandom, time.time())
    assert e.value.error == W.BADSIG
    assert "secret" in str(e.value) and KEY in str(e.value)
    assert ns.txt(name) == []


def test_unknown_key_badkey(ns):
    bad = T.Key("other._update.example.test", "hmac-sha256", SECRET)
    name = "badkey._domainkey.example.test"
    with pytest.raises(T.TsigError) as e:
        C.publish_txt("127.0.0.1:%d" % ns.port, bad, name, "x", os.urandom,
                      time.time())
    assert e.value.error == W.BADKEY
    assert ns.txt(name) == []


def test_unsigned_update_refused(ns):
    u = U.Update(ZONE, os.urandom)
    u.add("unsigned.example.test", "TXT", 3600, "x")
    with pytest.raises(U.UpdateError) as e:
        C.send_update("127.0.0.1:%d" % ns.port, u, None, os.urandom, time.time())
    assert e.value.rcode == W.REFUSED
    assert "REFUSED" in str(e.value)
    assert ns.txt("unsigned.example.test") == []


def test_bad_time_is_reported(ns):
    key = T.parse_key(ns.key_string(KEY))
    with pytest.raises(T.TsigError) as e:
        C.publish_txt("127.0.0.1:%d" % ns.port, key, "late.example.test", "x",
                      os.urandom, time.time() - 3600)
    assert e.value.error == W.BADTIME
    assert "time" in str(e.value)


MPY_SCRIPT = r"""
import os, sys, time
from ptt.dns import client as C, resolver as R, tsig as T, wire as W
port = int(sys.argv[1]); keystr = sys.argv[2]
r = C.Resolver(["udp:127.0.0.1:%d" % port], os.urandom)
hosts = r.mx_hosts("example.test")
assert [h[0] for h in hosts] == [10, 10, 20], hosts
assert r.query("www.example.test", "AAAA").data == ["2001:db8::1"]
assert r.txt("long.example.test") == [LONG.encode()]
r2 = C.Resolver(["udp:127.0.0.1:%d" % port], os.urandom, edns_payload=None)
assert r2.txt("big.example.test") == [b"x" * 1000]
assert r2.tcp_fallbacks == 1
try:
    r.mx_hosts("nullmx.example.test")
    raise AssertionError("null MX accepted")
except R.NullMx:
    pass
key = T.parse_key(keystr)
C.publish_txt("127.0.0.1:%d" % port, key, "mpy._domainkey.example.test",
              "v=DKIM1; p=micropython", os.urandom, time.time())
assert r.txt("mpy._domainkey.example.test") == [b"v=DKIM1; p=micropython"]
bad = T.Key(key.name, "hmac-sha256", b"wrong")
try:
    C.publish_txt("127.0.0.1:%d" % port, bad, "mpybad.example.test", "x",
                  os.urandom, time.time())
    raise AssertionError("wrong secret accepted")
except T.TsigError as e:
    assert e.error == W.BADSIG
    print("error text:", e)
print("MPY-DNS-OK", sys.implementation.name)
"""


@pytest.mark.skipif(not os.path.exists(MPY), reason="tools/mpy not built yet")
def test_under_micropython(ns, tmp_path):
    script = tmp_path / "mpy_dns.py"
    script.write_text("LONG = %r\n" % LONG_TXT + MPY_SCRIPT)
    env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "app"))
    p = subprocess.run([MPY, str(script), str(ns.port), ns.key_string(KEY)],
                       cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "MPY-DNS-OK micropython" in p.stdout, p.stdout + p.stderr
    assert ns.txt("mpy._domainkey.example.test") == [b"v=DKIM1; p=micropython"]
    assert ns.txt("mpybad.example.test") == []
