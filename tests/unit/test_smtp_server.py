"""ServerConnection transcripts: (client bytes, expected server bytes) tables,
each fed whole, in 7-byte chunks and byte by byte. Runs on CPython and
MicroPython (tests/mpy/run.py)."""
import unittest

from ptt.smtp import replies as R
from ptt.smtp import state as S
from ptt.smtp.events import (
    NEED_DATA, Ehlo, Mail, Rcpt, Data, DataChunk, MessageComplete,
    MessageRefused, StartTLS, ConnectionClosed, Rejected, Noop,
    LocalProtocolError)
from ptt.smtp.server import ServerConnection

HOST = "mx.test"
EOF_ = None   # a step whose client bytes are EOF_ closes the connection
GREETING = b"220 mx.test ESMTP ptt ready\r\n"


def ehlo_bytes(tls=False, size=10485760):
    lines = ["mx.test hello client.test", "SIZE %d" % size, "8BITMIME",
             "PIPELINING", "ENHANCEDSTATUSCODES", "SMTPUTF8"]
    if tls:
        lines.append("STARTTLS")
    return R.Reply(250, None, lines).to_bytes()


EHLO = b"EHLO client.test\r\n"
OK_SENDER = R.R250_SENDER_OK.to_bytes()
OK_RCPT = R.R250_RECIPIENT_OK.to_bytes()
GO = R.R354_START.to_bytes()
QUEUED = R.R250_QUEUED.to_bytes()
BYE = R.R221_BYE.to_bytes()


class App:
    """Test policy: senders containing 'reject' and recipients 'nobody@...'
    are refused; messages are kept in order."""

    def __init__(self):
        self.messages = []
        self.envelopes = []
        self.events = []
        self._chunks = []

    def answer(self, conn, ev):
        t = type(ev)
        if t is Mail:
            if "reject" in ev.reverse_path:
                return R.R550_SENDER_REFUSED
            return R.R250_SENDER_OK
        if t is Rcpt:
            if ev.forward_path.startswith("nobody@"):
                return R.R550_NO_SUCH_USER
            return R.R250_RECIPIENT_OK
        if t is Data:
            return R.R354_START
        if t is MessageComplete:
            self.messages.append(b"".join(self._chunks))
            self.envelopes.append((conn.reverse_path, list(conn.recipients)))
            self._chunks = []
            return R.R250_QUEUED
        return None

    def pump(self, conn, got):
        """Run events until NEED_DATA/close; True if STARTTLS happened."""
        while True:
            ev = conn.next_event()
            if ev is NEED_DATA:
                out = conn.data_to_send()
                if out:
                    got.append(out)
                return False
            self.events.append(ev)
            t = type(ev)
            if t is ConnectionClosed:
                got.append(conn.data_to_send())
                return False
            if t is DataChunk:
                self._chunks.append(ev.data)
            elif t is MessageRefused:
                self._chunks = []
            elif t is StartTLS:
                got.append(conn.data_to_send())
                conn.tls_started()
                return True
            reply = self.answer(conn, ev)
            if reply is not None:
                got.append(conn.send(reply))


def run(steps, chunk=None, **kw):
    conn = ServerConnection(HOST, **kw)
    app = App()
    greeting = conn.send(R.greeting(HOST))
    outputs = []
    for client, _ in steps:
        got = []
        if client is EOF_:
            conn.receive_data(b"")
            app.pump(conn, got)
            outputs.append(b"".join(got))
            continue
        step = chunk or len(client) or 1
        for i in range(0, len(client), step):
            piece = client[i:i + step]
            if conn.state == S.CLOSED:
                break
            conn.receive_data(piece)
            if app.pump(conn, got):
                break   # the rest of the step was pipelined after STARTTLS
        outputs.append(b"".join(got))
    return greeting, outputs, conn, app


