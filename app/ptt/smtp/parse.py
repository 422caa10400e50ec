"""Small hand-written parsers for SMTP syntax (no regex: MicroPython's re
lacks counted repeats). The RFC 5321 ABNF sits above each function."""


class SyntaxError_(ValueError):
    pass


def _fail(msg):
    raise SyntaxError_(msg)


# atext (RFC 5322 3.2.3): ALPHA / DIGIT / "!#$%&'*+-/=?^_`{|}~"
_ATEXT_SPECIALS = b"!#$%&'*+-/=?^_`{|}~"


def _is_alnum(c):
    return 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122


def _is_atext(c):
    return _is_alnum(c) or c in _ATEXT_SPECIALS or c >= 0x80


# RFC 5321 4.5.3.1. Its 64-octet local part is not enforced alone: VERP
# return addresses (list-return-12-alice=example.org@...) routinely exceed it,
# and 4.5.3.1 asks servers to impose no limit where they can. The 256-octet
# path limit bounds it.
MAX_DOMAIN = 255
MAX_PATH = 256


def is_ascii(b):
    for c in b:
        if c >= 0x80:
            return False
    return True


def decode_utf8(b):
    """Decode UTF-8 strictly; SyntaxError_ if malformed (checked by hand:
    MicroPython's decode may not reject every bad sequence)."""
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if c < 0x80:
            i += 1
            continue
        if 0xC2 <= c <= 0xDF:
            k = 1
        elif 0xE0 <= c <= 0xEF:
            k = 2
        elif 0xF0 <= c <= 0xF4:
            k = 3
        else:
            _fail("malformed UTF-8")
        if i + k >= n:
            _fail("truncated UTF-8")
        for j in range(1, k + 1):
            if not 0x80 <= b[i + j] <= 0xBF:
                _fail("malformed UTF-8")
        if k == 2 and ((c == 0xE0 and b[i + 1] < 0xA0) or (c == 0xED and b[i + 1] > 0x9F)):
            _fail("overlong or surrogate UTF-8")
        if k == 3 and ((c == 0xF0 and b[i + 1] < 0x90) or (c == 0xF4 and b[i + 1] > 0x8F)):
            _fail("overlong or out-of-range UTF-8")
        i += k + 1
    return b.decode()


# Domain = sub-domain *("." sub-domain)
# sub-domain = Let-dig [Ldh-str]        (U-labels allowed with SMTPUTF8)
def _check_domain(d):
    if not d or len(d) > MAX_DOMAIN:
        _fail("bad domain length")
    for label in d.split(b"."):
        if not label or len(label) > 63:
            _fail("empty or long domain label")
        if label[0] == 45 or label[-1] == 45:
            _fail("domain label starts or ends with '-'")
        for c in label:
            if not (_is_alnum(c) or c == 45 or c >= 0x80):
                _fail("bad character in domain")


# address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
#                         General-address-literal ) "]"
# dcontent = %d33-90 / %d94-126
def _check_address_literal(lit):
    inner = lit[1:-1]
    if not inner:
        _fail("empty address literal")
    for c in inner:
        if not (33 <= c <= 90 or 94 <= c <= 126):
            _fail("bad character in address literal")
    if b":" not in inner:
        parts = inner.split(b".")
        if len(parts) != 4:
            _fail("bad IPv4 address literal")
        for p in parts:
            if not p or len(p) > 3 or not p.isdigit() or int(p) > 255:
                _fail("bad IPv4 address literal")


