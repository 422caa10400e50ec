"""Boot the real lists image in QEMU (microvm) and talk SMTP to it."""
import os
import socket
import subprocess
import threading
import time

import pytest

from ptt_tool import run
from imagehelp import fsck

pytestmark = pytest.mark.vm

DOMAIN = "lists.example.org"
READY = r"ptt: listening on port 25"
POSTER = "alpha-reader@example.net"  # a subscriber of alpha (imagehelp.make_disk)


def post(subject, text="hello"):
    return (b"From: %s\r\nTo: alpha@%s\r\nSubject: %s\r\nMessage-ID: <%s@example.net>\r\n"
            b"Date: Wed, 25 Nov 2026 17:00:00 +0000\r\n\r\n%s\r\n"
            % (POSTER.encode(), DOMAIN.encode(), subject.encode(),
               subject.replace(" ", "-").encode(), text.encode()))


def list_counter(disk, name="alpha"):
    import json
    return json.loads(mtype(disk, "lists/%s.json" % name))["counter"]


def mdir(disk, path):
    p = subprocess.run(["mdir", "-b", "-i", disk, "::" + path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    return [l for l in p.stdout.splitlines() if l.strip()]


def boot(image_dir, disk, port, accel, words=None, memory="32M"):
    if words is None:
        words = ["--ipv4=10.0.2.15/24", "--ipv4-gateway=10.0.2.2", "--domain=" + DOMAIN]
    cmd = run.qemu_command(image_dir, disk, port, memory, accel, words)
    return run.VM(cmd).start()


class Smtp:
    """A tiny line-based SMTP client with short timeouts (never hangs a test)."""

    def __init__(self, port, timeout=30):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.f = self.s.makefile("rb")

    def reply(self):
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("connection closed; got %r" % lines)
            lines.append(line.decode().rstrip("\r\n"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), lines

    def cmd(self, text):
        self.s.sendall(text.encode() + b"\r\n")
        return self.reply()

    def send_mail(self, body, sender=POSTER):
        assert self.cmd("MAIL FROM:<%s>" % sender)[0] == 250
        code, lines = self.cmd("RCPT TO:<alpha@%s>" % DOMAIN)
        assert code == 250, lines
        assert self.cmd("DATA")[0] == 354
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.s.sendall(body + b".\r\n")
        return self.reply()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def banner(port, timeout=30):
    c = Smtp(port, timeout)
    code, lines = c.reply()
    return c, code, lines


def mtype(disk, path):
    p = subprocess.run(["mtype", "-i", disk, "::" + path], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def test_boot_banner_ehlo_lists_write_and_clean_shutdown(lists_image, disk, free_port, accel,
                                                         boot_timeout):
    with boot(lists_image, disk, free_port, accel) as vm:
        vm.wait_for(READY, boot_timeout)
        assert "ptt: 2 lists: alpha, beta" in vm.console
        c, code, lines = banner(free_port)
        assert code == 220 and DOMAIN in lines[0], lines
        code, lines = c.cmd("EHLO client.example.net")
        assert code == 250 and lines[0].startswith("250-" + DOMAIN), lines
        code, lines = c.send_mail(post("written by the VM"))
        assert code == 250, lines
        assert c.cmd("QUIT")[0] == 221
        c.close()
        vm.wait_for(r"ptt: lists: alpha: post", boot_timeout)
        vm.send("shutdown")
        rc = vm.wait(boot_timeout)
        console = vm.console
    assert rc == 0, console
    assert "ptt: store unmounted and synced" in console
    assert "Kernel panic" not in console
    r = fsck(disk)
    assert r.returncode == 0, r.stdout
    # the VM's writes are visible on the host: the list's post counter and the queued copy
    assert list_counter(disk) == 1
    assert mdir(disk, "tmp"), "nothing queued in tmp/"


def test_sigkill_during_writes_next_boot_serves(lists_image, disk, free_port, accel,
                                                boot_timeout):
    stored = []
    with boot(lists_image, disk, free_port, accel) as vm:
        vm.wait_for(READY, boot_timeout)
        c, code, _ = banner(free_port)
        assert code == 220
        c.cmd("EHLO client.example.net")
        errors = []

        def writer():
            try:
                for i in range(1000):
                    code, lines = c.send_mail(post("n%d" % i, ("x" * 76 + "\r\n") * 250))
                    if code == 250:
                        stored.append(i)
            except Exception as e:  # the VM is killed under us: expected
                errors.append(e)

        t = threading.Thread(target=writer, daemon=True)
        t.start()
        end = time.monotonic() + boot_timeout
        while len(stored) < 3 and time.monotonic() < end and t.is_alive():
            time.sleep(0.05)
        assert len(stored) >= 3, (errors, vm.console)
        vm.kill()  # SIGKILL while the writer keeps sending
        c.close()
        t.join(10)
    # the next boot still mounts the store and serves
    with boot(lists_image, disk, free_port, accel) as vm:
        vm.wait_for(READY, boot_timeout)
        assert "ptt: 2 lists: alpha, beta" in vm.console
        c, code, lines = banner(free_port)
        assert code == 220, lines
        assert c.cmd("EHLO client.example.net")[0] == 250
        code, lines = c.send_mail(post("after the crash"))
        assert code == 250, lines
        c.close()
        vm.wait_for(r"ptt: lists: alpha: post %d " % len(stored), boot_timeout)
        vm.send("shutdown")
        assert vm.wait(boot_timeout) == 0, vm.console
    # every post the VM acknowledged before the kill was counted on the disk
    assert list_counter(disk) >= len(stored) + 1


@pytest.mark.parametrize("words,expect", [
    (["--ipv4=10.0.2.15/24"], "ptt: error: boot arguments: --domain is required"),
    (["--ipv4=10.0.2.300/24", "--domain=" + DOMAIN],
     "ptt: error: boot arguments: --ipv4: '10.0.2.300/24' is not an IPv4 CIDR"),
])
def test_bad_boot_arguments_fail_fast(lists_image, disk, free_port, accel, boot_timeout,
                                      words, expect):
    t0 = time.monotonic()
    with boot(lists_image, disk, free_port, accel, words) as vm:
        rc = vm.wait(boot_timeout)
        console = vm.console
    took = time.monotonic() - t0
    errors = [l for l in console.splitlines() if l.startswith("ptt: error:")]
    assert len(errors) == 1 and errors[0].startswith(expect), console
    assert rc == 3, console  # isa-debug-exit: (1 << 1) | 1
    ok, msg = run.explain_exit(rc, console)
    assert not ok and "bad boot arguments" in msg
    assert took < (10 if accel == "kvm" else 30), took


def test_no_disk_says_why(lists_image, free_port, accel, boot_timeout):
    with boot(lists_image, None, free_port, accel) as vm:
        rc = vm.wait(boot_timeout)
        console = vm.console
    assert rc == 5, console
    assert "ptt: error: no disk /dev/vda" in console
