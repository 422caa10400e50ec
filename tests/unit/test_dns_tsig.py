import unittest

from ptt.crypto import hmac
from ptt.dns import tsig as T
from ptt.dns import update as U
from ptt.dns import wire as W


def h(s):
    return bytes.fromhex(s.replace(" ", "").replace("\n", ""))


def fixed(b):
    return lambda n: b[:n]


SECRET = b"0123456789abcdef0123456789abcdef"
KEYNAME = "k._update.example.org"
NOW = 1700000000

# Update for zone example.org, ID 0x0102: delete the TXT RRset at
# sel._domainkey.example.org and add "v=DKIM1; p=abc" with TTL 3600
# (RFC 2136 2.3, 2.5.2, 2.5.1), by hand.
UNSIGNED = (
    h("0102 2800 0001 0000 0002 0000")          # opcode UPDATE, ZO=1, UP=2
    + b"\x07example\x03org\x00" + h("0006 0001")      # zone: example.org SOA IN
    + b"\x03sel\x0a_domainkey" + h("c00c")      # at 29: sel._domainkey.<zone>
    + h("0010 00ff 00000000 0000")              # TXT, class ANY, TTL 0, no rdata
    + h("c01d 0010 0001 00000e10 000f")         # same name, TXT IN 3600, 15 bytes
    + b"\x0ev=DKIM1; p=abc")

# MACs for UNSIGNED at NOW with fudge 300, as computed by dnspython 2.9.
MAC_SHA256 = h("d3c5c4e8ca2248da6b1881f14792934d25d4d3102fd7137aa9105fce01500608")
MAC_SHA1 = h("8e89a6917b2cd7be6b7b3ccdb8bf38685cfa2a11")
MAC_SHA512 = h("350b5911dea77f686d19650be4c7ee62fb51e3a8fd4d5db884892067e30e4ee8"
               "5aaca9907c382c3edf7593fee6781e23bcc382f6f95f9a04a20e1aeff0bc2dee")
# The server's empty NOERROR reply, signed at NOW + 1 over MAC_SHA256.
RESPONSE = h("0102 a800 0001 0000 0000 0000") + b"\x07example\x03org\x00" + h("0006 0001")
RESPONSE_MAC = h("8fe5479a29217efef813bb77e4cbdc81b685c7ca91fa70808616aa1c450184ea")


def tsig_rr(keyname, alg, t, mac, orig_id, error=0, fudge=300, other=b""):
    """A TSIG RR by hand (RFC 8945 4.2)."""
    name = b"".join([bytes([len(l)]) + l.encode() for l in keyname.split(".")]) + b"\0"
    algw = b"".join([bytes([len(l)]) + l.encode() for l in alg.split(".")]) + b"\0"
    rdata = (algw + (t >> 32).to_bytes(2, "big") + (t & 0xFFFFFFFF).to_bytes(4, "big")
             + fudge.to_bytes(2, "big") + len(mac).to_bytes(2, "big") + mac
             + orig_id.to_bytes(2, "big") + error.to_bytes(2, "big")
             + len(other).to_bytes(2, "big") + other)
    return name + h("00fa 00ff 00000000") + len(rdata).to_bytes(2, "big") + rdata


def with_ar(wire, ar):
    return wire[:10] + ar.to_bytes(2, "big") + wire[12:]


def key(alg="hmac-sha256", secret=SECRET, name=KEYNAME):
    return T.Key(name, alg, secret)


