#!/usr/bin/env python3
"""Boot benchmark: the ptt kernel vs Debian's stock kernel, same initramfs, one run.

    .venv/bin/python bench/boot.py [--image images/out/kvm-lists] [--runs 5] [--quick]

For each kernel it prints boot-to-banner (spawn of QEMU until the host reads
"220" on the forwarded port; median of --runs), image size (kernel + initramfs) and the smallest guest memory
that boots and serves. Then the ratios ours/stock.

The stock kernel is Debian bookworm's linux-image-amd64 (today
linux-image-6.1.0-*-amd64), fetched with `apt-get download` into
$PTT_CACHE/stock and extracted with dpkg-deb -x; its vmlinux is unpacked
from vmlinuz so QEMU can boot it through PVH like ours. Its virtio modules
are appended to the same initramfs as a second cpio; PID 1 loads them with
init_module (ptt.platform.linux.load_modules). Debian's kernel has no
VIRTIO_MMIO_CMDLINE_DEVICES, so it runs on microvm with ACPI, plus
tsc_early_khz under TCG (it hangs calibrating otherwise).
"""
import argparse
import lzma
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(REPO, "tools"), os.path.join(REPO, "app")]

from ptt_tool import image, run  # noqa: E402

STOCK_MODULES = ["virtio_ring", "virtio", "virtio_pci_legacy_dev", "virtio_pci_modern_dev",
                 "virtio_pci", "virtio_mmio", "failover", "net_failover", "virtio_net",
                 "virtio_blk", "virtio-rng"]
WORDS = ["--ipv4=10.0.2.15/24", "--ipv4-gateway=10.0.2.2", "--domain=lists.example.org"]


def cache():
    return os.environ.get("PTT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ptt")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- stock kernel

def stock_kernel():
    """(vmlinux path, modules cpio.gz path, package version)."""
    base = os.path.join(cache(), "stock")
    os.makedirs(base, exist_ok=True)
    dep = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], stdout=subprocess.PIPE,
                         text=True).stdout
    pkg = [l.split(":", 1)[1].strip() for l in dep.splitlines()
           if l.strip().startswith("Depends:") and "linux-image-" in l][0]
    root = os.path.join(base, pkg)
    if not os.path.exists(os.path.join(root, ".done")):
        log("downloading %s with apt-get download into %s" % (pkg, base))
        for f in os.listdir(base):
            if f.startswith(pkg + "_") and f.endswith(".deb"):
                os.remove(os.path.join(base, f))
        subprocess.run(["apt-get", "download", "-q", pkg], cwd=base, check=True)
        deb = [f for f in os.listdir(base) if f.startswith(pkg + "_") and f.endswith(".deb")][0]
        subprocess.run(["dpkg-deb", "-x", os.path.join(base, deb), root], check=True)
        open(os.path.join(root, ".done"), "w").close()
    boot = os.path.join(root, "boot")
    vmlinuz = [f for f in os.listdir(boot) if f.startswith("vmlinuz-")][0]
    kver = vmlinuz[len("vmlinuz-"):]
    vmlinux = os.path.join(base, "vmlinux-" + kver)
    if not os.path.exists(vmlinux):
        with open(os.path.join(boot, vmlinuz), "rb") as f:
            z = f.read()
        data = None
        at = z.find(b"\xfd7zXZ\x00")
        while at >= 0 and data is None:
            try:
                data = lzma.LZMADecompressor().decompress(z[at:])
                if not data.startswith(b"\x7fELF"):
                    data = None
            except lzma.LZMAError:
                data = None
            at = z.find(b"\xfd7zXZ\x00", at + 1)
        if data is None:
            raise SystemExit("bench: cannot find the XZ-compressed vmlinux in %s" % vmlinuz)
        with open(vmlinux, "wb") as f:
            f.write(data)
    mods = os.path.join(base, "modules-" + kver + ".cpio.gz")
    if not os.path.exists(mods):
        kdir = os.path.join(root, "lib", "modules", kver, "kernel")
        found = {}
        for d, _, files in os.walk(kdir):
            for fn in files:
                for ext in (".ko", ".ko.xz"):
                    if fn.endswith(ext):
                        found[fn[:-len(ext)]] = os.path.join(d, fn)
        c = image.Cpio()
        order = []
        for m in STOCK_MODULES:
            if m not in found:
                raise SystemExit("bench: %s has no module %s" % (pkg, m))
            with open(found[m], "rb") as f:
                data = f.read()
            if found[m].endswith(".xz"):
                data = lzma.decompress(data)
            c.add_file("lib/modules/ptt/%s.ko" % m, data)
            order.append(m + ".ko")
        c.add_file("lib/modules/ptt/order", ("\n".join(order) + "\n").encode())
        with open(mods, "wb") as f:
            f.write(image.gzip_bytes(c.to_bytes()))
    return vmlinux, mods, os.path.join(boot, vmlinuz), pkg + " " + kver


# ---------------------------------------------------------------- one boot

