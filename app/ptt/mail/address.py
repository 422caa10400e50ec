"""RFC 5321 mailboxes: parse, normalise, compare.

One form everywhere (store, routing, envelopes): `local@domain` where the
domain is lowercase A-labels (see idna.py) and the local part is kept as given
(quoted strings that are valid dot-strings lose their quotes). Two addresses
are the same subscriber when their local parts match case-insensitively (ASCII)
and their domains match: what every list manager does in practice, although
RFC 5321 2.4 leaves local-part case to the receiving host.
"""

from ptt.mail import idna

# RFC 5321 4.5.3.1.1 / 4.5.3.1.2: size limits in octets.
MAX_LOCAL = 64
MAX_DOMAIN = 255

# RFC 5322 3.2.3 atext (RFC 5321 Atom); RFC 6531 3.3 adds UTF8-non-ascii.
_ATEXT_SPECIALS = "!#$%&'*+-/=?^_`{|}~"


class AddressError(ValueError):
    pass


def _is_atext(c):
    o = ord(c)
    if o >= 0x80:
        return True  # UTF8-non-ascii (SMTPUTF8)
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or c in _ATEXT_SPECIALS


def _ascii_lower(s):
    return "".join(c.lower() if ord(c) < 0x80 else c for c in s)


def is_dot_string(s):
    """RFC 5321 4.1.2: Dot-string = Atom *("." Atom)."""
    if not s:
        return False
    for atom in s.split("."):
        if not atom:
            return False
        for c in atom:
            if not _is_atext(c):
                return False
    return True


def _unquote(s):
    """RFC 5321 4.1.2 Quoted-string -> its content, or raise AddressError."""
    out = []
    i = 1
    end = len(s) - 1
    while i < end:
        c = s[i]
        o = ord(c)
        if c == "\\":
            if i + 1 >= end or not (32 <= ord(s[i + 1]) <= 126):
                raise AddressError("bad escape in quoted local part")
            out.append(s[i + 1])
            i += 2
            continue
        # qtextSMTP: %d32-33 / %d35-91 / %d93-126, plus UTF-8 (RFC 6531)
        if o == 34 or o < 32 or o == 127:
            raise AddressError("character %r is not allowed in a quoted local part" % c)
        out.append(c)
        i += 1
    return "".join(out)


def _quote(content):
    return '"' + content.replace("\\", "\\\\").replace('"', '\\"') + '"'


def split_mailbox(text):
    """Split at the '@' that ends the local part (which may be quoted)."""
    if text.startswith('"'):
        i = 1
        while i < len(text):
            if text[i] == "\\":
                i += 2
                continue
            if text[i] == '"':
                break
            i += 1
        else:
            raise AddressError("unterminated quoted local part")
        if i + 1 >= len(text) or text[i + 1] != "@":
            raise AddressError("expected '@' after the quoted local part")
        return text[: i + 1], text[i + 2:]
    at = text.rfind("@")
    if at < 0:
        raise AddressError("missing '@'")
    return text[:at], text[at + 1:]


def _check_ipv4(s):
    parts = s.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p or len(p) > 3 or not p.isdigit() or int(p) > 255:
            return False
    return True


def _check_literal(lit):
    """RFC 5321 4.1.3 address literals: [1.2.3.4] or [IPv6:...]."""
    inner = lit[1:-1]
    if _check_ipv4(inner):
        return lit
    if inner[:5].lower() == "ipv6:":
        body = inner[5:]
        if body and all(c in "0123456789abcdefABCDEF:." for c in body) and ":" in body:
            return "[IPv6:" + body.lower() + "]"
    raise AddressError("bad address literal %s" % lit)


def normalize_domain(domain, fqdn=False):
    """A domain in its stored form (lowercase A-labels); raise AddressError.

    fqdn=True also requires at least two labels: a member address like
    foo@bar is nearly always a typo, and cannot be delivered on the Internet.
    """
    if not domain:
        raise AddressError("missing domain")
    if domain.endswith("."):
        domain = domain[:-1]
    try:
        d = idna.to_ascii(domain)
    except Exception:
        raise AddressError("domain %s cannot be converted to ASCII (IDNA)" % domain)
    if len(d) > MAX_DOMAIN:
        raise AddressError("domain longer than %d octets" % MAX_DOMAIN)
    labels = d.split(".")
    for label in labels:
        if not label:
            raise AddressError("empty label in domain %s" % domain)
        if len(label) > 63:
            raise AddressError("label longer than 63 octets in domain %s" % domain)
        if label[0] == "-" or label[-1] == "-":
            raise AddressError("label %s starts or ends with '-'" % label)
        for c in label:
            if not (("a" <= c <= "z") or ("0" <= c <= "9") or c == "-"):
                raise AddressError("character %r is not allowed in domain %s" % (c, domain))
    if fqdn and len(labels) < 2:
        raise AddressError("domain %s is not fully qualified (no dot)" % domain)
    return d


class Address:
    """A mailbox `local@domain` in stored form; compares by key()."""

    __slots__ = ("local", "domain")

    def __init__(self, local, domain):
        self.local = local
        self.domain = domain

    def __str__(self):
        return self.local + "@" + self.domain

    def __repr__(self):
        return "Address(%r)" % str(self)

    def key(self):
        return _ascii_lower(self.local) + "@" + self.domain

    def __eq__(self, other):
        return isinstance(other, Address) and self.key() == other.key()

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.key())


def parse_mailbox(text, fqdn=False, allow_literal=True):
    """RFC 5321 4.1.2 Mailbox (no angle brackets) -> Address.

    Accepts UTF-8 local parts and U-label domains (RFC 6531), converting the
    domain to A-labels. Raises AddressError with a short reason.
    """
    if not isinstance(text, str):
        raise AddressError("address must be text")
    if not text:
        raise AddressError("empty address")
    for c in text:
        if ord(c) < 32 or ord(c) == 127:
            raise AddressError("control character in address")
    if text.startswith("<") or text.endswith(">"):
        raise AddressError("give the bare address, without angle brackets")
    local, domain = split_mailbox(text)
    if not local:
        raise AddressError("empty local part")
    if local.startswith('"'):
        content = _unquote(local)
        local = content if is_dot_string(content) else _quote(content)
    elif not is_dot_string(local):
        if " " in local:
            raise AddressError("space in local part")
        raise AddressError("local part %s is not a valid dot-string" % local)
    if len(local.encode()) > MAX_LOCAL:
        raise AddressError("local part longer than %d octets" % MAX_LOCAL)
    if domain.startswith("[") and domain.endswith("]"):
        if not allow_literal:
            raise AddressError("address literals like %s are not accepted here: use a domain name" % domain)
        return Address(local, _check_literal(domain))
    return Address(local, normalize_domain(domain, fqdn))