# Path = "<" [ A-d-l ":" ] Mailbox ">"
# A-d-l = At-domain *( "," At-domain ) ; At-domain = "@" Domain
# Mailbox = Local-part "@" ( Domain / address-literal )
# Local-part = Dot-string / Quoted-string
# Dot-string = Atom *("." Atom) ; Atom = 1*atext
# Quoted-string = DQUOTE *QcontentSMTP DQUOTE
# QcontentSMTP = qtextSMTP / quoted-pairSMTP
# qtextSMTP = %d32-33 / %d35-91 / %d93-126 ; quoted-pairSMTP = %d92 %d32-126
def parse_path(arg, allow_null, allow_postmaster):
    """Parse b"<path> params..." -> (mailbox bytes, rest bytes).

    The null path <> gives b"" when allow_null. A source route is accepted
    and dropped (RFC 5321 4.1.2 / C). RCPT TO:<Postmaster> is accepted bare
    when allow_postmaster.
    """
    n = len(arg)
    if n < 2 or arg[0] != 60:  # "<"
        _fail("path must start with '<'")
    i = 1
    if arg[1] == 62:  # "<>"
        if not allow_null:
            _fail("null path not allowed here")
        return b"", arg[2:]
    if arg[i] == 64:  # "@": source route, skip to ":"
        j = arg.find(b":", i)
        if j < 0:
            _fail("bad source route")
        for part in arg[i:j].split(b","):
            if not part or part[0] != 64:
                _fail("bad source route")
            _check_domain(part[1:])
        i = j + 1
    start = i
    if i < n and arg[i] == 34:  # quoted local part
        i += 1
        while True:
            if i >= n:
                _fail("unterminated quoted local part")
            c = arg[i]
            if c == 34:
                i += 1
                break
            if c == 92:
                if i + 1 >= n or not 32 <= arg[i + 1] <= 126:
                    _fail("bad quoted pair")
                i += 2
                continue
            if not (c == 32 or c == 33 or 35 <= c <= 91 or 93 <= c <= 126 or c >= 0x80):
                _fail("bad character in quoted local part")
            i += 1
    else:
        prev_dot = True
        while i < n and arg[i] != 64 and arg[i] != 62:
            c = arg[i]
            if c == 46:
                if prev_dot:
                    _fail("empty atom in local part")
                prev_dot = True
            elif _is_atext(c):
                prev_dot = False
            else:
                _fail("bad character in local part")
            i += 1
        if prev_dot and i > start:
            _fail("local part ends with '.'")
    local = arg[start:i]
    if not local:
        _fail("empty local part")
    if i < n and arg[i] == 62 and allow_postmaster and local.lower() == b"postmaster":
        return local, arg[i + 1:]
    if i >= n or arg[i] != 64:
        _fail("mailbox needs '@domain'")
    i += 1
    dstart = i
    if i < n and arg[i] == 91:  # "["
        j = arg.find(b"]", i)
        if j < 0:
            _fail("unterminated address literal")
        _check_address_literal(arg[i:j + 1])
        i = j + 1
    else:
        while i < n and arg[i] != 62:
            i += 1
        _check_domain(arg[dstart:i])
    if i >= n or arg[i] != 62:
        _fail("path must end with '>'")
    mailbox = arg[start:i]
    if len(mailbox) + 2 > MAX_PATH:
        _fail("path longer than 256 octets")
    return mailbox, arg[i + 1:]


# Mail-parameters = esmtp-param *(SP esmtp-param)
# esmtp-param = esmtp-keyword ["=" esmtp-value]
# esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
# esmtp-value = 1*(%d33-60 / %d62-126)     (UTF-8 too, RFC 6531 3.3)
def parse_params(rest):
    """b" SIZE=10 BODY=8BITMIME" -> {"SIZE": "10", "BODY": "8BITMIME"}."""
    params = {}
    if not rest:
        return params
    if rest[0] != 32:
        _fail("parameters must follow the path after a space")
    for word in rest[1:].split(b" "):
        if not word:
            _fail("empty parameter (double space?)")
        eq = word.find(b"=")
        key = word if eq < 0 else word[:eq]
        if not key or not _is_alnum(key[0]):
            _fail("bad parameter keyword")
        for c in key:
            if not (_is_alnum(c) or c == 45):
                _fail("bad parameter keyword")
        value = None
        if eq >= 0:
            v = word[eq + 1:]
            if not v:
                _fail("empty parameter value")
            for c in v:
                if c < 33 or c == 61 or c == 127:
                    _fail("bad parameter value")
            value = decode_utf8(v)
        k = key.decode().upper()
        if k in params:
            _fail("parameter given twice")
        params[k] = value
    return params


# --- replies (client side) ---
# Reply-line = *( Reply-code "-" [ textstring ] CRLF )
#              Reply-code [ SP textstring ] CRLF
def parse_reply_line(line):
    """b"250-8BITMIME" (no CRLF) -> (250, last?, b"8BITMIME")."""
    if len(line) < 3 or not line[:3].isdigit() or line[0] < 50 or line[0] > 53:
        _fail("reply line must start with a code 2xx-5xx")
    code = int(line[:3])
    if len(line) == 3:
        return code, True, b""
    sep = line[3]
    if sep == 45:
        return code, False, line[4:]
    if sep == 32:
        return code, True, line[4:]
    _fail("reply code must be followed by '-' or ' '")


def split_status(code, text):
    """Split an RFC 3463 enhanced code off a reply line's text, if present
    and consistent with the reply code's class."""
    sp = text.find(b" ")
    head = text if sp < 0 else text[:sp]
    parts = head.split(b".")
    if (len(parts) == 3 and len(parts[0]) == 1 and parts[0][0] == 48 + code // 100
            and parts[1].isdigit() and parts[2].isdigit()
            and len(parts[1]) <= 3 and len(parts[2]) <= 3):
        return head.decode(), (b"" if sp < 0 else text[sp + 1:])
    return None, text


def safe_text(b):
    """Peer text for logs and reports: printable ASCII, others as '?'."""
    return "".join(chr(c) if 32 <= c < 127 else "?" for c in b)
