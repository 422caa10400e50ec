"""PID 1 of the `lists` image: boot, serve SMTP on port 25, shut down cleanly.

One console line per boot step, each prefixed "ptt: ". A failure prints
"ptt: error: <what happened and what to do>" and stops the VM with a
non-zero QEMU exit status (isa-debug-exit, see docs/boot.md).

Shutdown: type `shutdown` on the serial console (ptt-tool run sends it on
Ctrl-C). The store is unmounted and synced, then the VM reboots, which QEMU
(-no-reboot) turns into exit status 0.
"""
import gc
import os
import sys

from ptt.platform import bootargs
from ptt.platform import linux

STORE = "/store"
DISK = "/dev/vda"
IFACE = "eth0"
SMTP_PORT = 25

# Failure codes written to isa-debug-exit; QEMU exits with (code << 1) | 1.
EXIT_BOOTARGS = 1     # QEMU exit 3
EXIT_STARTUP = 2      # QEMU exit 5: devices, store, network
EXIT_CRASH = 3        # QEMU exit 7: an unexpected error while serving


class BootFailure(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


def say(msg):
    sys.stdout.write("ptt: " + msg + "\n")


def fail(code, msg):
    """Print why, then stop the VM with a non-zero status. Never returns."""
    say("error: " + msg)
    say("stopping the VM (failure code %d, QEMU exit status %d)" % (code, (code << 1) | 1))
    try:
        linux.sync()
    except Exception:
        pass
    linux.debug_exit(code)
    # No isa-debug-exit device (another VMM): reboot; the console line above
    # is then the only sign of the failure.
    linux.reboot(linux.RB_AUTOBOOT)


# ---------------------------------------------------------------- boot steps

def step_runtime():
    impl = sys.implementation
    v = ".".join(str(x) for x in impl.version[:3])
    heap = gc.mem_free() + gc.mem_alloc()
    say("runtime MicroPython %s, heap %d KiB" % (v, heap // 1024))


def step_kernel_filesystems():
    try:
        linux.mount_kernel_filesystems()
    except linux.PlatformError as e:
        raise BootFailure(EXIT_STARTUP, "cannot mount /dev and /proc: %s" % e)


def step_modules():
    """Stock kernels only (bench/boot.py): load the virtio modules PID 1 carries."""
    import time
    t0 = time.ticks_ms()
    try:
        names = linux.load_modules()
    except (linux.PlatformError, OSError) as e:
        raise BootFailure(EXIT_STARTUP, "loading kernel modules: %s" % e)
    if names:
        say("modules: %d loaded in %d ms (%s)"
            % (len(names), time.ticks_diff(time.ticks_ms(), t0), " ".join(names)))


def step_bootargs():
    line = linux.cmdline()
    try:
        return bootargs.from_cmdline(line, bootargs.LISTS)
    except bootargs.BootArgError as e:
        raise BootFailure(EXIT_BOOTARGS, "boot arguments: %s" % e)


def step_devices():
    import time
    disk = False
    for _ in range(20):  # modules (stock kernels) may still be creating the node
        try:
            os.stat(DISK)
            disk = True
            break
        except OSError:
            time.sleep_ms(50)
    ifs = [i for i in linux.interfaces() if i != "lo" and not i.startswith("sit")]
    rng = linux.rng_current()
    if not rng or rng == "none":
        rng = "none (attach virtio-rng, or TLS start-up may wait for entropy)"
    say("devices: disk %s, network %s, rng %s, memory %d MiB"
        % (DISK if disk else "none", ", ".join(ifs) or "none", rng,
           linux.meminfo_kib() // 1024))
    if not disk:
        raise BootFailure(EXIT_STARTUP, "no disk %s: attach the list store made by "
                          "`ptt-tool create` as the first virtio disk" % DISK)
    if IFACE not in ifs:
        raise BootFailure(EXIT_STARTUP, "no network interface %s: attach a virtio-net "
                          "device" % IFACE)


def step_store():
    try:
        fs, bd = linux.mount_fat(DISK, STORE)
    except linux.PlatformError as e:
        raise BootFailure(EXIT_STARTUP, str(e))
    st = os.statvfs(STORE)
    say("store: %s mounted on %s (FAT, %d MiB, %d KiB free)"
        % (DISK, STORE, bd.size >> 20, st[0] * st[3] // 1024))
    return bd


def list_names():
    """List names on the store (lists/NAME.json)."""
    try:
        names = os.listdir(STORE + "/lists")
    except OSError:
        return []
    return sorted(n[:-5] for n in names if n.endswith(".json") and not n.startswith("."))


def step_lists():
    names = list_names()
    if names:
        say("%d lists: %s" % (len(names), ", ".join(names)))
    else:
        say("0 lists: add some on the host with `ptt-tool add` (the server runs anyway)")
    return names


def step_network(args):
    addr, prefix = args.ipv4
    gw = args.ipv4_gateway
    try:
        linux.configure_ipv4(IFACE, addr, prefix, gw)
        if args.ipv6:
            linux.configure_ipv6(IFACE, args.ipv6[0], args.ipv6[1])
    except linux.PlatformError as e:
        raise BootFailure(EXIT_STARTUP, "network: %s" % e)
    msg = "network: %s %s/%d" % (IFACE, linux.unpack_ipv4(addr), prefix)
    if gw:
        msg += " gateway %s" % linux.unpack_ipv4(gw)
    if args.ipv6:
        msg += ", IPv6 /%d" % args.ipv6[1]
    if args.nameserver:
        msg += ", nameserver %s" % ", ".join("%s:%s:%d" % n for n in args.nameserver)
    say(msg)


# ---------------------------------------------------------------- serving

class Server:
    def __init__(self, args, bd):
        self.args = args
        self.bd = bd
        self.stop = None
        self.service = None

    def status(self):
        return ("%d messages accepted, heap %d KiB free, memory %d KiB available"
                % (self.service.accepted, gc.mem_free() // 1024,
                   linux.meminfo_kib("MemAvailable")))

    async def console(self):
        from ptt.platform import console
        await console.commands(self.stop, self.status, say)

    async def run(self):
        import asyncio
        import time
        self.stop = asyncio.Event()
        from ptt.lists_server import ListsServer
        resolver = None
        if self.args.nameserver:
            from ptt.dns.client import Resolver
            resolver = Resolver(self.args.nameserver, os.urandom)
        service = ListsServer(STORE, self.args.domain, lambda: int(time.time()), os.urandom,
                              resolver=resolver, smarthost=self.args.destination,
                              admin=self.args.admin, log=say)
        self.service = service
        srv = await service.serve("0.0.0.0", SMTP_PORT, max_message_size=self.args.limit)
        say("listening on port %d (SMTP) as %s; type 'shutdown' on the console to stop"
            % (SMTP_PORT, self.args.domain))
        asyncio.create_task(self.console())
        await self.stop.wait()
        srv.close()
        try:
            await srv.wait_closed()
        except Exception:
            pass
        await service.shutdown()


def shutdown(bd):
    try:
        linux.umount(STORE, bd)
        say("store unmounted and synced")
    except Exception as e:
        say("error: unmounting the store failed: %r; syncing anyway" % (e,))
        linux.sync()
    say("power off")
    linux.reboot(linux.RB_AUTOBOOT)


def main():
    try:
        step_runtime()
        step_kernel_filesystems()
        step_modules()
        args = step_bootargs()
        step_devices()
        bd = step_store()
        step_lists()
        step_network(args)
        import asyncio
        srv = Server(args, bd)
        asyncio.run(srv.run())
    except BootFailure as e:
        fail(e.code, str(e))
    except BaseException as e:  # noqa: anything else is a crash; say what and stop
        sys.print_exception(e)
        fail(EXIT_CRASH, "unexpected %s: %s" % (type(e).__name__, e))
    shutdown(bd)
