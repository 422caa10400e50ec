"""ptt.spf against pyspf (PyPI "pyspf", module `spf`) on the same fake DNS,
and our Authentication-Results against the `authres` parser (CPython).

pyspf asks DNS through the module-level function `spf.DNSLookup(name,
qtype, strict, timeout)`, which returns [((name, qtype), value), ...]
(TXT values are lists of byte strings, MX values (preference, host)) and
raises spf.TempError for a temporary failure; the test replaces it.
"""
import pytest

pyspf = pytest.importorskip("spf")
authres_pkg = pytest.importorskip("authres")
import authres.dkim_b  # noqa: E402  (header.b support)
import authres.dmarc  # noqa: E402

from ptt import authres as ours_ar  # noqa: E402
from ptt import spf as ours  # noqa: E402

pytestmark = pytest.mark.interop

BASE = {
    ("a.example", "A"): ["192.0.2.10", "192.0.2.11"],
    ("a.example", "AAAA"): ["2001:db8::10"],
    ("a.example", "MX"): [(10, "mx1.a.example"), (20, "mx2.a.example")],
    ("mx1.a.example", "A"): ["192.0.2.21"],
    ("mx2.a.example", "A"): ["192.0.2.22"],
    ("mx2.a.example", "AAAA"): ["2001:db8::22"],
    ("inc.example", "TXT"): ["v=spf1 ip4:198.51.100.0/24 ip6:2001:db8:1::/48 -all"],
    ("soft.example", "TXT"): ["v=spf1 ~all"],
    ("loop1.example", "TXT"): ["v=spf1 include:loop2.example -all"],
    ("loop2.example", "TXT"): ["v=spf1 include:loop1.example -all"],
    ("redir.example", "TXT"): ["v=spf1 redirect=inc.example"],
    ("10.2.0.192.in-addr.arpa", "PTR"): ["a.example"],
    ("9.9.0.192.in-addr.arpa", "PTR"): ["a.example"],     # does not lead back
    ("3.2.0.192.strong.lp._spf.b.example", "A"): ["127.0.0.2"],
    ("joe.users.b.example", "A"): ["127.0.0.2"],
    ("192.0.2.10.rbl.b.example", "A"): ["127.0.0.2"],
    ("many.example", "MX"): [(i, "m%d.many.example" % i) for i in range(11)],
    ("ten.example", "MX"): [(i, "m%d.many.example" % i) for i in range(10)],
    ("two.example", "TXT"): ["v=spf1 -all", "v=spf1 +all"],
    ("split.example", "TXT"): [["v=spf1 ip4:192.0.2.10", " -all"]],
    ("exp.example", "TXT"): ["v=spf1 -all exp=why.exp.example"],
    ("why.exp.example", "TXT"): ["%{i} is not allowed"],
}
for _i in range(12):
    BASE[("h%d.example" % _i, "A")] = ["203.0.113.%d" % _i]
    BASE[("m%d.many.example" % _i, "A")] = ["192.0.2.%d" % (30 + _i)]

SERVFAIL = ("broken.example",)

