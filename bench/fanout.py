"""VERP fan-out: one 10 KB post to N recipients over 100 domains, each copy
with its own envelope sender (list-bounces+user=domain@lists.bench.test),
delivered over SMTP to a local sink (Postfix's smtp-sink on 127.0.0.1).

    .venv/bin/python bench/fanout.py [--sizes 1000,10000] [--domains 100]
                                     [--parallel 20] [--size-kb 10]
                                     [--skip-postfix] [--skip-ptt] [--ptt-cpython]

Postfix: a private instance (tests/interop/postfix.py) gets the post by
`sendmail -XV -f SENDER -i RCPT...`; transport_maps sends every test domain
to smtp:[127.0.0.1]:SINKPORT. Postfix defaults otherwise: at most 20 parallel
connections per next hop (all domains share the sink's next hop), sessions
reused through its connection cache, one recipient per transaction (VERP).
The clock stops at qmgr's "removed" log line for the post (`postqueue -p`
then confirms "Mail queue is empty"; polling it instead costs a process per
poll and reads a little slower).

ptt: run_ptt(recipients_by_domain, message, sink_addr) -> seconds. Until
the delivery engine (app/ptt/delivery) lands it drives ptt.net.smtp_client
under the real MicroPython binary (tools/mpy): one session per domain, one
transaction per recipient (VERP), --parallel domains at a time, timed inside
the MicroPython process (start-up is printed separately).

Prints seconds and deliveries per second for each, and ours/Postfix.
Needs root (a private Postfix) and the postfix package. Not a test.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "app"))

from interop import postfix  # noqa: E402

MPY = os.path.join(ROOT, "tools", "mpy")
LIST = "list-bounces@lists.bench.test"
MPY_HEAP = "64M"    # what tests/interop/lists_host.py gives the lists app; the
                    # image gives it all free memory. At tools/mpy's default 8M,
                    # 10,000 recipients fail with MemoryError (64 KB read buffers
                    # in a fragmented heap).
PARALLEL = 20       # domains (sessions) at a time for ptt; Postfix's default
                    # destination concurrency is also 20


def find_smtp_sink():
    for p in (shutil.which("smtp-sink"), "/usr/sbin/smtp-sink",
              "/usr/lib/postfix/sbin/smtp-sink"):
        if p and os.path.exists(p):
            return p
    raise SystemExit("smtp-sink not found (package postfix)")


def verp(rcpt):
    local, _, domain = rcpt.partition("@")
    return "list-bounces+%s=%s@lists.bench.test" % (local, domain)


def make_message(size):
    head = (b"From: Alice <alice@example.org>\r\nTo: list@lists.bench.test\r\n"
            b"Subject: fan-out benchmark\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
            b"Message-ID: <fanout@example.org>\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    line = b"The quick brown fox jumps over the lazy dog, again and again.  \r\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


def make_recipients(count, domains):
    """count recipients spread round-robin over `domains` domains."""
    by_domain = {}
    for i in range(count):
        d = "d%03d.bench.test" % (i % domains)
        by_domain.setdefault(d, []).append("user%05d@%s" % (i, d))
    return by_domain


class Sink:
    """smtp-sink on 127.0.0.1:PORT (accepts everything, stores nothing)."""

    def __init__(self):
        self.port = postfix.free_port()
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen([find_smtp_sink(), "-u", "postfix",
                                      "127.0.0.1:%d" % self.port, "1000"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                s.recv(100)
                s.close()
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise SystemExit("smtp-sink exited: %s" % self.proc.stderr.read())
                time.sleep(0.02)
        raise SystemExit("smtp-sink does not answer")

    @property
    def addr(self):
        return ("127.0.0.1", self.port)

    def __exit__(self, *a):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- Postfix --------------------------------------------------------------

class PostfixRelay(postfix.Instance):
    def __init__(self, sink_addr):
        super().__init__(None, listen=(), hostname="lists.bench.test", name="ptt-fanout-",
                         main={"transport_maps": "regexp:$config_directory/transport",
                               "relay_domains": "",
                               "mydestination": "",
                               "in_flow_delay": "0"})
        self.sink_addr = sink_addr

    def before_start(self):
        self.write_file("transport", "/\\.bench\\.test$/ smtp:[%s]:%d\n" % self.sink_addr)


def run_postfix(relay, recipients_by_domain, message):
    rcpts = [r for d in sorted(recipients_by_domain) for r in recipients_by_domain[d]]
    data = message.replace(b"\r\n", b"\n")
    log_before = len(relay.log())
    t0 = time.monotonic()
    relay.sendmail(LIST, rcpts, data, verp=True)
    # The end: qmgr logs "QUEUEID: removed" when the last recipient is done.
    # Watching the log costs less than polling `postqueue -p` (a process and
    # a showq run each time), which then confirms the queue is empty.
    with open(relay.maillog, "rb") as f:
        f.seek(log_before)
        buf = b""
        deadline = t0 + 600
        while b": removed" not in buf:
            chunk = f.read()
            if chunk:
                buf = buf[-100:] + chunk
            elif time.monotonic() > deadline:
                raise SystemExit("Postfix did not finish:\n" + relay.log_tail())
            else:
                time.sleep(0.005)
    seconds = time.monotonic() - t0
    relay.wait_queue_empty(timeout=60)
    # the mail log is written by postlogd a moment later
    sent = 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        sent = relay.log()[log_before:].count("status=sent")
        if sent >= len(rcpts):
            break
        time.sleep(0.1)
    return seconds, sent


# --- ptt ------------------------------------------------------------------

MPY_DRIVER = r"""
import sys, json, time
try:
    import asyncio
