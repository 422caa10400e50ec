"""Pending requests: on-disk documents that wait for a token.

One document per request, pending/ID.json (ID: tokens.ID_LEN base32
characters); a held post's message is beside it, pending/ID.eml.

    {"id": "k3q7z", "list": "NAME", "kind": KIND, "stage": STAGE,
     "address": "a@b", "created": RFC3339, "expires": RFC3339, ...}

kind    subscribe | unsubscribe | remove | post
stage   confirm  (waits for NAME-confirm-TOKEN@ from the address's owner
                  or, for remove, from the moderator who asked)
        approve  (waits for NAME-approve-TOKEN@ or NAME-reject-TOKEN@
                  from a moderator)
address the member to add or remove; for a post, its author
extra   by (remove: the moderator who asked), sender (post: envelope
        sender), size (post: bytes), subject (post: text), sent (RFC3339
        of the last confirmation mail, to resend at most once an hour)

The token MAC covers list, address, action, ID and expires, so changing
any of them on disk voids the tokens already mailed out.
"""

from ptt.lists import tokens
from ptt.lists.notices import DAY
from ptt.mail.dates import parse_rfc3339, rfc3339

SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
REMOVE = "remove"
POST = "post"
CONFIRM = "confirm"
APPROVE = "approve"

CONFIRM_TTL = 7 * DAY       # a confirmation mail is valid a week
APPROVE_TTL = 14 * DAY      # moderators have two weeks
RESEND_AFTER = 3600         # a repeated request resends at most hourly


def new(ctx, taken, lst, kind, address, stage, extra=None):
    ttl = CONFIRM_TTL if stage == CONFIRM else APPROVE_TTL
    doc = {"id": tokens.new_id(ctx.randbytes, taken), "list": lst, "kind": kind,
           "stage": stage, "address": str(address), "created": rfc3339(ctx.now),
           "expires": rfc3339(ctx.now + ttl)}
    if extra:
        for k in extra:
            doc[k] = extra[k]
    return doc


def to_stage(ctx, doc, stage):
    """A copy of doc moved to `stage` with a fresh expiry (new tokens)."""
    d = dict(doc)
    d["stage"] = stage
    d["expires"] = rfc3339(ctx.now + (CONFIRM_TTL if stage == CONFIRM else APPROVE_TTL))
    return d


def expired(doc, now):
    try:
        return parse_rfc3339(doc["expires"]) <= now
    except (KeyError, ValueError):
        return True


def problems(doc):
    """What is wrong with a pending/ID.json document (empty if fine)."""
    if not isinstance(doc, dict):
        return ["top level: must be an object"]
    out = []
    for f in ("id", "list", "kind", "stage", "address", "created", "expires"):
        if not isinstance(doc.get(f), str):
            out.append("%s: missing or not a string" % f)
    if doc.get("kind") not in (SUBSCRIBE, UNSUBSCRIBE, REMOVE, POST):
        out.append("kind: %r is not subscribe, unsubscribe, remove or post" % doc.get("kind"))
    if doc.get("stage") not in (CONFIRM, APPROVE):
        out.append("stage: %r is not confirm or approve" % doc.get("stage"))
    for f in ("created", "expires"):
        try:
            parse_rfc3339(doc.get(f, ""))
        except (ValueError, TypeError):
            out.append("%s: not an RFC 3339 date-time" % f)
    return out
