"""SHA-512 against FIPS 180-4 / NIST example vectors (ptt.crypto.sha512)."""
import unittest

from ptt.crypto.sha512 import sha512, SHA512


def h(data):
    return sha512(data).digest().hex()


class TestSHA512(unittest.TestCase):
    def test_fips180_abc(self):
        self.assertEqual(h(b"abc"),
                         "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                         "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f")

    def test_empty(self):
        self.assertEqual(h(b""),
                         "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                         "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")

    def test_fips180_two_blocks(self):
        msg = (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
               b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
        self.assertEqual(h(msg),
                         "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                         "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909")

    def test_incremental_across_block_edges(self):
        data = b"a" * 1000
        ctx = SHA512()
        for i in range(0, 1000, 7):
            ctx.update(data[i:i + 7])
        want = ("67ba5535a46e3f86dbfbed8cbbaf0125c76ed549ff8b0b9e03e0c88cf90fa634"
                "fa7b12b47d77b694de488ace8d9a65967dc96df599727d3292a8d9d447709c97")
        self.assertEqual(ctx.digest().hex(), want)
        self.assertEqual(h(data), want)

    def test_digest_does_not_finalise(self):
        ctx = SHA512(b"ab")
        first = ctx.digest()
        self.assertEqual(ctx.digest(), first)
        ctx.update(b"c")
        self.assertEqual(ctx.digest(), sha512(b"abc").digest())

    def test_padding_boundaries(self):
        # 111 and 112 bytes: the length field fits / does not fit the last block.
        for n in (111, 112, 127, 128, 129):
            self.assertEqual(len(sha512(b"x" * n).digest()), 64)
        self.assertNotEqual(h(b"x" * 111), h(b"x" * 112))
