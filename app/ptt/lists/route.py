"""Which of our addresses a recipient is, and VERP return addresses.

Per list NAME at the store's DOMAIN (docs/lists.md has the user's view):

    NAME@                  post to the list
    NAME-subscribe@        ask to subscribe (answered with a confirmation)
    NAME-unsubscribe@      ask to unsubscribe (answered with a confirmation)
    NAME-subscribers@      ask for the member roster (members, moderators)
    NAME-help@             ask how the list works
    NAME-owner@            reach the moderators (forwarded to them)
    NAME-remove@           a moderator asks to remove the member named in
                           the Subject (answered with a confirmation)
    NAME-bounces@          envelope sender of the list's own mails: dropped
    NAME-return-C-L=D@     VERP: post C to subscriber L@D bounced
    NAME-confirm-TOKEN@    confirm a pending request (tokens.py)
    NAME-approve-TOKEN@    a moderator approves a request or a held post
    NAME-reject-TOKEN@     a moderator rejects it

Names may contain '-'; ptt.store.schema.route_local_part picks the longest
list name, and names never hold a command word after their first '-'.
"""

from ptt.mail.address import AddressError, parse_mailbox, split_mailbox, normalize_domain
from ptt.store.schema import route_local_part
from ptt.lists import tokens

POST = "post"
SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
SUBSCRIBERS = "subscribers"
HELP = "help"
OWNER = "owner"
REMOVE = "remove"
BOUNCES = "bounces"
RETURN = "return"
CONFIRM = "confirm"
APPROVE = "approve"
REJECT = "reject"

_PLAIN = (SUBSCRIBE, UNSUBSCRIBE, SUBSCRIBERS, HELP, OWNER, REMOVE, BOUNCES)
_TOKENED = (CONFIRM, APPROVE, REJECT)


class Route:
    """A recipient we answer: list name, kind (one of the names above), and
    for RETURN the bounced post's counter and the subscriber's address, for
    CONFIRM/APPROVE/REJECT the token."""

    __slots__ = ("name", "kind", "counter", "address", "token")

    def __init__(self, name, kind, counter=None, address=None, token=None):
        self.name = name
        self.kind = kind
        self.counter = counter
        self.address = address
        self.token = token

    def __repr__(self):
        return "Route(%r, %r, %r, %r, %r)" % (self.name, self.kind, self.counter,
                                              self.address, self.token)


def verp_encode(address):
    """local@domain -> local=domain (the reference's encode_verp)."""
    a = str(address)
    at = a.rfind("@")
    return a[:at] + "=" + a[at + 1:]


def verp_decode(text):
    """local=domain -> Address, splitting on the last '='; None if invalid."""
    eq = text.rfind("=")
    if eq < 1 or eq == len(text) - 1:
        return None
    try:
        return parse_mailbox(text[:eq] + "@" + text[eq + 1:])
    except AddressError:
        return None


def return_path(name, domain, counter, address):
    """VERP envelope sender for post `counter` to `address`.

    A quoted local part cannot be carried inside another local part; such
    members get NAME-bounces@ instead (their bounces are not counted).
    """
    local = str(address)[:str(address).rfind("@")]
    if local.startswith('"'):
        return "%s-bounces@%s" % (name, domain)
    return "%s-return-%d-%s@%s" % (name, counter, verp_encode(address), domain)


def classify_local(local, names):
    """A local part at our domain -> Route, or None if we do not answer it."""
    r = route_local_part(local, names)
    if r is None:
        return None
    name, rest = r
    if rest == "":
        return Route(name, POST)
    if rest in _PLAIN:
        return Route(name, rest)
    word, _, arg = rest.partition("-")
    if word in _TOKENED and tokens.is_token(arg):
        return Route(name, word, token=arg)
    if word == RETURN:
        num, _, verp = arg.partition("-")
        if num and num.isdigit() and len(num) < 19:
            a = verp_decode(verp)
            if a is not None:
                return Route(name, RETURN, counter=int(num), address=a)
    return None


def classify(recipient, domain, names):
    """A recipient address (text, no angle brackets) -> Route or None.

    `domain` is the store's list domain (stored form); `names` the list
    names. None means "not ours": the SMTP server answers 550 5.1.1.
    """
    try:
        local, dom = split_mailbox(recipient)
        if normalize_domain(dom) != domain:
            return None
    except (AddressError, ValueError):
        return None
    if local.startswith('"'):
        return None
    return classify_local(local, names)


def accepts(recipient, domain, names):
    """RCPT-time check: True if we answer this address (else 550 5.1.1)."""
    return classify(recipient, domain, names) is not None


def address(name, domain, kind=POST, token=None):
    """One of a list's addresses as text."""
    if kind == POST:
        return "%s@%s" % (name, domain)
    if token is not None:
        return "%s-%s-%s@%s" % (name, kind, token, domain)
    return "%s-%s@%s" % (name, kind, domain)
