"""DKIM canonicalisation (RFC 6376 3.4) as small pure functions on bytes.

Header functions take one (name, value) pair as stored by ptt.mail.headers
(value without its final CRLF) and return the canonical field with CRLF.
Body functions take the whole body.  `simple` and `relaxed` bundle the two
with the name used in c=.  No regular expressions: MicroPython's re fails
on subjects over about 1230 characters.
"""
from ptt.mail.headers import lower


class CanonError(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


def compress_wsp(b):
    """Every run of SP/HTAB becomes one SP (RFC 6376 3.4.2 and 3.4.4)."""
    if b"\t" in b:
        b = b.replace(b"\t", b" ")
    while b"   " in b:
        b = b.replace(b"   ", b" ")
    while b"  " in b:
        b = b.replace(b"  ", b" ")
    return b


def simple_header(name, value):
    """RFC 6376 3.4.1: the field exactly as it is, folding and all."""
    return name + b":" + value + b"\r\n"


def relaxed_header(name, value):
    """RFC 6376 3.4.2: lowercase the name, unfold, compress WSP, trim around ':'."""
    name = lower(name.rstrip(b" \t"))
    value = compress_wsp(value.replace(b"\r\n", b"")).strip(b" ")
    return name + b":" + value + b"\r\n"


def strip_trailing_lines(body):
    """Drop every empty line at the end of the body (all CRLFs at the very end)."""
    end = len(body)
    while end >= 2 and body[end - 2:end] == b"\r\n":
        end -= 2
    return body[:end]


def simple_body(body):
    """RFC 6376 3.4.3: no trailing empty lines; exactly one final CRLF,
    which is also what an empty body becomes."""
    return strip_trailing_lines(body) + b"\r\n"


def relaxed_body(body):
    """RFC 6376 3.4.4: drop WSP at line ends, compress WSP runs, drop
    trailing empty lines; a non-empty body ends with CRLF, an empty one
    stays empty (RFC 6376 erratum 1384)."""
    lines = body.split(b"\r\n")
    out = []
    for line in lines:
        if b" " in line or b"\t" in line:
            line = compress_wsp(line).rstrip(b" ")
        out.append(line)
    body = strip_trailing_lines(b"\r\n".join(out))
    if not body:
        return b""
    return body + b"\r\n"


class Canon:
    def __init__(self, name, header, body):
        self.name = name
        self.header = header
        self.body = body


simple = Canon(b"simple", simple_header, simple_body)
relaxed = Canon(b"relaxed", relaxed_header, relaxed_body)

BY_NAME = ((b"simple", simple), (b"relaxed", relaxed))


def by_name(name):
    for n, c in BY_NAME:
        if n == name:
            return c
    raise CanonError("unknown canonicalisation %r (want simple or relaxed)" % name)


def parse_c(value):
    """RFC 6376 3.5 c=: "header/body", either part optional; default simple/simple."""
    value = value.strip()
    if not value:
        return simple, simple
    h, _, b = value.partition(b"/")
    return by_name(h.strip()), by_name(b.strip()) if b.strip() else simple
