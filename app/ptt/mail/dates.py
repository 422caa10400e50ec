"""Dates in the two forms mail needs, from and to Unix time (UTC).

Our own calendar arithmetic (days from civil date), because MicroPython's
time.mktime uses local time and the unix port has no timegm.
"""

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class DateError(ValueError):
    pass


def _days_from_civil(y, m, d):
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method).
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z):
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return y + (m <= 2), m, d


def _split(t):
    t = int(t)
    days, secs = t // 86400, t % 86400
    y, m, d = _civil_from_days(days)
    return y, m, d, secs // 3600, (secs // 60) % 60, secs % 60, days


def rfc3339(t):
    """2026-11-25T17:30:05Z"""
    y, m, d, hh, mm, ss, _ = _split(t)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (y, m, d, hh, mm, ss)


def parse_rfc3339(s):
    """RFC 3339 date-time -> Unix time (int seconds; fractions dropped)."""
    try:
        y, mo, d = int(s[0:4]), int(s[5:7]), int(s[8:10])
        hh, mm, ss = int(s[11:13]), int(s[14:16]), int(s[17:19])
        if s[4] != "-" or s[7] != "-" or s[10] not in "Tt" or s[13] != ":" or s[16] != ":":
            raise ValueError
        rest = s[19:]
        if rest.startswith("."):
            i = 1
            while i < len(rest) and rest[i].isdigit():
                i += 1
            rest = rest[i:]
        if rest in ("Z", "z"):
            off = 0
        elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
            off = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60
            if rest[0] == "-":
                off = -off
        else:
            raise ValueError
    except (ValueError, IndexError):
        raise DateError("not an RFC 3339 date-time: %r" % s)
    return _days_from_civil(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss - off


def rfc5322(t):
    """RFC 5322 3.3 date-time in UTC: 'Wed, 25 Nov 2026 17:30:05 +0000'."""
    y, m, d, hh, mm, ss, days = _split(t)
    return "%s, %02d %s %04d %02d:%02d:%02d +0000" % (_DAYS[(days + 3) % 7], d, _MONTHS[m - 1], y, hh, mm, ss)
