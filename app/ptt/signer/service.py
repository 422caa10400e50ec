"""The signer's SMTP handler for ptt.net.smtp_server.serve, and its keys.

    keys = SigningKeys(cfg); keys.update(now)
    handler = Relay(cfg, keys, send=smtp_client.send, resolver=resolver,
                    now=time.time, randbytes=os.urandom)
    await smtp_server.serve(handler, "0.0.0.0", 25, cfg.domain)

Every effect is injected: `send` is a coroutine with the signature of
ptt.net.smtp_client.send; `resolver` has mx_hosts(), addresses(), txt()
(ptt.dns.client.Resolver) or is None with --dst; `now` returns Unix
seconds. The decisions themselves are in relay.py, signing.py, keyset.py.

Per connection: the client's address is checked against --trusted at
connect; MAIL FROM from anywhere else gets 550 5.7.1. Per transaction: the
recipients share one next hop (relay.py). At the end of DATA the message
gets a Received field, is signed/sealed, and is relayed in one transaction
to the next hop (--dst, or the MX hosts in order: the next one only when a
connection failed or answered 421). The client gets the next hop's answer.
"""
from ptt.signer import keyset as K
from ptt.signer import relay as RL
from ptt.signer import signing as SG
from ptt.signer import dsn as DSN
from ptt.smtp import client as _client
from ptt.smtp.replies import Reply
from ptt.mail import dates as _dates
from ptt.mail import headers as _headers

RELAY_TIMEOUT = 120      # seconds per read from the next hop


