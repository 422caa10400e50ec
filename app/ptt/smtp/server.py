"""ServerConnection: the SMTP server side as a sans-I/O machine (h11 style).

    conn = ServerConnection("mx.example.org", now=t)
    out = conn.send(greeting("mx.example.org"))        # the 220 banner
    conn.receive_data(bytes_from_peer, now=t)           # b"" means EOF
    ev = conn.next_event()        # an Event, or NEED_DATA
    conn.send(reply) -> bytes     # answer Mail, Rcpt, Data, MessageComplete
    conn.data_to_send() -> bytes  # replies the machine made by itself

Mail, Rcpt, Data and MessageComplete wait for the application's answer;
every other event is for information (its reply is already queued). Call
data_to_send() (or send()) and write the bytes before reading again.

Rules (RFC 5321 unless noted): only CRLF ends a line; a bare CR or LF in a
command is refused, in a message body it voids the message (SMTP smuggling).
Only CRLF.CRLF ends DATA. Every leading dot of a body line is removed
(4.5.2). A body over max_message_size is drained to its end, then one 552.
"""
from ptt.smtp import replies as R
from ptt.smtp import state as S
from ptt.smtp.events import (
    NEED_DATA, Ehlo, Helo, Mail, Rcpt, Data, DataChunk, MessageComplete,
    MessageRefused, Rset, Noop, Quit, Vrfy, Help, StartTLS, Rejected,
    ConnectionClosed, LocalProtocolError)
from ptt.smtp.parse import is_ascii
from ptt.smtp.commands import PARSERS as _PARSERS, Refuse as _Refuse

# Known commands we do not offer (RFC 5321 4.2.4: 502, not 500).
_UNIMPLEMENTED = ("EXPN", "TURN", "ETRN", "ATRN", "AUTH", "BDAT", "SEND",
                  "SOML", "SAML")
_NEED_TLS = (Mail, Rcpt, Data, Vrfy)


