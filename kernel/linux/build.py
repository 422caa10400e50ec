#!/usr/bin/env python3
"""Build the ptt kernel from Debian's linux-source-6.1, cached outside the repo.

    python3 kernel/linux/build.py [--print-dir] [--jobs N] [--force]

Steps: unpack /usr/src/linux-source-6.1.tar.xz once into $PTT_CACHE
(default ~/.cache/ptt), `make ARCH=x86_64 tinyconfig` in a build folder,
merge kernel/linux/ptt.config over it, `olddefconfig`, check that every
option of the fragment made it into .config, build vmlinux (PVH, booted
directly by QEMU) and bzImage (for VMMs that want one).

The result folder is keyed by a hash of the source package version, the
fragment and this script; a second run with the same inputs reuses it and
prints the same folder. The folder holds vmlinux (stripped), bzImage,
config, and build.json (versions, sizes, build time).
"""
import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FRAGMENT = os.path.join(HERE, "ptt.config")
PATCHES = os.path.join(HERE, "patches")
SOURCE_PKG = "linux-source-6.1"
SOURCE_TAR = "/usr/src/linux-source-6.1.tar.xz"


class BuildError(Exception):
    pass


def log(msg):
    print("kernel: " + msg, file=sys.stderr, flush=True)


def cache_root():
    return os.environ.get("PTT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ptt")


def source_version():
    """Debian version of linux-source-6.1, e.g. 6.1.192-2."""
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", SOURCE_PKG],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    if not out:
        raise BuildError(f"{SOURCE_PKG} is not installed: run `make host-deps` "
                         f"(tools/install-deps.sh) to install it")
    if not os.path.exists(SOURCE_TAR):
        raise BuildError(f"{SOURCE_TAR} is missing although {SOURCE_PKG} {out} is installed; "
                         f"reinstall it: apt-get install --reinstall {SOURCE_PKG}")
    return out


def parse_fragment(path):
    """[(symbol, value)] from a Kconfig fragment; value 'n' for disabled."""
    want = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or (line.startswith("#") and "is not set" not in line):
                continue
            if line.startswith("# CONFIG_") and line.endswith(" is not set"):
                want.append((line[2:-len(" is not set")], "n"))
                continue
            if not line.startswith("CONFIG_") or "=" not in line:
                raise BuildError(f"{path}:{n}: expected CONFIG_X=value, got {line!r}")
            sym, val = line.split("=", 1)
            want.append((sym, val))
    return want


def read_config(path):
    have = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("# CONFIG_") and line.endswith(" is not set"):
                have[line[2:-len(" is not set")]] = "n"
            elif line.startswith("CONFIG_") and "=" in line:
                sym, val = line.split("=", 1)
                have[sym] = val
    return have


def check_config(want, config_path):
    """Every requested option must be in the final .config; returns the misses."""
    have = read_config(config_path)
    missing = []
    for sym, val in want:
        got = have.get(sym, "n")
        if val == "n":
            ok = got == "n"
        elif val.startswith("0x") and got.startswith("0x"):
            ok = int(val, 16) == int(got, 16)
        else:
            ok = got.strip('"') == val.strip('"')
        if not ok:
            missing.append(f"{sym}: wanted {val}, got {got}")
    return missing


def patch_files():
    if not os.path.isdir(PATCHES):
        return []
    return sorted(os.path.join(PATCHES, f) for f in os.listdir(PATCHES) if f.endswith(".patch"))


def patches_key():
    h = hashlib.sha256()
    for p in patch_files():
        with open(p, "rb") as f:
            h.update(os.path.basename(p).encode() + b"\0" + f.read())
    return h.hexdigest()[:12]


def build_key(version):
    h = hashlib.sha256()
    h.update(f"{SOURCE_PKG}={version}\n".encode())
    for p in [FRAGMENT, os.path.abspath(__file__)] + patch_files():
        with open(p, "rb") as f:
            h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()[:16]


