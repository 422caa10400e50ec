"""The booted signer image against real peers: at boot it publishes its
DKIM keys into a real BIND9 primary by TSIG-signed UPDATE; swaks sends a
message through it; a real Postfix receives the relayed copy, and dkimpy
verifies both signatures with the keys read from the zone."""
import base64
import os

import pytest

from interop import bind
from interop.peers import swaks
from interop.postfix import PostfixMX
from ptt_tool import run

dkim = pytest.importorskip("dkim")
pytest.importorskip("nacl")

pytestmark = [pytest.mark.vm, pytest.mark.interop]

ZONE = "example.test"
KEY = "k._update.example.test"
SECRET = b"signer vm test secret 0123456789"
ZONE_BODY = """
@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@ IN NS ns
ns IN A 127.0.0.1
"""
MESSAGE = (b"From: Alice <alice@example.test>\r\nTo: bob@dest.test\r\nSubject: signed in a VM\r\n"
           b"Date: Wed, 25 Nov 2026 18:00:00 +0000\r\nMessage-ID: <vm-sign-1@example.test>\r\n\r\n"
           b"Signed by the ptt signer image.\r\n")


def test_signer_vm_publishes_keys_signs_and_relays(signer_image, accel, boot_timeout, tmp_path, free_port):
    ns = bind.Bind(str(tmp_path / "dns"), {ZONE: ZONE_BODY}, keys={KEY: ("hmac-sha256", SECRET)})
    ns.start()
    try:
        with PostfixMX(str(tmp_path / "mx"), domains=["dest.test"], listen=[("127.0.0.1", 25)]) as mx:
            # The guest reaches the host's 127.0.0.1 at 10.0.2.2 (QEMU user
            # networking): the primary DNS server, and Postfix as next hop.
            words = ["--ipv4=10.0.2.15/24", "--ipv4-gateway=10.0.2.2", "--domain=" + ZONE,
                     "--trusted=10.0.2.2/32", "--dst=10.0.2.2",
                     "--seed=" + base64.b64encode(os.urandom(32)).decode(), "--selector=vm",
                     "--dns-server=10.0.2.2:%d" % ns.port, "--dns-key=" + ns.key_string(KEY)]
            cmd = run.qemu_command(signer_image, None, free_port, "48M", accel, words)
            with run.VM(cmd, log_path=str(tmp_path / "console.log")).start() as vm:
                # Deriving the RSA key from the seed takes a while under TCG.
                vm.wait_for(r"ptt: listening on port 25", boot_timeout * 3)
                assert ns.txt("vm-rsa._domainkey." + ZONE), vm.console
                assert ns.txt("vm-ed25519._domainkey." + ZONE), vm.console
                r = swaks("127.0.0.1", free_port, "alice@example.test", "bob@dest.test", data=MESSAGE)
                assert r.ok, r.transcript
                msgs = mx.wait_for(1, timeout=boot_timeout)
                vm.send("shutdown")
                assert vm.wait(boot_timeout) == 0, vm.console
        assert msgs[0].sender == "alice@example.test" and msgs[0].recipient == "bob@dest.test"
        delivered = msgs[0].original  # as the signer sent it, without Postfix's trace field

        dnsfunc = ns.dkim_dnsfunc()
        sigs = [v for n, v in dkim.DKIM(delivered).headers if n.lower() == b"dkim-signature"]
        algs = sorted(dict(p.strip().split(b"=", 1) for p in s.replace(b"\r\n", b"").split(b";")
                           if b"=" in p)[b"a"].strip() for s in sigs)
        assert algs == [b"ed25519-sha256", b"rsa-sha256"]
        for i in range(len(sigs)):
            assert dkim.DKIM(delivered).verify(idx=i, dnsfunc=dnsfunc), "signature %d fails" % i
    finally:
        ns.stop()
