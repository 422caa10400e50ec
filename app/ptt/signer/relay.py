"""Relay decisions of the signer (pure: no sockets, no clock).

Policy (docs/signer.md):
- Only clients in the trusted networks may relay; the others get
  550 5.7.1 at MAIL FROM. There is no open-relay path.
- One next hop per transaction: with --dst every recipient goes there;
  without it, the first recipient's domain pins the transaction and a
  recipient in another domain gets 452 4.5.3 (RFC 5321 4.5.3.1.10: the
  client sends it in a new transaction). So one DATA reply can stand for
  one next hop.
- The client's DATA reply is the next hop's outcome: 250 only after the
  next hop accepted; all recipients refused -> the next hop's reply (4xx if
  any refusal was temporary, so nothing is bounced that a retry could
  deliver); mixed (some accepted, some refused) -> see `outcome`.
"""
from ptt.dns import wire as W
from ptt.smtp.replies import Reply
from ptt.smtp import client as _client

R550_NOT_TRUSTED = Reply(550, "5.7.1", "relaying denied: your address is not in this signer's "
                         "trusted networks (--trusted); it signs mail only for its own servers")
R452_OTHER_ROUTE = Reply(452, "4.5.3", "this recipient's domain has another mail exchanger: "
                         "send it in a separate transaction after this one")
R250_RCPT = Reply(250, "2.1.5", "recipient accepted; the message is relayed and signed when "
                  "it is complete")
R250_MAIL = Reply(250, "2.1.0", "sender accepted; send RCPT TO next")
R554_LOOP = Reply(554, "5.4.6", "mail loop: the message has passed too many hops (Received "
                  "fields); check the routing between the signer and its next hop")
R451_NO_ROUTE = Reply(451, "4.4.3", "cannot find the next hop for this domain right now (DNS); "
                      "try again later")

MAX_RECEIVED = 30
MIXED_DSN = "dsn"


def peer_ip(peer):
    """The client's address from Session.peer, the (ip text, port) pair of
    net.compat.peer_address -> (family 4|6, bytes) or None. IPv4-mapped IPv6
    addresses count as IPv4 (ipv6_bytes reads their dotted tail)."""
    host = peer[0] if isinstance(peer, tuple) and peer else None
    if not isinstance(host, str) or not host:
        return None
    try:
        if ":" in host:
            a = W.ipv6_bytes(host)
            if a[:12] == b"\0" * 10 + b"\xff\xff":
                return (4, a[12:])
            return (6, a)
        return (4, W.ipv4_bytes(host))
    except W.FormatError:
        return None


def in_network(ip, net):
    """ip: (fam, bytes); net: (fam, bytes, prefix)."""
    if ip[0] != net[0]:
        return False
    a, b, plen = ip[1], net[1], net[2]
    full = plen // 8
    if a[:full] != b[:full]:
        return False
    rest = plen % 8
    if rest:
        mask = (0xFF << (8 - rest)) & 0xFF
        return (a[full] & mask) == (b[full] & mask)
    return True


def trusted(ip, networks):
    if ip is None:
        return False
    for net in networks:
        if in_network(ip, net):
            return True
    return False


def ip_text(ip):
    if ip is None:
        return "unknown"
    if ip[0] == 4:
        return ".".join(str(x) for x in ip[1])
    h = ip[1].hex()
    return ":".join(h[i:i + 4] for i in range(0, 32, 4))


def route_key(recipient, dst):
    """The next hop a recipient needs: "dst" with --dst, else its domain."""
    if dst is not None:
        return "dst"
    return recipient.rpartition("@")[2].lower()


def count_received(headers):
    n = 0
    for name, _ in headers:
        if name.lower() == b"received":
            n += 1
    return n


def received(helo, ip, by, tls, now_text, recipient=None):
    """RFC 5321 4.4 trace field (bytes, with CRLF)."""
    helo = helo or "unknown"
    safe = "".join(c for c in helo if " " < c <= "~" and c not in "()[];\\")[:100] or "unknown"
    lit = ip_text(ip)
    if ip is not None and ip[0] == 6:
        lit = "IPv6:" + lit
    line = "Received: from %s ([%s])\r\n\tby %s (ptt signer) with %s" % (
        safe, lit, by, "ESMTPS" if tls else "ESMTP")
    if recipient:
        line += "\r\n\tfor <%s>" % recipient
    return (line + ";\r\n\t" + now_text + "\r\n").encode()


def _hop_reply(reply, hop):
    """The next hop's reply, passed back with its code and enhanced status,
    its text saying where it came from."""
    status = reply.status
    if status is None:
        status = "%d.0.0" % (reply.code // 100)
    text = "%s said: %s" % (hop, " ".join(reply.lines))
    # 421 would close *our* session (RFC 5321 3.8); the next hop's trouble
    # is a plain temporary failure of this transaction.
    code = 451 if reply.code == 421 else reply.code
    return Reply(code, status, text[:400])


def outcome(results, hop):
    """Per-recipient results of one relayed transaction -> (reply, failed).

    results: [RecipientResult] (ptt.smtp.client). reply is the client's
    DATA answer; failed is [(recipient, Reply)] when the outcome was mixed
    (the caller reports those with a DSN before answering), else [].
    """
    ok = [r for r in results if r.status == _client.DELIVERED]
    bad = [r for r in results if r.status != _client.DELIVERED]
    if not results:
        return Reply(451, "4.3.0", "nothing was relayed (no recipients); try again"), []
    if not bad:
        last = ok[0].reply
        return Reply(250, "2.0.0", ("relayed and signed: %s said: %s"
                                    % (hop, " ".join(last.lines)))[:400]), []
    if not ok:
        temp = [r for r in bad if r.status == _client.TEMPORARY]
        pick = temp[0] if temp else bad[0]
        return _hop_reply(pick.reply, hop), []
    failed = [(r.recipient, r.reply) for r in bad]
    return Reply(250, "2.0.0", "relayed and signed for %d of %d recipients (%s); the others "
                 "were refused and a delivery status notification went to the sender"
                 % (len(ok), len(results), hop)), failed


def dsn_failed_reply(n_ok, n_all, hop):
    """The mixed case when the DSN could not be handed off: a temporary
    failure (the client retries; the recipients who got it may get a
    duplicate, which is better than a silent loss)."""
    return Reply(451, "4.4.0", "%s accepted %d of %d recipients but refused the others, and "
                 "the failure report could not be sent; retrying may deliver a duplicate "
                 "to the %d who got it" % (hop, n_ok, n_all, n_ok))
