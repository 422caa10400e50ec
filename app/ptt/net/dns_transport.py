"""Sockets for DNS: the I/O under ptt.dns (which is sans-I/O otherwise).

Blocking sockets with timeouts, written for both CPython and MicroPython's
unix port (addresses go through getaddrinfo, which gives tuples on CPython
and raw sockaddr bytes on MicroPython; no sendall; timeouts raise OSError
11 on MicroPython). A Solo5 port replaces this module with the same three
methods.
"""

import socket
import time

try:
    _ticks = time.ticks_ms
    _diff = time.ticks_diff
except AttributeError:
    def _ticks():
        return int(time.monotonic() * 1000)

    def _diff(a, b):
        return a - b


class TransportError(OSError):
    pass


def _is_timeout(e):
    n = type(e).__name__
    if n == "timeout" or n == "TimeoutError":
        return True
    code = e.args[0] if e.args else None
    return code == 11 or code == 110


def _addr(ip, port, socktype):
    ai = socket.getaddrinfo(ip, port, 0, socktype)
    if not ai:
        raise TransportError("cannot make an address of %s port %d" % (ip, port))
    return ai[0][0], ai[0][-1]


class SocketTransport:
    def now_ms(self):
        return _ticks()

    def udp(self, ip, port, wire, timeout_ms, sport, accept):
        """Send wire from local port sport (0: the OS picks), then read
        datagrams until accept(data) returns non-None (returned) or raises,
        or timeout_ms passes (returns None). The socket is connected, so the
        kernel drops datagrams from other addresses."""
        fam, addr = _addr(ip, port, socket.SOCK_DGRAM)
        s = socket.socket(fam, socket.SOCK_DGRAM)
        try:
            if sport:
                local = "::" if fam != socket.AF_INET else "0.0.0.0"
                try:
                    s.bind(_addr(local, sport, socket.SOCK_DGRAM)[1])
                except OSError:
                    s.close()
                    raise TransportError("source port %d is busy" % sport)
            s.connect(addr)
            s.send(wire)
            start = _ticks()
            while True:
                left = timeout_ms - _diff(_ticks(), start)
                if left <= 0:
                    return None
                s.settimeout(left / 1000)
                try:
                    data = s.recv(65535)
                except OSError as e:
                    if _is_timeout(e):
                        return None
                    raise
                r = accept(data)
                if r is not None:
                    return r
        finally:
            s.close()

    def tcp(self, ip, port, wire, timeout_ms):
        """One DNS exchange over TCP with 2-byte length prefixes (RFC 1035
        4.2.2, RFC 7766). Returns the response bytes; raises OSError (or a
        TransportError) on failure, TimeoutError-like OSError on timeout."""
        fam, addr = _addr(ip, port, socket.SOCK_STREAM)
        s = socket.socket(fam, socket.SOCK_STREAM)
        start = _ticks()

        def arm():
            left = timeout_ms - _diff(_ticks(), start)
            if left <= 0:
                raise TransportError(110, "timed out")
            s.settimeout(left / 1000)

        try:
            arm()
            s.connect(addr)
            out = bytes([len(wire) >> 8, len(wire) & 0xFF]) + wire
            sent = 0
            while sent < len(out):
                arm()
                n = s.send(out[sent:])
                if not n:
                    raise TransportError("connection closed while sending")
                sent += n
            head = self._read(s, 2, arm)
            return self._read(s, (head[0] << 8) | head[1], arm)
        except OSError as e:
            if _is_timeout(e) and not isinstance(e, TransportError):
                raise TransportError(110, "no answer over TCP within %d ms"
                                     % timeout_ms)
            raise
        finally:
            s.close()

    def _read(self, s, n, arm):
        buf = bytearray()
        while len(buf) < n:
            arm()
            d = s.recv(n - len(buf))
            if not d:
                raise TransportError("the server closed the TCP connection "
                                     "after %d of %d bytes" % (len(buf), n))
            buf += d
        return bytes(buf)