def read_banner(port, deadline, vm=None):
    """Connect until the guest's 220 arrives (slirp accepts before the guest listens)."""
    while time.monotonic() < deadline:
        if vm is not None and vm.proc.poll() is not None:
            return None  # QEMU is gone (out of memory, panic): no point waiting
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        except OSError:
            time.sleep(0.01)
            continue
        try:
            s.settimeout(0.3)
            b = s.recv(64)
            if b.startswith(b"220"):
                return time.monotonic()
        except OSError:
            pass
        finally:
            s.close()
        time.sleep(0.01)
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def boot_once(kind, img, disk, memory, accel, timeout):
    """(banner seconds or None, console text)."""
    port = free_port()
    if kind == "ours":
        cmd = run.qemu_command(img["dir"], disk, port, memory, accel, WORDS)
    else:
        extra = "tsc_early_khz=2600000" if accel == "tcg" else ""
        cmd = run.qemu_command(img["dir"], disk, port, memory, accel, WORDS, extra,
                               kernel=img["vmlinux"], initrd=img["initrd"], machine="microvm")
    vm = run.VM(cmd)
    t0 = time.monotonic()
    vm.start()
    try:
        got = read_banner(port, t0 + timeout, vm)
        if got is not None:
            vm.send("shutdown")
            try:
                vm.wait(timeout)
            except run.RunError:
                pass
        return (got - t0) if got else None, vm.console
    finally:
        vm.kill()


def stats(kind, img, disk, runs, accel, memory, timeout):
    times = []
    for i in range(runs):
        t, console = boot_once(kind, img, disk, memory, accel, timeout)
        if t is None:
            log("%s: run %d did not serve within %d s; console tail:\n%s"
                % (kind, i + 1, timeout, console[-1500:]))
        else:
            times.append(t)
    return statistics.median(times) if times else None, times


def smallest_memory(kind, img, disk, accel, sizes, timeout):
    best = None
    for mib in sizes:
        t, _ = boot_once(kind, img, disk, "%dM" % mib, accel, timeout)
        log("%s: %d MiB %s" % (kind, mib, "serves" if t else "fails"))
        if t is None:
            break
        best = mib
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", default=os.path.join(REPO, "images", "out", "kvm-lists"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto")
    ap.add_argument("--quick", action="store_true", help="skip the memory search")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.image, "manifest.json")):
        log("building the image into %s" % args.image)
        image.build_image("kvm", "lists", args.image)
    ours = {"dir": args.image, "vmlinux": os.path.join(args.image, "vmlinux"),
            "initrd": os.path.join(args.image, "initramfs.cpio.gz")}
    vmlinux, mods, vmlinuz, stock_name = stock_kernel()
    tmp = tempfile.mkdtemp(prefix="ptt-bench-")
    stock_initrd = os.path.join(tmp, "stock-initramfs.cpio.gz")
    with open(stock_initrd, "wb") as f:
        for p in (ours["initrd"], mods):
            with open(p, "rb") as g:
                f.write(g.read())
    stock = {"dir": args.image, "vmlinux": vmlinux, "initrd": stock_initrd}
    accel, how = run.choose_accel(args.accel, ours["vmlinux"])
    log("accelerator: " + how)
    timeout = 20 if accel == "kvm" else 60
    disk = os.path.join(tmp, "lipap.img")
    from ptt_tool import cli
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        cli.main(["create", disk, "--size", "64M", "--domain", "lists.example.org"])
        for n in ("alpha", "beta"):
            cli.main(["add", disk, n, "-m", "mod@example.com"])

    log("ours: %d boots" % args.runs)
    o_med, o_all = stats("ours", ours, disk, args.runs, accel, "32M", timeout)
    log("stock: %d boots" % args.runs)
    s_med, s_all = stats("stock", stock, disk, args.runs, accel, "128M", timeout)
    sz = lambda *ps: sum(os.path.getsize(p) for p in ps)  # noqa: E731
    o_size = sz(os.path.join(args.image, "bzImage"), ours["initrd"])
    o_size_vmlinux = sz(ours["vmlinux"], ours["initrd"])
    s_size = sz(vmlinuz, stock_initrd)
    if not args.quick:
        o_mem = smallest_memory("ours", ours, disk, accel, [32, 28, 26, 24, 22, 20, 18, 16],
                                timeout)
        s_mem = smallest_memory("stock", stock, disk, accel, [128, 112, 96, 88, 80, 72, 64],
                                timeout)
    else:
        o_mem = s_mem = None

    def f(x, unit="s", nd=3):
        return "-" if x is None else ("%.*f %s" % (nd, x, unit))

    print()
    print("accelerator: %s" % how)
    print("stock kernel: %s" % stock_name)
    print("%-34s %16s %16s %8s" % ("", "ptt kernel", "Debian stock", "ratio"))
    ratio = (o_med / s_med) if (o_med and s_med) else None
    print("%-34s %16s %16s %8s" % ("boot to banner (median of %d)" % args.runs, f(o_med),
                                  f(s_med), f(ratio, "", 2)))
    print("%-34s %16s %16s" % ("  all runs", " ".join("%.2f" % t for t in o_all),
                               " ".join("%.2f" % t for t in s_all)))
    print("%-34s %16s %16s %8s" % ("bzImage/vmlinuz + initramfs", "%d B" % o_size,
                                  "%d B" % s_size, "%.2f" % (o_size / s_size)))
    print("%-34s %16s" % ("vmlinux (PVH) + initramfs", "%d B" % o_size_vmlinux))
    print("%-34s %16s %16s %8s" % ("smallest memory that serves",
                                  "-" if o_mem is None else "%d MiB" % o_mem,
                                  "-" if s_mem is None else "%d MiB" % s_mem,
                                  "%.2f" % (o_mem / s_mem) if (o_mem and s_mem) else "-"))
    print("targets: banner ratio <= 0.25, bzImage+initramfs <= 3 MB (3000000 B), serves in "
          "24 MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