except ImportError:
    import uasyncio as asyncio
from ptt.net import smtp_client
from ptt.smtp.client import Transaction, DELIVERED

def clock():
    try:
        return time.ticks_ms()
    except AttributeError:
        return int(time.time() * 1000)

def elapsed(t0):
    try:
        return time.ticks_diff(time.ticks_ms(), t0)
    except AttributeError:
        return int(time.time() * 1000) - t0

with open(sys.argv[1]) as f:
    job = json.load(f)
with open(sys.argv[2], "rb") as f:
    msg = f.read()
host = job["host"]
port = job["port"]
work = job["domains"]        # [[domain, [rcpt, ...]], ...]
counts = {"delivered": 0, "other": 0, "sessions": 0}
first_problem = []

def verp(r):
    i = r.rfind("@")
    return "list-bounces+%s=%s@lists.bench.test" % (r[:i], r[i + 1:])

async def worker():
    while work:
        domain, rcpts = work.pop()
        txns = [Transaction(verp(r), [r], msg) for r in rcpts]
        done = await smtp_client.send(host, port, "lists.bench.test", txns, timeout=60)
        counts["sessions"] += 1
        for d in done:
            for rr in d.results:
                if rr.status == DELIVERED:
                    counts["delivered"] += 1
                else:
                    counts["other"] += 1
                    if not first_problem:
                        first_problem.append("%s %s %s" % (rr.recipient, rr.status, rr.reply))

async def main():
    t0 = clock()
    await asyncio.gather(*[worker() for _ in range(job["parallel"])])
    ms = elapsed(t0)
    print("RESULT", ms, counts["delivered"], counts["other"], counts["sessions"])
    if first_problem:
        print("PROBLEM", first_problem[0])

