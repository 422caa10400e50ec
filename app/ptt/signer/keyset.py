"""Keys, selectors and rotation for the signer (pure: `now` is passed in).

Record names.  One --selector S names one DNS record per algorithm:
    S-rsa._domainkey.DOMAIN       (rsa-sha256)
    S-ed25519._domainkey.DOMAIN   (ed25519-sha256, RFC 8463)
A time-based selector is a format with one "%d" (e.g. "ptt-%d"); "%d" is
filled with the Unix time at which that key's period starts.

Keys from a seed (--seed BASE64, the reference's -p/--password).  For each
record the key material is
    K = PBKDF2-HMAC-SHA256(password=seed, salt="<domain>:ptt:<selector>",
                           count=1, dkLen=32)          (RFC 8018 5.2)
where <selector> is the full first label (e.g. "ptt-1700000000-ed25519").
Ed25519: K is the RFC 8032 private key (seed).  RSA: primes drawn from an
HMAC-SHA256 counter stream keyed with K (see derive_rsa).  The seed must be
random (`ptt-tool keys new --seed` makes 32 bytes): with count=1 it is not a
password hash.  Every instance holding the seed derives the same keys, so
rotation needs no key storage and survives reboots.

Rotation (time-based selector, --expiration E).  Time is cut into periods of
E seconds starting at multiples of E.  During period [c, c+E) the signer
signs with selector fmt % c and puts x = t + E in each signature.  The record
of the previous period (fmt % (c-E)) stays published: its last signatures
expire before c+E.  The record of period c-2E is deleted.  The next period's
record is published LEAD seconds before it starts, so it is resolvable when
the first signature with it leaves.
"""
from ptt.crypto import hmac as _hmac
from ptt.crypto import keys as _keys
from ptt.crypto import rsa as _rsa
from ptt.crypto.ed25519 import Ed25519PrivateKey

ALGORITHMS = ("rsa", "ed25519")
SUFFIX = {"rsa": "-rsa", "ed25519": "-ed25519"}
MIN_PERIOD = 60          # seconds; shorter periods only make DNS churn
MAX_LEAD = 300           # publish the next record at most 5 minutes early


class KeyError_(ValueError):
    def __init__(self, msg):
        super().__init__(msg)


# ---------------------------------------------------------------- durations

_DUR = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(s):
    """'3600', '90s', '30m', '12h', '7d', '2w' or combinations like '1d12h'
    -> seconds (int > 0). Raises ValueError."""
    if not s:
        raise ValueError("empty duration")
    total = 0
    num = ""
    for c in s:
        if "0" <= c <= "9":
            num += c
            continue
        mult = None
        for u, m in _DUR:
            if c == u:
                mult = m
        if mult is None or not num:
            raise ValueError("%r is not a duration (e.g. 3600, 90s, 30m, 12h, 7d, 2w, 1d12h)" % s)
        total += int(num) * mult
        num = ""
    if num:
        total += int(num)
    if total <= 0:
        raise ValueError("%r: the duration must be positive" % s)
    return total


# ---------------------------------------------------------------- selectors

def is_format(selector):
    return "%d" in selector


def check_selector(selector):
    """A fixed selector or a format with exactly one %d; ValueError otherwise."""
    if selector.count("%") != selector.count("%d") or selector.count("%d") > 1:
        raise ValueError("%r: a selector is a DNS label, or a format with one %%d "
                         "(e.g. ptt-%%d) for time-based selectors" % selector)
    sample = selector.replace("%d", "1700000000")
    for part in sample.split("."):
        if not part or len(part) + 8 > 63:
            raise ValueError("%r: each label of a selector must be 1 to 55 characters" % selector)
        for c in part.lower():
            if not ("a" <= c <= "z" or "0" <= c <= "9" or c == "-" or c == "_"):
                raise ValueError("%r: a selector may hold only letters, digits, '-' and '_'"
                                 % selector)
    return selector


