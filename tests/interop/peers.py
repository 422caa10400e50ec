"""A small Internet for tests: BIND9 answering for the test domains, with MX
records pointing at a real Postfix MX (postfix.PostfixMX) that accepts mail
for them, DMARC records as asked, and a swaks helper.

    with Internet(tmpdir, domains=["a.test", "b.test"],
                  dmarc={"strict.test": "reject", "lax.test": "none"},
                  records={"a.test": "sel._domainkey IN TXT \\"v=DKIM1; p=...\\""}) as net:
        net.resolver            # "udp:127.0.0.1:PORT" for ptt.dns.client.Resolver
        net.dns_port            # BIND on 127.0.0.1:dns_port (UDP and TCP)
        net.mx                  # the PostfixMX: rules, wait_for(), messages()
        swaks(net.mx_host, 25, "alice@strict.test", "bob@a.test", data=b"...")

Zones: every name in domains, dmarc and records gets a zone of its own
(SOA, NS). Each of `domains` gets "@ MX 10 mx" and "mx A <mx address>" and
is a mailbox domain of the MX (catch-all); names only in dmarc/records (say
a poster's domain) get no MX unless also listed in domains. dmarc values
are a policy ("reject", "none", "quarantine") or a whole TXT value. records
values are zone-file lines (relative names are inside that zone).

The MX listens on mx_host:25 (default 127.0.0.2: a real MX needs no port,
and the A record says where). Port 25 needs root.

QEMU guests (user networking): the guest reaches the host's 127.0.0.1 at
10.0.2.2, and only 127.0.0.1 (slirp forwards 10.0.2.2 to the host's
loopback address 127.0.0.1, not to 127.0.0.2). With guest=True:
  - a second BIND (net.guest_dns_port, resolver for the guest:
    net.guest_resolver = "udp:10.0.2.2:PORT") serves the same zones but its
    MX A records say 10.0.2.2 (guest_mx_address);
  - the MX also listens on 127.0.0.1:25, which is what 10.0.2.2:25 reaches.
  (QEMU's guestfwd= with a tcp: chardev carries a single connection made at
  start, so it does not fit SMTP's many sessions; "guestfwd=...-cmd:nc ..."
  spawns per connection but needs nc; 10.0.2.2 needs neither.)
Both BINDs use 127.0.0.1 (BIND only listens on addresses configured on an
interface, and on Linux only 127.0.0.1 is).
"""

import os
import shutil
import subprocess
import tempfile

from interop import bind
from interop import postfix

SWAKS = shutil.which("swaks") or "/usr/bin/swaks"
GUEST_HOST = "10.0.2.2"


def available():
    return bind.available() and postfix.available() and os.path.exists(SWAKS)


def dmarc_value(policy):
    if policy.lower().startswith("v=dmarc1"):
        return policy
    return "v=DMARC1; p=%s" % policy


def txt(value):
    """A TXT rdata: the value in quoted pieces of at most 250 octets."""
    return " ".join('"%s"' % value[i:i + 250].replace('"', '\\"')
                    for i in range(0, len(value), 250)) or '""'


def zone_body(name, mx_address=None, dmarc=None, records=""):
    lines = ["@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 300" % (name, name),
             "@ IN NS ns",
             "ns IN A 127.0.0.1"]
    if mx_address:
        lines += ["@ IN MX 10 mx", "mx IN A %s" % mx_address]
    if dmarc:
        lines.append("_dmarc IN TXT %s" % txt(dmarc_value(dmarc)))
    if records:
        lines.append(records)
    return "\n".join(lines) + "\n"


def zones(domains, mx_address, dmarc=None, records=None):
    dmarc = dmarc or {}
    records = records or {}
    names = []
    for n in list(domains) + sorted(dmarc) + sorted(records):
        if n.lower() not in names:
            names.append(n.lower())
    mail = set(d.lower() for d in domains)
    return dict((n, zone_body(n, mx_address if n in mail else None,
                              dmarc.get(n), records.get(n, "")))
                for n in names)


