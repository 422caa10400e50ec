"""Run the signer: the thin I/O glue (clock, asyncio, sockets through
ptt.net and ptt.dns) around the pure parts. Used by ptt.main_signer in the
image and directly on a host:

    micropython -m ptt.signer.run 127.0.0.1:2525 --domain=example.org \\
        --trusted=127.0.0.0/8 --dst=127.0.0.1:2526 --seed=... --selector=s1
    python3 -m ptt.signer.run ...      (same, on CPython)

On a host --ipv4 is not needed (the image's network is not configured
here). Prints "ptt: ..." lines; "ptt: listening" when ready.

A word "@FILE" is replaced by the whitespace-separated words in FILE:
MicroPython 1.25's unix port dies ("FATAL: uncaught NLR") on any argv word
of 256 characters or more (it interns argv as qstrs), and a base64 RSA key
is about 1,600. (The image reads /proc/cmdline, which has no such limit,
but the kernel's own 2,048-byte command line does: see docs/signer.md.)
"""
import os
import sys
import time

try:
    import asyncio
except ImportError:   # pragma: no cover
    import uasyncio as asyncio

from ptt.signer import args as A
from ptt.signer import dnsconf as D
from ptt.signer import service as S


def say(msg):
    sys.stdout.write("ptt: " + msg + "\n")


def setup_keys(cfg, log=say, now=None):
    """Derive the keys and bring DNS in line with them (boot step).
    Returns (SigningKeys, Plan). Raises D.DnsConfError / K.KeyError_."""
    now = now or time.time()
    keys = S.SigningKeys(cfg)
    t0 = time.time()
    plan = keys.update(now)
    log("keys: signing with %s (%.1f s to load/derive)"
        % (", ".join("%s=%s" % (a, s.decode()) for a, s, _ in keys.signers()),
           time.time() - t0))
    sync_dns(cfg, keys, log)
    return keys, plan


def sync_dns(cfg, keys, log=say):
    if cfg.dns_server is None and not cfg.nameserver:
        for name, value in D.wanted_records(keys.plan, keys.keyring, cfg.domain):
            log('DNS: not checked (no --dns-server or --nameserver); publish %s TXT "%s"'
                % (name, value.decode()))
        return
    lookup, publish, delete = D.io_functions(cfg, os.urandom, time.time)
    D.sync(keys.plan, keys.keyring, cfg.domain, lookup, publish, delete, log)


async def maintain(cfg, keys, log=say):
    """Rotate: wake at each plan change, re-plan, publish/delete records."""
    while True:
        nxt = keys.plan.next_change
        if nxt is None:
            return
        wait = nxt - time.time()
        if wait > 0:
            await asyncio.sleep(min(wait, 3600))
            if time.time() < nxt:
                continue
        keys.update(time.time())
        log("keys: now signing with %s" % ", ".join(s.decode() for _, s, _ in keys.signers()))
        try:
            sync_dns(cfg, keys, log)
        except Exception as e:
            log("error: DNS update at rotation failed: %s; retrying in 60 s" % e)
            await asyncio.sleep(60)


def make_handler(cfg, keys, log=say):
    from ptt.net import smtp_client, compat
    resolver = None
    if cfg.nameserver:
        from ptt.dns import client as C
        resolver = C.Resolver(list(cfg.nameserver), os.urandom)
    return S.Relay(cfg, keys, smtp_client.send, resolver, time.time, os.urandom, log,
                   tls_context=compat.client_context())


async def serve(cfg, keys, host, port, log=say):
    from ptt.net import smtp_server
    handler = make_handler(cfg, keys, log)
    srv = await smtp_server.serve(handler, host, port, cfg.domain,
                                  log=lambda m: log("smtp: " + m),
                                  max_message_size=cfg.limit)
    return srv, handler


def main(argv):
    if len(argv) < 2 or ":" not in argv[1]:
        sys.stderr.write("usage: ptt.signer.run HOST:PORT BOOT-ARGUMENTS...\n")
        return 2
    host, _, port = argv[1].rpartition(":")
    words = []
    for w in argv[2:]:
        if w.startswith("@"):
            with open(w[1:]) as f:
                words.extend(f.read().split())
        else:
            words.append(w)
    if not any(w.startswith("--ipv4") for w in words):
        words.append("--ipv4=127.0.0.1/8")
    try:
        cfg = A.parse(words)
    except A.B.BootArgError as e:
        say("error: boot arguments: %s" % e)
        return 2
    say("signer: " + A.describe(cfg))
    try:
        keys, plan = setup_keys(cfg)
    except Exception as e:
        say("error: %s" % e)
        return 1

    async def go():
        srv, handler = await serve(cfg, keys, host, int(port))
        say("listening on %s:%s" % (host, port))
        await maintain(cfg, keys)
        while True:
            await asyncio.sleep(3600)

    asyncio.run(go())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
