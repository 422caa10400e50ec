"""Deliver what the queue holds: MX choice, sessions, retries (async I/O).

A run takes every due entry, opens one SMTP session per destination domain
(up to `concurrency` domains at once), tries the domain's MX hosts in
preference order, and records each recipient's outcome in the queue.
"""

import asyncio

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython
    import time as _t

    def ticks_ms():
        return int(_t.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b

from ptt.delivery import plan
from ptt.net import smtp_client
from ptt.smtp.client import Transaction
from ptt.smtp.replies import Reply
from ptt.store import queue as Q


NO_RESULT = Reply(451, "4.3.0", "the session ended without a result for this recipient; retrying")


def _all_temporary(outcomes):
    for o in outcomes:
        if o[1] != "temporary":
            return False
    return True


class Router:
    """Where mail for a domain goes: [(ip, port)], or an error Reply.

    A smarthost (boot argument) takes everything; otherwise the domain's MX
    hosts (implicit MX and null MX handled by the resolver) on port 25.
    """

    def __init__(self, resolver=None, smarthost=None, port=25):
        self.resolver = resolver
        self.smarthost = smarthost
        self.port = port

    def hosts(self, domain):
        if self.smarthost is not None:
            return [self.smarthost], None
        try:
            addrs = []
            for _, host in self.resolver.mx_hosts(domain):
                try:
                    for ip in self.resolver.addresses(host):
                        addrs.append((ip, self.port))
                except Exception:
                    continue  # this MX has no usable address: try the next
        except Exception as e:
            if getattr(e, "temporary", True):
                return None, Reply(451, "4.4.3", "cannot resolve the mail servers of %s (%s); retrying" % (domain, e))
            return None, Reply(550, "5.1.2", "%s accepts no mail (%s)" % (domain, e))
        if not addrs:
            return None, Reply(451, "4.4.3", "no address for any mail server of %s; retrying" % domain)
        return addrs, None


class Delivery:
    def __init__(self, queue, router, local_hostname, clock, tls_context=None,
                 concurrency=20, timeout=300, on_failed=None, log=print, flush_every=1):
        self.queue = queue
        self.router = router
        self.local_hostname = local_hostname
        self.clock = clock
        self.tls_context = tls_context
        self.concurrency = concurrency
        self.timeout = timeout
        self.on_failed = on_failed   # (entry, reply) for permanent failures
        self.log = log
        self.flush_every = flush_every
        self._last_flush = 0
        self._wake = asyncio.Event()
        self.stats = {"delivered": 0, "retry": 0, "failed": 0}
        self.flush_ms = 0
        self.active = 0  # delivery runs under way

    def wake(self):
        self._wake.set()

    def _record(self, entry, status, reply):
        now = self.clock()
        verdict = self.queue.record(entry, status, now)
        self.stats[verdict] += 1
        if verdict == "failed" and self.on_failed is not None:
            self.on_failed(entry, reply)
        if now - self._last_flush >= self.flush_every:
            self._flush()

    async def _domain(self, domain, groups, bodies):
        hosts, error = self.router.hosts(domain)
        if error is not None:
            status = "temporary" if error.code < 500 else "permanent"
            for g in groups:
                for e in g:
                    self._record(e, status, error)
            return
        txns = None
        for i, (ip, port) in enumerate(hosts):
            if txns is None:
                txns = []
                for g in groups:
                    body = bodies.get(g[0].msgid)
                    if body is None:
                        body = bodies[g[0].msgid] = self.queue.body(g[0].msgid)
                    txns.append(Transaction(g[0].sender, [e.recipient for e in g], body))
            outcomes = await self._session(ip, port, groups, txns, self.tls_context)
            if self.tls_context is not None and _all_temporary(outcomes):
                # Opportunistic TLS (RFC 7435): a failed handshake must not
                # strand the mail; this host gets one more try in the clear.
                outcomes = await self._session(ip, port, groups, txns, None)
            # RFC 5321 5.1: when this host fails temporarily as a whole, the
            # next MX may still take the mail.
            if i + 1 < len(hosts) and _all_temporary(outcomes):
                self.log("delivery: %s:%s failed for %s (%s); trying the next MX" % (ip, port, domain, outcomes[0][2]))
                continue
            for e, status, reply in outcomes:
                self._record(e, status, reply)
            return

    async def _session(self, ip, port, groups, txns, tls_context):
        done = await smtp_client.send(ip, port, self.local_hostname, txns,
                                      tls_context=tls_context, timeout=self.timeout)
        by_rcpt = {}
        for td in done:
            for r in td.results:
                by_rcpt[(id(td.transaction), r.recipient)] = r
        outcomes = []
        for g, t in zip(groups, txns):
            for e in g:
                r = by_rcpt.get((id(t), e.recipient))
                if r is None:  # no word on it: never leave it stuck
                    outcomes.append((e, "temporary", NO_RESULT))
                else:
                    outcomes.append((e, r.status, r.reply))
        return outcomes

    def _flush(self):
        t0 = ticks_ms()
        self.queue.flush()
        self.flush_ms += ticks_diff(ticks_ms(), t0)
        self._last_flush = self.clock()

    def _take_due(self):
        due = self.queue.due(self.clock())
        for e in due:
            e.state = Q.BUSY
        return due

    async def run_once(self):
        """Deliver everything due now; returns when each has an outcome."""
        return await self._run(self._take_due())

    async def _run(self, due):
        if not due:
            return 0
        self.active += 1
        try:
            return await self._deliver(due)
        finally:
            self.active -= 1

    async def drain(self, timeout):
        """Wait (at most TIMEOUT seconds) for the runs under way to finish,
        so a clean shutdown records what was delivered; whatever is still
        out stays queued and goes again after the restart."""
        waited = 0
        while self.active and waited < timeout * 1000:
            await asyncio.sleep(0.05)
            waited += 50
        return self.active == 0

    async def _deliver(self, due):
        t0 = ticks_ms()
        before = dict(self.stats)
        self.flush_ms = 0
        work = plan.by_domain(due)
        bodies = {}

        async def worker():
            while work:
                domain, groups = work.pop(0)
                try:
                    await self._domain(domain, groups, bodies)
                except Exception as ex:  # a bug must not lose the entries
                    self.log("delivery: error delivering to %s: %r" % (domain, ex))
                    for g in groups:
                        for e in g:
                            if e.state == Q.BUSY:
                                self._record(e, "temporary", Reply(451, "4.3.0", "local error"))

        tasks = [asyncio.create_task(worker()) for _ in range(min(self.concurrency, len(work)))]
        for t in tasks:
            await t
        self._flush()
        self.log("delivery: %d recipients in %d ms (%d delivered, %d to retry, %d failed; %d ms writing the queue)"
                 % (len(due), ticks_diff(ticks_ms(), t0),
                    self.stats["delivered"] - before["delivered"], self.stats["retry"] - before["retry"],
                    self.stats["failed"] - before["failed"], self.flush_ms))
        # serve() chose its sleep while these entries were busy: let it look
        # again now that retries have their times.
        self._wake.set()
        return len(due)

    async def serve(self):
        """Deliver forever: at once when woken (new mail), else when due."""
        while True:
            self._wake.clear()
            due = self._take_due()
            if due:  # runs may overlap: each owns the entries it marked busy
                asyncio.create_task(self._run(due))
            nxt = self.queue.next_due()
            delay = 3600 if nxt is None else max(1, nxt - self.clock())
            try:
                await asyncio.wait_for(self._wake.wait(), delay)
            except asyncio.TimeoutError:
                pass
