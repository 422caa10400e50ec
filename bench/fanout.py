"""VERP fan-out: one 10 KB post to N recipients over 100 domains, each copy
with its own envelope sender (list-bounces+user=domain@lists.bench.test),
delivered over SMTP to a local sink (Postfix's smtp-sink on 127.0.0.1).

    .venv/bin/python bench/fanout.py [--sizes 1000,10000] [--domains 100]
                                     [--parallel 20] [--size-kb 10]
                                     [--skip-postfix] [--skip-ptt]

Postfix: a private instance (tests/interop/postfix.py) gets the post by
`sendmail -XV -f SENDER -i RCPT...`; transport_maps sends every test domain
to smtp:[127.0.0.1]:SINKPORT. Postfix defaults otherwise: at most 20 parallel
connections per next hop (all domains share the sink's next hop), sessions
reused through its connection cache, one recipient per transaction (VERP).
The clock stops at qmgr's "removed" log line for the post (`postqueue -p`
then confirms "Mail queue is empty"; polling it instead costs a process per
poll and reads a little slower).

ptt: the lists server under the real MicroPython binary (tests/interop/
lists_host.py runs app/ptt/main_host.py, the same service as the image) with
a list of every recipient on a FAT image; one post over SMTP; the delivery
engine (one session per domain, a transaction per recipient for VERP,
--parallel domains at a time) sends through the sink as smarthost. The clock
runs from the post to an empty queue on disk, so it includes accepting the
post, writing the queue and every delivery result.

Prints seconds and deliveries per second for each, and ours/Postfix.
Needs root (a private Postfix) and the postfix package. Not a test.
"""
import argparse
import json
import smtplib
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
sys.path.insert(0, os.path.join(ROOT, "tools"))

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

def run_ptt(recipients_by_domain, message, sink_addr, parallel=None, heap=None):
    """The whole lists server under MicroPython (the same code as the image):
    a list holding every recipient on a FAT image, one post over SMTP, the
    delivery engine fanning it out through the sink as smarthost. The clock
    runs from the post's DATA to an empty queue on disk (temp.json)."""
    from interop.lists_host import ListsHost, free_port
    from ptt_tool.cli import main as tool
    from ptt_tool import fatimage
    from ptt_tool.store import Store
    tmp = tempfile.mkdtemp(prefix="ptt-fanout-")
    try:
        img = os.path.join(tmp, "lists.img")
        rcpts = [r for d in sorted(recipients_by_domain) for r in recipients_by_domain[d]]
        size = "%dM" % max(64, 2 * len(message) * 2 // (1 << 20) + 64)
        assert tool(["create", img, "--size", size, "--domain", "lists.bench.test"]) == 0
        assert tool(["add", img, "list", "-m", "mod@bench.test"]) == 0
        assert tool(["set", img, "list", "policy=open", "max_size=%d" % (2 * len(message))]) == 0
        with fatimage.editing(img) as vol:
            st = Store(vol)
            lst = st.load_list("list")
            lst["subscribers"] = rcpts
            st.save_list("list", lst)
        srv = ListsHost(img, "lists.bench.test", free_port(),
                        smarthost="%s:%d" % sink_addr, delivery_timeout=120)
        if parallel:
            srv.args += ["--concurrency", str(parallel)]
        t_start = time.monotonic()
        srv.start(timeout=120)
        started = time.monotonic() - t_start
        try:
            smtp = smtplib.SMTP("127.0.0.1", srv.port, timeout=120)
            t0 = time.monotonic()
            smtp.sendmail("poster@bench.test", ["list@lists.bench.test"], message)
            accepted = time.monotonic() - t0
            smtp.quit()
            while True:
                out = subprocess.run(["mtype", "-i", img, "::/temp.json"], capture_output=True).stdout
                if out.strip() == b"[]":
                    break
                if time.monotonic() - t0 > 1200:
                    raise SystemExit("ptt: the queue did not empty in 20 minutes:\n" + srv.output()[-3000:])
                time.sleep(0.05)
            secs = time.monotonic() - t0
        finally:
            srv.stop()
        log = srv.output()
        run_ptt.last = {"start": started, "accepted": accepted,
                        "failed": log.count("failed for good")}
        return secs
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
    ap.add_argument("--skip-postfix", action="store_true")
    ap.add_argument("--skip-ptt", action="store_true")
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
                    secs = run_ptt(rbd, message, sink.addr, args.parallel)
                    row["ptt"] = secs
                    last = run_ptt.last
                    print("ptt      %6d rcpts: %7.2f s  %8.0f msg/s  (250 after %.2f s; "
                          "%d failed; server start %.2f s)"
                          % (n, secs, n / secs, last["accepted"], last["failed"], last["start"]))
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