def selector_name(base, algorithm):
    """The selector (s=) for one algorithm: base + "-rsa" / "-ed25519"."""
    return base + SUFFIX[algorithm]


def record_name(selector, domain):
    return "%s._domainkey.%s" % (selector, domain)


def format_selector(fmt, epoch):
    return fmt.replace("%d", str(int(epoch)))


# ---------------------------------------------------------------- derivation

def pbkdf2_sha256(password, salt, count=1, dklen=32):
    """RFC 8018 5.2 PBKDF2 with HMAC-SHA256 (MicroPython lacks
    hashlib.pbkdf2_hmac)."""
    out = b""
    block = 1
    while len(out) < dklen:
        u = _hmac.digest(password, salt + block.to_bytes(4, "big"), "sha256")
        t = bytearray(u)
        for _ in range(count - 1):
            u = _hmac.digest(password, u, "sha256")
            for i in range(len(t)):
                t[i] ^= u[i]
        out += bytes(t)
        block += 1
    return out[:dklen]


def key_material(seed, domain, selector):
    return pbkdf2_sha256(seed, ("%s:ptt:%s" % (domain, selector)).encode(), 1, 32)


def derive_ed25519(seed, domain, selector):
    return Ed25519PrivateKey(key_material(seed, domain, selector))


class _Stream:
    """HMAC-SHA256(K, "ptt-rsa" || counter) blocks, as a byte stream."""

    def __init__(self, k):
        self.k = k
        self.n = 0

    def read(self, size):
        out = b""
        while len(out) < size:
            out += _hmac.digest(self.k, b"ptt-rsa" + self.n.to_bytes(4, "big"), "sha256")
            self.n += 1
        return out[:size]


_SMALL_PRIMES = []


def _small_primes():
    if not _SMALL_PRIMES:
        sieve = bytearray(b"\x01" * 2000)
        for i in range(2, 2000):
            if sieve[i]:
                _SMALL_PRIMES.append(i)
                for j in range(i * i, 2000, i):
                    sieve[j] = 0
    return _SMALL_PRIMES


def _miller_rabin(n, stream, rounds):
    d = n - 1
    s = 0
    while d % 2 == 0:
        d //= 2
        s += 1
    size = _rsa.byte_len(n)
    for _ in range(rounds):
        a = 2 + int.from_bytes(stream.read(size), "big") % (n - 3)
        x = pow(a, d, n)
        if x == 1 or x == n - 1:
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(stream, nbytes, e):
    primes = _small_primes()
    while True:
        c = bytearray(stream.read(nbytes))
        c[0] |= 0xC0          # two top bits: p*q has exactly 2*8*nbytes bits
        c[-1] |= 1
        p = int.from_bytes(bytes(c), "big")
        ok = True
        for sp in primes:
            if p % sp == 0:
                ok = False
                break
        if not ok or (p - 1) % e == 0:
            continue
        if _miller_rabin(p, stream, 5):   # FIPS 186-5 B.3: 5 rounds for 1024-bit halves
            return p


