"""The list store inside an image, as ptt-tool reads and edits it.

Layout and schemas: docs/store.md. Validation is ptt.store.schema, the same
code the lists server runs, so the tool never writes what the server refuses.
"""

import binascii
import json
import os

import idna

from ptt.mail.address import AddressError, normalize_domain, parse_mailbox, split_mailbox
from ptt.store import schema

from .fatimage import ImageError

LISTS = "/lists"
TMP = "/tmp"
PENDING = "/pending"
BOUNCES = "/bounces.json"
TEMP = "/temp.json"
META = "/store.json"

EMPTY_BOUNCES = {"failures": {}, "possibly_fixed": {}}
EMPTY_TEMP = []


def encode(obj):
    # Compact like the reference's jsont output; UTF-8 kept as is.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def new_meta(domain=None):
    meta = {"version": schema.STORE_VERSION,
            "secret": binascii.b2a_base64(os.urandom(32), newline=False).decode()}
    if domain:
        meta["domain"] = domain
    return meta


def _uts46(domain):
    """Map a domain typed by a person to A-labels (IDNA 2008 + UTS 46)."""
    if all(ord(c) < 0x80 for c in domain):
        return domain
    try:
        return idna.encode(domain, uts46=True).decode()
    except idna.IDNAError as e:
        raise AddressError("domain %s is not a valid internationalised domain: %s" % (domain, e))


def host_domain(text):
    try:
        return normalize_domain(_uts46(text.strip()), fqdn=True)
    except AddressError as e:
        raise ImageError("bad domain %r: %s" % (text, e))


def host_address(text):
    """An address given on the command line, in stored form."""
    try:
        local, domain = split_mailbox(text.strip())
        return parse_mailbox(local + "@" + _uts46(domain), fqdn=True, allow_literal=False)
    except AddressError as e:
        raise ImageError("bad address %r: %s" % (text, e))


def list_path(name):
    return "%s/%s.json" % (LISTS, name)


class Store:
    """The documents of one open volume (see fatimage.reading/editing)."""

    def __init__(self, vol):
        self.vol = vol

    def load(self, path, problems_fn):
        where = path.lstrip("/")
        try:
            obj = json.loads(self.vol.read(path).decode())
        except UnicodeDecodeError:
            raise ImageError("%s: not UTF-8 text" % where)
        except ValueError as e:
            raise ImageError("%s: not valid JSON: %s" % (where, e))
        problems = problems_fn(obj)
        if problems:
            raise ImageError("%s: %s" % (where, problems[0]) +
                             ("" if len(problems) == 1 else " (and %d more problems: run ptt-tool check)" % (len(problems) - 1)))
        return obj

    def save(self, path, obj):
        self.vol.write(path, encode(obj))

    def meta(self):
        if not self.vol.exists(META):
            return None
        return self.load(META, schema.store_meta_problems)

    def domain(self, given, record=False):
        """The store's list domain: the one recorded, checked against GIVEN.

        The first edit that names a domain records it in store.json, so later
        commands may leave --domain out and a typo in it is caught.
        """
        meta = self.meta()
        stored = meta.get("domain") if meta else None
        if given is not None:
            d = host_domain(given)
            if stored and stored != d:
                raise ImageError("this store serves %s, not %s" % (stored, d))
            if not stored and record:
                meta = meta or new_meta()
                meta["domain"] = d
                self.save(META, meta)
            return d
        if stored:
            return stored
        raise ImageError("this image records no list domain yet: give --domain")

    def list_files(self):
        """(name, path) for every lists/*.json file, sorted by name."""
        if not self.vol.isdir(LISTS):
            raise ImageError("the image has no lists/ folder: is it a ptt store? (ptt-tool create makes one)")
        out = []
        for f in self.vol.listdir(LISTS):
            if f.lower().endswith(".json"):
                out.append((f[:-5], "%s/%s" % (LISTS, f)))
        return out

    def list_names(self):
        return [n for n, _ in self.list_files()]

    def resolve_list(self, given):
        """The list named GIVEN, or the only list when GIVEN is None."""
        names = self.list_names()
        if given is None:
            if len(names) == 1:
                return names[0]
            if not names:
                raise ImageError("the image holds no list yet (ptt-tool add IMAGE LIST ...)")
            raise ImageError("the image holds %d lists (%s): name one" % (len(names), ", ".join(names)))
        try:
            name = schema.check_list_name(given)
        except schema.SchemaError as e:
            raise ImageError(str(e))
        if name not in names:
            raise ImageError("no list %s in this image (lists: %s)" % (name, ", ".join(names) or "none"))
        return name

    def load_list(self, name):
        return self.load(list_path(name), schema.list_problems)

    def save_list(self, name, lst):
        problems = schema.list_problems(lst)
        if problems:  # never write what the server would refuse
            raise ImageError("refusing to write lists/%s.json: %s" % (name, problems[0]))
        self.save(list_path(name), lst)

    def refuse_loop(self, addr, domain):
        """Refuse an address this server would route to one of its lists."""
        if addr.domain == domain and schema.route_local_part(addr.local, self.list_names()):
            raise ImageError("%s is an address of this list server: it would loop" % addr)
