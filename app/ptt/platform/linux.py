"""Linux (kvm target) platform: what PID 1 needs from the kernel, through ffi.

MicroPython's unix port has no mount, sync, fsync, reboot or network ioctls,
so they are called in libc with `ffi`. Only this module (and net/) touches
them; the rest of the app sees plain functions and a block device object.

Nothing here runs at import time except resolving libc symbols, so the
module can be imported on the host MicroPython for tests of the pure helpers.
"""
import os
import struct

try:
    import ffi
    import uctypes
except ImportError:  # CPython or a port without ffi: only the pure helpers work
    ffi = None
    uctypes = None


class PlatformError(Exception):
    def __init__(self, msg):
        super().__init__(msg)


# <sys/mount.h>, <sys/reboot.h>, <linux/sockios.h>, <net/if.h>, <net/route.h>
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MNT_DETACH = 2
RB_AUTOBOOT = 0x01234567
RB_POWER_OFF = 0x4321FEDC
SIOCADDRT = 0x890B
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891C
SIOCGIFINDEX = 0x8933
IFF_UP = 0x1
IFF_RUNNING = 0x40
RTF_UP = 0x1
RTF_GATEWAY = 0x2
AF_INET = 2
AF_INET6 = 10
SOCK_DGRAM = 2
O_RDWR = 2
O_WRONLY = 1
O_CLOEXEC = 0o2000000
BLKGETSIZE64 = 0x80081272
# QEMU isa-debug-exit: a byte v written to this port ends QEMU with exit (v << 1) | 1
DEBUG_EXIT_PORT = 0xF4

ERRNO_NAMES = {1: "EPERM", 2: "ENOENT", 5: "EIO", 6: "ENXIO", 12: "ENOMEM", 13: "EACCES",
               16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR", 22: "EINVAL",
               28: "ENOSPC", 30: "EROFS", 95: "EOPNOTSUPP", 99: "EADDRNOTAVAIL",
               101: "ENETUNREACH"}


class _Libc:
    """libc functions resolved once, on first use."""

    def __init__(self):
        self._lib = None
        self._f = {}

    def f(self, ret, name, args):
        fn = self._f.get(name)
        if fn is None:
            if ffi is None:
                raise PlatformError("this MicroPython has no ffi module; platform.linux "
                                    "needs the unix port")
            if self._lib is None:
                self._lib = ffi.open("libc.so.6")
            fn = self._lib.func(ret, name, args)
            self._f[name] = fn
        return fn

    def errno(self):
        ptr = self.f("p", "__errno_location", "")()
        return int.from_bytes(uctypes.bytearray_at(ptr, 4), "little")


libc = _Libc()


def _fail(what):
    e = libc.errno()
    raise PlatformError("%s failed: %s (errno %d)" % (what, ERRNO_NAMES.get(e, "?"), e))


# ---------------------------------------------------------------- files, mounts

def mount(source, target, fstype, flags=0, data=""):
    if libc.f("i", "mount", "sssLs")(source, target, fstype, flags, data) != 0:
        _fail("mount %s on %s (%s)" % (source, target, fstype))


def mount_kernel_filesystems():
    """devtmpfs on /dev (real device numbers), proc (the cmdline), sysfs (rng)."""
    mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)


def rng_current():
    """The kernel's hardware RNG source (e.g. 'virtio_rng.0'), or '' if unknown."""
    try:
        return read_text("/sys/class/misc/hw_random/rng_current").strip()
    except OSError:
        return ""


def sync():
    libc.f("v", "sync", "")()


def fsync(fd):
    if libc.f("i", "fsync", "i")(fd) != 0:
        _fail("fsync")


def read_text(path):
    with open(path) as f:
        return f.read()


def cmdline():
    """The kernel command line, verbatim (the app's arguments are read from it)."""
    return read_text("/proc/cmdline").strip()


