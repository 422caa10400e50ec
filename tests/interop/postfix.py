"""A real Postfix for tests: private instances that leave the system's
Postfix alone (own config, queue, data folder and mail log in a temp folder).

PostfixMX: the MX for a set of test domains. Each domain is a virtual(8)
mailbox domain with one catch-all Maildir, so every delivered copy can be read
back with its envelope (Return-Path = envelope sender, Delivered-To = the
recipient).

    with PostfixMX(domains=["a.test", "b.test"],
                   listen=[("127.0.0.2", 25)]) as mx:
        mx.temp_fail("slow@a.test", times=2)       # 450 4.2.0 twice, then 250
        mx.reject("gone@a.test")                   # 550 5.1.1 every time
        mx.reject("@b.test", POLICY)               # 550 5.7.1 for a whole domain
        ... send ...
        msgs = mx.wait_for(3, timeout=10)          # list of Delivered
        msgs[0].sender, msgs[0].recipient, msgs[0].content
        mx.attempts("slow@a.test")                 # ["450 4.2.0 ...", ..., "DUNNO"]

Canned answers come from a Postfix policy service (check_policy_service)
served by a thread of this process, asked at every RCPT TO: it answers the
next reply in the recipient's list (a str is "always"; a list is used up
one per attempt, then the recipient is accepted) and records every attempt.
The rules may change while the instance runs (no reload needed). Keys are
full addresses or "@domain"; matching ignores case.

Addresses outside the domains get Postfix's own "554 5.7.1 Relay access
denied" (mynetworks is empty: nothing is relayed, not even from loopback).

Instance: the bare private Postfix (no listener unless asked), used by the
fan-out benchmark: main= adds main.cf parameters, sendmail() submits,
wait_queue_empty() polls `postqueue -p`.

Start: about 0.25 s. Stop: SIGTERM to master (what `postfix stop` does,
without its 1 s polling), SIGKILL after 5 s; also at interpreter exit.

Traps handled here (see also ../shared/reference/peer-setup-notes.md):
- every parent folder must be searchable by the postfix user. If the
  `directory` given is (or None is given), the instance is a 0755 folder
  "postfix-XXXX" inside it (kept); otherwise (pytest's tmp_path is under a
  0700 folder) it is a 0755 folder /tmp/ptt-mx-XXXX, which `directory`
  links to as "postfix", removed on stop unless keep=True, the start failed
  or the `with` block raised;
- early fatal errors (before maillog_file is read, e.g. a bad
  inet_interfaces) go to syslog's /dev/log, absent here, or to stderr only
  when it is a terminal: start() runs postfix on a pseudo-terminal and raises
  PostfixError with that output and the mail log's tail;
- smtpd sleeps 1 s after each refused command by default
  (smtpd_error_sleep_time): set to 0 here, or 4xx/5xx tests crawl;
- Postfix's master binds with SO_REUSEPORT: a second instance on the same
  address:port starts without error and the kernel splits the connections
  between the two (seen when two test runs overlapped). Each listen address
  is therefore locked (flock on $TMPDIR/ptt-postfix-locks/HOST-PORT.lock) for
  the instance's life; a second fixture waits (lock_timeout) for its turn;
- Postfix rereads config files changed within the last second, sleeping
  0.3 s per try: they are written dated 10 s back (start: 2 s -> 0.25 s);
- `postfix start` runs slow integrity checks (about 3 s): `postfix check`
  (0.2 s, creates the queue) then queue/quick-start makes start take 0.1 s;
- inet_interfaces must name configured addresses only (127.0.0.2 is not,
  though master.cf may bind it): it is loopback-only here;
- mail from loopback counts as local (local_header_rewrite_clients): Postfix
  would add Message-Id/Date/From; disabled so signed mail arrives intact;
- there is no init reaping orphans in these containers: stopped instances
  leave zombie processes (harmless; stop() treats a zombie as gone);
- listening on port 25 needs root; 127.0.0.2.. work on Linux's lo without
  configuration (127.0.0.0/8 is routed to lo).
Needs root (port 25, `postfix start`).
"""

