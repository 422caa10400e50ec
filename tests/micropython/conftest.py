"""Run things under the real MicroPython binary (Debian trixie's 1.25 build).

The runtime is fetched by `make runtime` (tools/runtime/fetch.py). These tests
never fetch it themselves: if it is missing they fail and say what to run.
"""
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FETCH = os.path.join(REPO, "tools", "runtime", "fetch.py")
MPY = os.path.join(REPO, "tools", "mpy")
# MICROPYPATH replaces MicroPython's whole module path; ".frozen" keeps the
# built-in frozen modules (asyncio) importable.
MICROPYPATH = ":".join([os.path.join(REPO, "app"), os.path.join(REPO, "tests", "mpy"), ".frozen"])


class Mpy:
    def __init__(self, root):
        self.root = root

    def run(self, args, cwd=REPO, micropypath=MICROPYPATH, timeout=300):
        env = dict(os.environ)
        env["MICROPYPATH"] = micropypath
        return subprocess.run([MPY] + list(args), cwd=cwd, env=env, timeout=timeout,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="session")
def mpy():
    p = subprocess.run([sys.executable, FETCH, "--print-root"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    root = p.stdout.strip()
    if p.returncode != 0 or not os.path.exists(os.path.join(root, "usr", "bin", "micropython")):
        pytest.fail("the MicroPython runtime is not in the cache (%s). Run `make runtime` "
                    "(or `python3 tools/runtime/fetch.py`) first; `make test` does that.\n%s"
                    % (root or "no root", p.stderr.strip()), pytrace=False)
    return Mpy(root)
