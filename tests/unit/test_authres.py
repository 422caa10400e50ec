"""Inbound authentication (ptt.authres): DMARC evaluation, the
Authentication-Results field, removal of forged ones, authenticate()."""
import unittest

from ptt import authres, dkim
from ptt.crypto import keys
from ptt.mail import headers as H
from testkeys import RSA_PEM
from fakedns import FakeDNS



NOW = 1700000000


class State:
    key = None


def rsa_key():
    if State.key is None:
        State.key = keys.load_private_key(RSA_PEM)
    return State.key


def txt_of(table, fail=()):
    """A txt(name) function as ptt.lists.dmarc wants it."""
    def txt(name):
        if name in fail:
            raise OSError("timeout")
        return table.get(name, [])
    return txt


class R:
    """A stand-in for dkim.Result."""

    def __init__(self, result, domain):
        self.result = result
        self.domain = domain


DMARC = {"_dmarc.example.com": ["v=DMARC1; p=reject; sp=quarantine"],
         "_dmarc.strict.example": ["v=DMARC1; p=quarantine; aspf=s; adkim=s"]}


def ev(from_domain, spf_result="none", spf_domain=None, dkim_results=(), table=None, fail=()):
    return authres.evaluate(from_domain, spf_result, spf_domain, list(dkim_results),
                            txt_of(DMARC if table is None else table, fail))


class Alignment(unittest.TestCase):
    def test_spf_exact(self):
        d = ev("example.com", "pass", "example.com")
        self.assertEqual(d.result, "pass")
        self.assertTrue(d.spf_aligned)
        self.assertEqual((d.p, d.sp, d.policy), ("reject", "quarantine", "reject"))

    def test_spf_relaxed_subdomain(self):
        self.assertEqual(ev("example.com", "pass", "bounces.example.com").result, "pass")
        self.assertEqual(ev("news.example.com", "pass", "example.com").result, "pass")
        self.assertEqual(ev("news.example.com", "pass", "mail.example.com").result, "pass")

    def test_spf_pass_unaligned(self):
        d = ev("example.com", "pass", "example.net")
        self.assertEqual(d.result, "fail")
        self.assertFalse(d.spf_aligned)
        # a look-alike suffix is not a subdomain
        self.assertEqual(ev("example.com", "pass", "badexample.com").result, "fail")

    def test_spf_not_pass(self):
        for r in ("fail", "softfail", "neutral", "none", "temperror", "permerror"):
            self.assertEqual(ev("example.com", r, "example.com").result, "fail", r)

    def test_strict(self):
        self.assertEqual(ev("strict.example", "pass", "strict.example").result, "pass")
        self.assertEqual(ev("strict.example", "pass", "mail.strict.example").result, "fail")
        self.assertEqual(ev("strict.example", dkim_results=[R("pass", b"a.strict.example")]).result,
                         "fail")
        self.assertEqual(ev("strict.example", dkim_results=[R("pass", b"STRICT.example")]).result,
                         "pass")

    def test_dkim_relaxed(self):
        d = ev("example.com", dkim_results=[R("pass", b"mail.example.com")])
        self.assertEqual(d.result, "pass")
        self.assertEqual(d.dkim_aligned, "mail.example.com")

    def test_dkim_pass_unaligned(self):
        d = ev("example.com", "fail", "example.com",
               [R("pass", b"esp.example.net"), R("fail", b"example.com")])
        self.assertEqual(d.result, "fail")
        self.assertIsNone(d.dkim_aligned)

    def test_one_aligned_dkim_is_enough(self):
        d = ev("example.com", dkim_results=[R("pass", b"esp.example.net"),
                                            R("pass", b"example.com")])
        self.assertEqual(d.result, "pass")

    def test_subdomain_policy(self):
        d = ev("a.b.example.com", "pass", "example.net")
        self.assertEqual((d.result, d.policy, d.found_at, d.org_domain),
                         ("fail", "quarantine", "example.com", "example.com"))

    def test_no_record(self):
        self.assertEqual(ev("example.org", "pass", "example.org").result, "none")

    def test_temperror(self):
        self.assertEqual(ev("example.com", table={}, fail=("_dmarc.example.com",)).result,
                         "temperror")

    def test_two_records_permerror(self):
        t = {"_dmarc.example.com": ["v=DMARC1; p=none", "v=DMARC1; p=reject"]}
        self.assertEqual(ev("example.com", table=t).result, "permerror")

    def test_no_from_domain(self):
        self.assertEqual(ev(None).result, "permerror")