import atexit
import fcntl
import email
import os
import pty
import select
import pwd
import shutil
import signal
import socket
import socketserver
import subprocess
import tempfile
import threading
import time

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"
POSTCONF = shutil.which("postconf") or "/usr/sbin/postconf"
SENDMAIL = "/usr/sbin/sendmail"
POSTQUEUE = shutil.which("postqueue") or "/usr/sbin/postqueue"

BUSY = "450 4.2.0 mailbox busy; try again later"
USER_UNKNOWN = "550 5.1.1 no such user here"
POLICY = "550 5.7.1 refused by local policy"
ACCEPT = "DUNNO"    # policy answer: fall through to the next restriction

MASTER_SERVICES = """\
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

_running = set()


def available():
    """Postfix installed and we are root (needed for port 25 and start)."""
    return os.path.exists(POSTFIX) and os.path.exists(SENDMAIL) and os.geteuid() == 0


def port_free(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _searchable_by_all(path):
    p = os.path.abspath(path)
    while True:
        try:
            if not os.stat(p).st_mode & 0o001:
                return False
        except OSError:
            return False
        parent = os.path.dirname(p)
        if parent == p:
            return True
        p = parent


class PostfixError(Exception):
    def __init__(self, msg):
        super().__init__(msg)


class Instance:
    """A private Postfix instance. listen: [(host, port)] for smtpd;
    main: extra main.cf parameters (override the defaults here)."""

    def __init__(self, directory=None, listen=(), main=None, hostname="mx.peers.test",
                 keep=False, name="ptt-postfix-"):
        self.listen = [(h, int(p)) for h, p in listen]
        self.hostname = hostname
        self.extra = dict(main or {})
        self.keep = keep
        self.given_dir = directory
        self.name = name
        self.dir = None
        self.started = False
        self.start_seconds = None
        self.token = "id=%s" % os.urandom(4).hex()   # in the banner: ours answers

    # -- paths
    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    @property
    def conf(self):
        return self.path("conf")

    @property
    def maillog(self):
        return self.path("log", "maillog")

    def _make_dir(self):
        if self.given_dir:
            os.makedirs(self.given_dir, exist_ok=True)
        if self.given_dir and _searchable_by_all(self.given_dir):
            d = tempfile.mkdtemp(prefix="postfix-", dir=os.path.abspath(self.given_dir))
        else:
            d = tempfile.mkdtemp(prefix=self.name)
            self._own_tmp = True
            if self.given_dir:
                link = os.path.join(self.given_dir, "postfix")
                if not os.path.lexists(link):
                    os.symlink(d, link)
        os.chmod(d, 0o755)
        self.dir = d
        for sub in ("conf", "queue", "data", "log"):
            os.makedirs(self.path(sub), mode=0o755, exist_ok=True)
        pf = pwd.getpwnam("postfix")
        os.chown(self.path("data"), pf.pw_uid, pf.pw_gid)
        os.chown(self.path("log"), pf.pw_uid, pf.pw_gid)

    def main_cf(self):
        p = {
            "compatibility_level": "3.6",
            "queue_directory": self.path("queue"),
            "data_directory": self.path("data"),
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.path("log"),
            "myhostname": self.hostname,
            "mydomain": "peers.test",
            "myorigin": "$myhostname",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "relayhost": "",
            "mynetworks": "",
            # only addresses configured on an interface (127.0.0.2 is not, though
            # master.cf may bind it): anything else is fatal, reported only to syslog
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            # mail from loopback would count as local: no header rewriting or
            # added Message-Id/Date/From (signatures must survive)
            "local_header_rewrite_clients": "",
            "smtpd_banner": "$myhostname ESMTP peers-test " + self.token,
            "biff": "no",
            "append_dot_mydomain": "no",
            "smtpd_relay_restrictions": "reject_unauth_destination",
            "smtpd_recipient_restrictions": "permit",
            "smtpd_error_sleep_time": "0",
            "smtpd_soft_error_limit": "1000",
            "smtpd_hard_error_limit": "1000",
            "smtpd_recipient_limit": "10000",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "message_size_limit": "52428800",
            "notify_classes": "",
            "maximal_backoff_time": "10s",
            "minimal_backoff_time": "5s",
            "queue_run_delay": "5s",
        }
        p.update(self.extra)
        return "".join("%s = %s\n" % (k, v) for k, v in p.items())

    def master_cf(self):
        lines = ["%s:%d inet n - n - - smtpd\n" % (h, port) for h, port in self.listen]
        return "".join(lines) + MASTER_SERVICES

    def write_config(self):
        self.write_file("main.cf", self.main_cf())
        self.write_file("master.cf", self.master_cf())

    def write_file(self, name, text):
        """Write a file into the config folder, dated 10 s ago: Postfix
        rereads a file changed within the last second or so, sleeping 0.3 s
        each time, until it is older (about 1.5 s lost per start otherwise)."""
        path = self.path("conf", name)
        with open(path, "w") as f:
            f.write(text)
        past = time.time() - 10
        os.utime(path, (past, past))
        return path

    def env(self):
        return dict(os.environ, MAIL_CONFIG=self.conf)

    def _run(self, args, timeout=60, **kw):
        return subprocess.run(args, env=self.env(), capture_output=True,
                              timeout=timeout, **kw)

    def _run_tty(self, args, timeout=60):
        """Run with stderr on a pseudo-terminal: Postfix commands print their
        errors to stderr only when it is a terminal (otherwise they go to
        syslog's /dev/log, which does not exist here, before maillog_file
        is read)."""
        master, slave = pty.openpty()
        try:
            p = subprocess.Popen(args, env=self.env(), stdin=subprocess.DEVNULL,
                                 stdout=slave, stderr=slave)
            os.close(slave)
            slave = None
            out = b""
            deadline = time.monotonic() + timeout
            while True:
                r, _, _ = select.select([master], [], [], 0.05)
                if r:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:
                        chunk = b""
                    if chunk:
                        out += chunk
                        continue
                    break       # EOF: every holder of the terminal is gone
                if p.poll() is not None:
                    break       # exited; a detached daemon may keep the tty
                if time.monotonic() > deadline:
                    p.kill()
                    p.wait()
                    return -9, out.decode(errors="replace") + "\n(timed out)"
            return p.wait(), out.decode(errors="replace").replace("\r\n", "\n")
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)

    # -- life cycle
    def _lock_listeners(self, timeout):
        """Hold a lock file per listen address for the instance's life, so
        fixtures in concurrent test runs take turns: Postfix's master binds
        with SO_REUSEPORT, so a second instance on the same address:port
        starts fine and the kernel splits connections between the two."""
        self._locks = []
        for h, port in sorted(set(self.listen)):
            folder = os.path.join(tempfile.gettempdir(), "ptt-postfix-locks")
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, "%s-%d.lock" % (h, port))
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
                        os.close(fd)
                        self._unlock_listeners()
                        raise PostfixError("%s:%d is held by another test fixture (%s) for "
                                           "more than %.0f s" % (h, port, holder, timeout))
                    time.sleep(0.1)
            os.ftruncate(fd, 0)
            os.pwrite(fd, ("pid %d %s\n" % (os.getpid(), self.dir or "")).encode(), 0)
            self._locks.append(fd)

    def _unlock_listeners(self):
        for fd in getattr(self, "_locks", []):
            try:
                os.close(fd)      # releases the flock
            except OSError:
                pass
        self._locks = []

    def start(self, timeout=30.0, lock_timeout=600.0):
        """Start and wait until every listener answers with our banner.
        On failure everything is stopped (the folder is kept for the logs)
        and PostfixError says why."""
        self._lock_listeners(lock_timeout)
        t0 = time.monotonic()
        try:
            for h, port in self.listen:
                if not port_free(h, port):
                    raise PostfixError("%s:%d is already in use (a stale instance, or "
                                       "something else?)" % (h, port))
            self._make_dir()
            self.before_start()
            self.write_config()
            # `check` creates the queue (0.2 s); with queue/quick-start, `start`
            # skips its own slow checks (about 3 s here) and takes 0.1 s.
            for cmd in ("check", "start"):
                code, out = self._run_tty([POSTFIX, "-c", self.conf, cmd], timeout)
                if code != 0:
                    raise PostfixError("postfix %s failed (%d): %s\n--- mail log (%s):\n%s"
                                       % (cmd, code, out, self.maillog, self.log_tail()))
                if cmd == "check":
                    open(self.path("queue", "quick-start"), "w").close()
            self.started = True
            _running.add(self)
            self._wait_ready(t0 + timeout)
        except BaseException:
            self.keep = self.dir is not None
            self.stop()
            raise
        self.start_seconds = time.monotonic() - t0
        return self

    def before_start(self):
        pass

    def _wait_ready(self, deadline):
        for h, port in self.listen:
            while True:
                if self._banner(h, port, self.token.encode()):
                    break
                if time.monotonic() > deadline:
                    raise PostfixError("Postfix does not answer on %s:%d\n%s"
                                       % (h, port, self.log_tail()))
                time.sleep(0.02)

    @staticmethod
    def _banner(host, port, token=b""):
        try:
            s = socket.create_connection((host, port), timeout=2)
        except OSError:
            return False
        try:
            data = s.recv(512)
            ok = data.startswith(b"220") and token in data
            if ok:
                s.sendall(b"QUIT\r\n")
                s.recv(512)
            return ok
        except OSError:
            return False
        finally:
            s.close()

    def master_pid(self):
        try:
            with open(self.path("queue", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self):
        if self.started:
            # what `postfix stop` does (SIGTERM to master, which stops its
            # children), minus its sleep(1) polling; SIGKILL if it lingers
            pid = self.master_pid()
            if pid is None:
                self._run([POSTFIX, "-c", self.conf, "abort"], timeout=15)
            else:
                for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                    if not _alive(pid):
                        break
                    os.kill(pid, sig)
                    deadline = time.monotonic() + wait
                    while _alive(pid) and time.monotonic() < deadline:
                        time.sleep(0.01)
            self.started = False
        _running.discard(self)
        self._unlock_listeners()
        self.after_stop()
        if self.dir and not self.keep and getattr(self, "_own_tmp", False):
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.given_dir:
                link = os.path.join(self.given_dir, "postfix")
                if os.path.islink(link):
                    os.remove(link)

    def after_stop(self):
        pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            self.keep = True
        self.stop()

    # -- helpers
    def log_tail(self, n=4000):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()[-n:]
        except OSError:
            return "(no mail log at %s)" % self.maillog

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def sendmail(self, sender, recipients, data, verp=False, timeout=300):
        """Submit through this instance's sendmail(1); -XV asks for VERP."""
        args = [SENDMAIL, "-C", self.conf, "-i", "-f", sender]
        if verp:
            args.append("-XV")
        args.append("--")
        args += list(recipients)
        r = self._run(args, input=data, timeout=timeout)
        if r.returncode != 0:
            raise PostfixError("sendmail failed (%d): %s\n%s" % (
                r.returncode, (r.stdout + r.stderr).decode(errors="replace"), self.log_tail()))

    def queue_empty(self):
        r = self._run([POSTQUEUE, "-c", self.conf, "-p"], timeout=30)
        return b"Mail queue is empty" in r.stdout

    def wait_queue_empty(self, timeout=120, interval=0.02):
        deadline = time.monotonic() + timeout
        while not self.queue_empty():
            if time.monotonic() > deadline:
                raise PostfixError("queue not empty after %.0f s\n%s" % (timeout, self.log_tail()))
            time.sleep(interval)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours counts as gone
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@atexit.register
def _stop_all():
    for inst in list(_running):
        try:
            inst.stop()
        except Exception:
            pass


