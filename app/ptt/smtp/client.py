"""ClientConnection: the SMTP client side as a sans-I/O machine.

    c = ClientConnection("list.example.org", [Transaction(sender, rcpts, msg)],
                         tls_available=True)
    write(c.data_to_send()); c.receive_data(read())   # b"" on EOF
    ev = c.next_event()   # NEED_DATA, StartTLS, TransactionDone, ConnectionClosed

On StartTLS: write data_to_send(), do the TLS handshake, call tls_started().
TransactionDone carries one RecipientResult per recipient: DELIVERED,
TEMPORARY (4xx, connection trouble) or PERMANENT (5xx), with the reply.
The machine sends EHLO (HELO if refused), STARTTLS when offered, then per
transaction RSET (between transactions), MAIL FROM (SIZE=, BODY=8BITMIME,
SMTPUTF8 as needed), RCPT TO (pipelined when offered), DATA, the dot-stuffed
body, and QUIT when its queue is empty.
"""
from ptt.smtp.events import Event, NEED_DATA, ConnectionClosed, StartTLS, LocalProtocolError
from ptt.smtp.replies import Reply
from ptt.smtp.parse import parse_reply_line, split_status, safe_text, SyntaxError_

DELIVERED = "delivered"
TEMPORARY = "temporary"
PERMANENT = "permanent"

# client states
GREETING = "GREETING"
HELLO = "HELLO"
STARTTLS_SENT = "STARTTLS_SENT"
TLS_PENDING = "TLS_PENDING"
SESSION = "SESSION"
QUIT_SENT = "QUIT_SENT"
CLOSED = "CLOSED"

MAX_REPLY_LINE = 2048     # RFC 5321 says 512; be liberal in what we accept
MAX_REPLY_LINES = 200


def _local(code, status, text):
    return Reply(code, status, text)


LOST = _local(421, "4.4.2", "connection to the remote server lost before the transaction finished; retry later")
GARBLED = _local(421, "4.5.0", "remote server sent a malformed reply; retry later")
NO_TLS = _local(421, "4.7.0", "remote server does not offer STARTTLS and TLS is required; retry later")
NEED_SMTPUTF8 = _local(553, "5.6.7", "an address is not ASCII and the remote server lacks SMTPUTF8 (RFC 6531); the message cannot be sent there")
NEED_8BITMIME = _local(554, "5.6.3", "the message has 8-bit data and the remote server lacks 8BITMIME; convert it to 7-bit (base64 or quoted-printable)")
TOO_BIG = _local(552, "5.3.4", "the message is larger than the remote server's SIZE limit")


class Transaction:
    """reverse_path: str ("" for <>); recipients: list of str; data: the
    message bytes (lines end with CRLF; bare CR/LF are converted)."""

    def __init__(self, reverse_path, recipients, data):
        self.reverse_path = reverse_path
        self.recipients = list(recipients)
        self.data = data


class RecipientResult(Event):
    def __init__(self, recipient, status, reply):
        self.recipient = recipient
        self.status = status
        self.reply = reply


class TransactionDone(Event):
    def __init__(self, transaction, results):
        self.transaction = transaction
        self.results = results


def classify(reply):
    if reply.code >= 500:
        return PERMANENT
    return TEMPORARY


