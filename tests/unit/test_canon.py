"""Canonicalisation (RFC 6376 3.4) with the examples of section 3.4.5."""
import unittest

from ptt.mail import canon
from ptt.mail.headers import parse

# RFC 6376 3.4.5 example message.
EXAMPLE_HEADERS = [(b"A", b" X"), (b"B ", b" Y\t\r\n\tZ  ")]
EXAMPLE_BODY = b" C \r\nD \t E\r\n\r\n\r\n"


class TestRFC6376Examples(unittest.TestCase):
    def test_rfc6376_3_4_5_relaxed_headers(self):
        out = b"".join(canon.relaxed_header(n, v) for n, v in EXAMPLE_HEADERS)
        self.assertEqual(out, b"a:X\r\nb:Y Z\r\n")

    def test_rfc6376_3_4_5_relaxed_body(self):
        self.assertEqual(canon.relaxed_body(EXAMPLE_BODY), b" C\r\nD E\r\n")

    def test_rfc6376_3_4_5_simple_headers(self):
        out = b"".join(canon.simple_header(n, v) for n, v in EXAMPLE_HEADERS)
        self.assertEqual(out, b"A: X\r\nB : Y\t\r\n\tZ  \r\n")

    def test_rfc6376_3_4_5_simple_body(self):
        self.assertEqual(canon.simple_body(EXAMPLE_BODY), b" C \r\nD \t E\r\n")

    def test_example_through_the_parser(self):
        headers, body = parse(b"A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n" + EXAMPLE_BODY)
        self.assertEqual(headers, EXAMPLE_HEADERS)
        self.assertEqual(body, EXAMPLE_BODY)


class TestBodies(unittest.TestCase):
    def test_rfc6376_3_4_3_simple_empty_body_is_crlf(self):
        self.assertEqual(canon.simple_body(b""), b"\r\n")
        self.assertEqual(canon.simple_body(b"\r\n\r\n"), b"\r\n")

    def test_rfc6376_3_4_4_relaxed_empty_body_is_empty(self):
        self.assertEqual(canon.relaxed_body(b""), b"")
        self.assertEqual(canon.relaxed_body(b"\r\n"), b"")
        self.assertEqual(canon.relaxed_body(b" \t\r\n  \r\n"), b"")

    def test_no_final_crlf(self):
        self.assertEqual(canon.simple_body(b"abc"), b"abc\r\n")
        self.assertEqual(canon.relaxed_body(b"abc  "), b"abc\r\n")

    def test_bare_cr_and_lf_are_content(self):
        self.assertEqual(canon.simple_body(b"a\rb\nc\r\n"), b"a\rb\nc\r\n")
        self.assertEqual(canon.simple_body(b"a\r"), b"a\r\r\n")

    def test_relaxed_keeps_leading_space_and_8bit(self):
        self.assertEqual(canon.relaxed_body(b"  \xc3\xa9  t\t\tx \r\n"), b" \xc3\xa9 t x\r\n")

    def test_long_line_without_regex_limits(self):
        line = b"x " * 5000
        self.assertEqual(canon.relaxed_body(line + b"\r\n"), line.rstrip() + b"\r\n")

    def test_idempotent(self):
        for body in (EXAMPLE_BODY, b"", b"a", b"a \r\n\r\nb\t\r\n \r\n"):
            once = canon.relaxed_body(body)
            self.assertEqual(canon.relaxed_body(once), once)
            once = canon.simple_body(body)
            self.assertEqual(canon.simple_body(once), once)


class TestHeaders(unittest.TestCase):
    def test_relaxed_header_unfolds_and_compresses(self):
        self.assertEqual(canon.relaxed_header(b"SubJect", b"  a \r\n \t b\t\r\n  "),
                         b"subject:a b\r\n")

    def test_relaxed_header_empty_value(self):
        self.assertEqual(canon.relaxed_header(b"X", b""), b"x:\r\n")
        self.assertEqual(canon.relaxed_header(b"X", b"   "), b"x:\r\n")

    def test_relaxed_header_8bit(self):
        self.assertEqual(canon.relaxed_header(b"Subject", b" caf\xc3\xa9  ok"),
                         b"subject:caf\xc3\xa9 ok\r\n")

    def test_parse_c(self):
        self.assertIs(canon.parse_c(b"relaxed")[1], canon.simple)
        self.assertIs(canon.parse_c(b"relaxed/relaxed")[1], canon.relaxed)
        self.assertIs(canon.parse_c(b"")[0], canon.simple)
        self.assertEqual(canon.parse_c(b"simple/relaxed")[0].name, b"simple")
        with self.assertRaises(canon.CanonError):
            canon.parse_c(b"nowsp/simple")
