"""The signer's DNS self-configuration against a real BIND9 primary: the
TSIG-signed UPDATE publishes the key records, a correct record is left
alone, a different one is replaced, a wrong TSIG key gives a clear error
and changes nothing, and rotating selectors publish / keep / delete. Under
CPython in process and under the real MicroPython binary."""
import base64
import os
import subprocess

import dns.message
import dns.query
import dns.rdatatype
import dns.update
import dns.tsigkeyring
import pytest

from interop import bind
from ptt import dkim
from ptt.signer import args as A
from ptt.signer import dnsconf as D
from ptt.signer import keyset as K
from ptt.signer import run as RUN

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not bind.available(), reason="named missing")]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MPY = os.path.join(ROOT, "tools", "mpy")
ZONE = "example.test"
KEY = "k._update.example.test"
SECRET = b"dns self configuration secret!!!"
ZONE_BODY = """
@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@ IN NS ns
ns IN A 127.0.0.1
"""
SEED = base64.b64encode(bytes(range(32))).decode()
PERIOD = 3600
T0 = 1700000000 - 1700000000 % PERIOD + 60      # one minute into a period


@pytest.fixture
def ns(tmp_path):
    b = bind.Bind(str(tmp_path / "named"), {ZONE: ZONE_BODY}, keys={KEY: ("hmac-sha256", SECRET)})
    b.start()
    yield b
    b.stop()


def serial(ns):
    q = dns.message.make_query(ZONE, "SOA")
    r = dns.query.tcp(q, "127.0.0.1", port=ns.port, timeout=3)
    return r.answer[0][0].serial


def words(ns, key=None, selector="s1", extra=()):
    return ["--ipv4=10.0.2.15/24", "--domain=" + ZONE, "--trusted=127.0.0.0/8",
            "--dst=127.0.0.1", "--seed=" + SEED, "--selector=" + selector,
            "--rsa-bits=1024", "--dns-server=127.0.0.1:%d" % ns.port,
            "--dns-key=" + (key or ns.key_string(KEY))] + list(extra)


def setup(ns, now=None, **kw):
    cfg = A.parse(words(ns, **kw))
    lines = []
    keys, plan = RUN.setup_keys(cfg, lines.append, now)
    return keys, lines


def expected(selector, alg="ed25519"):
    ring = K.Keyring(ZONE, seed=bytes(range(32)), rsa_bits=1024)
    return dkim.txt_record(ring.key(alg, selector))


def test_publishes_then_leaves_a_matching_record_alone(ns):
    keys, lines = setup(ns)
    assert ns.txt("s1-ed25519._domainkey." + ZONE) == [expected("s1-ed25519")]
    assert ns.txt("s1-rsa._domainkey." + ZONE) == [expected("s1-rsa", "rsa")]
    assert any("published s1-rsa._domainkey" in l for l in lines), lines
    before = serial(ns)
    keys, lines = setup(ns)
    assert serial(ns) == before, "a matching record must not be republished"
    assert any("s1-rsa._domainkey.example.test is published and matches" in l for l in lines)


def test_replaces_a_different_record(ns):
    # Someone else's key (and spacing) at our selector, put there with dnspython.
    kr = dns.tsigkeyring.from_text({KEY: base64.b64encode(SECRET).decode()})
    u = dns.update.Update(ZONE, keyring=kr, keyalgorithm="hmac-sha256")
    u.add("s1-ed25519._domainkey", 300, "TXT", '"v=DKIM1; k=ed25519; p=AAAAC3NzaC1lZDI1NTE5AAAAIG"')
    assert dns.query.tcp(u, "127.0.0.1", port=ns.port, timeout=3).rcode() == 0
    keys, lines = setup(ns)
    assert ns.txt("s1-ed25519._domainkey." + ZONE) == [expected("s1-ed25519")]
    assert any("replaced a different key" in l for l in lines), lines


