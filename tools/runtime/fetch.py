#!/usr/bin/env python3
"""Fetch the MicroPython runtime (Debian trixie's build) into the ptt cache.

    python3 tools/runtime/fetch.py               fetch if needed, print the root
    python3 tools/runtime/fetch.py --print-root  print the root; exit 2 if not fetched
    python3 tools/runtime/fetch.py --relock      pin the mirror's current versions

The packages, their versions and the SHA256 of each .deb are pinned in
tools/runtime/packages.lock. Downloads go through apt's own client with a
private configuration under $PTT_CACHE/apt (default ~/.cache/ptt/apt): its own
sources file (trixie main on deb.debian.org), lists, state, cache and keyring.
APT_CONFIG points at a private apt.conf that also moves Dir::Etc::Parts, so
the host's apt.conf.d (hooks such as APT::Update::Post-Invoke), sources,
preferences, trusted keys and dpkg status are neither read nor changed.

Trust: apt checks the trixie InRelease signature against the keyring from the
trixie debian-archive-keyring package. That package is the one thing fetched
without apt (it is the trust anchor apt needs first): it comes straight from
the mirror's pool and is accepted only if its SHA256 equals the lock file's.
apt then checks each .deb against the signed Packages index, and this script
checks each .deb against the lock file again.

The .debs are unpacked with dpkg-deb -x into
$PTT_CACHE/runtime/<first 12 hex digits of sha256(packages.lock)>/root.
Once that root exists, a run does no network access and only prints the path.
Progress goes to stderr; stdout carries only the root path.
"""
import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
LOCK_FILE = os.path.join(HERE, "packages.lock")
MIRROR = os.environ.get("PTT_DEBIAN_MIRROR", "http://deb.debian.org/debian").rstrip("/")
SUITE = "trixie"
ARCH = "amd64"
KEYRING_PACKAGE = "debian-archive-keyring"
KEYRING_FILE = "usr/share/keyrings/debian-archive-keyring.pgp"
# What `--relock` pins when the lock file does not exist yet.
DEFAULT_PACKAGES = [
    KEYRING_PACKAGE,
    "micropython",
    "libc6",
    "libffi8",
    "libmbedcrypto16",
    "libmbedtls21",
    "libmbedx509-7",
]
LOADER = "usr/lib64/ld-linux-x86-64.so.2"
LIBDIR = "usr/lib/x86_64-linux-gnu"
BINARY = "usr/bin/micropython"

EXIT_NOT_FETCHED = 2


class FetchError(Exception):
    pass


def log(msg):
    print("fetch: " + msg, file=sys.stderr, flush=True)


def cache_dir():
    return os.environ.get("PTT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ptt")


# ---------------------------------------------------------------- lock file

class Pin:
    def __init__(self, name, version, sha256, filename):
        self.name = name
        self.version = version
        self.sha256 = sha256
        self.filename = filename

    def line(self):
        return "%s %s %s %s" % (self.name, self.version, self.sha256, self.filename)


def read_lock(path=LOCK_FILE):
    pins = []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 4:
                raise FetchError("%s:%d: expected 'name version sha256 filename', got %r"
                                 % (path, n, raw.rstrip("\n")))
            name, version, sha, filename = parts
            if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
                raise FetchError("%s:%d: %r is not a lowercase SHA256 hex digest" % (path, n, sha))
            if os.path.basename(filename) != filename or not filename.endswith(".deb"):
                raise FetchError("%s:%d: filename must be a plain .deb name, got %r"
                                 % (path, n, filename))
            pins.append(Pin(name, version, sha, filename))
    names = [p.name for p in pins]
    if KEYRING_PACKAGE not in names:
        raise FetchError("%s pins no %s; it is the keyring apt verifies trixie with"
                         % (path, KEYRING_PACKAGE))
    if "micropython" not in names:
        raise FetchError("%s pins no micropython package" % path)
    return pins


def lock_key(path=LOCK_FILE):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:12]


def runtime_root(path=LOCK_FILE):
    return os.path.join(cache_dir(), "runtime", lock_key(path), "root")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pool_filename(filename):
    # apt-get download keeps an epoch as "1%3a"; pool file names drop it.
    name, rest = filename.split("_", 1)
    if "%3a" in rest.split("_", 1)[0]:
        rest = rest.split("%3a", 1)[1]
    return name + "_" + rest