class OrgDomain(unittest.TestCase):
    def test_fewest_labels(self):
        t = {"_dmarc.mail.example.com": ["v=DMARC1; p=none"],
             "_dmarc.example.com": ["v=DMARC1; p=reject"]}
        d = ev("mail.example.com", "pass", "example.com", table=t)
        # the policy is the nearest record, the organisational domain the highest
        self.assertEqual((d.policy, d.found_at, d.org_domain, d.result),
                         ("none", "mail.example.com", "example.com", "pass"))

    def test_psd_y(self):
        t = {"_dmarc.gov.example": ["v=DMARC1; p=reject; psd=y"]}
        d = ev("agency.gov.example", "pass", "other.gov.example", table=t)
        self.assertEqual((d.policy, d.org_domain, d.result), ("reject", "agency.gov.example", "fail"))
        d = ev("mail.agency.gov.example", "pass", "agency.gov.example", table=t)
        self.assertEqual((d.org_domain, d.result), ("agency.gov.example", "pass"))

    def test_psd_n(self):
        t = {"_dmarc.b.example.com": ["v=DMARC1; p=none; psd=n"],
             "_dmarc.example.com": ["v=DMARC1; p=reject"]}
        self.assertEqual(authres.organizational_domain("a.b.example.com", txt_of(t)),
                         "b.example.com")

    def test_none_found(self):
        self.assertEqual(authres.organizational_domain("a.example.com", txt_of({})),
                         "a.example.com")

    def test_dns_failure_above_stops_the_walk(self):
        t = {"_dmarc.mail.example.com": ["v=DMARC1; p=none"],
             "_dmarc.example.com": ["v=DMARC1; p=reject"]}
        d = ev("mail.example.com", table=t, fail=("_dmarc.example.com",))
        self.assertEqual((d.policy, d.org_domain), ("none", "mail.example.com"))


class FromDomain(unittest.TestCase):
    def fd(self, *values):
        return authres.from_domain([(b"From", v) for v in values])

    def test_forms(self):
        self.assertEqual(self.fd(b" joe@Example.COM")[0], "example.com")
        self.assertEqual(self.fd(b' "Joe, Jr. <x@y.z>" <joe@example.com>')[0], "example.com")
        self.assertEqual(self.fd(b" Joe (a@b.c) <joe@example.com> (work)")[0], "example.com")
        self.assertEqual(self.fd(b" Joe\r\n <joe@example.com>")[0], "example.com")
        self.assertEqual(self.fd(b" a@example.com, b@example.com")[0], "example.com")
        self.assertEqual(self.fd(b' "a@b"@example.com')[0], "example.com")

    def test_problems(self):
        self.assertIsNone(authres.from_domain([(b"To", b" a@b.c")])[0])
        self.assertIsNone(self.fd(b" a@example.com", b" b@example.com")[0])
        self.assertIsNone(self.fd(b" a@example.com, b@example.net")[0])
        self.assertIsNone(self.fd(b" undisclosed")[0])
        self.assertIsNone(self.fd(b" ")[0])


class AuthservId(unittest.TestCase):
    def test_forms(self):
        self.assertEqual(authres.authserv_id(b" lists.example.org; spf=pass"), "lists.example.org")
        self.assertEqual(authres.authserv_id(b" Lists.Example.ORG 1; none"), "lists.example.org")
        self.assertEqual(authres.authserv_id(b" (c (nested)) lists.example.org;none"),
                         "lists.example.org")
        self.assertEqual(authres.authserv_id(b'\r\n\t"lists.example.org"; none'),
                         "lists.example.org")
        self.assertEqual(authres.authserv_id(b" lists.example.org(x); none"), "lists.example.org")
        self.assertIsNone(authres.authserv_id(b" "))


HDRS = [(b"Received", b" from a by b"),
        (b"Authentication-Results", b" lists.example.org; spf=pass smtp.mailfrom=x@y"),
        (b"From", b" a@example.com"),
        (b"Authentication-Results", b" mx.example.net; dkim=pass header.d=example.com"),
        (b"Authentication-Results", b" LISTS.EXAMPLE.ORG;\r\n dmarc=pass"),
        (b"ARC-Authentication-Results", b" i=1; lists.example.org; dkim=pass"),
        (b"authentication-results", b' (forged) "lists.example.org" 1; none'),
        (b"Authentication-Results", b" lists.example.org.evil; none"),
        (b"Subject", b" hi")]


