"""Domain names to their ASCII (A-label) form, small enough for the image.

The store keeps every domain as lowercase A-labels (RFC 5890: "xn--" +
Punycode), so names compare byte for byte and go to DNS as they are. The host
tool maps Unicode input with the `idna` library (UTS 46) before it gets here;
on the device we only need Punycode itself (RFC 3492) and ASCII lowercasing.
"""

# RFC 3492 section 5: Punycode parameters for IDNA.
_BASE = 36
_TMIN = 1
_TMAX = 26
_SKEW = 38
_DAMP = 700
_INITIAL_BIAS = 72
_INITIAL_N = 128


class IdnaError(ValueError):
    pass


def _digit(d):
    # 0..25 -> a..z, 26..35 -> 0..9 (RFC 3492 section 5)
    return chr(d + 97) if d < 26 else chr(d + 22)


def _adapt(delta, numpoints, first):
    # RFC 3492 section 6.1
    delta = delta // _DAMP if first else delta // 2
    delta += delta // numpoints
    k = 0
    while delta > ((_BASE - _TMIN) * _TMAX) // 2:
        delta //= _BASE - _TMIN
        k += _BASE
    return k + (((_BASE - _TMIN + 1) * delta) // (delta + _SKEW))


def punycode_encode(label):
    """RFC 3492 section 6.3: encode one Unicode label (str) to ASCII."""
    codes = [ord(c) for c in label]
    out = [chr(c) for c in codes if c < 0x80]
    basic = len(out)
    handled = basic
    if basic:
        out.append("-")
    n = _INITIAL_N
    delta = 0
    bias = _INITIAL_BIAS
    while handled < len(codes):
        m = min(c for c in codes if c >= n)
        delta += (m - n) * (handled + 1)
        n = m
        for c in codes:
            if c < n:
                delta += 1
            elif c == n:
                q = delta
                k = _BASE
                while True:
                    t = _TMIN if k <= bias else (_TMAX if k >= bias + _TMAX else k - bias)
                    if q < t:
                        break
                    out.append(_digit(t + (q - t) % (_BASE - t)))
                    q = (q - t) // (_BASE - t)
                    k += _BASE
                out.append(_digit(q))
                bias = _adapt(delta, handled + 1, handled == basic)
                delta = 0
                handled += 1
        delta += 1
        n += 1
    return "".join(out)


def to_ascii(domain):
    """A domain (str, Unicode or ASCII) in lowercase A-label form.

    ASCII labels are only lowercased; labels with non-ASCII characters become
    "xn--" + Punycode. Syntax (LDH, lengths) is checked by the caller.
    """
    labels = []
    for label in domain.split("."):
        # Lowercase ASCII only, so both runtimes agree (MicroPython's
        # str.lower() leaves non-ASCII alone; UTS 46 mapping is the host's).
        label = "".join(c.lower() if ord(c) < 0x80 else c for c in label)
        if all(ord(c) < 0x80 for c in label):
            labels.append(label)
        else:
            labels.append("xn--" + punycode_encode(label))
    return ".".join(labels)
