"""The SMTP server loop: drives ptt.smtp.server.ServerConnection over a
socket and calls the application's handler.

The handler is any object with these methods (each may be a plain function
or a coroutine; the reply is a ptt.smtp.replies.Reply):

    on_mail(ctx, reverse_path, params) -> Reply    250 opens the transaction
    on_rcpt(ctx, forward_path, params) -> Reply    250 accepts the recipient
    on_message(ctx, envelope, data)    -> Reply    return only once the
                                                   message is durably stored
and optionally
    on_connect(ctx) -> Reply or None  (None: the normal 220 banner)
    on_data(ctx, envelope) -> Reply   (default 354)
    on_close(ctx)

ctx is the Session below (peer, helo name, TLS state, a dict for the
handler's own use); envelope has reverse_path, recipients, params.
A handler that raises gets the client a 451 (nothing accepted is lost).
"""
from ptt.net import compat
from ptt.smtp import replies as R
from ptt.smtp.server import ServerConnection
from ptt.smtp.events import (
    NEED_DATA, Mail, Rcpt, Data, DataChunk, MessageComplete, MessageRefused,
    StartTLS, ConnectionClosed)


class Envelope:
    def __init__(self, reverse_path, recipients, params):
        self.reverse_path = reverse_path
        self.recipients = recipients
        self.params = params


class Session:
    def __init__(self, peer):
        self.peer = peer
        self.helo_name = None
        self.tls_active = False
        self.data = {}


async def _call(fn, *args):
    r = fn(*args)
    if hasattr(r, "send"):   # a coroutine (a generator on MicroPython)
        r = await r
    return r


def _log(msg):
    print("smtp:", msg)


async def handle(reader, writer, handler, hostname, tls_context=None, log=_log, **limits):
    """Serve one connection until it closes."""
    compat.set_nodelay(writer)
    session = Session(compat.peer_address(writer))
    conn = ServerConnection(hostname, now=compat.now(),
                            tls_available=tls_context is not None, **limits)
    out = []
    chunks = []

    async def answer(fn, *args):
        try:
            reply = await _call(fn, session, *args)
        except Exception as e:
            log("%s: handler %s failed: %r; answering 451" % (session.peer, fn, e))
            reply = R.R451_LOCAL_ERROR
        out.append(conn.send(reply))

    try:
        banner = None
        if hasattr(handler, "on_connect"):
            banner = await _call(handler.on_connect, session)
        out.append(conn.send(banner or R.greeting(hostname)))
        while True:
            ev = conn.next_event()
            if ev is NEED_DATA:
                out.append(conn.data_to_send())
                data = b"".join(out)
                out = []
                if data:
                    await compat.write(writer, data)
                wait = conn.deadline() - compat.now()
                try:
                    if wait <= 0:
                        raise compat.TimeoutError_
                    data = await compat.wait_for(compat.read(reader), wait)
                except compat.TimeoutError_:
                    if conn.check_timeout(compat.now()):
                        log("%s: idle timeout" % session.peer)
                    continue
                conn.receive_data(data, compat.now())
                continue
            t = type(ev)
            if t is DataChunk:
                chunks.append(ev.data)
            elif t is Mail:
                await answer(handler.on_mail, ev.reverse_path, ev.params)
            elif t is Rcpt:
                await answer(handler.on_rcpt, ev.forward_path, ev.params)
            elif t is Data:
                chunks = []
                if hasattr(handler, "on_data"):
                    await answer(handler.on_data, _envelope(conn))
                else:
                    out.append(conn.send(R.R354_START))
            elif t is MessageComplete:
                data = b"".join(chunks)
                chunks = []
                await answer(handler.on_message, _envelope(conn), data)
            elif t is MessageRefused:
                chunks = []
                log("%s: message refused: %s" % (session.peer, ev.reply.text))
            elif t is StartTLS:
                out.append(conn.data_to_send())
                await compat.write(writer, b"".join(out))
                out = []
                reader, writer = await compat.start_tls(reader, writer, tls_context, True)
                conn.tls_started(compat.now())
                session.tls_active = True
            elif t is ConnectionClosed:
                out.append(conn.data_to_send())
                data = b"".join(out)
                if data:
                    await compat.write(writer, data)
                break
            if conn.helo_name is not None:
                session.helo_name = conn.helo_name
    except OSError as e:
        log("%s: connection error: %r" % (session.peer, e))
    finally:
        if hasattr(handler, "on_close"):
            try:
                await _call(handler.on_close, session)
            except Exception:
                pass
        await compat.close(writer)


def _envelope(conn):
    return Envelope(conn.reverse_path, list(conn.recipients), conn.mail_params)


async def serve(handler, host, port, hostname, tls_context=None, log=_log, **limits):
    """Start listening; returns the asyncio server (close() to stop)."""
    async def cb(reader, writer):
        await handle(reader, writer, handler, hostname, tls_context, log, **limits)
    return await compat.start_server(cb, host, port)
