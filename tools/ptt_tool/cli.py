"""ptt-tool: the host side of ptt.

Exit status: 0 done, 1 error (one line saying what and what to do), 2 usage.
"""

import argparse
import json
import os
import subprocess
import sys

from ptt.store import schema

from . import fatimage
from .fatimage import ImageError
from .store import (BOUNCES, EMPTY_BOUNCES, EMPTY_TEMP, LISTS, META, PENDING, TEMP, TMP,
                    Store, encode, host_address, host_domain, new_meta)


def _count(n, word):
    return "%d %s" % (n, word if n == 1 else word + ("es" if word.endswith("s") else "s"))


# --- create / add ---------------------------------------------------------

def cmd_create(args):
    size = fatimage.parse_size(args.size)
    domain = host_domain(args.domain) if args.domain else None
    files = {
        BOUNCES: encode(EMPTY_BOUNCES),
        TEMP: encode(EMPTY_TEMP),
        META: encode(new_meta(domain)),
    }
    fatimage.create(args.image, size, [LISTS, TMP, PENDING], files)
    print("created %s: FAT32, %d MiB, with lists/, tmp/, pending/, bounces.json, temp.json, store.json%s"
          % (args.image, size // fatimage.MiB, ", domain " + domain if domain else ""))
    return 0


def _unique(addrs):
    out, seen = [], set()
    for a in addrs:
        if a.key() not in seen:
            seen.add(a.key())
            out.append(a)
    return out


def cmd_add(args):
    try:
        name = schema.check_list_name(args.list)
    except schema.SchemaError as e:
        raise ImageError(str(e))
    moderators = _unique(host_address(m) for m in args.moderator)
    subscribers = _unique(host_address(s) for s in (args.subscriber or []))
    with fatimage.editing(args.image) as vol:
        st = Store(vol)
        domain = st.domain(args.domain, record=True)
        if name in st.list_names():
            raise ImageError("list %s@%s already exists" % (name, domain))
        for a in moderators + subscribers:
            if a.domain == domain and schema.route_local_part(a.local, st.list_names() + [name]):
                raise ImageError("%s is an address of this list server: it would loop" % a)
        st.save_list(name, schema.new_list([str(a) for a in moderators], [str(a) for a in subscribers]))
    print("added list %s@%s: %s, %s" % (name, domain, _count(len(moderators), "moderator"),
                                        _count(len(subscribers), "subscriber")))
    return 0


# --- membership -----------------------------------------------------------

ROLE = {
    "add-moderator": ("moderators", True, "a moderator"),
    "remove-moderator": ("moderators", False, "a moderator"),
    "subscribe": ("subscribers", True, "subscribed"),
    "unsubscribe": ("subscribers", False, "subscribed"),
}


def cmd_member(args):
    if len(args.target) == 1:
        list_arg, email = None, args.target[0]
    elif len(args.target) == 2:
        list_arg, email = args.target
    else:
        args.parser.error("give [LIST] EMAIL")
    field, adding, what = ROLE[args.command]
    addr = host_address(email)
    with fatimage.editing(args.image) as vol:
        st = Store(vol)
        domain = st.domain(args.domain, record=True)
        name = st.resolve_list(list_arg)
        lst = st.load_list(name)
        keys = [host_address(a).key() for a in lst[field]]
        present = addr.key() in keys
        where = "%s@%s" % (name, domain)
        if adding and present:
            print("%s is already %s of %s; nothing changed" % (addr, what if field == "moderators" else what + " to", where))
            return 0
        if not adding and not present:
            print("%s is not %s %s; nothing changed" % (addr, what if field == "moderators" else what + " to", where))
            return 0
        if adding:
            st.refuse_loop(addr, domain)
            lst[field].append(str(addr))
        else:
            if field == "moderators" and len(lst[field]) == 1:
                raise ImageError("%s is the last moderator of %s; add another moderator first" % (addr, where))
            del lst[field][keys.index(addr.key())]
        st.save_list(name, lst)
    verb = {"add-moderator": "is now a moderator of", "remove-moderator": "is no longer a moderator of",
            "subscribe": "is now subscribed to", "unsubscribe": "is no longer subscribed to"}[args.command]
    print("%s %s %s" % (addr, verb, where))
    return 0


# --- set ------------------------------------------------------------------

def cmd_set(args):
    changes = []
    for item in args.settings:
        key, eq, text = item.partition("=")
        if not eq:
            args.parser.error("settings are KEY=VALUE, got %r" % item)
        key = key.strip().replace("-", "_")
        try:
            changes.append((key, schema.parse_setting(key, text)))
        except schema.SchemaError as e:
            raise ImageError(str(e))
    with fatimage.editing(args.image) as vol:
        st = Store(vol)
        name = st.resolve_list(args.list)
        lst = st.load_list(name)
        for key, value in changes:
            if value == schema.SETTINGS[key][1]:
                lst.pop(key, None)  # the default: keep the file reference-shaped
            else:
                lst[key] = value
        st.save_list(name, lst)
    for key, value in changes:
        print("%s: %s = %s" % (name, key, json.dumps(value, ensure_ascii=False)))
    return 0


# --- show -----------------------------------------------------------------

def _gather(st, domain_arg, only=None):
    meta = st.meta() or {}
    domain = host_domain(domain_arg) if domain_arg else meta.get("domain")
    lists = []
    names = [st.resolve_list(only)] if only else st.list_names()
    for name in names:
        lst = st.load_list(name)
        entry = {"name": name, "address": "%s@%s" % (name, domain) if domain else None,
                 "subscribers": len(lst["subscribers"]), "moderators": len(lst["moderators"]),
                 "counter": lst["counter"],
                 "settings": dict((k, schema.setting(lst, k)) for k in sorted(schema.SETTINGS))}
        if only:
            entry["subscriber_addresses"] = lst["subscribers"]
            entry["moderator_addresses"] = lst["moderators"]
        lists.append(entry)
    temp = st.load(TEMP, schema.temp_problems)
    bounces = st.load(BOUNCES, schema.bounces_problems)
    return {"domain": domain, "lists": lists, "temp_queue": len(temp), "bounces": bounces}


def cmd_show(args):
    with fatimage.reading(args.image) as vol:
        info = _gather(Store(vol), args.domain, args.list)
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
        return 0
    print("store %s: domain %s" % (args.image, info["domain"] or "(not recorded; give --domain)"))
    if not info["lists"]:
        print("no lists")
    for l in info["lists"]:
        s = l["settings"]
        print("list %s: %s, %s, counter %d, policy %s, dmarc %s"
              % (l["address"] or l["name"], _count(l["subscribers"], "subscriber"),
                 _count(l["moderators"], "moderator"), l["counter"], s["policy"], s["dmarc"]))
        for a in l.get("moderator_addresses", []):
            print("  moderator %s" % a)
        for a in l.get("subscriber_addresses", []):
            print("  subscriber %s" % a)
    print("temp queue: %s" % _count(info["temp_queue"], "message"))
    b = info["bounces"]
    print("bounces: %s failing, %s possibly fixed" % (_count(len(b["failures"]), "address"),
                                                      _count(len(b["possibly_fixed"]), "address")))
    for addr, posts in sorted(b["failures"].items()):
        print("  %s bounced posts %s" % (addr, ", ".join(str(p) for p in posts)))
    for addr, e in sorted(b["possibly_fixed"].items()):
        print("  %s possibly fixed until %s (posts %s)" % (addr, e["expire_at"], ", ".join(str(p) for p in e["attempts"])))
    return 0


# --- check ----------------------------------------------------------------

def _fsck(image):
    try:
        r = subprocess.run(["fsck.fat", "-n", image], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        return ["file system: fsck.fat not found (install dosfstools) so the FAT was not checked"]
    if r.returncode == 0:
        return []
    lines = [l.strip() for l in (r.stdout + r.stderr).splitlines()]
    skip = ("fsck.fat ", "Leaving filesystem unchanged", "Auto-correcting", "Automatically removing")
    found = [l for l in lines if l and not l.startswith(skip) and not l.startswith(image + ":")]
    return ["file system: " + l for l in found] or ["file system: fsck.fat -n exited %d" % r.returncode]


def _json_problems(vol, path, fn):
    """(problems, document or None) for one JSON file of the store."""
    where = path.lstrip("/")
    if not vol.exists(path):
        return ["%s: missing" % where], None
    try:
        obj = json.loads(vol.read(path).decode())
    except UnicodeDecodeError:
        return ["%s: not UTF-8 text" % where], None
    except ValueError as e:
        return ["%s: not valid JSON: %s" % (where, e)], None
    return ["%s: %s" % (where, p) for p in fn(obj)], obj


def cmd_check(args):
    fatimage.check_fat32(args.image)
    problems = _fsck(args.image)
    n = 0
    with fatimage.reading(args.image) as vol:
        for d in (LISTS, TMP):
            if not vol.isdir(d):
                problems.append("%s/: missing folder" % d.lstrip("/"))
        found, _ = _json_problems(vol, BOUNCES, schema.bounces_problems)
        problems.extend(found)
        found, temp = _json_problems(vol, TEMP, schema.temp_problems)
        problems.extend(found)
        if vol.exists(META):
            problems.extend(_json_problems(vol, META, schema.store_meta_problems)[0])
        for f in (vol.listdir(LISTS) if vol.isdir(LISTS) else ()):
            if not f.endswith(".json"):
                problems.append("lists/%s: not a list file (lists are lists/NAME.json)" % f)
                continue
            n += 1
            try:
                if schema.check_list_name(f[:-5]) != f[:-5]:
                    raise schema.SchemaError("list file names are lowercase")
            except schema.SchemaError as e:
                problems.append("lists/%s: %s" % (f, e))
            problems.extend(_json_problems(vol, "%s/%s" % (LISTS, f), schema.list_problems)[0])
        # Every queued message's body must still be there to be retried.
        for i, e in enumerate(temp if isinstance(temp, list) and vol.isdir(TMP) else ()):
            mid = e.get("messageID") if isinstance(e, dict) else None
            if isinstance(mid, str) and "/" not in mid and not vol.exists("%s/%s" % (TMP, mid)):
                problems.append("temp.json: [%d].messageID: tmp/%s is missing" % (i, mid))
    for p in problems:
        print(p)
    if problems:
        print("%s: %s found" % (args.image, _count(len(problems), "problem")), file=sys.stderr)
        return 1
    print("%s: no problems (%s)" % (args.image, _count(n, "list")))
    return 0


# --- parser ---------------------------------------------------------------

def extensions():
    """Subcommands that live in modules of their own; each module offers
    add_parser(subparsers) and sets func on its parser(s)."""
    from . import dnscheck, keys, run, tls
    return (tls, run, keys, dnscheck)


def build_parser():
    p = argparse.ArgumentParser(prog="ptt-tool", description="Host tool for ptt: list disks, images, keys, DNS.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    c = sub.add_parser("create", help="make a new FAT32 list store image",
                       description="Make a new FAT32 image holding an empty list store. "
                                   "Refuses to overwrite an existing file.")
    c.add_argument("image", metavar="IMAGE")
    c.add_argument("--size", default="64M",
                   help="image size, like 64M or 1G (default 64M; at least %d MiB, at most 32 GiB)"
                        % (fatimage.MIN_SIZE // fatimage.MiB))
    c.add_argument("--domain", help="the list domain to record (else the first add records it)")
    c.set_defaults(func=cmd_create)

    a = sub.add_parser("add", help="add a mailing list",
                       description="Add the list LIST (its address is LIST@DOMAIN). Fails if it exists.")
    a.add_argument("image", metavar="IMAGE")
    a.add_argument("list", metavar="LIST")
    a.add_argument("--domain", help="the list domain (needed until the store has one recorded)")
    a.add_argument("-m", "--moderator", action="append", required=True, metavar="EMAIL",
                   help="a moderator (repeat for several; at least one)")
    a.add_argument("-s", "--subscriber", action="append", metavar="EMAIL",
                   help="a subscriber (repeat for several)")
    a.set_defaults(func=cmd_add)

    for name, text in (("add-moderator", "make EMAIL a moderator of LIST"),
                       ("remove-moderator", "remove EMAIL from the moderators of LIST"),
                       ("subscribe", "subscribe EMAIL to LIST"), ("unsubscribe", "unsubscribe EMAIL from LIST")):
        m = sub.add_parser(name, help=text,
                           usage="ptt-tool %s IMAGE [LIST] EMAIL [--domain D]" % name,
                           description=text[0].upper() + text[1:] + ". LIST may be left out when the "
                           "image holds exactly one list. Doing it twice changes nothing.")
        m.add_argument("image", metavar="IMAGE")
        m.add_argument("target", nargs="+", metavar="[LIST] EMAIL")
        m.add_argument("--domain", help="the list domain (checked against the recorded one)")
        m.set_defaults(func=cmd_member, parser=m)

    s = sub.add_parser("show", help="show the lists, the temp queue and the bounces",
                       description="Show every list (or LIST with its members), the temporary "
                                   "queue and the bounce records.")
    s.add_argument("image", metavar="IMAGE")
    s.add_argument("list", metavar="LIST", nargs="?")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--domain", help="domain to show addresses with, if none is recorded")
    s.set_defaults(func=cmd_show)

    t = sub.add_parser("set", help="change per-list settings",
                       description="Change settings of LIST. Keys: policy (%s), subject_prefix (text), "
                                   "reply_to (%s), max_size (bytes), dmarc (%s)."
                                   % ("|".join(schema.POLICIES), "|".join(schema.REPLY_TO), "|".join(schema.DMARC)))
    t.add_argument("image", metavar="IMAGE")
    t.add_argument("list", metavar="LIST")
    t.add_argument("settings", nargs="+", metavar="KEY=VALUE")
    t.set_defaults(func=cmd_set, parser=t)

    k = sub.add_parser("check", help="validate the file system and every store file",
                       description="Run fsck.fat -n and validate every JSON file against the "
                                   "store schema; print each problem. Exit 1 if any.")
    k.add_argument("image", metavar="IMAGE")
    k.set_defaults(func=cmd_check)

    for module in extensions():
        module.add_parser(sub)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ImageError as e:
        print("ptt-tool: error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("ptt-tool: interrupted; the image was left as it was", file=sys.stderr)
        return 1
    except Exception as e:  # a bug of ours: still one line, and a way to see more
        if os.environ.get("PTT_DEBUG"):
            raise
        print("ptt-tool: error: unexpected %s: %s (set PTT_DEBUG=1 for the traceback)"
              % (type(e).__name__, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
