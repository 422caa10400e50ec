"""OpenDKIM (opendkim -t, the bookworm package) verifies our signatures.

Keys come from a TestPublicKeys file, so no DNS is involved.  OpenDKIM 2.11
in bookworm verifies ed25519-sha256 as well as rsa-sha256.  `opendkim -t`
exits 0 either way; the verdict is its "verification ... succeeded" line.
"""
import os
import shutil
import subprocess

import pytest

from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519 as ced
from cryptography.hazmat.primitives.asymmetric import rsa as crsa

from ptt import dkim
from ptt.crypto import keys
from ptt.mail import headers as H

pytestmark = pytest.mark.interop

OPENDKIM = shutil.which("opendkim") or ("/usr/sbin/opendkim" if os.path.exists("/usr/sbin/opendkim") else None)
if OPENDKIM is None:
    pytest.skip("opendkim is not installed (apt-get install opendkim)", allow_module_level=True)

NOW = 1700000000
MESSAGES = {
    "plain": (b"From: Alice <alice@example.org>\r\nTo: bob@example.net\r\nSubject: hi\r\n"
              b"Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <1@example.org>\r\n\r\nHello.\r\n"),
    "awkward": (b"From: Alice\r\n <alice@example.org>  \r\nTo: a@example.net,\r\n\tb@example.net\r\n"
                b"Subject: Gr\xc3\xbc\xc3\x9fe\r\n  folded \t\r\nTo: c@example.net\r\n\r\n"
                b"tr  \t\r\n" + b"z" * 3000 + b"\r\n\r\n\r\n"),
    "empty_body": b"From: alice@example.org\r\nSubject: empty\r\n\r\n",
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("opendkim")
    rk = keys.load_private_key(crsa.generate_private_key(65537, 2048).private_bytes(
        ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
    ek = keys.load_private_key(ced.Ed25519PrivateKey.generate().private_bytes(
        ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption()))
    (d / "keys.txt").write_bytes(
        b"rsa._domainkey.example.org " + dkim.txt_record(rk) + b"\n"
        b"ed._domainkey.example.org " + dkim.txt_record(ek) + b"\n")
    (d / "opendkim.conf").write_text(
        "Mode v\nSyslog no\nTestPublicKeys %s\nMinimumKeyBits 1024\n" % (d / "keys.txt"))
    return d, {"rsa": rk, "ed": ek}


def opendkim_verdict(d, signed, label):
    path = d / (label + ".eml")
    path.write_bytes(signed)
    p = subprocess.run([OPENDKIM, "-x", str(d / "opendkim.conf"), "-t", str(path), "-vv"],
                       capture_output=True, timeout=60)
    out = (p.stdout + p.stderr).decode(errors="replace")
    return ("verification (" in out and ") succeeded" in out), out


@pytest.mark.parametrize("sel", ["rsa", "ed"])
@pytest.mark.parametrize("c", [b"simple/simple", b"simple/relaxed", b"relaxed/simple",
                               b"relaxed/relaxed"])
@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_opendkim_verifies(setup, sel, c, name):
    d, ks = setup
    msg = H.to_crlf(MESSAGES[name])
    signed = dkim.sign(msg, b"example.org", sel.encode(), ks[sel], NOW, canonicalize=c) + msg
    ok, out = opendkim_verdict(d, signed, "%s-%s-%s" % (name, sel, c.decode().replace("/", "-")))
    assert ok, out


def test_opendkim_rejects_tampering(setup):
    d, ks = setup
    msg = MESSAGES["plain"]
    signed = dkim.sign(msg, b"example.org", b"rsa", ks["rsa"], NOW) + msg
    ok, out = opendkim_verdict(d, signed.replace(b"Hello", b"Hullo"), "tampered")
    assert not ok, out
    assert "failed" in out
