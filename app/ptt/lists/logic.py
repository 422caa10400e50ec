"""The list server's behaviour as pure functions (no I/O, no clock, no RNG).

The caller (the lead's service layer) owns every effect. It passes them in
and applies what comes back:

    ctx = Context(domain, secret, now, randbytes, txt)
        domain     the store's list domain (stored form, lowercase A-labels)
        secret     bytes: the store secret (store.json, base64-decoded)
        now        int seconds since the epoch (UTC)
        randbytes  function n -> n random bytes (Message-IDs, request IDs)
        txt        function name -> list of str (TXT records, [] if none),
                   raising on DNS failure (DMARC policy discovery)

    state = State(lists, pending, bounces, held)
        lists      {name: lists/NAME.json document}
        pending    {id: pending/ID.json document}         (pending.py)
        bounces    the bounces.json document                (bounces.py)
        held       function id -> bytes of pending/ID.eml (a held post)

Entry points (all return an Outcome unless said otherwise):

    accepts(ctx, state, recipient) -> bool
        RCPT time: True if we answer this address; else 550 5.1.1.
    precheck(ctx, state, sender, recipients, message) -> None | (code, enhanced, text)
        End of DATA, before the 250: a refusal for posts we will not take
        (non-member on a members list, non-moderator on an announce list,
        null sender, over max_size, unparseable header). Answer it instead
        of 250 and do not call incoming().
    incoming(ctx, state, sender, recipients, message) -> Outcome
        An accepted message (sender "" = null, recipients = our addresses).
    delivery_failure(ctx, state, name, recipient, counter, status, text) -> Outcome
        The delivery layer got a permanent failure (5xx) delivering post
        `counter` of list `name` to `recipient`; status is the enhanced
        code ("5.1.1") or, without one, the reply code ("550").
    expire(ctx, state) -> Outcome
        Drop expired pending requests and old bounce records (call at boot
        and, say, hourly).
    post_recipients(lst, name, domain, counter) -> [(verp sender, recipient)]

    Outcome
        lists            {name: new document}  write lists/NAME.json
        pending          {id: document}        write pending/ID.json
        held             {id: bytes}           write pending/ID.eml
        pending_deleted  [id]                  delete pending/ID.json and .eml
        bounces          document or None      write bounces.json
        mails            [Mail(sender, recipients, data)]  generated mails
        posts            [Post(name, counter, data, transactions)]
                         a post to distribute: one transaction per
                         (VERP sender, subscriber), all with the same data
        log              [str]  one line per decision, for the console
        apply(state)     the same changes on the in-memory State

Save the documents before queueing the mails and posts, so that a crash
in between loses a mail, never a subscriber or a counter.
"""

from ptt.mail import headers as H
from ptt.mail.dates import parse_rfc3339, rfc3339
from ptt.mail.address import AddressError, parse_mailbox
from ptt.store.schema import setting
from ptt.lists import route as R
from ptt.lists import tokens, rewrite, dmarc, notices, pending, bounces, dsn
from ptt.lists.notices import Mail, compose


class Context:
    def __init__(self, domain, secret, now, randbytes, txt):
        self.domain = domain
        self.secret = secret
        self.now = int(now)
        self.randbytes = randbytes
        self.txt = txt


class State:
    def __init__(self, lists, pending=None, bounces=None, held=None):
        self.lists = lists
        self.pending = pending if pending is not None else {}
        self.bounces = bounces
        self.held = held


class Post:
    __slots__ = ("name", "counter", "data", "transactions")

    def __init__(self, name, counter, data, transactions):
        self.name = name
        self.counter = counter
        self.data = data
        self.transactions = transactions

    def __repr__(self):
        return "Post(%r, %d, %d bytes, %d recipients)" % (
            self.name, self.counter, len(self.data), len(self.transactions))


class Outcome:
    def __init__(self):
        self.lists = {}
        self.pending = {}
        self.held = {}
        self.pending_deleted = []
        self.bounces = None
        self.mails = []
        self.posts = []
        self.log = []

    def apply(self, state):
        for n in self.lists:
            state.lists[n] = self.lists[n]
        for i in self.pending_deleted:
            state.pending.pop(i, None)
        for i in self.pending:
            state.pending[i] = self.pending[i]
        if self.bounces is not None:
            state.bounces = self.bounces


# ---------------------------------------------------------------- helpers