class RemoveOurs(unittest.TestCase):
    def test_removes_only_ours_and_keeps_order(self):
        kept = authres.remove_ours(HDRS, "lists.example.org")
        self.assertEqual(kept, [HDRS[0], HDRS[2], HDRS[3], HDRS[5], HDRS[7], HDRS[8]])
        self.assertEqual(len(HDRS), 9)  # the input is not changed

    def test_case_of_ours(self):
        self.assertEqual(len(authres.remove_ours(HDRS, "Lists.Example.Org")), 6)
        self.assertEqual(len(authres.remove_ours(HDRS, b"lists.example.org")), 6)

    def test_nothing_to_remove(self):
        self.assertEqual(authres.remove_ours(HDRS, "other.example"), HDRS)


class Field(unittest.TestCase):
    def summary(self):
        s = authres.Summary()
        s.spf, s.spf_scope, s.spf_identity = "pass", "mailfrom", "a@b.example"
        r = dkim.Result("pass", "", b"b.example", b"sel", b"rsa-sha256")
        r.b = b"abcd1234efgh\r\n ijkl"
        s.dkim = [r, dkim.Result("fail", "bad", b"c.example", b"s2", b"ed25519-sha256")]
        d = authres.Dmarc("pass", "b.example")
        d.p, d.sp = "reject", "none"
        s.dmarc = d
        return s

    def test_text(self):
        f = authres.build("lists.example.org", authres.resinfos(self.summary()))
        self.assertTrue(f.endswith(b"\r\n"))
        unfolded = f[:-2].replace(b"\r\n", b"")
        self.assertEqual(unfolded,
                         b"Authentication-Results: lists.example.org; spf=pass"
                         b" smtp.mailfrom=a@b.example; dkim=pass header.d=b.example header.s=sel"
                         b" header.b=abcd1234 header.a=rsa-sha256; dkim=fail header.d=c.example"
                         b" header.s=s2 header.a=ed25519-sha256; dmarc=pass (p=reject sp=none)"
                         b" header.from=b.example")
        for line in f[:-2].split(b"\r\n"):
            self.assertTrue(len(line) <= 78, line)
        hs, _ = H.parse(f + b"\r\n")
        self.assertEqual(len(hs), 1)

    def test_helo_and_none(self):
        s = authres.Summary()
        s.spf, s.spf_scope, s.spf_identity = "none", "helo", "mx.example.net"
        s.dmarc = authres.Dmarc("none", "example.net")
        f = authres.build("lists.example.org", authres.resinfos(s))
        self.assertEqual(f, b"Authentication-Results: lists.example.org; spf=none"
                            b" smtp.helo=mx.example.net;\r\n"
                            b" dkim=none; dmarc=none header.from=example.net\r\n")

    def test_awkward_mailfrom_is_quoted(self):
        s = authres.Summary()
        s.spf, s.spf_identity = "fail", "we;ird@example.com"
        f = authres.build("x.example", authres.resinfos(s))
        self.assertIn(b'smtp.mailfrom="we;ird"@example.com;', f)

    def test_empty(self):
        self.assertEqual(authres.build("x.example", []),
                         b"Authentication-Results: x.example; none\r\n")


MSG = (b"Authentication-Results: lists.example.org; dkim=pass header.d=example.com\r\n"
       b"Received: from mx by lists\r\n"
       b"From: Joe <joe@example.com>\r\nTo: list@lists.example.org\r\n"
       b"Authentication-Results: mx.example.net; spf=fail\r\n"
       b"Subject: dinner\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
       b"Message-ID: <1@example.com>\r\n\r\nHi.\r\n")


def world(spf_record="v=spf1 ip4:192.0.2.0/24 -all", dkim_domain=b"example.com"):
    key = rsa_key()
    t = {("example.com", "TXT"): [spf_record],
         ("_dmarc.example.com", "TXT"): ["v=DMARC1; p=reject"],
         ("sel._domainkey." + dkim_domain.decode(), "TXT"): [dkim.txt_record(key)]}
    return FakeDNS(t)


