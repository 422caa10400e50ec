"""The store's JSON documents: names, defaults and validation.

Shared by the lists server (MicroPython) and ptt-tool (CPython), so both
accept and refuse exactly the same files. docs/store.md is the prose version
of this module; keep them in step.

Validators return a list of problems, each "where: what", empty when the
document is valid, so `ptt-tool check` can report every problem at once.
"""

from ptt.mail.address import AddressError, normalize_domain, parse_mailbox

STORE_VERSION = 1

# Words that follow a list name in the addresses the server answers
# (list-subscribe@, list-return-3-a=b@, ...). A list name may contain '-',
# but none of its segments after the first may be one of these, so routing
# by longest list name is never ambiguous (see route_local_part).
COMMAND_WORDS = (
    "subscribe", "unsubscribe", "subscribers", "return", "help", "owner",
    "confirm", "approve", "reject", "moderate", "remove", "bounces",
    "request", "admin", "post",
)
# RFC 2142 role mailboxes must reach a person, never a list.
RESERVED_NAMES = ("postmaster", "abuse", "mailer-daemon", "hostmaster", "noc", "security")
MAX_NAME = 40  # leaves room for "-unsubscribe" and tokens within 64 octets

# Optional per-list settings: name -> (allowed values or type, default).
# Absent fields take the default, so lists written by the reference load.
POLICIES = ("members", "moderated", "announce", "open")
REPLY_TO = ("poster", "list")
DMARC = ("auto", "always", "never")
DEFAULT_MAX_SIZE = 10485760  # the reference's --limit default, 10 MiB
MIN_MAX_SIZE = 1024
MAX_MAX_SIZE = 2147483647
MAX_PREFIX = 64
SETTINGS = {
    "policy": (POLICIES, "members"),
    "subject_prefix": (str, ""),
    "reply_to": (REPLY_TO, "poster"),
    "max_size": (int, DEFAULT_MAX_SIZE),
    "dmarc": (DMARC, "auto"),
}
LIST_FIELDS = ("counter", "subscribers", "moderators")


class SchemaError(ValueError):
    pass


def _is_int(x):
    # bool is an int subclass on CPython (not on MicroPython): refuse it.
    return isinstance(x, int) and x is not True and x is not False


def check_list_name(name):
    """Return the stored form of a list name (lowercase) or raise SchemaError."""
    if not isinstance(name, str) or not name:
        raise SchemaError("list name is empty")
    n = "".join(c.lower() if ord(c) < 0x80 else c for c in name)
    if len(n) > MAX_NAME:
        raise SchemaError("list name %s is longer than %d characters" % (name, MAX_NAME))
    for c in n:
        if not (("a" <= c <= "z") or ("0" <= c <= "9") or c in "._-"):
            raise SchemaError("list name %s may only hold a-z, 0-9, '.', '_' and '-' (found %r)" % (name, c))
    if n[0] in ".-_" or n[-1] in ".-_":
        raise SchemaError("list name %s must start and end with a letter or digit" % name)
    if ".." in n or "--" in n:
        raise SchemaError("list name %s holds an empty segment ('..' or '--')" % name)
    if n in RESERVED_NAMES:
        raise SchemaError("%s is a role address (RFC 2142) and cannot be a list" % n)
    for seg in n.split("-")[1:]:
        if seg in COMMAND_WORDS:
            raise SchemaError(
                "list name %s contains -%s, which the server reads as a command; choose another name" % (name, seg))
    return n


def route_local_part(local, names):
    """Split a local part into (list name, command remainder) or None.

    The longest list name that is the whole local part, or is followed by
    '-', wins; since names carry no command word after their first segment,
    at most one candidate leaves a remainder starting with a command word.
    """
    lp = "".join(c.lower() if ord(c) < 0x80 else c for c in local)
    best = None
    for n in names:
        if lp == n or (lp.startswith(n) and lp[len(n)] == "-"):
            if best is None or len(n) > len(best):
                best = n
    if best is None:
        return None
    return best, lp[len(best) + 1:]


def parse_setting(key, text):
    """A setting's value from its text form (CLI); raise SchemaError."""
    if key not in SETTINGS:
        raise SchemaError("unknown setting %s (known: %s)" % (key, ", ".join(sorted(SETTINGS))))
    kind = SETTINGS[key][0]
    if kind is int:
        try:
            value = int(text)
        except ValueError:
            raise SchemaError("%s must be a whole number of bytes, not %r" % (key, text))
    else:
        value = text
    problems = setting_problems(key, value)
    if problems:
        raise SchemaError(problems[0])
    return value


