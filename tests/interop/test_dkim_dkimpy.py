"""Our DKIM signatures and ARC seals, checked by dkimpy (CPython).

A corpus of awkward messages is signed by ptt.dkim under CPython and, when
tools/mpy exists, under the real MicroPython binary; dkimpy.verify checks
every signature (rsa-sha256 and ed25519-sha256, all four c= pairs).  ARC
chains made by ptt.arc are checked with dkimpy.arc_verify, including one
that starts with a set made by dkimpy.arc_sign "elsewhere".
"""
import binascii
import os
import subprocess

import pytest

dkimpy = pytest.importorskip("dkim")
pytest.importorskip("nacl")
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519 as ced
from cryptography.hazmat.primitives.asymmetric import rsa as crsa

from ptt import arc, dkim
from ptt.crypto import keys
from ptt.mail import headers as H

pytestmark = pytest.mark.interop

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MPY = os.path.join(ROOT, "tools", "mpy")
DOMAIN = b"example.org"
NOW = 1700000000
CANONS = (b"simple/simple", b"simple/relaxed", b"relaxed/simple", b"relaxed/relaxed")

BASE = (b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n"
        b"Subject: test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        b"Message-ID: <1@example.org>\r\n")

CORPUS = {
    "plain": BASE + b"\r\nHello.\r\n",
    "folded": (b"From: Alice\r\n <alice@example.org>\r\nTo: a@example.net,\r\n\tb@example.net,\r\n"
               b"   c@example.net\r\nSubject: a folded\r\n  subject\r\n\t line\r\n"
               b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nBody.\r\n"),
    "trailing_ws": (b"From: alice@example.org  \r\nSubject:\tspaces \t \r\nTo:   bob@example.net\t\r\n"
                    b"\r\nline with trailing   \r\n\t tabbed \t\r\n  \r\n\r\n"),
    "empty_body": BASE + b"\r\n",
    "no_blank_line": BASE,
    "no_final_crlf": BASE + b"\r\nlast line without CRLF",
    "eight_bit": (b"From: =?utf-8?q?J=C3=B6rg?= <j@example.org>\r\nSubject: Gr\xc3\xbc\xc3\x9fe \xff\xfe\r\n"
                  b"To: b@example.net\r\nX-Latin1: caf\xe9\r\n\r\n\xc3\xa9t\xc3\xa9 \xe9\r\n\x00\x01\x7f\r\n"),
    "long_lines": (BASE.replace(b"Subject: test", b"Subject: " + b"word " * 150 + b"end")
                   + b"\r\n" + b"x" * 5000 + b"\r\n" + b"y " * 3000 + b"\r\n"),
    "duplicates": (b"Received: from a\r\nReceived: from b\r\nFrom: a@example.org\r\nTo: x@example.net\r\n"
                   b"To: y@example.net\r\nSubject: one\r\nSubject: two\r\nCc: c@example.net\r\n"
                   b"List-Id: <l.example.org>\r\nList-Id: <m.example.org>\r\n\r\nbody\r\n"),
    "blank_body_lines": BASE + b"\r\n\r\n\r\n\r\n",
    "only_body_ws": BASE + b"\r\n   \r\n\t\r\n",
    "bare_cr_in_body": BASE + b"\r\na\rb\r\n",
}


@pytest.fixture(scope="module")
def keyfiles(tmp_path_factory):
    d = tmp_path_factory.mktemp("keys")
    rk = crsa.generate_private_key(65537, 2048)
    ek = ced.Ed25519PrivateKey.generate()
    (d / "rsa.pem").write_bytes(rk.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                                 ser.NoEncryption()))
    (d / "ed.pem").write_bytes(ek.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                                ser.NoEncryption()))
    ours = {"rsa": keys.load_private_key((d / "rsa.pem").read_bytes()),
            "ed": keys.load_private_key((d / "ed.pem").read_bytes())}
    records = {"%s._domainkey.example.org" % s: dkim.txt_record(k) for s, k in ours.items()}
    return d, ours, records


def dkimpy_dns(records):
    def dnsfunc(name, timeout=5):
        return records.get(name.decode().rstrip("."))
    return dnsfunc


def check_with_dkimpy(signed, records, index=0):
    d = dkimpy.DKIM(signed)
    return d.verify(idx=index, dnsfunc=dkimpy_dns(records))


def cases():
    for name in sorted(CORPUS):
        for c in CANONS:
            yield name, c


@pytest.mark.parametrize("name,c", list(cases()))
def test_cpython_signatures_verify_with_dkimpy(keyfiles, name, c):
    _, ours, records = keyfiles
    msg = H.to_crlf(CORPUS[name])
    fields = dkim.sign_many(msg, DOMAIN, [(b"rsa", ours["rsa"]), (b"ed", ours["ed"])], NOW,
                            canonicalize=c)
    signed = fields + msg
    assert check_with_dkimpy(signed, records, 0), "rsa-sha256 %s %s" % (name, c)
    assert check_with_dkimpy(signed, records, 1), "ed25519-sha256 %s %s" % (name, c)
    assert [r.result for r in dkim.verify(signed, records.get, NOW)] == ["pass", "pass"]