class Transcripts(unittest.TestCase):
    def check(self, steps, **kw):
        """Run the steps whole, in 7-byte chunks and byte by byte; every mode
        must give the expected bytes and store the same messages."""
        first = None
        for chunk in (None, 7, 1):
            greeting, outputs, conn, app = run(steps, chunk, **kw)
            self.assertEqual(greeting, GREETING)
            for i in range(len(steps)):
                self.assertEqual(outputs[i], steps[i][1],
                                 "step %d, chunk %r: %r" % (i, chunk, steps[i][0]))
            if first is None:
                first = app
            else:
                self.assertEqual(app.messages, first.messages)
                self.assertEqual(app.envelopes, first.envelopes)
        return conn, first


class TestBasics(Transcripts):
    def test_exact_session(self):
        conn, app = self.check([
            (b"EHLO client.test\r\n",
             b"250-mx.test hello client.test\r\n250-SIZE 10485760\r\n"
             b"250-8BITMIME\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
             b"250 SMTPUTF8\r\n"),
            (b"MAIL FROM:<a@example.org>\r\n",
             b"250 2.1.0 sender accepted; send RCPT TO next\r\n"),
            (b"RCPT TO:<b@example.net>\r\n",
             b"250 2.1.5 recipient accepted; send more RCPT TO or DATA\r\n"),
            (b"DATA\r\n", b"354 start message input; end it with <CRLF>.<CRLF>\r\n"),
            (b"Subject: hi\r\n\r\nhello\r\n.\r\n",
             b"250 2.0.0 message accepted and stored\r\n"),
            (b"QUIT\r\n", b"221 2.0.0 closing connection, goodbye\r\n"),
        ])
        self.assertEqual(app.messages, [b"Subject: hi\r\n\r\nhello\r\n"])
        self.assertEqual(app.envelopes, [("a@example.org", ["b@example.net"])])
        self.assertEqual(conn.state, S.CLOSED)
        self.assertEqual(conn.next_event(), ConnectionClosed())

    def test_helo_session_has_no_extensions(self):
        conn, app = self.check([
            (b"HELO client.test\r\n", b"250 mx.test hello client.test\r\n"),
            (b"MAIL FROM:<a@example.org> SIZE=10\r\n", R.R555_PARAMETER.to_bytes()),
            (b"MAIL FROM:<a@example.org>\r\n", OK_SENDER),
        ])

    def test_pipelining(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
             b"RCPT TO:<nobody@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n",
             OK_SENDER + OK_RCPT + R.R550_NO_SUCH_USER.to_bytes() + OK_RCPT + GO),
            (b"x\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n",
             QUEUED + OK_SENDER + OK_RCPT + GO),
            (b"y\r\n.\r\nQUIT\r\n", QUEUED + BYE),
        ])
        self.assertEqual(app.messages, [b"x\r\n", b"y\r\n"])
        self.assertEqual(app.envelopes, [
            ("a@example.org", ["b@example.net", "c@example.net"]),
            ("", ["d@example.net"])])

    def test_several_transactions_and_rset(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@example.org>\r\n", OK_SENDER),
            (b"RSET\r\n", R.R250_RESET.to_bytes()),
            (b"RCPT TO:<b@example.net>\r\n", R.R503_MAIL_FIRST.to_bytes()),
            (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n1\r\n.\r\n",
             OK_SENDER + OK_RCPT + GO + QUEUED),
            (b"MAIL FROM:<c@example.org>\r\nRCPT TO:<d@example.net>\r\nDATA\r\n2\r\n.\r\n",
             OK_SENDER + OK_RCPT + GO + QUEUED),
        ])
        self.assertEqual(app.messages, [b"1\r\n", b"2\r\n"])
        self.assertEqual(app.envelopes[1], ("c@example.org", ["d@example.net"]))

    def test_noop_vrfy_help(self):
        self.check([
            (b"NOOP\r\n", R.R250_OK.to_bytes()),
            (b"NOOP anything\r\n", R.R250_OK.to_bytes()),
            (b"VRFY someone\r\n", R.R252_CANNOT_VRFY.to_bytes()),
            (b"VRFY\r\n", R.R501_VRFY_ARGUMENT.to_bytes()),
            (b"HELP\r\n", R.R214_HELP.to_bytes()),
            (b"help mail\r\n", R.R214_HELP.to_bytes()),
        ])

    def test_case_insensitive_verbs_and_space_after_colon(self):
        conn, app = self.check([
            (b"ehlo client.test\r\n", ehlo_bytes()),
            (b"mail from: <a@example.org>\r\n", OK_SENDER),
            (b"rcpt To:<b@example.net>\r\n", OK_RCPT),
        ])
        self.assertEqual(conn.reverse_path, "a@example.org")

    def test_null_sender(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<>\r\n", OK_SENDER),
            (b"RCPT TO:<b@example.net>\r\nDATA\r\nbounce\r\n.\r\n", OK_RCPT + GO + QUEUED),
        ])
        self.assertEqual(app.envelopes, [("", ["b@example.net"])])
        self.assertIn(Mail("", {}), app.events)

    def test_null_recipient_refused(self):
        self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<>\r\n", OK_SENDER),
            (b"RCPT TO:<>\r\n", R.R501_BAD_RECIPIENT.to_bytes()),
        ])

    def test_postmaster_and_address_literal(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@[192.0.2.1]>\r\n", OK_SENDER),
            (b"RCPT TO:<Postmaster>\r\n", OK_RCPT),
            (b"RCPT TO:<@relay.example,@r2.example:c@example.net>\r\n", OK_RCPT),
            (b"RCPT TO:<\"quoted local\"@example.net>\r\n", OK_RCPT),
        ])
        self.assertEqual(conn.recipients, ["Postmaster", "c@example.net", "\"quoted local\"@example.net"])

    def test_verp_return_path_longer_than_64_octets(self):
        # RFC 5321 4.5.3.1 allows it; list bounces arrive at such addresses.
        verp = b"python-dev-return-1234-alice.long.name=mail.example.org@lists.example.org"
        self.check([(EHLO, ehlo_bytes()),
                    (b"MAIL FROM:<>\r\n", OK_SENDER),
                    (b"RCPT TO:<" + verp + b">\r\n", OK_RCPT)])

    def test_bad_paths(self):
        bad_from = R.R501_BAD_SENDER.to_bytes()
        bad_to = R.R501_BAD_RECIPIENT.to_bytes()
        steps = [(EHLO, ehlo_bytes())]
        for p in (b"a@example.org", b"<a@example.org", b"<a>", b"<@example.org>",
                  b"<a@>", b"<a..b@example.org>", b"<.a@example.org>",
                  b"<a.@example.org>", b"<a@-example.org>", b"<a@example..org>",
                  b"<a b@example.org>", b"<a@[300.1.1.1]>", b"<a@exa_mple.org>",
                  b"<" + b"x" * 250 + b"@example.org>"):
            steps.append((b"MAIL FROM:" + p + b"\r\n", bad_from))
        steps.append((b"MAIL FROM:<a@example.org>\r\n", OK_SENDER))
        for p in (b"<b@example.net", b"b@example.net", b"<b@@example.net>", b"<postmaster@>"):
            steps.append((b"RCPT TO:" + p + b"\r\n", bad_to))
        steps.append((b"MAIL TO:<a@example.org>\r\n", R.R501_SYNTAX.to_bytes()))
        self.check(steps)

    def test_parameters(self):
        self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n", R.R501_BAD_BODY.to_bytes()),
            (b"MAIL FROM:<a@example.org> SIZE=12k\r\n", R.R501_BAD_SIZE.to_bytes()),
            (b"MAIL FROM:<a@example.org> SMTPUTF8=yes\r\n", R.R501_BAD_SMTPUTF8.to_bytes()),
            (b"MAIL FROM:<a@example.org> AUTH=<>\r\n", R.R555_PARAMETER.to_bytes()),
            (b"MAIL FROM:<a@example.org>  SIZE=1\r\n", R.R501_SYNTAX.to_bytes()),
            (b"MAIL FROM:<a@example.org> SIZE=100 BODY=8bitmime SMTPUTF8\r\n", OK_SENDER),
            (b"RCPT TO:<b@example.net> NOTIFY=NEVER\r\n", R.R555_PARAMETER.to_bytes()),
        ])
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@example.org> SIZE=100 BODY=8BITMIME\r\n", OK_SENDER)])
        self.assertEqual(conn.mail_params, {"SIZE": "100", "BODY": "8BITMIME"})

    def test_smtputf8(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            ("MAIL FROM:<jöran@exämple.org>\r\n".encode(), R.R553_NON_ASCII_ADDRESS.to_bytes()),
            (b"MAIL FROM:<a@example.org>\r\n", OK_SENDER),
            ("RCPT TO:<jöran@example.net>\r\n".encode(), R.R553_NON_ASCII_ADDRESS.to_bytes()),
            (b"RSET\r\n", R.R250_RESET.to_bytes()),
            ("MAIL FROM:<jöran@exämple.org> SMTPUTF8\r\n".encode(), OK_SENDER),
            ("RCPT TO:<ök@example.net>\r\n".encode(), OK_RCPT),
            (b"RCPT TO:<bad\xff@example.net>\r\n", R.R501_BAD_RECIPIENT.to_bytes()),
        ])
        self.assertEqual(conn.reverse_path, "jöran@exämple.org")
        self.assertEqual(conn.recipients, ["ök@example.net"])
        self.assertTrue(conn.smtputf8)

    def test_non_ascii_in_other_commands(self):
        self.check([
            (b"EHLO caf\xc3\xa9\r\n", R.R500_NOT_ASCII.to_bytes()),
            (b"NOOP \x00\r\n", R.R500_NOT_ASCII.to_bytes()),
            (b"NO\tOP\r\n", R.R500_UNRECOGNISED.to_bytes()),
        ])


