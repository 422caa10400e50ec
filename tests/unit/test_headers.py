"""Header parsing, bottom-up selection and folding (ptt.mail.headers)."""
import unittest

from ptt.mail import headers as H


class TestParse(unittest.TestCase):
    def test_simple(self):
        hs, body = H.parse(b"From: a@b\r\nTo: c@d\r\n\r\nbody\r\n")
        self.assertEqual(hs, [(b"From", b" a@b"), (b"To", b" c@d")])
        self.assertEqual(body, b"body\r\n")

    def test_folded_kept_byte_for_byte(self):
        raw = b"Subject: one\r\n two\r\n\tthree\r\nX: y\r\n\r\n"
        hs, body = H.parse(raw)
        self.assertEqual(hs[0], (b"Subject", b" one\r\n two\r\n\tthree"))
        self.assertEqual(H.serialize(hs, body), raw)

    def test_eight_bit_and_empty_value(self):
        hs, _ = H.parse(b"Subject: caf\xc3\xa9 \xff\r\nX-Empty:\r\n\r\n")
        self.assertEqual(hs, [(b"Subject", b" caf\xc3\xa9 \xff"), (b"X-Empty", b"")])

    def test_no_body_and_empty_body(self):
        self.assertEqual(H.parse(b"From: a\r\n"), ([(b"From", b" a")], b""))
        self.assertEqual(H.parse(b"From: a"), ([(b"From", b" a")], b""))
        self.assertEqual(H.parse(b"From: a\r\n\r\n"), ([(b"From", b" a")], b""))
        self.assertEqual(H.parse(b"\r\nbody"), ([], b"body"))

    def test_bare_lf_normalised(self):
        hs, body = H.parse(b"From: a\nSubject: x\n y\n\nline\n")
        self.assertEqual(hs[1], (b"Subject", b" x\r\n y"))
        self.assertEqual(body, b"line\r\n")

    def test_obsolete_space_before_colon(self):
        hs, _ = H.parse(b"Subject : x\r\n\r\n")
        self.assertEqual(hs[0][0], b"Subject ")
        self.assertEqual(H.key(hs[0][0]), b"subject")

    def test_errors(self):
        for bad in (b" leading: cont\r\n\r\n", b"no colon here\r\n\r\n", b": empty\r\n\r\n",
                    b"Bad Name: x\r\n\r\n", b"Bad\x01: x\r\n\r\n"):
            with self.assertRaises(H.HeaderError):
                H.parse(bad)

    def test_header_count_limit(self):
        with self.assertRaises(H.HeaderError):
            H.parse(b"X: y\r\n" * 11 + b"\r\n", max_headers=10)

    def test_body_with_blank_lines_untouched(self):
        _, body = H.parse(b"A: b\r\n\r\n\r\nx\r\n\r\n")
        self.assertEqual(body, b"\r\nx\r\n\r\n")


class TestSelect(unittest.TestCase):
    HS = [(b"Received", b" 1"), (b"From", b" a"), (b"Received", b" 2"), (b"to", b" t"),
          (b"Received", b" 3")]

    def test_rfc6376_5_4_2_bottom_up(self):
        got = H.select(self.HS, [b"received", b"received", b"from"])
        self.assertEqual(got, [(b"Received", b" 3"), (b"Received", b" 2"), (b"From", b" a")])

    def test_oversigned_name_selects_nothing_more(self):
        got = H.select(self.HS, [b"from", b"from", b"cc"])
        self.assertEqual(got, [(b"From", b" a")])

    def test_case_insensitive(self):
        self.assertEqual(H.select(self.HS, [b"TO"]), [(b"to", b" t")])

    def test_get_all(self):
        self.assertEqual(H.get_all(self.HS, b"RECEIVED"), [b" 1", b" 2", b" 3"])


class TestFold(unittest.TestCase):
    def test_short_stays_on_one_line(self):
        out = H.fold(b"X", [(b" ", b"a=1;", False), (b" ", b"b=2;", False)])
        self.assertEqual(out, b"X: a=1; b=2;")

    def test_folds_under_width(self):
        pieces = [(b" ", b"word%d" % i, False) for i in range(40)]
        out = H.fold(b"Subject", pieces)
        for line in out.split(b"\r\n"):
            self.assertLessEqual(len(line), 78)
        self.assertEqual(out.replace(b"\r\n", b""), b"Subject: " + b" ".join(
            b"word%d" % i for i in range(40)))

    def test_split_piece_fills_lines(self):
        data = b"A" * 300
        out = H.fold(b"DKIM-Signature", [(b" ", b"b=", False), (b"", data, True)])
        lines = out.split(b"\r\n")
        self.assertEqual(lines[0][:18], b"DKIM-Signature: b=")
        for line in lines:
            self.assertLessEqual(len(line), 78)
        self.assertEqual(b"".join(l.lstrip(b" ") for l in lines[1:]).count(b"A") +
                         lines[0].count(b"A"), 300)

    def test_prefix_is_stable(self):
        pieces = [(b" ", b"v=1;", False), (b" ", b"h=" + b"x" * 70 + b";", False),
                  (b" ", b"b=", False)]
        unsigned = H.fold(b"DKIM-Signature", pieces)
        signed = H.fold(b"DKIM-Signature", pieces + [(b"", b"Q" * 200, True)])
        self.assertTrue(signed.startswith(unsigned))

    def test_unbreakable_word_over_998_refused(self):
        with self.assertRaises(H.HeaderError):
            H.fold(b"X", [(b" ", b"a", False), (b" ", b"y" * 1000, False)])

    def test_long_word_kept_when_under_limit(self):
        out = H.fold(b"X", [(b" ", b"a", False), (b" ", b"y" * 100, False)])
        self.assertEqual(out, b"X: a\r\n " + b"y" * 100)

    def test_lower(self):
        self.assertEqual(H.lower(b"AbC-\xc3\x89"), b"abc-\xc3\x89")