def derive_rsa(seed, domain, selector, bits=2048, e=65537):
    """A deterministic RSA key from the seed (see the module docstring):
    p then q are the first probable primes (top two bits and the low bit
    set, trial division by primes < 2000, 5 Miller-Rabin rounds with bases
    from the same stream) read from the HMAC-SHA256 stream keyed with K."""
    if bits % 16 or bits < 1024:
        raise KeyError_("RSA key size %d: use 2048 (or a multiple of 16, at least 1024)" % bits)
    stream = _Stream(key_material(seed, domain, selector))
    p = _prime(stream, bits // 16, e)
    while True:
        q = _prime(stream, bits // 16, e)
        if q != p:
            break
    if p < q:
        p, q = q, p
    n = p * q
    lam = (p - 1) * (q - 1) // _gcd(p - 1, q - 1)
    d = _rsa.modinv(e, lam)
    return _rsa.RSAPrivateKey(n, e, d, p, q)


def _gcd(a, b):
    while b:
        a, b = b, a % b
    return a


def load_der(data):
    """A private key from DER/PKCS#8/PKCS#1 bytes (or a raw 32-byte Ed25519
    seed); KeyError_ with one line otherwise."""
    try:
        return _keys.load_private_key(data)
    except ValueError as e:
        raise KeyError_("the private key cannot be read: %s (give base64 DER, "
                        "PKCS#8 or PKCS#1, as `ptt-tool keys new` prints)" % e)


# ---------------------------------------------------------------- rotation

class Plan:
    """What the signer should do at `now`.

    sign: {algorithm: selector} to sign with; expire: x= for new signatures
    (None: no x=); publish: [(algorithm, selector)] that must be in DNS;
    delete: [(algorithm, selector)] to remove; next_change: Unix time at
    which the plan changes (None: never).
    """

    def __init__(self, sign, expire_after, publish, delete, next_change):
        self.sign = sign
        self.expire_after = expire_after
        self.publish = publish
        self.delete = delete
        self.next_change = next_change

    def __repr__(self):
        return "Plan(sign=%r, publish=%r, delete=%r, next=%r)" % (
            self.sign, self.publish, self.delete, self.next_change)


def lead_time(period):
    return min(period // 10, MAX_LEAD)


def plan(selector, algorithms, now, period=None):
    """The Plan for a fixed or time-based selector at time now."""
    now = int(now)
    algs = [a for a in ALGORITHMS if a in algorithms]
    if not is_format(selector):
        sign = {}
        pub = []
        for a in algs:
            sign[a] = selector_name(selector, a)
            pub.append((a, sign[a]))
        return Plan(sign, period, pub, [], None)
    if not period:
        raise KeyError_("a time-based selector (%s) needs --expiration" % selector)
    if period < MIN_PERIOD:
        raise KeyError_("--expiration of %d s is too short for a rotating selector; "
                        "use at least %d s" % (period, MIN_PERIOD))
    cur = now - now % period
    lead = lead_time(period)
    epochs = [cur - period, cur]
    nxt = cur + period
    if now >= nxt - lead:
        epochs.append(nxt)
        change = nxt
    else:
        change = nxt - lead
    sign = {}
    pub = []
    dele = []
    for a in algs:
        sign[a] = selector_name(format_selector(selector, cur), a)
        for ep in epochs:
            if ep > 0:
                pub.append((a, selector_name(format_selector(selector, ep), a)))
        old = cur - 2 * period
        if old > 0:
            dele.append((a, selector_name(format_selector(selector, old), a)))
    return Plan(sign, period, pub, dele, change)


class Keyring:
    """The private key of each (algorithm, selector): given explicitly
    (--private-key, fixed selector) or derived from the seed, and cached."""

    def __init__(self, domain, explicit=None, seed=None, rsa_bits=2048):
        self.domain = domain
        self.explicit = explicit or {}     # algorithm -> key
        self.seed = seed
        self.rsa_bits = rsa_bits
        self._cache = {}

    def key(self, algorithm, selector):
        k = self.explicit.get(algorithm)
        if k is not None:
            return k
        if self.seed is None:
            raise KeyError_("no %s key: give --private-key with an %s key or --seed"
                            % (algorithm, algorithm))
        ck = algorithm + " " + selector
        k = self._cache.get(ck)
        if k is None:
            if algorithm == "rsa":
                k = derive_rsa(self.seed, self.domain, selector, self.rsa_bits)
            else:
                k = derive_ed25519(self.seed, self.domain, selector)
            self._cache[ck] = k
        return k

    def forget_except(self, keep):
        """Drop cached keys whose selector is not in keep (a list)."""
        for ck in list(self._cache):
            if ck.split(" ", 1)[1] not in keep:
                if ck.startswith("rsa "):
                    _rsa.release(self._cache[ck])
                del self._cache[ck]
