"""Helpers for the image tests (not fixtures): list disks, fsck."""
import subprocess

from ptt_tool import cli


def make_disk(path, lists=("alpha", "beta"), domain="lists.example.org"):
    assert cli.main(["create", path, "--size", "64M", "--domain", domain]) == 0
    for name in lists:
        assert cli.main(["add", path, name, "-m", "mod@example.com",
                         "-s", "%s-reader@example.net" % name]) == 0
    return path


def fsck(path):
    return subprocess.run(["fsck.fat", "-n", path], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