class TestSequence(Transcripts):
    def test_out_of_sequence(self):
        self.check([
            (b"MAIL FROM:<a@example.org>\r\n", R.R503_HELLO_FIRST.to_bytes()),
            (b"DATA\r\n", R.R503_HELLO_FIRST.to_bytes()),
            (EHLO, ehlo_bytes()),
            (b"DATA\r\n", R.R503_MAIL_FIRST.to_bytes()),
            (b"MAIL FROM:<a@example.org>\r\n", OK_SENDER),
            (b"MAIL FROM:<a@example.org>\r\n", R.R503_NESTED_MAIL.to_bytes()),
            (b"DATA\r\n", R.R554_NO_RECIPIENTS.to_bytes()),
            (b"RCPT TO:<nobody@example.net>\r\n", R.R550_NO_SUCH_USER.to_bytes()),
            (b"DATA\r\n", R.R554_NO_RECIPIENTS.to_bytes()),
            (b"RCPT TO:<b@example.net>\r\n", OK_RCPT),
            (b"EHLO client.test\r\n", ehlo_bytes()),   # EHLO resets the transaction
            (b"RCPT TO:<b@example.net>\r\n", R.R503_MAIL_FIRST.to_bytes()),
        ])

    def test_refused_sender(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<reject@example.org>\r\n", R.R550_SENDER_REFUSED.to_bytes()),
            (b"RCPT TO:<b@example.net>\r\n", R.R503_MAIL_FIRST.to_bytes()),
        ])

    def test_unknown_and_unimplemented(self):
        self.check([
            (b"FOO\r\n", R.R500_UNRECOGNISED.to_bytes()),
            (b"EXPN list\r\n", R.R502_NOT_IMPLEMENTED.to_bytes()),
            (b"\r\n", R.R500_UNRECOGNISED.to_bytes()),
            (b"EHLO\r\n", R.R501_HELLO_ARGUMENT.to_bytes()),
            (EHLO, ehlo_bytes()),
            (b"RSET now\r\n", R.R501_NO_ARGUMENTS.to_bytes()),
            (b"QUIT now\r\n", R.R501_NO_ARGUMENTS.to_bytes()),
            (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA now\r\n",
             OK_SENDER + OK_RCPT + R.R501_NO_ARGUMENTS.to_bytes()),
        ])

    def test_eof_mid_message_stores_nothing(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\npartial\r\n",
             OK_SENDER + OK_RCPT + GO),
            (EOF_, b""),
        ])
        self.assertEqual(app.messages, [])
        self.assertEqual(conn.next_event(), ConnectionClosed())

    def test_quit_in_pipeline_stops(self):
        conn, app = self.check([
            (b"QUIT\r\nNOOP\r\n", BYE),
        ])
        self.assertEqual(conn.state, S.CLOSED)


