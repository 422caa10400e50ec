"""The deployment chain, both services under the real MicroPython binary:

    swaks -> lists server (Authentication-Results, list rewrite, VERP)
          -> signer (--destination; DKIM d=lists.test, then the ARC seal)
          -> a real Postfix MX

The delivered copy passes dkimpy's DKIM and ARC verification with the keys
the signer published into BIND9 by TSIG UPDATE, and the DKIM domain aligns
with the rewritten From (the poster's domain publishes p=reject)."""
import pytest

from interop import bind
from interop.lists_host import ListsHost
from interop.peers import Internet, swaks
from interop.signer_host import free_port, new_keys, start_signer
from ptt_tool.cli import main

dkim = pytest.importorskip("dkim")
pytest.importorskip("authres")

pytestmark = pytest.mark.interop

DOMAIN = "lists.test"
KEY = "k._update.lists.test"
ZONE_BODY = """
@ IN SOA ns.lists.test. hostmaster.lists.test. 1 3600 600 86400 300
@ IN NS ns
ns IN A 127.0.0.1
"""
POST = (b"From: Sam <sam@strict.test>\r\nTo: ptt@lists.test\r\nSubject: through the chain\r\n"
        b"Message-ID: <chain-1@strict.test>\r\nDate: Wed, 25 Nov 2026 18:00:00 +0000\r\n\r\n"
        b"Signed and sealed on the way out.\r\n")


def test_list_post_leaves_dkim_signed_and_arc_sealed(tmp_path):
    ns = bind.Bind(str(tmp_path / "dns"), {DOMAIN: ZONE_BODY},
                   keys={KEY: ("hmac-sha256", b"chain test secret 0123456789abcd")})
    ns.start()
    try:
        with Internet(str(tmp_path / "net"), domains=["a.test"], dmarc={"strict.test": "reject"}) as net:
            keys = new_keys()
            signer = start_signer("micropython", [
                "--domain=" + DOMAIN, "--trusted=127.0.0.0/8", "--dst=%s:25" % net.mx_host,
                "--selector=s1", "-k", keys[0], "-k", keys[1], "--with-dkim", "--with-arc",
                "--nameserver=udp:127.0.0.1:%d" % ns.port,
                "--dns-server=127.0.0.1:%d" % ns.port, "--dns-key=" + ns.key_string(KEY)])
            img = str(tmp_path / "lipap.img")
            assert main(["create", img, "--domain", DOMAIN]) == 0
            assert main(["add", img, "ptt", "-m", "mod@a.test", "-s", "sam@strict.test",
                         "-s", "bob@a.test"]) == 0
            assert main(["set", img, "ptt", "policy=open"]) == 0
            lists = ListsHost(img, DOMAIN, free_port(), nameserver=net.resolver,
                              smarthost="127.0.0.1:%d" % signer.port).start()
            try:
                r = swaks("127.0.0.1", lists.port, "sam@strict.test", "ptt@" + DOMAIN, data=POST)
                assert r.ok, r.transcript
                msgs = [m for m in net.mx.wait_for(1, timeout=60) if m.recipient == "bob@a.test"]
            finally:
                lists.stop()
                log = signer.stop()
            assert len(msgs) == 1, log
            m = msgs[0]

            dnsfunc = ns.dkim_dnsfunc()
            msg = m.original
            assert m.sender == "ptt-return-0-bob=a.test@" + DOMAIN  # VERP survives the relay
            head = msg.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ")
            assert b"\r\nFrom: Sam via ptt <ptt@lists.test>" in head  # p=reject: rewritten
            sigs = [i for i, (n, _) in enumerate(dkim.DKIM(msg).headers) if n.lower() == b"dkim-signature"]
            assert sigs, head
            for i in range(len(sigs)):
                assert dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc)
            assert b" d=lists.test;" in head or b"d=lists.test;" in head.replace(b" ", b"")  # aligned with From
            cv, results, comment = dkim.arc_verify(msg, dnsfunc=dnsfunc)
            assert cv == dkim.CV_Pass, (cv, comment)
            aar = [l for l in head.split(b"\r\n") if l.lower().startswith(b"arc-authentication-results:")]
            assert len(aar) == 1 and b"i=1; lists.test;" in aar[0] and b"spf=" in aar[0] and b"dmarc=" in aar[0]
    finally:
        ns.stop()
