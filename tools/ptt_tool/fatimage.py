"""FAT32 store images on the host: create, read, and edit without risk.

pyfatfs does the file system work. Two things it leaves wrong are repaired
here after it closes an image, because fsck.fat and mtools (and operators)
rely on them: the BPB geometry fields it writes as zero (mtools refuses such
images) and the FSInfo free-cluster count it never updates after mkfs
(fsck.fat: "Free cluster summary wrong").

Every edit happens on a copy beside the image; the copy replaces the image
with one rename only after it was written completely, repaired and synced.
A failure at any point (bad input found late, a full disk, a crash) leaves
the original byte for byte as it was.
"""

import contextlib
import errno
import fcntl
import os
import shutil
import sys
import struct
import warnings

from fs.errors import FSError
from pyfatfs.PyFat import PyFat
from pyfatfs.PyFatFS import PyFatFS
from pyfatfs._exceptions import PyFATException

MiB = 1024 * 1024
# pyfatfs formats FAT32 only above 66,600 sectors (FatFs, MicroPython's FAT
# driver, needs 65,525 clusters to see FAT32); 33 MiB is the first whole MiB
# above that. Its upper bound is 32 GiB (16 KiB clusters).
MIN_SIZE = 33 * MiB
MAX_SIZE = 32 * 1024 * MiB
DEFAULT_SIZE = 64 * MiB
LABEL = "PTT"


class ImageError(Exception):
    """A problem with an image, worded for the operator."""


