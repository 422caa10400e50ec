"""A block device over a file descriptor, in the shape vfs.VfsFat wants.

The same class serves /dev/vda in the kvm image and a disk image file on the
host (tests), so the FAT driver sees identical behaviour in both. It uses the
"extended" block protocol (readblocks/writeblocks with an offset), which
MicroPython's VfsFat calls with whole 512-byte sectors.
"""

# ioctl operations of MicroPython's block protocol (docs: "Block devices").
IOCTL_INIT = 1
IOCTL_DEINIT = 2
IOCTL_SYNC = 3
IOCTL_BLOCK_COUNT = 4
IOCTL_BLOCK_SIZE = 5

BLOCK_SIZE = 512


class BlockDevice:
    def __init__(self, path, fsync=None, readonly=False):
        """PATH: a device node or a file. FSYNC(fd) flushes to the medium
        (the platform supplies it: MicroPython's os has no fsync)."""
        self._f = open(path, "rb" if readonly else "r+b")
        self._f.seek(0, 2)
        self._blocks = self._f.tell() // BLOCK_SIZE
        self._fsync = fsync

    def readblocks(self, block, buf, offset=0):
        self._f.seek(block * BLOCK_SIZE + offset)
        n = self._f.readinto(buf)
        if n != len(buf):
            raise OSError(5)  # EIO: short read past the end of the device

    def writeblocks(self, block, buf, offset=0):
        self._f.seek(block * BLOCK_SIZE + offset)
        self._f.write(buf)

    def ioctl(self, op, arg):
        if op == IOCTL_BLOCK_COUNT:
            return self._blocks
        if op == IOCTL_BLOCK_SIZE:
            return BLOCK_SIZE
        if op == IOCTL_SYNC:
            self.sync()
            return 0
        if op in (IOCTL_INIT, IOCTL_DEINIT):
            return 0
        return None

    def sync(self):
        self._f.flush()
        if self._fsync is not None:
            self._fsync(self._f.fileno())

    def close(self):
        self.sync()
        self._f.close()
