"""Which transactions to open for a set of due queue entries (pure).

Recipients are grouped per destination domain (one SMTP session each).
Within a domain, recipients of the same message with the same envelope
sender share one transaction; with VERP every recipient has its own sender,
so each gets its own transaction (RFC 5321 4.5.3.1.8: a server must take
100 recipients per transaction; we send at most MAX_RCPTS).
"""

MAX_RCPTS = 50


def by_domain(entries, max_rcpts=MAX_RCPTS):
    """[(domain, [[entry, ...] one list per transaction])], in queue order.

    One pass, with explicit order lists: MicroPython's dicts don't keep it.
    """
    order = []      # domains, first-seen order
    txns_of = {}    # domain -> [transaction lists], first-seen order
    open_txn = {}   # (domain, msgid, sender) -> the transaction still filling
    for e in entries:
        d = e.domain()
        if d not in txns_of:
            txns_of[d] = []
            order.append(d)
        key = (d, e.msgid, e.sender)
        t = open_txn.get(key)
        if t is None or len(t) >= max_rcpts:
            t = open_txn[key] = []
            txns_of[d].append(t)
        t.append(e)
    return [(d, txns_of[d]) for d in order]
