"""Signatures per second on one 10 KB message with one RSA-2048 key.

    .venv/bin/python bench/sign.py [seconds-per-run]

Runs, one after the other in this process's machine: ptt.dkim under the real
MicroPython (tools/mpy), first with the pure-Python RSA private op, then with
the private op done by mbedtls through ffi (ptt.platform.mbedtls, as the kvm
image installs it at boot), dkimpy under CPython, OpenDKIM (opendkim-testmsg,
one process per signature, as a filter would not be used), plus ptt.dkim
under CPython and Ed25519 for context.  Prints each rate and the ratios.
Not a test: numbers depend on the machine.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "app"))

from cryptography.hazmat.primitives import serialization as ser  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519 as ced  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa as crsa  # noqa: E402

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0


def message():
    head = (b"From: Alice <alice@example.org>\r\nTo: list@lists.example.org\r\n"
            b"Subject: benchmark\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"Message-ID: <bench@example.org>\r\nMIME-Version: 1.0\r\n\r\n")
    line = b"The quick brown fox jumps over the lazy dog, again and again.  \r\n"
    body = line * (10240 // len(line))
    return head + body


MPY_SCRIPT = r"""
import sys, time
from ptt import dkim
from ptt.crypto.keys import load_private_key
d = sys.argv[1]
secs = float(sys.argv[2])
sels = ("rsa", "ed")
if sys.argv[3] == "mbedtls":
    from ptt.platform import mbedtls
    if not mbedtls.install():
        raise SystemExit("mbedtls private op not available")
    sels = ("rsa",)
msg = open(d + "/msg.eml", "rb").read()
for sel in sels:
    key = load_private_key(open(d + "/" + sel + ".pem", "rb").read())
    n = 0
    t0 = time.ticks_ms()
    while True:
        dkim.sign(msg, b"example.org", sel.encode(), key, 1700000000)
        n += 1
        dt = time.ticks_diff(time.ticks_ms(), t0)
        if dt >= secs * 1000:
            break
    print(sel, n, dt / 1000)
"""


def rate_loop(fn):
    n = 0
    t0 = time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= SECONDS:
            return n / dt


def main():
    d = tempfile.mkdtemp(prefix="ptt-bench-")
    try:
        msg = message()
        rk = crsa.generate_private_key(65537, 2048)
        ek = ced.Ed25519PrivateKey.generate()
        rsa_pem = rk.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL,
                                   ser.NoEncryption())
        ed_pem = ek.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
        for name, data in (("msg.eml", msg), ("rsa.pem", rsa_pem), ("ed.pem", ed_pem),
                           ("sign.py", MPY_SCRIPT.encode())):
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("message: %d bytes; RSA-2048; %.1f s per measurement" % (len(msg), SECONDS))
        rates = {}

        mpy = os.path.join(ROOT, "tools", "mpy")
        if os.path.exists(mpy):
            env = dict(os.environ, MICROPYPATH=os.path.join(ROOT, "app") + ":.frozen")
            for mode, label in (("pure", "ptt/micropython "),
                                ("mbedtls", "ptt/micropython+mbedtls ")):
                p = subprocess.run([mpy, os.path.join(d, "sign.py"), d, str(SECONDS), mode],
                                   capture_output=True, env=env, timeout=600)
                if p.returncode:
                    print("MicroPython run (%s) failed:" % mode,
                          (p.stdout + p.stderr).decode()[-500:])
                    continue
                for line in p.stdout.decode().splitlines():
                    sel, n, secs = line.split()
                    rates[label + sel] = int(n) / float(secs)
        else:
            print("tools/mpy missing: MicroPython skipped")

        from ptt import dkim as ours
        from ptt.crypto.keys import load_private_key
        ork = load_private_key(rsa_pem)
        oek = load_private_key(ed_pem)
        rates["ptt/cpython rsa"] = rate_loop(lambda: ours.sign(msg, b"example.org", b"rsa", ork, 1))
        rates["ptt/cpython ed"] = rate_loop(lambda: ours.sign(msg, b"example.org", b"ed", oek, 1))

        try:
            import dkim as dkimpy
            inc = [b"from", b"to", b"subject", b"date", b"message-id"]
            rates["dkimpy/cpython rsa"] = rate_loop(lambda: dkimpy.sign(
                msg, b"rsa", b"example.org", rsa_pem, canonicalize=(b"relaxed", b"relaxed"),
                include_headers=inc))
        except ImportError:
            print("dkimpy missing: skipped")

        testmsg = shutil.which("opendkim-testmsg") or "/usr/sbin/opendkim-testmsg"
        if os.path.exists(testmsg):
            def one():
                with open(os.path.join(d, "msg.eml"), "rb") as f:
                    subprocess.run([testmsg, "-d", "example.org", "-k", os.path.join(d, "rsa.pem"),
                                    "-s", "rsa", "-C"],
                                   stdin=f, stdout=subprocess.DEVNULL, check=True)
            try:
                # Its defaults (rsa-sha1, relaxed/simple) are fixed; the RSA-2048
                # private op dominates either way.
                rates["opendkim-testmsg (process each)"] = rate_loop(one)
            except subprocess.CalledProcessError as e:
                print("opendkim-testmsg failed:", e)
        else:
            print("opendkim-testmsg missing: skipped")

        for k in sorted(rates):
            print("%-36s %9.1f signatures/s" % (k, rates[k]))
        base = rates.get("dkimpy/cpython rsa")
        mine = rates.get("ptt/micropython rsa")
        od = rates.get("opendkim-testmsg (process each)")
        if base and mine:
            print("ratio ptt/micropython rsa : dkimpy/cpython rsa = %.2f" % (mine / base))
        if od and mine:
            print("ratio ptt/micropython rsa : opendkim-testmsg   = %.2f" % (mine / od))
        fast = rates.get("ptt/micropython+mbedtls rsa")
        if base and fast:
            print("ratio ptt/micropython+mbedtls rsa : dkimpy/cpython rsa = %.2f" % (fast / base))
        if od and fast:
            print("ratio ptt/micropython+mbedtls rsa : opendkim-testmsg   = %.2f" % (fast / od))
        if mine and fast:
            print("ratio ptt/micropython+mbedtls rsa : ptt/micropython rsa = %.2f"
                  % (fast / mine))
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
