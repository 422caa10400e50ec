"""Helpers for the ptt-tool tests: read and plant files with mtools, fsck."""
import json
import os
import subprocess


def fsck(path):
    r = subprocess.run(["fsck.fat", "-n", str(path)], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def mtype(path, name):
    r = subprocess.run(["mtype", "-i", str(path), "::" + name], capture_output=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def mdir(path, folder="/"):
    r = subprocess.run(["mdir", "-b", "-i", str(path), "::" + folder], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return sorted(l.rstrip("/").rsplit("/", 1)[-1] for l in r.stdout.split())


def read_list(path, name="ptt"):
    return json.loads(mtype(path, "/lists/%s.json" % name))


def write_file(path, name, data):
    """Replace a file inside the image with mtools (to plant bad input)."""
    src = os.path.join(os.path.dirname(str(path)), "planted")
    with open(src, "wb") as f:
        f.write(data)
    r = subprocess.run(["mcopy", "-o", "-i", str(path), src, "::" + name], capture_output=True)
    assert r.returncode == 0, r.stderr
