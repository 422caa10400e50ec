"""Delivery status notification (RFC 3464, RFC 6522 multipart/report) for
recipients the next hop refused after others were accepted (pure).

    msg = build("signer.example.org", now, "<rand>", "alice@example.org",
                [("bob@example.net", reply)], original_message, "mx.example.net")

The DSN goes to the original reverse-path with a null reverse-path (RFC
5321 4.5.5) and carries the original header section (text/rfc822-headers).
"""
from ptt.mail import dates as _dates
from ptt.mail import headers as _headers

MAX_HEADERS_COPY = 64 * 1024


def build(reporting_mta, now, unique, sender, failed, original, hop):
    """-> message bytes (CRLF lines)."""
    boundary = "ptt-dsn-" + unique
    date = _dates.rfc5322(now)
    try:
        hdrs, _ = _headers.parse(original)
        head = _headers.serialize(hdrs)
    except ValueError:
        head = b""
    if len(head) > MAX_HEADERS_COPY:
        head = head[:MAX_HEADERS_COPY]
    human = ["This is the mail system at %s (ptt signer)." % reporting_mta, "",
             "Your message was relayed, but %s refused these recipients," % hop,
             "so it was NOT delivered to them:", ""]
    for rcpt, reply in failed:
        human.append("<%s>: %s" % (rcpt, _reply_text(reply)))
    human += ["", "The other recipients received it. Check the addresses above, or",
              "send the message again to these recipients only."]
    status = ["Reporting-MTA: dns; %s" % reporting_mta,
              "Arrival-Date: %s" % date, ""]
    for rcpt, reply in failed:
        permanent = reply.code >= 500
        code = reply.status or ("5.0.0" if permanent else "4.0.0")
        if not permanent:
            code = "5" + code[1:]   # we keep no spool: no later retry here
        status += ["Final-Recipient: rfc822; %s" % rcpt,
                   "Action: failed",
                   "Status: %s" % code,
                   "Remote-MTA: dns; %s" % hop,
                   "Diagnostic-Code: smtp; %s" % _reply_text(reply), ""]
    out = [
        "From: Mail Delivery System <MAILER-DAEMON@%s>" % reporting_mta,
        "To: <%s>" % sender,
        "Subject: Undelivered Mail: some recipients refused",
        "Date: %s" % date,
        "Message-ID: <%s@%s>" % (unique, reporting_mta),
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="%s"' % boundary,
        "",
        "--" + boundary,
        "Content-Type: text/plain; charset=us-ascii",
        "",
    ] + human + [
        "",
        "--" + boundary,
        "Content-Type: message/delivery-status",
        "",
    ] + status + [
        "--" + boundary,
        "Content-Type: text/rfc822-headers",
        "",
    ]
    text = "\r\n".join(out).encode() + b"\r\n" + head
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    return text + ("\r\n--%s--\r\n" % boundary).encode()


def _reply_text(reply):
    s = "%d %s%s" % (reply.code, (reply.status + " ") if reply.status else "", " ".join(reply.lines))
    return "".join(c if " " <= c <= "~" else "?" for c in s)[:500]
