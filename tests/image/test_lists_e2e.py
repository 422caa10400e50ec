"""The booted lists image against real peers: swaks posts to the VM, the
guest asks a real BIND9 for the MX, and a real Postfix receives each
subscriber's copy with its VERP envelope."""
import json
import subprocess

import pytest

from imagehelp import fsck
from interop.peers import Internet, swaks
from ptt_tool import cli, run

pytestmark = [pytest.mark.vm, pytest.mark.interop]

DOMAIN = "lists.example.org"
POST = (b"From: Alice <alice@a.test>\r\nTo: ptt@lists.example.org\r\nSubject: from the VM\r\n"
        b"Message-ID: <vm-post-1@a.test>\r\n\r\nHello from a list in a VM.\r\n")


def test_post_through_the_booted_image_reaches_every_subscriber(lists_image, accel, boot_timeout,
                                                               tmp_path, free_port):
    disk = str(tmp_path / "lipap.img")
    assert cli.main(["create", disk, "--domain", DOMAIN]) == 0
    assert cli.main(["add", disk, "ptt", "-m", "mod@a.test", "-s", "alice@a.test",
                     "-s", "bob@b.test"]) == 0
    assert cli.main(["tls", disk, "--self-signed"]) == 0
    with Internet(str(tmp_path / "net"), domains=["a.test", "b.test"], guest=True) as net:
        words = ["--ipv4=10.0.2.15/24", "--ipv4-gateway=10.0.2.2", "--domain=" + DOMAIN,
                 "-n", net.guest_resolver]
        cmd = run.qemu_command(lists_image, disk, free_port, "32M", accel, words)
        with run.VM(cmd, log_path=str(tmp_path / "console.log")).start() as vm:
            vm.wait_for(r"ptt: listening on port 25", boot_timeout)
            r = swaks("127.0.0.1", free_port, "alice@a.test", "ptt@" + DOMAIN, data=POST, args=["--tls"])
            assert r.ok, r.transcript
            assert "=== TLS started with cipher" in r.transcript  # STARTTLS by MicroPython's tls in the guest
            msgs = net.mx.wait_for(2, timeout=boot_timeout + 60)
            vm.send("shutdown")
            assert vm.wait(boot_timeout) == 0, vm.console
    got = sorted((m.recipient, m.sender) for m in msgs)
    assert got == [("alice@a.test", "ptt-return-0-alice=a.test@" + DOMAIN),
                   ("bob@b.test", "ptt-return-0-bob=b.test@" + DOMAIN)]
    for m in msgs:
        head = m.content.split(b"\r\n\r\n")[0].replace(b"\r\n ", b" ")
        assert b"\r\nList-Id: <ptt.lists.example.org>" in head
        assert b" by lists.example.org with ESMTPS id " in head
        assert m.content.endswith(b"\r\n\r\nHello from a list in a VM.\r\n")
    assert fsck(disk).returncode == 0
    info = json.loads(subprocess.run(["mtype", "-i", disk, "::/lists/ptt.json"],
                                     capture_output=True).stdout)
    assert info["counter"] == 1
    queue = subprocess.run(["mtype", "-i", disk, "::/temp.json"], capture_output=True).stdout
    assert json.loads(queue) == []  # delivered, and the queue on disk says so
