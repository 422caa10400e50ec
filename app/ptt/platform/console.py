"""Operator commands on the console (the serial console in the VM, standard
input on a host): `shutdown` (also `poweroff`, `halt`) and `status`."""
import asyncio
import sys


async def commands(stop, status, say):
    """Serve console commands until shutdown (sets the asyncio.Event STOP)
    or until the console closes (then the service keeps running).
    STATUS() returns the text of one status line."""
    r = asyncio.StreamReader(sys.stdin)
    while True:
        line = await r.readline()
        if not line:
            return
        cmd = line.strip().decode()
        if cmd in ("shutdown", "poweroff", "halt"):
            say("shutdown requested on the console")
            stop.set()
            return
        if cmd == "status":
            say("status: " + status())
        elif cmd:
            say("console: unknown command %r; commands: shutdown, status" % cmd)
