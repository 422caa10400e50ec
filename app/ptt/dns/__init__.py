"""Our own DNS code, for MicroPython and CPython.

- wire: RFC 1035 message encode/decode (sans-I/O, strict and bounded)
- resolver: query building, answer checking, MX choice (sans-I/O)
- update, tsig: RFC 2136 UPDATE messages signed with RFC 8945 TSIG (sans-I/O)
- client: the I/O layer (UDP with TCP fallback, retries; UPDATE over TCP)
- transport: the only module here that touches sockets and the clock
"""