class TestHmac(unittest.TestCase):
    # RFC 4231 test cases 1, 2 and 6 (SHA-256), RFC 2202 cases 1 and 2 (SHA-1)
    def test_rfc4231_sha256(self):
        self.assertEqual(hmac.digest(b"\x0b" * 20, b"Hi There", "sha256"),
                         h("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"))
        self.assertEqual(hmac.digest(b"Jefe", b"what do ya want for nothing?", "sha256"),
                         h("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
        self.assertEqual(hmac.digest(b"\xaa" * 131,
                                     b"Test Using Larger Than Block-Size Key - Hash Key First",
                                     "sha256"),
                         h("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"))

    def test_rfc2202_sha1(self):
        self.assertEqual(hmac.digest(b"\x0b" * 20, b"Hi There", "sha1"),
                         h("b617318655057264e28bc0b6fb378c8ef146be00"))
        self.assertEqual(hmac.digest(b"Jefe", b"what do ya want for nothing?", "sha1"),
                         h("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"))

    @unittest.skipUnless(hmac.available("sha512"), "no sha512 on this runtime")
    def test_rfc4231_sha512(self):
        self.assertEqual(hmac.digest(b"Jefe", b"what do ya want for nothing?", "sha512"),
                         h("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                           "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"))

    def test_incremental_and_single_digest(self):
        m = hmac.new(b"Jefe", b"what do ya ", "sha256")
        m.update(b"want for nothing?")
        self.assertEqual(m.digest(), hmac.digest(b"Jefe", b"what do ya want for nothing?"))
        with self.assertRaises(ValueError):
            m.digest()

    def test_unknown_hash(self):
        with self.assertRaises(hmac.UnsupportedDigest):
            hmac.new(b"k", b"m", "sha3_256")

    @unittest.skipIf(hmac.available("sha512"), "this runtime has sha512")
    def test_missing_hash_named(self):
        with self.assertRaises(hmac.UnsupportedDigest) as c:
            hmac.new(b"k", b"m", "sha512")
        self.assertIn("sha512 is not available", str(c.exception))

    def test_compare_digest(self):
        self.assertTrue(hmac.compare_digest(b"abc", b"abc"))
        self.assertFalse(hmac.compare_digest(b"abc", b"abd"))
        self.assertFalse(hmac.compare_digest(b"abc", b"ab"))


class TestKey(unittest.TestCase):
    def test_parse(self):
        k = T.parse_key("K._update.Example.org:SHA256:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
        self.assertEqual(k.name, "k._update.example.org")
        self.assertEqual(k.algorithm, "hmac-sha256")
        self.assertEqual(k.secret, SECRET)
        self.assertNotIn("MDEy", repr(k))
        self.assertEqual(T.parse_key("a.b:hmac-sha1:YWJj").algorithm, "hmac-sha1")

    def test_bad_forms(self):
        for bad in ("", "name", "name:SHA256", ":SHA256:YWJj", "n:SHA256:",
                    "n:SHA256:YWJ", "n:SHA256:YW*j", "n:SHA256:YQ==YQ==",
                    "n:MD5:YWJj", "n:SHA3:YWJj", "a..b:SHA256:YWJj"):
            with self.assertRaises(W.DnsError):
                T.parse_key(bad)

    def test_bad_base64_says_so(self):
        with self.assertRaises(T.TsigError) as c:
            T.parse_key("k.example:SHA256:not!base64")
        self.assertIn("base64", str(c.exception))
        self.assertIn("k.example", str(c.exception))

    @unittest.skipIf(hmac.available("sha384"), "this runtime has sha384")
    def test_unavailable_algorithm_is_clear(self):
        with self.assertRaises(T.TsigError) as c:
            T.parse_key("k.example:SHA384:YWJj")
        self.assertIn("not available", str(c.exception))
        self.assertIn("sha256", str(c.exception))

    def test_zone_from_key_name(self):
        self.assertEqual(T.zone_from_key_name("k._update.example.org"), "example.org")
        self.assertEqual(T.zone_from_key_name("a.b._UPDATE.x.example"), "x.example")
        self.assertIsNone(T.zone_from_key_name("k.example.org"))
        self.assertIsNone(T.zone_from_key_name("k._update"))


class TestUpdateWire(unittest.TestCase):
    def test_replace_exact(self):
        u = U.Update("example.org", fixed(b"\x01\x02"))
        u.replace("sel._domainkey.example.org", "TXT", 3600, "v=DKIM1; p=abc")
        self.assertEqual(u.to_wire(), UNSIGNED)

    def test_prerequisites_exact(self):
        u = U.Update("example.org", fixed(b"\0\x09"))
        u.require_rrset("a.example.org", "TXT")
        u.require_no_rrset("a.example.org", "A")
        u.require_name("b.example.org")
        u.require_no_name("c.example.org")
        u.require_rrset("a.example.org", "A", "192.0.2.1")
        u.delete_name("d.example.org")
        u.delete_rr("a.example.org", "A", "192.0.2.2")
        w = u.to_wire()
        m = W.decode(w)
        self.assertEqual(w[:12], h("0009 2800 0001 0005 0002 0000"))
        self.assertEqual([(r.rtype, r.rclass, r.ttl, r.data) for r in m.answer],
                         [(W.TXT, 255, 0, None), (W.A, 254, 0, None),
                          (W.ANY, 255, 0, None), (W.ANY, 254, 0, None),
                          (W.A, 1, 0, "192.0.2.1")])
        self.assertEqual([(r.rtype, r.rclass, r.data) for r in m.authority],
                         [(W.ANY, 255, None), (W.A, 254, "192.0.2.2")])
        self.assertTrue(w.endswith(h("0001 00fe 00000000 0004 c0000202")))

    def test_outside_zone(self):
        u = U.Update("example.org", fixed(b"\0\1"))
        with self.assertRaises(U.UpdateError) as c:
            u.add("badexample.org", "TXT", 60, "x")
        self.assertIn("outside zone example.org", str(c.exception))


class TestSign(unittest.TestCase):
    def test_sign_exact_sha256(self):
        wire, mac = T.sign(UNSIGNED, key(), NOW)
        self.assertEqual(mac, MAC_SHA256)
        self.assertEqual(wire, with_ar(UNSIGNED, 1)
                         + tsig_rr(KEYNAME, "hmac-sha256", NOW, MAC_SHA256, 0x0102))

    def test_update_sign(self):
        u = U.Update("example.org", fixed(b"\x01\x02"))
        u.replace("sel._domainkey.example.org", "TXT", 3600, "v=DKIM1; p=abc")
        wire, mac = u.sign(key(), NOW)
        self.assertEqual(mac, MAC_SHA256)
        m = W.decode(wire)
        self.assertEqual(m.tsig.name, KEYNAME)
        self.assertEqual(m.tsig.data.time_signed, NOW)
        self.assertEqual(m.tsig_offset, len(UNSIGNED))

    def test_key_name_case_does_not_matter(self):
        _, mac = T.sign(UNSIGNED, key(name="K._Update.EXAMPLE.org."), NOW)
        self.assertEqual(mac, MAC_SHA256)

    def test_sign_sha1(self):
        self.assertEqual(T.sign(UNSIGNED, key("hmac-sha1"), NOW)[1], MAC_SHA1)

    @unittest.skipUnless(hmac.available("sha512"), "no sha512 on this runtime")
    def test_sign_sha512(self):
        self.assertEqual(T.sign(UNSIGNED, key("SHA512"), NOW)[1], MAC_SHA512)


def signed_response(mac=RESPONSE_MAC, t=NOW + 1, error=0, rcode=0, keyname=KEYNAME,
                    alg="hmac-sha256", body=RESPONSE):
    b = bytearray(body)
    b[3] = (b[3] & 0xF0) | rcode
    return with_ar(bytes(b), 1) + tsig_rr(keyname, alg, t, mac, 0x0102, error)


class TestVerify(unittest.TestCase):
    def test_good(self):
        m = T.verify(signed_response(), key(), MAC_SHA256, NOW + 5)
        self.assertEqual(m.id, 0x0102)

    def test_roundtrip_with_our_signer(self):
        w, mac = T.sign(RESPONSE, key(), NOW + 1, request_mac=MAC_SHA256)
        self.assertEqual(mac, RESPONSE_MAC)
        self.assertEqual(w, signed_response())

    def test_tampered(self):
        w = bytearray(signed_response())
        w[14] ^= 0x20        # "x" of the zone name becomes "X"
        with self.assertRaises(T.TsigError) as c:
            T.verify(bytes(w), key(), MAC_SHA256, NOW)
        self.assertEqual(c.exception.error, W.BADSIG)

    def test_wrong_request_mac(self):
        with self.assertRaises(T.TsigError):
            T.verify(signed_response(), key(), MAC_SHA1 + b"x" * 12, NOW)

    def test_wrong_secret(self):
        with self.assertRaises(T.TsigError) as c:
            T.verify(signed_response(), key(secret=b"other"), MAC_SHA256, NOW)
        self.assertIn("signature is wrong", str(c.exception))

    def test_other_key(self):
        with self.assertRaises(T.TsigError) as c:
            T.verify(signed_response(keyname="x.example.org"), key(), MAC_SHA256, NOW)
        self.assertIn("not ours", str(c.exception))

    def test_unsigned(self):
        with self.assertRaises(T.TsigError) as c:
            T.verify(RESPONSE, key(), MAC_SHA256, NOW)
        self.assertIn("not TSIG-signed", str(c.exception))

    def test_truncated_mac_rejected(self):
        with self.assertRaises(T.TsigError) as c:
            T.verify(signed_response(mac=RESPONSE_MAC[:16]), key(), MAC_SHA256, NOW)
        self.assertEqual(c.exception.error, W.BADTRUNC)

    def test_time_outside_fudge(self):
        T.verify(signed_response(), key(), MAC_SHA256, NOW + 301)
        with self.assertRaises(T.TsigError) as c:
            T.verify(signed_response(), key(), MAC_SHA256, NOW + 302)
        self.assertEqual(c.exception.error, W.BADTIME)
        self.assertIn("time", str(c.exception))
        with self.assertRaises(T.TsigError):
            T.verify(signed_response(), key(), MAC_SHA256, NOW - 300)

    def test_server_errors_explained(self):
        for err, words in ((W.BADSIG, "secret"), (W.BADKEY, "does not know key"),
                           (W.BADTIME, "clock")):
            w = signed_response(mac=b"", error=err, rcode=W.NOTAUTH)
            with self.assertRaises(T.TsigError) as c:
                T.verify(w, key(), MAC_SHA256, NOW)
            self.assertEqual(c.exception.error, err)
            self.assertIn(words, str(c.exception))
            self.assertIn(KEYNAME, str(c.exception))


class TestUpdateResponse(unittest.TestCase):
    def update(self):
        u = U.Update("example.org", fixed(b"\x01\x02"))
        u.replace("sel._domainkey.example.org", "TXT", 3600, "v=DKIM1; p=abc")
        return u

    def test_ok(self):
        m = self.update().check_response(signed_response(), key(), MAC_SHA256, NOW)
        self.assertEqual(m.rcode, W.NOERROR)

    def test_unsigned_ok_without_key(self):
        self.update().check_response(RESPONSE)

    def test_unsigned_ok_rejected_with_key(self):
        with self.assertRaises(T.TsigError):
            self.update().check_response(RESPONSE, key(), MAC_SHA256, NOW)

    def test_badsig_from_server(self):
        w = signed_response(mac=b"", error=W.BADSIG, rcode=W.NOTAUTH)
        with self.assertRaises(T.TsigError) as c:
            self.update().check_response(w, key(), MAC_SHA256, NOW)
        self.assertEqual(c.exception.error, W.BADSIG)

    def test_refused_unsigned(self):
        b = bytearray(RESPONSE)
        b[3] |= W.REFUSED
        with self.assertRaises(U.UpdateError) as c:
            self.update().check_response(bytes(b), key(), MAC_SHA256, NOW)
        self.assertEqual(c.exception.rcode, W.REFUSED)
        self.assertIn("REFUSED", str(c.exception))
        self.assertIn(KEYNAME, str(c.exception))
        self.assertIn("update-policy", str(c.exception))

    def test_signed_error_rcode(self):
        b = bytearray(RESPONSE)
        b[3] |= W.NXRRSET
        w, _ = T.sign(bytes(b), key(), NOW, request_mac=MAC_SHA256)
        with self.assertRaises(U.UpdateError) as c:
            self.update().check_response(w, key(), MAC_SHA256, NOW)
        self.assertEqual(c.exception.rcode, W.NXRRSET)
        self.assertIn("prerequisite", str(c.exception))

    def test_servfail_temporary(self):
        b = bytearray(RESPONSE)
        b[3] |= W.SERVFAIL
        with self.assertRaises(U.UpdateError) as c:
            self.update().check_response(bytes(b))
        self.assertTrue(c.exception.temporary)

    def test_wrong_id(self):
        b = bytearray(RESPONSE)
        b[1] ^= 0xFF
        with self.assertRaises(U.UpdateError):
            self.update().check_response(bytes(b))

    def test_wrong_opcode(self):
        b = bytearray(RESPONSE)
        b[2] = 0x80
        with self.assertRaises(U.UpdateError):
            self.update().check_response(bytes(b))


if __name__ == "__main__":
    unittest.main()