class SwaksResult:
    def __init__(self, proc):
        self.returncode = proc.returncode
        self.transcript = proc.stdout + proc.stderr

    @property
    def ok(self):
        return self.returncode == 0

    def replies(self):
        """The server's reply lines ("<~ 250 ..." / "<** 550 ..."), in order."""
        out = []
        for line in self.transcript.splitlines():
            s = line.lstrip()
            if s.startswith("<~") or s.startswith("<**") or s.startswith("<-"):
                out.append(s.split(" ", 1)[1].strip() if " " in s else "")
        return out

    def __repr__(self):
        return "<swaks rc=%d>\n%s" % (self.returncode, self.transcript)


def swaks(server, port, sender, to, data=None, helo="client.peers.test", args=(),
          timeout=60):
    """Run swaks once against server:port. to: an address or a list;
    data: the whole message as bytes (written to a file; CRLF or LF; one
    final line end is dropped, as swaks adds its own before the ".", so the
    MX receives exactly `data`), or None for swaks's own test message. Returns SwaksResult (returncode 0
    when every step was accepted; swaks's codes otherwise: 23 = a RCPT was
    refused, 24 = no RCPT accepted, 25 = DATA refused...)."""
    if not isinstance(to, str):
        to = ",".join(to)
    cmd = [SWAKS, "--server", "%s:%d" % (server, port), "--from", sender, "--to", to,
           "--helo", helo]
    path = None
    try:
        if data is not None:
            fd, path = tempfile.mkstemp(suffix=".eml")
            # swaks ends DATA with CRLF "." CRLF after the file's text, which
            # adds an empty line when the text already ends with a line end
            if data.endswith(b"\r\n"):
                data = data[:-2]
            elif data.endswith(b"\n"):
                data = data[:-1]
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            cmd += ["--data", "@" + path]
        cmd += list(args)
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    finally:
        if path:
            os.remove(path)
    return SwaksResult(p)


class Internet:
    """BIND9 + Postfix MX for the given domains; see the module's text."""

    def __init__(self, directory, domains, dmarc=None, records=None, rules=None,
                 mx_host="127.0.0.2", mx_port=25, guest=False,
                 guest_mx_address=GUEST_HOST, extra_listen=(), mx_options=None):
        self.dir = os.path.abspath(directory)
        self.domains = [d.lower() for d in domains]
        self.dmarc = dict((k.lower(), v) for k, v in (dmarc or {}).items())
        self.records = dict((k.lower(), v) for k, v in (records or {}).items())
        self.mx_host = mx_host
        self.mx_port = mx_port
        self.guest = guest
        self.guest_mx_address = guest_mx_address
        listen = [(mx_host, mx_port)]
        if guest and (mx_host, mx_port) != ("127.0.0.1", 25):
            listen.append(("127.0.0.1", 25))
        listen += list(extra_listen)
        self.mx = postfix.PostfixMX(os.path.join(self.dir, "mx"), self.domains, listen,
                                    rules=rules, main=mx_options)
        self.ns = bind.Bind(os.path.join(self.dir, "named"),
                            zones(self.domains, mx_host, self.dmarc, self.records))
        self.guest_ns = None
        if guest:
            self.guest_ns = bind.Bind(os.path.join(self.dir, "named-guest"),
                                      zones(self.domains, guest_mx_address, self.dmarc,
                                            self.records))

    @property
    def dns_port(self):
        return self.ns.port

    @property
    def resolver(self):
        return "udp:127.0.0.1:%d" % self.ns.port

    @property
    def guest_dns_port(self):
        return self.guest_ns.port if self.guest_ns else None

    @property
    def guest_resolver(self):
        return "udp:%s:%d" % (GUEST_HOST, self.guest_ns.port) if self.guest_ns else None

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        try:
            self.ns.start()
            if self.guest_ns:
                self.guest_ns.start()
            self.mx.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for part in (self.mx, self.guest_ns, self.ns):
            if part is not None:
                try:
                    part.stop()
                except Exception:
                    pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.mx.keep = True
        self.stop()

    def swaks(self, sender, to, data=None, **kw):
        """swaks against this Internet's MX."""
        return swaks(self.mx_host, self.mx_port, sender, to, data, **kw)