class TestData(Transcripts):
    def session(self, body, reply):
        return [
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n",
             OK_SENDER + OK_RCPT + GO),
            (body, reply),
            (b"NOOP\r\n", R.R250_OK.to_bytes()),
        ]

    def test_dot_unstuffing_rfc5321_4_5_2(self):
        body = (b"..\r\n...\r\n.x\r\n..y\r\nno.dot\r\n. \r\n\r\n.\r\n")
        conn, app = self.check(self.session(body, QUEUED))
        self.assertEqual(app.messages, [b".\r\n..\r\nx\r\n.y\r\nno.dot\r\n \r\n\r\n"])

    def test_empty_message(self):
        conn, app = self.check(self.session(b".\r\n", QUEUED))
        self.assertEqual(app.messages, [b""])

    def test_body_bytes_kept(self):
        body = b"Subject: \xc3\xa9\r\n\r\n\x00\t\x7f\xff end \r\n"
        conn, app = self.check(self.session(body + b".\r\n", QUEUED))
        self.assertEqual(app.messages, [body])

    def test_smuggling_vectors(self):
        smuggled = (b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<victim@example.net>\r\n"
                    b"DATA\r\nsmuggled\r\n")
        refused = R.R554_BARE_NEWLINE_DATA.to_bytes()
        for vector in (b"\n.\r\n", b"\r\n.\n", b"\n.\n", b"\r.\r", b"\r\n.\r",
                       b"\r.\r\n", b"\n.\r", b"\r\n\x00.\r\n", b"\n..\n",
                       b"\r\n.\r\r\n"):
            body = b"Subject: x\r\n\r\nhello" + vector + smuggled + b".\r\n"
            if vector == b"\r\n\x00.\r\n":
                # NUL is data, not an end marker: one ordinary message.
                conn, app = self.check(self.session(body, QUEUED))
                self.assertEqual(len(app.messages), 1)
                continue
            conn, app = self.check(self.session(body, refused))
            self.assertEqual(app.messages, [], repr(vector))
            for ev in app.events:
                if type(ev) is Mail:
                    self.assertEqual(ev.reverse_path, "a@example.org", repr(vector))

    def test_crlf_dot_crlf_after_bare_cr_still_ends_data(self):
        # "hello\r" + "\r\n.\r\n": the line holds a bare CR (message void),
        # but CRLF.CRLF is the real end; what follows is commands again.
        steps = self.session(b"hello\r\r\n.\r\nMAIL FROM:<c@example.org>\r\n",
                             R.R554_BARE_NEWLINE_DATA.to_bytes() + OK_SENDER)
        conn, app = self.check(steps)
        self.assertEqual(app.messages, [])
        self.assertEqual(conn.reverse_path, "c@example.org")

    def test_bare_lf_at_end_of_data(self):
        steps = self.session(b"hello\n.\n", b"")
        steps[3] = (b"NOOP\r\n", b"")          # still inside the message
        steps.append((b"\r\n.\r\n", R.R554_BARE_NEWLINE_DATA.to_bytes()))
        conn, app = self.check(steps)
        self.assertEqual(app.messages, [])

    def test_line_length(self):
        ok = b"x" * 998 + b"\r\n"                  # 1000 octets with CRLF
        stuffed = b"." + b"." * 998 + b"\r\n"       # 1001, one of them stuffing
        conn, app = self.check(self.session(ok + stuffed + b".\r\n", QUEUED))
        self.assertEqual(app.messages, [ok + b"." * 998 + b"\r\n"])
        long = b"x" * 999 + b"\r\n"
        conn, app = self.check(self.session(long + b".\r\n",
                                            R.R554_LINE_TOO_LONG_DATA.to_bytes()))
        self.assertEqual(app.messages, [])

    def test_endless_line_drained_one_reply(self):
        body = b"a\r\n" + b"y" * 70000 + b"\r\n.\r\n"
        conn, app = self.check(self.session(body, R.R554_LINE_TOO_LONG_DATA.to_bytes()))
        self.assertEqual(app.messages, [])

    def test_endless_line_ending_in_cr_before_marker(self):
        body = b"y" * 3000 + b"\r\n.\r\n"
        for cut in (1, 2, 3):
            conn, app = self.check(self.session(body, R.R554_LINE_TOO_LONG_DATA.to_bytes()))

    def test_oversize_drained_single_552(self):
        big = (b"z" * 98 + b"\r\n") * 30          # 3000 octets
        steps = [
            (EHLO, ehlo_bytes(size=1000)),
            (b"MAIL FROM:<a@example.org> SIZE=1001\r\n", R.R552_TOO_BIG.to_bytes()),
            (b"MAIL FROM:<a@example.org> SIZE=1000\r\nRCPT TO:<b@example.net>\r\nDATA\r\n",
             OK_SENDER + OK_RCPT + GO),
            (big + b".\r\n", R.R552_TOO_BIG.to_bytes()),
            (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n",
             OK_SENDER + OK_RCPT + GO),
            (big[:1000] + b".\r\n", QUEUED),
        ]
        conn, app = self.check(steps, max_message_size=1000)
        self.assertEqual(app.messages, [big[:1000]])
        refused = [ev for ev in app.events if type(ev) is MessageRefused]
        self.assertEqual(refused, [MessageRefused(R.R552_TOO_BIG)])

    def test_app_refuses_at_end(self):
        conn = ServerConnection(HOST)
        conn.send(R.greeting(HOST))
        conn.receive_data(EHLO + b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nx\r\n.\r\nNOOP\r\n")
        self.assertEqual(type(conn.next_event()), Ehlo)
        conn.data_to_send()
        conn.next_event()
        conn.send(R.R250_SENDER_OK)
        conn.next_event()
        conn.send(R.R250_RECIPIENT_OK)
        conn.next_event()
        conn.send(R.R354_START)
        self.assertEqual(conn.next_event(), DataChunk(b"x\r\n"))
        self.assertEqual(conn.next_event(), MessageComplete())
        with self.assertRaises(LocalProtocolError):
            conn.next_event()
        self.assertEqual(conn.send(R.R451_LOCAL_ERROR), R.R451_LOCAL_ERROR.to_bytes())
        self.assertEqual(conn.next_event(), Noop())
        self.assertEqual(conn.state, S.READY)
        self.assertEqual(conn.recipients, [])


class TestCommandLines(Transcripts):
    def test_command_length_limit(self):
        ok = b"NOOP " + b"x" * 505 + b"\r\n"          # 512 octets
        self.assertEqual(len(ok), 512)
        too_long = b"NOOP " + b"x" * 506 + b"\r\n"    # 513
        self.check([
            (ok, R.R250_OK.to_bytes()),
            (too_long, R.R500_LINE_TOO_LONG.to_bytes()),
            (b"NOOP " + b"x" * 5000 + b"\r\nNOOP\r\n",
             R.R500_LINE_TOO_LONG.to_bytes() + R.R250_OK.to_bytes()),
            (b"NOOP " + b"x" * 5000 + b"\r" + b"\r\n", R.R500_LINE_TOO_LONG.to_bytes()),
        ])

    def test_bare_newlines_in_commands(self):
        bare = R.R500_BARE_NEWLINE.to_bytes()
        self.check([
            (b"NOOP\nNOOP\r\n", bare),
            (b"NOOP\rNOOP\r\n", bare),
            (b"NOOP\r\r\n", bare),
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@example.org>\nRCPT TO:<b@example.net>\r\n", bare),
            (b"RCPT TO:<b@example.net>\r\n", R.R503_MAIL_FIRST.to_bytes()),
        ])


class TestLimits(Transcripts):
    def test_101st_recipient(self):
        steps = [(EHLO, ehlo_bytes()), (b"MAIL FROM:<a@example.org>\r\n", OK_SENDER)]
        rcpts = b"".join(b"RCPT TO:<r%d@example.net>\r\n" % i for i in range(100))
        steps.append((rcpts, OK_RCPT * 100))
        steps.append((b"RCPT TO:<r100@example.net>\r\n", R.R452_TOO_MANY_RECIPIENTS.to_bytes()))
        steps.append((b"DATA\r\nm\r\n.\r\n", GO + QUEUED))
        conn, app = self.check(steps)
        self.assertEqual(len(app.envelopes[0][1]), 100)

    def test_25_bad_commands_then_421(self):
        bad = R.R500_UNRECOGNISED.to_bytes()
        conn, app = self.check([
            (b"BAD\r\n" * 25, bad * 25),
            (b"BAD\r\nNOOP\r\n", R.R421_TOO_MANY_ERRORS.to_bytes()),
        ])
        self.assertEqual(conn.state, S.CLOSED)
        self.assertEqual(conn.next_event(), ConnectionClosed())

    def test_25_rsets_then_421(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes()),
            (b"RSET\r\n" * 25, R.R250_RESET.to_bytes() * 25),
            (b"RSET\r\n", R.R421_TOO_MANY_RSETS.to_bytes()),
        ])
        self.assertEqual(conn.state, S.CLOSED)

    def test_rset_count_restarts_after_a_message(self):
        self.check([
            (EHLO, ehlo_bytes()),
            (b"RSET\r\n" * 20, R.R250_RESET.to_bytes() * 20),
            (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nm\r\n.\r\n",
             OK_SENDER + OK_RCPT + GO + QUEUED),
            (b"RSET\r\n" * 25, R.R250_RESET.to_bytes() * 25),
        ])

    def test_idle_timeout(self):
        conn = ServerConnection(HOST, now=100, idle_timeout=300)
        conn.send(R.greeting(HOST))
        self.assertEqual(conn.deadline(), 400)
        self.assertFalse(conn.check_timeout(399))
        conn.receive_data(b"NOOP\r\n", now=350)
        self.assertEqual(conn.next_event(), Noop())
        self.assertFalse(conn.check_timeout(649))
        self.assertTrue(conn.check_timeout(650))
        self.assertEqual(conn.data_to_send(), R.R250_OK.to_bytes() + R.R421_TIMEOUT.to_bytes())
        self.assertEqual(conn.next_event(), ConnectionClosed())


