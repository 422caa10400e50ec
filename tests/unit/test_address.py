import unittest

from ptt.mail.address import AddressError, Address, normalize_domain, parse_mailbox
from ptt.mail import idna


class TestParseMailbox(unittest.TestCase):
    def test_domain_is_lowercased_local_part_kept(self):
        a = parse_mailbox("Foo.Bar@Example.ORG")
        self.assertEqual(str(a), "Foo.Bar@example.org")

    def test_same_subscriber_regardless_of_case(self):
        self.assertEqual(parse_mailbox("foo@example.org"), parse_mailbox("FOO@EXAMPLE.org"))
        self.assertEqual(len(set([parse_mailbox("a@b.org"), parse_mailbox("A@B.ORG")])), 1)

    def test_quoted_local_part_that_is_a_dot_string_is_unquoted(self):
        self.assertEqual(str(parse_mailbox('"john.doe"@example.org')), "john.doe@example.org")

    def test_quoted_local_part_with_space_stays_quoted(self):
        self.assertEqual(str(parse_mailbox('"john doe"@example.org')), '"john doe"@example.org')

    def test_quoted_local_part_with_at_sign(self):
        self.assertEqual(str(parse_mailbox('"a@b"@example.org')), '"a@b"@example.org')

    def test_utf8_local_part_smtputf8(self):
        self.assertEqual(str(parse_mailbox("jösé@example.org")), "jösé@example.org")

    def test_unicode_domain_becomes_a_labels(self):
        self.assertEqual(str(parse_mailbox("x@bücher.de")), "x@xn--bcher-kva.de")

    def test_address_literal(self):
        self.assertEqual(str(parse_mailbox("x@[192.0.2.1]")), "x@[192.0.2.1]")
        with self.assertRaises(AddressError):
            parse_mailbox("x@[192.0.2.1]", allow_literal=False)

    def test_bad_addresses(self):
        for bad in ("", "foo", "@example.org", "foo@", "a b@example.org", "a..b@example.org",
                    ".a@example.org", "a.@example.org", "a@-example.org", "a@exa_mple.org",
                    "a@example..org", "<a@example.org>", "a@example.org\r\n", '"unterminated@x.org',
                    "a@[300.1.1.1]", "a(comment)@example.org"):
            with self.assertRaises(AddressError):
                parse_mailbox(bad)

    def test_length_limits(self):
        parse_mailbox("a" * 64 + "@example.org")
        with self.assertRaises(AddressError):
            parse_mailbox("a" * 65 + "@example.org")
        with self.assertRaises(AddressError):
            parse_mailbox("a@" + "b" * 64 + ".org")

    def test_fqdn_required_when_asked(self):
        self.assertEqual(str(parse_mailbox("a@localhost")), "a@localhost")
        with self.assertRaises(AddressError):
            parse_mailbox("a@localhost", fqdn=True)

    def test_trailing_dot_of_domain_dropped(self):
        self.assertEqual(normalize_domain("Example.ORG."), "example.org")

    def test_address_is_not_equal_to_a_string(self):
        self.assertFalse(Address("a", "b.org") == "a@b.org")


class TestPunycode(unittest.TestCase):
    # RFC 3492 section 7.1 samples (lowercased where the RFC shows mixed case).
    def test_rfc3492_samples(self):
        self.assertEqual(idna.punycode_encode("\u0644\u064a\u0647\u0645\u0627\u0628\u062a\u0643\u0644"
                                              "\u0645\u0648\u0634\u0639\u0631\u0628\u064a\u061f"),
                         "egbpdaj6bu4bxfgehfvwxn")
        self.assertEqual(idna.punycode_encode("\u4ed6\u4eec\u4e3a\u4ec0\u4e48\u4e0d\u8bf4\u4e2d\u6587"),
                         "ihqwcrb4cv8a8dqg056pqjye")
        self.assertEqual(idna.punycode_encode("b\u00fccher"), "bcher-kva")

    def test_to_ascii(self):
        self.assertEqual(idna.to_ascii("M\u00fcnchen.Example"), "xn--mnchen-3ya.example")
        self.assertEqual(idna.to_ascii("plain.example"), "plain.example")
