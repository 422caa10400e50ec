"""ptt-tool tls: the lists server's STARTTLS certificate, kept on its disk.

The certificate and key are per deployment, like the lists, so they live on
the store (tls/cert.pem, tls/key.pem), never in the image; the kernel
command line (2,048 bytes) could not hold them anyway. With both present the
server offers STARTTLS (it never requires it: RFC 3207 4, a public MX must
accept mail in the clear too).
"""

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from . import fatimage
from .fatimage import ImageError
from .store import Store

TLS = "/tls"
CERT = TLS + "/cert.pem"
KEY = TLS + "/key.pem"
KEY_TYPES = (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)  # what MicroPython's tls (mbedTLS) loads


def _load(cert_pem, key_pem):
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as e:
        raise ImageError("the certificate is not a PEM X.509 certificate: %s" % e)
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as e:
        raise ImageError("the key is not an unencrypted PEM private key: %s" % e)
    if not isinstance(key, KEY_TYPES):
        raise ImageError("the key must be RSA or EC (MicroPython's TLS loads those)")
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, pub) != cert.public_key().public_bytes(enc, pub):
        raise ImageError("the key does not belong to the certificate")
    return cert, key


def self_signed(domain, days):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def cmd_tls(args):
    given = args.cert is not None or args.key is not None
    if sum((given, args.self_signed, args.remove)) != 1:
        args.parser.error("give --cert and --key, or --self-signed, or --remove")
    if given and (args.cert is None or args.key is None):
        args.parser.error("--cert and --key go together")
    if args.remove:
        with fatimage.editing(args.image) as vol:
            if not vol.exists(CERT) and not vol.exists(KEY):
                print("%s holds no TLS certificate; nothing changed" % args.image)
                return 0
            for p in (CERT, KEY):
                if vol.exists(p):
                    vol.remove(p)
        print("removed the TLS certificate: the server will not offer STARTTLS")
        return 0
    with fatimage.editing(args.image) as vol:
        domain = Store(vol).domain(None)
        if args.self_signed:
            cert_pem, key_pem = self_signed(domain, args.days)
        else:
            try:
                with open(args.cert, "rb") as f:
                    cert_pem = f.read()
                with open(args.key, "rb") as f:
                    key_pem = f.read()
            except OSError as e:
                raise ImageError("cannot read %s: %s" % (e.filename, e.strerror))
        cert, _ = _load(cert_pem, key_pem)
        names = []
        try:
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            pass
        if not vol.isdir(TLS):
            vol.makedir(TLS)
        vol.write(CERT, cert_pem)
        vol.write(KEY, key_pem)
    expires = cert.not_valid_after_utc.strftime("%Y-%m-%d")
    print("STARTTLS certificate for %s installed (expires %s%s)"
          % (", ".join(names) or cert.subject.rfc4514_string(), expires,
             "; self-signed" if args.self_signed else ""))
    if names and domain not in names:
        print("warning: the certificate does not name %s" % domain)
    return 0


def add_parser(subparsers):
    t = subparsers.add_parser("tls", help="install the STARTTLS certificate of a list store",
                              description="Put the lists server's STARTTLS certificate and key on "
                                          "the store (tls/cert.pem, tls/key.pem); the server offers "
                                          "STARTTLS when they are there.")
    t.add_argument("image", metavar="IMAGE")
    t.add_argument("--cert", metavar="FILE", help="PEM certificate (chain)")
    t.add_argument("--key", metavar="FILE", help="its unencrypted PEM key (RSA or EC)")
    t.add_argument("--self-signed", action="store_true",
                   help="make an EC P-256 key and a self-signed certificate for the store's domain")
    t.add_argument("--days", type=int, default=365, help="validity of --self-signed (default 365)")
    t.add_argument("--remove", action="store_true", help="remove them: no STARTTLS")
    t.set_defaults(func=cmd_tls, parser=t)
