"""ClientConnection: scripted server replies -> exact client bytes, fed
whole, in 7-byte chunks and byte by byte; and a client talking to our
ServerConnection in memory."""
import unittest

from ptt.smtp import replies as R
from ptt.smtp.client import (
    ClientConnection, Transaction, RecipientResult, TransactionDone,
    DELIVERED, TEMPORARY, PERMANENT, dot_stuff, normalise_crlf,
    NEED_SMTPUTF8, NEED_8BITMIME, TOO_BIG, LOST, NO_TLS)
from ptt.smtp.events import (
    NEED_DATA, ConnectionClosed, StartTLS, DataChunk, MessageComplete,
    Mail, Rcpt, Data, MessageRefused)
from ptt.smtp.server import ServerConnection

GREET = b"220 mx.test ESMTP\r\n"
EHLO_PIPE = (b"250-mx.test hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n"
             b"250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n")
EHLO_PLAIN = b"250-mx.test hello\r\n250 8BITMIME\r\n"


def drive(client, script, chunk=None):
    """script: list of (server bytes, expected client bytes). Returns the
    client's outputs and events."""
    outs = []
    events = []
    for server, _ in script:
        got = [client.data_to_send()] if not outs else []
        step = chunk or len(server) or 1
        pieces = [server[i:i + step] for i in range(0, len(server), step)] if server else [b""]
        tls = False
        for piece in pieces:
            client.receive_data(piece)
            while True:
                ev = client.next_event()
                if ev is NEED_DATA:
                    break
                events.append(ev)
                if type(ev) is StartTLS:
                    # the rest of this step arrived before the handshake
                    got.append(client.data_to_send())
                    client.tls_started()
                    tls = True
                    break
                if type(ev) is ConnectionClosed:
                    break
            got.append(client.data_to_send())
            if tls:
                break
        outs.append(b"".join(got))
    return outs, events


class ClientTranscripts(unittest.TestCase):
    def check(self, make, script):
        last = None
        for chunk in (None, 7, 1):
            outs, events = drive(make(), script, chunk)
            for i in range(len(script)):
                self.assertEqual(outs[i], script[i][1], "step %d chunk %r" % (i, chunk))
            if last is not None:
                self.assertEqual(events, last)
            last = events
        return [ev for ev in last if type(ev) is TransactionDone]


def msg(body=b"Subject: t\r\n\r\nhi\r\n"):
    return body


