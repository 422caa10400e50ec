"""The lists service: SMTP in, the list store, the queue, delivery out.

Wiring only; each decision lives in its own module. The platform (kvm PID 1,
or a host process in tests) mounts the store and passes its root, a clock,
random bytes and the DNS resolver.

Acceptance rule: the reply to the end of DATA is 250 only once the outgoing
copies are in the queue on disk (temp.json and tmp/), so a crash after 250
loses nothing; before it, the client still holds the message and retries.
"""

import asyncio
import binascii

from ptt.delivery.engine import Delivery, Router
from ptt.lists import logic
from ptt.lists import pending as P
from ptt.lists import route
from ptt.dns.resolver import NxDomain
from ptt.dns import wire as W
from ptt import authres, spf
from ptt.mail import headers as H
from ptt.mail.address import AddressError, normalize_domain, split_mailbox
from ptt.mail.dates import rfc5322
from ptt.net import compat, smtp_server
from ptt.smtp.replies import Reply
from ptt.store import schema
from ptt.store.files import Files
from ptt.store.queue import Queue

R550_NO_SUCH = Reply(550, "5.1.1", "no such list or address here; check the address")
R550_RELAY = Reply(550, "5.7.1", "relaying denied: this server only accepts mail for its own lists")
R451_STORE = Reply(451, "4.3.0", "could not store the message; please retry later")
R250_OK = Reply(250, "2.1.0", "ok")
R250_RCPT = Reply(250, "2.1.5", "ok")
PENDING = "pending"
TLS_CERT = "tls/cert.pem"
TLS_KEY = "tls/key.pem"
META = "store.json"
BOUNCES = "bounces.json"


class Store:
    """The documents of the store, loaded at boot, written as they change."""

    def __init__(self, files, domain, randbytes, log):
        self.files = files
        if not files.exists(PENDING):
            files.mkdir(PENDING)  # stores made before pending requests existed
        lists = {}
        for fname in files.listdir("lists"):
            if fname.endswith(".json"):
                name = schema.check_list_name(fname[:-5])
                lists[name] = files.read_json("lists/" + fname, schema.list_problems)
        pend = {}
        for fname in files.listdir(PENDING):
            if fname.endswith(".json"):
                pend[fname[:-5]] = files.read_json(PENDING + "/" + fname, P.problems)
        bounces = files.read_json(BOUNCES, schema.bounces_problems)
        self.state = logic.State(lists, pend, bounces, held=self.held)
        self.secret = self._secret(domain, randbytes, log)

    def _secret(self, domain, randbytes, log):
        if self.files.exists(META):
            meta = self.files.read_json(META, schema.store_meta_problems)
            if meta.get("domain") not in (None, domain):
                log("store: warning: the store was made for %s, this server is %s" % (meta["domain"], domain))
        else:  # a store made by the reference: make the secret once, here
            meta = {"version": schema.STORE_VERSION, "domain": domain,
                    "secret": binascii.b2a_base64(randbytes(32)).strip().decode()}
            self.files.write_json(META, meta)
            log("store: created store.json with a new secret")
        return binascii.a2b_base64(meta["secret"])

    def held(self, pid):
        return self.files.read(PENDING + "/" + pid + ".eml")

    def names(self):
        return sorted(self.state.lists)

    def save(self, out):
        """Write what an Outcome changed, documents first (see logic.py)."""
        for name in out.lists:
            self.files.write_json("lists/%s.json" % name, out.lists[name])
        for pid in out.held:
            self.files.write(PENDING + "/" + pid + ".eml", out.held[pid])
        for pid in out.pending:
            self.files.write_json(PENDING + "/" + pid + ".json", out.pending[pid])
        for pid in out.pending_deleted:
            self.files.remove(PENDING + "/" + pid + ".json")
            self.files.remove(PENDING + "/" + pid + ".eml")
        if out.bounces is not None:
            self.files.write_json(BOUNCES, out.bounces)
        out.apply(self.state)


