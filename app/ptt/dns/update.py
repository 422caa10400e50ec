"""RFC 2136 DNS UPDATE messages, sans-I/O.

    u = Update("example.org", randbytes)
    u.replace("sel._domainkey.example.org", "TXT", 3600, b"v=DKIM1; ...")
    wire, mac = u.sign(key, now)        # TSIG (tsig.py); or u.to_wire()
    ... send over TCP (client.py) ...
    u.check_response(response_wire, key, mac, now)   # or raises UpdateError

Sections (RFC 2136 2): zone (SOA question), prerequisites, updates.
"""

from ptt.dns import tsig as T
from ptt.dns import wire as W


class UpdateError(W.DnsError):
    """The server did not apply the update (or could not be asked)."""

    def __init__(self, msg, rcode=None):
        super().__init__(msg)
        self.rcode = rcode


_RCODE_HELP = {
    W.FORMERR: ("the server could not parse our update (FORMERR): a ptt bug, "
                "please report it with the server's log", False),
    W.SERVFAIL: ("the server failed to apply the update (SERVFAIL): check its "
                 "log (e.g. zone journal not writable) and retry", True),
    W.NXDOMAIN: ("a prerequisite failed: a name that must be in use is not "
                 "(NXDOMAIN)", False),
    W.NOTIMP: ("the server does not support DNS UPDATE (NOTIMP): point ptt at "
               "the zone's primary server", False),
    W.REFUSED: ("the server refused the update (REFUSED): allow key {key} "
                "to update {zone} (allow-update / update-policy), and sign "
                "the update", False),
    W.YXDOMAIN: ("a prerequisite failed: a name that must not exist does "
                 "(YXDOMAIN)", False),
    W.YXRRSET: ("a prerequisite failed: an RRset that must not exist does "
                "(YXRRSET)", False),
    W.NXRRSET: ("a prerequisite failed: an RRset that must exist does not "
                "(NXRRSET)", False),
    W.NOTAUTH: ("the server is not authoritative for {zone} or did not "
                "accept key {key} (NOTAUTH): use the zone's primary server "
                "and the key it is configured with", False),
    W.NOTZONE: ("a name in the update is outside zone {zone} (NOTZONE)",
                False),
}


class Update:
    def __init__(self, zone, randbytes):
        self.zone = W.labels_name(W.name_labels(zone))
        b = randbytes(2)
        self.id = (b[0] << 8) | b[1]
        self.prereq = []
        self.updates = []

    def _name(self, name):
        n = W.labels_name(W.name_labels(name))
        if not W.is_subdomain(n, self.zone):
            raise UpdateError("%s is outside zone %s: give the zone that "
                              "contains it" % (n, self.zone), W.NOTZONE)
        return n

    # Prerequisites (RFC 2136 2.4)
    def require_rrset(self, name, rtype, data=None):
        """RRset exists (any value), or exactly this RR exists if data given."""
        t = W.type_code(rtype)
        if data is None:
            self.prereq.append(W.RR(self._name(name), t, W.CLASS_ANY, 0, None))
        else:
            self.prereq.append(W.RR(self._name(name), t, W.IN, 0, data))

    def require_no_rrset(self, name, rtype):
        self.prereq.append(W.RR(self._name(name), W.type_code(rtype),
                                W.CLASS_NONE, 0, None))

    def require_name(self, name):
        self.prereq.append(W.RR(self._name(name), W.ANY, W.CLASS_ANY, 0, None))

    def require_no_name(self, name):
        self.prereq.append(W.RR(self._name(name), W.ANY, W.CLASS_NONE, 0, None))

    # Updates (RFC 2136 2.5)
    def add(self, name, rtype, ttl, data):
        if data is None:
            raise UpdateError("add needs record data")
        self.updates.append(W.RR(self._name(name), W.type_code(rtype), W.IN,
                                 ttl, data))

    def delete_rrset(self, name, rtype):
        self.updates.append(W.RR(self._name(name), W.type_code(rtype),
                                 W.CLASS_ANY, 0, None))

    def delete_name(self, name):
        self.updates.append(W.RR(self._name(name), W.ANY, W.CLASS_ANY, 0,
                                 None))

    def delete_rr(self, name, rtype, data):
        self.updates.append(W.RR(self._name(name), W.type_code(rtype),
                                 W.CLASS_NONE, 0, data))

    def replace(self, name, rtype, ttl, data):
        """Delete the RRset at name, then add this one record."""
        self.delete_rrset(name, rtype)
        self.add(name, rtype, ttl, data)

    def message(self):
        m = W.Message(self.id, W.UPDATE)
        m.question.append(W.Question(self.zone, W.SOA, W.IN))
        m.answer = list(self.prereq)
        m.authority = list(self.updates)
        return m

    def to_wire(self):
        return self.message().to_wire()

    def sign(self, key, now, fudge=T.FUDGE):
        """-> (signed wire, request MAC) for check_response."""
        return T.sign(self.to_wire(), key, now, fudge)

    def check_response(self, wire, key=None, request_mac=None, now=None):
        """Raise UpdateError/TsigError unless the server applied the update.
        With a key, the response's TSIG is verified (now: Unix seconds)."""
        qid, flags, qd, an, ns, ar = W.decode_header(wire)
        if qid != self.id or not flags & 0x8000:
            raise UpdateError("the server's reply is not a response to our "
                              "update (ID %d, ours %d)" % (qid, self.id))
        if (flags >> 11) & 0xF != W.UPDATE:
            raise UpdateError("the server's reply has opcode %d, not UPDATE"
                              % ((flags >> 11) & 0xF))
        m = W.decode(wire)
        kname = key.name if key is not None else "(none)"
        if key is not None:
            if m.tsig is None and m.rcode != W.NOERROR:
                # Errors before TSIG processing come back unsigned.
                raise self._rcode_error(m.rcode, kname)
            T.verify(wire, key, request_mac, now, m)
        if m.rcode != W.NOERROR:
            raise self._rcode_error(m.rcode, kname)
        return m

    def _rcode_error(self, rc, kname):
        t = _RCODE_HELP.get(rc)
        if t is None:
            e = UpdateError("the server answered %s to our update of %s"
                            % (W.rcode_name(rc), self.zone), rc)
        else:
            e = UpdateError(t[0].format(key=kname, zone=self.zone), rc)
            e.temporary = t[1]
        return e