class TestStartTLS(Transcripts):
    def test_starttls_resets_state_and_drops_injection(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes(tls=True)),
            (b"MAIL FROM:<a@example.org>\r\n", OK_SENDER),
            (b"STARTTLS\r\nRCPT TO:<evil@example.net>\r\n", R.R220_TLS_GO.to_bytes()),
            (b"RCPT TO:<b@example.net>\r\n", R.R503_HELLO_FIRST.to_bytes()),
            (EHLO, ehlo_bytes(tls=False)),
            (b"RCPT TO:<b@example.net>\r\n", R.R503_MAIL_FIRST.to_bytes()),
            (b"STARTTLS\r\n", R.R503_TLS_ACTIVE.to_bytes()),
            (b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nm\r\n.\r\n",
             OK_SENDER + OK_RCPT + GO + QUEUED),
        ], tls_available=True)
        self.assertTrue(conn.tls_active)
        for ev in app.events:
            if type(ev) is Rcpt:
                self.assertEqual(ev.forward_path, "b@example.net")

    def test_starttls_before_ehlo(self):
        self.check([(b"STARTTLS\r\n", R.R503_HELLO_FIRST.to_bytes())], tls_available=True)

    def test_starttls_unavailable(self):
        self.check([
            (EHLO, ehlo_bytes()),
            (b"STARTTLS\r\n", R.R454_TLS_UNAVAILABLE.to_bytes()),
            (b"STARTTLS now\r\n", R.R501_NO_ARGUMENTS.to_bytes()),
        ])

    def test_require_tls(self):
        conn, app = self.check([
            (EHLO, ehlo_bytes(tls=True)),
            (b"MAIL FROM:<a@example.org>\r\n", R.R530_STARTTLS_FIRST.to_bytes()),
            (b"VRFY a\r\n", R.R530_STARTTLS_FIRST.to_bytes()),
            (b"NOOP\r\n", R.R250_OK.to_bytes()),
            (b"STARTTLS\r\n", R.R220_TLS_GO.to_bytes()),
            (EHLO, ehlo_bytes()),
            (b"MAIL FROM:<a@example.org>\r\n", OK_SENDER),
        ], tls_available=True, require_tls=True)

    def test_data_before_handshake_is_a_caller_bug(self):
        conn = ServerConnection(HOST, tls_available=True)
        conn.send(R.greeting(HOST))
        conn.receive_data(EHLO + b"STARTTLS\r\n")
        conn.next_event()
        self.assertEqual(conn.next_event(), StartTLS())
        with self.assertRaises(LocalProtocolError):
            conn.receive_data(b"EHLO x\r\n")
        with self.assertRaises(LocalProtocolError):
            conn.next_event()


