"""PID 1 of the `signer` image: boot, publish the DKIM keys, relay and sign
on port 25, shut down cleanly.

Boot steps (one "ptt: " console line each), as in ptt.main_lists, whose
generic steps (runtime, kernel filesystems, network, failure exit) are
reused: runtime -> /dev and /proc -> boot arguments (ptt.signer.args, read
from /proc/cmdline) -> devices (eth0; no disk) -> network -> keys (derive
or load; check/publish the TXT records with a TSIG UPDATE) -> serve SMTP on
port 25 -> rotate keys in the background when the selector is time-based.

A failure prints "ptt: error: ..." and stops the VM with a non-zero QEMU
exit status: 3 bad boot arguments, 5 start-up (network, keys, DNS), 7 crash.
Shutdown: `shutdown` on the serial console; nothing to unmount.
"""
import gc
import sys

from ptt import main_lists as boot
from ptt.platform import bootargs
from ptt.platform import linux

SMTP_PORT = 25
IFACE = boot.IFACE
say = boot.say
BootFailure = boot.BootFailure
EXIT_BOOTARGS = boot.EXIT_BOOTARGS
EXIT_STARTUP = boot.EXIT_STARTUP
EXIT_CRASH = boot.EXIT_CRASH


def step_bootargs():
    from ptt.signer import args as A
    try:
        cfg = A.from_cmdline(linux.cmdline())
    except bootargs.BootArgError as e:
        raise BootFailure(EXIT_BOOTARGS, "boot arguments: %s" % e)
    say("signer: " + A.describe(cfg))
    return cfg


def step_devices():
    ifs = [i for i in linux.interfaces() if i != "lo" and not i.startswith("sit")]
    rng = linux.rng_current()
    if not rng or rng == "none":
        rng = "none (attach virtio-rng: TSIG and DNS IDs need random bytes)"
    say("devices: network %s, rng %s, memory %d MiB"
        % (", ".join(ifs) or "none", rng, linux.meminfo_kib() // 1024))
    if IFACE not in ifs:
        raise BootFailure(EXIT_STARTUP, "no network interface %s: attach a virtio-net "
                          "device" % IFACE)


def step_crypto():
    """RSA private op: mbedtls through ffi when it loads and passes its
    self-test (about 10x faster), else pure Python. One console line says which."""
    from ptt.platform import mbedtls
    if mbedtls.install():
        say("crypto: RSA private op by mbedtls (%s, ffi)" % mbedtls.LIBRARY)
    else:
        say("crypto: RSA private op in pure Python (mbedtls: %s)" % mbedtls.why_not)


def step_keys(cfg):
    from ptt.signer import run as RUN
    try:
        return RUN.setup_keys(cfg, say)[0]
    except Exception as e:
        raise BootFailure(EXIT_STARTUP, "keys: %s" % e)


class Server:
    def __init__(self, cfg, keys):
        self.cfg = cfg
        self.keys = keys
        self.stop = None
        self.handler = None

    def status(self):
        st = self.handler.stats if self.handler else {}
        return ("%s; signing with %s; heap %d KiB free"
                % (", ".join("%s %d" % (k, st[k]) for k in sorted(st)),
                   ", ".join(s.decode() for _, s, _ in self.keys.signers()),
                   gc.mem_free() // 1024))

    async def console(self):
        from ptt.platform import console
        await console.commands(self.stop, self.status, say)

    async def run(self):
        import asyncio
        from ptt.signer import run as RUN
        self.stop = asyncio.Event()
        srv, self.handler = await RUN.serve(self.cfg, self.keys, "0.0.0.0", SMTP_PORT, say)
        say("listening on port %d (SMTP) as %s; relaying for %d trusted network(s); "
            "type 'shutdown' on the console to stop"
            % (SMTP_PORT, self.cfg.domain, len(self.cfg.trusted)))
        asyncio.create_task(self.console())
        asyncio.create_task(RUN.maintain(self.cfg, self.keys, say))
        await self.stop.wait()
        srv.close()
        try:
            await srv.wait_closed()
        except Exception:
            pass


def main():
    try:
        boot.step_runtime()
        boot.step_kernel_filesystems()
        cfg = step_bootargs()
        step_devices()
        boot.step_network(cfg)
        step_crypto()
        keys = step_keys(cfg)
        import asyncio
        asyncio.run(Server(cfg, keys).run())
    except BootFailure as e:
        boot.fail(e.code, str(e))
    except BaseException as e:  # noqa: anything else is a crash; say what and stop
        sys.print_exception(e)
        boot.fail(EXIT_CRASH, "unexpected %s: %s" % (type(e).__name__, e))
    say("power off")
    linux.sync()
    linux.reboot(linux.RB_AUTOBOOT)