def post_recipients(lst, name, domain, counter):
    """One (VERP sender, recipient) per subscriber for post `counter`."""
    return [(R.return_path(name, domain, counter, parse_mailbox(s)), s)
            for s in lst["subscribers"]]


def _find(addresses, addr):
    """The stored form of `addr` in `addresses`, or None."""
    if addr is None:
        return None
    k = addr.key()
    for a in addresses:
        try:
            if parse_mailbox(a).key() == k:
                return a
        except AddressError:
            continue
    return None


def _mailbox(text):
    try:
        return parse_mailbox(text) if text else None
    except AddressError:
        return None


def _header(headers, name):
    vs = H.get_all(headers, name.encode())
    return vs[0].replace(b"\r\n", b"").strip() if vs else None


def _from_address(headers):
    v = _header(headers, "from")
    return rewrite.parse_from(v)[1] if v is not None else None


def _ascii(b):
    try:
        t = b.decode()
    except Exception:
        return ""
    return t if notices.is_ascii(t) else ""


_ROBOTS = ("mailer-daemon", "listserv", "majordomo")


def may_answer(ctx, sender, headers):
    """(True, "") if we may send an automatic answer to `sender`; else
    (False, why). RFC 3834 section 2 and list manners: never the null
    sender, a daemon, another list, an automatic mail, or ourselves."""
    if not sender:
        return False, "the sender is null (<>)"
    a = _mailbox(sender)
    if a is None:
        return False, "the sender %s is not a valid address" % sender
    lp = a.key().split("@")[0]
    if lp in _ROBOTS or lp.startswith("owner-") or lp.endswith("-request") \
            or lp.endswith("-bounces"):
        return False, "the sender %s is an automatic mailbox" % sender
    if a.domain == ctx.domain:
        return False, "the sender %s is at our own domain" % sender
    for n, v in headers:
        k = H.key(n)
        if k.startswith(b"list-") and k in (b"list-id", b"list-post", b"list-help",
                                            b"list-unsubscribe", b"list-subscribe",
                                            b"list-owner"):
            return False, "the message came from a mailing list (%s)" % n.decode()
        if k == b"auto-submitted" and H.lower(v.replace(b"\r\n", b"")).strip().split(b";")[0].strip() != b"no":
            return False, "the message is automatic (Auto-Submitted)"
        if k == b"precedence" and H.lower(v).strip() in (b"bulk", b"list", b"junk"):
            return False, "the message has Precedence: %s" % _ascii(v.strip())
    return True, ""


def _is_auto(headers):
    for n, v in headers:
        k = H.key(n)
        if k == b"auto-submitted" and H.lower(v.replace(b"\r\n", b"")).strip().split(b";")[0].strip() != b"no":
            return True
    return False


class _Work:
    """Copy-on-write view of the state while one call runs."""

    def __init__(self, ctx, state):
        self.ctx = ctx
        self.state = state
        self.out = Outcome()

    def log(self, msg):
        self.out.log.append(msg)

    def names(self):
        return list(self.state.lists)

    def list(self, name):
        return self.out.lists.get(name) or self.state.lists.get(name)

    def edit_list(self, name):
        if name not in self.out.lists:
            src = self.state.lists[name]
            d = dict(src)
            d["subscribers"] = list(src["subscribers"])
            d["moderators"] = list(src["moderators"])
            self.out.lists[name] = d
        return self.out.lists[name]

    def pending(self, rid):
        if rid in self.out.pending_deleted:
            return None
        return self.out.pending.get(rid) or self.state.pending.get(rid)

    def all_pending(self):
        seen = {}
        for i in self.state.pending:
            seen[i] = self.state.pending[i]
        for i in self.out.pending:
            seen[i] = self.out.pending[i]
        for i in self.out.pending_deleted:
            seen.pop(i, None)
        return seen

    def put_pending(self, doc, held=None):
        self.out.pending[doc["id"]] = doc
        if doc["id"] in self.out.pending_deleted:
            self.out.pending_deleted.remove(doc["id"])
        if held is not None:
            self.out.held[doc["id"]] = held

    def drop_pending(self, rid):
        self.out.pending.pop(rid, None)
        self.out.held.pop(rid, None)
        if rid not in self.out.pending_deleted:
            self.out.pending_deleted.append(rid)

    def bounces(self):
        if self.out.bounces is not None:
            return self.out.bounces
        return self.state.bounces or bounces.empty()

    def taken(self):
        return self.all_pending()

    # generated mails ---------------------------------------------------
    def send(self, name, to, subject, body, auto=notices.AUTO_REPLIED,
             reply_to=None, attach=None, in_reply_to=None):
        d = self.ctx.domain
        data = compose(self.ctx, (name + " list", R.address(name, d, R.OWNER)), to,
                       subject, body, auto=auto, reply_to=reply_to,
                       loop=R.address(name, d), attach=attach, in_reply_to=in_reply_to)
        self.out.mails.append(Mail(R.address(name, d, R.BOUNCES), list(to), data))

    def tell_moderators(self, name, subject, body, attach=None):
        self.send(name, self.list(name)["moderators"], subject, body,
                  auto=notices.AUTO_GENERATED, attach=attach)


