"""Tokens in confirmation and moderation addresses (list-confirm-TOKEN@...).

A token is ID + MAC, 15 lowercase base32 characters (RFC 4648 alphabet,
lowercased: safe in a local part whatever case a mailer gives it back in):

- ID: 5 characters (25 bits) from injected random bytes; it names the
  pending request (pending/ID.json), so a token is found without a search.
- MAC: 10 characters, the first 50 bits of
  HMAC-SHA256(secret, "ptt-list-token" NUL list NUL address NUL action NUL
  ID NUL expires), with the per-store secret of store.json.

The MAC binds the token to one list, one address, one action ("confirm",
"approve", "reject") and one expiry, so the approve token of a request
cannot reject it, and a token of one request says nothing about another.
Guessing one takes about 2**49 mails. The envelope sender plays no part:
a forged sender can approve, reject or remove nobody.

15 characters keep the longest address within 64 octets: a list name of
40 characters + "-approve-" (9) + 15 = 64 (RFC 5321 4.5.3.1.1).
"""

from ptt.crypto import hmac

ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
ID_LEN = 5
MAC_LEN = 10
TOKEN_LEN = ID_LEN + MAC_LEN
ACTIONS = ("confirm", "approve", "reject")


def b32(data, n):
    """The first n base32 characters (5 bits each) of `data`, lowercase."""
    v = int.from_bytes(bytes(data), "big")
    bits = len(data) * 8
    out = []
    for i in range(n):
        shift = bits - 5 * (i + 1)
        out.append(ALPHABET[(v >> shift) & 31])
    return "".join(out)


def new_id(randbytes, taken=()):
    """A fresh request ID from injected random bytes, not in `taken`."""
    for _ in range(100):
        i = b32(randbytes(4), ID_LEN)
        if i not in taken:
            return i
    raise ValueError("no free request ID after 100 draws: is the random source broken?")


def is_token(s):
    if len(s) != TOKEN_LEN:
        return False
    for c in s:
        if c not in ALPHABET:
            return False
    return True


def _mac(secret, lst, address, action, rid, expires):
    if action not in ACTIONS:
        raise ValueError("unknown token action %r" % action)
    addr = "".join(c.lower() if ord(c) < 0x80 else c for c in address)
    msg = "\0".join(("ptt-list-token", lst, addr, action, rid, expires))
    return b32(hmac.digest(secret, msg.encode(), "sha256")[:7], MAC_LEN)


def make(secret, doc, action):
    """The token for `action` on the pending request `doc`."""
    return doc["id"] + _mac(secret, doc["list"], doc["address"], action, doc["id"], doc["expires"])


def check(secret, doc, action, token):
    """True if `token` is the token for `action` on `doc` (constant time)."""
    if not is_token(token) or token[:ID_LEN] != doc["id"]:
        return False
    want = make(secret, doc, action).encode()
    return hmac.compare_digest(want, token.encode())
