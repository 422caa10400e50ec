"""SPF check_host (ptt.spf, RFC 7208) against fake DNS tables."""
import unittest

from ptt import spf
from fakedns import FakeDNS


# RFC 7208 Appendix A.1
APPENDIX = {
    ("example.com", "A"): ["192.0.2.10", "192.0.2.11"],
    ("amy.example.com", "A"): ["192.0.2.65"],
    ("bob.example.com", "A"): ["192.0.2.66"],
    ("mail-a.example.com", "A"): ["192.0.2.129"],
    ("mail-b.example.com", "A"): ["192.0.2.137"],
    ("mail-c.example.org", "A"): ["192.0.2.140"],
    ("example.com", "MX"): [(10, "mail-a.example.com."), (20, "mail-b.example.com.")],
    ("example.org", "MX"): [(10, "mail-c.example.org.")],
    ("10.2.0.192.in-addr.arpa", "PTR"): ["example.com."],
    ("11.2.0.192.in-addr.arpa", "PTR"): ["example.com."],
    ("65.2.0.192.in-addr.arpa", "PTR"): ["amy.example.com."],
    ("66.2.0.192.in-addr.arpa", "PTR"): ["bob.example.com."],
    ("129.2.0.192.in-addr.arpa", "PTR"): ["mail-a.example.com."],
    ("137.2.0.192.in-addr.arpa", "PTR"): ["mail-b.example.com."],
    ("140.2.0.192.in-addr.arpa", "PTR"): ["mail-c.example.org."],
    ("10.0.0.10.in-addr.arpa", "PTR"): ["bob.example.com."],
}

HOSTS = ["192.0.2.10", "192.0.2.11", "192.0.2.65", "192.0.2.66", "192.0.2.129",
         "192.0.2.130", "192.0.2.137", "192.0.2.140", "192.0.2.143", "192.0.2.144",
         "10.0.0.10"]


def with_record(record, extra=None):
    t = dict(APPENDIX)
    t[("example.com", "TXT")] = [record]
    if extra:
        t.update(extra)
    return FakeDNS(t)


def run(record, ip, extra=None, sender="joe@example.com", domain="example.com"):
    return spf.check_host(ip, domain, sender, "mx.example.net", with_record(record, extra))[0]


class AppendixA1(unittest.TestCase):
    def passing(self, record):
        return [ip for ip in HOSTS if run(record, ip) == spf.PASS]

    def test_plus_all(self):
        self.assertEqual(self.passing("v=spf1 +all"), HOSTS)

    def test_a(self):
        self.assertEqual(self.passing("v=spf1 a -all"), ["192.0.2.10", "192.0.2.11"])
        self.assertEqual(run("v=spf1 a -all", "192.0.2.65"), spf.FAIL)

    def test_a_other_domain_has_no_hosts(self):
        self.assertEqual(self.passing("v=spf1 a:example.org -all"), [])

    def test_mx(self):
        self.assertEqual(self.passing("v=spf1 mx -all"), ["192.0.2.129", "192.0.2.137"])

    def test_mx_other(self):
        self.assertEqual(self.passing("v=spf1 mx:example.org -all"), ["192.0.2.140"])

    def test_mx_both(self):
        self.assertEqual(self.passing("v=spf1 mx mx:example.org -all"),
                         ["192.0.2.129", "192.0.2.137", "192.0.2.140"])

    def test_mx_cidr(self):
        # 192.0.2.128/30 and 192.0.2.140/30 (mail-b's .137 is in .136/30)
        self.assertEqual(self.passing("v=spf1 mx/30 mx:example.org/30 -all"),
                         ["192.0.2.129", "192.0.2.130", "192.0.2.137", "192.0.2.140",
                          "192.0.2.143"])

    def test_ptr(self):
        self.assertEqual(self.passing("v=spf1 ptr -all"),
                         ["192.0.2.10", "192.0.2.11", "192.0.2.65", "192.0.2.66",
                          "192.0.2.129", "192.0.2.137"])
        # 10.0.0.10 claims bob.example.com, whose address does not lead back
        self.assertEqual(run("v=spf1 ptr -all", "10.0.0.10"), spf.FAIL)

    def test_ip4_cidr(self):
        self.assertEqual(self.passing("v=spf1 ip4:192.0.2.128/28 -all"),
                         ["192.0.2.129", "192.0.2.130", "192.0.2.137", "192.0.2.140",
                          "192.0.2.143"])

    def test_multiple_requirements_a4(self):
        rec = "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all"
        extra = {("ip4._spf.example.com", "TXT"): ["v=spf1 -ip4:192.0.2.0/24 +all"],
                 ("ptr._spf.example.com", "TXT"): ["v=spf1 -ptr:example.com +all"]}
        self.assertEqual(run(rec, "192.0.2.65", extra), spf.PASS)
        self.assertEqual(run(rec, "192.0.2.140", extra), spf.FAIL)
        self.assertEqual(run(rec, "10.0.0.10", extra), spf.FAIL)


