"""The main job, end to end: boot the lists image on a demo list and
deliver a post.

    make demo        (builds the image first; needs root for port 25)

1. ptt-tool makes a list disk (demo/lipap.img) with the list ptt@lists.demo.test
   and two subscribers at two domains;
2. a small local Internet starts: BIND9 answering MX queries for the
   subscribers' domains, a real Postfix as their MX (tests/interop/peers.py);
3. the lists image boots in QEMU on that disk (KVM if it works, else TCG);
4. swaks posts to the list through the forwarded SMTP port;
5. each subscriber's copy arrives at Postfix with its VERP envelope sender,
   and the VM shuts down cleanly.
"""
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, os.path.join(REPO, "tools"))

from interop.peers import Internet, swaks  # noqa: E402
from ptt_tool import cli, run  # noqa: E402

DOMAIN = "lists.demo.test"
IMAGE = os.path.join(REPO, "images", "out", "kvm-lists")
DISK = os.path.join(REPO, "demo", "lipap.img")
PORT = 2525
POST = (b"From: Alice <alice@a.demo.test>\r\nTo: ptt@lists.demo.test\r\n"
        b"Subject: Hello, list\r\nMessage-ID: <demo-1@a.demo.test>\r\n\r\n"
        b"This post went through the ptt lists image.\r\n")


def step(text):
    print("\n== " + text, flush=True)


def main():
    os.makedirs(os.path.dirname(DISK), exist_ok=True)
    if os.path.exists(DISK):
        os.remove(DISK)
    step("a list disk with ptt-tool")
    for argv in (["create", DISK, "--domain", DOMAIN],
                 ["add", DISK, "ptt", "--moderator", "moderator@a.demo.test",
                  "--subscriber", "alice@a.demo.test", "--subscriber", "bob@b.demo.test"]):
        print("$ ptt-tool " + " ".join(os.path.relpath(a, REPO) if a == DISK else a for a in argv))
        if cli.main(argv) != 0:
            return 1
    step("a local Internet: BIND9 (MX records) and Postfix (the subscribers' MX)")
    with Internet(os.path.join(REPO, "demo", "net"), domains=["a.demo.test", "b.demo.test"],
                  dmarc={"a.demo.test": "none"},
                  guest=True) as net:
        print("DNS for the guest: %s; MX at %s:25" % (net.guest_resolver, net.mx_host))
        accel, why = run.choose_accel("auto", os.path.join(IMAGE, "vmlinux"))
        step("booting the lists image (%s)" % why)
        words = ["--ipv4=10.0.2.15/24", "--ipv4-gateway=10.0.2.2", "--domain=" + DOMAIN,
                 "-n", net.guest_resolver]
        cmd = run.qemu_command(IMAGE, DISK, PORT, "32M", accel, words)
        with run.VM(cmd, echo=sys.stdout).start() as vm:
            t0 = time.time()
            vm.wait_for(r"ptt: listening on port 25", 120)
            print("banner after %.2f s" % (time.time() - t0))
            step("posting to ptt@%s with swaks (port %d)" % (DOMAIN, PORT))
            r = swaks("127.0.0.1", PORT, "alice@a.demo.test", "ptt@" + DOMAIN, data=POST)
            for line in r.replies():
                print("  " + line)
            if not r.ok:
                print(r.transcript)
                return 1
            step("copies arriving at the subscribers' MX")
            msgs = net.mx.wait_for(2, timeout=120)
            for m in msgs:
                print("to %s, envelope sender %s" % (m.recipient, m.sender))
                for line in m.content.split(b"\r\n\r\n")[0].decode().splitlines():
                    if line.split(":")[0] in ("From", "Subject", "List-Id", "List-Post", "Sender", "Reply-To"):
                        print("  " + line)
            step("shutting the VM down")
            vm.send("shutdown")
            rc = vm.wait(120)
    print("QEMU exited %d" % rc)
    step("the disk afterwards")
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "ptt-tool"), "show", DISK])
    return 0 if rc == 0 and len(msgs) == 2 else 1


if __name__ == "__main__":
    sys.exit(main())