# ---------------------------------------------------------------- texts

def help_text(name, domain, lst):
    a = lambda k: R.address(name, domain, k)
    pol = setting(lst, "policy")
    who = {"members": "Members may post; other posts are refused.",
           "moderated": "Every post waits for a moderator's approval.",
           "announce": "Only the moderators post here; each post is approved first.",
           "open": "Anyone may post."}[pol]
    return ("This is the %s mailing list.\n\n"
            "To post, write to\n    %s\n%s\n\n"
            "To subscribe, send any mail to\n    %s\nand answer the confirmation.\n\n"
            "To unsubscribe, send any mail to\n    %s\nand answer the confirmation.\n\n"
            "Members get the list of members from\n    %s\n\n"
            "To reach the people who run the list, write to\n    %s\n"
            % (R.address(name, domain), R.address(name, domain), who, a(R.SUBSCRIBE),
               a(R.UNSUBSCRIBE), a(R.SUBSCRIBERS), a(R.OWNER))) + _sig(name, domain)


def _sig(name, domain):
    return ("\n-- \nThe %s mailing list.\nFor help, mail %s\n"
            % (R.address(name, domain), R.address(name, domain, R.HELP)))


# ---------------------------------------------------------------- posting

def _refusal(ctx, lst, name, sender, headers, size):
    """Why a post to `name` is not taken, as (code, enhanced, text), or None."""
    la = R.address(name, ctx.domain)
    if size > setting(lst, "max_size"):
        return (552, "5.3.4", "the message is %d bytes; %s takes at most %d"
                % (size, la, setting(lst, "max_size")))
    if not sender:
        return (550, "5.7.1", "%s does not take posts from the null sender" % la)
    pol = setting(lst, "policy")
    people = [_mailbox(sender), _from_address(headers)]
    if pol == "members":
        for p in people:
            if _find(lst["subscribers"], p) or _find(lst["moderators"], p):
                return None
        return (550, "5.7.1", "only members may post to %s; to join, mail %s"
                % (la, R.address(name, ctx.domain, R.SUBSCRIBE)))
    if pol == "announce":
        for p in people:
            if _find(lst["moderators"], p):
                return None
        return (550, "5.7.1", "only the moderators post to %s (an announce list)" % la)
    return None


def precheck(ctx, state, sender, recipients, message):
    """Before the 250 at end of DATA: a refusal (code, enhanced, text) for
    the whole transaction, or None to accept. The first recipient that
    refuses decides (SMTP has one reply per DATA)."""
    try:
        headers, _ = H.parse(message)
    except H.HeaderError as e:
        return (550, "5.6.0", "the message header cannot be read: %s" % e)
    names = list(state.lists)
    for rcpt in recipients:
        r = R.classify(rcpt, ctx.domain, names)
        if r is None:
            return (550, "5.1.1", "%s: no such list address here" % rcpt)
        if r.kind != R.POST:
            continue
        lst = state.lists[r.name]
        if rewrite.is_loop(headers, r.name, ctx.domain):
            continue        # accepted and dropped by incoming()
        why = _refusal(ctx, lst, r.name, sender, headers, len(message))
        if why:
            return why
    return None


def _distribute(w, name, headers, body, sender):
    ctx = w.ctx
    lst = w.edit_list(name)
    addr = _from_address(headers)
    mitigate, why = dmarc.must_mitigate(setting(lst, "dmarc"),
                                        addr.domain if addr is not None else None, ctx.txt)
    mid = notices.message_id(ctx.randbytes, ctx.now, ctx.domain).encode()
    new = rewrite.rewrite_post(headers, name, ctx.domain, lst, mitigate, sender, mid)
    data = H.serialize(new, body)
    counter = lst["counter"]
    lst["counter"] = counter + 1
    tx = post_recipients(lst, name, ctx.domain, counter)
    w.out.posts.append(Post(name, counter, data, tx))
    w.log("%s: post %d from %s to %d subscribers (From %s: %s)" % (
        name, counter, sender, len(tx), "rewritten" if mitigate else "kept", why))