def run(cmd, cwd, logf):
    logf.write(f"$ {' '.join(cmd)}\n")
    logf.flush()
    r = subprocess.run(cmd, cwd=cwd, stdout=logf, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise BuildError(f"`{' '.join(cmd)}` failed with exit {r.returncode}; "
                         f"see the log {logf.name}")


def unpack_source(root, version):
    """The source tree with patches/*.patch applied, unpacked once per version+patches."""
    src = os.path.join(root, "kernel", "src", f"{SOURCE_PKG}_{version}_p{patches_key()}")
    tree = os.path.join(src, SOURCE_PKG)
    if os.path.exists(os.path.join(src, ".unpacked")):
        return tree
    log(f"unpacking {SOURCE_TAR} ({SOURCE_PKG} {version}) into {src}")
    tmp = src + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    subprocess.run(["tar", "-xJf", SOURCE_TAR, "-C", tmp], check=True)
    for p in patch_files():
        log(f"applying {os.path.relpath(p, HERE)}")
        with open(p, "rb") as f:
            r = subprocess.run(["patch", "-p1", "--forward", "--batch"], stdin=f,
                               cwd=os.path.join(tmp, SOURCE_PKG), capture_output=True, text=True)
        if r.returncode != 0:
            raise BuildError(f"{p} does not apply to {SOURCE_PKG} {version}:\n{r.stdout}{r.stderr}")
    shutil.rmtree(src, ignore_errors=True)
    os.rename(tmp, src)
    open(os.path.join(src, ".unpacked"), "w").close()
    return tree


def build(jobs=2, force=False):
    version = source_version()
    root = cache_root()
    key = build_key(version)
    out = os.path.join(root, "kernel", f"ptt-{version}-{key}")
    if not force and os.path.exists(os.path.join(out, "build.json")):
        log(f"reusing cached kernel {out}")
        return out
    os.makedirs(os.path.join(root, "kernel"), exist_ok=True)
    with open(os.path.join(root, "kernel", ".lock"), "w") as lockf:
        try:
            fcntl.flock(lockf, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log("another build of the kernel is running in this cache; waiting for it")
            fcntl.flock(lockf, fcntl.LOCK_EX)
        if not force and os.path.exists(os.path.join(out, "build.json")):
            log(f"reusing cached kernel {out}")
            return out
        return _build_locked(version, root, key, out, jobs)


def _build_locked(version, root, key, out, jobs):
    tree = unpack_source(root, version)
    bld = out + ".build"
    shutil.rmtree(bld, ignore_errors=True)
    os.makedirs(bld)
    logpath = os.path.join(bld, "build.log")
    want = parse_fragment(FRAGMENT)
    t0 = time.time()
    mk = ["make", f"O={bld}", "ARCH=x86_64"]
    with open(logpath, "w") as logf:
        log(f"configuring in {bld} (tinyconfig + {os.path.relpath(FRAGMENT)})")
        run(mk + ["tinyconfig"], tree, logf)
        run(["scripts/kconfig/merge_config.sh", "-m", "-O", bld,
             os.path.join(bld, ".config"), FRAGMENT], tree, logf)
        run(mk + ["olddefconfig"], tree, logf)
        missing = check_config(want, os.path.join(bld, ".config"))
        if missing:
            raise BuildError("these options of kernel/linux/ptt.config did not make it into "
                             ".config (a dependency is missing; add it to the fragment):\n  "
                             + "\n  ".join(missing))
        log(f"building vmlinux and bzImage with -j{jobs} (about 3-4 minutes on 2 cores); "
            f"log: {logpath}")
        run(mk + [f"-j{jobs}", "vmlinux", "bzImage"], tree, logf)
    secs = round(time.time() - t0, 1)
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    subprocess.run(["strip", "-o", os.path.join(tmp, "vmlinux"), os.path.join(bld, "vmlinux")],
                   check=True)
    shutil.copy(os.path.join(bld, "arch", "x86", "boot", "bzImage"), os.path.join(tmp, "bzImage"))
    shutil.copy(os.path.join(bld, ".config"), os.path.join(tmp, "config"))
    shutil.copy(FRAGMENT, os.path.join(tmp, "ptt.config"))
    kver = open(os.path.join(bld, "include", "config", "kernel.release")).read().strip()
    info = {
        "source_package": SOURCE_PKG,
        "source_version": version,
        "kernel_release": kver,
        "key": key,
        "build_seconds": secs,
        "jobs": jobs,
        "files": {n: os.path.getsize(os.path.join(tmp, n)) for n in ("vmlinux", "bzImage")},
    }
    with open(os.path.join(tmp, "build.json"), "w") as f:
        json.dump(info, f, indent=1, sort_keys=True)
        f.write("\n")
    shutil.rmtree(out, ignore_errors=True)
    os.rename(tmp, out)
    shutil.rmtree(bld, ignore_errors=True)
    log(f"built {kver} in {secs} s: vmlinux {info['files']['vmlinux']} B, "
        f"bzImage {info['files']['bzImage']} B -> {out}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build (or reuse) the ptt kernel.")
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--force", action="store_true", help="rebuild even if cached")
    ap.add_argument("--print-dir", action="store_true",
                    help="print only the result folder on stdout")
    args = ap.parse_args(argv)
    try:
        out = build(args.jobs, args.force)
    except BuildError as e:
        print(f"kernel: error: {e}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
