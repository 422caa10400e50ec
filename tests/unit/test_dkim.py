"""DKIM signing and verification (ptt.dkim), RFC 6376 and RFC 8463.

Known answers: Ed25519 and RSA PKCS#1 v1.5 signatures are deterministic, so
a fixed key, message and `now` give fixed bytes; those below were checked
with dkimpy.verify when they were recorded.
"""
import unittest

from ptt import dkim
from ptt.crypto import keys
from ptt.mail import headers as H
from testkeys import RSA_PEM


ED_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")

# RFC 6376 appendix A's message.
MSG = (b"From: Joe SixPack <joe@football.example.com>\r\nTo: Suzie Q <suzie@shopping.example.net>\r\n"
       b"Subject: Is dinner ready?\r\nDate: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
       b"Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n\r\n"
       b"Hi.\r\n\r\nWe lost the game. Are you hungry yet?\r\n\r\nJoe.\r\n")
D = b"football.example.com"
NOW = 1700000000

EXPECTED_ED = (
    b"DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
    b" d=football.example.com; s=ed; t=1700000000; h=message-id:list-id:list-post\r\n"
    b" :from:from:date:date:subject:subject:to:to:cc:list-help:list-subscribe\r\n"
    b" :list-unsubscribe:list-owner:list-archive; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6S\r\n"
    b" n7XIkfJVOzv8=; b=gCgh25x8exQzDm3vZBKsVH27Sqffv0R2vUIYpQs2FqXUmpy7+iXNklSKfUs4\r\n"
    b" eEqT1T81j5pP7H6rUZgzsLGbAA==\r\n")
EXPECTED_RSA = (
    b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=football.example.com;\r\n"
    b" s=rsa; t=1700000000; h=message-id:list-id:list-post:from:from:date:date\r\n"
    b" :subject:subject:to:to:cc:list-help:list-subscribe:list-unsubscribe\r\n"
    b" :list-owner:list-archive; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=; b=\r\n"
    b" NC/KTDEhYA2xQG9SKo/Vtfn3DB7TcR5aWNVLh7dxSrjdW2b9f69HlakZ0nXCBznZDfp+9rrUbKxdK\r\n"
    b" 68YQXVGLBiykLSxHXiwgEz9WMZIvHN/Ui+ySNQkQOjUvkEOdzdtvuQGuDvN/cyu15iPIeEk5n/jUl\r\n"
    b" uVHMXsGCxpv7Fwrho=\r\n")


class Keys:
    rsa = None
    ed = None


def _keys():
    if Keys.rsa is None:
        Keys.rsa = keys.load_private_key(RSA_PEM)
        Keys.ed = keys.load_private_key(ED_SEED)
    return Keys.rsa, Keys.ed


def dns_for(*pairs):
    recs = {}
    for sel, key in pairs:
        recs["%s._domainkey.football.example.com" % sel] = dkim.txt_record(key)
    return recs.get


class TestSign(unittest.TestCase):
    def setUp(self):
        self.rsa, self.ed = _keys()
        self.dns = dns_for(("rsa", self.rsa), ("ed", self.ed))

    def test_known_answer_ed25519(self):
        self.assertEqual(dkim.sign(MSG, D, b"ed", self.ed, NOW), EXPECTED_ED)

    def test_known_answer_rsa(self):
        self.assertEqual(dkim.sign(MSG, D, b"rsa", self.rsa, NOW), EXPECTED_RSA)

    def test_sign_many_rsa_and_ed25519(self):
        out = dkim.sign_many(MSG, D, [(b"rsa", self.rsa), (b"ed", self.ed)], NOW)
        self.assertEqual(out, EXPECTED_RSA + EXPECTED_ED)
        res = dkim.verify(out + MSG, self.dns, NOW)
        self.assertEqual([r.result for r in res], ["pass", "pass"])
        self.assertEqual([r.selector for r in res], [b"rsa", b"ed"])

    def test_parsed_message_input(self):
        hs, body = H.parse(MSG)
        self.assertEqual(dkim.sign((hs, body), D, b"ed", self.ed, NOW), EXPECTED_ED)

    def test_all_canonicalisations_round_trip(self):
        for c in (b"simple/simple", b"simple/relaxed", b"relaxed/simple", b"relaxed/relaxed"):
            for sel, key in ((b"rsa", self.rsa), (b"ed", self.ed)):
                f = dkim.sign(MSG, D, sel, key, NOW, canonicalize=c)
                self.assertIn(b"c=" + c + b";", f)
                res = dkim.verify(f + MSG, self.dns, NOW)
                self.assertEqual(res[0].result, "pass", (c, sel, res[0].reason))

    def test_lines_folded_under_78(self):
        for line in EXPECTED_RSA.split(b"\r\n"):
            self.assertLessEqual(len(line), 78)

    def test_tags(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW, expire=NOW + 86400)
        tags = dkim.parse_tags(H.parse(f + MSG)[0][0][1])
        self.assertEqual(tags[b"t"], b"1700000000")
        self.assertEqual(tags[b"x"], b"1700086400")
        self.assertNotIn(b"l", tags)
        self.assertNotIn(b"i", tags)

    def test_oversigning_in_h(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW)
        h = dkim.remove_fws(dkim.parse_tags(H.parse(f + MSG)[0][0][1])[b"h"]).split(b":")
        self.assertEqual(h.count(b"from"), 2)
        self.assertEqual(h.count(b"cc"), 1)
        self.assertEqual(h.count(b"message-id"), 1)
        self.assertEqual(h.count(b"mime-version"), 0)
        self.assertEqual(h.count(b"list-id"), 1)

    def test_custom_headers(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW, include=[b"from", b"subject"], oversign=[])
        h = dkim.parse_tags(H.parse(f + MSG)[0][0][1])[b"h"]
        self.assertEqual(h, b"from:subject")

    def test_added_header_breaks_oversigned_signature(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW)
        res = dkim.verify(f + b"Cc: evil@example.com\r\n" + MSG, self.dns, NOW)
        self.assertEqual(res[0].result, "fail")

    def test_unsigned_header_may_be_added(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW)
        res = dkim.verify(b"Received: from x\r\n" + f + MSG, self.dns, NOW)
        self.assertEqual(res[0].result, "pass")

    def test_body_change_fails(self):
        f = dkim.sign(MSG, D, b"rsa", self.rsa, NOW)
        res = dkim.verify(f + MSG.replace(b"hungry", b"angry"), self.dns, NOW)
        self.assertEqual(res[0].result, "fail")
        self.assertIn("body hash", res[0].reason)

    def test_relaxed_survives_whitespace_changes(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW)
        changed = MSG.replace(b"Subject: Is", b"Subject:   Is").replace(b"Joe.\r\n", b"Joe.  \r\n\r\n")
        self.assertEqual(dkim.verify(f + changed, self.dns, NOW)[0].result, "pass")

    def test_no_from_refused(self):
        with self.assertRaises(dkim.DKIMError):
            dkim.sign(b"To: a@b\r\n\r\nx", D, b"ed", self.ed, NOW)

    def test_expire_before_now_refused(self):
        with self.assertRaises(dkim.DKIMError):
            dkim.sign(MSG, D, b"ed", self.ed, NOW, expire=NOW)

    def test_algorithm_mismatch_refused(self):
        with self.assertRaises(dkim.DKIMError):
            dkim.sign(MSG, D, b"ed", self.ed, NOW, algorithm=b"rsa-sha256")