def _hold(w, name, headers, message, sender):
    ctx = w.ctx
    d = ctx.domain
    author = _from_address(headers) or _mailbox(sender)
    subject = notices.unfold_text(_header(headers, "subject") or b"")
    doc = pending.new(ctx, w.taken(), name, pending.POST,
                      author if author is not None else sender or "unknown@invalid",
                      pending.APPROVE,
                      {"sender": sender, "size": len(message), "subject": subject})
    w.put_pending(doc, held=bytes(message))
    ok = R.address(name, d, R.APPROVE, tokens.make(ctx.secret, doc, "approve"))
    no = R.address(name, d, R.REJECT, tokens.make(ctx.secret, doc, "reject"))
    body = ("A post to %s waits for your decision.\n\n"
            "From:    %s\nSubject: %s\nSize:    %d bytes\n\n"
            "To distribute it, send any mail to\n    %s\n"
            "To discard it, send any mail to\n    %s\n\n"
            "The post is attached. Without a decision it is discarded on %s.\n"
            % (R.address(name, d), doc["address"], subject, len(message), ok, no,
               doc["expires"])) + _sig(name, d)
    w.tell_moderators(name, "Post to %s held for approval: %s" % (R.address(name, d), subject),
                      body, attach=message)
    w.log("%s: post from %s held for moderation as %s" % (name, sender, doc["id"]))


def _on_post(w, name, sender, headers, body, message):
    ctx = w.ctx
    lst = w.list(name)
    if rewrite.is_loop(headers, name, ctx.domain):
        w.log("%s: dropped a post from %s that carries our List-Id or X-Loop (a loop)"
              % (name, sender))
        return
    why = _refusal(ctx, lst, name, sender, headers, len(message))
    if why:
        w.log("%s: dropped a post from %s: %s" % (name, sender or "<>", why[2]))
        return
    if _is_auto(headers):
        w.log("%s: dropped an automatic message (Auto-Submitted) from %s" % (name, sender))
        return
    if setting(lst, "policy") in ("moderated", "announce"):
        _hold(w, name, headers, message, sender)
        return
    _distribute(w, name, headers, body, sender)


# ---------------------------------------------------------------- commands

def _answer_ok(w, name, sender, headers, what):
    ok, why = may_answer(w.ctx, sender, headers)
    if not ok:
        w.log("%s: ignored a %s request: %s" % (name, what, why))
    return ok


def _find_pending(w, name, kind, address):
    k = address.key()
    all_p = w.all_pending()
    for i in all_p:
        doc = all_p[i]
        if doc["list"] == name and doc["kind"] == kind and not pending.expired(doc, w.ctx.now):
            a = _mailbox(doc["address"])
            if a is not None and a.key() == k:
                return doc
    return None


def _ask_confirmation(w, name, kind, address, to, headers, extra=None):
    """Create (or reuse) a pending request and mail its confirm token."""
    ctx = w.ctx
    d = ctx.domain
    doc = _find_pending(w, name, kind, address)
    if doc is not None:
        last = doc.get("sent") or doc["created"]
        if parse_rfc3339(last) > ctx.now - pending.RESEND_AFTER:
            w.log("%s: %s request for %s already confirmed by mail within the hour; not resent"
                  % (name, kind, address))
            return
        doc = dict(doc)
        doc["sent"] = rfc3339(ctx.now)
    else:
        doc = pending.new(ctx, w.taken(), name, kind, address, pending.CONFIRM, extra)
    w.put_pending(doc)
    tok = R.address(name, d, R.CONFIRM, tokens.make(ctx.secret, doc, "confirm"))
    la = R.address(name, d)
    what = {pending.SUBSCRIBE: "subscribe %s to" % address,
            pending.UNSUBSCRIBE: "unsubscribe %s from" % address,
            pending.REMOVE: "remove %s from" % address}[kind]
    body = ("Someone, hopefully you, asked to %s the mailing list %s.\n\n"
            "To confirm, reply to this mail, or send any mail to\n    %s\n\n"
            "If you did not ask for this, ignore this mail: nothing happens.\n"
            "This confirmation expires on %s.\n" % (what, la, tok, doc["expires"])) + _sig(name, d)
    subj = {pending.SUBSCRIBE: "Confirm your subscription to %s",
            pending.UNSUBSCRIBE: "Confirm that you leave %s",
            pending.REMOVE: "Confirm the removal of a member from %s"}[kind] % la
    w.send(name, [to], subj, body, reply_to=tok, in_reply_to=_header(headers, "message-id"))
    w.log("%s: %s request for %s waits for confirmation (%s)" % (name, kind, address, doc["id"]))