class TestMisuse(unittest.TestCase):
    def test_greeting_first(self):
        conn = ServerConnection(HOST)
        with self.assertRaises(LocalProtocolError):
            conn.next_event()

    def test_refused_greeting_closes(self):
        conn = ServerConnection(HOST)
        conn.send(R.Reply(554, None, "no service"))
        self.assertEqual(conn.next_event(), ConnectionClosed())

    def test_wrong_reply_codes(self):
        conn = ServerConnection(HOST)
        conn.send(R.greeting(HOST))
        conn.receive_data(EHLO + b"MAIL FROM:<a@example.org>\r\n")
        conn.next_event()
        with self.assertRaises(LocalProtocolError):
            conn.send(R.R250_OK)     # EHLO is answered by the machine
        self.assertEqual(type(conn.next_event()), Mail)
        with self.assertRaises(LocalProtocolError):
            conn.send(R.R354_START)
        conn.send(R.R421_SHUTTING_DOWN)
        self.assertEqual(conn.state, S.CLOSED)

    def test_rejected_event(self):
        conn = ServerConnection(HOST)
        conn.send(R.greeting(HOST))
        conn.receive_data(b"FOO bar\r\n")
        self.assertEqual(conn.next_event(), Rejected("FOO", R.R500_UNRECOGNISED))

    def test_shutdown(self):
        conn = ServerConnection(HOST)
        conn.send(R.greeting(HOST))
        self.assertEqual(conn.shutdown(), R.R421_SHUTTING_DOWN.to_bytes())
        self.assertEqual(conn.next_event(), ConnectionClosed())


class TestReplies(unittest.TestCase):
    def test_to_bytes(self):
        self.assertEqual(R.Reply(250, "2.0.0", "OK").to_bytes(), b"250 2.0.0 OK\r\n")
        self.assertEqual(R.Reply(250, None, ["a", "b", "c"]).to_bytes(), b"250-a\r\n250-b\r\n250 c\r\n")
        self.assertEqual(R.Reply(214, "2.0.0", ["x", "y"]).to_bytes(), b"214-2.0.0 x\r\n214 2.0.0 y\r\n")
        self.assertEqual(R.Reply(250).to_bytes(), b"250\r\n")

    def test_every_constant_has_an_enhanced_code(self):
        for name in dir(R):
            if name[:1] == "R" and name[1:4].isdigit():
                reply = getattr(R, name)
                if reply.code in (354,):
                    continue
                self.assertIsNotNone(reply.status, name)
                self.assertEqual(int(reply.status[0]), reply.code // 100, name)
                self.assertGreater(len(reply.text), 10, name)
