"""Message headers as an ordered list of (name, value) byte pairs.

`value` is everything after the colon up to (not including) the CRLF that
ends the field, folding CRLFs included, so simple canonicalisation can give
back the exact bytes (RFC 6376 3.4.1).  Headers are a list, never a dict:
order matters and MicroPython dicts do not keep it.
"""

_WSP = b" \t"
MAX_HEADERS = 1000
MAX_LINE = 998  # RFC 5322 2.1.1: lines MUST be no more than 998 octets


class HeaderError(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


def to_crlf(data):
    """Turn bare LF line ends into CRLF (a message read from a Unix file)."""
    if data.count(b"\n") == data.count(b"\r\n"):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def parse(data, max_headers=MAX_HEADERS):
    """RFC 5322 2.1-2.2: message bytes -> (headers, body).

    Folded fields are kept folded; 8-bit bytes pass through untouched.  The
    header section ends at the first empty line; without one the whole
    message is header and the body is b"".  A line that is neither a field
    nor a continuation raises HeaderError.
    """
    data = to_crlf(bytes(data))
    if data.startswith(b"\r\n"):
        return [], data[2:]
    end = data.find(b"\r\n\r\n")
    if end < 0:
        head = data[:-2] if data.endswith(b"\r\n") else data
        body = b""
    else:
        head = data[:end]
        body = data[end + 4:]
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            # RFC 5322 2.2.3: a continuation line of the field above.
            if not headers:
                raise HeaderError("message starts with a continuation line")
            name, value = headers[-1]
            headers[-1] = (name, value + b"\r\n" + line)
            continue
        colon = line.find(b":")
        if colon < 1:
            raise HeaderError("header line %r has no field name and colon" % line[:40])
        name = line[:colon]
        check_name(name.rstrip(_WSP))
        if len(headers) >= max_headers:
            raise HeaderError("more than %d header fields" % max_headers)
        headers.append((name, line[colon + 1:]))
    return headers, body


def check_name(name):
    """RFC 5322 2.2: field-name = 1*ftext, printable US-ASCII except ':'."""
    if not name:
        raise HeaderError("empty header field name")
    for c in name:
        if c < 33 or c > 126 or c == 58:
            raise HeaderError("invalid character %r in header field name %r" % (chr(c), name[:40]))


def key(name):
    """Comparison key for a field name: lowercase, without obs-FWS before ':'."""
    return lower(name.rstrip(_WSP))


def lower(b):
    """ASCII lowercase that leaves 8-bit bytes alone on both runtimes."""
    if isinstance(b, str):
        b = b.encode()
    out = bytearray(b)
    for i in range(len(out)):
        c = out[i]
        if 65 <= c <= 90:
            out[i] = c + 32
    return bytes(out)


def serialize(headers, body=b""):
    """(headers, body) -> message bytes, the inverse of parse()."""
    out = [n + b":" + v + b"\r\n" for n, v in headers]
    out.append(b"\r\n")
    out.append(body)
    return b"".join(out)


def get_all(headers, name):
    k = key(name)
    return [v for n, v in headers if key(n) == k]


def select(headers, names):
    """RFC 6376 5.4.2: the header instances named by h=, picked bottom-up.

    The n-th occurrence of a name in `names` takes the n-th instance counted
    from the bottom of the message; a name with no instance left selects
    nothing (that is how oversigning works).  Returns the selected
    (name, value) pairs in the order of `names`.
    """
    keys = [key(n) for n, _ in headers]
    used = {}
    out = []
    for nm in names:
        k = key(nm)
        skip = used.get(k, 0)
        used[k] = skip + 1
        seen = 0
        i = len(headers) - 1
        while i >= 0:
            if keys[i] == k:
                if seen == skip:
                    out.append(headers[i])
                    break
                seen += 1
            i -= 1
    return out


def fold(name, pieces, width=78, limit=MAX_LINE):
    """RFC 5322 2.2.3: build a folded field "Name: ..." (no final CRLF).

    `pieces` is a list of (sep, text, split): `sep` joins the text to the
    line when it fits (b" " or b""); where it does not fit the line is folded
    (CRLF + SP) before the text instead, so a fold must be legal at every
    piece boundary.  A piece with split=True (base64 in DKIM's b= and bh=,
    where FWS may go anywhere) fills the line and continues on the next ones.
    Lines stay under `width` where the pieces allow and never exceed `limit`.
    Folding is greedy from the left, so a field built from the same leading
    pieces always starts with the same bytes (DKIM signs with b= empty and
    then appends the signature).
    """
    lines = []
    line = bytes(name) + b":"
    fresh = True  # nothing after the name or the fold's leading SP yet
    for sep, text, split in pieces:
        if not text:
            continue
        if len(line) + len(sep) + len(text) <= width:
            line += sep + text
            fresh = False
            continue
        if split:
            room = width - len(line) - len(sep)
            if room < 1:
                lines.append(line)
                line = b" "
                sep = b""
                room = width - 1
            line += sep + text[:room]
            text = text[room:]
            while text:
                lines.append(line)
                line = b" " + text[:width - 1]
                text = text[width - 1:]
            fresh = False
            continue
        if not fresh:
            lines.append(line)
            line = b" " + text
        else:
            line += sep + text
        fresh = False
        if len(line) > limit:
            raise HeaderError("header %r: a %d-octet word cannot be folded under %d"
                              % (name, len(text), limit))
    lines.append(line)
    return b"\r\n".join(lines)
