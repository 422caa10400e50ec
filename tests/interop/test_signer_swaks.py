"""The signing relay with real peers, under CPython and the real MicroPython
binary (tools/mpy):

- at start it publishes its keys into a real BIND9 primary (TSIG UPDATE);
- swaks sends a message through it; it signs (rsa-sha256 + ed25519-sha256,
  or ARC) and relays to Postfix's smtp-sink; the delivered copy verifies
  with dkimpy, which reads the keys from the BIND9 zone;
- a 5xx / 4xx from the next hop (our own test receiver) comes back to swaks;
- a client outside --trusted gets 550 5.7.1 and nothing is relayed.
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from interop import bind
from interop.signer_host import APP, Proc, free_port, new_keys, start_signer

dkimpy = pytest.importorskip("dkim")
pytest.importorskip("nacl")

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(not bind.available(), reason="named missing"),
              pytest.mark.skipif(not shutil.which("swaks"), reason="swaks missing")]

SMTP_SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"

ZONE = "example.test"
KEY = "k._update.example.test"
SECRET = b"signer test secret 0123456789abc"
ZONE_BODY = """
@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@ IN NS ns
ns IN A 127.0.0.1
"""
RUNTIMES = ["cpython", "micropython"]

RECEIVER = r'''
import sys, os, asyncio
sys.path.insert(0, sys.argv[1])
from ptt.net import smtp_server
from ptt.smtp.replies import Reply, R250_SENDER_OK, R250_RECIPIENT_OK
out_dir, port = sys.argv[2], int(sys.argv[3])
RULES = {"reject": Reply(550, "5.1.1", "no such user here"),
         "defer": Reply(451, "4.2.1", "mailbox busy, try later")}
class H:
    n = 0
    def on_mail(self, ctx, rp, params):
        return R250_SENDER_OK
    def on_rcpt(self, ctx, fp, params):
        return RULES.get(fp.split("@")[0], R250_RECIPIENT_OK)
    def on_message(self, ctx, env, data):
        if b"X-Test: refuse-data" in data:
            return Reply(554, "5.7.1", "content refused by the receiver")
        H.n += 1
        p = os.path.join(out_dir, "msg%d" % H.n)
        with open(p + ".tmp", "wb") as f:
            f.write(data)
        with open(p + ".env", "w") as f:
            f.write("%s\n%s\n" % (env.reverse_path, " ".join(env.recipients)))
        os.rename(p + ".tmp", p + ".eml")
        return Reply(250, "2.0.0", "stored as msg%d" % H.n)
async def main():
    await smtp_server.serve(H(), "127.0.0.1", port, "receiver.test", log=lambda m: None)
    print("READY", flush=True)
    while True:
        await asyncio.sleep(3600)
asyncio.run(main())
'''


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    d = tmp_path_factory.mktemp("named")
    b = bind.Bind(str(d), {ZONE: ZONE_BODY}, keys={KEY: ("hmac-sha256", SECRET)})
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def keys_b64():
    return new_keys()


@pytest.fixture
def receiver(tmp_path):
    d = tmp_path / "received"
    d.mkdir()
    port = free_port()
    script = tmp_path / "receiver.py"
    script.write_text(RECEIVER)
    p = Proc([sys.executable, "-u", str(script), APP, str(d), str(port)], dict(os.environ),
             b"READY", "test receiver")
    p.port = port
    p.dir = d
    yield p
    p.stop()


@pytest.fixture
def sink():
    # smtp-sink drops root to postfix: every parent of its folder must be
    # world-searchable, which pytest's tmp_path (0700) is not.
    import pathlib
    import tempfile
    top = tempfile.mkdtemp(prefix="ptt-sink-")
    os.chmod(top, 0o777)
    d = pathlib.Path(top)
    port = free_port()
    cmd = [SMTP_SINK]
    if os.geteuid() == 0:
        cmd += ["-u", "postfix"]
    cmd += ["-d", str(d) + "/%M.", "127.0.0.1:%d" % port, "10"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    proc.port = port
    proc.dir = d
    yield proc
    proc.kill()
    proc.wait()
    shutil.rmtree(top, ignore_errors=True)


def swaks(port, to, sender="alice@example.test", headers=(), body="Hello through the signer.\n"):
    cmd = ["swaks", "--server", "127.0.0.1:%d" % port, "--from", sender, "--to", to,
           "--helo", "lists.example.test", "--h-Subject", "signer test",
           "--body", body, "--timeout", "60"]
    for h in headers:
        cmd += ["--add-header", h]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def sink_messages(sink):
    out = []
    for p in sorted(glob.glob(str(sink.dir) + "/*")):
        with open(p, "rb") as f:
            out.append(f.read())
    return out


def wait_for(fn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.05)
    return fn()


def base_words(ns, dst_port, keys):
    return ["--domain=" + ZONE, "--trusted=127.0.0.0/8", "--dst=127.0.0.1:%d" % dst_port,
            "--selector=relay", "-k", keys[0], "-k", keys[1],
            "--dns-server=127.0.0.1:%d" % ns.port, "--dns-key=" + ns.key_string(KEY)]


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_signs_relays_to_postfix_and_verifies(ns, sink, keys_b64, runtime):
    s = start_signer(runtime, base_words(ns, sink.port, keys_b64) + ["-x", "1d"])
    try:
        # The signer published both key records into BIND9 at start.
        assert ns.txt("relay-rsa._domainkey." + ZONE)[0].startswith(b"v=DKIM1; k=rsa; p=MII")
        assert ns.txt("relay-ed25519._domainkey." + ZONE)[0].startswith(b"v=DKIM1; k=ed25519; p=")
        r = swaks(s.port, "bob@example.net")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "<-  250 2.0.0 relayed and signed" in r.stdout, r.stdout
        msgs = wait_for(lambda: sink_messages(sink))
        assert len(msgs) == 1
        m = msgs[0]
        # smtp-sink prepends its own lines; dkimpy ignores unsigned fields.
        d = dkimpy.DKIM(m)
        assert d.verify(idx=0, dnsfunc=ns.dkim_dnsfunc()), "rsa-sha256 does not verify"
        assert dkimpy.DKIM(m).verify(idx=1, dnsfunc=ns.dkim_dnsfunc()), "ed25519-sha256 does not verify"
        assert m.count(b"DKIM-Signature:") == 2
        assert b"x=" in m and b"s=relay-rsa" in m and b"s=relay-ed25519" in m
        assert b"by example.test (ptt signer) with ESMTP" in m
    finally:
        log = s.stop()
    assert "published relay-rsa._domainkey.example.test" in log or \
        "is published and matches" in log, log


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_arc_mode_seals_the_list_servers_results(ns, receiver, keys_b64, runtime):
    words = base_words(ns, receiver.port, keys_b64) + [
        "--with-arc", "--authserv-id=lists.example.test", "--nameserver=udp:127.0.0.1:%d" % ns.port]
    s = start_signer(runtime, words)
    try:
        r = swaks(s.port, "bob@example.net", headers=[
            "Authentication-Results: lists.example.test; spf=pass smtp.mailfrom=example.com;"
            " dkim=none; dmarc=none header.from=example.com"])
        assert "<-  250 2.0.0 relayed and signed" in r.stdout, r.stdout
        m = (receiver.dir / "msg1.eml").read_bytes()
        assert m.startswith(b"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.test; s=relay-rsa")
        cv, results, reason = dkimpy.arc_verify(m, dnsfunc=ns.dkim_dnsfunc())
        assert cv == b"pass", (cv, reason)
        assert b"ARC-Authentication-Results: i=1; lists.example.test; spf=pass" in m
        assert b"DKIM-Signature" not in m
    finally:
        s.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_next_hop_refusals_come_back_to_the_client(ns, receiver, keys_b64, runtime):
    s = start_signer(runtime, base_words(ns, receiver.port, keys_b64))
    try:
        r = swaks(s.port, "reject@example.net")
        assert "<** 550 5.1.1 127.0.0.1:%d said: no such user here" % receiver.port in r.stdout, r.stdout
        r = swaks(s.port, "defer@example.net")
        assert "<** 451 4.2.1 127.0.0.1:%d said: mailbox busy" % receiver.port in r.stdout, r.stdout
        r = swaks(s.port, "bob@example.net", headers=["X-Test: refuse-data"])
        assert "<** 554 5.7.1 127.0.0.1:%d said: content refused" % receiver.port in r.stdout, r.stdout
        assert not list(receiver.dir.glob("*.eml"))
        # Mixed: one accepted, one refused -> 250 and a DSN to the sender.
        r = swaks(s.port, "bob@example.net,reject@example.net")
        assert "<-  250 2.0.0 relayed and signed for 1 of 2 recipients" in r.stdout, r.stdout
        got = sorted(receiver.dir.glob("*.eml"))
        assert len(got) == 2
        dsn = got[1].read_bytes()
        env = got[1].with_suffix(".env").read_text().split("\n")
        assert env[:2] == ["", "alice@example.test"]
        assert b"Final-Recipient: rfc822; reject@example.net" in dsn
        assert dkimpy.DKIM(dsn).verify(idx=0, dnsfunc=ns.dkim_dnsfunc())
    finally:
        s.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_next_hop_down_is_temporary(ns, keys_b64, runtime):
    s = start_signer(runtime, base_words(ns, free_port(), keys_b64))
    try:
        r = swaks(s.port, "bob@example.net")
        assert "<** 451 4.4.1" in r.stdout, r.stdout
    finally:
        s.stop()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_not_an_open_relay(ns, receiver, keys_b64, runtime):
    words = [w for w in base_words(ns, receiver.port, keys_b64) if not w.startswith("--trusted")]
    s = start_signer(runtime, words + ["--trusted=10.99.0.0/16", "--trusted=fd00::/8"])
    try:
        r = swaks(s.port, "bob@example.net")
        assert "<** 550 5.7.1 relaying denied" in r.stdout, r.stdout
        assert "RCPT TO" not in r.stdout.split("550 5.7.1")[0].split("MAIL FROM")[-1]
        assert not list(receiver.dir.glob("*.eml"))
    finally:
        s.stop()