class SigningKeys:
    """The keys and selectors to sign with now (rotating ones included)."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.keyring = K.Keyring(cfg.domain, cfg.keys, cfg.seed, cfg.rsa_bits)
        self.plan = None
        self._signers = []

    def update(self, now):
        """Recompute the plan for `now`; derive the keys it signs with.
        Returns the Plan (plan.next_change: when to call again)."""
        p = K.plan(self.cfg.selector, self.cfg.algorithms, now, self.cfg.expiration)
        signers = []
        for alg in K.ALGORITHMS:
            if alg in p.sign:
                sel = p.sign[alg]
                signers.append((alg, sel.encode(), self.keyring.key(alg, sel)))
        keep = [s for _, s in p.publish]
        for alg, sel in p.publish:
            self.keyring.key(alg, sel)   # derive ahead (RSA from a seed takes time)
        self.keyring.forget_except(keep)
        self.plan = p
        self._signers = signers
        return p

    def signers(self):
        return self._signers

    def expire(self, now):
        if self.plan is not None and self.plan.expire_after:
            return int(now) + self.plan.expire_after
        return None


class Route:
    """Where one transaction goes: [(ip, port)] to try in order, and a name."""

    def __init__(self, name, hosts, tls):
        self.name = name
        self.hosts = hosts
        self.tls = tls


class Relay:
    def __init__(self, cfg, keys, send, resolver=None, now=None, randbytes=None, log=print,
                 tls_context=None, dnsfunc=None, timeout=RELAY_TIMEOUT):
        self.cfg = cfg
        self.keys = keys
        self.send = send
        self.resolver = resolver
        self.now = now
        self.randbytes = randbytes
        self.log = log
        self.tls_context = tls_context
        self.timeout = timeout
        self.opts = SG.options_from(cfg)
        self.dnsfunc = dnsfunc or self._dnsfunc
        self.stats = {"relayed": 0, "refused": 0, "failed": 0, "dsn": 0}

    # -- DNS for ARC chain validation (RFC 8617 5.2) -------------------------
    def _dnsfunc(self, name):
        if self.resolver is None:
            raise OSError("no --nameserver to look up %s" % name)
        try:
            vals = self.resolver.txt(name)
        except Exception as e:
            if getattr(e, "temporary", True):
                raise
            return None
        return vals[0] if vals else None

    # -- SMTP events ------------------------------------------------------------
    def on_connect(self, ctx):
        ip = RL.peer_ip(ctx.peer)
        ctx.data["ip"] = ip
        ctx.data["trusted"] = RL.trusted(ip, self.cfg.trusted)
        if not ctx.data["trusted"]:
            self.log("connection from %s, which is not in --trusted: it may not relay"
                     % RL.ip_text(ip))
        return None

    def on_mail(self, ctx, reverse_path, params):
        if not ctx.data.get("trusted"):
            self.stats["refused"] += 1
            return RL.R550_NOT_TRUSTED
        ctx.data["route"] = None
        return RL.R250_MAIL

    def on_rcpt(self, ctx, forward_path, params):
        if not ctx.data.get("trusted"):
            return RL.R550_NOT_TRUSTED
        key = RL.route_key(forward_path, self.cfg.dst)
        cur = ctx.data.get("route")
        if cur is None:
            ctx.data["route"] = key
        elif cur != key:
            return RL.R452_OTHER_ROUTE
        return RL.R250_RCPT

    async def on_message(self, ctx, envelope, data):
        now = self.now()
        trace = RL.received(ctx.helo_name, ctx.data.get("ip"), self.cfg.domain,
                            ctx.tls_active, _dates.rfc5322(now),
                            envelope.recipients[0] if len(envelope.recipients) == 1 else None)
        try:
            hdrs, _ = _headers.parse(data)
        except ValueError:
            hdrs = []
        if RL.count_received(hdrs) >= RL.MAX_RECEIVED:
            return RL.R554_LOOP
        try:
            signed = SG.sign_message(data, self.opts, self.keys.signers(), now, self.dnsfunc,
                                     trace, self.keys.expire(now), self.log)
        except SG.SignError as e:
            self.log("not relayed: %s" % e.reply.text)
            return e.reply
        try:
            route = self.route(envelope.recipients[0])
        except Exception as e:
            return self._route_error(envelope.recipients[0], e)
        txn = _client.Transaction(envelope.reverse_path, envelope.recipients, signed)
        results, hop = await self._relay(route, txn)
        reply, failed = RL.outcome(results, hop)
        if failed:
            if envelope.reverse_path:
                ok = await self._send_dsn(envelope, failed, data, hop, now)
                if not ok:
                    n_ok = len(results) - len(failed)
                    reply = RL.dsn_failed_reply(n_ok, len(results), hop)
            else:
                self.log("%d recipients refused by %s; no DSN for a message with a null "
                         "reverse-path (RFC 5321 6.1)" % (len(failed), hop))
        kind = "relayed" if reply.code < 300 else "failed"
        self.stats[kind] += 1
        self.log("%s <%s> -> %s: %d %s" % (kind, envelope.reverse_path,
                                          ",".join(envelope.recipients), reply.code,
                                          reply.status or ""))
        return reply

    # -- relaying ---------------------------------------------------------------
    def route(self, recipient):
        cfg = self.cfg
        if cfg.dst is not None:
            return Route("%s:%d" % cfg.dst, [cfg.dst], False)
        domain = recipient.rpartition("@")[2]
        hosts = []
        for pref, host in self.resolver.mx_hosts(domain):
            try:
                for ip in self.resolver.addresses(host):
                    hosts.append((ip, cfg.mx_port))
            except Exception as e:
                self.log("MX %s of %s has no usable address: %s" % (host, domain, e))
        if not hosts:
            raise RL_NoHosts("no MX host of %s has an address" % domain)
        return Route("MX of %s" % domain, hosts, True)

    def _route_error(self, rcpt, e):
        if getattr(e, "temporary", True):
            return Reply(451, "4.4.3", ("cannot find the next hop for %s: %s; try again later"
                                        % (rcpt, e))[:400])
        return Reply(550, "5.1.2", ("cannot deliver to %s: %s" % (rcpt, e))[:400])

    async def _relay(self, route, txn):
        results = []
        hop = route.name
        for ip, port in route.hosts:
            hop = "%s:%d" % (ip, port) if route.name.startswith("MX") else route.name
            done = await self.send(ip, port, self.cfg.domain, [txn],
                                   tls_context=self.tls_context if route.tls else None,
                                   timeout=self.timeout)
            results = done[0].results if done else []
            if results and all(r.status == _client.TEMPORARY and r.reply.code == 421
                               for r in results):
                self.log("next hop %s failed (%s); trying the next one"
                         % (hop, results[0].reply.text))
                continue
            break
        return results, hop

    async def _send_dsn(self, envelope, failed, original, hop, now):
        unique = self.randbytes(12).hex() if self.randbytes else str(int(now))
        msg = DSN.build(self.cfg.domain, now, unique, envelope.reverse_path, failed,
                        original, hop)
        opts = SG.Options(self.cfg.domain, True, False, self.opts.canonicalize,
                          self.opts.include, self.opts.oversign)
        try:
            signed = SG.sign_message(msg, opts, self.keys.signers(), now, self.dnsfunc)
            route = self.route(envelope.reverse_path)
        except Exception as e:
            self.log("cannot send the DSN to <%s>: %s" % (envelope.reverse_path, e))
            return False
        txn = _client.Transaction("", [envelope.reverse_path], signed)
        results, dhop = await self._relay(route, txn)
        ok = bool(results) and results[0].status == _client.DELIVERED
        self.log("DSN for %d refused recipients to <%s> via %s: %s"
                 % (len(failed), envelope.reverse_path, dhop, "sent" if ok else "FAILED"))
        if ok:
            self.stats["dsn"] += 1
        return ok


class RL_NoHosts(Exception):
    temporary = True

    def __init__(self, msg):
        super().__init__(msg)