def parse_size(text):
    """'64M', '64MiB', '1G', '67108864' -> bytes; raise ImageError."""
    t = text.strip().upper()
    for suffix in ("IB", "B"):
        if t.endswith(suffix) and len(t) > len(suffix) and not t[:-len(suffix)].isdigit():
            t = t[:-len(suffix)]
            break
    mult = 1
    if t and t[-1] in "KMGT":
        mult = 1024 ** ("KMGT".index(t[-1]) + 1)
        t = t[:-1]
    if not t.isdigit():
        raise ImageError("size %r is not a size: use bytes or a unit, like 64M or 1G" % text)
    size = int(t) * mult
    if size < MIN_SIZE:
        raise ImageError("size %s is too small: FAT32 needs at least %d MiB" % (text, MIN_SIZE // MiB))
    if size > MAX_SIZE:
        raise ImageError("size %s is too large: at most %d GiB" % (text, MAX_SIZE // (1024 * MiB)))
    if size % 512:
        raise ImageError("size %s is not a multiple of 512 bytes" % text)
    return size


# --- raw BPB access (Microsoft FAT specification, "BPB" and "FSInfo") -----

_BPB = struct.Struct("<3s8sHBHBHHBHHHII")  # up to BPB_TotSec32, offset 0..35


def _read_bpb(f):
    f.seek(0)
    sector = f.read(512)
    if len(sector) < 512 or sector[510:512] != b"\x55\xaa":
        return None
    (_, _, bps, spc, rsvd, nfats, _, _, _, _, _, _, _, tot32) = _BPB.unpack_from(sector)
    fatsz32, = struct.unpack_from("<I", sector, 36)
    fsinfo, bkboot = struct.unpack_from("<HH", sector, 48)
    fstype = sector[82:90]
    return {"bps": bps, "spc": spc, "rsvd": rsvd, "nfats": nfats, "tot": tot32,
            "fatsz": fatsz32, "fsinfo": fsinfo, "bkboot": bkboot, "fstype": fstype}


def check_fat32(path):
    """Raise ImageError unless PATH is a regular file holding a FAT32 volume."""
    if not os.path.exists(path):
        raise ImageError("%s does not exist (make one with: ptt-tool create %s)" % (path, path))
    if not os.path.isfile(path):
        raise ImageError("%s is not a regular file" % path)
    with open(path, "rb") as f:
        bpb = _read_bpb(f)
    if bpb is None or bpb["fstype"] != b"FAT32   " or bpb["bps"] not in (512, 1024, 2048, 4096) \
            or bpb["spc"] == 0 or bpb["fatsz"] == 0:
        raise ImageError("%s is not a FAT32 image" % path)
    return bpb


def _repair(path):
    """Fix what pyfatfs leaves wrong: BPB geometry and FSInfo counts."""
    with open(path, "r+b") as f:
        b = _read_bpb(f)
        bps = b["bps"]
        # Geometry: mkfs.fat's values for image files; mtools rejects zeros.
        for base in (0, b["bkboot"] * bps):
            f.seek(base + 24)
            f.write(struct.pack("<HH", 32, 64))
        clusters = (b["tot"] - b["rsvd"] - b["nfats"] * b["fatsz"]) // b["spc"]
        f.seek(b["rsvd"] * bps)
        fat = f.read((clusters + 2) * 4)
        entries = struct.unpack("<%dI" % (clusters + 2), fat)
        free = 0
        next_free = 0xFFFFFFFF
        for i in range(2, clusters + 2):
            if not entries[i] & 0x0FFFFFFF:
                free += 1
                if next_free == 0xFFFFFFFF:
                    next_free = i
        for sector in (b["fsinfo"], b["bkboot"] + b["fsinfo"]):
            f.seek(sector * bps + 488)
            f.write(struct.pack("<II", free, next_free))
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path):
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_name(path, pid=None):
    d, base = os.path.split(os.path.abspath(path))
    return os.path.join(d, ".%s.ptt-tmp-%d" % (base, os.getpid() if pid is None else pid))


def _sweep_stale_copies(path):
    """Delete copies left by edits that were killed (their process is gone).

    Called with the image locked, so no live edit of this image owns one.
    """
    d, base = os.path.split(os.path.abspath(path))
    prefix = ".%s.ptt-tmp-" % base
    for name in os.listdir(d):
        pid = name[len(prefix):]
        if not name.startswith(prefix) or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(d, name))
        except PermissionError:
            pass  # alive, someone else's


@contextlib.contextmanager
def _locked(path):
    """Hold an exclusive lock on PATH; refuse if a VM has it open.

    QEMU locks the byte ranges of the disk images it uses (OFD locks), which
    conflict with this POSIX lock: editing a disk under a running VM would
    corrupt both views of it.
    """
    with open(path, "rb+") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise ImageError("%s is in use (a running VM?); stop it first" % path)
            raise
        try:
            yield
        finally:
            fcntl.lockf(f, fcntl.LOCK_UN)


class Volume:
    """The files of an open image. Paths are absolute within the volume."""

    def __init__(self, path, read_only, shown_as=None):
        shown_as = shown_as or path
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self._fs = PyFatFS(path, read_only=read_only, utc=True)
            except (PyFATException, FSError, OSError, ValueError, struct.error) as e:
                raise ImageError("%s: cannot open the FAT file system: %s" % (shown_as, e))
        # pyfatfs warns (and goes on) when the file system looks damaged:
        # reading may go on, but writing would build on the damage.
        self.warnings = ["%s: %s" % (shown_as, w.message) for w in caught]
        if self.warnings and not read_only:
            self._fs.close()
            raise ImageError("%s; not changing it (run: ptt-tool check %s)" % (self.warnings[0], shown_as))
        self.changed = False

    def close(self):
        self._fs.close()

    def exists(self, p):
        return self._fs.exists(p)

    def isdir(self, p):
        return self._fs.isdir(p)

    def listdir(self, p):
        return sorted(self._fs.listdir(p))

    def read(self, p):
        return self._fs.readbytes(p)

    def write(self, p, data):
        self._fs.writebytes(p, data)
        self.changed = True

    def remove(self, p):
        self._fs.remove(p)
        self.changed = True

    def makedir(self, p):
        self._fs.makedir(p)
        self.changed = True


def create(path, size, dirs, files):
    """Make a new FAT32 image at PATH holding DIRS and FILES {path: bytes}.

    Refuses to overwrite: the finished image is linked into place, which fails
    if PATH appeared meanwhile.
    """
    if os.path.lexists(path):
        raise ImageError("%s already exists; refusing to overwrite it" % path)
    tmp = _temp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.truncate(size)
        pf = PyFat()
        pf.mkfs(tmp, fat_type=PyFat.FAT_TYPE_FAT32, size=size, label=LABEL)
        pf.close()
        vol = Volume(tmp, read_only=False)
        try:
            for d in dirs:
                vol.makedir(d)
            for p, data in files.items():
                vol.write(p, data)
        finally:
            vol.close()
        _repair(tmp)
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ImageError("%s already exists; refusing to overwrite it" % path)
        _fsync_dir(path)
    except OSError as e:
        raise ImageError("cannot create %s: %s" % (path, e.strerror or e))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def reading(path):
    """Open an image read-only."""
    check_fat32(path)
    vol = Volume(path, read_only=True)
    for w in vol.warnings:
        print("ptt-tool: warning: %s" % w, file=sys.stderr)
    try:
        yield vol
    finally:
        vol.close()


@contextlib.contextmanager
def editing(path):
    """Edit an image all or nothing: changes land only if the block succeeds."""
    check_fat32(path)
    tmp = _temp_name(path)
    with _locked(path):
        _sweep_stale_copies(path)
        try:
            shutil.copyfile(path, tmp)
            shutil.copymode(path, tmp)
            vol = Volume(tmp, read_only=False, shown_as=path)
            try:
                yield vol
            finally:
                vol.close()
            if vol.changed:
                _repair(tmp)
                os.replace(tmp, path)
                _fsync_dir(path)
        except OSError as e:
            raise ImageError("cannot update %s: %s" % (path, e.strerror or e))
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