class Results(unittest.TestCase):
    def test_qualifiers(self):
        self.assertEqual(run("v=spf1 ip4:192.0.2.1 -all", "192.0.2.1"), spf.PASS)
        self.assertEqual(run("v=spf1 -all", "192.0.2.1"), spf.FAIL)
        self.assertEqual(run("v=spf1 ~all", "192.0.2.1"), spf.SOFTFAIL)
        self.assertEqual(run("v=spf1 ?all", "192.0.2.1"), spf.NEUTRAL)
        self.assertEqual(run("v=spf1", "192.0.2.1"), spf.NEUTRAL)
        self.assertEqual(run("v=spf1 ip4:192.0.2.2", "192.0.2.1"), spf.NEUTRAL)

    def test_case_insensitive(self):
        self.assertEqual(run("V=SPF1 IP4:192.0.2.1 -ALL", "192.0.2.1"), spf.PASS)
        self.assertEqual(run("v=spf1 MX -all", "192.0.2.129"), spf.PASS)

    def test_none(self):
        dns = FakeDNS({("example.com", "TXT"): ["google-site-verification=x"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.NONE)
        dns = FakeDNS({})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.NONE)
        # not a multi-label domain, or malformed: none without asking
        dns = FakeDNS({})
        self.assertEqual(spf.check_host("192.0.2.1", "localhost", "a@localhost", "h", dns)[0],
                         spf.NONE)
        self.assertEqual(spf.check_host("192.0.2.1", "a..b", "a@a..b", "h", dns)[0], spf.NONE)
        self.assertEqual(dns.asked, [])

    def test_v_spf10_is_not_spf(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf10 -all"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.NONE)

    def test_two_records_permerror(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 -all", "v=spf1 +all"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PERMERROR)

    def test_record_split_strings(self):
        dns = FakeDNS({("example.com", "TXT"): [[b"v=spf1 ip4:192.0.2.1", b" -all"]]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PASS)

    def test_bytes_records(self):
        dns = FakeDNS({("example.com", "TXT"): [b"v=spf1 ip4:192.0.2.1 -all"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PASS)

    def test_syntax_errors_are_permerror_even_after_a_match(self):
        for rec in ("v=spf1 ip4:192.0.2.1 foo -all", "v=spf1 ip4:192.0.2.1 all:x",
                    "v=spf1 ip4:192.0.2.1 ip4:1.2.3.4/33", "v=spf1 ip4:192.0.2.1 ip4:1.2.3",
                    "v=spf1 ip4:192.0.2.1 ip6:1::2/129", "v=spf1 ip4:192.0.2.1 a/024",
                    "v=spf1 ip4:192.0.2.1 include", "v=spf1 ip4:192.0.2.1 exists:",
                    "v=spf1 ip4:192.0.2.1 a:museum", "v=spf1 ip4:192.0.2.1 a:foo.example.123",
                    "v=spf1 ip4:192.0.2.1 a:example.com:8080", "v=spf1 ip4:192.0.2.1 a:%{q}.com",
                    "v=spf1 ip4:192.0.2.1 a:%{d0}.com", "v=spf1 ip4:192.0.2.1 a:%{d.com",
                    "v=spf1 ip4:192.0.2.1 redirect=a.com redirect=b.com",
                    "v=spf1 ip4:192.0.2.1 exp=a.com exp=b.com", "v=spf1 ip4:192.0.2.1 %x",
                    "v=spf1 ip4:192.0.2.1 -", "v=spf1 ip4:192.0.2.1 ip4:192.0.2.1//64",
                    "v=spf1 ip4:192.0.2.1 a:%{c}.example.com", "v=spf1 ip4:192.0.2.1 a:%{d}."):
            self.assertEqual(run(rec, "192.0.2.1"), spf.PERMERROR, rec)

    def test_unknown_modifier_ignored(self):
        self.assertEqual(run("v=spf1 foo=bar moo.cow-far_out=man:dog/cat -all", "192.0.2.1"),
                         spf.FAIL)

    def test_trailing_dot_and_dash_toplabel(self):
        extra = {("mail.example-x.co-op", "A"): ["192.0.2.1"]}
        self.assertEqual(run("v=spf1 a:mail.example-x.co-op. -all", "192.0.2.1", extra),
                         spf.PASS)

    def test_explanation_of_match(self):
        r, why = spf.check_host("192.0.2.1", "example.com", "a@example.com", "h",
                                with_record("v=spf1 ip4:192.0.2.0/24 -all"))
        self.assertEqual(r, spf.PASS)
        self.assertIn("ip4:192.0.2.0/24", why)


class Cidr(unittest.TestCase):
    def test_ip4(self):
        self.assertEqual(run("v=spf1 ip4:192.0.2.0/25 -all", "192.0.2.127"), spf.PASS)
        self.assertEqual(run("v=spf1 ip4:192.0.2.0/25 -all", "192.0.2.128"), spf.FAIL)
        self.assertEqual(run("v=spf1 ip4:10.0.0.0/8 -all", "10.255.1.2"), spf.PASS)
        self.assertEqual(run("v=spf1 ip4:0.0.0.0/0 -all", "203.0.113.9"), spf.PASS)
        self.assertEqual(run("v=spf1 ip4:192.0.2.7/31 -all", "192.0.2.6"), spf.PASS)
        self.assertEqual(run("v=spf1 ip4:192.0.2.7/32 -all", "192.0.2.6"), spf.FAIL)

    def test_ip6(self):
        self.assertEqual(run("v=spf1 ip6:2001:db8::/32 -all", "2001:db8:ff::1"), spf.PASS)
        self.assertEqual(run("v=spf1 ip6:2001:db8::/32 -all", "2001:db9::1"), spf.FAIL)
        self.assertEqual(run("v=spf1 ip6:2001:db8::1 -all", "2001:DB8:0::1"), spf.PASS)
        self.assertEqual(run("v=spf1 ip6:2001:db8::/33 -all", "2001:db8:8000::1"), spf.FAIL)

    def test_families_do_not_mix(self):
        self.assertEqual(run("v=spf1 ip6:::/0 -all", "192.0.2.1"), spf.FAIL)
        self.assertEqual(run("v=spf1 ip4:0.0.0.0/0 -all", "2001:db8::1"), spf.FAIL)

    def test_v4_mapped_v6_client_is_v4(self):
        self.assertEqual(run("v=spf1 ip4:192.0.2.0/24 -all", "::ffff:192.0.2.9"), spf.PASS)

    def test_dual_cidr(self):
        extra = {("example.com", "AAAA"): ["2001:db8::10"]}
        rec = "v=spf1 a/24//64 -all"
        self.assertEqual(run(rec, "192.0.2.200", extra), spf.PASS)
        self.assertEqual(run(rec, "2001:db8::ffff:1", extra), spf.PASS)
        self.assertEqual(run(rec, "2001:db8:1::1", extra), spf.FAIL)
        self.assertEqual(run("v=spf1 a//64 -all", "2001:db8::5", extra), spf.PASS)
        self.assertEqual(run("v=spf1 a//64 -all", "192.0.2.12", extra), spf.FAIL)
        self.assertEqual(run("v=spf1 a:example.com/24 -all", "192.0.2.99", extra), spf.PASS)

    def test_cidr_match_helper(self):
        self.assertTrue(spf.cidr_match(b"\xc0\x00\x02\x81", b"\xc0\x00\x02\x80", 25))
        self.assertFalse(spf.cidr_match(b"\xc0\x00\x02\x81", b"\xc0\x00\x02\x80", 32))
        self.assertFalse(spf.cidr_match(b"\xc0\x00\x02\x81", b"\x00" * 16, 0))


class Include(unittest.TestCase):
    def table(self, inner):
        t = {("example.com", "TXT"): ["v=spf1 include:inc.example.net -all"]}
        if inner is not None:
            t[("inc.example.net", "TXT")] = [inner]
        return FakeDNS(t)

    def check(self, inner, ip="192.0.2.1"):
        return spf.check_host(ip, "example.com", "a@example.com", "h", self.table(inner))[0]

    def test_include_results(self):
        self.assertEqual(self.check("v=spf1 ip4:192.0.2.1 -all"), spf.PASS)
        self.assertEqual(self.check("v=spf1 -all"), spf.FAIL)        # no match, then -all
        self.assertEqual(self.check("v=spf1 ~all"), spf.FAIL)
        self.assertEqual(self.check("v=spf1 ?all"), spf.FAIL)
        self.assertEqual(self.check("v=spf1 foo"), spf.PERMERROR)
        self.assertEqual(self.check(None), spf.PERMERROR)             # none -> permerror

    def test_include_temperror(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 include:inc.example.net -all"]},
                      fail=("inc.example.net",))
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.TEMPERROR)

    def test_include_loop(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 include:example.net -all"],
                       ("example.net", "TXT"): ["v=spf1 include:example.com -all"]})
        r, why = spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)
        self.assertEqual(r, spf.PERMERROR)
        self.assertIn("10", why)

    def test_self_include(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 include:example.com -all"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PERMERROR)

    def test_redirect(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 redirect=_spf.example.net"],
                       ("_spf.example.net", "TXT"): ["v=spf1 ip4:192.0.2.1 ~all"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PASS)
        self.assertEqual(spf.check_host("192.0.2.2", "example.com", "a@example.com", "h", dns)[0],
                         spf.SOFTFAIL)

    def test_redirect_to_nothing_is_permerror(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 redirect=nothing.example.net"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PERMERROR)

    def test_redirect_ignored_with_all(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 redirect=_spf.example.net -all"],
                       ("_spf.example.net", "TXT"): ["v=spf1 +all"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.FAIL)
        self.assertNotIn(("_spf.example.net", "TXT"), dns.asked)

    def test_redirect_loop(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 redirect=example.com"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PERMERROR)


class Limits(unittest.TestCase):
    def hosts(self, n):
        t = {}
        for i in range(n):
            t[("h%d.example.com" % i, "A")] = ["198.51.100.%d" % i]
        return t

    def test_ten_lookups_allowed(self):
        t = self.hosts(10)
        t[("example.com", "TXT")] = [
            "v=spf1 " + " ".join("a:h%d.example.com" % i for i in range(10)) + " -all"]
        self.assertEqual(spf.check_host("198.51.100.9", "example.com", "a@example.com", "h",
                                        FakeDNS(t))[0], spf.PASS)

    def test_eleventh_lookup_permerror(self):
        t = self.hosts(11)
        t[("example.com", "TXT")] = [
            "v=spf1 " + " ".join("a:h%d.example.com" % i for i in range(11)) + " -all"]
        self.assertEqual(spf.check_host("198.51.100.10", "example.com", "a@example.com", "h",
                                        FakeDNS(t))[0], spf.PERMERROR)
        # ... but an earlier match wins: terms are evaluated left to right
        self.assertEqual(spf.check_host("198.51.100.0", "example.com", "a@example.com", "h",
                                        FakeDNS(t))[0], spf.PASS)

    def test_ip_mechanisms_do_not_count(self):
        rec = "v=spf1 " + " ".join("ip4:203.0.113.%d" % i for i in range(30)) + " -all"
        self.assertEqual(run(rec, "203.0.113.29"), spf.PASS)

    def test_limit_spans_includes(self):
        t = self.hosts(10)
        t[("example.com", "TXT")] = ["v=spf1 include:a.example.net include:b.example.net -all"]
        t[("a.example.net", "TXT")] = [
            "v=spf1 " + " ".join("a:h%d.example.com" % i for i in range(5)) + " -all"]
        t[("b.example.net", "TXT")] = [
            "v=spf1 " + " ".join("a:h%d.example.com" % i for i in range(5, 10)) + " -all"]
        # 2 includes + 10 a = 12 lookups before h9 is reached
        self.assertEqual(spf.check_host("198.51.100.9", "example.com", "a@example.com", "h",
                                        FakeDNS(t))[0], spf.PERMERROR)
        self.assertEqual(spf.check_host("198.51.100.7", "example.com", "a@example.com", "h",
                                        FakeDNS(t))[0], spf.PASS)   # 10th lookup

    def test_void_lookups(self):
        # two void lookups are tolerated, the third is a permerror
        two = "v=spf1 a:n1.example.com a:n2.example.com ip4:192.0.2.1 -all"
        three = "v=spf1 a:n1.example.com a:n2.example.com exists:n3.example.com ip4:192.0.2.1 -all"
        self.assertEqual(run(two, "192.0.2.1"), spf.PASS)
        self.assertEqual(run(three, "192.0.2.1"), spf.PERMERROR)

    def test_nodata_counts_as_void(self):
        extra = {("n1.example.com", "MX"): [(10, "mx.example.com")],
                 ("n2.example.com", "MX"): [(10, "mx.example.com")],
                 ("n3.example.com", "MX"): [(10, "mx.example.com")]}
        rec = "v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com -all"
        self.assertEqual(run(rec, "192.0.2.1", extra), spf.PERMERROR)

    def test_mx_over_ten_names(self):
        mxs = [(i, "m%d.example.com" % i) for i in range(11)]
        extra = {("example.com", "MX"): mxs}
        for i in range(11):
            extra[("m%d.example.com" % i, "A")] = ["198.51.100.%d" % i]
        self.assertEqual(run("v=spf1 mx -all", "198.51.100.0", extra), spf.PERMERROR)
        extra[("example.com", "MX")] = mxs[:10]
        self.assertEqual(run("v=spf1 mx -all", "198.51.100.9", extra), spf.PASS)

    def test_null_mx(self):
        extra = {("example.com", "MX"): [(0, ".")]}
        self.assertEqual(run("v=spf1 mx -all", "192.0.2.1", extra), spf.FAIL)


class Errors(unittest.TestCase):
    def test_temperror_on_record(self):
        dns = FakeDNS({}, fail=("example.com",))
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.TEMPERROR)

    def test_temperror_on_a(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 a:broken.example.net -all"]},
                      fail=("broken.example.net",))
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.TEMPERROR)

    def test_temperror_after_match_not_reached(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 ip4:192.0.2.1 a:broken.example.net -all"]},
                      fail=("broken.example.net",))
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PASS)

    def test_ptr_dns_error_is_no_match(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 ptr ?all"]},
                      fail=("1.2.0.192.in-addr.arpa",))
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.NEUTRAL)

    def test_bad_client_ip(self):
        self.assertEqual(spf.check_host("300.1.1.1", "example.com", "a@example.com", "h",
                                        FakeDNS({}))[0], spf.PERMERROR)

    def test_non_ascii_record(self):
        dns = FakeDNS({("example.com", "TXT"): ["v=spf1 a:\u00e9.example.com -all"]})
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns)[0],
                         spf.PERMERROR)


class Macros(unittest.TestCase):
    """RFC 7208 7.4, checked through the names exists: asks for."""

    def asked_for(self, spec, ip="192.0.2.3", sender="strong-bad@email.example.com",
                  helo="mx.example.org", extra=None):
        t = {("email.example.com", "TXT"): ["v=spf1 exists:" + spec + " -all"]}
        if extra:
            t.update(extra)
        dns = FakeDNS(t)
        spf.check_host(ip, "email.example.com", sender, helo, dns)
        return [n for n, rt in dns.asked if rt == "A"]

    def test_rfc_examples(self):
        cases = [
            ("%{s}.x.example", "strong-bad@email.example.com.x.example"),
            ("%{o}.x.example", "email.example.com.x.example"),
            ("%{d}.x.example", "email.example.com.x.example"),
            ("%{d4}.x.example", "email.example.com.x.example"),
            ("%{d3}.x.example", "email.example.com.x.example"),
            ("%{d2}.x.example", "example.com.x.example"),
            ("%{d1}.x.example", "com.x.example"),
            ("%{dr}.x.example", "com.example.email.x.example"),
            ("%{d2r}.x.example", "example.email.x.example"),
            ("%{l}.x.example", "strong-bad.x.example"),
            ("%{l-}.x.example", "strong.bad.x.example"),
            ("%{lr}.x.example", "strong-bad.x.example"),
            ("%{lr-}.x.example", "bad.strong.x.example"),
            ("%{l1r-}.x.example", "strong.x.example"),
            ("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"),
            ("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"),
            ("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
             "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"),
            ("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
             "3.2.0.192.in-addr.strong.lp._spf.example.com"),
            ("%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"),
            ("%{h}.x.example", "mx.example.org.x.example"),
            ("%{i}.x.example", "192.0.2.3.x.example"),
            ("%%%_%-.x.example", "% %20.x.example"),
        ]
        for spec, want in cases:
            got = self.asked_for(spec)
            self.assertEqual(got, [want] if want else [], spec)

    def test_ipv6(self):
        got = self.asked_for("%{ir}.%{v}._spf.%{d2}", ip="2001:db8::cb01")
        self.assertEqual(got, ["1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
                               ".ip6._spf.example.com"])

    def test_url_escape_upper(self):
        self.assertEqual(self.asked_for("%{S}.x.example"),
                         ["strong-bad%40email.example.com.x.example"])

    def test_uppercase_transformer(self):
        self.assertEqual(self.asked_for("%{L1R-}.x.example"), ["strong.x.example"])

    def test_empty_local_part_is_postmaster(self):
        self.assertEqual(self.asked_for("%{l}.x.example", sender="@email.example.com"),
                         ["postmaster.x.example"])

    def test_truncated_to_253(self):
        long_local = "a." * 60 + "b"
        got = self.asked_for("%{l}.%{l}.%{l}.x.example", sender=long_local + "@email.example.com")
        self.assertEqual(len(got), 1)
        self.assertTrue(len(got[0]) <= 253)
        self.assertTrue(got[0].endswith(".b.x.example"))
        self.assertFalse(got[0].startswith("."))

    def test_p_macro(self):
        extra = {("3.2.0.192.in-addr.arpa", "PTR"): ["mx.example.org."],
                 ("mx.example.org", "A"): ["192.0.2.3"]}
        self.assertEqual(self.asked_for("%{p}.x.example", extra=extra),
                         ["mx.example.org", "mx.example.org.x.example"])
        self.assertEqual(self.asked_for("%{p}.x.example")[-1], "unknown.x.example")

    def test_include_with_macros(self):
        t = {("example.com", "TXT"): ["v=spf1 include:%{ir}.%{l1r+-}._spf.%{d} -all"],
             ("1.2.0.192.joe._spf.example.com", "TXT"): ["v=spf1 +all"]}
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "joe+tag@example.com", "h",
                                        FakeDNS(t))[0], spf.PASS)

    def test_exists_uses_a_even_for_v6(self):
        t = {("example.com", "TXT"): ["v=spf1 exists:%{i}.ok.example.com -all"]}
        dns = FakeDNS(t)
        spf.check_host("2001:db8::1", "example.com", "a@example.com", "h", dns)
        self.assertEqual(dns.asked[-1][1], "A")


