"""The platform-specific bits of the I/O loop, in one place: MicroPython
(asyncio subset + the `tls` module) and CPython (asyncio + ssl). A Solo5 port
only changes this file."""
import socket
import sys
import time

try:
    import asyncio
except ImportError:   # pragma: no cover
    import uasyncio as asyncio

MICROPYTHON = sys.implementation.name == "micropython"

if MICROPYTHON:
    import tls as _tls
else:
    import ssl as _tls

TimeoutError_ = asyncio.TimeoutError


def now():
    """Seconds, the clock ServerConnection's `now` is measured in."""
    return time.time()


def server_context(cert_pem, key_pem):
    """A TLS server context from PEM bytes (MicroPython's tls takes bytes,
    not paths)."""
    if MICROPYTHON:
        ctx = _tls.SSLContext(_tls.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_pem, key_pem)
        return ctx
    import tempfile
    import os
    ctx = _tls.SSLContext(_tls.PROTOCOL_TLS_SERVER)
    fd, path = tempfile.mkstemp(suffix=".pem")
    try:
        os.write(fd, cert_pem + b"\n" + key_pem)
        os.close(fd)
        ctx.load_cert_chain(path)
    finally:
        os.remove(path)
    return ctx


def client_context(verify=False, cadata=None):
    """A TLS client context. verify=False is opportunistic TLS between MTAs
    (RFC 7435): encrypt, but accept any certificate."""
    if MICROPYTHON:
        ctx = _tls.SSLContext(_tls.PROTOCOL_TLS_CLIENT)
        if verify:
            ctx.verify_mode = _tls.CERT_REQUIRED
            if cadata:
                ctx.load_verify_locations(cadata=cadata)
        else:
            ctx.verify_mode = _tls.CERT_NONE
        return ctx
    ctx = _tls.SSLContext(_tls.PROTOCOL_TLS_CLIENT)
    if verify:
        if cadata:
            ctx.load_verify_locations(cadata=cadata.decode())
        else:
            ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = _tls.CERT_NONE
    return ctx


def _raw_socket(writer):
    if MICROPYTHON:
        return writer.s
    return writer.get_extra_info("socket")


def set_nodelay(writer):
    """TCP_NODELAY: without it a non-blocking TLS handshake stalls ~40 ms."""
    try:
        _raw_socket(writer).setsockopt(6, 1, 1)   # IPPROTO_TCP, TCP_NODELAY
    except (OSError, AttributeError):
        pass


def _ip_text(family, addr):
    if family == socket.AF_INET:
        return ".".join(str(b) for b in addr)
    groups = ["%x" % ((addr[i] << 8) | addr[i + 1]) for i in range(0, 16, 2)]
    return ":".join(groups)


def peer_address(writer):
    """(ip, port) of the peer, as text and int on both runtimes."""
    try:
        p = writer.get_extra_info("peername")
        if MICROPYTHON:  # a raw sockaddr
            family, addr, port = socket.sockaddr(p)
            return _ip_text(family, addr), port
        return p[0], p[1]
    except Exception:
        return "?", 0


async def read(reader, n=65536):
    return await reader.read(n)


async def write(writer, data):
    writer.write(data)
    await writer.drain()


async def close(writer):
    try:
        writer.close()
        await writer.wait_closed()
    except Exception:
        pass


async def start_tls(reader, writer, ctx, server_side, server_hostname=None):
    """Upgrade the connection in place after STARTTLS; returns (reader,
    writer) to use from now on. Bytes read before the upgrade are gone."""
    if MICROPYTHON:
        # reader and writer are one Stream object on MicroPython.
        kw = {"server_side": server_side, "do_handshake_on_connect": False}
        if not server_side and server_hostname:
            kw["server_hostname"] = server_hostname
        writer.s = ctx.wrap_socket(writer.s, **kw)
        if reader is not writer:
            reader.s = writer.s
        if not server_side:
            # A client must speak first or the ClientHello is never sent;
            # the caller writes EHLO next, which drives the handshake.
            pass
        return reader, writer
    buffered = getattr(reader, "_buffer", None)
    if buffered:
        buffered.clear()   # plaintext pipelined after STARTTLS: injection
    kw = {}
    if not server_side:
        kw["server_hostname"] = server_hostname
    await writer.start_tls(ctx, **kw)
    return reader, writer


async def wait_for(coro, timeout):
    return await asyncio.wait_for(coro, timeout)


async def start_server(cb, host, port, backlog=100):
    """IPv4 on MicroPython (its start_server has no IPv6)."""
    return await asyncio.start_server(cb, host, port, backlog=backlog)


async def open_connection(host, port):
    return await asyncio.open_connection(host, port)