def normalise_crlf(data):
    """Make every line end in CRLF (no bare CR or LF may go on the wire)."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    data = data.replace(b"\n", b"\r\n")
    if data and data[-2:] != b"\r\n":
        data += b"\r\n"
    return data


def dot_stuff(data):
    """RFC 5321 4.5.2: double a leading dot on every line; add the end mark."""
    out = data.replace(b"\r\n.", b"\r\n..")
    if out[:1] == b".":
        out = b"." + out
    return out + b".\r\n"


def _non_ascii_bytes(data):
    return bool(data) and max(data) > 127


# A list post goes to thousands of recipients as the same bytes object, one
# transaction each (VERP): prepare it once, not per transaction (on
# MicroPython that was a third of the CPU time of a 10,000-recipient
# fan-out, mostly from the garbage it made).
_prepared = [None, None]


def _prepare(data):
    """(CRLF-normalised length, needs 8BITMIME, dot-stuffed bytes)."""
    if _prepared[0] is not data:
        norm = normalise_crlf(data)
        _prepared[1] = (len(norm), _non_ascii_bytes(norm), dot_stuff(norm))
        _prepared[0] = data
    return _prepared[1]


def _non_ascii_str(s):
    for ch in s:
        if ord(ch) > 127:
            return True
    return False


def _path(s):
    return b"<" + s.encode() + b">"


class ClientConnection:
    def __init__(self, local_hostname, transactions=(), tls_available=False,
                 require_tls=False):
        self.local_hostname = local_hostname
        self.tls_available = tls_available
        self.require_tls = require_tls
        self.tls_active = False
        self.state = GREETING
        self.capabilities = {}    # upper-case keyword -> rest of the line (str)
        self.esmtp = False
        self.greeting = None
        self.session_error = None  # the reply that ended the session early
        self._queue = list(transactions)
        self._done = 0
        self._buf = b""
        self._lines = []
        self._out = []
        self._events = []
        self._expect = []         # tags of commands awaiting replies, in order
        self._todo = []           # (tag, bytes) not yet sent (no PIPELINING)
        self._txn = None
        self._eof = False

    # --- I/O side ---
    def add(self, transaction):
        if self.state in (QUIT_SENT, CLOSED):
            raise LocalProtocolError("the session is over; open a new connection")
        self._queue.append(transaction)
        if self.state == SESSION and self._txn is None and not self._expect:
            self._start_next()

    def receive_data(self, data):
        if self.state == TLS_PENDING:
            raise LocalProtocolError("finish the TLS handshake and call tls_started() first")
        if not data:
            self._eof = True
        else:
            self._buf += data

    def data_to_send(self):
        out = b"".join(self._out)
        self._out = []
        return out

    def _send(self, tag, line):
        self._out.append(line)
        self._expect.append(tag)

    def tls_started(self):
        if self.state != TLS_PENDING:
            raise LocalProtocolError("tls_started() outside STARTTLS (state %s)" % self.state)
        self.tls_active = True
        self.capabilities = {}
        self.esmtp = False
        self.state = HELLO
        self._send(("EHLO",), b"EHLO " + self.local_hostname.encode() + b"\r\n")

    def fail(self, reply=None):
        """The connection broke (error, timeout): every unfinished recipient
        becomes TEMPORARY with `reply` (default: connection lost)."""
        self._abort(reply or LOST)

    def next_event(self):
        while True:
            if self._events:
                return self._events.pop(0)
            if self.state == CLOSED:
                return ConnectionClosed()
            if self.state == TLS_PENDING:
                raise LocalProtocolError("do the TLS handshake and call tls_started() first")
            reply = self._next_reply()
            if reply is None:
                if self._events or self.state == CLOSED:
                    continue
                if self._eof:
                    if self.state == QUIT_SENT:
                        self.state = CLOSED
                    else:
                        self._abort(LOST)
                    continue
                return NEED_DATA
            self._on_reply(reply)

    # --- reply parsing ---
    def _next_reply(self):
        while True:
            i = self._buf.find(b"\n")
            if i < 0:
                if len(self._buf) > MAX_REPLY_LINE:
                    self._buf = b""
                    self._abort(GARBLED)
                return None
            line = self._buf[:i]
            self._buf = self._buf[i + 1:]
            if line[-1:] == b"\r":
                line = line[:-1]
            try:
                code, last, text = parse_reply_line(line)
            except SyntaxError_:
                self._abort(GARBLED)
                return None
            if self._lines and self._lines[0][0] != code:
                self._abort(GARBLED)
                return None
            self._lines.append((code, text))
            if len(self._lines) > MAX_REPLY_LINES:
                self._abort(GARBLED)
                return None
            if last:
                lines = self._lines
                self._lines = []
                status, first = split_status(code, lines[0][1])
                texts = [safe_text(first)]
                for _, t in lines[1:]:
                    if status is not None:
                        s2, t = split_status(code, t)
                    texts.append(safe_text(t))
                return Reply(code, status, texts)

    # --- session ---
    def _on_reply(self, reply):
        if self.state == GREETING:
            self.greeting = reply
            if reply.code != 220:
                self._abort(reply, quit=reply.code != 421)
                return
            self.state = HELLO
            self._send(("EHLO",), b"EHLO " + self.local_hostname.encode() + b"\r\n")
            return
        if not self._expect:
            self._abort(GARBLED)   # a reply nobody asked for
            return
        tag = self._expect.pop(0)
        if reply.code == 421 and tag[0] != "QUIT":
            self._abort(reply, quit=False)   # RFC 5321 3.8: the server is closing
            return
        getattr(self, "_r_" + tag[0])(reply, tag)
        if self.state == SESSION and not self._expect and self._todo:
            tag, line = self._todo.pop(0)
            self._send(tag, line)

    def _r_EHLO(self, reply, tag):
        if reply.code >= 500:
            self._send(("HELO",), b"HELO " + self.local_hostname.encode() + b"\r\n")
            return
        if reply.code != 250:
            self._abort(reply, quit=True)
            return
        self.esmtp = True
        caps = {}
        for line in reply.lines[1:]:
            word, _, rest = line.partition(" ")
            caps[word.upper()] = rest
        self.capabilities = caps
        if self.tls_available and not self.tls_active and "STARTTLS" in caps:
            self.state = STARTTLS_SENT
            self._send(("STARTTLS",), b"STARTTLS\r\n")
            return
        self._ready()

    def _r_HELO(self, reply, tag):
        if reply.code != 250:
            self._abort(reply, quit=True)
            return
        self.capabilities = {}
        self._ready()

    def _r_STARTTLS(self, reply, tag):
        if reply.code == 220:
            self._buf = b""        # anything already read is pre-TLS injection
            self.state = TLS_PENDING
            self._events.append(StartTLS())
            return
        self._ready()

    def _ready(self):
        if self.require_tls and not self.tls_active:
            self._abort(NO_TLS, quit=True)
            return
        self.state = SESSION
        self._start_next()

    def _r_QUIT(self, reply, tag):
        self.state = CLOSED

    def _r_RSET(self, reply, tag):
        pass

    # --- transactions ---
    def _start_next(self):
        while self._queue:
            txn = self._queue.pop(0)
            size, eight, stuffed = _prepare(txn.data)
            caps = self.capabilities
            utf8_addr = _non_ascii_str(txn.reverse_path) or any(_non_ascii_str(r) for r in txn.recipients)
            params = b""
            fail = None
            if "SIZE" in caps:
                limit = caps["SIZE"]
                if limit.isdigit() and int(limit) and size > int(limit):
                    fail = TOO_BIG
                params += b" SIZE=" + str(size).encode()
            if eight:
                if "8BITMIME" in caps:
                    params += b" BODY=8BITMIME"
                else:
                    fail = fail or NEED_8BITMIME
            if "SMTPUTF8" in caps and (utf8_addr or eight):
                params += b" SMTPUTF8"
            elif utf8_addr:
                fail = NEED_SMTPUTF8
            if fail is not None:
                self._finish(txn, [RecipientResult(r, classify(fail), fail) for r in txn.recipients])
                continue
            self._txn = {"txn": txn, "data": stuffed, "mail": None, "rcpt": {},
                         "data_reply": None, "accepted": []}
            cmds = []
            if self._done:
                cmds.append((("RSET",), b"RSET\r\n"))
            cmds.append((("MAIL",), b"MAIL FROM:" + _path(txn.reverse_path) + params + b"\r\n"))
            for r in txn.recipients:
                cmds.append((("RCPT", r), b"RCPT TO:" + _path(r) + b"\r\n"))
            cmds.append((("DATA",), b"DATA\r\n"))
            if "PIPELINING" in caps:
                for tag, line in cmds:
                    self._send(tag, line)
            else:
                tag, line = cmds[0]
                self._send(tag, line)
                self._todo = cmds[1:]
            return
        self.state = QUIT_SENT
        self._send(("QUIT",), b"QUIT\r\n")

    def _r_MAIL(self, reply, tag):
        t = self._txn
        t["mail"] = reply
        if reply.code != 250 and self._todo:
            self._todo = []        # not pipelined: send nothing more
            self._finish_current()

    def _r_RCPT(self, reply, tag):
        t = self._txn
        t["rcpt"][tag[1]] = reply
        if reply.code in (250, 251):
            t["accepted"].append(tag[1])
        if self._todo and self._todo[0][0][0] == "DATA" and not t["accepted"]:
            self._todo = []        # not pipelined and nobody accepted: no DATA
            self._finish_current()

    def _r_DATA(self, reply, tag):
        t = self._txn
        t["data_reply"] = reply
        if reply.code != 354:
            self._finish_current()
            return
        if t["mail"].code == 250 and t["accepted"]:
            self._send(("DOT",), t["data"])
        else:
            # RFC 2920 3.1: all RCPTs failed but the server said 354: send an
            # empty message; its reply does not count.
            self._send(("DOT",), b".\r\n")

    def _r_DOT(self, reply, tag):
        self._finish_current(reply)

    def _finish_current(self, final=None):
        t = self._txn
        self._txn = None
        txn = t["txn"]
        results = []
        for r in txn.recipients:
            if t["mail"] is not None and t["mail"].code != 250:
                rep = t["mail"]
            elif r not in t["accepted"]:
                rep = t["rcpt"].get(r) or t["mail"] or LOST
            elif t["data_reply"] is not None and t["data_reply"].code != 354:
                rep = t["data_reply"]
            elif final is None:
                rep = LOST
            else:
                rep = final
            if rep.code // 100 == 2 and rep is final:
                results.append(RecipientResult(r, DELIVERED, rep))
            else:
                status = classify(rep) if rep.code >= 400 else TEMPORARY
                results.append(RecipientResult(r, status, rep))
        self._finish(txn, results)
        if not self._expect and not self._todo:
            self._start_next()

    def _finish(self, txn, results):
        self._done += 1
        self._events.append(TransactionDone(txn, results))

    def _abort(self, reply, quit=False):
        """End the session: the open and the queued transactions all become
        TEMPORARY with `reply` (another MX or a later retry may work)."""
        if self.state == CLOSED:
            return
        self.session_error = reply
        pending = []
        if self._txn is not None:
            t = self._txn
            self._txn = None
            rs = []
            for r in t["txn"].recipients:
                rep = t["rcpt"].get(r)
                if rep is not None and rep.code not in (250, 251):
                    rs.append(RecipientResult(r, classify(rep), rep))
                else:
                    rs.append(RecipientResult(r, TEMPORARY, reply))
            self._finish(t["txn"], rs)
        pending = self._queue
        self._queue = []
        for txn in pending:
            self._finish(txn, [RecipientResult(r, TEMPORARY, reply) for r in txn.recipients])
        self._todo = []
        self._expect = []
        if quit and not self._eof:
            self.state = QUIT_SENT
            self._send(("QUIT",), b"QUIT\r\n")
        else:
            self.state = CLOSED