def _own_address(ctx, state, addr):
    """True if addr is one of our own list addresses (it would loop)."""
    return addr.domain == ctx.domain and \
        R.classify(str(addr), ctx.domain, list(state.lists)) is not None


def _on_subscribe(w, name, sender, headers):
    if not _answer_ok(w, name, sender, headers, "subscribe"):
        return
    ctx = w.ctx
    addr = _mailbox(sender)
    lst = w.list(name)
    if _own_address(ctx, w.state, addr):
        w.log("%s: refused to subscribe our own address %s" % (name, sender))
        return
    if _find(lst["subscribers"], addr):
        w.send(name, [sender], "You are already subscribed to %s" % R.address(name, ctx.domain),
               "%s already receives the posts of %s.\nTo leave, send any mail to %s.\n"
               % (sender, R.address(name, ctx.domain), R.address(name, ctx.domain, R.UNSUBSCRIBE))
               + _sig(name, ctx.domain), in_reply_to=_header(headers, "message-id"))
        w.log("%s: %s asked to subscribe but is subscribed" % (name, sender))
        return
    _ask_confirmation(w, name, pending.SUBSCRIBE, addr, sender, headers)


def _on_unsubscribe(w, name, sender, headers):
    if not _answer_ok(w, name, sender, headers, "unsubscribe"):
        return
    ctx = w.ctx
    addr = _mailbox(sender)
    member = _find(w.list(name)["subscribers"], addr)
    if member is None:
        w.send(name, [sender], "You are not subscribed to %s" % R.address(name, ctx.domain),
               "%s is not a member of %s, so there is nothing to undo.\n"
               "If you receive its posts at another address, send the unsubscribe\n"
               "request from that address.\n" % (sender, R.address(name, ctx.domain))
               + _sig(name, ctx.domain), in_reply_to=_header(headers, "message-id"))
        w.log("%s: %s asked to unsubscribe but is not subscribed" % (name, sender))
        return
    _ask_confirmation(w, name, pending.UNSUBSCRIBE, _mailbox(member), member, headers)


def _on_subscribers(w, name, sender, headers):
    if not _answer_ok(w, name, sender, headers, "subscribers"):
        return
    lst = w.list(name)
    addr = _mailbox(sender)
    who = _find(lst["subscribers"], addr) or _find(lst["moderators"], addr)
    if who is None:
        w.log("%s: %s asked for the roster but is neither member nor moderator" % (name, sender))
        return
    subs = sorted(lst["subscribers"])
    body = ("%d subscribers of %s:\n\n%s\n" % (len(subs), R.address(name, w.ctx.domain),
                                                "\n".join(subs))) + _sig(name, w.ctx.domain)
    # To the stored address, never to whatever the envelope says.
    w.send(name, [who], "Subscribers of %s" % R.address(name, w.ctx.domain), body,
           in_reply_to=_header(headers, "message-id"))
    w.log("%s: roster sent to %s" % (name, who))


def _on_help(w, name, sender, headers):
    if not _answer_ok(w, name, sender, headers, "help"):
        return
    w.send(name, [sender], "How to use %s" % R.address(name, w.ctx.domain),
           help_text(name, w.ctx.domain, w.list(name)), in_reply_to=_header(headers, "message-id"))
    w.log("%s: help sent to %s" % (name, sender))


