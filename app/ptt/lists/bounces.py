"""Bounce accounting in bounces.json.

The reference's fields (`failures`, `possibly_fixed`: address-keyed post
counters without times, shared by all lists) cannot say "3 posts within 30
days" nor which list a counter belongs to, so we keep ours in a third
field and leave the reference's two as we found them:

    {"failures": {...}, "possibly_fixed": {...},
     "lists": {"NAME": {"<a@b>": [[COUNTER, "RFC3339"], ...]}}}

Each pair is one post that bounced permanently for that member, with the
time the bounce was counted; a post counts once however many bounces it
causes. Pairs older than the window are dropped. When THRESHOLD distinct
posts bounced within WINDOW the member is removed from the list.
"""

from ptt.lists.notices import DAY
from ptt.mail.dates import parse_rfc3339, rfc3339

THRESHOLD = 3
WINDOW = 30 * DAY


def empty():
    return {"failures": {}, "possibly_fixed": {}, "lists": {}}


def _copy(doc):
    d = dict(doc) if doc else empty()
    d.setdefault("failures", {})
    d.setdefault("possibly_fixed", {})
    d["lists"] = dict(d.get("lists") or {})
    return d


def _recent(pairs, now, window):
    out = []
    for p in pairs or ():
        try:
            if parse_rfc3339(p[1]) > now - window:
                out.append([p[0], p[1]])
        except (ValueError, TypeError, IndexError):
            continue
    return out


def record(doc, name, address, counter, now, threshold=THRESHOLD, window=WINDOW):
    """Count a bounce of post `counter` for member `address` (stored form).

    Returns (new doc, counters within the window, removal due: bool).
    When removal is due the member's entry is already deleted."""
    d = _copy(doc)
    per = dict(d["lists"].get(name) or {})
    key = "<%s>" % address
    pairs = _recent(per.get(key), now, window)
    if counter not in [p[0] for p in pairs]:
        pairs.append([counter, rfc3339(now)])
    posts = [p[0] for p in pairs]
    due = len(pairs) >= threshold
    if due:
        per.pop(key, None)
    else:
        per[key] = pairs
    if per:
        d["lists"][name] = per
    else:
        d["lists"].pop(name, None)
    return d, posts, due


def forget(doc, name, address):
    """Drop a member's record (unsubscribed or removed); None if none."""
    per = (doc or {}).get("lists", {}).get(name) or {}
    key = "<%s>" % address
    if key not in per:
        return None
    d = _copy(doc)
    per = dict(per)
    del per[key]
    if per:
        d["lists"][name] = per
    else:
        d["lists"].pop(name, None)
    return d


def prune(doc, now, window=WINDOW):
    """Drop pairs older than the window; None if nothing changed."""
    lists = (doc or {}).get("lists") or {}
    changed = False
    new = {}
    for name in lists:
        per = {}
        for key in lists[name]:
            pairs = _recent(lists[name][key], now, window)
            if len(pairs) != len(lists[name][key]):
                changed = True
            if pairs:
                per[key] = pairs
        if per:
            new[name] = per
        elif lists[name]:
            changed = True
    if not changed:
        return None
    d = _copy(doc)
    d["lists"] = new
    return d
