"""The outbound queue: temp.json (one entry per recipient) and tmp/ (bodies).

The reference's files keep their meaning: temp.json lists messages waiting
for delivery, each body is tmp/<messageID>. Unlike the reference, every
accepted message goes through it (not only temporary failures), the
messageID is our own unique spool id (a message's Message-ID header can
repeat), and `attempt` counts delivery attempts. One field is added:
`queued_at`, when the message was accepted, which bounds the retries.

Durability: add() returns only once the body and the entries are on disk, so
the SMTP server may then say 250. Delivery results are applied in memory by
record() and written by flush(): the caller flushes at least every second
while delivering, so a crash repeats at most that second's deliveries (at
least once, never none).
"""

import json

from ptt.mail.dates import parse_rfc3339, rfc3339
from ptt.store import schema

TEMP = "temp.json"
TMP = "tmp"

# Retry schedule (RFC 5321 4.5.4.1: retry for at least 4-5 days, the first
# retry after at least 30 minutes is suggested; we start sooner and grow).
FIRST_RETRY = 300           # 5 minutes
MAX_RETRY = 4 * 3600        # at most 4 hours apart
MAX_AGE = 5 * 86400         # then the message is undeliverable


def retry_delay(attempt, first=FIRST_RETRY, cap=MAX_RETRY):
    """Seconds to wait after the ATTEMPT-th failed attempt (1, 2, ...)."""
    d = first
    for _ in range(attempt - 1):
        d *= 2
        if d >= cap:
            return cap
    return min(d, cap)


WAITING = "waiting"
BUSY = "busy"      # handed to a delivery run, result not back yet
DONE = "done"      # delivered or failed; dropped at the next flush


class Entry:
    """One recipient of one queued message."""

    __slots__ = ("sender", "recipient", "msgid", "size", "send_at", "attempt",
                 "counter", "queued_at", "state", "_json")

    def __init__(self, sender, recipient, msgid, size, send_at, attempt, counter, queued_at):
        self.sender = sender
        self.recipient = recipient
        self.msgid = msgid
        self.size = size
        self.send_at = send_at
        self.attempt = attempt
        self.counter = counter
        self.queued_at = queued_at
        self.state = WAITING
        self._json = None  # serialised form, kept until the entry changes

    def domain(self):
        return self.recipient.rsplit("@", 1)[1].lower()

    def to_json(self):
        return {"from": self.sender, "recipient": self.recipient, "messageID": self.msgid,
                "size": self.size, "send_at": rfc3339(self.send_at), "attempt": self.attempt,
                "counter": self.counter, "queued_at": rfc3339(self.queued_at)}

    def json_bytes(self):
        # Flushes rewrite temp.json about every second during a fan-out;
        # re-serialising 10,000 unchanged entries each time made a large
        # fan-out quadratic on MicroPython.
        if self._json is None:
            self._json = json.dumps(self.to_json(), separators=(",", ":")).encode()
        return self._json


def _from_json(e):
    send_at = parse_rfc3339(e["send_at"])
    queued = parse_rfc3339(e["queued_at"]) if "queued_at" in e else send_at
    return Entry(e["from"], e["recipient"], e["messageID"], e["size"], send_at,
                 e["attempt"], e["counter"], queued)


class Queue:
    def __init__(self, files, randbytes, domain, max_age=MAX_AGE, first_retry=FIRST_RETRY):
        self.first_retry = first_retry
        self.files = files
        self.randbytes = randbytes
        self.domain = domain
        self.max_age = max_age
        self.entries = []
        self.dirty = False

    def load(self):
        """Read temp.json; drop bodies nothing refers to. Returns a summary."""
        doc = self.files.read_json(TEMP, schema.temp_problems)
        self.entries = [_from_json(e) for e in doc]
        present = {}
        for msgid in self._msgids():
            present[msgid] = self.files.exists(TMP + "/" + msgid)
        # A body that is gone cannot be sent: drop its entries, keep the rest.
        kept = [e for e in self.entries if present[e.msgid]]
        missing = len(self.entries) - len(kept)
        if missing:
            self.entries = kept
            self.dirty = True
        orphans = self._drop_orphans()
        self.flush()
        return "%d messages queued for %d recipients; %d orphan bodies removed; %d entries without body dropped" % (
            len(self._msgids()), len(self.entries), orphans, missing)

    def _msgids(self):
        ids = {}
        for e in self.entries:
            if e.state != DONE:
                ids[e.msgid] = True
        return ids

    def _drop_orphans(self):
        keep = self._msgids()
        n = 0
        for name in self.files.listdir(TMP):
            if name not in keep:
                self.files.remove(TMP + "/" + name)
                n += 1
        return n

    def new_id(self, now):
        return "%d.%s@%s" % (now, self.randbytes(8).hex(), self.domain)

    def add(self, data, transactions, now, counter=0, msgid=None):
        """Queue DATA for [(sender, [recipients])]; durable when it returns."""
        msgid = msgid or self.new_id(now)
        self.files.write(TMP + "/" + msgid, data)
        for sender, recipients in transactions:
            for r in recipients:
                self.entries.append(Entry(sender, r, msgid, len(data), now, 0, counter, now))
        self.dirty = True
        try:
            self.flush()
        except Exception:
            # Not accepted after all: undo, so the client's retry is the only copy.
            self.entries = [e for e in self.entries if e.msgid != msgid]
            self.files.remove(TMP + "/" + msgid)
            raise
        return msgid

    def body(self, msgid):
        return self.files.read(TMP + "/" + msgid)

    def due(self, now):
        """Entries whose time has come and that no run is delivering."""
        return [e for e in self.entries if e.state == WAITING and e.send_at <= now]

    def next_due(self):
        times = [e.send_at for e in self.entries if e.state == WAITING]
        return min(times) if times else None

    def record(self, entry, outcome, now):
        """Apply one delivery outcome: "delivered", "temporary" or "permanent".

        Returns "delivered", "retry" or "failed" (permanent, or temporary for
        longer than max_age: the caller turns that into a bounce).
        """
        self.dirty = True
        if outcome == "temporary":
            entry._json = None
            entry.attempt += 1
            if now - entry.queued_at < self.max_age:
                entry.send_at = now + retry_delay(entry.attempt, self.first_retry)
                entry.state = WAITING
                return "retry"
        entry.state = DONE
        return "delivered" if outcome == "delivered" else "failed"

    def flush(self):
        """Write temp.json if it changed, then delete bodies no entry needs."""
        if not self.dirty:
            return
        live = []
        finished = {}
        for e in self.entries:
            if e.state == DONE:
                finished[e.msgid] = True
            else:
                live.append(e)
        self.files.write(TEMP, _json_list(live))
        self.entries = live
        self.dirty = False
        # Only bodies whose last recipient just finished can have become
        # unneeded; load() sweeps tmp/ for what a crash left behind.
        needed = self._msgids()
        for msgid in finished:
            if msgid not in needed:
                self.files.remove(TMP + "/" + msgid)

    def __len__(self):
        return len([e for e in self.entries if e.state != DONE])


def _json_list(entries):
    """temp.json as chunks: the same bytes as files.json_chunks, from the
    entries' cached forms."""
    yield b"["
    first = True
    for e in entries:
        yield e.json_bytes() if first else b"," + e.json_bytes()
        first = False
    yield b"]\n"
