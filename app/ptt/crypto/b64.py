"""Base64 helpers over binascii (MicroPython has no base64 module).

binascii.a2b_base64 on MicroPython skips junk and ignores data after "=",
so decode() checks the alphabet and padding itself before decoding.
"""
import binascii

_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_WSP = b" \t\r\n"


class Base64Error(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


def encode(data):
    """Bytes -> base64 bytes without newline (RFC 4648 section 4)."""
    return binascii.b2a_base64(data).rstrip(b"\n")


def strip_ws(data):
    """Remove FWS (SP, HTAB, CR, LF) anywhere: DKIM allows it inside b=, bh=, p=."""
    out = bytearray()
    for c in data:
        if c not in _WSP:
            out.append(c)
    return bytes(out)


def decode(data):
    """Base64 bytes (whitespace allowed) -> bytes; Base64Error on bad input."""
    if isinstance(data, str):
        data = data.encode()
    data = strip_ws(data)
    if len(data) % 4:
        raise Base64Error("base64 length %d is not a multiple of 4" % len(data))
    pad = 0
    while pad < 2 and data[len(data) - 1 - pad:len(data) - pad] == b"=":
        pad += 1
    for i in range(len(data) - pad):
        if data[i] not in _ALPHABET:
            raise Base64Error("invalid base64 character %r at offset %d" % (data[i:i + 1], i))
    try:
        return binascii.a2b_base64(data)
    except Exception as e:
        raise Base64Error("invalid base64: %s" % e)