asyncio.run(main())
"""


def run_ptt(recipients_by_domain, message, sink_addr, parallel=None, cpython=False,
            heap=None):
    """Deliver `message` to every recipient (VERP sender each) through
    `sink_addr` (host, port); return the seconds it took.

    The lead replaces the body with the delivery engine; until then this
    drives ptt.net.smtp_client under MicroPython (see the module text)."""
    parallel = parallel or PARALLEL
    tmp = tempfile.mkdtemp(prefix="ptt-fanout-")
    try:
        job = os.path.join(tmp, "job.json")
        with open(job, "w") as f:
            json.dump({"host": sink_addr[0], "port": sink_addr[1], "parallel": parallel,
                       "domains": [[d, recipients_by_domain[d]]
                                   for d in sorted(recipients_by_domain, reverse=True)]}, f)
        msgfile = os.path.join(tmp, "msg.eml")
        with open(msgfile, "wb") as f:
            f.write(message)
        driver = os.path.join(tmp, "driver.py")
        with open(driver, "w") as f:
            f.write(MPY_DRIVER)
        if cpython:
            cmd = [sys.executable, driver, job, msgfile]
            env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "app"))
        else:
            cmd = [MPY, "-X", "heapsize=" + (heap or MPY_HEAP), driver, job, msgfile]
            env = dict(os.environ, MICROPYPATH="%s:%s:.frozen" % (
                os.path.join(ROOT, "app"), os.path.join(ROOT, "tests", "mpy")))
        t0 = time.monotonic()
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                           timeout=1200)
        wall = time.monotonic() - t0
        if p.returncode != 0 or "RESULT" not in p.stdout:
            raise SystemExit("ptt driver failed (%d):\n%s\n%s" % (p.returncode, p.stdout,
                                                                  p.stderr[-3000:]))
        parts = p.stdout.split("RESULT", 1)[1].split()
        ms, delivered, other, sessions = (int(x) for x in parts[:4])
        want = sum(len(v) for v in recipients_by_domain.values())
        run_ptt.last = {"wall": wall, "delivered": delivered, "other": other,
                        "sessions": sessions}
        if delivered != want:
            print("  ptt: %d of %d delivered; %s" % (delivered, want, p.stdout.strip()))
        return ms / 1000.0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


run_ptt.last = {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="1000,10000",
                    help="recipient counts, comma-separated (default 1000,10000)")
    ap.add_argument("--domains", type=int, default=100)
    ap.add_argument("--size-kb", type=float, default=10)
    ap.add_argument("--parallel", type=int, default=PARALLEL,
                    help="ptt: domains delivered at a time (default %d)" % PARALLEL)
    ap.add_argument("--mpy-heap", default=MPY_HEAP,
                    help="MicroPython heap for ptt (default %s)" % MPY_HEAP)
    ap.add_argument("--skip-postfix", action="store_true")
    ap.add_argument("--skip-ptt", action="store_true")
    ap.add_argument("--ptt-cpython", action="store_true",
                    help="also run the ptt driver under CPython, for context")
    args = ap.parse_args()
    if not args.skip_postfix and not postfix.available():
        raise SystemExit("Postfix needs root and the postfix package (or --skip-postfix)")
    sizes = [int(s) for s in args.sizes.split(",") if s]
    message = make_message(int(args.size_kb * 1024))
    print("message %d bytes; %s recipients over %d domains; VERP; sink smtp-sink"
          % (len(message), "/".join(str(s) for s in sizes), args.domains))
    rows = []
    with Sink() as sink:
        relay = None
        try:
            if not args.skip_postfix:
                relay = PostfixRelay(sink.addr)
                relay.start()
                print("postfix private instance started in %.2f s" % relay.start_seconds)
            for n in sizes:
                rbd = make_recipients(n, args.domains)
                row = {"n": n}
                if relay:
                    secs, sent = run_postfix(relay, rbd, message)
                    row["postfix"] = secs
                    print("postfix  %6d rcpts: %7.2f s  %8.0f msg/s  (log: %d sent)"
                          % (n, secs, n / secs, sent))
                if not args.skip_ptt:
                    secs = run_ptt(rbd, message, sink.addr, args.parallel,
                                   heap=args.mpy_heap)
                    row["ptt"] = secs
                    last = run_ptt.last
                    print("ptt mpy  %6d rcpts: %7.2f s  %8.0f msg/s  (%d delivered, %d "
                          "sessions; %.2f s with start-up)"
                          % (n, secs, n / secs, last.get("delivered", 0),
                             last.get("sessions", 0), last.get("wall", 0)))
                    if args.ptt_cpython:
                        secs_c = run_ptt(rbd, message, sink.addr, args.parallel, cpython=True)
                        print("ptt cpy  %6d rcpts: %7.2f s  %8.0f msg/s  (CPython, context only)"
                              % (n, secs_c, n / secs_c))
                rows.append(row)
        finally:
            if relay:
                relay.stop()
    print()
    print("%8s %12s %12s %12s %12s %10s" % ("rcpts", "postfix s", "postfix/s", "ptt s",
                                             "ptt/s", "ptt rate/postfix rate"))
    for r in rows:
        pf = r.get("postfix")
        pt = r.get("ptt")
        print("%8d %12s %12s %12s %12s %10s" % (
            r["n"],
            "%.2f" % pf if pf else "-", "%.0f" % (r["n"] / pf) if pf else "-",
            "%.2f" % pt if pt else "-", "%.0f" % (r["n"] / pt) if pt else "-",
            "%.2f" % (pf / pt) if pf and pt else "-"))


if __name__ == "__main__":
    main()
