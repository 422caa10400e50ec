"""SMTP events (what the peer did) and the protocol errors.

Events are plain classes; equality and repr go over their attributes, so
tests compare them directly. Dispatch with `type(ev) is Mail`.
"""


class Event:
    def __eq__(self, other):
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        items = sorted(self.__dict__.items())
        return "%s(%s)" % (type(self).__name__,
                           ", ".join("%s=%r" % kv for kv in items))


class _Sentinel:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


# next_event() returns this when it needs more bytes from the peer.
NEED_DATA = _Sentinel("NEED_DATA")


# --- commands (server side: what the client sent) ---

class Ehlo(Event):
    def __init__(self, domain):
        self.domain = domain


class Helo(Event):
    def __init__(self, domain):
        self.domain = domain


class Mail(Event):
    """MAIL FROM. reverse_path is "" for the null sender <>.

    params: dict of upper-case keyword -> value (str) or None (no value).
    The application answers with send(reply): 250 opens the transaction.
    """

    def __init__(self, reverse_path, params=None):
        self.reverse_path = reverse_path
        self.params = params or {}


class Rcpt(Event):
    """RCPT TO. The application answers with send(reply): 250 accepts."""

    def __init__(self, forward_path, params=None):
        self.forward_path = forward_path
        self.params = params or {}


class Data(Event):
    """DATA. The application answers with send(reply): 354 starts input."""


class DataChunk(Event):
    """Part of the message body: unstuffed bytes, lines end with CRLF."""

    def __init__(self, data):
        self.data = data


class MessageComplete(Event):
    """The end of data marker arrived. The application stores the message
    (all DataChunk bytes joined), then answers with send(reply): 250 only
    once the message is durably stored."""


class MessageRefused(Event):
    """The body broke a rule (size, bare CR/LF, line length); the machine has
    already answered with `reply`. Throw away the DataChunk bytes seen."""

    def __init__(self, reply):
        self.reply = reply


class Rset(Event):
    pass


class Noop(Event):
    pass


class Quit(Event):
    pass


class Vrfy(Event):
    def __init__(self, argument):
        self.argument = argument


class Help(Event):
    def __init__(self, argument=""):
        self.argument = argument


class StartTLS(Event):
    """The machine has answered 220; flush data_to_send(), do the TLS
    handshake, then call tls_started(). Bytes buffered after the command were
    discarded (RFC 3207 section 5, STARTTLS command injection)."""


class Rejected(Event):
    """A command the machine refused itself; `reply` is already queued."""

    def __init__(self, verb, reply):
        self.verb = verb
        self.reply = reply


class ConnectionClosed(Event):
    """Flush data_to_send() and close. Any message in progress is void."""


# --- errors ---

class ProtocolError(Exception):
    def __init__(self, msg, reply=None):
        super().__init__(msg)
        self.reply = reply


class LocalProtocolError(ProtocolError):
    """We (the caller of the machine) broke the protocol: a bug."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol."""
