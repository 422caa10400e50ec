import json
import os
import shutil
import subprocess

import pytest

from ptt_tool.cli import main


class Tool:
    """Runs ptt-tool in process, the way a shell would (argv in, rc/out/err back)."""

    def __init__(self, capsys):
        self.capsys = capsys

    def __call__(self, *argv):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as e:  # argparse usage errors and --help
            rc = e.code
        out, err = self.capsys.readouterr()
        return rc, out, err

    def ok(self, *argv):
        rc, out, err = self(*argv)
        assert rc == 0, (argv, rc, out, err)
        return out


@pytest.fixture
def tool(capsys):
    return Tool(capsys)


@pytest.fixture
def image(tmp_path, tool):
    """A fresh store image with the list 'ptt' at mailingl.st."""
    path = tmp_path / "lipap.img"
    tool.ok("create", path)
    tool.ok("add", path, "ptt", "--domain", "mailingl.st", "--moderator", "foo@bar.com")
    return path


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