def pool_path(source, filename):
    prefix = source[:4] if source.startswith("lib") else source[0]
    return "pool/main/%s/%s/%s" % (prefix, source, filename)


# ---------------------------------------------------------------- private apt

class PrivateApt:
    """apt-get/apt-cache with every path under `base` (nothing of the host's apt)."""

    def __init__(self, base, keyring):
        self.base = base
        self.keyring = keyring
        self.conf = os.path.join(base, "apt.conf")

    def setup(self):
        b = self.base
        for d in ("etc/apt.conf.d", "etc/sources.list.d", "etc/preferences.d",
                  "etc/trusted.gpg.d", "etc/auth.conf.d", "lists/partial",
                  "cache/archives/partial", "state", "log", "debs"):
            os.makedirs(os.path.join(b, d), exist_ok=True)
        status = os.path.join(b, "state", "status")
        if not os.path.exists(status):
            open(status, "w").close()
        sources = (
            "Types: deb\n"
            "URIs: %s\n"
            "Suites: %s\n"
            "Components: main\n"
            "Architectures: %s\n"
            "Signed-By: %s\n" % (MIRROR, SUITE, ARCH, self.keyring))
        _write_if_changed(os.path.join(b, "etc", "sources.list.d", "trixie.sources"), sources)
        conf = [
            # APT_CONFIG is read before Dir::Etc::Parts and Dir::Etc::Main, so
            # these two keep the host's apt.conf and apt.conf.d out entirely.
            ("Dir::Etc", "etc"),
            ("Dir::Etc::Main", "etc/apt.conf"),
            ("Dir::Etc::Parts", "etc/apt.conf.d"),
            ("Dir::Etc::SourceList", "etc/sources.list"),
            ("Dir::Etc::SourceParts", "etc/sources.list.d"),
            ("Dir::Etc::Preferences", "etc/preferences"),
            ("Dir::Etc::PreferencesParts", "etc/preferences.d"),
            ("Dir::Etc::Trusted", "etc/trusted.gpg"),
            ("Dir::Etc::TrustedParts", "etc/trusted.gpg.d"),
            ("Dir::Etc::netrc", "etc/auth.conf"),
            ("Dir::Etc::netrcparts", "etc/auth.conf.d"),
            ("Dir::State", "state"),
            ("Dir::State::Lists", "lists"),
            ("Dir::State::status", "state/status"),
            ("Dir::Cache", "cache"),
            ("Dir::Log", "log"),
        ]
        text = "// Written by tools/runtime/fetch.py: a private apt for Debian %s.\n" % SUITE
        for key, rel in conf:
            text += '%s "%s";\n' % (key, os.path.join(b, rel))
        text += 'APT::Architecture "%s";\n' % ARCH
        text += 'APT::Architectures { "%s"; };\n' % ARCH
        text += 'Acquire::Languages "none";\n'
        # No binary caches on disk (they are 43 MB each); apt rebuilds them in
        # memory, which only costs time on the rare runs that need apt.
        text += 'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n'
        text += 'Acquire::GzipIndexes "true";\n'
        text += 'Acquire::Retries "3";\n'
        _write_if_changed(self.conf, text)

    def _env(self):
        env = dict(os.environ)
        env["APT_CONFIG"] = self.conf
        env["LC_ALL"] = "C"
        env["DEBIAN_FRONTEND"] = "noninteractive"
        return env

    def _sandbox_opts(self, writes_to, apt_prepares):
        # As root, apt downloads as the _apt user, and falls back to root with
        # a warning when _apt cannot reach the target folder (the cache
        # usually lives under /root, and apt-get download writes into a folder
        # of ours). In those cases choose root up front instead of warning.
        # What is downloaded is checked by signature and by the lock's hashes.
        if os.geteuid() != 0 or writes_to is None:
            return []
        if _others_can_enter(writes_to) and (apt_prepares or _owned_by_apt_user(writes_to)):
            return []
        return ["-o", "APT::Sandbox::User=root"]

    def run(self, args, capture=False, writes_to=None, apt_prepares=False, cwd=None):
        cmd = ([args[0], "-q"] + self._sandbox_opts(writes_to, apt_prepares)
               + list(args[1:]))
        try:
            p = subprocess.run(cmd, env=self._env(), cwd=cwd, text=True,
                               stdout=subprocess.PIPE if capture else sys.stderr,
                               stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise FetchError("%s not found; fetch.py needs Debian's apt (apt-get, apt-cache)"
                             % args[0])
        if p.returncode != 0:
            raise FetchError("%s failed (exit %d):\n%s" % (" ".join(args), p.returncode,
                                                            p.stderr.strip()))
        for line in p.stderr.splitlines():
            if line.strip():
                log(line)
        return p.stdout if capture else ""

    def update(self):
        log("apt-get update: %s %s main (private apt in %s)" % (MIRROR, SUITE, self.base))
        # apt makes lists/partial its _apt user's own before downloading.
        self.run(["apt-get", "update"], writes_to=os.path.join(self.base, "lists"),
                 apt_prepares=True)

    def versions(self, names):
        """{name: [versions the mirror has]} from apt-cache madison."""
        out = self.run(["apt-cache", "madison"] + list(names), capture=True)
        found = {}
        for line in out.splitlines():
            parts = [x.strip() for x in line.split("|")]
            if len(parts) >= 3 and "Packages" in parts[2]:
                found.setdefault(parts[0], []).append(parts[1])
        return found

    def candidate(self, name):
        """(version, filename) of the version apt would pick for `name`."""
        out = self.run(["apt-cache", "show", "--no-all-versions", name], capture=True)
        version = filename = None
        for line in out.splitlines():
            if line.startswith("Version: ") and version is None:
                version = line.split(None, 1)[1]
            elif line.startswith("Filename: ") and filename is None:
                filename = line.split(None, 1)[1]
        if not version:
            raise FetchError("%s is not in %s %s main" % (name, MIRROR, SUITE))
        return version, filename

    def download(self, specs, dest):
        log("apt-get download " + " ".join(specs))
        self.run(["apt-get", "download"] + list(specs), writes_to=dest, cwd=dest)


def _write_if_changed(path, text):
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def _others_can_enter(path):
    path = os.path.abspath(path)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return False
        except FileNotFoundError:
            pass
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def _owned_by_apt_user(path):
    try:
        import pwd
        return os.stat(path).st_uid == pwd.getpwnam("_apt").pw_uid
    except (KeyError, OSError):
        return False


# ---------------------------------------------------------------- keyring

def fetch_keyring(pin, apt_base):
    """Return the path of the trixie archive keyring, fetched from the pool by hash."""
    kdir = os.path.join(apt_base, "keyring", "%s-%s" % (pin.version, pin.sha256[:12]))
    keyring = os.path.join(kdir, KEYRING_FILE)
    if os.path.exists(keyring):
        return keyring
    os.makedirs(os.path.join(apt_base, "debs"), exist_ok=True)
    deb = os.path.join(apt_base, "debs", pin.filename)
    if not (os.path.exists(deb) and sha256_file(deb) == pin.sha256):
        url = "%s/%s" % (MIRROR, pool_path(pin.name, pool_filename(pin.filename)))
        log("downloading the trust anchor %s %s from %s" % (pin.name, pin.version, url))
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                data = r.read()
        except urllib.error.HTTPError as e:
            if e.code == 404:
                raise FetchError(
                    "%s %s is no longer on %s (%s gave 404). Pin a version the mirror "
                    "has: run `python3 tools/runtime/fetch.py --relock` and review the "
                    "lock file diff." % (pin.name, pin.version, MIRROR, url))
            raise FetchError("cannot download %s: HTTP %d %s" % (url, e.code, e.reason))
        except (urllib.error.URLError, OSError) as e:
            raise FetchError("cannot download %s: %s (is %s reachable?)" % (url, e, MIRROR))
        got = hashlib.sha256(data).hexdigest()
        if got != pin.sha256:
            raise FetchError(
                "refusing %s: its SHA256 is %s but %s pins %s for %s %s. The file "
                "on the mirror is not the one that was locked; do not use it."
                % (url, got, LOCK_FILE, pin.sha256, pin.name, pin.version))
        with open(deb + ".tmp", "wb") as f:
            f.write(data)
        os.replace(deb + ".tmp", deb)
    tmp = tempfile.mkdtemp(prefix="tmp.", dir=_mkdirs(os.path.join(apt_base, "keyring")))
    _dpkg_extract(deb, tmp)
    if not os.path.exists(os.path.join(tmp, KEYRING_FILE)):
        shutil.rmtree(tmp)
        raise FetchError("%s has no %s; the keyring package changed its layout"
                         % (pin.filename, KEYRING_FILE))
    shutil.rmtree(kdir, ignore_errors=True)
    os.replace(tmp, kdir)
    return keyring


def _mkdirs(path):
    os.makedirs(path, exist_ok=True)
    return path


def _dpkg_extract(deb, dest):
    p = subprocess.run(["dpkg-deb", "-x", deb, dest], stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise FetchError("dpkg-deb -x %s failed: %s" % (deb, p.stderr.strip()))


# ---------------------------------------------------------------- main steps

def ensure_debs(pins, apt):
    """Make sure every pinned .deb is in the private cache with its locked hash."""
    debs = os.path.join(apt.base, "debs")
    missing = []
    for pin in pins:
        path = os.path.join(debs, pin.filename)
        if os.path.exists(path) and sha256_file(path) == pin.sha256:
            continue
        if os.path.exists(path):
            os.remove(path)
        missing.append(pin)
    if not missing:
        return
    apt.update()
    have = apt.versions([p.name for p in missing])
    gone = [p for p in missing if p.version not in have.get(p.name, [])]
    if gone:
        lines = []
        for p in gone:
            now = ", ".join(have.get(p.name, [])) or "nothing"
            lines.append("  %s %s is no longer on %s %s (the mirror has: %s)"
                         % (p.name, p.version, MIRROR, SUITE, now))
        raise FetchError(
            "pinned versions are gone from the mirror:\n%s\n"
            "Pin what the mirror has now with `python3 tools/runtime/fetch.py --relock`, "
            "review the lock file diff and run the MicroPython tests."
            % "\n".join(lines))
    apt.download(["%s=%s" % (p.name, p.version) for p in missing], debs)
    bad = []
    for pin in missing:
        path = os.path.join(debs, pin.filename)
        if not os.path.exists(path):
            raise FetchError("apt-get download did not produce %s for %s %s"
                             % (pin.filename, pin.name, pin.version))
        got = sha256_file(path)
        if got != pin.sha256:
            os.remove(path)
            bad.append("  %s %s: %s has SHA256 %s, the lock pins %s"
                       % (pin.name, pin.version, pin.filename, got, pin.sha256))
    if bad:
        raise FetchError("refusing downloads whose SHA256 differs from %s (deleted them):\n%s"
                         % (LOCK_FILE, "\n".join(bad)))


def smoke_test(root):
    cmd = [os.path.join(root, LOADER), "--library-path", os.path.join(root, LIBDIR),
           os.path.join(root, BINARY), "-c",
           "import sys; print(sys.implementation.name, sys.implementation.version)"]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
    except OSError as e:
        raise FetchError("cannot start %s: %s (this runtime is x86-64 Linux only)"
                         % (cmd[0], e))
    if p.returncode != 0 or not p.stdout.startswith("micropython"):
        raise FetchError("the extracted micropython does not run: exit %d\n%s%s"
                         % (p.returncode, p.stdout, p.stderr))
    return p.stdout.strip()


def build_root(pins, apt, root):
    debs = os.path.join(apt.base, "debs")
    parent = os.path.dirname(root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="root.", dir=parent)
    try:
        for pin in pins:
            if pin.name == KEYRING_PACKAGE:
                continue
            path = os.path.join(debs, pin.filename)
            if sha256_file(path) != pin.sha256:  # changed since ensure_debs?
                raise FetchError("%s changed on disk after it was checked; run again"
                                 % path)
            _dpkg_extract(path, tmp)
        for rel in (LOADER, BINARY):
            if not os.path.exists(os.path.join(tmp, rel)):
                raise FetchError("after extraction %s is missing from the runtime root" % rel)
        version = smoke_test(tmp)
        shutil.copyfile(LOCK_FILE, os.path.join(parent, "packages.lock"))
        os.replace(tmp, root)  # the root appears complete or not at all
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log("extracted %s into %s" % (version, root))


def fetch():
    root = runtime_root()
    if os.path.exists(os.path.join(root, BINARY)):
        return root
    pins = read_lock()
    base = os.path.join(cache_dir(), "apt")
    os.makedirs(base, exist_ok=True)
    with open(os.path.join(base, ".lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)  # one fetch at a time per cache
        if os.path.exists(os.path.join(root, BINARY)):
            return root
        started = time.monotonic()
        keyring_pin = [p for p in pins if p.name == KEYRING_PACKAGE][0]
        apt = PrivateApt(base, fetch_keyring(keyring_pin, base))
        apt.setup()
        ensure_debs(pins, apt)
        build_root(pins, apt, root)
        log("done in %.1f s" % (time.monotonic() - started))
    return root


def relock():
    """Pin the versions the mirror has now and write their hashes to the lock file."""
    try:
        pins = read_lock()
        names = [p.name for p in pins]
        keyring_pin = [p for p in pins if p.name == KEYRING_PACKAGE][0]
    except (FileNotFoundError, FetchError) as e:
        log("starting from the default package list (%s)" % e)
        names, keyring_pin = list(DEFAULT_PACKAGES), None
    base = os.path.join(cache_dir(), "apt")
    os.makedirs(base, exist_ok=True)
    keyring = None
    if keyring_pin is not None:
        try:
            keyring = fetch_keyring(keyring_pin, base)
        except FetchError as e:
            log("the pinned keyring is unusable: %s" % e)
    if keyring is None:
        # Bootstrapping only: the host's keyring (bookworm's holds the trixie
        # keys since 2023.3+deb12u1) verifies the new keyring package's hash.
        keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
        log("verifying %s with the host's %s" % (SUITE, keyring))
    apt = PrivateApt(base, keyring)
    apt.setup()
    apt.update()
    wanted = [(name,) + apt.candidate(name) for name in names]
    with tempfile.TemporaryDirectory(dir=base) as tmp:
        apt.download(["%s=%s" % (name, version) for name, version, _ in wanted], tmp)
        new = []
        for name, version, _ in wanted:
            got = [f for f in os.listdir(tmp) if f.startswith(name + "_") and f.endswith(".deb")]
            if len(got) != 1:
                raise FetchError("expected one .deb for %s, apt-get download left %r"
                                 % (name, got))
            fn = got[0]
            new.append(Pin(name, version, sha256_file(os.path.join(tmp, fn)), fn))
            shutil.copyfile(os.path.join(tmp, fn), os.path.join(base, "debs", fn))
    try:
        with open(LOCK_FILE) as f:
            header = [l for l in f.read().splitlines(True) if l.startswith("#")]
    except FileNotFoundError:
        header = ["# Debian %s packages for the MicroPython runtime: "
                  "name version sha256 filename\n" % SUITE]
    with open(LOCK_FILE + ".tmp", "w") as f:
        f.writelines(header)
        for pin in new:
            f.write(pin.line() + "\n")
    os.replace(LOCK_FILE + ".tmp", LOCK_FILE)
    for pin in new:
        log("pinned %s" % pin.line())
    log("wrote %s; review the diff, then run the MicroPython tests" % LOCK_FILE)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--print-root", action="store_true",
                   help="print the runtime root; exit %d if it is not fetched yet"
                        % EXIT_NOT_FETCHED)
    g.add_argument("--relock", action="store_true",
                   help="pin the versions the mirror has now (rewrites packages.lock)")
    args = ap.parse_args(argv)
    try:
        if args.print_root:
            root = runtime_root()
            print(root)
            if not os.path.exists(os.path.join(root, BINARY)):
                log("the runtime is not fetched yet; run `make runtime` "
                    "(or python3 tools/runtime/fetch.py)")
                return EXIT_NOT_FETCHED
            return 0
        if args.relock:
            relock()
        print(fetch())
        return 0
    except FetchError as e:
        log("error: %s" % e)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