class ServerConnection:
    def __init__(self, hostname, now=0, tls_available=False, require_tls=False,
                 max_command_line=512,      # RFC 5321 4.5.3.1.4, with CRLF
                 max_text_line=1000,        # RFC 5321 4.5.3.1.6, with CRLF
                 max_recipients=100,        # RFC 5321 4.5.3.1.8 minimum
                 max_bad_commands=25,       # then 421 and close
                 max_idle_commands=25,      # RSET/NOOP/VRFY/HELP per message
                 max_message_size=10485760,  # octets after unstuffing; SIZE
                 idle_timeout=300):         # RFC 5321 4.5.3.2.7: 5 minutes
        self.hostname = hostname
        self.tls_available = tls_available
        self.require_tls = require_tls
        self.max_command_line = max_command_line
        self.max_text_line = max_text_line
        self.max_recipients = max_recipients
        self.max_bad_commands = max_bad_commands
        self.max_idle_commands = max_idle_commands
        self.max_message_size = max_message_size
        self.idle_timeout = idle_timeout
        self.state = S.GREETING
        self.tls_active = False
        self.helo_name = None
        self.esmtp = False
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._out = []
        self._pending = []
        self._awaiting = None
        self._skipping = False
        self._bad = 0
        self._idle = 0
        self._last = now
        self._reset_transaction()

    # --- envelope of the open transaction ---
    def _reset_transaction(self):
        self.reverse_path = None
        self.mail_params = {}
        self.recipients = []
        self.smtputf8 = False
        self._rcpt_count = 0
        self._bol = True
        self._size = 0
        self._data_error = None

    # --- I/O side ---
    def receive_data(self, data, now=None):
        """Feed bytes from the peer; b"" means the peer closed."""
        if self.state == S.TLS_PENDING:
            raise LocalProtocolError("do the TLS handshake and call tls_started() before feeding data")
        if now is not None:
            self._last = now
        if self.state == S.CLOSED:
            return
        if not data:
            self._eof = True
            return
        if self._pos:
            self._buf = self._buf[self._pos:] + data
            self._pos = 0
        else:
            self._buf += data

    def data_to_send(self):
        out = b"".join(self._out)
        self._out = []
        return out

    def _queue(self, reply):
        self._out.append(reply.to_bytes())

    def deadline(self):
        """When the idle timeout fires (same clock as `now`)."""
        return self._last + self.idle_timeout

    def check_timeout(self, now):
        """True (and a 421 queued, state CLOSED) if the peer idled too long."""
        if self.state in (S.CLOSED, S.GREETING) or self.state in S.POSITIVE:
            return False
        if now < self.deadline():
            return False
        self._queue(R.R421_TIMEOUT)
        self.state = S.CLOSED
        return True

    def tls_started(self, now=None):
        """The TLS handshake after StartTLS succeeded: forget everything the
        client said before (RFC 3207 4.2) and wait for a new EHLO."""
        if self.state != S.TLS_PENDING:
            raise LocalProtocolError("tls_started() outside STARTTLS (state %s)" % self.state)
        self.tls_active = True
        self.helo_name = None
        self.esmtp = False
        self._buf = b""
        self._pos = 0
        self._skipping = False
        self._reset_transaction()
        self.state = S.INIT
        if now is not None:
            self._last = now

    def shutdown(self):
        """Queue 421 (service shutting down) and close, in any state."""
        if self.state != S.CLOSED:
            self._queue(R.R421_SHUTTING_DOWN)
            self.state = S.CLOSED
            self._awaiting = None
        return self.data_to_send()

    # --- the application's replies ---
    def send(self, reply):
        """Answer the greeting or the event waiting for a decision; returns
        all bytes to write (earlier automatic replies first)."""
        st = self.state
        positive_codes = S.POSITIVE.get(st)
        if positive_codes is None or (st != S.GREETING and self._awaiting is None) or self._pending:
            raise LocalProtocolError("nothing waits for a reply in state %s" % st)
        positive = reply.code in positive_codes
        if not positive and not (400 <= reply.code < 600):
            raise LocalProtocolError("reply %d does not answer state %s; use %r or 4xx/5xx"
                                     % (reply.code, st, positive_codes))
        ev = self._awaiting
        self._awaiting = None
        nxt = S.CLOSED if reply.code == 421 else S.REPLIES[(st, positive)]
        if st == S.WAIT_MAIL and positive:
            self.reverse_path = ev.reverse_path
            self.mail_params = ev.params
            self.smtputf8 = "SMTPUTF8" in ev.params
        elif st == S.WAIT_RCPT0 or st == S.WAIT_RCPT:
            self._rcpt_count += 1
            if positive:
                self.recipients.append(ev.forward_path)
        elif st == S.WAIT_DATA and positive:
            self._bol = True
            self._size = 0
            self._data_error = None
        elif st == S.WAIT_EOM:
            if positive:
                self._idle = 0
            self._reset_transaction()
        self.state = nxt
        self._queue(reply)
        return self.data_to_send()

    # --- events ---
    def next_event(self):
        if self._pending:
            ev = self._pending.pop(0)
            if type(ev) is MessageComplete:
                self.state = S.WAIT_EOM
                self._awaiting = ev
            return ev
        st = self.state
        if self._awaiting is not None:
            raise LocalProtocolError("answer %r with send(reply) first" % (self._awaiting,))
        if st == S.CLOSED:
            return ConnectionClosed()
        if st == S.GREETING:
            raise LocalProtocolError("send the 220 greeting first")
        if st == S.TLS_PENDING:
            raise LocalProtocolError("do the TLS handshake and call tls_started() first")
        if st == S.DATA:
            ev = self._next_data()
        else:
            ev = self._next_command()
        if ev is NEED_DATA and self._eof:
            self.state = S.CLOSED
            self._reset_transaction()
            return ConnectionClosed()
        return ev

    def _refuse(self, verb, reply, bad=True):
        if bad:
            self._bad += 1
            if self._bad > self.max_bad_commands:
                reply = R.R421_TOO_MANY_ERRORS
                self.state = S.CLOSED
        self._queue(reply)
        return Rejected(verb, reply)

    def _next_command(self):
        buf = self._buf
        pos = self._pos
        i = buf.find(b"\r\n", pos)
        if i < 0:
            if len(buf) - pos >= self.max_command_line:
                # Too long already: drop it, keep a final CR (it may start CRLF).
                self._skipping = True
                self._buf = b"\r" if buf[-1] == 13 else b""
                self._pos = 0
            return NEED_DATA
        line = buf[pos:i]
        self._pos = i + 2
        if self._skipping:
            self._skipping = False
            return self._refuse("", R.R500_LINE_TOO_LONG)
        if i + 2 - pos > self.max_command_line:
            return self._refuse("", R.R500_LINE_TOO_LONG)
        if b"\n" in line or b"\r" in line:
            return self._refuse("", R.R500_BARE_NEWLINE)
        return self._command(line)

    def _command(self, line):
        sp = line.find(b" ")
        word = line if sp < 0 else line[:sp]
        arg = b"" if sp < 0 else line[sp + 1:]
        for c in word:
            if not (65 <= c <= 90 or 97 <= c <= 122):
                return self._refuse("", R.R500_UNRECOGNISED)
        verb = word.decode().upper()
        for c in line:
            if c < 32 or c == 127:
                return self._refuse(verb, R.R500_NOT_ASCII)
        parser = _PARSERS.get(verb)
        if parser is None:
            if verb in _UNIMPLEMENTED:
                return self._refuse(verb, R.R502_NOT_IMPLEMENTED)
            return self._refuse(verb, R.R500_UNRECOGNISED)
        if not (verb == "MAIL" or verb == "RCPT") and not is_ascii(arg):
            return self._refuse(verb, R.R500_NOT_ASCII)
        try:
            ev = parser(arg)
        except _Refuse as e:
            return self._refuse(verb, e.reply)
        t = type(ev)
        st = self.state
        if self.require_tls and not self.tls_active and t in _NEED_TLS:
            return self._refuse(verb, R.R530_STARTTLS_FIRST)
        nxt = S.COMMANDS.get((st, t))
        if nxt is None:
            return self._refuse(verb, S.REFUSALS.get((st, t), R.R503_BAD_SEQUENCE))
        try:
            return _HANDLERS[t](self, ev, nxt)
        except _Refuse as e:
            return self._refuse(verb, e.reply, bad=False)

    # --- handlers: (self, event, next state) -> event ---
    def _on_hello(self, ev, nxt):
        self.helo_name = ev.domain
        self.esmtp = type(ev) is Ehlo
        self._reset_transaction()
        self.state = nxt
        if not self.esmtp:
            self._queue(R.Reply(250, None, "%s hello %s" % (self.hostname, ev.domain)))
            return ev
        lines = ["%s hello %s" % (self.hostname, ev.domain),
                 "SIZE %d" % self.max_message_size,
                 "8BITMIME", "PIPELINING", "ENHANCEDSTATUSCODES", "SMTPUTF8"]
        if self.tls_available and not self.tls_active:
            lines.append("STARTTLS")
        self._queue(R.Reply(250, None, lines))
        return ev

    def _idle_command(self, ev, nxt, reply):
        self._idle += 1
        if self._idle > self.max_idle_commands:
            self.state = S.CLOSED
            self._queue(R.R421_TOO_MANY_RSETS)
            return Rejected(type(ev).__name__.upper(), R.R421_TOO_MANY_RSETS)
        if type(ev) is Rset:
            self._reset_transaction()
        self.state = nxt
        self._queue(reply)
        return ev

    def _on_rset(self, ev, nxt):
        return self._idle_command(ev, nxt, R.R250_RESET)

    def _on_noop(self, ev, nxt):
        return self._idle_command(ev, nxt, R.R250_OK)

    def _on_vrfy(self, ev, nxt):
        return self._idle_command(ev, nxt, R.R252_CANNOT_VRFY)

    def _on_help(self, ev, nxt):
        return self._idle_command(ev, nxt, R.R214_HELP)

    def _on_quit(self, ev, nxt):
        self.state = nxt
        self._reset_transaction()
        self._queue(R.R221_BYE)
        return ev

    def _on_starttls(self, ev, nxt):
        if self.tls_active:
            return self._refuse("STARTTLS", R.R503_TLS_ACTIVE)
        if not self.tls_available:
            raise _Refuse(R.R454_TLS_UNAVAILABLE)
        self._queue(R.R220_TLS_GO)
        # RFC 3207 5: anything pipelined after STARTTLS is plaintext injection.
        self._buf = b""
        self._pos = 0
        self.state = nxt
        return ev

    def _on_mail(self, ev, nxt):
        p = ev.params
        if p and not self.esmtp:
            raise _Refuse(R.R555_PARAMETER)
        for k in p:
            v = p[k]
            if k == "SIZE":
                if v is None or not v.isdigit() or len(v) > 20:
                    raise _Refuse(R.R501_BAD_SIZE)
                if int(v) > self.max_message_size:
                    raise _Refuse(R.R552_TOO_BIG)   # RFC 1870 6.1
            elif k == "BODY":
                if v is None or v.upper() not in ("7BIT", "8BITMIME"):
                    raise _Refuse(R.R501_BAD_BODY)
            elif k == "SMTPUTF8":
                if v is not None:
                    raise _Refuse(R.R501_BAD_SMTPUTF8)
            else:
                raise _Refuse(R.R555_PARAMETER)
        if ev._raw_non_ascii and "SMTPUTF8" not in p:
            raise _Refuse(R.R553_NON_ASCII_ADDRESS)  # RFC 6531 3.6
        del ev._raw_non_ascii
        self.state = nxt
        self._awaiting = ev
        return ev

    def _on_rcpt(self, ev, nxt):
        if ev.params:
            raise _Refuse(R.R555_PARAMETER)
        if ev._raw_non_ascii and not self.smtputf8:
            raise _Refuse(R.R553_NON_ASCII_ADDRESS)
        del ev._raw_non_ascii
        if self._rcpt_count >= self.max_recipients:
            raise _Refuse(R.R452_TOO_MANY_RECIPIENTS)
        self.state = nxt
        self._awaiting = ev
        return ev

    def _on_data(self, ev, nxt):
        self.state = nxt
        self._awaiting = ev
        return ev

    # --- the message body ---
    def _next_data(self):
        buf = self._buf
        pos = self._pos
        n = len(buf)
        if pos >= n:
            return NEED_DATA
        end = -1    # where the line "." of the end marker starts
        if self._bol and buf[pos:pos + 3] == b".\r\n":
            end = pos
        else:
            i = buf.find(b"\r\n.\r\n", pos)
            if i >= 0:
                end = i + 2
        if end >= 0:
            stop = end
        else:
            stop = buf.rfind(b"\n", pos) + 1 or pos   # complete lines only
        chunk = self._data_region(buf[pos:stop]) if stop > pos else b""
        if end >= 0:
            self._pos = end + 3
            self._bol = True
            err = self._data_error
            if err is not None:
                self._reset_transaction()
                self.state = S.READY
                self._queue(err)
                ev = MessageRefused(err)
            else:
                ev = MessageComplete()
            if chunk:
                self._pending.append(ev)
                return DataChunk(chunk)
            self._pending.append(ev)
            return self.next_event()
        self._pos = stop
        if n - stop > self.max_text_line + 1:
            # An endless line: void the message, keep only a final CR (it
            # may be the start of the CRLF.CRLF that ends the data).
            if self._data_error is None:
                self._data_error = R.R554_LINE_TOO_LONG_DATA
            self._buf = b"\r" if buf[-1] == 13 else b""
            self._pos = 0
            self._bol = False
        if chunk:
            return DataChunk(chunk)
        return NEED_DATA

    def _data_region(self, region):
        """Check and unstuff complete lines (region ends with LF)."""
        bol = self._bol
        self._bol = region[-2:] == b"\r\n"
        if self._data_error is not None:
            return b""
        crlf = region.count(b"\r\n")
        if region.count(b"\n") != crlf or region.count(b"\r") != crlf:
            self._data_error = R.R554_BARE_NEWLINE_DATA
            return b""
        limit = self.max_text_line
        if len(region) > limit:
            p = 0
            while True:
                q = region.find(b"\n", p)
                if q < 0:
                    break
                if q - p + 1 > limit and not (q - p == limit and region[p] == 46):
                    self._data_error = R.R554_LINE_TOO_LONG_DATA
                    return b""
                p = q + 1
        chunk = region.replace(b"\r\n.", b"\r\n")
        if bol and chunk[:1] == b".":
            chunk = chunk[1:]
        self._size += len(chunk)
        if self._size > self.max_message_size:
            self._data_error = R.R552_TOO_BIG
            return b""
        return chunk


_HANDLERS = {
    Ehlo: ServerConnection._on_hello,
    Helo: ServerConnection._on_hello,
    Rset: ServerConnection._on_rset,
    Noop: ServerConnection._on_noop,
    Vrfy: ServerConnection._on_vrfy,
    Help: ServerConnection._on_help,
    Quit: ServerConnection._on_quit,
    StartTLS: ServerConnection._on_starttls,
    Mail: ServerConnection._on_mail,
    Rcpt: ServerConnection._on_rcpt,
    Data: ServerConnection._on_data,
}
