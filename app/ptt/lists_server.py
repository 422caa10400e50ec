"""The lists service: SMTP in, the list store, the queue, delivery out.

Wiring only; each decision lives in its own module. The platform (kvm PID 1,
or a host process in tests) mounts the store and passes its root, a clock,
random bytes and the DNS resolver.

Acceptance rule: the reply to the end of DATA is 250 only once the outgoing
copies are in the queue on disk (temp.json and tmp/), so a crash after 250
loses nothing; before it, the client still holds the message and retries.
"""

import asyncio

from ptt.delivery.engine import Delivery, Router
from ptt.mail import headers as H
from ptt.mail.address import AddressError, parse_mailbox
from ptt.mail.dates import rfc5322
from ptt.net import smtp_server
from ptt.smtp.replies import Reply
from ptt.store import schema
from ptt.store.files import Files
from ptt.store.queue import Queue

R250_QUEUED = "2.0.0"
R550_NO_SUCH = Reply(550, "5.1.1", "no such list or address here; check the address")
R550_RELAY = Reply(550, "5.7.1", "relaying denied: this server only accepts mail for its own lists")
R451_STORE = Reply(451, "4.3.0", "could not store the message; please retry later")
R250_OK = Reply(250, "2.1.0", "ok")
R250_RCPT = Reply(250, "2.1.5", "ok")


def verp_sender(name, counter, subscriber, domain):
    """list-return-<counter>-<local>=<domain>@domain (reference encoding)."""
    local, _, sdomain = subscriber.rpartition("@")
    return "%s-return-%d-%s=%s@%s" % (name, counter, local, sdomain, domain)


class ListStore:
    """The lists on the store, loaded at boot and saved on change."""

    def __init__(self, files):
        self.files = files
        self.lists = {}
        for fname in files.listdir("lists"):
            if fname.endswith(".json"):
                name = schema.check_list_name(fname[:-5])
                self.lists[name] = files.read_json("lists/" + fname, schema.list_problems)

    def names(self):
        return sorted(self.lists)

    def save(self, name):
        self.files.write_json("lists/%s.json" % name, self.lists[name])


class ListsServer:
    def __init__(self, root, domain, clock, randbytes, resolver=None, smarthost=None,
                 tls_context=None, log=print, delivery_timeout=300, concurrency=20,
                 first_retry=300):
        self.domain = domain
        self.clock = clock
        self.randbytes = randbytes
        self.tls_context = tls_context
        self.log = log
        self.files = Files(root)
        for line in self.files.recover():
            log("store: " + line)
        self.store = ListStore(self.files)
        self.queue = Queue(self.files, randbytes, domain, first_retry=first_retry)
        log("queue: " + self.queue.load())
        self.delivery = Delivery(self.queue, Router(resolver, smarthost), domain, clock,
                                 tls_context=None, concurrency=concurrency,
                                 timeout=delivery_timeout, on_failed=self.on_failed, log=log)
        self.accepted = 0

    # -- SMTP handler (ptt.net.smtp_server) --------------------------------

    def on_mail(self, ctx, reverse_path, params):
        return R250_OK

    def _route(self, path):
        """(list name, remainder) for an address we answer, else a Reply."""
        try:
            addr = parse_mailbox(path)
        except AddressError:
            return R550_NO_SUCH
        if addr.domain != self.domain:
            return R550_RELAY
        route = schema.route_local_part(addr.local, self.store.names())
        if route is None or route[1] != "":
            return R550_NO_SUCH
        return route

    def on_rcpt(self, ctx, path, params):
        r = self._route(path)
        return r if isinstance(r, Reply) else R250_RCPT

    def _received(self, ctx, envelope, msgid):
        proto = "ESMTPS" if ctx.tls_active else "ESMTP"
        if "SMTPUTF8" in envelope.params:
            proto = "UTF8SMTPS" if ctx.tls_active else "UTF8SMTP"
        # RFC 5321 4.4 trace field.
        words = [b"from", (ctx.helo_name or "unknown").encode(), ("([%s])" % ctx.peer[0]).encode(),
                 b"by", self.domain.encode(), b"with", proto.encode(), b"id", msgid.encode() + b";",
                 rfc5322(self.clock()).encode()]
        return H.fold(b"Received", [(b" ", w, False) for w in words]) + b"\r\n"

    def on_message(self, ctx, envelope, data):
        now = self.clock()
        posts = []
        for rcpt in envelope.recipients:
            r = self._route(rcpt)
            if not isinstance(r, Reply):
                posts.append(r[0])
        queued = []
        try:
            for name in posts:
                lst = self.store.lists[name]
                lst["counter"] += 1
                counter = lst["counter"]
                self.store.save(name)  # before queueing: a counter is never reused
                txns = [(verp_sender(name, counter, s, self.domain), [s]) for s in lst["subscribers"]]
                if not txns:
                    continue
                msgid = self.queue.new_id(now)
                copy = self._received(ctx, envelope, msgid) + data
                queued.append(self.queue.add(copy, txns, now, counter=counter, msgid=msgid))
        except Exception as e:
            self.log("store: cannot queue a message from %s: %r" % (envelope.reverse_path, e))
            return R451_STORE
        self.accepted += 1
        self.delivery.wake()
        self.log("accepted from <%s> for %s: %s" % (envelope.reverse_path, ", ".join(posts), " ".join(queued)))
        return Reply(250, R250_QUEUED, "queued as %s" % (" ".join(queued) or "(no subscribers)"))

    def on_failed(self, entry, reply):
        self.log("delivery: %s to %s failed for good: %s %s" % (entry.msgid, entry.recipient, reply.code, reply.text))

    # -- running -------------------------------------------------------------

    async def serve(self, host, port, **limits):
        """Start SMTP and delivery; returns the SMTP server (close() to stop)."""
        asyncio.create_task(self.delivery.serve())
        return await smtp_server.serve(self, host, port, self.domain, tls_context=self.tls_context,
                                       log=self.log, **limits)

    def close(self):
        self.queue.flush()