class Delivered:
    """One delivered copy, read from a domain's Maildir.

    raw: the file as stored (LF line ends, with virtual(8)'s Return-Path,
    X-Original-To and Delivered-To on top); sender: the envelope sender ("" for
    <>); recipient: the envelope recipient (Delivered-To); original_recipient
    (X-Original-To); content: the message as this MX queued it (its Received
    header on top, without virtual(8)'s lines), CRLF line ends; original: the
    content without that topmost Received header, i.e. what the client sent;
    message: email.message.Message of content."""

    def __init__(self, path, domain):
        self.path = path
        self.domain = domain
        with open(path, "rb") as f:
            self.raw = f.read()
        self.mtime = os.stat(path).st_mtime
        self.sender = None
        self.recipient = None
        self.original_recipient = None
        lines = self.raw.split(b"\n")
        i = 0
        while i < len(lines):
            line = lines[i]
            low = line.lower()
            if low.startswith(b"return-path:"):
                self.sender = line.split(b":", 1)[1].strip().strip(b"<>").decode()
            elif low.startswith(b"delivered-to:"):
                self.recipient = line.split(b":", 1)[1].strip().decode()
            elif low.startswith(b"x-original-to:"):
                self.original_recipient = line.split(b":", 1)[1].strip().decode()
            else:
                break
            i += 1
        body = b"\n".join(lines[i:])
        self.content = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        self.message = email.message_from_bytes(self.content)
        self.original = self._strip_received(self.content)

    @staticmethod
    def _strip_received(content):
        if not content.lower().startswith(b"received:"):
            return content
        i = content.find(b"\r\n")
        while i >= 0 and content[i + 2:i + 3] in (b" ", b"\t"):
            i = content.find(b"\r\n", i + 2)
        return content[i + 2:] if i >= 0 else content

    def __getitem__(self, name):
        return self.message[name]

    def __repr__(self):
        return "<Delivered %s from <%s> (%d bytes)>" % (self.recipient, self.sender,
                                                       len(self.raw))


