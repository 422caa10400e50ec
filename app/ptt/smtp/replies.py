"""SMTP replies: the Reply class and named constants.

Every reply carries an RFC 3463 enhanced status code (RFC 2034 exempts only
the 220 greeting, the EHLO/HELO replies and 354) and a text that says what
happened and what to do next. Tests import these same constants.
"""


class Reply:
    """code: int (250); status: "2.0.0" or None; text: str or list of str.

    A list of texts makes a multi-line reply (RFC 5321 4.2.1): every line but
    the last is written "code-", the last "code ".
    """

    def __init__(self, code, status=None, text=""):
        self.code = code
        self.status = status
        if isinstance(text, str):
            text = [text]
        self.lines = list(text)

    @property
    def text(self):
        return "\n".join(self.lines)

    def to_bytes(self):
        code = str(self.code).encode()
        prefix = b""
        if self.status:
            prefix = self.status.encode() + b" "
        out = []
        lines = self.lines or [""]
        last = len(lines) - 1
        for i, line in enumerate(lines):
            body = prefix + line.encode()
            if i < last:
                out.append(code + b"-" + body + b"\r\n")
            elif body:
                out.append(code + b" " + body + b"\r\n")
            else:
                out.append(code + b"\r\n")
        return b"".join(out)

    # Reply classes (RFC 5321 4.2.1).
    def is_positive(self):
        return 200 <= self.code < 300

    def is_intermediate(self):
        return 300 <= self.code < 400

    def is_transient(self):
        return 400 <= self.code < 500

    def is_permanent(self):
        return self.code >= 500

    def __eq__(self, other):
        return (isinstance(other, Reply) and self.code == other.code
                and self.status == other.status and self.lines == other.lines)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __repr__(self):
        return "Reply(%d, %r, %r)" % (self.code, self.status, self.lines)


def greeting(hostname):
    """The 220 banner (RFC 5321 4.3.1; no enhanced code, RFC 2034)."""
    return Reply(220, None, "%s ESMTP ptt ready" % hostname)


# 2xx
R221_BYE = Reply(221, "2.0.0", "closing connection, goodbye")
R220_TLS_GO = Reply(220, "2.0.0", "ready to start TLS: begin the handshake now, then send EHLO again")
R214_HELP = Reply(214, "2.0.0", [
    "commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS",
    "send EHLO, then MAIL FROM:<you@example.org>, RCPT TO:<them@example.net>, DATA (RFC 5321)",
])
R250_OK = Reply(250, "2.0.0", "OK, the connection is alive")
R250_SENDER_OK = Reply(250, "2.1.0", "sender accepted; send RCPT TO next")
R250_RECIPIENT_OK = Reply(250, "2.1.5", "recipient accepted; send more RCPT TO or DATA")
R250_RESET = Reply(250, "2.0.0", "transaction reset; start a new one with MAIL FROM")
R250_QUEUED = Reply(250, "2.0.0", "message accepted and stored")
R252_CANNOT_VRFY = Reply(252, "2.5.0", "cannot verify this user here; send the message and delivery will be attempted")

# 3xx (no enhanced code, RFC 2034 covers 2xx, 4xx and 5xx)
R354_START = Reply(354, None, "start message input; end it with <CRLF>.<CRLF>")

# 4xx
R421_TIMEOUT = Reply(421, "4.4.2", "connection idle for too long; closing it, reconnect to send mail")
R421_TOO_MANY_ERRORS = Reply(421, "4.7.0", "too many bad commands; closing connection. Check the client's SMTP implementation")
R421_TOO_MANY_RSETS = Reply(421, "4.7.0", "too many RSET/NOOP/VRFY/HELP commands without sending mail; closing connection")
R421_SHUTTING_DOWN = Reply(421, "4.3.2", "service shutting down; try again later")
R451_LOCAL_ERROR = Reply(451, "4.3.0", "local error while processing the message; it was not accepted, try again later")
R452_TOO_MANY_RECIPIENTS = Reply(452, "4.5.3", "too many recipients in this transaction; send the others in a new transaction")
R452_STORAGE = Reply(452, "4.3.1", "insufficient system storage; the message was not accepted, try again later")
R454_TLS_UNAVAILABLE = Reply(454, "4.7.0", "TLS not available on this server; continue without STARTTLS")

