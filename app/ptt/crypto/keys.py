"""Key files: a small bounded DER reader/writer, PEM, PKCS#1, PKCS#8, SPKI.

Reads (RFC 8017 A.1.2 RSAPrivateKey, RFC 5208/5958 PrivateKeyInfo, RFC 8410
for Ed25519, RFC 5280 4.1.2.7 SubjectPublicKeyInfo, RFC 8017 A.1.1
RSAPublicKey) and writes the SubjectPublicKeyInfo that DKIM publishes in p=
(RFC 6376 3.6.1).  The DER reader only accepts definite lengths of at most 4
octets, checks every length against the buffer and never recurses beyond
what the fixed structures need: a damaged or hostile file gives a clear
KeyFormatError, never an IndexError or a huge allocation.
"""
from ptt.crypto import b64
from ptt.crypto.rsa import RSAPrivateKey, RSAPublicKey
from ptt.crypto.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

TAG_INTEGER = 0x02
TAG_BIT_STRING = 0x03
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_SEQUENCE = 0x30

# DER contents of the OBJECT IDENTIFIERs we know.
OID_RSA = b"\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"  # 1.2.840.113549.1.1.1 rsaEncryption
OID_ED25519 = b"\x2b\x65\x70"  # 1.3.101.112 id-Ed25519 (RFC 8410)

MAX_KEY_BYTES = 16384  # larger than any RSA-16384 PKCS#8 file


