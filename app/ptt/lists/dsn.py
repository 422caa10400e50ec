"""Delivery status notifications (RFC 3464, RFC 6533) and status codes.

`parse(message)` finds the message/delivery-status (or RFC 6533's
message/global-delivery-status) part of a multipart/report and returns one
Recipient per per-recipient block. Nothing else is trusted: a mail to a
return address that is not a DSN (an out-of-office reply, a hand-written
note) counts as no bounce.
"""

import binascii

from ptt.mail import headers as H

MAX_DEPTH = 4   # multipart nesting we follow


class Recipient:
    """One per-recipient block: final_recipient (text, type prefix such as
    'rfc822;' removed), action ('failed', 'delayed', ...), status ('5.1.1')
    and diagnostic (text or '')."""

    __slots__ = ("final_recipient", "action", "status", "diagnostic")

    def __init__(self, final_recipient, action, status, diagnostic):
        self.final_recipient = final_recipient
        self.action = action
        self.status = status
        self.diagnostic = diagnostic

    def __repr__(self):
        return "Recipient(%r, %r, %r)" % (self.final_recipient, self.action, self.status)


def counts_as_bounce(status):
    """True if an enhanced status code (RFC 3463), or failing that a basic
    reply code, is a permanent failure that is the address's fault.

    5.7.x is policy (spam filters, DMARC, "not authorised") and says
    nothing about the address: it does not count (mailman#624)."""
    s = (status or "").strip()
    if not s or s[0] != "5":
        return False
    return not s.startswith("5.7.")


def _params(value):
    """'type/sub; a=b; c="d"' -> (type lowercase, {param: value})."""
    v = value.replace(b"\r\n", b"").strip()
    parts = []
    cur = bytearray()
    quoted = False
    i = 0
    while i < len(v):
        c = v[i]
        if c == 92 and quoted and i + 1 < len(v):
            cur.append(v[i + 1])
            i += 2
            continue
        if c == 34:
            quoted = not quoted
        elif c == 59 and not quoted:
            parts.append(bytes(cur))
            cur = bytearray()
        else:
            cur.append(c)
        i += 1
    parts.append(bytes(cur))
    ctype = H.lower(parts[0].strip())
    params = {}
    for p in parts[1:]:
        k, _, val = p.partition(b"=")
        params[H.lower(k.strip())] = val.strip()
    return ctype, params


def _content(headers):
    for n, v in headers:
        if H.key(n) == b"content-type":
            return _params(v)
    return b"text/plain", {}


def _cte(headers):
    for n, v in headers:
        if H.key(n) == b"content-transfer-encoding":
            return H.lower(v.strip())
    return b"7bit"


def _split_multipart(body, boundary):
    delim = b"--" + boundary
    parts = []
    pos = body.find(delim)
    if pos < 0:
        return parts
    while True:
        start = body.find(b"\r\n", pos)
        if start < 0:
            break
        start += 2
        nxt = body.find(b"\r\n" + delim, start)
        if nxt < 0:
            break
        parts.append(body[start:nxt])
        pos = nxt + 2
        if body[pos + len(delim):pos + len(delim) + 2] == b"--":
            break
    return parts


def _find_status(headers, body, depth):
    ctype, params = _content(headers)
    if ctype in (b"message/delivery-status", b"message/global-delivery-status"):
        if _cte(headers) == b"base64":
            try:
                body = binascii.a2b_base64(body.replace(b"\r\n", b""))
            except Exception:
                return None
        return body
    if ctype.startswith(b"multipart/") and depth < MAX_DEPTH and b"boundary" in params:
        for part in _split_multipart(body, params[b"boundary"]):
            try:
                ph, pb = H.parse(part)
            except H.HeaderError:
                continue
            found = _find_status(ph, pb, depth + 1)
            if found is not None:
                return found
    return None


def _fields(block):
    """Header-like fields of a DSN block -> {lowercase name: value text}."""
    out = {}
    try:
        hs, _ = H.parse(block + b"\r\n\r\n")
    except H.HeaderError:
        return out
    for n, v in hs:
        try:
            out[H.key(n).decode()] = v.replace(b"\r\n", b"").strip().decode()
        except Exception:
            continue
    return out


def parse(message):
    """Message bytes -> list of Recipient (empty if it is not a DSN)."""
    try:
        headers, body = H.parse(message)
    except H.HeaderError:
        return []
    status = _find_status(headers, body, 0)
    if status is None:
        return []
    status = H.to_crlf(status)
    blocks = []
    for b in status.split(b"\r\n\r\n"):
        if b.strip():
            blocks.append(b.strip(b"\r\n"))
    out = []
    for b in blocks:
        f = _fields(b)
        if "final-recipient" not in f and "action" not in f:
            continue           # the per-message block
        fr = f.get("final-recipient") or f.get("original-recipient") or ""
        if ";" in fr:
            fr = fr.split(";", 1)[1].strip()
        st = f.get("status", "").split(" ")[0]
        out.append(Recipient(fr, f.get("action", "").lower(), st,
                             f.get("diagnostic-code", "")))
    return out
