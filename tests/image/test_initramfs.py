"""The initramfs writer: valid newc, fixed metadata, byte-for-byte reproducible."""
import json
import os
import subprocess

from ptt_tool import image


def parse_newc(data):
    """[(name, mode, uid, gid, mtime, rdevmajor, rdevminor, body)] from a newc archive."""
    out = []
    i = 0
    while True:
        assert data[i:i + 6] == b"070701", "bad magic at %d" % i
        f = [int(data[i + 6 + 8 * k:i + 14 + 8 * k], 16) for k in range(13)]
        namesize, size = f[11], f[6]
        name = data[i + 110:i + 110 + namesize - 1].decode()
        i = (i + 110 + namesize + 3) & ~3
        body = data[i:i + size]
        i = (i + size + 3) & ~3
        if name == "TRAILER!!!":
            return out
        out.append((name, f[1], f[2], f[3], f[5], f[9], f[10], body))


def test_cpio_entries_sorted_fixed_metadata_and_cpio_reads_it(tmp_path):
    c = image.Cpio()
    c.add_file("b/x.txt", b"hello")
    c.add_file("a", b"12345")
    c.add_node("dev/console", "c", 5, 1, 0o600)
    c.add_symlink("lib/link", "target")
    data = c.to_bytes()
    assert len(data) % 512 == 0
    ents = parse_newc(data)
    names = [e[0] for e in ents]
    assert names == sorted(names) == ["a", "b", "b/x.txt", "dev", "dev/console", "lib",
                                      "lib/link"]
    for name, mode, uid, gid, mtime, rmaj, rmin, body in ents:
        assert (uid, gid, mtime) == (0, 0, 0)
    con = [e for e in ents if e[0] == "dev/console"][0]
    assert (con[5], con[6]) == (5, 1) and con[1] & 0o170000 == 0o020000
    # the system's cpio agrees
    p = subprocess.run(["cpio", "-it", "--quiet"], input=data, stdout=subprocess.PIPE)
    assert p.returncode == 0
    assert p.stdout.decode().split() == names


def test_gzip_header_has_no_time_or_name():
    g = image.gzip_bytes(b"x" * 1000)
    assert g[:3] == b"\x1f\x8b\x08"
    assert g[3] == 0  # no FNAME
    assert g[4:8] == b"\0\0\0\0"  # mtime 0


def test_image_is_byte_for_byte_reproducible(tmp_path):
    a = str(tmp_path / "a")
    b = str(tmp_path / "b")
    ma = image.build_image("kvm", "lists", a)
    mb = image.build_image("kvm", "lists", b)
    for name in ("initramfs.cpio.gz", "vmlinux", "bzImage", "manifest.json"):
        with open(os.path.join(a, name), "rb") as f1, open(os.path.join(b, name), "rb") as f2:
            assert f1.read() == f2.read(), name
    assert ma == mb
    # what the initramfs holds: the runtime, only its libraries, the app as .mpy
    import gzip
    with open(os.path.join(a, "initramfs.cpio.gz"), "rb") as f:
        ents = {e[0]: e for e in parse_newc(gzip.decompress(f.read()))}
    for need in ("init", "bin/micropython", "lib64/ld-linux-x86-64.so.2",
                 "lib/x86_64-linux-gnu/libc.so.6", "lib/x86_64-linux-gnu/libffi.so.8",
                 "app/ptt/main_lists.mpy", "app/ptt/platform/linux.mpy",
                 "dev/console", "dev/vda", "dev/urandom", "proc", "sys"):
        assert need in ents, need
    assert not [n for n in ents if n.endswith(".py")]
    assert ents["init"][7].startswith(b"#!/bin/micropython\n")
    with open(os.path.join(a, "manifest.json")) as f:
        m = json.load(f)
    assert m["runtime"]["packages"]["micropython"].startswith("1.25.0")
    assert m["files"]["initramfs.cpio.gz"]["bytes"] == os.path.getsize(
        os.path.join(a, "initramfs.cpio.gz"))
    assert "--domain" in [d["name"] for d in m["boot_arguments"]]


def test_hvt_target_is_refused(tmp_path):
    try:
        image.build_image("hvt", "lists", str(tmp_path / "x"))
    except image.ImageError as e:
        assert "not supported yet" in str(e)
    else:
        raise AssertionError("hvt built")