def _on_owner(w, name, sender, headers, body):
    ctx = w.ctx
    me = R.address(name, ctx.domain, R.OWNER).encode()
    for n, v in headers:
        if H.key(n) == b"x-loop" and H.lower(v.strip()) == me:
            w.log("%s: dropped a mail to the owners that was already forwarded (loop)" % name)
            return
    if _is_auto(headers):
        w.log("%s: dropped an automatic reply sent to the owners, from %s" % (name, sender))
        return
    addr = _from_address(headers)
    mitigate, why = dmarc.must_mitigate("auto", addr.domain if addr else None, ctx.txt)
    out = [(b"X-Loop", b" " + me)]
    orig = None
    has_rt = False
    for n, v in headers:
        k = H.key(n)
        if k == b"return-path":
            continue
        if k == b"from" and orig is None:
            orig = v.strip()
            if mitigate:
                v = rewrite.munged_from(v, name, ctx.domain, sender,
                                        target=R.address(name, ctx.domain, R.OWNER))
        if k == b"reply-to":
            has_rt = True
        out.append((n, v))
    if mitigate and orig and not has_rt:
        out.insert(1, (b"Reply-To", b" " + orig))
    w.out.mails.append(Mail(R.address(name, ctx.domain, R.BOUNCES),
                            list(w.list(name)["moderators"]), H.serialize(out, body)))
    w.log("%s: mail from %s forwarded to the moderators (From %s: %s)"
          % (name, sender, "rewritten" if mitigate else "kept", why))


def _on_remove(w, name, sender, headers):
    if not _answer_ok(w, name, sender, headers, "remove"):
        return
    lst = w.list(name)
    mod = None
    for p in (_mailbox(sender), _from_address(headers)):
        mod = mod or _find(lst["moderators"], p)
    if mod is None:
        w.log("%s: %s asked to remove a member but is not a moderator" % (name, sender))
        return
    subject = notices.unfold_text(_header(headers, "subject") or b"")
    target = None
    for word in subject.replace(",", " ").split(" "):
        word = word.strip("<>;")
        if "@" in word:
            target = _mailbox(word)
            if target is not None:
                break
    member = _find(lst["subscribers"], target)
    if member is None:
        w.send(name, [mod], "No member to remove from %s" % R.address(name, w.ctx.domain),
               "The Subject of your mail (%r) names no member of %s.\n"
               "Put the member's address in the Subject.\n" % (subject, R.address(name, w.ctx.domain))
               + _sig(name, w.ctx.domain), in_reply_to=_header(headers, "message-id"))
        w.log("%s: remove request from %s names no member (%r)" % (name, mod, subject))
        return
    # The confirmation goes to the moderator's stored address: a forged
    # sender only makes the real moderator receive a mail to ignore.
    _ask_confirmation(w, name, pending.REMOVE, _mailbox(member), mod, headers, {"by": mod})


def _token_doc(w, name, r, action, sender, headers):
    """The pending request a token names, checked; None (logged) if not."""
    ctx = w.ctx
    doc = w.pending(r.token[:tokens.ID_LEN])
    if doc is None or doc["list"] != name or not tokens.check(ctx.secret, doc, action, r.token):
        w.log("%s: %s with an unknown, wrong or used token from %s: ignored"
              % (name, action, sender or "<>"))
        return None
    if pending.expired(doc, ctx.now):
        w.log("%s: %s token %s has expired: ignored" % (name, action, doc["id"]))
        return None
    want = pending.CONFIRM if action == "confirm" else pending.APPROVE
    if doc["stage"] != want:
        w.log("%s: %s token %s does not fit a request at stage %s: ignored"
              % (name, action, doc["id"], doc["stage"]))
        return None
    ok, why = may_answer(ctx, sender, headers)
    if not ok:
        # An automatic reply (a vacation notice) must not confirm anything.
        w.log("%s: %s for %s ignored: %s" % (name, action, doc["id"], why))
        return None
    return doc


def _add_member(w, name, doc):
    ctx = w.ctx
    addr = _mailbox(doc["address"])
    lst = w.edit_list(name)
    if _find(lst["subscribers"], addr) is None:
        lst["subscribers"].append(str(addr))
    nb = bounces.forget(w.bounces(), name, str(addr))
    if nb is not None:
        w.out.bounces = nb
    w.drop_pending(doc["id"])
    la = R.address(name, ctx.domain)
    w.send(name, [str(addr)], "Welcome to %s" % la,
           "You are now subscribed to %s.\n\n%s" % (la, help_text(name, ctx.domain, lst)))
    w.log("%s: %s subscribed" % (name, addr))


def _remove_member(w, name, address, why):
    lst = w.edit_list(name)
    member = _find(lst["subscribers"], _mailbox(address))
    if member is not None:
        lst["subscribers"].remove(member)
    nb = bounces.forget(w.bounces(), name, member or address)
    if nb is not None:
        w.out.bounces = nb
    w.log("%s: %s removed (%s)" % (name, member or address, why))
    return member