class TestClient(ClientTranscripts):
    def test_pipelined_session(self):
        txn = Transaction("a@example.org", ["b@example.net", "c@example.net"], msg())
        done = self.check(lambda: ClientConnection("client.test", [txn]), [
            (GREET, b"EHLO client.test\r\n"),
            (EHLO_PIPE, b"MAIL FROM:<a@example.org> SIZE=18\r\nRCPT TO:<b@example.net>\r\n"
                        b"RCPT TO:<c@example.net>\r\nDATA\r\n"),
            (b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no such user\r\n354 go\r\n",
             b"Subject: t\r\n\r\nhi\r\n.\r\n"),
            (b"250 2.0.0 queued as X\r\n", b"QUIT\r\n"),
            (b"221 2.0.0 bye\r\n", b""),
        ])
        self.assertEqual(len(done), 1)
        res = done[0].results
        self.assertEqual(res[0], RecipientResult("b@example.net", DELIVERED, R.Reply(250, "2.0.0", "queued as X")))
        self.assertEqual(res[1], RecipientResult("c@example.net", PERMANENT, R.Reply(550, "5.1.1", "no such user")))

    def test_no_pipelining_one_by_one_and_rset_between(self):
        t1 = Transaction("a@example.org", ["b@example.net"], b".dot\r\n")
        t2 = Transaction("", ["x@example.net", "y@example.net"], b"m")
        done = self.check(lambda: ClientConnection("client.test", [t1, t2]), [
            (GREET, b"EHLO client.test\r\n"),
            (EHLO_PLAIN, b"MAIL FROM:<a@example.org>\r\n"),
            (b"250 ok\r\n", b"RCPT TO:<b@example.net>\r\n"),
            (b"250 ok\r\n", b"DATA\r\n"),
            (b"354 go\r\n", b"..dot\r\n.\r\n"),
            (b"250 ok\r\n", b"RSET\r\n"),
            (b"250 ok\r\n", b"MAIL FROM:<>\r\n"),
            (b"250 ok\r\n", b"RCPT TO:<x@example.net>\r\n"),
            (b"450 4.2.1 try later\r\n", b"RCPT TO:<y@example.net>\r\n"),
            (b"550 5.1.1 unknown\r\n", b"QUIT\r\n"),
            (b"221 bye\r\n", b""),
        ])
        self.assertEqual([r.status for r in done[0].results], [DELIVERED])
        self.assertEqual([r.status for r in done[1].results], [TEMPORARY, PERMANENT])
        self.assertEqual(done[1].results[0].reply, R.Reply(450, "4.2.1", "try later"))

    def test_helo_fallback(self):
        txn = Transaction("a@example.org", ["b@example.net"], b"x\r\n")
        done = self.check(lambda: ClientConnection("client.test", [txn]), [
            (GREET, b"EHLO client.test\r\n"),
            (b"502 5.5.1 what\r\n", b"HELO client.test\r\n"),
            (b"250 hi\r\n", b"MAIL FROM:<a@example.org>\r\n"),
            (b"250 ok\r\n", b"RCPT TO:<b@example.net>\r\n"),
            (b"250 ok\r\n", b"DATA\r\n"),
            (b"354 go\r\n", b"x\r\n.\r\n"),
            (b"451 4.3.0 disk full\r\n", b"QUIT\r\n"),
        ])
        self.assertEqual(done[0].results[0].status, TEMPORARY)

    def test_starttls(self):
        txn = Transaction("a@example.org", ["b@example.net"], b"x\r\n")
        done = self.check(lambda: ClientConnection("client.test", [txn], tls_available=True), [
            (GREET, b"EHLO client.test\r\n"),
            (b"250-mx.test\r\n250 STARTTLS\r\n", b"STARTTLS\r\n"),
            (b"220 2.0.0 go\r\n250 injected\r\n", b"EHLO client.test\r\n"),
            (b"250-mx.test\r\n250 PIPELINING\r\n",
             b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"),
        ])

    def test_require_tls_without_starttls(self):
        txn = Transaction("a@example.org", ["b@example.net"], b"x\r\n")
        done = self.check(lambda: ClientConnection("client.test", [txn], tls_available=True, require_tls=True), [
            (GREET, b"EHLO client.test\r\n"),
            (b"250 mx.test\r\n", b"QUIT\r\n"),
        ])
        self.assertEqual(done[0].results[0], RecipientResult("b@example.net", TEMPORARY, NO_TLS))

    def test_requirements(self):
        t_utf8 = Transaction("jöran@example.org", ["b@example.net"], b"x\r\n")
        t_8bit = Transaction("a@example.org", ["b@example.net"], b"caf\xc3\xa9\r\n")
        t_big = Transaction("a@example.org", ["b@example.net"], b"y" * 2000)
        done = self.check(lambda: ClientConnection("client.test", [t_utf8, t_8bit, t_big]), [
            (GREET, b"EHLO client.test\r\n"),
            (b"250-mx.test\r\n250 SIZE 1000\r\n", b"QUIT\r\n"),
        ])
        self.assertEqual([d.results[0].reply for d in done], [NEED_SMTPUTF8, NEED_8BITMIME, TOO_BIG])
        self.assertEqual([d.results[0].status for d in done], [PERMANENT] * 3)

    def test_smtputf8_and_8bitmime_params(self):
        txn = Transaction("jöran@example.org", ["b@example.net"], b"caf\xc3\xa9\r\n")
        self.check(lambda: ClientConnection("client.test", [txn]), [
            (GREET, b"EHLO client.test\r\n"),
            (b"250-mx.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n",
             "MAIL FROM:<jöran@example.org> BODY=8BITMIME SMTPUTF8\r\n".encode()
             + b"RCPT TO:<b@example.net>\r\nDATA\r\n"),
        ])

    def test_greeting_refused_and_lost_connection(self):
        txn = Transaction("a@example.org", ["b@example.net"], b"x\r\n")
        done = self.check(lambda: ClientConnection("client.test", [txn]), [
            (b"554 5.3.2 go away\r\n", b"QUIT\r\n"),
        ])
        self.assertEqual(done[0].results[0].status, TEMPORARY)
        done = self.check(lambda: ClientConnection("client.test", [txn]), [
            (GREET + EHLO_PIPE, b"EHLO client.test\r\n"
             b"MAIL FROM:<a@example.org> SIZE=3\r\nRCPT TO:<b@example.net>\r\nDATA\r\n"),
            (b"250 ok\r\n", b""),
            (b"", b""),
        ])
        self.assertEqual(done[0].results[0], RecipientResult("b@example.net", TEMPORARY, LOST))

    def test_421_mid_session(self):
        txn = Transaction("a@example.org", ["b@example.net"], b"x\r\n")
        done = self.check(lambda: ClientConnection("client.test", [txn, txn]), [
            (GREET, b"EHLO client.test\r\n"),
            (EHLO_PLAIN, b"MAIL FROM:<a@example.org>\r\n"),
            (b"421 4.3.2 shutting down\r\n", b""),
        ])
        self.assertEqual(len(done), 2)
        self.assertEqual(done[1].results[0].reply.code, 421)

    def test_garbled_reply(self):
        txn = Transaction("a@example.org", ["b@example.net"], b"x\r\n")
        done = self.check(lambda: ClientConnection("client.test", [txn]), [
            (b"hello there\r\n", b""),
        ])
        self.assertEqual(done[0].results[0].status, TEMPORARY)

    def test_dot_stuff_and_crlf(self):
        self.assertEqual(dot_stuff(b".a\r\nb\r\n.\r\n..\r\n"), b"..a\r\nb\r\n..\r\n...\r\n.\r\n")
        self.assertEqual(normalise_crlf(b"a\nb\rc\r\nd"), b"a\r\nb\r\nc\r\nd\r\n")
        self.assertEqual(normalise_crlf(b""), b"")


class TestAgainstServer(unittest.TestCase):
    """Our client and our server in memory: the stored bytes must be the
    client's message exactly (after CRLF normalisation)."""

    def run_pair(self, txns, **kw):
        server = ServerConnection("mx.test", **kw)
        client = ClientConnection("client.test", txns)
        to_client = server.send(R.greeting("mx.test"))
        stored = []
        chunks = []
        done = []
        for _ in range(1000):
            if to_client:
                client.receive_data(to_client)
            while True:
                ev = client.next_event()
                if ev is NEED_DATA or type(ev) is ConnectionClosed:
                    break
                done.append(ev)
            if client.state == "CLOSED":
                break
            server.receive_data(client.data_to_send())
            out = []
            while True:
                ev = server.next_event()
                t = type(ev)
                if ev is NEED_DATA or t is ConnectionClosed:
                    break
                if t is Mail:
                    out.append(server.send(R.R250_SENDER_OK))
                elif t is Rcpt:
                    out.append(server.send(R.R550_NO_SUCH_USER if ev.forward_path.startswith("nobody") else R.R250_RECIPIENT_OK))
                elif t is Data:
                    out.append(server.send(R.R354_START))
                elif t is DataChunk:
                    chunks.append(ev.data)
                elif t is MessageComplete:
                    stored.append(b"".join(chunks))
                    chunks = []
                    out.append(server.send(R.R250_QUEUED))
            out.append(server.data_to_send())
            to_client = b"".join(out)
        return stored, done

    def test_messages_arrive_byte_exact(self):
        bodies = [b"Subject: 1\r\n\r\n.\r\n..\r\n.x\r\n", b".", b"", b"a\r\n\r\n.\r\n\r\n",
                  b"\xc3\xa9 8-bit\r\n"]
        txns = [Transaction("a@example.org", ["b@example.net", "nobody@example.net"], b) for b in bodies]
        stored, done = self.run_pair(txns)
        self.assertEqual(stored, [normalise_crlf(b) for b in bodies])
        self.assertEqual(len(done), len(bodies))
        for d in done:
            self.assertEqual([r.status for r in d.results], [DELIVERED, PERMANENT])

    def test_too_many_recipients_reported_temporary(self):
        rcpts = ["r%d@example.net" % i for i in range(102)]
        stored, done = self.run_pair([Transaction("a@example.org", rcpts, b"x\r\n")])
        statuses = [r.status for r in done[0].results]
        self.assertEqual(statuses, [DELIVERED] * 100 + [TEMPORARY] * 2)
        self.assertEqual(done[0].results[101].reply, R.R452_TOO_MANY_RECIPIENTS)
