"""ptt-tool run: boot an image with QEMU's microvm machine.

    ptt-tool run IMAGE_DIR --disk lipap.img [--smtp-port 2525] [--memory 32M]
                 [--accel auto|kvm|tcg] [boot arguments: --domain=... --ipv4=... -n ...]

The SMTP port is forwarded to 127.0.0.1 only. The serial console is this
terminal: the guest's boot lines appear here, and lines typed here reach the
guest (`shutdown` stops it cleanly; Ctrl-C sends `shutdown` for you, a second
Ctrl-C kills QEMU). Exit status: 0 clean shutdown, 1 the VM failed, 2 usage.

Also the library the image tests and bench/boot.py use: `qemu_command()` and
`VM` (start, wait_for, console input, exit status).
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

QEMU = "qemu-system-x86_64"

# Failure codes the guest writes to isa-debug-exit; QEMU exits (code << 1) | 1.
GUEST_FAILURES = {
    3: "bad boot arguments",
    5: "start-up failed (devices, store or network)",
    7: "the app crashed",
}
# What QEMU's user network gives the guest (slirp defaults).
SLIRP_IPV4 = "10.0.2.15/24"
SLIRP_GATEWAY = "10.0.2.2"
SLIRP_DNS = "10.0.2.3"


class RunError(Exception):
    pass


# ---------------------------------------------------------------- accelerator

_accel_cache = {}


def _probe_cache_file():
    root = os.environ.get("PTT_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "ptt")
    return os.path.join(root, "accel-probe.json")


def _probe_key(kernel):
    import hashlib
    h = hashlib.sha256()
    with open(kernel, "rb") as f:
        h.update(f.read())
    try:
        st = os.stat("/dev/kvm")
        dev = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    except OSError:
        dev = "none"
    return "%s %s %s pvm=%s" % (h.hexdigest()[:16], os.uname().release, dev,
                                os.path.exists("/sys/module/kvm_pvm"))


def probe_kvm(kernel, timeout=4.0):
    """probe_kvm_uncached, remembered in $PTT_CACHE/accel-probe.json per kernel and host."""
    import json
    key = _probe_key(kernel)
    path = _probe_cache_file()
    try:
        with open(path) as f:
            known = json.load(f)
    except (OSError, ValueError):
        known = {}
    if key in known:
        ok, why = known[key]
        return bool(ok), why + " (probed before)"
    ok, why = probe_kvm_uncached(kernel, timeout)
    known[key] = [ok, why]
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as f:
            json.dump(known, f)
        os.replace(path + ".tmp", path)
    except OSError:
        pass
    return ok, why


def probe_kvm_uncached(kernel, timeout=4.0):
    """(usable, why). Boots `kernel` without initramfs under KVM: a working KVM
    reaches the kernel's "no root fs" panic (panic=-1 reboots, QEMU exits)
    within a second; a broken one (kvm_pvm with a stock guest kernel) stops
    with "KVM internal error" or hangs, and the probe gives up at `timeout`.
    """
    if kernel in _accel_cache:
        return _accel_cache[kernel]
    why = None
    if not os.path.exists(kernel):
        return (False, "no kernel %s to probe with" % kernel)
    if not os.path.exists("/dev/kvm"):
        why = "no /dev/kvm"
    elif not os.access("/dev/kvm", os.R_OK | os.W_OK):
        why = "/dev/kvm is not readable and writable by this user"
    if why:
        _accel_cache[kernel] = (False, why)
        return _accel_cache[kernel]
    pvm = os.path.exists("/sys/module/kvm_pvm")
    cmd = [QEMU, "-M", "microvm,acpi=off", "-accel", "kvm", "-m", "32M", "-smp", "1",
           "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
           "-monitor", "none", "-no-reboot", "-kernel", kernel,
           "-append", "console=ttyS0 panic=-1 reboot=t"]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out = p.stdout.decode(errors="replace")
        if "KVM internal error" in out or "emulation failure" in out:
            why = "KVM cannot run this kernel (KVM internal error)"
        elif p.returncode != 0:
            line = out.strip().splitlines()[-1:] or ["?"]
            why = "QEMU with -accel kvm failed: %s" % line[0]
        elif "Kernel panic" not in out and "Linux version" not in out:
            why = "no kernel output under KVM"
    except subprocess.TimeoutExpired:
        why = "the KVM probe did not finish in %.0f s" % timeout
    if why and pvm:
        why += "; /dev/kvm is kvm_pvm, which runs only PVM-enabled guest kernels"
    _accel_cache[kernel] = (why is None, why or "KVM works")
    return _accel_cache[kernel]


def choose_accel(want, kernel):
    """('kvm'|'tcg', message)."""
    if want == "tcg":
        return "tcg", "TCG (software emulation, as asked)"
    ok, why = probe_kvm(kernel)
    if ok:
        return "kvm", "KVM"
    if want == "kvm":
        raise RunError("--accel kvm asked, but KVM is not usable: %s" % why)
    return "tcg", "TCG (software emulation, slow): %s" % why


# ---------------------------------------------------------------- command line

def image_files(image_dir):
    k = os.path.join(image_dir, "vmlinux")
    i = os.path.join(image_dir, "initramfs.cpio.gz")
    for f in (k, i):
        if not os.path.exists(f):
            raise RunError("%s is missing: build the image with `make image TARGET=kvm "
                           "APP=lists` and pass its folder (images/out/kvm-lists)" % f)
    return k, i


def kernel_cmdline(image_dir, words, extra=""):
    from ptt.platform import bootargs
    base = "console=ttyS0 panic=-1 reboot=t quiet"
    mpath = os.path.join(image_dir, "manifest.json")
    if os.path.exists(mpath):
        import json
        with open(mpath) as f:
            base = json.load(f).get("kernel_cmdline", base)
    line = base
    if extra:
        line += " " + extra
    try:
        line += " " + bootargs.encode(words)
    except bootargs.BootArgError as e:
        raise RunError(str(e))
    return line


def qemu_command(image_dir, disk=None, smtp_port=2525, memory="32M", accel="tcg",
                 words=(), extra_cmdline="", debug_exit=True, kernel=None, initrd=None,
                 machine="microvm,acpi=off"):
    """The QEMU command line. `machine` microvm,acpi=off suits our kernel (virtio-mmio
    devices on the kernel command line); kernels without VIRTIO_MMIO_CMDLINE_DEVICES
    (Debian's) need plain `microvm` (ACPI)."""
    vmlinux, initrd0 = image_files(image_dir)
    initrd = initrd or initrd0
    cmd = [QEMU, "-M", machine, "-accel", accel, "-m", memory, "-smp", "1",
           "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
           "-monitor", "none", "-no-reboot",
           "-kernel", kernel or vmlinux, "-initrd", initrd,
           "-append", kernel_cmdline(image_dir, list(words), extra_cmdline)]
    if disk:
        cmd += ["-drive", "id=lists,file=%s,format=raw,if=none,cache=writeback" % disk,
                "-device", "virtio-blk-device,drive=lists"]
    fwd = ",hostfwd=tcp:127.0.0.1:%d-:25" % smtp_port if smtp_port else ""
    cmd += ["-netdev", "user,id=service" + fwd,
            "-device", "virtio-net-device,netdev=service",
            "-object", "rng-random,id=rng,filename=/dev/urandom",
            "-device", "virtio-rng-device,rng=rng"]
    if debug_exit:
        cmd += ["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
    return cmd


# ---------------------------------------------------------------- a running VM

class VM:
    """A QEMU process whose serial console is a pipe.

    vm = VM(cmd); vm.start(); vm.wait_for(r"listening on port", 60)
    vm.send("shutdown"); rc = vm.wait(30)
    """

    def __init__(self, cmd, echo=None, log_path=None):
        self.cmd = cmd
        self.echo = echo          # a file to copy the console to (e.g. sys.stdout)
        self.log_path = log_path
        self.proc = None
        self.out = bytearray()
        self.cond = threading.Condition()
        self.t0 = None
        self.reader_done = threading.Event()

    def start(self):
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=self._reader, daemon=True).start()
        return self

    def _reader(self):
        logf = open(self.log_path, "ab") if self.log_path else None
        try:
            while True:
                b = self.proc.stdout.read1(65536)
                if not b:
                    break
                if logf:
                    logf.write(b)
                    logf.flush()
                if self.echo is not None:
                    try:
                        self.echo.write(b.decode(errors="replace"))
                        self.echo.flush()
                    except (OSError, ValueError):
                        pass
                with self.cond:
                    self.out += b
                    self.cond.notify_all()
        finally:
            if logf:
                logf.close()
            with self.cond:
                self.reader_done.set()
                self.cond.notify_all()

    @property
    def console(self):
        with self.cond:
            return self.out.decode(errors="replace")

    def wait_for(self, pattern, timeout):
        """The first match of regex `pattern` on the console; RunError on timeout/exit."""
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.out.decode(errors="replace"))
                if m:
                    return m
                if self.reader_done.is_set():
                    try:
                        rc = self.proc.wait(5)
                    except subprocess.TimeoutExpired:
                        rc = None
                    raise RunError("QEMU exited (status %s) before %r appeared"
                                   % (rc, pattern))
                left = end - time.monotonic()
                if left <= 0:
                    raise RunError("%r did not appear on the console within %.0f s"
                                   % (pattern, timeout))
                self.cond.wait(min(left, 0.2))

    def send(self, line):
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise RunError("QEMU did not exit within %.0f s" % timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        if self.proc:
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except Exception:
                    pass


def explain_exit(rc, console):
    """(ok, message) for QEMU's exit status and what the console showed."""
    if "Kernel panic" in console:
        line = [l for l in console.splitlines() if "Kernel panic" in l][-1].strip()
        return False, "the guest kernel panicked: %s" % line
    if rc == 0:
        return True, "the VM shut down cleanly"
    if rc in GUEST_FAILURES:
        errs = [l for l in console.splitlines() if l.startswith("ptt: error:")]
        why = errs[-1][len("ptt: error: "):] if errs else GUEST_FAILURES[rc]
        return False, "the VM stopped with failure status %d (%s): %s" % (
            rc, GUEST_FAILURES[rc], why)
    m = re.search(r"Could not set up host forwarding rule 'tcp:127\.0\.0\.1:(\d+)", console)
    if m:
        return False, ("port %s on 127.0.0.1 is already in use; choose another with "
                       "--smtp-port" % m.group(1))
    if rc < 0:
        return False, "QEMU was killed by signal %d" % -rc
    return False, "QEMU exited with status %d" % rc


# ---------------------------------------------------------------- the subcommand

def _boot_words(args):
    from ptt.platform import bootargs
    words = []
    for opt in bootargs.LISTS:
        dest = "boot_" + opt[0].replace("-", "_")
        val = getattr(args, dest, None)
        if val is None or val is False or val == []:
            continue
        if opt[2] is bootargs.FLAG:
            words.append("--" + opt[0])
        elif opt[4]:
            for v in val:
                words.append("--%s=%s" % (opt[0], v))
        else:
            words.append("--%s=%s" % (opt[0], val))
    return words


def add_parser(subparsers):
    from ptt.platform import bootargs
    r = subparsers.add_parser(
        "run", help="boot an image in QEMU (microvm), SMTP forwarded to 127.0.0.1",
        description="Boot IMAGE_DIR (from `make image`) with QEMU's microvm machine: the "
                    "disk as virtio-blk, user networking with the SMTP port forwarded to "
                    "127.0.0.1, virtio-rng. The console is this terminal; type `shutdown` "
                    "(or press Ctrl-C) to stop the VM cleanly. Options after the QEMU ones "
                    "are the image's boot arguments (docs/boot.md); --ipv4 and "
                    "--ipv4-gateway default to QEMU's user network (%s, %s)."
                    % (SLIRP_IPV4, SLIRP_GATEWAY))
    r.add_argument("image_dir", metavar="IMAGE_DIR")
    r.add_argument("--disk", help="the list store (made by `ptt-tool create`)")
    r.add_argument("--smtp-port", type=int, default=2525,
                   help="host port on 127.0.0.1 forwarded to the guest's 25 (default 2525)")
    r.add_argument("--memory", default="32M", help="guest memory (default 32M)")
    r.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                   help="auto: KVM if a probe boot works, else TCG (default)")
    r.add_argument("--console-log", metavar="FILE", help="also append the console to FILE")
    r.add_argument("--print-command", action="store_true",
                   help="print the qemu-system-x86_64 command line and exit")
    r.add_argument("--no-check", action="store_true",
                   help="pass the boot arguments without checking them on the host first")
    g = r.add_argument_group("boot arguments (passed to the guest)")
    for opt in bootargs.LISTS:
        names = ["--" + opt[0]] + (["-" + opt[1]] if opt[1] else [])
        dest = "boot_" + opt[0].replace("-", "_")
        if opt[2] is bootargs.FLAG:
            g.add_argument(*names, dest=dest, action="store_true", help=opt[6])
        elif opt[4]:
            g.add_argument(*names, dest=dest, action="append", metavar="VALUE", help=opt[6])
        else:
            g.add_argument(*names, dest=dest, metavar="VALUE", help=opt[6])
    r.set_defaults(func=cmd_run)
    return r