def _on_confirm(w, name, r, sender, headers):
    ctx = w.ctx
    doc = _token_doc(w, name, r, "confirm", sender, headers)
    if doc is None:
        return
    la = R.address(name, ctx.domain)
    kind = doc["kind"]
    if kind == pending.SUBSCRIBE:
        if setting(w.list(name), "policy") == "moderated":
            doc = pending.to_stage(ctx, doc, pending.APPROVE)
            w.put_pending(doc)
            ok = R.address(name, ctx.domain, R.APPROVE, tokens.make(ctx.secret, doc, "approve"))
            no = R.address(name, ctx.domain, R.REJECT, tokens.make(ctx.secret, doc, "reject"))
            w.tell_moderators(name, "Subscription to %s waits for approval: %s" % (la, doc["address"]),
                              ("%s confirmed a request to subscribe to %s.\n\n"
                               "To accept, send any mail to\n    %s\n"
                               "To decline, send any mail to\n    %s\n\n"
                               "Without a decision the request lapses on %s.\n"
                               % (doc["address"], la, ok, no, doc["expires"])) + _sig(name, ctx.domain))
            w.send(name, [doc["address"]], "Your subscription to %s waits for a moderator" % la,
                   "Thank you for confirming. %s is moderated: a moderator will look at\n"
                   "your request, and you will get a mail when you are subscribed.\n" % la
                   + _sig(name, ctx.domain))
            w.log("%s: %s confirmed; waits for a moderator (%s)" % (name, doc["address"], doc["id"]))
        else:
            _add_member(w, name, doc)
    elif kind == pending.UNSUBSCRIBE:
        member = _remove_member(w, name, doc["address"], "unsubscribed")
        w.drop_pending(doc["id"])
        if member:
            w.send(name, [member], "You have left %s" % la,
                   "%s no longer receives the posts of %s.\nTo come back, send any mail to %s.\n"
                   % (member, la, R.address(name, ctx.domain, R.SUBSCRIBE)) + _sig(name, ctx.domain))
    elif kind == pending.REMOVE:
        member = _remove_member(w, name, doc["address"], "removed by %s" % doc.get("by"))
        w.drop_pending(doc["id"])
        if member:
            w.tell_moderators(name, "%s removed from %s" % (member, la),
                              "%s removed %s from %s.\n" % (doc.get("by"), member, la)
                              + _sig(name, ctx.domain))
    else:
        w.log("%s: confirm token for a %s request: ignored" % (name, kind))


def _on_decision(w, name, r, sender, headers):
    ctx = w.ctx
    action = r.kind            # approve or reject
    doc = _token_doc(w, name, r, action, sender, headers)
    if doc is None:
        return
    la = R.address(name, ctx.domain)
    if doc["kind"] == pending.SUBSCRIBE:
        if action == R.APPROVE:
            _add_member(w, name, doc)
        else:
            w.drop_pending(doc["id"])
            w.send(name, [doc["address"]], "Your subscription to %s was declined" % la,
                   "A moderator of %s declined your request to subscribe.\n"
                   "To ask why, write to %s.\n" % (la, R.address(name, ctx.domain, R.OWNER))
                   + _sig(name, ctx.domain))
            w.log("%s: subscription of %s rejected by a moderator" % (name, doc["address"]))
    elif doc["kind"] == pending.POST:
        if action == R.APPROVE:
            try:
                message = w.state.held(doc["id"])
                headers2, body = H.parse(message)
            except Exception as e:
                w.log("%s: held post %s cannot be read (%s); dropping the request"
                      % (name, doc["id"], e))
                w.drop_pending(doc["id"])
                return
            _distribute(w, name, headers2, body, doc.get("sender", ""))
            w.log("%s: held post %s approved" % (name, doc["id"]))
        else:
            w.log("%s: held post %s from %s rejected" % (name, doc["id"], doc["address"]))
        w.drop_pending(doc["id"])
    else:
        w.log("%s: %s token for a %s request: ignored" % (name, action, doc["kind"]))


# ---------------------------------------------------------------- bounces