class ListsServer:
    def __init__(self, root, domain, clock, randbytes, resolver=None, smarthost=None,
                 tls_context=None, log=print, delivery_timeout=300, concurrency=20,
                 first_retry=300, admin=None):
        self.domain = domain
        self.admin = admin  # (extra local part or None, email) or None
        self.clock = clock
        self.randbytes = randbytes
        self.resolver = resolver
        self.tls_context = tls_context
        self.log = log
        self.files = Files(root)
        for line in self.files.recover():
            log("store: " + line)
        self.store = Store(self.files, domain, randbytes, log)
        if self.tls_context is None:
            self.tls_context = self._tls_context()
        self.queue = Queue(self.files, randbytes, domain, first_retry=first_retry)
        log("queue: " + self.queue.load())
        self.delivery = Delivery(self.queue, Router(resolver, smarthost), domain, clock,
                                 tls_context=compat.client_context(), concurrency=concurrency,
                                 timeout=delivery_timeout, on_failed=self.on_failed, log=log)
        self.accepted = 0
        self.apply(logic.expire(self.ctx(), self.store.state))

    def _tls_context(self):
        """STARTTLS from tls/cert.pem and tls/key.pem on the store, if there
        (ptt-tool tls puts them there)."""
        if not (self.files.exists(TLS_CERT) and self.files.exists(TLS_KEY)):
            self.log("tls: no certificate on the store (ptt-tool tls): STARTTLS not offered")
            return None
        try:
            ctx = compat.server_context(self.files.read(TLS_CERT), self.files.read(TLS_KEY))
        except Exception as e:  # a bad pair must not stop the mail: serve in the clear
            self.log("tls: cannot load tls/cert.pem and tls/key.pem (%r): STARTTLS not offered" % (e,))
            return None
        self.log("tls: STARTTLS offered with tls/cert.pem")
        return ctx

    def ctx(self, lookup=None):
        lookup = lookup or self.lookup()

        def txt(name):
            # DMARC policy search: [] where the name does not exist (the
            # search goes on up the tree); raising means "unknown", and the
            # logic then mitigates.
            try:
                found = lookup(name, "TXT")
            except spf.NXDomain:
                return []
            return [t.decode() if isinstance(t, bytes) else t for t in found]
        return logic.Context(self.domain, self.store.secret, self.clock(), self.randbytes, txt)

    def lookup(self):
        """A DNS lookup for one message, as ptt.spf and ptt.authres want it
        (SPF, DKIM keys, DMARC), remembering answers so the list logic's
        DMARC search asks nothing twice. PTR is not supported: the SPF
        "ptr" mechanism (discouraged by RFC 7208 5.5) then matches nothing."""
        memo = {}
        types = {"A": W.A, "AAAA": W.AAAA, "MX": W.MX, "TXT": W.TXT}

        def lookup(name, rtype):
            key = (name, rtype)
            if key not in memo:
                try:
                    if self.resolver is None:
                        raise OSError("no resolver configured")
                    if rtype not in types:
                        memo[key] = []
                    else:
                        data = self.resolver.query(name, types[rtype]).data
                        memo[key] = [W.txt_value(d) for d in data] if rtype == "TXT" else list(data)
                except NxDomain:
                    memo[key] = spf.NXDomain(name)
                except Exception as e:
                    memo[key] = e
            r = memo[key]
            if isinstance(r, Exception):
                raise r
            return r
        return lookup

    def apply(self, out):
        """Make an Outcome durable: documents, then queued mail. Returns ids."""
        for line in out.log:
            self.log("lists: " + line)
        self.store.save(out)
        now = self.clock()
        ids = []
        for m in out.mails:
            ids.append(self.queue.add(m.data, [(m.sender, m.recipients)], now))
        for p in out.posts:
            txns = [(sender, [rcpt]) for sender, rcpt in p.transactions]
            if txns:
                ids.append(self.queue.add(p.data, txns, now, counter=p.counter))
        if ids:
            self.delivery.wake()
        return ids

    # -- SMTP handler (ptt.net.smtp_server) --------------------------------

    def on_mail(self, ctx, reverse_path, params):
        return R250_OK

    def _is_admin(self, path):
        """postmaster (RFC 5321 4.5.1: must be accepted) or --admin's LOCAL."""
        if path.lower() == "postmaster":
            return True
        try:
            local, domain = split_mailbox(path)
            if normalize_domain(domain) != self.domain:
                return False
        except AddressError:
            return False
        local = local.lower()
        return local == "postmaster" or (self.admin is not None and local == self.admin[0])

    def _admin_recipients(self):
        if self.admin is not None:
            return [self.admin[1]]
        seen = []
        for name in self.store.names():
            for m in self.store.state.lists[name]["moderators"]:
                if m not in seen:
                    seen.append(m)
        return seen

    def on_rcpt(self, ctx, path, params):
        if self._is_admin(path):
            return R250_RCPT
        try:
            _, domain = split_mailbox(path)
            if normalize_domain(domain) != self.domain:
                return R550_RELAY
        except AddressError:
            return R550_NO_SUCH
        return R250_RCPT if logic.accepts(self.ctx(), self.store.state, path) else R550_NO_SUCH

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
        lookup = self.lookup()
        c = self.ctx(lookup)
        admin = [r for r in envelope.recipients if self._is_admin(r)]
        lists = [r for r in envelope.recipients if not self._is_admin(r)]
        if lists:
            refusal = logic.precheck(c, self.store.state, envelope.reverse_path, lists, data)
            if refusal is not None:
                self.log("refused from <%s>: %s %s %s" % ((envelope.reverse_path,) + tuple(refusal)))
                return Reply(refusal[0], refusal[1], refusal[2])
        trace_id = self.queue.new_id(c.now)
        received = self._received(ctx, envelope, trace_id)
        try:
            ids = []
            if admin:  # forwarded as it came, so replies and bounces reach the sender
                data_admin = received + data
                to = self._admin_recipients()
                if to:
                    ids.append(self.queue.add(data_admin, [(envelope.reverse_path, to)], c.now))
                    self.delivery.wake()
            if lists:
                # RFC 8601: our verdict on top, any field claiming to be ours
                # removed; the signer turns it into ARC-Authentication-Results.
                data, summary = authres.authenticate(data, ctx.peer[0], ctx.helo_name or "",
                                                     envelope.reverse_path, self.domain, lookup, c.now)
                self.log("auth: <%s> %s" % (envelope.reverse_path, summary.field.decode().split(";", 1)[1].strip()))
                data = received + data
                ids += self.apply(logic.incoming(c, self.store.state, envelope.reverse_path, lists, data))
        except Exception as e:
            self.log("store: cannot take a message from <%s>: %r" % (envelope.reverse_path, e))
            return R451_STORE
        self.accepted += 1
        return Reply(250, "2.0.0", "accepted as %s%s" % (trace_id, "; queued " + " ".join(ids) if ids else ""))

    def on_failed(self, entry, reply):
        """A recipient failed for good: list posts count it as a bounce."""
        self.log("delivery: %s to %s failed for good: %s %s" % (entry.msgid, entry.recipient, reply.code, reply.text))
        # Only posts carry a VERP return address; the first post's counter
        # is 0, so the sender, not the counter, says what this was.
        r = route.classify(entry.sender, self.domain, self.store.names())
        if r is None or r.kind != route.RETURN:
            return
        status = reply.status or str(reply.code)
        try:
            self.apply(logic.delivery_failure(self.ctx(), self.store.state, r.name, entry.recipient,
                                              r.counter, status, reply.text))
        except Exception as e:
            self.log("lists: cannot record the bounce of %s: %r" % (entry.recipient, e))

    # -- running -------------------------------------------------------------

    async def serve(self, host, port, **limits):
        """Start SMTP and delivery; returns the SMTP server (close() to stop)."""
        asyncio.create_task(self.delivery.serve())
        asyncio.create_task(self.housekeeping())
        return await smtp_server.serve(self, host, port, self.domain, tls_context=self.tls_context,
                                       log=self.log, **limits)

    async def housekeeping(self, every=3600):
        """Expire pending requests and old bounce records, hourly."""
        while True:
            await asyncio.sleep(every)
            self.apply(logic.expire(self.ctx(), self.store.state))

    async def shutdown(self, timeout=20):
        """After the SMTP server closed: let deliveries under way finish
        (bounded), then write the queue."""
        if not await self.delivery.drain(timeout):
            self.log("delivery: still busy after %d s; the rest goes again after the restart" % timeout)
        self.queue.flush()
