"""The signing relay (the `signer` image): DKIM and ARC signing in line,
relaying to --dst or the recipients' MX, publishing its own DKIM keys.

    args.py      boot-argument spec and checks -> Config
    keyset.py    keys, seed derivation, selectors and rotation (pure)
    dnsconf.py   which TXT records to publish/delete (pure) + sync (thin I/O)
    relay.py     trust, routing, next-hop outcome -> reply, Received (pure)
    dsn.py       delivery status notification for mixed outcomes (pure)
    signing.py   sign or seal one message with the current keys (pure)
    service.py   the SMTP handler for net/smtp_server.serve (I/O injected)
    hostrun.py   run the relay on a host (tests, development)

See docs/signer.md.
"""