def cmd_run(args):
    from ptt.platform import bootargs
    if getattr(args, "boot_ipv4", None) is None:
        args.boot_ipv4 = SLIRP_IPV4
        if getattr(args, "boot_ipv4_gateway", None) is None:
            args.boot_ipv4_gateway = SLIRP_GATEWAY
    words = _boot_words(args)
    if not args.no_check:
        try:
            bootargs.parse(words, bootargs.LISTS)
        except bootargs.BootArgError as e:
            print("ptt-tool run: error: boot arguments: %s" % e, file=sys.stderr)
            return 2
    if shutil.which(QEMU) is None:
        print("ptt-tool run: error: %s not found; install qemu-system-x86 "
              "(make host-deps)" % QEMU, file=sys.stderr)
        return 1
    if args.disk and not os.path.exists(args.disk):
        print("ptt-tool run: error: disk %s does not exist; make one with "
              "`ptt-tool create %s`" % (args.disk, args.disk), file=sys.stderr)
        return 1
    try:
        vmlinux, _ = image_files(args.image_dir)
        accel, how = choose_accel(args.accel, vmlinux)
        cmd = qemu_command(args.image_dir, args.disk, args.smtp_port, args.memory, accel, words)
    except RunError as e:
        print("ptt-tool run: error: %s" % e, file=sys.stderr)
        return 1
    if args.print_command:
        print(" ".join(_quote(c) for c in cmd))
        return 0
    print("ptt-tool run: accelerator %s" % how, file=sys.stderr)
    print("ptt-tool run: SMTP on 127.0.0.1:%d; type `shutdown` or press Ctrl-C to stop"
          % args.smtp_port, file=sys.stderr)
    vm = VM(cmd, echo=sys.stdout, log_path=args.console_log)
    vm.start()
    stop_fwd = threading.Event()

    def forward_stdin():
        try:
            for line in sys.stdin:
                if stop_fwd.is_set():
                    return
                vm.send(line.rstrip("\n"))
        except (OSError, ValueError):
            return

    if not sys.stdin.closed:
        threading.Thread(target=forward_stdin, daemon=True).start()
    interrupts = 0
    while True:
        try:
            rc = vm.proc.wait()
            break
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts == 1:
                print("\nptt-tool run: sending `shutdown` to the guest (Ctrl-C again to kill "
                      "QEMU)", file=sys.stderr)
                vm.send("shutdown")
            else:
                vm.kill()
    stop_fwd.set()
    time.sleep(0.05)
    ok, msg = explain_exit(rc, vm.console)
    print("ptt-tool run: %s" % msg, file=sys.stderr)
    return 0 if ok else 1


def _quote(s):
    if re.match(r"^[A-Za-z0-9_./:,=@%+-]+$", s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def main(argv=None):
    """`python -m ptt_tool.run ...`: the same as `ptt-tool run ...`."""
    p = argparse.ArgumentParser(prog="ptt-tool")
    sub = p.add_subparsers(dest="command")
    add_parser(sub)
    args = p.parse_args(["run"] + list(sys.argv[1:] if argv is None else argv))
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