# (record at b.example, client ip, sender); None record: b.example has no TXT
CASES = [
    ("v=spf1 +all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 ~all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 ?all", "192.0.2.1", "joe@b.example"),
    ("v=spf1", "192.0.2.1", "joe@b.example"),
    (None, "192.0.2.1", "joe@b.example"),
    ("v=spf1 ip4:192.0.2.0/24 -all", "192.0.2.99", "joe@b.example"),
    ("v=spf1 ip4:192.0.2.0/25 -all", "192.0.2.200", "joe@b.example"),
    ("v=spf1 ip4:192.0.2.1/33 -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 ip6:2001:db8::/32 -all", "2001:db8:5::1", "joe@b.example"),
    ("v=spf1 ip6:2001:db8::/64 -all", "2001:db8:0:1::1", "joe@b.example"),
    ("v=spf1 ip6:::/0 -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 a:a.example -all", "192.0.2.11", "joe@b.example"),
    ("v=spf1 a:a.example -all", "192.0.2.12", "joe@b.example"),
    ("v=spf1 a:a.example/24 -all", "192.0.2.200", "joe@b.example"),
    ("v=spf1 a:a.example//64 -all", "2001:db8::ffff", "joe@b.example"),
    ("v=spf1 a:a.example/24//126 -all", "2001:db8::13", "joe@b.example"),
    ("v=spf1 mx:a.example -all", "192.0.2.22", "joe@b.example"),
    ("v=spf1 mx:a.example -all", "2001:db8::22", "joe@b.example"),
    ("v=spf1 mx:a.example/30 -all", "192.0.2.23", "joe@b.example"),
    ("v=spf1 mx:many.example -all", "192.0.2.33", "joe@b.example"),
    ("v=spf1 mx:ten.example -all", "192.0.2.33", "joe@b.example"),
    ("v=spf1 include:inc.example -all", "198.51.100.5", "joe@b.example"),
    ("v=spf1 include:inc.example ~all", "192.0.2.5", "joe@b.example"),
    ("v=spf1 include:inc.example -all", "2001:db8:1:2::3", "joe@b.example"),
    ("v=spf1 include:soft.example -all", "192.0.2.5", "joe@b.example"),
    ("v=spf1 include:missing.example -all", "192.0.2.5", "joe@b.example"),
    ("v=spf1 include:loop1.example -all", "192.0.2.5", "joe@b.example"),
    ("v=spf1 include:broken.example -all", "192.0.2.5", "joe@b.example"),
    ("v=spf1 include:two.example -all", "192.0.2.5", "joe@b.example"),
    ("v=spf1 redirect=inc.example", "198.51.100.7", "joe@b.example"),
    ("v=spf1 redirect=inc.example", "192.0.2.7", "joe@b.example"),
    ("v=spf1 redirect=missing.example", "192.0.2.7", "joe@b.example"),
    ("v=spf1 redirect=redir.example", "198.51.100.7", "joe@b.example"),
    ("v=spf1 ptr:a.example -all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 ptr:a.example -all", "192.0.9.9", "joe@b.example"),
    ("v=spf1 exists:%{ir}.%{l1r-}.lp._spf.%{d} -all", "192.0.2.3", "strong-bad@b.example"),
    ("v=spf1 exists:%{l}.users.%{o} -all", "192.0.2.3", "joe@b.example"),
    ("v=spf1 exists:%{l}.users.%{o} -all", "192.0.2.3", "ann@b.example"),
    ("v=spf1 -exists:%{i}.rbl.%{d} +all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 -exists:%{i}.rbl.%{d} +all", "192.0.2.11", "joe@b.example"),
    ("v=spf1 a:n1.b.example a:n2.b.example ip4:192.0.2.1 -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 a:n1.b.example a:n2.b.example a:n3.b.example ip4:192.0.2.1 -all", "192.0.2.1",
     "joe@b.example"),
    ("v=spf1 " + " ".join("a:h%d.example" % i for i in range(10)) + " -all", "203.0.113.9",
     "joe@b.example"),
    ("v=spf1 " + " ".join("a:h%d.example" % i for i in range(11)) + " -all", "203.0.113.10",
     "joe@b.example"),
    ("v=spf1 a:broken.example -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 foo:bar -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 ip4:192.0.2.1 -all:x", "192.0.2.1", "joe@b.example"),
    ("v=spf1 redirect=a.example redirect=c.example", "192.0.2.1", "joe@b.example"),
    ("v=spf1 unknown=thing ip4:192.0.2.1 -all", "192.0.2.1", "joe@b.example"),
    ("V=SPF1 IP4:192.0.2.1 -ALL", "192.0.2.1", "joe@b.example"),
    ("v=spf1 a:a.example. -all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 include:split.example -all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 include:exp.example ?all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 ip4:192.0.2.1 -all", "192.0.2.1", "b.example"),
    ("v=spf1 ptr -all", "192.0.2.10", "joe@a.example"),
    ("v=spf1 exists:%{p}.ok.example -all", "192.0.2.10", "joe@a.example"),
    ("v=spf1 exists:%{h}.ok.example -all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 exists:%{L}.users.%{O} -all", "192.0.2.3", "joe@b.example"),
    ("v=spf1 ip4:192.0.02.1 -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 a:foo.example.123 -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 a:museum -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 a:%{d}. -all", "192.0.2.1", "joe@b.example"),
    ("v=spf1 -ip4:192.0.2.1 +all", "::ffff:192.0.2.1", "joe@b.example"),
    ("v=spf1 a:a.example//129 -all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 include -all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 exists:%{x}.b.example -all", "192.0.2.10", "joe@b.example"),
    ("v=spf1 mx -all", "192.0.2.10", "joe@b.example"),
]