def test_wrong_tsig_key_is_a_clear_error_and_changes_nothing(ns):
    before = serial(ns)
    bad = "%s:SHA256:%s" % (KEY, base64.b64encode(b"not the secret at all, sorry!!!!").decode())
    with pytest.raises(D.DnsConfError) as e:
        setup(ns, key=bad)
    msg = str(e.value)
    assert "publishing s1-rsa._domainkey.example.test failed" in msg
    assert "BADSIG" in msg or "NOTAUTH" in msg, msg
    assert "\n" not in msg
    assert ns.txt("s1-rsa._domainkey." + ZONE) == []
    assert serial(ns) == before
    unknown = "other._update.example.test:SHA256:" + base64.b64encode(SECRET).decode()
    with pytest.raises(D.DnsConfError) as e:
        setup(ns, key=unknown)
    assert "BADKEY" in str(e.value) or "NOTAUTH" in str(e.value), str(e.value)
    assert serial(ns) == before


def test_rotation_publishes_keeps_and_deletes(ns):
    sel = "ptt-%d"
    name = lambda epoch: "ptt-%d-ed25519._domainkey.%s" % (epoch, ZONE)
    start = T0 - T0 % PERIOD
    kw = dict(selector=sel, extra=["-x", "1h", "--algorithm=ed25519"])
    setup(ns, now=T0, **kw)
    assert ns.txt(name(start)) == [expected("ptt-%d-ed25519" % start)]
    assert ns.txt(name(start - PERIOD)) == [expected("ptt-%d-ed25519" % (start - PERIOD))]
    # Lead time before the next period: the next record appears early.
    keys, _ = setup(ns, now=start + PERIOD - 100, **kw)
    assert keys.signers()[0][1] == b"ptt-%d-ed25519" % start
    assert ns.txt(name(start + PERIOD)) != []
    # Next period: sign with the new key; the previous record stays (its
    # signatures are still valid), the one before it is deleted.
    keys, lines = setup(ns, now=start + PERIOD + 5, **kw)
    assert keys.signers()[0][1] == b"ptt-%d-ed25519" % (start + PERIOD)
    assert ns.txt(name(start)) != []
    assert ns.txt(name(start - PERIOD)) == [], lines
    assert any("deleted %s" % name(start - PERIOD) in l for l in lines), lines


MPY_SCRIPT = r"""
import sys
from ptt.signer import args as A, run as RUN
words = open(sys.argv[1]).read().split()
now = int(sys.argv[2]) if len(sys.argv) > 2 else None
try:
    cfg = A.parse(words)
    keys, plan = RUN.setup_keys(cfg, print, now)
    print("SIGNERS", " ".join(s.decode() for a, s, k in keys.signers()))
except Exception as e:
    print("ERROR", e)
"""


def run_mpy(tmp_path, ws, now=None):
    if not os.path.exists(MPY):
        pytest.skip("tools/mpy is not there")
    (tmp_path / "dnsconf.py").write_text(MPY_SCRIPT)
    (tmp_path / "words").write_text("\n".join(ws))
    env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "app") + ":.frozen")
    cmd = [MPY, str(tmp_path / "dnsconf.py"), str(tmp_path / "words")]
    if now:
        cmd.append(str(now))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stdout


def test_micropython_publishes_and_rotates(ns, tmp_path):
    out = run_mpy(tmp_path, words(ns))
    assert "SIGNERS s1-rsa s1-ed25519" in out, out
    assert ns.txt("s1-rsa._domainkey." + ZONE) == [expected("s1-rsa", "rsa")]
    assert ns.txt("s1-ed25519._domainkey." + ZONE) == [expected("s1-ed25519")]
    start = T0 - T0 % PERIOD
    rot = words(ns, selector="ptt-%d", extra=["-x", "1h", "--algorithm=ed25519"])
    run_mpy(tmp_path, rot, T0)
    out = run_mpy(tmp_path, rot, start + PERIOD + 5)
    assert "SIGNERS ptt-%d-ed25519" % (start + PERIOD) in out, out
    assert ns.txt("ptt-%d-ed25519._domainkey.%s" % (start - PERIOD, ZONE)) == []
    assert ns.txt("ptt-%d-ed25519._domainkey.%s" % (start + PERIOD, ZONE)) == [
        expected("ptt-%d-ed25519" % (start + PERIOD))]


def test_micropython_wrong_key(ns, tmp_path):
    before = serial(ns)
    bad = "%s:SHA256:%s" % (KEY, base64.b64encode(b"not the secret at all, sorry!!!!").decode())
    out = run_mpy(tmp_path, words(ns, key=bad))
    assert "ERROR publishing s1-rsa._domainkey.example.test failed" in out, out
    assert serial(ns) == before
    assert ns.txt("s1-rsa._domainkey." + ZONE) == []