# 5xx
R500_UNRECOGNISED = Reply(500, "5.5.1", "command not recognised; send HELP for the list of commands")
R500_LINE_TOO_LONG = Reply(500, "5.5.2", "command line too long; RFC 5321 allows 512 octets including CRLF")
R500_BARE_NEWLINE = Reply(500, "5.5.2", "command line holds a bare CR or LF; end every line with CRLF and nothing else")
R500_NOT_ASCII = Reply(500, "5.5.2", "command holds a non-ASCII or control character; send plain ASCII commands")
R501_SYNTAX = Reply(501, "5.5.4", "syntax error in arguments; see RFC 5321 section 4.1 for the command's form")
R501_NO_ARGUMENTS = Reply(501, "5.5.4", "this command takes no arguments; send it alone")
R501_HELLO_ARGUMENT = Reply(501, "5.5.4", "EHLO and HELO need your domain name or address literal, e.g. EHLO mail.example.org")
R501_VRFY_ARGUMENT = Reply(501, "5.5.4", "VRFY needs an argument: a user name or address")
R501_BAD_SENDER = Reply(501, "5.1.7", "bad sender address syntax; use MAIL FROM:<local@domain> or MAIL FROM:<>")
R501_BAD_RECIPIENT = Reply(501, "5.1.3", "bad recipient address syntax; use RCPT TO:<local@domain>")
R501_BAD_SIZE = Reply(501, "5.5.4", "SIZE needs the message size in octets as a decimal number, e.g. SIZE=12345")
R501_BAD_BODY = Reply(501, "5.5.4", "BODY must be 7BIT or 8BITMIME")
R501_BAD_SMTPUTF8 = Reply(501, "5.5.4", "SMTPUTF8 takes no value; send it as a bare keyword")
R502_NOT_IMPLEMENTED = Reply(502, "5.5.1", "command not implemented here; send HELP for the list of commands")
R503_HELLO_FIRST = Reply(503, "5.5.1", "send EHLO or HELO first")
R503_MAIL_FIRST = Reply(503, "5.5.1", "no transaction open; send MAIL FROM first")
R503_NESTED_MAIL = Reply(503, "5.5.1", "a transaction is already open; finish it with DATA or send RSET")
R503_TLS_ACTIVE = Reply(503, "5.5.1", "TLS is already active; continue with EHLO or MAIL FROM")
R503_BAD_SEQUENCE = Reply(503, "5.5.1", "bad sequence of commands; send RSET and start again")
R530_STARTTLS_FIRST = Reply(530, "5.7.0", "must issue a STARTTLS command first; this server accepts mail over TLS only")
R550_NO_SUCH_USER = Reply(550, "5.1.1", "no such mailbox here; check the recipient address")
R550_SENDER_REFUSED = Reply(550, "5.7.1", "sender refused by policy")
R552_TOO_BIG = Reply(552, "5.3.4", "message exceeds the size limit advertised in EHLO SIZE; send a smaller message")
R553_NON_ASCII_ADDRESS = Reply(553, "5.6.7", "non-ASCII address needs the SMTPUTF8 parameter on MAIL FROM")
R554_NO_RECIPIENTS = Reply(554, "5.5.1", "no valid recipients; send RCPT TO and get a 250 reply before DATA")
R554_BARE_NEWLINE_DATA = Reply(554, "5.6.0", "message refused: it holds a bare CR or LF; every line must end with CRLF (fix the sending software)")
R554_LINE_TOO_LONG_DATA = Reply(554, "5.6.0", "message refused: a line is longer than 1000 octets (RFC 5321 4.5.3.1.6); encode long lines (quoted-printable or base64)")
R554_FAILED = Reply(554, "5.0.0", "transaction failed")
R555_PARAMETER = Reply(555, "5.5.4", "parameter not recognised: MAIL takes SIZE, BODY and SMTPUTF8 after EHLO, RCPT takes none")
