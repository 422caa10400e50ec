"""ptt-tool keys new: DKIM keys for the signer image, its boot arguments and
the DNS TXT records to publish.

    ptt-tool keys new --domain example.org [--selector s1] [--rsa-bits 2048]
                      [--seed] [--out DIR]

Default: an RSA (2048) and an Ed25519 key made with the `cryptography`
library, printed as the signer's --private-key boot arguments (base64 PKCS#8
DER). With --seed: 32 random bytes printed as --seed; the keys are derived
from it exactly as the signer derives them (ptt.signer.keyset), so the
records printed here are the ones the signer will publish. --out DIR also
writes the keys (PEM), the boot arguments and a zone-file snippet, 0600.
"""
import base64
import os
import sys

from ptt import dkim
from ptt.crypto import keys as ptt_keys
from ptt.signer import keyset as K

KERNEL_CMDLINE_MAX = 2048   # x86 COMMAND_LINE_SIZE, the whole kernel command line


def add_parser(subparsers):
    p = subparsers.add_parser("keys", help="make DKIM keys for the signer image",
                              description="DKIM keys for the signer image.")
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION")
    sub.required = True
    n = sub.add_parser("new", help="make RSA and Ed25519 keys; print boot arguments and DNS records",
                       description="Make an RSA and an Ed25519 DKIM key (or a seed that derives "
                                   "them); print the signer's boot arguments and the DNS TXT "
                                   "records to publish.")
    n.add_argument("--domain", required=True, help="the signing domain (d=)")
    n.add_argument("--selector", default="ptt", help="selector base S: records S-rsa and "
                   "S-ed25519 (default: ptt); a format like ptt-%%d needs --seed")
    n.add_argument("--rsa-bits", type=int, default=2048, help="RSA key size (default 2048)")
    n.add_argument("--algorithm", choices=("both", "rsa", "ed25519"), default="both")
    n.add_argument("--seed", action="store_true",
                   help="make a random seed instead of keys (short enough for any kernel "
                        "command line; the signer derives the keys at boot)")
    n.add_argument("--out", metavar="DIR", help="also write the keys, boot arguments and a "
                   "zone snippet into DIR (files 0600)")
    n.set_defaults(func=cmd_new)


class KeysError(Exception):
    pass


def _domain(d):
    from ptt.platform import bootargs
    try:
        return bootargs.parse_domain(d)
    except ValueError as e:
        raise KeysError("--domain: %s" % e)


def zone_line(name, record, ttl=3600):
    strings = " ".join('"%s"' % s.decode() for s in dkim.txt_strings(record))
    return "%s. %d IN TXT %s" % (name, ttl, strings)


def make(domain, selector, algorithms, rsa_bits=2048, seed=None):
    """-> (boot words, [(name, record)], {algorithm: ptt key}, {algorithm: PEM bytes})."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    words = ["--domain=" + domain, "--selector=" + selector]
    if algorithms != ["rsa", "ed25519"]:
        words.append("--algorithm=" + ",".join(algorithms))
    ours = {}
    pems = {}
    if seed is not None:
        words.append("--seed=" + base64.b64encode(seed).decode())
        if rsa_bits != 2048:
            words.append("--rsa-bits=%d" % rsa_bits)
        if K.is_format(selector):
            return words, [], ours, pems
        for a in algorithms:
            sel = K.selector_name(selector, a)
            if a == "rsa":
                ours[a] = K.derive_rsa(seed, domain, sel, rsa_bits)
            else:
                ours[a] = K.derive_ed25519(seed, domain, sel)
            pems[a] = ptt_keys.pem_encode("PRIVATE KEY", ptt_keys.private_key_der(ours[a]))
    else:
        for a in algorithms:
            if a == "rsa":
                k = rsa.generate_private_key(65537, rsa_bits)
            else:
                k = ed25519.Ed25519PrivateKey.generate()
            der = k.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
            pems[a] = k.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8,
                                      ser.NoEncryption())
            ours[a] = ptt_keys.load_private_key(der)
            words.append("--private-key=" + base64.b64encode(der).decode())
    records = [(K.record_name(K.selector_name(selector, a), domain), dkim.txt_record(ours[a]))
               for a in algorithms]
    return words, records, ours, pems


def _write(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def cmd_new(args):
    try:
        domain = _domain(args.domain)
        try:
            selector = K.check_selector(args.selector)
        except ValueError as e:
            raise KeysError("--selector: %s" % e)
        if K.is_format(selector) and not args.seed:
            raise KeysError("a time-based selector (%s) needs --seed: the signer derives a "
                            "new key at each rotation" % selector)
        if args.rsa_bits < 2048 or args.rsa_bits % 16:
            raise KeysError("--rsa-bits %d: use 2048 or more (RFC 8301 wants at least 1024; "
                            "2048 is the norm)" % args.rsa_bits)
        algs = ["rsa", "ed25519"] if args.algorithm == "both" else [args.algorithm]
        if args.out and os.path.exists(args.out) and os.listdir(args.out):
            raise KeysError("--out %s exists and is not empty; give a new folder so no key "
                            "is overwritten" % args.out)
        seed = os.urandom(32) if args.seed else None
        words, records, ours, pems = make(domain, selector, algs, args.rsa_bits, seed)
    except KeysError as e:
        print("ptt-tool: error: %s" % e, file=sys.stderr)
        return 1
    boot = " ".join(words)
    print("# Boot arguments for the signer image (secret: keep them out of the image and logs).")
    print("# Add --trusted=CIDR, --dst=IP or --nameserver, --dns-server/--dns-key as needed.")
    print(boot)
    if len(boot) > KERNEL_CMDLINE_MAX - 512:
        print("# WARNING: these arguments are %d bytes; the whole kernel command line is limited "
              "to %d, so they will not fit. Use --seed (44 bytes) instead of keys."
              % (len(boot), KERNEL_CMDLINE_MAX))
    print()
    if records:
        print("# DNS records (the signer publishes them itself with --dns-server/--dns-key):")
        for name, rec in records:
            print(zone_line(name, rec))
    else:
        print("# DNS records: the selector %s rotates; the signer publishes each period's "
              "records itself (--dns-server/--dns-key)." % selector)
    if args.out:
        os.makedirs(args.out, mode=0o700, exist_ok=True)
        for a, pem in pems.items():
            _write(os.path.join(args.out, "%s.pem" % a), pem)
        _write(os.path.join(args.out, "boot-args.txt"), (boot + "\n").encode())
        if seed is not None:
            _write(os.path.join(args.out, "seed.b64"), base64.b64encode(seed) + b"\n")
        _write(os.path.join(args.out, "dns.zone"),
               "".join(zone_line(n, r) + "\n" for n, r in records).encode())
        print()
        print("# written to %s (0600): %s" % (args.out, ", ".join(sorted(os.listdir(args.out)))))
    return 0
