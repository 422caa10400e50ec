"""The mails a list writes itself: confirmations, notices, help, rosters.

Every one is RFC 5322 well-formed: Date (from `now`), Message-ID (from
injected random bytes), From, To, Subject, MIME-Version, Content-Type
text/plain; charset=utf-8 (or multipart/mixed with the held post attached
as message/rfc822), Auto-Submitted (RFC 3834: auto-replied for answers to
a request, auto-generated for notices nobody asked for) and X-Loop.
"""

import binascii

from ptt.mail import headers as H
from ptt.mail.dates import rfc5322


class Mail:
    """One outgoing transaction: envelope sender ("" = null), recipients
    (list of address text) and the message bytes."""

    __slots__ = ("sender", "recipients", "data")

    def __init__(self, sender, recipients, data):
        self.sender = sender
        self.recipients = recipients
        self.data = data

    def __repr__(self):
        return "Mail(%r, %r, %d bytes)" % (self.sender, self.recipients, len(self.data))


DAY = 86400


def is_ascii(s):
    for c in s:
        if ord(c) >= 0x80:
            return False
    return True


def encode_words(text):
    """RFC 2047 B encoded-words (UTF-8) for `text`, each at most 75
    characters, split only between characters; returns a list of bytes."""
    raw = text.encode()
    words = []
    i = 0
    while i < len(raw):
        j = min(i + 45, len(raw))          # 45 octets -> 60 base64 chars
        while j < len(raw) and (raw[j] & 0xC0) == 0x80:
            j -= 1                          # do not split a UTF-8 sequence
        words.append(b"=?utf-8?b?" + binascii.b2a_base64(raw[i:j]).rstrip(b"\n") + b"?=")
        i = j
    return words


def phrase(text):
    """A display name as RFC 5322 phrase bytes: atoms, a quoted-string, or
    RFC 2047 encoded-words when it is not ASCII."""
    if not is_ascii(text):
        return b" ".join(encode_words(text))
    plain = True
    for c in text:
        if not (c.isalpha() or c.isdigit() or c in " !#$%&'*+-/=?^_`{|}~"):
            plain = False
    if plain and text and text.strip() == text and "  " not in text:
        return text.encode()
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'


def text_pieces(text):
    """Unstructured text as fold pieces (fold between words)."""
    if not is_ascii(text):
        return [(b" ", w, False) for w in encode_words(text)]
    return [(b" ", w.encode(), False) for w in text.split(" ") if w]


def address_pieces(addresses):
    out = []
    for i, a in enumerate(addresses):
        t = a.encode() if isinstance(a, str) else a
        out.append((b" ", t + (b"," if i < len(addresses) - 1 else b""), False))
    return out


def unfold_text(b):
    """A header value's bytes as one line of text (for notices); raw UTF-8
    is kept, other 8-bit bytes become '?'. Encoded-words stay encoded."""
    b = b.replace(b"\r\n", b"").strip()
    from ptt.smtp.parse import decode_utf8
    try:
        return decode_utf8(b)
    except ValueError:
        return "".join(chr(c) if c < 0x80 else "?" for c in b)


def message_id(randbytes, now, domain):
    return "<%s.%d@%s>" % (binascii.hexlify(randbytes(9)).decode(), int(now), domain)


# ---------------------------------------------------------------- composing

AUTO_REPLIED = "auto-replied"
AUTO_GENERATED = "auto-generated"


def _crlf(text):
    t = text.replace("\r\n", "\n").replace("\n", "\r\n")
    return t if t.endswith("\r\n") else t + "\r\n"


def compose(ctx, frm, to, subject, body, auto=AUTO_REPLIED, reply_to=None,
            loop=None, attach=None, in_reply_to=None):
    """Build a generated mail; returns bytes.

    frm: (display name, address) or address; to: list of addresses;
    body: text; attach: bytes of a message to attach as message/rfc822.
    """
    hs = []
    hs.append((b"Date", b" " + rfc5322(ctx.now).encode()))
    if isinstance(frm, tuple):
        hs.append((b"From", b" " + phrase(frm[0]) + b" <" + frm[1].encode() + b">"))
    else:
        hs.append((b"From", b" " + frm.encode()))
    hs.append((b"To", H.fold(b"To", address_pieces(to))[3:]))
    hs.append((b"Subject", H.fold(b"Subject", text_pieces(subject))[8:]))
    hs.append((b"Message-ID", b" " + message_id(ctx.randbytes, ctx.now, ctx.domain).encode()))
    if in_reply_to and in_reply_to[:1] == b"<" and in_reply_to[-1:] == b">" \
            and len(in_reply_to) < 256 and all(32 < c < 127 for c in in_reply_to):
        hs.append((b"In-Reply-To", b" " + in_reply_to))
        hs.append((b"References", b" " + in_reply_to))
    if reply_to:
        hs.append((b"Reply-To", b" " + reply_to.encode()))
    hs.append((b"MIME-Version", b" 1.0"))
    text = _crlf(body).encode()
    cte = b" 7bit" if is_ascii(body) else b" 8bit"
    if attach is None:
        hs.append((b"Content-Type", b" text/plain; charset=utf-8"))
        hs.append((b"Content-Transfer-Encoding", cte))
        payload = text
    else:
        boundary = b"=_ptt_" + binascii.hexlify(ctx.randbytes(12))
        hs.append((b"Content-Type", b' multipart/mixed; boundary="' + boundary + b'"'))
        inner = bytes(attach)
        if not inner.endswith(b"\r\n"):
            inner += b"\r\n"
        eight = False
        for c in inner:
            if c >= 0x80:
                eight = True
                break
        payload = b"".join((
            b"This is a MIME message.\r\n\r\n--", boundary, b"\r\n",
            b"Content-Type: text/plain; charset=utf-8\r\n",
            b"Content-Transfer-Encoding:", cte, b"\r\n\r\n", text,
            b"\r\n--", boundary, b"\r\n",
            b"Content-Type: message/rfc822\r\n",
            b"Content-Disposition: inline\r\n",
            b"Content-Transfer-Encoding: ", b"8bit" if eight else b"7bit", b"\r\n\r\n",
            inner, b"\r\n--", boundary, b"--\r\n"))
    hs.append((b"Auto-Submitted", b" " + auto.encode()))
    if loop:
        hs.append((b"X-Loop", b" " + loop.encode()))
    return H.serialize(hs, payload)
