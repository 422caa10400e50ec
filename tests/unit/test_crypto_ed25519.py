"""Ed25519 against RFC 8032 section 7.1 test vectors (ptt.crypto.ed25519)."""
import unittest

from ptt.crypto.ed25519 import Ed25519PrivateKey, Ed25519PublicKey, Ed25519Error
from ptt.crypto.sha512 import sha512


def unhex(s):
    return bytes.fromhex(s)


# (secret key, public key, message, signature) from RFC 8032 7.1.
VECTORS = (
    ("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bac"
     "c61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e"
     "458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290"
     "ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
)

SHA_ABC = ("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
           "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
           "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
           "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704")


class TestEd25519(unittest.TestCase):
    def test_rfc8032_7_1_tests_1_to_3(self):
        for sk, pk, msg, sig in VECTORS:
            key = Ed25519PrivateKey(unhex(sk))
            self.assertEqual(key.public_bytes, unhex(pk))
            self.assertEqual(key.sign(unhex(msg)), unhex(sig))
            self.assertTrue(Ed25519PublicKey(unhex(pk)).verify(unhex(sig), unhex(msg)))

    def test_rfc8032_7_1_test_sha_abc(self):
        sk, pk, sig = SHA_ABC
        msg = sha512(b"abc").digest()
        key = Ed25519PrivateKey(unhex(sk))
        self.assertEqual(key.public_bytes, unhex(pk))
        self.assertEqual(key.sign(msg), unhex(sig))

    def test_verify_rejects_changes(self):
        sk, pk, msg, sig = VECTORS[2]
        pub = Ed25519PublicKey(unhex(pk))
        self.assertFalse(pub.verify(unhex(sig), b"\xaf\x83"))
        bad = bytearray(unhex(sig))
        bad[5] ^= 1
        self.assertFalse(pub.verify(bytes(bad), unhex(msg)))
        self.assertFalse(pub.verify(unhex(sig)[:63], unhex(msg)))

    def test_verify_rejects_s_not_reduced(self):
        # RFC 8032 5.1.7: S >= L must be rejected (malleability).
        sk, pk, msg, sig = VECTORS[0]
        L = 2 ** 252 + 27742317777372353535851937790883648493
        s = int.from_bytes(unhex(sig)[32:], "little") + L
        forged = unhex(sig)[:32] + s.to_bytes(32, "little")
        self.assertFalse(Ed25519PublicKey(unhex(pk)).verify(forged, b""))

    def test_bad_seed_and_point(self):
        with self.assertRaises(Ed25519Error):
            Ed25519PrivateKey(b"\x00" * 31)
        with self.assertRaises(Ed25519Error):
            Ed25519PublicKey(b"\xff" * 32)  # y >= p