def meminfo_kib(key="MemTotal"):
    try:
        for line in read_text("/proc/meminfo").split("\n"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# ---------------------------------------------------------------- power

def reboot(cmd=RB_AUTOBOOT):
    """Ends the VM. With QEMU -no-reboot, RB_AUTOBOOT makes QEMU exit 0."""
    libc.f("i", "reboot", "i")(cmd)
    _fail("reboot")


def debug_exit(code):
    """Make QEMU exit non-zero via isa-debug-exit: exit status (code << 1) | 1.

    Returns False when there is no such device (other VMMs): the caller then
    falls back to reboot, and the console line is the only failure signal.
    """
    try:
        fd = libc.f("i", "open", "si")("/dev/port", O_WRONLY | O_CLOEXEC)
        if fd < 0:
            return False
        libc.f("l", "lseek", "ili")(fd, DEBUG_EXIT_PORT, 0)
        libc.f("l", "write", "ipl")(fd, bytes([code & 0xFF]), 1)
        libc.f("i", "close", "i")(fd)
    except Exception:
        return False
    return False  # still running: no debug-exit device here


# ---------------------------------------------------------------- network

def _ifreq(name, payload=b""):
    b = bytearray(40)
    n = name.encode()
    b[0:len(n)] = n
    b[16:16 + len(payload)] = payload
    return b


def _sockaddr_in(ip4):
    b = bytearray(16)
    b[0:2] = AF_INET.to_bytes(2, "little")
    b[4:8] = bytes(ip4)
    return b


def _ioctl(fd, req, buf, what):
    if libc.f("i", "ioctl", "iLp")(fd, req, buf) != 0:
        _fail(what)


def _socket(family):
    fd = libc.f("i", "socket", "iii")(family, SOCK_DGRAM, 0)
    if fd < 0:
        _fail("socket(%d)" % family)
    return fd


def _close(fd):
    libc.f("i", "close", "i")(fd)


def link_up(fd, ifname):
    req = _ifreq(ifname)
    _ioctl(fd, SIOCGIFFLAGS, req, "SIOCGIFFLAGS %s" % ifname)
    flags = int.from_bytes(req[16:18], "little") | IFF_UP | IFF_RUNNING
    req[16:18] = flags.to_bytes(2, "little")
    _ioctl(fd, SIOCSIFFLAGS, req, "bring %s up" % ifname)


def configure_ipv4(ifname, addr, prefix, gateway=None):
    """addr/gateway: 4-byte sequences; prefix: 0..32. Also brings lo up."""
    fd = _socket(AF_INET)
    try:
        try:
            link_up(fd, "lo")
        except PlatformError:
            pass
        _ioctl(fd, SIOCSIFADDR, _ifreq(ifname, _sockaddr_in(addr)),
               "set IPv4 address on %s" % ifname)
        mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF if prefix else 0
        _ioctl(fd, SIOCSIFNETMASK, _ifreq(ifname, _sockaddr_in(mask.to_bytes(4, "big"))),
               "set IPv4 netmask on %s" % ifname)
        link_up(fd, ifname)
        if gateway is not None:
            rt = bytearray(120)
            rt[8:24] = _sockaddr_in(b"\0\0\0\0")     # rt_dst
            rt[24:40] = _sockaddr_in(gateway)        # rt_gateway
            rt[40:56] = _sockaddr_in(b"\0\0\0\0")    # rt_genmask
            rt[56:58] = (RTF_UP | RTF_GATEWAY).to_bytes(2, "little")
            _ioctl(fd, SIOCADDRT, rt, "add default route")
    finally:
        _close(fd)


def ifindex(ifname):
    fd = _socket(AF_INET)
    try:
        req = _ifreq(ifname)
        _ioctl(fd, SIOCGIFINDEX, req, "SIOCGIFINDEX %s" % ifname)
        return int.from_bytes(req[16:20], "little")
    finally:
        _close(fd)


def configure_ipv6(ifname, addr16, prefix):
    """Static IPv6 address (in6_ifreq); the kernel adds the on-link route."""
    idx = ifindex(ifname)
    fd = _socket(AF_INET6)
    try:
        req = bytearray(24)
        req[0:16] = bytes(addr16)
        req[16:20] = prefix.to_bytes(4, "little")
        req[20:24] = idx.to_bytes(4, "little")
        _ioctl(fd, SIOCSIFADDR, req, "set IPv6 address on %s" % ifname)
    finally:
        _close(fd)


def interfaces():
    """Network interface names from /proc/net/dev (e.g. ['eth0', 'lo'])."""
    out = []
    try:
        for line in read_text("/proc/net/dev").split("\n")[2:]:
            if ":" in line:
                out.append(line.split(":", 1)[0].strip())
    except OSError:
        pass
    return sorted(out)


# ---------------------------------------------------------------- block device

class BlockDevice:
    """A raw block device (e.g. /dev/vda) for vfs.VfsFat: 512-byte blocks.

    Writes go to the kernel's page cache; ioctl(3) (sync, which FatFs issues
    on f_sync/close/umount) fsyncs the device so they reach the disk.
    """
    BLOCK = 512

    def __init__(self, path):
        self.path = path
        try:
            self.f = open(path, "r+b")
        except OSError as e:
            raise PlatformError("cannot open %s: %s; is a virtio disk attached "
                                "(QEMU: -device virtio-blk-device,drive=...)?" % (path, e))
        self.size = self.f.seek(0, 2)
        if self.size < 64 * 1024:
            raise PlatformError("%s is %d bytes: too small for a FAT store" % (path, self.size))
        self.blocks = self.size // self.BLOCK

    def readblocks(self, n, buf, off=0):
        self.f.seek(n * self.BLOCK + off)
        got = self.f.readinto(buf)
        if got != len(buf):
            raise OSError(5)

    def writeblocks(self, n, buf, off=None):
        if off is None:
            off = 0
        self.f.seek(n * self.BLOCK + off)
        if self.f.write(buf) != len(buf):
            raise OSError(5)

    def ioctl(self, op, arg):
        if op == 4:   # block count
            return self.blocks
        if op == 5:   # block size
            return self.BLOCK
        if op == 3:   # sync
            self.sync()
            return 0
        if op in (1, 2):  # init, deinit
            if op == 2:
                self.sync()
            return 0
        return None

    def sync(self):
        self.f.flush()
        fsync(self.f.fileno())

    def close(self):
        try:
            self.sync()
        finally:
            self.f.close()


def mount_fat(dev_path, mount_point):
    """Mount the FAT store on the raw device; returns (vfs object, BlockDevice)."""
    import vfs
    bd = BlockDevice(dev_path)
    try:
        fs = vfs.VfsFat(bd)
        vfs.mount(fs, mount_point)
    except OSError as e:
        raise PlatformError("%s holds no FAT file system the guest can mount (%s); make "
                            "the disk with `ptt-tool create`" % (dev_path, e))
    return fs, bd


def umount(mount_point, bd=None):
    import vfs
    vfs.umount(mount_point)
    if bd is not None:
        bd.close()
    sync()


def getrandom(n):
    return os.urandom(n)


def unpack_ipv4(b):
    return "%d.%d.%d.%d" % struct.unpack("BBBB", bytes(b))


# ---------------------------------------------------------------- heap

def _cstr_array(strings, keep):
    """A NULL-terminated char*[] for ffi; `keep` holds the buffers alive."""
    arr = bytearray(8 * (len(strings) + 1))
    for i, s in enumerate(strings):
        b = bytearray(s.encode() + b"\0")
        keep.append(b)
        arr[8 * i:8 * i + 8] = uctypes.addressof(b).to_bytes(8, "little")
    keep.append(arr)
    return arr


def heap_bytes():
    import gc
    return gc.mem_free() + gc.mem_alloc()


def choose_heap(free_kib):
    """MicroPython heap for a guest with `free_kib` of free RAM at start: all of
    it but 4 MiB (TLS buffers, sockets, the disk's page cache), between 2 MiB
    and 64 MiB. The heap is mmap'd and touched lazily, but once the app fills
    it the memory must really be there (no swap)."""
    want = (free_kib - 4096) * 1024
    if want < 2 << 20:
        want = 2 << 20
    if want > 64 << 20:
        want = 64 << 20
    return want & ~0xFFFF


HEAP_MARK = "--ptt-heap-set"


def mem_kib():
    """(total, free) RAM in KiB from sysinfo(2): works before /proc is mounted."""
    buf = bytearray(128)
    if libc.f("i", "sysinfo", "p")(buf) != 0:
        return (0, 0)
    total = int.from_bytes(buf[32:40], "little")
    free = int.from_bytes(buf[40:48], "little")
    unit = int.from_bytes(buf[104:108], "little") or 1
    return (total * unit // 1024, free * unit // 1024)


def reexec_with_heap(script, want):
    """execv /bin/micropython -X heapsize=N script (stays PID 1). Returns only on failure.

    The unix port sets its heap only on its command line, and the kernel's
    command line cannot give init a '-X heapsize=N' (a word with '=' becomes
    an environment variable), so /init starts with the default 2 MiB heap and
    replaces itself once with the heap sized to the guest's memory.
    """
    keep = []
    argv = _cstr_array(["/bin/micropython", "-X", "heapsize=%d" % want, script, HEAP_MARK],
                       keep)
    libc.f("i", "execv", "sp")("/bin/micropython", argv)
    return libc.errno()


# ---------------------------------------------------------------- kernel modules

MODULES_DIR = "/lib/modules/ptt"


def load_modules(directory=MODULES_DIR):
    """Load the .ko files listed in `directory`/order (stock kernels only).

    Our kernel has everything built in and no such folder; Debian's stock
    kernel (bench/boot.py) needs its virtio modules loaded by PID 1.
    Returns the module names loaded; raises PlatformError on a failure.
    """
    try:
        names = [n.strip() for n in read_text(directory + "/order").split("\n") if n.strip()]
    except OSError:
        return []
    init_module = libc.f("l", "syscall", "lpLs")
    loaded = []
    for n in names:
        with open(directory + "/" + n, "rb") as f:
            data = f.read()
        # SYS_init_module is 175 on x86-64; glibc has no wrapper for it
        if init_module(175, data, len(data), "") != 0:
            e = libc.errno()
            if e != 17:  # EEXIST: built in or already there
                raise PlatformError("init_module %s failed: %s (errno %d)"
                                    % (n, ERRNO_NAMES.get(e, "?"), e))
        loaded.append(n)
        data = None
    return loaded