# Run under MicroPython: sign every corpus message with both keys and all
# canonicalisations, print one hex line per signature field set.
MPY_SCRIPT = r"""
import sys, binascii
from ptt import dkim, arc
from ptt.crypto.keys import load_private_key
d = sys.argv[1]
rk = load_private_key(open(d + "/rsa.pem", "rb").read())
ek = load_private_key(open(d + "/ed.pem", "rb").read())
names = open(d + "/names.txt").read().split()
for name in names:
    msg = open(d + "/" + name + ".eml", "rb").read()
    for c in (b"simple/simple", b"simple/relaxed", b"relaxed/simple", b"relaxed/relaxed"):
        f = dkim.sign_many(msg, b"example.org", [(b"rsa", rk), (b"ed", ek)], 1700000000,
                           canonicalize=c)
        print(name, c.decode(), binascii.hexlify(f).decode())
msg = open(d + "/plain.eml", "rb").read()
recs = {"rsa._domainkey.example.org": dkim.txt_record(rk)}
m1 = arc.seal(msg, b"example.org", b"rsa", rk, 1700000000, b"example.org; dkim=none", recs.get) + msg
m2 = arc.seal(m1, b"example.org", b"rsa", rk, 1700000060, b"example.org; arc=pass", recs.get) + m1
print("ARC", "-", binascii.hexlify(m2).decode())
"""


@pytest.fixture(scope="module")
def mpy_output(keyfiles):
    if not os.path.exists(MPY):
        pytest.skip("tools/mpy (the MicroPython runner) is not there yet")
    d, _, _ = keyfiles
    for name, msg in CORPUS.items():
        (d / (name + ".eml")).write_bytes(H.to_crlf(msg))
    (d / "names.txt").write_text("\n".join(sorted(CORPUS)))
    (d / "sign.py").write_text(MPY_SCRIPT)
    env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "app") + ":.frozen")
    p = subprocess.run([MPY, str(d / "sign.py"), str(d)], capture_output=True, env=env,
                       timeout=600)
    assert p.returncode == 0, p.stderr.decode() + p.stdout.decode()[-2000:]
    out = {}
    for line in p.stdout.decode().splitlines():
        name, c, hexdata = line.split(" ")
        out[(name, c.encode())] = binascii.unhexlify(hexdata)
    return out


@pytest.mark.parametrize("name,c", list(cases()))
def test_micropython_signatures_verify_with_dkimpy(keyfiles, mpy_output, name, c):
    _, ours, records = keyfiles
    msg = H.to_crlf(CORPUS[name])
    fields = mpy_output[(name, c)]
    signed = fields + msg
    assert check_with_dkimpy(signed, records, 0), "rsa-sha256 %s %s" % (name, c)
    assert check_with_dkimpy(signed, records, 1), "ed25519-sha256 %s %s" % (name, c)
    # Same key, message and time: both runtimes give the same bytes.
    assert fields == dkim.sign_many(msg, DOMAIN, [(b"rsa", ours["rsa"]), (b"ed", ours["ed"])],
                                    NOW, canonicalize=c)


def test_micropython_arc_chain_verifies_with_dkimpy(keyfiles, mpy_output):
    _, _, records = keyfiles
    sealed = mpy_output[("ARC", b"-")]
    cv = dkimpy.arc_verify(sealed, dnsfunc=dkimpy_dns(records))[0]
    assert cv == b"pass"


def test_tampered_message_fails_in_dkimpy(keyfiles):
    _, ours, records = keyfiles
    msg = CORPUS["plain"]
    signed = dkim.sign(msg, DOMAIN, b"rsa", ours["rsa"], NOW) + msg
    assert not dkimpy.verify(signed.replace(b"Hello", b"Hullo"), dnsfunc=dkimpy_dns(records))


def _seal(msg, ours, records, ar, now=NOW):
    return arc.seal(msg, DOMAIN, b"rsa", ours["rsa"], now, ar, records.get) + msg


@pytest.mark.parametrize("name", ["plain", "folded", "eight_bit", "duplicates", "empty_body"])
def test_our_arc_chain_verifies_with_dkimpy(keyfiles, name):
    _, ours, records = keyfiles
    msg = H.to_crlf(CORPUS[name])
    m = msg
    for i in range(1, 4):
        m = _seal(m, ours, records, b"example.org; arc=%s" % (b"none" if i == 1 else b"pass"),
                  NOW + i)
        cv, results, reason = dkimpy.arc_verify(m, dnsfunc=dkimpy_dns(records))
        assert cv == b"pass", (i, reason)
        assert arc.verify(m, records.get) == ("pass", "")


def test_dkimpy_detects_tampering_after_our_seal(keyfiles):
    _, ours, records = keyfiles
    m = _seal(CORPUS["plain"], ours, records, b"example.org; none")
    cv = dkimpy.arc_verify(m.replace(b"Hello", b"Hullo"), dnsfunc=dkimpy_dns(records))[0]
    assert cv == b"fail"


def test_we_extend_a_chain_started_by_dkimpy(keyfiles):
    pytest.importorskip("authres", reason="dkimpy.arc_sign needs the authres package")
    d, ours, records = keyfiles
    records = dict(records)
    records["ext._domainkey.elsewhere.example"] = dkim.txt_record(ours["rsa"])
    msg = (b"Authentication-Results: elsewhere.example; spf=pass smtp.mailfrom=alice@example.org\r\n"
           + CORPUS["folded"])
    theirs = dkimpy.arc_sign(msg, b"ext", b"elsewhere.example", (d / "rsa.pem").read_bytes(),
                             b"elsewhere.example", timestamp=NOW)
    m1 = b"".join(theirs) + msg
    assert dkimpy.arc_verify(m1, dnsfunc=dkimpy_dns(records))[0] == b"pass"
    assert arc.verify(m1, records.get) == ("pass", "")
    m2 = _seal(m1, ours, records, b"example.org; arc=pass header.oldest-pass=0", NOW + 5)
    hs, _ = H.parse(m2)
    assert dkim.parse_tags(hs[0][1])[b"cv"] == b"pass"
    assert dkim.parse_tags(hs[0][1])[b"i"] == b"2"
    cv, _, reason = dkimpy.arc_verify(m2, dnsfunc=dkimpy_dns(records))
    assert cv == b"pass", reason