class _PolicyHandler(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            attrs = {}
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                line = line.rstrip(b"\r\n")
                if not line:
                    break
                k, _, v = line.decode(errors="replace").partition("=")
                attrs[k] = v
            action = self.server.decide(attrs)
            self.wfile.write(("action=%s\n\n" % action).encode())
            self.wfile.flush()


class _PolicyServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, decide):
        self.decide = decide
        super().__init__(("127.0.0.1", 0), _PolicyHandler)


class PostfixMX(Instance):
    """The MX for `domains` (catch-all Maildir per domain) on `listen`
    [(host, port)], e.g. [("127.0.0.2", 25), ("127.0.0.1", 2525)]; the second
    pair can serve QEMU guests (guestfwd or 10.0.2.2, see peers.py).
    rules: {address or "@domain": reply str (always) or list of replies (one
    per attempt, then accept)}."""

    def __init__(self, directory=None, domains=(), listen=(("127.0.0.2", 25),),
                 rules=None, hostname="mx.peers.test", main=None, keep=False):
        super().__init__(directory, listen, main, hostname, keep, "ptt-mx-")
        self.domains = [d.lower() for d in domains]
        if not self.domains:
            raise PostfixError("PostfixMX needs at least one domain")
        self._lock = threading.Lock()
        self._rules = {}
        self._attempts = []     # (sender, recipient, action)
        for k, v in (rules or {}).items():
            self.set_rule(k, v)
        self._policy = None

    # -- canned answers
    def set_rule(self, key, replies):
        """replies: a str (given at every attempt) or a list (one per
        attempt, then the recipient is accepted); None removes the rule."""
        with self._lock:
            if replies is None:
                self._rules.pop(key.lower(), None)
            elif isinstance(replies, str):
                self._rules[key.lower()] = replies
            else:
                self._rules[key.lower()] = list(replies)

    def temp_fail(self, rcpt, times=1, reply=BUSY):
        self.set_rule(rcpt, [reply] * times)

    def reject(self, rcpt, reply=USER_UNKNOWN):
        self.set_rule(rcpt, reply)

    def attempts(self, rcpt=None):
        """The answers given at RCPT TO so far (ACCEPT = "DUNNO" for accepted),
        for one recipient, or (sender, recipient, answer) for all."""
        with self._lock:
            if rcpt is None:
                return list(self._attempts)
            r = rcpt.lower()
            return [a for s, x, a in self._attempts if x.lower() == r]

    def _decide(self, attrs):
        rcpt = attrs.get("recipient", "")
        low = rcpt.lower()
        with self._lock:
            key = low if low in self._rules else "@" + low.rpartition("@")[2]
            rule = self._rules.get(key)
            if rule is None:
                action = ACCEPT
            elif isinstance(rule, str):
                action = rule
            elif rule:
                action = rule.pop(0)
            else:
                action = ACCEPT
            self._attempts.append((attrs.get("sender", ""), rcpt, action))
        return action

    # -- life cycle
    def before_start(self):
        pf = pwd.getpwnam("postfix")
        base = self.path("mail")
        os.makedirs(base, exist_ok=True)
        os.chown(base, pf.pw_uid, pf.pw_gid)
        self.write_file("vmailbox", "".join("@%s %s/\n" % (d, d) for d in self.domains))
        self._policy = _PolicyServer(self._decide)
        threading.Thread(target=self._policy.serve_forever, daemon=True).start()
        self.extra = dict({
            "virtual_mailbox_domains": ", ".join(self.domains),
            "virtual_mailbox_base": base,
            "virtual_mailbox_maps": "texthash:" + self.path("conf", "vmailbox"),
            "virtual_uid_maps": "static:%d" % pf.pw_uid,
            "virtual_gid_maps": "static:%d" % pf.pw_gid,
            "virtual_mailbox_limit": "0",
            "smtpd_recipient_restrictions":
                "check_policy_service inet:127.0.0.1:%d, permit" % self._policy.server_address[1],
            "smtpd_policy_service_default_action": "451 4.3.5 test policy service down",
        }, **self.extra)

    def after_stop(self):
        if self._policy is not None:
            self._policy.shutdown()
            self._policy.server_close()
            self._policy = None

    # -- reading deliveries
    def maildir(self, domain):
        return self.path("mail", domain.lower())

    def messages(self, recipient=None):
        """Every copy delivered so far, oldest first."""
        out = []
        for d in self.domains:
            for sub in ("new", "cur"):
                folder = os.path.join(self.maildir(d), sub)
                try:
                    names = os.listdir(folder)
                except FileNotFoundError:
                    continue
                for n in names:
                    try:
                        out.append(Delivered(os.path.join(folder, n), d))
                    except FileNotFoundError:
                        pass
        if recipient is not None:
            out = [m for m in out if (m.recipient or "").lower() == recipient.lower()]
        out.sort(key=lambda m: (m.mtime, os.path.basename(m.path)))
        return out

    def wait_for(self, count, timeout=10.0, recipient=None):
        """Wait until at least `count` copies (for `recipient`, if given) are
        delivered; return them all, oldest first."""
        deadline = time.monotonic() + timeout
        while True:
            msgs = self.messages(recipient)
            if len(msgs) >= count:
                return msgs
            if time.monotonic() > deadline:
                raise PostfixError("%d of %d messages delivered after %.1f s; queue:\n%s\n"
                                   "mail log tail:\n%s" % (
                                       len(msgs), count, timeout,
                                       self._run([POSTQUEUE, "-c", self.conf, "-p"]).stdout
                                       .decode(errors="replace"), self.log_tail()))
            time.sleep(0.02)

    def reset(self):
        """Forget deliveries, rules and attempts (for a fixture shared by tests)."""
        for d in self.domains:
            for sub in ("new", "cur", "tmp"):
                folder = os.path.join(self.maildir(d), sub)
                if os.path.isdir(folder):
                    for n in os.listdir(folder):
                        os.remove(os.path.join(folder, n))
        with self._lock:
            self._rules.clear()
            self._attempts = []
