"""Run the lists service as a process on a development host.

For tests and benchmarks: the same service as in the VM, with the store on
a disk image file mounted through the same VfsFat code (MicroPython), or a
plain folder (CPython, --root).

    micropython main_host.py --disk lipap.img --domain lists.example --port 2525 \\
        [-n udp:127.0.0.1:5300] [--smarthost 127.0.0.1:2600] [--delivery-timeout 30] [--first-retry 300] [--admin [LOCAL:]EMAIL]

Type `shutdown` on standard input to flush and unmount (or `status`);
closing standard input keeps it serving; killing the process is a crash,
which the store survives (that is tested).
"""
import asyncio
import os
import sys
import time

from ptt.dns.client import Resolver
from ptt.lists_server import ListsServer
from ptt.platform import bootargs, console

STORE = "/store"


def usage(msg):
    sys.stderr.write("main_host: %s\n" % msg)
    sys.exit(2)


def parse(argv):
    opts = {"disk": None, "root": None, "domain": None, "port": "2525", "host": "127.0.0.1",
            "nameserver": [], "smarthost": None, "delivery-timeout": "300", "concurrency": "20",
            "first-retry": "300", "admin": None}
    i = 0
    while i < len(argv):
        w = argv[i]
        name = w.lstrip("-")
        if name == "n":
            name = "nameserver"
        if name not in opts or i + 1 >= len(argv):
            usage("unknown option or missing value: %s" % w)
        if name == "nameserver":
            opts[name].append(bootargs.parse_nameserver(argv[i + 1]))
        else:
            opts[name] = argv[i + 1]
        i += 2
    if not opts["domain"] or not (opts["disk"] or opts["root"]):
        usage("--domain and one of --disk (MicroPython) or --root are required")
    return opts


def mount(opts):
    if opts["root"]:
        return opts["root"], None
    import vfs
    from ptt.platform.blockdev import BlockDevice
    bd = BlockDevice(opts["disk"])
    vfs.mount(vfs.VfsFat(bd), STORE)
    return STORE, bd


def clock():
    return int(time.time())


async def run(opts):
    root, bd = mount(opts)
    smarthost = None
    if opts["smarthost"]:
        try:
            smarthost = bootargs.parse_smtp_host(opts["smarthost"])
        except ValueError as e:
            usage("--smarthost: %s" % e)
    resolver = Resolver(opts["nameserver"], os.urandom) if opts["nameserver"] else None
    server = ListsServer(root, bootargs.parse_domain(opts["domain"]), clock, os.urandom,
                         resolver=resolver, smarthost=smarthost,
                         delivery_timeout=int(opts["delivery-timeout"]),
                         concurrency=int(opts["concurrency"]),
                         first_retry=int(opts["first-retry"]),
                         admin=bootargs.parse_admin(opts["admin"]) if opts["admin"] else None)
    srv = await server.serve(opts["host"], int(opts["port"]))
    print("ready: %s lists on %s:%s" % (len(server.store.names()), opts["host"], opts["port"]))
    stop = asyncio.Event()
    asyncio.create_task(console.commands(
        stop, lambda: "%d messages accepted, %d queued" % (server.accepted, len(server.queue)), print))
    await stop.wait()
    srv.close()
    await server.shutdown()
    if bd is not None:
        import vfs
        vfs.umount(STORE)
        bd.close()
    print("stopped")


asyncio.run(run(parse(sys.argv[1:])))