def _count_bounce(w, name, address, counter, status, text):
    ctx = w.ctx
    lst = w.list(name)
    member = _find(lst["subscribers"], address)
    if member is None:
        w.log("%s: bounce for %s, who is not subscribed: ignored" % (name, address))
        return
    if not dsn.counts_as_bounce(status):
        w.log("%s: %s for %s on post %d does not count (%s)"
              % (name, status or "no status", member, counter,
                 "policy rejection" if (status or "").startswith("5.7") else "not permanent"))
        return
    doc, posts, due = bounces.record(w.bounces(), name, member, counter, ctx.now)
    w.out.bounces = doc
    w.log("%s: bounce %s for %s on post %d (%d of %d)"
          % (name, status, member, counter, len(posts), bounces.THRESHOLD))
    if due:
        _remove_member(w, name, member, "bounces")
        la = R.address(name, ctx.domain)
        w.tell_moderators(name, "%s removed from %s after bounces" % (member, la),
                          ("Mail to %s failed permanently for posts %s within %d days,\n"
                           "so it was removed from %s. The last error was:\n\n    %s %s\n\n"
                           "To add it back, ask the person to subscribe again.\n"
                           % (member, ", ".join(str(p) for p in sorted(posts)),
                              bounces.WINDOW // notices.DAY, la, status, text))
                          + _sig(name, ctx.domain))


def _on_return(w, name, r, sender, message):
    reports = dsn.parse(message)
    if not reports:
        w.log("%s: mail to the return address of post %d for %s is not a delivery "
              "status notification: ignored" % (name, r.counter, r.address))
        return
    for rep in reports:
        if rep.action != "failed":
            w.log("%s: DSN for %s on post %d says %s: not a bounce"
                  % (name, r.address, r.counter, rep.action or "nothing"))
            continue
        _count_bounce(w, name, r.address, r.counter, rep.status, rep.diagnostic)
        return     # one post counts once, however many blocks the DSN has


def delivery_failure(ctx, state, name, recipient, counter, status, text=""):
    """A permanent failure delivering post `counter` to `recipient`."""
    w = _Work(ctx, state)
    if name not in state.lists:
        w.log("bounce for unknown list %s: ignored" % name)
        return w.out
    _count_bounce(w, name, _mailbox(recipient), counter, status, text)
    return w.out


# ---------------------------------------------------------------- dispatch

def accepts(ctx, state, recipient):
    return R.accepts(recipient, ctx.domain, list(state.lists))


def incoming(ctx, state, sender, recipients, message):
    """Act on a message accepted for `recipients` (our addresses)."""
    w = _Work(ctx, state)
    message = bytes(message)
    try:
        headers, body = H.parse(message)
    except H.HeaderError as e:
        w.log("dropped a message from %s: its header cannot be read: %s" % (sender or "<>", e))
        return w.out
    seen = []
    for rcpt in recipients:
        r = R.classify(rcpt, ctx.domain, w.names())
        if r is None:
            w.log("%s is not one of our addresses: ignored" % rcpt)
            continue
        key = (r.name, r.kind, r.token, r.counter, str(r.address))
        if key in seen:
            continue
        seen.append(key)
        n = r.name
        k = r.kind
        if k == R.POST:
            _on_post(w, n, sender, headers, body, message)
        elif k == R.SUBSCRIBE:
            _on_subscribe(w, n, sender, headers)
        elif k == R.UNSUBSCRIBE:
            _on_unsubscribe(w, n, sender, headers)
        elif k == R.SUBSCRIBERS:
            _on_subscribers(w, n, sender, headers)
        elif k == R.HELP:
            _on_help(w, n, sender, headers)
        elif k == R.OWNER:
            _on_owner(w, n, sender, headers, body)
        elif k == R.REMOVE:
            _on_remove(w, n, sender, headers)
        elif k == R.CONFIRM:
            _on_confirm(w, n, r, sender, headers)
        elif k in (R.APPROVE, R.REJECT):
            _on_decision(w, n, r, sender, headers)
        elif k == R.RETURN:
            _on_return(w, n, r, sender, message)
        elif k == R.BOUNCES:
            w.log("%s: mail to the bounce address of our own notices from %s: dropped"
                  % (n, sender or "<>"))
    return w.out


def expire(ctx, state):
    """Drop expired pending requests and bounce records past the window."""
    w = _Work(ctx, state)
    for i in list(state.pending):
        doc = state.pending[i]
        if pending.expired(doc, ctx.now):
            w.drop_pending(i)
            w.log("%s: %s request %s for %s expired" % (doc.get("list"), doc.get("kind"),
                                                         i, doc.get("address")))
    nb = bounces.prune(state.bounces, ctx.now)
    if nb is not None:
        w.out.bounces = nb
    return w.out
