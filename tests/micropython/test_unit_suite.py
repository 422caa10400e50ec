"""Every tests/unit/test_*.py, run under MicroPython by tests/mpy/run.py.

One pytest test per unit-test file, so a failure names the file. The same
files also run under CPython when pytest collects tests/unit.
"""
import glob
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNNER = os.path.join("tests", "mpy", "run.py")
UNIT_FILES = sorted(os.path.relpath(p, REPO)
                    for p in glob.glob(os.path.join(REPO, "tests", "unit", "test_*.py")))
CLOSING = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")


def test_there_are_unit_test_files():
    assert UNIT_FILES, "no tests/unit/test_*.py found"


@pytest.mark.parametrize("path", UNIT_FILES, ids=[os.path.basename(p) for p in UNIT_FILES])
def test_unit_file_under_micropython(mpy, path):
    p = mpy.run([RUNNER, path])
    lines = p.stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    m = CLOSING.match(last)
    report = "%s under MicroPython (exit %d):\n%s" % (path, p.returncode, p.stdout)
    assert m, "no closing 'N passed, N failed' line; " + report
    passed, failed = int(m.group(1)), int(m.group(2))
    assert p.returncode == 0 and failed == 0, report
    assert passed >= 1, "no test ran; " + report


def test_runner_reports_failures_and_errors(mpy, tmp_path):
    # Guards the guard: a runner that always said "0 failed" would pass above.
    (tmp_path / "test_broken.py").write_text(
        "import unittest\n"
        "class T(unittest.TestCase):\n"
        "    def test_ok(self):\n"
        "        self.assertEqual(1, 1)\n"
        "    def test_wrong(self):\n"
        "        self.assertEqual(1, 2)\n"
        "    def test_error(self):\n"
        "        {}['missing']\n")
    p = mpy.run([RUNNER, str(tmp_path / "test_broken.py")])
    assert p.returncode == 1, p.stdout
    assert p.stdout.strip().splitlines()[-1] == "1 passed, 2 failed", p.stdout
    assert "FAIL test_broken.T.test_wrong: AssertionError" in p.stdout, p.stdout
    assert "FAIL test_broken.T.test_error: KeyError" in p.stdout, p.stdout
