"""Does the poster's domain ask receivers to refuse mail that fails DMARC?

A list that forwards a post breaks the poster's SPF (and DKIM, when the
Subject is tagged), so a receiver applying p=quarantine or p=reject would
bin or bounce it. `must_mitigate` says when the list should send the post
From its own address instead (RFC 7960 4.1.3.1, "From rewriting").

Policy discovery without the Public Suffix List: the DNS tree walk of
DMARCbis (draft-ietf-dmarc-dmarcbis, 4.10): ask _dmarc.<From domain>; if
there is no DMARC record, drop labels from the left (jumping straight to
the last 7 labels of a longer name) and ask again, up to and including the
top-level domain; the first record found is the policy. A record found at
the From domain itself gives p=; one found above it gives sp= when present,
else p= (RFC 7489 6.6.3). This finds the organisational record wherever
the domain's owners put it, and public-suffix operators (psd=y records) are
honoured the same way. At most 8 lookups; `lookup_names` lists them, so a
caller can resolve them ahead and pass a function over the answers.

`txt(name)` returns the TXT records at `name` (a list of str, each record's
strings joined), [] when there is none (NXDOMAIN or no TXT), and raises on
failure (timeout, SERVFAIL). A failure means "in doubt", and in doubt we
mitigate (fail closed: peers-and-standards.md, mailman#415).
"""

MITIGATE = ("quarantine", "reject")
MAX_WALK = 8


class Policy:
    """Outcome of discovery: policy ('none', 'quarantine', 'reject' or None
    when no record), where it was found, and error (text) on failure."""

    __slots__ = ("policy", "found_at", "error")

    def __init__(self, policy, found_at=None, error=None):
        self.policy = policy
        self.found_at = found_at
        self.error = error

    def __repr__(self):
        return "Policy(%r, %r, %r)" % (self.policy, self.found_at, self.error)


def lookup_names(domain):
    """The _dmarc names the tree walk may ask for, in order."""
    labels = domain.lower().rstrip(".").split(".")
    names = ["_dmarc." + ".".join(labels)]
    if len(labels) > MAX_WALK:
        labels = labels[-(MAX_WALK - 1):]
    else:
        labels = labels[1:]
    while labels:
        names.append("_dmarc." + ".".join(labels))
        labels = labels[1:]
    return names


def parse_record(text):
    """A DMARC record's tags as a dict, or None if it is not one (RFC 7489
    6.3: it starts with v=DMARC1)."""
    tags = {}
    parts = text.split(";")
    for i, part in enumerate(parts):
        k, eq, v = part.partition("=")
        k = k.strip().lower()
        if not eq:
            if k:
                return None if i == 0 else tags
            continue
        if i == 0 and (k != "v" or v.strip() != "DMARC1"):
            return None
        tags[k] = v.strip()
    return tags if tags else None


def discover(domain, txt):
    """Walk the tree for `domain`; returns a Policy."""
    names = lookup_names(domain)
    for n, name in enumerate(names):
        try:
            records = txt(name)
        except Exception as e:
            return Policy(None, name, "DNS lookup of %s failed: %s" % (name, e))
        found = []
        for r in records or ():
            if isinstance(r, bytes):
                r = r.decode()
            t = parse_record(r)
            if t is not None:
                found.append(t)
        if len(found) > 1:
            return Policy(None, name, "%s holds %d DMARC records (it must hold one)"
                          % (name, len(found)))
        if found:
            tags = found[0]
            p = tags.get("p", "").lower()
            if n > 0 and "sp" in tags:
                p = tags["sp"].lower()
            if p not in ("none", "quarantine", "reject"):
                # RFC 7489 6.6.3: an invalid p= with a valid rua= means none;
                # we cannot tell what the owner meant: treat as in doubt.
                return Policy(None, name, "%s has no valid p= (%r)" % (name, p))
            return Policy(p, name)
    return Policy(None)


def must_mitigate(setting, domain, txt):
    """(bool, reason text) for the list's `dmarc` setting and the poster's
    From domain (None if the From has no usable address)."""
    if setting == "never":
        return False, "the list's dmarc setting is never"
    if setting == "always":
        return True, "the list's dmarc setting is always"
    if not domain:
        return True, "the From has no address whose DMARC policy could be checked"
    pol = discover(domain, txt)
    if pol.error:
        return True, pol.error + "; rewriting From to be safe"
    if pol.policy in MITIGATE:
        return True, "%s publishes p=%s" % (pol.found_at, pol.policy)
    if pol.policy is None:
        return False, "%s publishes no DMARC policy" % domain
    return False, "%s publishes p=%s" % (pol.found_at, pol.policy)