def setting_problems(key, value):
    kind, _ = SETTINGS[key]
    if kind is int:
        if not _is_int(value):
            return ["%s: must be an integer" % key]
        if not MIN_MAX_SIZE <= value <= MAX_MAX_SIZE:
            return ["%s: %d is outside %d..%d" % (key, value, MIN_MAX_SIZE, MAX_MAX_SIZE)]
        return []
    if kind is str:
        if not isinstance(value, str):
            return ["%s: must be a string" % key]
        if len(value) > MAX_PREFIX:
            return ["%s: longer than %d characters" % (key, MAX_PREFIX)]
        for c in value:
            if ord(c) < 32 or ord(c) == 127:
                return ["%s: control characters are not allowed" % key]
        return []
    if value not in kind:
        return ["%s: %r is not one of %s" % (key, value, ", ".join(kind))]
    return []


def setting(lst, key):
    """A list's setting, or its default when the field is absent."""
    return lst[key] if key in lst else SETTINGS[key][1]


def new_list(moderators, subscribers):
    return {"counter": 0, "subscribers": list(subscribers), "moderators": list(moderators)}


def _address_problems(where, items):
    problems = []
    if not isinstance(items, list):
        return ["%s: must be a list of addresses" % where]
    seen = {}
    for i, a in enumerate(items):
        w = "%s[%d]" % (where, i)
        if not isinstance(a, str):
            problems.append("%s: must be a string" % w)
            continue
        try:
            addr = parse_mailbox(a)
        except AddressError as e:
            problems.append("%s: %r is not a valid address: %s" % (w, a, e))
            continue
        if str(addr) != a:
            problems.append("%s: %r is not in stored form (expected %r)" % (w, a, str(addr)))
        k = addr.key()
        if k in seen:
            problems.append("%s: %s is listed twice (also at index %d)" % (w, a, seen[k]))
        else:
            seen[k] = i
    return problems


def list_problems(obj):
    """Problems of a lists/NAME.json document."""
    if not isinstance(obj, dict):
        return ["top level: must be an object"]
    problems = []
    for f in LIST_FIELDS:
        if f not in obj:
            problems.append("%s: missing" % f)
    if "counter" in obj and (not _is_int(obj["counter"]) or obj["counter"] < 0):
        problems.append("counter: must be a non-negative integer")
    for f in ("subscribers", "moderators"):
        if f in obj:
            problems.extend(_address_problems(f, obj[f]))
    if isinstance(obj.get("moderators"), list) and not obj["moderators"]:
        problems.append("moderators: a list needs at least one moderator")
    for k in obj:
        if k in LIST_FIELDS:
            continue
        if k in SETTINGS:
            problems.extend(setting_problems(k, obj[k]))
        else:
            problems.append("%s: unknown field" % k)
    return problems


def _rfc3339_problem(where, s):
    # RFC 3339 5.6 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
    if not isinstance(s, str) or len(s) < 20:
        return "%s: %r is not an RFC 3339 date-time" % (where, s)
    digits = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
    ok = all(s[i].isdigit() for i in digits) and s[4] == "-" and s[7] == "-" \
        and s[10] in "Tt" and s[13] == ":" and s[16] == ":"
    rest = s[19:]
    if ok and rest.startswith("."):
        j = 1
        while j < len(rest) and rest[j].isdigit():
            j += 1
        ok = j > 1
        rest = rest[j:]
    if ok:
        ok = rest in ("Z", "z") or (len(rest) == 6 and rest[0] in "+-" and rest[1:3].isdigit()
                                      and rest[3] == ":" and rest[4:6].isdigit())
    return None if ok else "%s: %r is not an RFC 3339 date-time" % (where, s)


def _bounce_key_problem(where, k):
    if not (k.startswith("<") and k.endswith(">")):
        return "%s: key %r must be an address in angle brackets" % (where, k)
    try:
        parse_mailbox(k[1:-1])
    except AddressError as e:
        return "%s: key %r is not a valid address: %s" % (where, k, e)
    return None


def _counters_problem(where, v):
    if not isinstance(v, list) or not all(_is_int(x) and x >= 0 for x in v):
        return "%s: must be a list of post counters (non-negative integers)" % where
    return None


