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
