"""A real BIND9 (named) for tests: own directory, loopback only, one or more
zones, TSIG keys allowed to update them.

    with Bind(tmpdir, zones={"example.test": ZONE_TEXT},
              keys={"k._update.example.test": ("hmac-sha256", b"secret")}) as ns:
        ns.port          # UDP and TCP on 127.0.0.1
        ns.key_string("k._update.example.test")   # NAME:ALG:BASE64
        ns.txt("sel._domainkey.example.test")     # TXT values, via dnspython
        ns.dkim_dnsfunc()                         # the same, for dkimpy

ZONE_TEXT is a zone file body; "$ORIGIN" and "$TTL" are added. Each key may
update its zones (update-policy: grant KEY zonesub ANY). `named -g -4`
runs in the foreground as a child process; stop() kills it by PID.
"""

import base64
import os
import shutil
import socket
import subprocess
import time

NAMED = shutil.which("named") or "/usr/sbin/named"


def available():
    return os.path.exists(NAMED)


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port for named")


class Bind:
    def __init__(self, directory, zones, keys=None, port=None, extra_options=""):
        self.dir = os.path.abspath(directory)
        self.zones = zones
        self.keys = keys or {}
        self.port = port or free_port()
        self.extra_options = extra_options
        self.proc = None
        self.log = os.path.join(self.dir, "named.log")

    def key_string(self, name):
        alg, secret = self.keys[name]
        return "%s:%s:%s" % (name, alg.replace("hmac-", "").upper(),
                             base64.b64encode(secret).decode())

    def _conf(self):
        lines = ["options {",
                 '  directory "%s";' % self.dir,
                 '  pid-file "%s/named.pid";' % self.dir,
                 '  session-keyfile "%s/session.key";' % self.dir,
                 '  managed-keys-directory "%s";' % self.dir,
                 "  listen-on port %d { 127.0.0.1; };" % self.port,
                 "  listen-on-v6 { none; };",
                 "  recursion no;",
                 "  notify no;",
                 "  dnssec-validation no;",
                 "  minimal-responses yes;",
                 self.extra_options,
                 "};",
                 "controls { };",
                 'logging { channel l { file "%s"; severity info; print-time yes; };'
                 " category default { l; }; category update { l; };"
                 " category security { l; }; };" % self.log]
        for name in sorted(self.keys):
            alg, secret = self.keys[name]
            lines.append('key "%s" { algorithm %s; secret "%s"; };'
                         % (name, alg, base64.b64encode(secret).decode()))
        for zone in sorted(self.zones):
            grants = " ".join('grant "%s" zonesub ANY;' % k
                              for k in sorted(self.keys))
            policy = ("  update-policy { %s };" % grants) if grants else ""
            lines += ['zone "%s" {' % zone, "  type primary;",
                      '  file "%s/%s.zone";' % (self.dir, zone), policy, "};"]
        return "\n".join(lines) + "\n"

    def start(self, timeout=10.0):
        os.makedirs(self.dir, exist_ok=True)
        for zone, body in self.zones.items():
            with open(os.path.join(self.dir, zone + ".zone"), "w") as f:
                f.write("$ORIGIN %s.\n$TTL 300\n%s\n" % (zone, body))
            jnl = os.path.join(self.dir, zone + ".zone.jnl")
            if os.path.exists(jnl):
                os.remove(jnl)
        conf = os.path.join(self.dir, "named.conf")
        with open(conf, "w") as f:
            f.write(self._conf())
        self.stderr = open(os.path.join(self.dir, "named.stderr"), "wb")
        self.proc = subprocess.Popen([NAMED, "-g", "-4", "-c", conf],
                                     stdout=self.stderr, stderr=self.stderr,
                                     cwd=self.dir)
        deadline = time.time() + timeout
        zone = sorted(self.zones)[0]
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("named exited (%s):\n%s" % (
                    self.proc.returncode, self.output()))
            if self._answers(zone):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("named did not answer within %.0f s:\n%s"
                           % (timeout, self.output()))

    def _answers(self, zone):
        # A bare SOA query for the zone, by hand so this helper needs nothing.
        qname = b"".join(bytes([len(l)]) + l.encode() for l in zone.split("."))
        q = b"\x12\x34\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + qname + b"\x00\x00\x06\x00\x01"
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.2)
        try:
            s.sendto(q, ("127.0.0.1", self.port))
            data = s.recv(4096)
            return data[:2] == b"\x12\x34" and (data[3] & 0xF) == 0
        except OSError:
            return False
        finally:
            s.close()

    def output(self):
        out = ""
        for p in (os.path.join(self.dir, "named.stderr"), self.log):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out += f.read()[-4000:]
        return out

    def txt(self, name):
        """The TXT values at NAME (each record's strings joined), asked over
        TCP with dnspython: what the zone holds now, journal included."""
        import dns.message
        import dns.query
        import dns.rdatatype
        r = dns.query.tcp(dns.message.make_query(name, "TXT"), "127.0.0.1", port=self.port, timeout=3)
        return [b"".join(rd.strings) for rrset in r.answer if rrset.rdtype == dns.rdatatype.TXT
                for rd in rrset]

    def dkim_dnsfunc(self):
        """A dnsfunc for dkimpy's verify/arc_verify: the first TXT value at
        the name in this server's zones, or None."""
        def dnsfunc(name, timeout=5):
            vals = self.txt((name.decode() if isinstance(name, bytes) else name).rstrip("."))
            return vals[0] if vals else None
        return dnsfunc

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if getattr(self, "stderr", None):
            self.stderr.close()
            self.stderr = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *a):
        self.stop()