class Authenticate(unittest.TestCase):
    def test_all_pass(self):
        key = rsa_key()
        signed = dkim.sign(MSG, b"example.com", b"sel", key, NOW) + MSG
        out, s = authres.authenticate(signed, "192.0.2.7", "mx.example.com", "joe@example.com",
                                      "lists.example.org", world(), NOW)
        self.assertEqual((s.spf, [r.result for r in s.dkim], s.dmarc.result, s.removed),
                         ("pass", ["pass"], "pass", 1))
        hs, body = H.parse(out)
        self.assertEqual(body, b"Hi.\r\n")
        self.assertEqual(H.key(hs[0][0]), b"authentication-results")
        self.assertEqual(hs[0][0] + b":" + hs[0][1] + b"\r\n", s.field)
        names = [H.key(n) for n, v in hs]
        self.assertEqual(names, [b"authentication-results", b"dkim-signature", b"received",
                                 b"from", b"to", b"authentication-results", b"subject", b"date",
                                 b"message-id"])
        text = s.field.replace(b"\r\n", b"")
        self.assertIn(b"spf=pass smtp.mailfrom=joe@example.com;", text)
        self.assertIn(b"dkim=pass header.d=example.com header.s=sel header.b=", text)
        self.assertIn(b"dmarc=pass (p=reject sp=reject) header.from=example.com", text)
        b = H.get_all(hs, b"DKIM-Signature")[0].replace(b"\r\n", b"").replace(b" ", b"")
        b = b[b.find(b";b=") + 3:]
        self.assertIn(b"header.b=" + b[:8] + b" ", text)
        # the signature still verifies after our changes
        self.assertEqual([r.result for r in dkim.verify(out, lambda n: world().__call__(n, "TXT")[0],
                                                        NOW)], ["pass"])

    def test_signer_finds_ours(self):
        from ptt.signer import signing
        out, s = authres.authenticate(MSG, "192.0.2.7", "mx.example.com", "joe@example.com",
                                      "lists.example.org", world(), NOW)
        hs, _ = H.parse(out)
        payload = signing.find_auth_results(hs, "lists.example.org")
        self.assertEqual(payload, s.field[len(b"Authentication-Results:"):]
                         .replace(b"\r\n", b"").strip())

    def test_spf_fail_dkim_unaligned(self):
        key = rsa_key()
        signed = dkim.sign(MSG, b"esp.example.net", b"sel", key, NOW) + MSG
        out, s = authres.authenticate(signed, "198.51.100.1", "mx.example.net", "joe@example.com",
                                      "lists.example.org", world(dkim_domain=b"esp.example.net"),
                                      NOW)
        self.assertEqual((s.spf, [r.result for r in s.dkim], s.dmarc.result),
                         ("fail", ["pass"], "fail"))
        self.assertIn(b"header.d=esp.example.net", s.field)

    def test_null_sender_uses_helo(self):
        dns = world()
        dns.table[("mx.example.com", "TXT")] = ["v=spf1 ip4:192.0.2.7 -all"]
        out, s = authres.authenticate(MSG, "192.0.2.7", "mx.example.com", "",
                                      "lists.example.org", dns, NOW)
        self.assertEqual((s.spf, s.spf_scope, s.dmarc.result), ("pass", "helo", "pass"))
        self.assertIn(b"smtp.helo=mx.example.com", s.field)

    def test_dns_trouble(self):
        dns = FakeDNS({}, fail=("example.com", "_dmarc.example.com", "sel._domainkey.example.com"))
        key = rsa_key()
        signed = dkim.sign(MSG, b"example.com", b"sel", key, NOW) + MSG
        out, s = authres.authenticate(signed, "192.0.2.7", "mx.example.com", "joe@example.com",
                                      "lists.example.org", dns, NOW)
        self.assertEqual((s.spf, [r.result for r in s.dkim], s.dmarc.result),
                         ("temperror", ["temperror"], "temperror"))

    def test_lf_message(self):
        out, s = authres.authenticate(MSG.replace(b"\r\n", b"\n"), "192.0.2.7", "mx.example.com",
                                      "joe@example.com", "lists.example.org", world(), NOW)
        self.assertEqual(s.removed, 1)
        self.assertTrue(out.endswith(b"\r\n\r\nHi.\r\n"))

    def test_bad_header_raises(self):
        with self.assertRaises(ValueError):
            authres.authenticate(b"no colon here\r\n\r\nx", "192.0.2.7", "h", "a@b.c",
                                 "lists.example.org", world(), NOW)