class Explanation(unittest.TestCase):
    def test_exp(self):
        t = {("example.com", "TXT"): ["v=spf1 -all exp=explain.example.com"],
             ("explain.example.com", "TXT"): ["%{i} is not one of %{d}'s servers; see %{c} at %{t}"]}
        dns = FakeDNS(t)
        r, why = spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", dns, now=42)
        self.assertEqual(r, spf.FAIL)
        self.assertEqual(why, "192.0.2.1 is not one of example.com's servers; see 192.0.2.1 at 42")

    def test_broken_exp_is_ignored(self):
        t = {("example.com", "TXT"): ["v=spf1 -all exp=explain.example.com"],
             ("explain.example.com", "TXT"): ["bad %{z} macro"]}
        r, why = spf.check_host("192.0.2.1", "example.com", "a@example.com", "h", FakeDNS(t))
        self.assertEqual(r, spf.FAIL)
        self.assertIn("all", why)
        t = {("example.com", "TXT"): ["v=spf1 -all exp=explain.example.com"]}
        self.assertEqual(spf.check_host("192.0.2.1", "example.com", "a@example.com", "h",
                                        FakeDNS(t))[0], spf.FAIL)


class MailFrom(unittest.TestCase):
    def test_mailfrom_and_helo(self):
        t = {("example.com", "TXT"): ["v=spf1 ip4:192.0.2.1 -all"],
             ("mx.example.com", "TXT"): ["v=spf1 ip4:192.0.2.2 -all"]}
        self.assertEqual(spf.check_mailfrom("192.0.2.1", "joe@Example.COM", "mx.example.com",
                                            FakeDNS(t)),
                         (spf.PASS, "ip4:192.0.2.1 matched at example.com", "mailfrom",
                          "example.com"))
        r = spf.check_mailfrom("192.0.2.2", "", "mx.example.com", FakeDNS(t))
        self.assertEqual((r[0], r[2], r[3]), (spf.PASS, "helo", "mx.example.com"))
        r = spf.check_mailfrom("192.0.2.2", "<>", "mx.example.com", FakeDNS(t))
        self.assertEqual(r[0], spf.PASS)
