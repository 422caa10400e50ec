"""Rewriting a post for distribution (RFC 2369, RFC 2919, RFC 7960).

Headers stay a list of (name, value) byte pairs in their order; only From,
Reply-To and Subject are changed in place, header fields we own are
removed, and our block is put on top, in this order:

    List-Id: <NAME.DOMAIN>
    List-Help: <mailto:NAME-help@DOMAIN>
    List-Subscribe: <mailto:NAME-subscribe@DOMAIN>
    List-Unsubscribe: <mailto:NAME-unsubscribe@DOMAIN>
    List-Post: <mailto:NAME@DOMAIN>          ("NO" on announce lists)
    List-Owner: <mailto:NAME-owner@DOMAIN>
    Precedence: list
    Sender: NAME-owner@DOMAIN
    X-Loop: NAME@DOMAIN
    X-Original-From: <the poster's From>     (when From is rewritten)
    Reply-To: ...                            (when the list sets one)
    Message-ID: <...>                        (only if the post had none)

Everything else, 8-bit and UTF-8 bytes included, passes byte for byte.
"""

from ptt.mail import headers as H
from ptt.mail.address import AddressError, parse_mailbox
from ptt.lists import notices
from ptt.store.schema import setting

# Fields the list owns: any copy in the post is removed (a post forwarded
# from another list must not carry that list's List-* fields).
OWNED = (b"return-path", b"list-id", b"list-help", b"list-subscribe",
         b"list-unsubscribe", b"list-unsubscribe-post", b"list-post",
         b"list-owner", b"list-archive", b"precedence", b"sender",
         b"errors-to", b"x-original-from")


def _unfold(v):
    return v.replace(b"\r\n", b"")


def _utf8(b):
    """bytes -> str if valid UTF-8, else None (checked by hand: MicroPython's
    decode may accept malformed input)."""
    from ptt.smtp.parse import decode_utf8
    try:
        return decode_utf8(b)
    except ValueError:
        return None


# ---------------------------------------------------------------- From

def _strip_comments(b):
    out = bytearray()
    depth = 0
    quoted = False
    i = 0
    while i < len(b):
        c = b[i]
        if c == 92 and i + 1 < len(b) and (quoted or depth):   # backslash
            if not depth:
                out += b[i:i + 2]
            i += 2
            continue
        if c == 34 and not depth:
            quoted = not quoted
        elif c == 40 and not quoted:
            depth += 1
            i += 1
            continue
        elif c == 41 and depth:
            depth -= 1
            i += 1
            continue
        if not depth:
            out.append(c)
        i += 1
    return bytes(out)


def parse_from(value):
    """A From field value -> (phrase bytes or b"", Address or None).

    Takes the first mailbox: `phrase <addr>` or a bare `addr`. Comments are
    ignored; an address we cannot parse gives None (callers fail closed).
    """
    v = _strip_comments(_unfold(value)).strip()
    quoted = False
    lt = -1
    for i in range(len(v)):
        c = v[i]
        if c == 34 and (i == 0 or v[i - 1] != 92):
            quoted = not quoted
        elif c == 60 and not quoted:
            lt = i
            break
        elif c == 44 and not quoted:
            v = v[:i]
            break
    if lt >= 0:
        gt = v.find(b">", lt)
        phrase = v[:lt].strip()
        spec = v[lt + 1:gt if gt > 0 else len(v)].strip()
    else:
        phrase = b""
        spec = v.strip()
    if b":" in spec:          # obsolete route <@a,@b:x@y>
        spec = spec[spec.rfind(b":") + 1:]
    text = _utf8(spec)
    addr = None
    if text:
        try:
            addr = parse_mailbox(text)
        except AddressError:
            addr = None
    return phrase, addr


def _unquote(phrase):
    out = bytearray()
    quoted = False
    i = 0
    while i < len(phrase):
        c = phrase[i]
        if c == 92 and quoted and i + 1 < len(phrase):
            out.append(phrase[i + 1])
            i += 2
            continue
        if c == 34:
            quoted = not quoted
        else:
            out.append(c)
        i += 1
    return bytes(out).strip()


def munged_from(value, name, domain, envelope_sender="", target=None):
    """The From value naming the list as author: ' "Alice via NAME" <NAME@DOMAIN>'.

    The poster's display name is kept: plain text is re-quoted; text that
    is raw UTF-8 becomes RFC 2047 encoded-words; existing encoded-words are
    kept as they are and " via NAME" follows them. Without a name, the
    address is shown as "local at domain" (so no client mistakes it for
    the author's address).
    """
    phrase, addr = parse_from(value) if value is not None else (b"", None)
    via = "via " + name
    raw = phrase.strip()
    if raw and b"=?" in raw:
        disp = raw + b" " + notices.phrase(via)
    else:
        text = _utf8(_unquote(raw)) if raw else None
        if not text:
            who = str(addr) if addr is not None else envelope_sender
            text = who.replace("@", " at ") if who else "someone"
        disp = notices.phrase(text + " " + via)
    if target is None:
        target = "%s@%s" % (name, domain)
    return b" " + disp + b" <" + target.encode() + b">"


