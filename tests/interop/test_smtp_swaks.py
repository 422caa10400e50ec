"""The net SMTP server (CPython and the real MicroPython 1.25 binary) driven
by the real swaks over loopback; what lands on disk must be byte-exact. Our
client also sends to Postfix's smtp-sink and to our own server."""
import asyncio
import datetime
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "app")
MPY = os.path.join(ROOT, "tools", "mpy")

pytestmark = pytest.mark.interop

SERVER_SCRIPT = r'''
import sys
sys.path.insert(0, sys.argv[1])
import os
try:
    import asyncio
except ImportError:
    import uasyncio as asyncio
from ptt.net import compat, smtp_server
from ptt.smtp import replies as R

out_dir = sys.argv[2]
port = int(sys.argv[3])
cert = sys.argv[4] if len(sys.argv) > 4 else ""
key = sys.argv[5] if len(sys.argv) > 5 else ""
require_tls = len(sys.argv) > 6 and sys.argv[6] == "1"


class Handler:
    count = 0

    def on_mail(self, ctx, reverse_path, params):
        return R.R250_SENDER_OK

    def on_rcpt(self, ctx, forward_path, params):
        if forward_path.startswith("nobody@"):
            return R.R550_NO_SUCH_USER
        return R.R250_RECIPIENT_OK

    def on_message(self, ctx, envelope, data):
        Handler.count += 1
        base = "%s/msg%d" % (out_dir, Handler.count)
        with open(base + ".tmp", "wb") as f:
            f.write(data)
        with open(base + ".env", "w") as f:
            f.write("%s\n%s\n%s\n" % (envelope.reverse_path, " ".join(envelope.recipients),
                                      "tls" if ctx.tls_active else "plain"))
        os.rename(base + ".tmp", base + ".eml")
        return R.R250_QUEUED


def read(path):
    with open(path, "rb") as f:
        return f.read()


async def main():
    ctx = None
    if cert:
        ctx = compat.server_context(read(cert), read(key))
    await smtp_server.serve(Handler(), "127.0.0.1", port, "mx.test", ctx,
                            log=lambda m: None, require_tls=require_tls)
    print("READY")
    while True:
        await asyncio.sleep(3600)

asyncio.run(main())
'''


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_cert(dirname):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx.test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("mx.test")]), False)
            .sign(key, hashes.SHA256()))
    cpath = os.path.join(dirname, "cert.pem")
    kpath = os.path.join(dirname, "key.pem")
    with open(cpath, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kpath, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cpath, kpath


RUNTIMES = ["cpython", "micropython"]


class Server:
    def __init__(self, runtime, tmp, require_tls=False):
        self.dir = os.path.join(tmp, "spool")
        os.mkdir(self.dir)
        self.port = free_port()
        script = os.path.join(tmp, "server_main.py")
        with open(script, "w") as f:
            f.write(SERVER_SCRIPT)
        cert, key = make_cert(tmp)
        args = [APP, self.dir, str(self.port), cert, key, "1" if require_tls else "0"]
        env = dict(os.environ)
        if runtime == "cpython":
            cmd = [sys.executable, "-u", script] + args
        else:
            if not os.path.exists(MPY):
                pytest.skip("tools/mpy (the MicroPython runner) is not there")
            cmd = [MPY, script] + args
            env["MICROPYPATH"] = APP + ":.frozen"
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        line = self.proc.stdout.readline()
        if b"READY" not in line:
            self.proc.kill()
            raise AssertionError("server did not start: %r %r" % (line, self.proc.stderr.read()))

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def messages(self):
        out = []
        n = 1
        while os.path.exists(os.path.join(self.dir, "msg%d.eml" % n)):
            with open(os.path.join(self.dir, "msg%d.eml" % n), "rb") as f:
                data = f.read()
            with open(os.path.join(self.dir, "msg%d.env" % n)) as f:
                env = f.read().split("\n")
            out.append((env[0], env[1].split(" "), env[2], data))
            n += 1
        return out


@pytest.fixture(params=RUNTIMES)
def server(request, tmp_path):
    srv = Server(request.param, str(tmp_path))
    yield srv
    srv.stop()


BODY = (b"From: a@example.org\r\nTo: b@example.net\r\nSubject: interop\r\n\r\n"
        b"line one\r\n.leading dot\r\n..two dots\r\n.\r\n\r\nlast\r\n")


def swaks(port, *extra, data=BODY, tmp=None):
    # swaks sends the file, then "\r\n.\r\n": leave out the last CRLF so
    # that what arrives is `data` exactly.
    assert data.endswith(b"\r\n")
    path = os.path.join(tmp, "body.eml")
    with open(path, "wb") as f:
        f.write(data[:-2])
    cmd = ["swaks", "--server", "127.0.0.1:%d" % port, "--helo", "client.test",
           "--from", "a@example.org", "--data", "@" + path, "--timeout", "20"] + list(extra)
    return subprocess.run(cmd, capture_output=True, timeout=60)


def test_swaks_plain(server, tmp_path):
    r = swaks(server.port, "--to", "b@example.net,nobody@example.net", tmp=str(tmp_path))
    assert r.returncode in (0, 24), r.stdout.decode() + r.stderr.decode()
    msgs = server.messages()
    assert len(msgs) == 1
    assert msgs[0][0] == "a@example.org"
    assert msgs[0][1] == ["b@example.net"]
    assert msgs[0][3] == BODY
    assert b"550 5.1.1" in r.stdout


SWAKS_TLS = subprocess.run(["perl", "-MNet::SSLeay", "-e", "1"], capture_output=True).returncode == 0
needs_swaks_tls = pytest.mark.skipif(not SWAKS_TLS, reason="swaks --tls needs Net::SSLeay (Debian libnet-ssleay-perl)")


@needs_swaks_tls
def test_swaks_tls(server, tmp_path):
    r = swaks(server.port, "--to", "b@example.net", "--tls", tmp=str(tmp_path))
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    msgs = server.messages()
    assert [(m[2], m[3]) for m in msgs] == [("tls", BODY)]


def test_swaks_pipeline(server, tmp_path):
    r = swaks(server.port, "--to", "b@example.net,c@example.net", "--pipeline", tmp=str(tmp_path))
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    msgs = server.messages()
    assert msgs[0][1] == ["b@example.net", "c@example.net"]
    assert msgs[0][3] == BODY


@needs_swaks_tls
def test_swaks_tls_pipeline_8bit(server, tmp_path):
    body = "Subject: caf\u00e9\r\n\r\n\u00e9t\u00e9\r\n".encode()
    r = swaks(server.port, "--to", "b@example.net", "--tls", "--pipeline", data=body, tmp=str(tmp_path))
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert server.messages()[0][3] == body


def test_swaks_large_message(server, tmp_path):
    body = b"Subject: big\r\n\r\n" + b"".join(b"%06d " % i + b"x" * 70 + b"\r\n" for i in range(20000))
    extra = ["--tls"] if SWAKS_TLS else []
    r = swaks(server.port, "--to", "b@example.net", *extra, data=body, tmp=str(tmp_path))
    assert r.returncode == 0, r.stdout.decode()[-2000:] + r.stderr.decode()
    assert server.messages()[0][3] == body


def test_require_tls(tmp_path):
    srv = Server("cpython", str(tmp_path), require_tls=True)
    try:
        r = swaks(srv.port, "--to", "b@example.net", tmp=str(tmp_path))
        assert b"530 5.7.0" in r.stdout
        assert srv.messages() == []
    finally:
        srv.stop()


# --- our client ---

def run_client(port, txns, tls=False):
    sys.path.insert(0, APP)
    from ptt.net import compat, smtp_client
    ctx = compat.client_context() if tls else None
    return asyncio.run(smtp_client.send("127.0.0.1", port, "client.test", txns, tls_context=ctx))


def test_our_client_to_our_server(server):
    sys.path.insert(0, APP)
    from ptt.smtp.client import Transaction, DELIVERED, PERMANENT
    txns = [Transaction("a@example.org", ["b@example.net", "nobody@example.net"], BODY),
            Transaction("", ["c@example.net"], b"Subject: 2\r\n\r\n.\r\n")]
    done = run_client(server.port, txns, tls=True)
    assert [[r.status for r in d.results] for d in done] == [[DELIVERED, PERMANENT], [DELIVERED]]
    msgs = server.messages()
    assert [(m[0], m[1], m[2], m[3]) for m in msgs] == [
        ("a@example.org", ["b@example.net"], "tls", BODY),
        ("", ["c@example.net"], "tls", b"Subject: 2\r\n\r\n.\r\n")]


@pytest.mark.skipif(not os.path.exists("/usr/sbin/smtp-sink"), reason="no smtp-sink")
def test_our_client_to_smtp_sink(tmp_path):
    sys.path.insert(0, APP)
    from ptt.smtp.client import Transaction, DELIVERED
    port = free_port()
    import pathlib
    dump = pathlib.Path(tempfile.mkdtemp(prefix="ptt-sink-"))   # smtp-sink runs as postfix
    os.chmod(str(dump), 0o777)
    args = ["/usr/sbin/smtp-sink", "-d", str(dump) + "/%M", "127.0.0.1:%d" % port, "10"]
    if os.geteuid() == 0:
        args[1:1] = ["-u", "postfix"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for _ in range(50):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        txns = [Transaction("a@example.org", ["b@example.net", "c@example.org"], BODY)] * 3
        done = run_client(port, txns)
        assert len(done) == 3
        for d in done:
            assert [r.status for r in d.results] == [DELIVERED, DELIVERED]
        files = [p for p in dump.rglob("*") if p.is_file()]
        assert len(files) == 3
        for p in files:
            data = p.read_bytes()
            # smtp-sink dumps with LF line ends (and a blank line after)
            assert BODY.replace(b"\r\n", b"\n") in data, data[-300:]
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(str(dump), ignore_errors=True)


def test_smtplib_starttls(server):
    """CPython's smtplib as a second, independent STARTTLS client."""
    import smtplib
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", server.port, local_hostname="client.test", timeout=20) as s:
        s.starttls(context=ctx)
        s.ehlo("client.test")
        assert not s.has_extn("starttls")
        refused = s.sendmail("a@example.org", ["b@example.net"], BODY)
        assert refused == {}
    msgs = server.messages()
    assert [(m[2], m[3]) for m in msgs] == [("tls", BODY)]


CLIENT_SCRIPT = r'''
import sys
sys.path.insert(0, sys.argv[1])
import asyncio
from ptt.net import compat, smtp_client
from ptt.smtp.client import Transaction
t = Transaction("a@example.org", ["b@example.net", "nobody@example.net"],
                b"Subject: m\r\n\r\n.dot\r\n..\r\n")
done = asyncio.run(smtp_client.send("127.0.0.1", int(sys.argv[2]), "client.test", [t, t],
                                    tls_context=compat.client_context()))
for d in done:
    print(" ".join("%s:%s:%d" % (r.recipient, r.status, r.reply.code) for r in d.results))
'''


def test_micropython_client_starttls(server, tmp_path):
    """Our client on the real MicroPython binary, STARTTLS with its tls module."""
    if not os.path.exists(MPY):
        pytest.skip("tools/mpy (the MicroPython runner) is not there")
    script = os.path.join(str(tmp_path), "client_main.py")
    with open(script, "w") as f:
        f.write(CLIENT_SCRIPT)
    r = subprocess.run([MPY, script, APP, str(server.port)], capture_output=True, timeout=60,
                       env=dict(os.environ, MICROPYPATH=APP + ":.frozen"))
    assert r.stdout.decode().split("\n")[:2] == [
        "b@example.net:delivered:250 nobody@example.net:permanent:550"] * 2, r.stderr.decode()
    msgs = server.messages()
    assert [(m[1], m[2], m[3]) for m in msgs] == [
        (["b@example.net"], "tls", b"Subject: m\r\n\r\n.dot\r\n..\r\n")] * 2