class TestVerify(unittest.TestCase):
    def setUp(self):
        self.rsa, self.ed = _keys()
        self.dns = dns_for(("rsa", self.rsa), ("ed", self.ed))

    def test_unsigned(self):
        self.assertEqual(dkim.verify(MSG, self.dns), [])

    def test_expired(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW, expire=NOW + 10)
        self.assertEqual(dkim.verify(f + MSG, self.dns, NOW + 5)[0].result, "pass")
        self.assertEqual(dkim.verify(f + MSG, self.dns, NOW + 11)[0].result, "fail")

    def test_no_key_is_permerror(self):
        f = dkim.sign(MSG, D, b"other", self.ed, NOW)
        self.assertEqual(dkim.verify(f + MSG, self.dns)[0].result, "permerror")

    def test_dns_failure_is_temperror(self):
        def broken(name):
            raise OSError("timeout")
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW)
        self.assertEqual(dkim.verify(f + MSG, broken)[0].result, "temperror")

    def test_revoked_key(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW)
        res = dkim.verify(f + MSG, lambda n: b"v=DKIM1; k=ed25519; p=")
        self.assertEqual(res[0].result, "permerror")
        self.assertIn("revoked", res[0].reason)

    def test_key_type_mismatch(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW)
        res = dkim.verify(f + MSG, lambda n: dkim.txt_record(self.rsa))
        self.assertEqual(res[0].result, "permerror")

    def test_wrong_key(self):
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW)
        other = keys.load_private_key(bytes(32))
        res = dkim.verify(f + MSG, lambda n: dkim.txt_record(other))
        self.assertEqual(res[0].result, "fail")

    def test_txt_record_split_in_strings(self):
        rec = dkim.txt_record(self.rsa)
        self.assertTrue(rec.startswith(b"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"))
        parts = dkim.txt_strings(rec, 100)
        self.assertEqual(b"".join(parts), rec)
        f = dkim.sign(MSG, D, b"rsa", self.rsa, NOW)
        self.assertEqual(dkim.verify(f + MSG, lambda n: parts)[0].result, "pass")

    def test_rsa_sha1_rejected(self):
        f = dkim.sign(MSG, D, b"rsa", self.rsa, NOW).replace(b"a=rsa-sha256", b"a=rsa-sha1")
        res = dkim.verify(f + MSG, self.dns)
        self.assertEqual(res[0].result, "permerror")

    def test_missing_tag_and_bad_tags(self):
        f = dkim.sign(MSG, D, b"rsa", self.rsa, NOW).replace(b" s=rsa;", b"")
        self.assertEqual(dkim.verify(f + MSG, self.dns)[0].result, "permerror")
        self.assertEqual(dkim.verify(b"DKIM-Signature: v=1; v=1\r\n" + MSG, self.dns)[0].result,
                         "permerror")

    def test_never_emits_l(self):
        # l= lets anyone append to the body (RFC 6376 8.2); we never set it.
        f = dkim.sign(MSG, D, b"ed", self.ed, NOW, canonicalize=b"simple/simple")
        self.assertNotIn(b"l=", f)

    def test_parse_tags(self):
        self.assertEqual(dkim.parse_tags(b" a = 1 ;b=\r\n 2;"), {b"a": b"1", b"b": b"2"})
        with self.assertRaises(dkim.DKIMError):
            dkim.parse_tags(b"a=1; a=2")
        with self.assertRaises(dkim.DKIMError):
            dkim.parse_tags(b"a=1; junk")

    def test_strip_b_value(self):
        self.assertEqual(dkim.strip_b_value(b" a=1; bh=xx; b=\r\n abc"), b" a=1; bh=xx; b=")
        self.assertEqual(dkim.strip_b_value(b" b=abc; c=d"), b" b=; c=d")