def table_for(record):
    t = dict(BASE)
    if record is not None:
        t[("b.example", "TXT")] = [record]
    else:
        t[("b.example", "A")] = ["192.0.2.250"]
    return t


def ours_lookup(table):
    def lookup(name, rtype):
        if name in SERVFAIL:
            raise OSError("SERVFAIL")
        if (name, rtype) in table:
            return list(table[(name, rtype)])
        for n, t in table:
            if n == name:
                return []
        raise ours.NXDomain(name)
    return lookup


def pyspf_lookup(table):
    def DNSLookup(name, qtype, strict=True, timeout=None):
        name = name.rstrip(".").lower()
        if name in SERVFAIL:
            raise pyspf.TempError("DNS SERVFAIL")
        out = []
        for v in table.get((name, qtype), []):
            if qtype in ("TXT", "SPF"):
                parts = v if isinstance(v, list) else [v]
                v = [p.encode() if isinstance(p, str) else p for p in parts]
            out.append(((name, qtype), v))
        return out
    return DNSLookup


@pytest.mark.parametrize("record,ip,sender", CASES)
def test_same_result_as_pyspf(monkeypatch, record, ip, sender):
    table = table_for(record)
    monkeypatch.setattr(pyspf, "DNSLookup", pyspf_lookup(table))
    want = pyspf.query(i=ip, s=sender, h="mx.b.example").check()[0]
    domain = sender.rpartition("@")[2]
    got, why = ours.check_host(ip, domain, sender, "mx.b.example", ours_lookup(table))
    assert got == want, (record, ip, why)


def test_there_are_enough_cases():
    assert len(CASES) >= 40


def _summary():
    from ptt import dkim
    s = ours_ar.Summary()
    s.spf, s.spf_identity = "pass", "joe@b.example"
    r = dkim.Result("pass", "", b"b.example", b"sel", b"rsa-sha256")
    r.b = b"ab/cd+ef12345=="
    s.dkim = [r, dkim.Result("fail", "", b"c.example", b"s2", b"ed25519-sha256")]
    d = ours_ar.Dmarc("fail", "b.example")
    d.p, d.sp = "reject", "quarantine"
    s.dmarc = d
    return s


def test_authentication_results_parse_with_authres():
    field = ours_ar.build("lists.example.org", ours_ar.resinfos(_summary()))
    text = field.decode().replace("\r\n", "")
    fc = authres_pkg.FeatureContext(authres.dkim_b, authres.dmarc)
    h = fc.parse(text)
    assert h.authserv_id == "lists.example.org"
    got = [(r.method, r.result) for r in h.results]
    assert got == [("spf", "pass"), ("dkim", "pass"), ("dkim", "fail"), ("dmarc", "fail")]
    spf_r, dkim1, dkim2, dmarc_r = h.results
    assert spf_r.smtp_mailfrom == "joe@b.example"
    assert (dkim1.header_d, dkim1.header_s, dkim1.header_b) == ("b.example", "sel", "ab/cd+ef")
    assert dkim2.header_d == "c.example"
    assert dmarc_r.header_from == "b.example"


def test_authenticate_output_parses_with_authres():
    table = table_for("v=spf1 ip4:192.0.2.0/24 -all")
    table[("_dmarc.b.example", "TXT")] = ["v=DMARC1; p=none"]
    msg = (b"Authentication-Results: lists.example.org; spf=pass\r\n"
           b"From: Joe <joe@b.example>\r\nSubject: x\r\n\r\nbody\r\n")
    out, s = ours_ar.authenticate(msg, "192.0.2.5", "mx.b.example", "joe@b.example",
                                  "lists.example.org", ours_lookup(table), 1700000000)
    fc = authres_pkg.FeatureContext(authres.dkim_b, authres.dmarc)
    h = fc.parse(s.field.decode().replace("\r\n", ""))
    assert [(r.method, r.result) for r in h.results] == [("spf", "pass"), ("dkim", "none"),
                                                        ("dmarc", "pass")]
    assert out.count(b"Authentication-Results:") == 1