# ---------------------------------------------------------------- Subject

def prefixed_subject(value, prefix):
    """The Subject value with `prefix` in front, unless the prefix already
    appears in it (replies: "Re: [list] ..." stays as it is)."""
    if not prefix:
        return value
    p = prefix.encode()
    if H.lower(p) in H.lower(_unfold(value)):
        return value
    if notices.is_ascii(prefix):
        head = b" " + p
    else:
        head = b" " + b" ".join(notices.encode_words(prefix + " "))
    rest = value if value[:1] in (b" ", b"\t") else b" " + value
    first = rest.split(b"\r\n", 1)[0]
    if len(b"Subject:") + len(head) + len(first) > 78 and rest.strip():
        return head + b"\r\n" + rest
    return head + rest


# ---------------------------------------------------------------- loops

def list_id(name, domain):
    return ("<%s.%s>" % (name, domain)).encode()


def is_loop(headers, name, domain):
    """True if the post already went through this list (our List-Id or
    our X-Loop): it must be dropped, never distributed again."""
    lid = H.lower(list_id(name, domain))
    me = H.lower(("%s@%s" % (name, domain)).encode())
    for n, v in headers:
        k = H.key(n)
        if k == b"list-id" and lid in H.lower(_unfold(v)):
            return True
        if k == b"x-loop" and H.lower(_unfold(v)).strip() == me:
            return True
    return False


# ---------------------------------------------------------------- the post

def list_headers(name, domain, announce=False):
    """Our RFC 2369/2919 block (without the per-post fields)."""
    def a(kind):
        return ("%s-%s@%s" % (name, kind, domain)).encode()
    post = ("%s@%s" % (name, domain)).encode()
    return [
        (b"List-Id", b" " + list_id(name, domain)),
        (b"List-Help", b" <mailto:" + a("help") + b">"),
        (b"List-Subscribe", b" <mailto:" + a("subscribe") + b">"),
        (b"List-Unsubscribe", b" <mailto:" + a("unsubscribe") + b">"),
        (b"List-Post", b" NO" if announce else b" <mailto:" + post + b">"),
        (b"List-Owner", b" <mailto:" + a("owner") + b">"),
        (b"Precedence", b" list"),
        (b"Sender", b" " + a("owner")),
        (b"X-Loop", b" " + post),
    ]


def rewrite_post(headers, name, domain, lst, mitigate, envelope_sender="", new_message_id=None):
    """Rewrite a post's headers for distribution; returns the new list.

    lst: the list document (settings subject_prefix, reply_to, policy);
    mitigate: rewrite From to the list address (dmarc.must_mitigate);
    new_message_id: bytes value (with <>) used only if the post has none.
    """
    prefix = setting(lst, "subject_prefix")
    reply_list = setting(lst, "reply_to") == "list"
    out = []
    orig_from = None
    had_reply_to = False
    has_mid = False
    for n, v in headers:
        k = H.key(n)
        if k in OWNED:
            continue
        if k == b"from" and orig_from is None:
            orig_from = v
            if mitigate:
                v = munged_from(v, name, domain, envelope_sender)
        elif k == b"reply-to":
            had_reply_to = True
            if reply_list:
                continue
        elif k == b"subject":
            v = prefixed_subject(v, prefix)
        elif k == b"message-id":
            has_mid = True
        out.append((n, v))
    if mitigate and orig_from is None:
        # No From at all: author it as the list (RFC 5322 requires one).
        out.append((b"From", munged_from(None, name, domain, envelope_sender)))
    block = list_headers(name, domain, setting(lst, "policy") == "announce")
    poster = orig_from.strip() if orig_from is not None else None
    if poster is None and envelope_sender:
        poster = envelope_sender.encode()
    if mitigate and poster:
        block.append((b"X-Original-From", b" " + poster))
    if reply_list:
        rt = ("%s@%s" % (name, domain)).encode()
        if mitigate and poster:
            rt += b", " + poster
        block.append((b"Reply-To", b" " + rt))
    elif mitigate and not had_reply_to and poster:
        block.append((b"Reply-To", b" " + poster))
    if not has_mid and new_message_id:
        block.append((b"Message-ID", b" " + new_message_id))
    return block + out
