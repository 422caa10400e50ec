"""Cryptography for DKIM and ARC, in pure Python (MicroPython 1.25 and CPython).

rsa: RSASSA-PKCS1-v1_5 with SHA-256 (CRT), with a seam for a native private op.
ed25519: RFC 8032 Ed25519.  sha512: FIPS 180-4 SHA-512 (MicroPython lacks it).
keys: bounded DER/PEM reader and writer for PKCS#1, PKCS#8 and SubjectPublicKeyInfo.
b64: strict base64 on top of binascii (MicroPython has no base64 module).
"""
