"""A fake DNS lookup for the SPF and Authentication-Results tests, in the
lookup(name, rtype) form ptt.spf and ptt.authres take."""
from ptt import spf


class FakeDNS:
    """lookup(name, rtype) over a dict {(name, rtype): [answers]}.

    A name that appears under no type is NXDOMAIN; `fail` names raise a
    temporary error.  Every question asked is recorded in `asked`."""

    def __init__(self, table, fail=()):
        self.table = table
        self.fail = fail
        self.asked = []

    def __call__(self, name, rtype):
        self.asked.append((name, rtype))
        if name in self.fail:
            raise OSError("timeout")
        if (name, rtype) in self.table:
            return list(self.table[(name, rtype)])
        for n, t in self.table:
            if n == name:
                return []
        raise spf.NXDomain(name)