def bounces_problems(obj):
    """Problems of bounces.json (reference schema, lib/bounces.ml)."""
    if not isinstance(obj, dict):
        return ["top level: must be an object"]
    problems = []
    for f in ("failures", "possibly_fixed"):
        if f not in obj:
            problems.append("%s: missing" % f)
        elif not isinstance(obj[f], dict):
            problems.append("%s: must be an object" % f)
    for k in obj:
        if k not in ("failures", "possibly_fixed", "lists"):
            problems.append("%s: unknown field" % k)
    # Ours, optional: per list, per address, the bounced posts with their
    # times ([[counter, RFC 3339], ...]), for "3 posts within 30 days".
    per_list = obj.get("lists", {})
    if not isinstance(per_list, dict):
        problems.append("lists: must be an object")
        per_list = {}
    for name, addrs in per_list.items():
        if not isinstance(addrs, dict):
            problems.append("lists.%s: must be an object" % name)
            continue
        for k, v in addrs.items():
            w = "lists.%s.%s" % (name, k)
            p = _bounce_key_problem("lists.%s" % name, k)
            if not p and not (isinstance(v, list) and all(
                    isinstance(x, list) and len(x) == 2 and _is_int(x[0]) and x[0] >= 0 for x in v)):
                p = "%s: must be a list of [counter, date-time] pairs" % w
            if not p:
                for x in v:
                    p = p or _rfc3339_problem(w, x[1])
            if p:
                problems.append(p)
    failures = obj.get("failures")
    fixed = obj.get("possibly_fixed")
    for k, v in (failures.items() if isinstance(failures, dict) else ()):
        w = "failures.%s" % k
        p = _bounce_key_problem("failures", k) or _counters_problem(w, v)
        if p:
            problems.append(p)
    for k, v in (fixed.items() if isinstance(fixed, dict) else ()):
        w = "possibly_fixed.%s" % k
        p = _bounce_key_problem("possibly_fixed", k)
        if p:
            problems.append(p)
        if not isinstance(v, dict) or "expire_at" not in v or "attempts" not in v:
            problems.append("%s: must be an object with expire_at and attempts" % w)
            continue
        p = _rfc3339_problem(w + ".expire_at", v["expire_at"]) or _counters_problem(w + ".attempts", v["attempts"])
        if p:
            problems.append(p)
    return problems


TEMP_FIELDS = ("from", "recipient", "messageID", "size", "send_at", "attempt", "counter")


def temp_problems(obj):
    """Problems of temp.json (reference schema, lib/temp.ml)."""
    if not isinstance(obj, list):
        return ["top level: must be a list"]
    problems = []
    for i, e in enumerate(obj):
        w = "[%d]" % i
        if not isinstance(e, dict):
            problems.append("%s: must be an object" % w)
            continue
        for f in TEMP_FIELDS:
            if f not in e:
                problems.append("%s.%s: missing" % (w, f))
        for f in ("from", "recipient"):
            if isinstance(e.get(f), str):
                try:
                    parse_mailbox(e[f])
                except AddressError as err:
                    problems.append("%s.%s: %r is not a valid address: %s" % (w, f, e[f], err))
            elif f in e:
                problems.append("%s.%s: must be a string" % (w, f))
        mid = e.get("messageID")
        if "messageID" in e and (not isinstance(mid, str) or not mid or "/" in mid or "\\" in mid):
            problems.append("%s.messageID: must be a non-empty file name (no '/')" % w)
        for f in ("size", "attempt", "counter"):
            if f in e and (not _is_int(e[f]) or e[f] < 0):
                problems.append("%s.%s: must be a non-negative integer" % (w, f))
        for f in ("send_at", "queued_at"):  # queued_at: ours, optional
            if f in e:
                p = _rfc3339_problem("%s.%s" % (w, f), e[f])
                if p:
                    problems.append(p)
    return problems


def store_meta_problems(obj):
    """Problems of store.json (ours; absent on reference images)."""
    if not isinstance(obj, dict):
        return ["top level: must be an object"]
    problems = []
    if obj.get("version") != STORE_VERSION:
        problems.append("version: must be %d" % STORE_VERSION)
    if "domain" in obj:
        try:
            if normalize_domain(obj["domain"], fqdn=True) != obj["domain"]:
                problems.append("domain: %r is not in stored form" % obj["domain"])
        except Exception as e:
            problems.append("domain: %r is not a valid domain: %s" % (obj.get("domain"), e))
    s = obj.get("secret")
    if not isinstance(s, str) or len(s) < 43:
        problems.append("secret: must be base64 of at least 32 random bytes")
    for k in obj:
        if k not in ("version", "domain", "secret"):
            problems.append("%s: unknown field" % k)
    return problems