class KeyFormatError(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


# -- DER reading (X.690 section 8.1, DER restrictions of section 10) --------

def der_read(data, pos, end):
    """One TLV at data[pos:end] -> (tag, content_start, content_end)."""
    if pos + 2 > end:
        raise KeyFormatError("DER truncated at offset %d" % pos)
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise KeyFormatError("DER high tag numbers are not supported (offset %d)" % pos)
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        if count == 0 or count > 4:
            raise KeyFormatError("DER length with %d octets not supported" % count)
        if pos + count > end:
            raise KeyFormatError("DER length truncated at offset %d" % pos)
        n = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + n > end:
        raise KeyFormatError("DER value of %d octets runs past the end" % n)
    return tag, pos, pos + n


def der_items(data, start, end):
    """The TLVs directly inside data[start:end], as (tag, cstart, cend) tuples."""
    out = []
    pos = start
    while pos < end:
        tag, s, e = der_read(data, pos, end)
        out.append((tag, s, e))
        pos = e
        if len(out) > 64:
            raise KeyFormatError("DER structure has too many elements")
    return out


def _expect(item, tag, what):
    if item[0] != tag:
        raise KeyFormatError("%s: expected DER tag 0x%02x, got 0x%02x" % (what, tag, item[0]))
    return item


def _seq(data, start, end, what):
    tag, s, e = der_read(data, start, end)
    if tag != TAG_SEQUENCE:
        raise KeyFormatError("%s: expected a SEQUENCE, got tag 0x%02x" % (what, tag))
    if e != end:
        raise KeyFormatError("%s: %d trailing octets after the SEQUENCE" % (what, end - e))
    return der_items(data, s, e)


def _int(data, item, what):
    _expect(item, TAG_INTEGER, what)
    raw = data[item[1]:item[2]]
    if not raw:
        raise KeyFormatError("%s: empty INTEGER" % what)
    if raw[0] & 0x80:
        raise KeyFormatError("%s: negative INTEGER" % what)
    return int.from_bytes(raw, "big")


# -- DER writing --------------------------------------------------------------

def der_len(n):
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes(4, "big")
    while raw[0] == 0:
        raw = raw[1:]
    return bytes([0x80 | len(raw)]) + raw


def der_tlv(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def der_int(n):
    size = (len("%x" % n) + 1) // 2
    raw = n.to_bytes(size, "big")
    if raw[0] & 0x80:
        raw = b"\x00" + raw
    return der_tlv(TAG_INTEGER, raw)


# -- PEM (RFC 7468) -----------------------------------------------------------

def pem_decode(text):
    """-> (label, der) for the first PEM block in text (bytes or str)."""
    if isinstance(text, str):
        text = text.encode()
    begin = text.find(b"-----BEGIN ")
    if begin < 0:
        raise KeyFormatError("no PEM '-----BEGIN' line found")
    eol = text.find(b"-----", begin + 11)
    if eol < 0:
        raise KeyFormatError("unterminated PEM BEGIN line")
    label = text[begin + 11:eol]
    marker = b"-----END " + label + b"-----"
    stop = text.find(marker, eol)
    if stop < 0:
        raise KeyFormatError("PEM block %r has no END line" % label)
    body = text[eol + 5:stop]
    if b":" in body:
        raise KeyFormatError("encrypted PEM keys are not supported; decrypt the key first")
    try:
        return label.decode(), b64.decode(body)
    except b64.Base64Error as e:
        raise KeyFormatError("PEM block %r: %s" % (label, e))


def pem_encode(label, der):
    body = b64.encode(der)
    lines = [b"-----BEGIN " + label.encode() + b"-----"]
    for i in range(0, len(body), 64):
        lines.append(body[i:i + 64])
    lines.append(b"-----END " + label.encode() + b"-----")
    return b"\n".join(lines) + b"\n"


# -- private keys -------------------------------------------------------------

def _rsa_from_pkcs1(der, start, end):
    items = _seq(der, start, end, "RSAPrivateKey")
    if len(items) < 9:
        raise KeyFormatError("RSAPrivateKey has %d fields, expected 9" % len(items))
    if _int(der, items[0], "RSAPrivateKey version") != 0:
        raise KeyFormatError("multi-prime RSA keys are not supported")
    names = ("n", "e", "d", "p", "q", "dP", "dQ", "qInv")
    v = [_int(der, items[i + 1], "RSAPrivateKey " + names[i]) for i in range(8)]
    return RSAPrivateKey(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])


def _from_pkcs8(der, start, end):
    items = _seq(der, start, end, "PrivateKeyInfo")
    if len(items) < 3:
        raise KeyFormatError("PrivateKeyInfo has %d fields, expected at least 3" % len(items))
    _int(der, items[0], "PrivateKeyInfo version")
    alg = items[1]
    _expect(alg, TAG_SEQUENCE, "PrivateKeyInfo algorithm")
    alg_items = der_items(der, alg[1], alg[2])
    if not alg_items:
        raise KeyFormatError("PrivateKeyInfo algorithm is empty")
    oid_item = _expect(alg_items[0], TAG_OID, "PrivateKeyInfo algorithm OID")
    oid = der[oid_item[1]:oid_item[2]]
    key = _expect(items[2], TAG_OCTET_STRING, "PrivateKeyInfo privateKey")
    if oid == OID_RSA:
        return _rsa_from_pkcs1(der, key[1], key[2])
    if oid == OID_ED25519:
        # RFC 8410 7: CurvePrivateKey ::= OCTET STRING (the 32-byte seed).
        tag, s, e = der_read(der, key[1], key[2])
        if tag != TAG_OCTET_STRING or e - s != 32 or e != key[2]:
            raise KeyFormatError("Ed25519 PKCS#8 key must hold a 32-byte OCTET STRING")
        return Ed25519PrivateKey(der[s:e])
    raise KeyFormatError("unsupported private key algorithm (OID %s); use RSA or Ed25519"
                         % b64.encode(oid).decode())


def load_private_key(data):
    """RSA or Ed25519 private key from PEM or DER (PKCS#1 or PKCS#8), or a raw
    32-byte Ed25519 seed.  Returns RSAPrivateKey or Ed25519PrivateKey."""
    if isinstance(data, str):
        data = data.encode()
    data = bytes(data)
    if len(data) > MAX_KEY_BYTES:
        raise KeyFormatError("key file of %d bytes is too large" % len(data))
    if b"-----BEGIN" in data:
        label, der = pem_decode(data)
        if label == "RSA PRIVATE KEY":
            return _rsa_from_pkcs1(der, 0, len(der))
        if label == "PRIVATE KEY":
            return _from_pkcs8(der, 0, len(der))
        raise KeyFormatError("PEM label %r is not a private key we read "
                             "(want 'PRIVATE KEY' or 'RSA PRIVATE KEY')" % label)
    if len(data) == 32:
        return Ed25519PrivateKey(data)
    if not data or data[0] != TAG_SEQUENCE:
        raise KeyFormatError("not a DER key (does not start with a SEQUENCE)")
    items = _seq(data, 0, len(data), "private key")
    if len(items) >= 2 and items[1][0] == TAG_SEQUENCE:
        return _from_pkcs8(data, 0, len(data))
    return _rsa_from_pkcs1(data, 0, len(data))


def private_key_der(key):
    """PKCS#8 DER (RFC 5208) for either key type."""
    if key.algorithm == "rsa":
        pk1 = der_tlv(TAG_SEQUENCE, der_int(0) + b"".join(der_int(x) for x in (
            key.n, key.e, key.d, key.p, key.q, key.dp, key.dq, key.qinv)))
        alg = der_tlv(TAG_SEQUENCE, der_tlv(TAG_OID, OID_RSA) + der_tlv(TAG_NULL, b""))
        return der_tlv(TAG_SEQUENCE, der_int(0) + alg + der_tlv(TAG_OCTET_STRING, pk1))
    alg = der_tlv(TAG_SEQUENCE, der_tlv(TAG_OID, OID_ED25519))
    inner = der_tlv(TAG_OCTET_STRING, key.seed)
    return der_tlv(TAG_SEQUENCE, der_int(0) + alg + der_tlv(TAG_OCTET_STRING, inner))


# -- public keys --------------------------------------------------------------

def rsa_public_der(key):
    """PKCS#1 RSAPublicKey DER (RFC 8017 A.1.1)."""
    return der_tlv(TAG_SEQUENCE, der_int(key.n) + der_int(key.e))


def spki_der(key):
    """SubjectPublicKeyInfo DER (RFC 5280 4.1.2.7; RFC 8410 4 for Ed25519)
    for a public or private key of either type."""
    if key.algorithm == "rsa":
        alg = der_tlv(TAG_SEQUENCE, der_tlv(TAG_OID, OID_RSA) + der_tlv(TAG_NULL, b""))
        bits = b"\x00" + rsa_public_der(key)
    else:
        alg = der_tlv(TAG_SEQUENCE, der_tlv(TAG_OID, OID_ED25519))
        bits = b"\x00" + key.public_bytes
    return der_tlv(TAG_SEQUENCE, alg + der_tlv(TAG_BIT_STRING, bits))


def dkim_public_bytes(key):
    """What DKIM's p= carries: SPKI DER for RSA (RFC 6376 3.6.1), the raw
    32-byte key for Ed25519 (RFC 8463 4.2)."""
    if key.algorithm == "rsa":
        return spki_der(key)
    return key.public_bytes


def _rsa_public_from(der):
    items = _seq(der, 0, len(der), "public key")
    if len(items) == 2 and items[0][0] == TAG_INTEGER:
        # RFC 8017 A.1.1 RSAPublicKey, which some DKIM records carry.
        return RSAPublicKey(_int(der, items[0], "modulus"), _int(der, items[1], "exponent"))
    if len(items) != 2:
        raise KeyFormatError("SubjectPublicKeyInfo has %d fields, expected 2" % len(items))
    alg = _expect(items[0], TAG_SEQUENCE, "SPKI algorithm")
    oid_item = der_items(der, alg[1], alg[2])
    if not oid_item or oid_item[0][0] != TAG_OID or der[oid_item[0][1]:oid_item[0][2]] != OID_RSA:
        raise KeyFormatError("SubjectPublicKeyInfo is not an RSA key")
    bits = _expect(items[1], TAG_BIT_STRING, "SPKI subjectPublicKey")
    if bits[2] - bits[1] < 1 or der[bits[1]] != 0:
        raise KeyFormatError("SPKI BIT STRING has unused bits")
    inner = der[bits[1] + 1:bits[2]]
    pk = _seq(inner, 0, len(inner), "RSAPublicKey")
    if len(pk) != 2:
        raise KeyFormatError("RSAPublicKey has %d fields, expected 2" % len(pk))
    return RSAPublicKey(_int(inner, pk[0], "modulus"), _int(inner, pk[1], "exponent"))


def load_public_key(data, k="rsa"):
    """Public key from DKIM p= bytes (already base64-decoded) and its k= type."""
    data = bytes(data)
    if len(data) > MAX_KEY_BYTES:
        raise KeyFormatError("public key of %d bytes is too large" % len(data))
    if k == "ed25519":
        if len(data) != 32:
            raise KeyFormatError("Ed25519 public key must be 32 bytes, got %d" % len(data))
        try:
            return Ed25519PublicKey(data)
        except ValueError as e:
            raise KeyFormatError("bad Ed25519 public key: %s" % e)
    if k == "rsa":
        return _rsa_public_from(data)
    raise KeyFormatError("unknown key type k=%s" % k)
