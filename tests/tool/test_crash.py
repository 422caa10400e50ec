"""Edits are all or nothing, even when the process dies half way."""
import os
import random
import signal
import subprocess
import sys
import time

from toolhelp import fsck, read_list

from ptt_tool import fatimage
from ptt_tool.fatimage import ImageError

EXE = os.path.join(os.path.dirname(sys.executable), "ptt-tool")


def test_sigkill_at_random_points_leaves_old_or_new_image(image):
    rng = random.Random(20261125)  # fixed seed: the same kill points every run
    done = []
    for i in range(10):
        addr = "member%d@example.org" % i
        p = subprocess.Popen([EXE, "subscribe", str(image), "ptt", addr],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.2, 0.7))  # start-up alone takes about 0.25 s
        p.send_signal(signal.SIGKILL)
        p.wait()
        rc, out = fsck(image)
        assert rc == 0, out
        subs = read_list(image)["subscribers"]
        assert subs == done or subs == done + [addr], (subs, done)
        done = subs
    # Stale copies of killed runs are swept by the next edit, under the lock.
    subprocess.run([EXE, "subscribe", str(image), "ptt", "last@example.org"], check=True, capture_output=True)
    assert [f for f in os.listdir(image.parent) if "ptt-tmp" in f] == []
    assert read_list(image)["subscribers"] == done + ["last@example.org"]


def test_failure_after_writes_leaves_image_untouched(image):
    before = image.read_bytes()
    try:
        with fatimage.editing(str(image)) as vol:
            vol.write("/lists/ptt.json", b"{}")
            vol.write("/temp.json", b"half")
            raise ImageError("simulated failure after the writes")
    except ImageError:
        pass
    assert image.read_bytes() == before
    assert [f for f in os.listdir(image.parent) if "ptt-tmp" in f] == []


def test_disk_full_leaves_image_untouched(tmp_path, tool):
    # A small tmpfs, filled up after the image is made, so the copy cannot fit.
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        import pytest
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.decode().strip())
    try:
        img = mnt / "lipap.img"
        tool.ok("create", img, "--size", "34M", "--domain", "example.org")
        st = os.statvfs(mnt)
        with open(mnt / "filler", "wb") as f:
            f.write(b"x" * (st.f_bavail * st.f_frsize - 256 * 1024))
        before = img.read_bytes()
        rc, out, err = tool("add", img, "ptt", "-m", "a@example.org")
        assert rc == 1 and "cannot update" in err and "No space left" in err
        assert img.read_bytes() == before
        assert sorted(os.listdir(mnt)) == ["filler", "lipap.img"]
    finally:
        subprocess.run(["umount", str(mnt)])
