"""ptt-tool dns check: which DNS records a ptt deployment needs and whether
the live DNS has them (dnspython).

    ptt-tool dns check --domain example.org [--selector s1 ...]
                       [--algorithm both] [--nameserver IP[:PORT]]

Checks: the DKIM key records (S-rsa / S-ed25519 ._domainkey, or a full
selector name as given), SPF (one v=spf1 TXT at the domain, RFC 7208 4.5),
DMARC (v=DMARC1 at _dmarc, RFC 7489 6.1) and MX (RFC 5321 5.1; a null MX
counts as missing). Prints one line per record; exit 1 if any is missing or
broken, with what to add.
"""
import sys

from ptt import dkim
from ptt.signer import keyset as K

OK = "ok"
MISSING = "MISSING"
BAD = "BAD"


def add_parser(subparsers):
    p = subparsers.add_parser("dns", help="check the DNS records a deployment needs",
                              description="DNS checks for a ptt deployment.")
    sub = p.add_subparsers(dest="dns_command", metavar="ACTION")
    sub.required = True
    c = sub.add_parser("check", help="show the needed records and whether live DNS has them",
                       description="Show which records the deployment needs (DKIM, SPF, DMARC, "
                                   "MX) and whether the live DNS has them. Exit 1 if any is "
                                   "missing.")
    c.add_argument("--domain", required=True)
    c.add_argument("--selector", action="append", default=[],
                   help="selector base S (checks S-rsa and S-ed25519) or a full selector "
                        "name ending in -rsa / -ed25519; repeatable (default: ptt)")
    c.add_argument("--algorithm", choices=("both", "rsa", "ed25519"), default="both")
    c.add_argument("--nameserver", metavar="IP[:PORT]",
                   help="ask this server (default: the system's resolver)")
    c.add_argument("--timeout", type=float, default=5.0)
    c.set_defaults(func=cmd_check)


class CheckError(Exception):
    pass


def _resolver(nameserver, timeout):
    import dns.resolver
    if nameserver is None:
        r = dns.resolver.Resolver()
    else:
        r = dns.resolver.Resolver(configure=False)
        ip, port = nameserver, 53
        if nameserver.startswith("["):
            ip, _, rest = nameserver[1:].partition("]")
            if rest.startswith(":"):
                port = int(rest[1:])
        elif nameserver.count(":") == 1:
            ip, p = nameserver.split(":")
            port = int(p)
        r.nameservers = [ip]
        r.port = port
    r.lifetime = timeout
    r.timeout = timeout
    return r


def _query(res, name, rtype):
    """-> list of rdata, [] when the name or type has none; CheckError when
    DNS itself fails."""
    import dns.exception
    import dns.resolver
    try:
        return list(res.resolve(name, rtype, raise_on_no_answer=False) or [])
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.resolver.NoNameservers as e:
        raise CheckError("no name server answered for %s %s: %s" % (name, rtype, e))
    except dns.exception.Timeout:
        raise CheckError("DNS timed out asking for %s %s; check --nameserver" % (name, rtype))


def _txts(res, name):
    return [b"".join(r.strings) for r in _query(res, name, "TXT")]


def selectors(bases, algorithm):
    algs = ["rsa", "ed25519"] if algorithm == "both" else [algorithm]
    out = []
    for b in bases or ["ptt"]:
        if b.endswith("-rsa"):
            out.append(("rsa", b))
        elif b.endswith("-ed25519"):
            out.append(("ed25519", b))
        else:
            out += [(a, K.selector_name(b, a)) for a in algs]
    return out


def check_dkim(res, domain, alg, sel):
    name = K.record_name(sel, domain)
    vals = _txts(res, name)
    want = "TXT \"v=DKIM1; k=%s; p=...\" (ptt-tool keys new prints it; the signer publishes it " \
           "with --dns-server/--dns-key)" % ("rsa" if alg == "rsa" else "ed25519")
    if not vals:
        return (MISSING, "DKIM", name, "add " + want)
    algo = b"rsa-sha256" if alg == "rsa" else b"ed25519-sha256"
    try:
        dkim.fetch_key(lambda n: vals[0], sel.encode(), domain.encode(), algo)
    except dkim.DKIMError as e:
        return (BAD, "DKIM", name, "%s; replace it with %s" % (e, want))
    more = " (and %d more TXT records there)" % (len(vals) - 1) if len(vals) > 1 else ""
    return (OK, "DKIM", name, vals[0][:60].decode(errors="replace") + "..." + more)


def check_spf(res, domain):
    spf = [v for v in _txts(res, domain) if v.lower().startswith(b"v=spf1")]
    if not spf:
        return (MISSING, "SPF", domain, 'add TXT "v=spf1 ip4:<signer and list server IPs> -all" '
                '(RFC 7208)')
    if len(spf) > 1:
        return (BAD, "SPF", domain, "%d v=spf1 records: RFC 7208 4.5 makes that a permerror; "
                "merge them into one" % len(spf))
    return (OK, "SPF", domain, spf[0].decode(errors="replace"))


def check_dmarc(res, domain):
    name = "_dmarc." + domain
    vals = [v for v in _txts(res, name) if v.startswith(b"v=DMARC1")]
    if not vals:
        return (MISSING, "DMARC", name, 'add TXT "v=DMARC1; p=none; rua=mailto:postmaster@%s" '
                '(RFC 7489)' % domain)
    if len(vals) > 1:
        return (BAD, "DMARC", name, "%d v=DMARC1 records: receivers ignore them all; keep one"
                % len(vals))
    return (OK, "DMARC", name, vals[0].decode(errors="replace"))


def check_mx(res, domain):
    mx = [(r.preference, r.exchange.to_text(omit_final_dot=True)) for r in _query(res, domain, "MX")]
    if not mx:
        return (MISSING, "MX", domain, "add MX 10 <host of the lists image> (and its A record) "
                "so replies and bounces reach the deployment")
    real = [m for m in mx if m[1] not in ("", ".")]
    if not real:
        return (BAD, "MX", domain, "null MX (RFC 7505): this domain refuses all mail")
    return (OK, "MX", domain, ", ".join("%d %s" % m for m in sorted(real)))


def run_checks(domain, sels, algorithm, res):
    rows = [check_dkim(res, domain, a, s) for a, s in selectors(sels, algorithm)]
    rows += [check_spf(res, domain), check_dmarc(res, domain), check_mx(res, domain)]
    return rows


def cmd_check(args):
    from ptt.platform import bootargs
    try:
        domain = bootargs.parse_domain(args.domain)
    except ValueError as e:
        print("ptt-tool: error: --domain: %s" % e, file=sys.stderr)
        return 2
    try:
        res = _resolver(args.nameserver, args.timeout)
        rows = run_checks(domain, args.selector, args.algorithm, res)
    except (CheckError, ValueError) as e:
        print("ptt-tool: error: %s" % e, file=sys.stderr)
        return 1
    for status, kind, name, detail in rows:
        print("%-7s %-5s %-45s %s" % (status, kind, name, detail))
    bad = [r for r in rows if r[0] != OK]
    if bad:
        print("ptt-tool: error: %d of %d records missing or wrong (see above)"
              % (len(bad), len(rows)), file=sys.stderr)
        return 1
    print("all %d records present" % len(rows))
    return 0
