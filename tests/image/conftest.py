"""Fixtures for the QEMU boot tests: the lists image, list disks, a free port.

The image is built once per session into a temporary folder with
ptt_tool.image (the same code `make image` runs); the kernel comes from the
cache (kernel/linux/build.py builds it the first time, about 4 minutes).
"""
import os
import socket

import pytest

from ptt_tool import image, run
from imagehelp import make_disk

REPO = image.REPO


def _build(tmp_path_factory, app):
    out = str(tmp_path_factory.mktemp("image") / ("kvm-" + app))
    try:
        image.build_image("kvm", app, out)
    except image.ImageError as e:
        pytest.fail("cannot build the %s image: %s" % (app, e), pytrace=False)
    return out


@pytest.fixture(scope="session")
def lists_image(tmp_path_factory):
    return _build(tmp_path_factory, "lists")


@pytest.fixture(scope="session")
def signer_image(tmp_path_factory):
    return _build(tmp_path_factory, "signer")


@pytest.fixture(scope="session")
def accel(lists_image):
    """'kvm' or 'tcg', with the boot timeout that goes with it."""
    name, how = run.choose_accel("auto", os.path.join(lists_image, "vmlinux"))
    print("accelerator:", how)
    return name


@pytest.fixture(scope="session")
def boot_timeout(accel):
    return 20 if accel == "kvm" else 90


@pytest.fixture
def disk(tmp_path):
    return make_disk(str(tmp_path / "lipap.img"))


@pytest.fixture
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
