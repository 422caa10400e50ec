"""Run the signing relay (ptt.signer.run) as a process on the host, under
CPython or the real MicroPython binary, and make test keys."""
import base64
import os
import socket
import subprocess
import sys
import time

import pytest
from cryptography.hazmat.primitives import serialization as ser
from cryptography.hazmat.primitives.asymmetric import ed25519 as ced
from cryptography.hazmat.primitives.asymmetric import rsa as crsa

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP = os.path.join(ROOT, "app")
MPY = os.path.join(ROOT, "tools", "mpy")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def new_keys():
    """(RSA-2048, Ed25519) private keys as base64 PKCS#8 DER, for -k."""
    rk = crsa.generate_private_key(65537, 2048)
    ek = ced.Ed25519PrivateKey.generate()
    der = lambda k: base64.b64encode(k.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8,
                                                     ser.NoEncryption())).decode()
    return der(rk), der(ek)



class Proc:
    def __init__(self, cmd, env, ready, what):
        self.what = what
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env)
        self.lines = []
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.decode(errors="replace"))
            if ready in line:
                return
        self.stop()
        raise AssertionError("%s did not start:\n%s" % (what, "".join(self.lines)))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        rest = self.proc.stdout.read()
        self.lines.append(rest.decode(errors="replace"))
        return "".join(self.lines)


def start_signer(runtime, words):
    # Boot words go through a file: MicroPython's unix port cannot take an
    # argv word of 256 characters or more (a base64 RSA key is ~1,600).
    import tempfile
    fd, wfile = tempfile.mkstemp(prefix="ptt-signer-args-")
    os.write(fd, "\n".join(words).encode())
    os.close(fd)
    words = ["@" + wfile]
    port = free_port()
    env = dict(os.environ)
    if runtime == "cpython":
        env["PYTHONPATH"] = APP
        cmd = [sys.executable, "-u", "-m", "ptt.signer.run", "127.0.0.1:%d" % port] + words
    else:
        if not os.path.exists(MPY):
            pytest.skip("tools/mpy is not there")
        env["MICROPYPATH"] = APP + ":.frozen"
        cmd = [MPY, "-m", "ptt.signer.run", "127.0.0.1:%d" % port] + words
    try:
        p = Proc(cmd, env, b"ptt: listening", "signer (%s)" % runtime)
    finally:
        os.remove(wfile)   # it holds private keys
    p.port = port
    return p
