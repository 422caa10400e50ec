"""ptt-tool keys new: keys made with `cryptography`, boot arguments the signer
accepts, and DNS records that verify through a real BIND9 with dkimpy."""
import os
import re

import pytest

from interop import bind
from ptt import dkim
from ptt.crypto import keys as ptt_keys
from ptt.signer import args as A
from ptt.signer import keyset as K

DOMAIN = "example.test"
EXTRA = ["--ipv4=10.0.2.15/24", "--trusted=10.0.0.0/8", "--dst=10.0.2.2"]
MSG = (b"From: Alice <alice@example.test>\r\nTo: bob@example.net\r\nSubject: keys\r\n"
       b"Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n\r\nHello.\r\n")


def parse_output(out):
    lines = [l for l in out.splitlines() if l and not l.startswith("#")]
    boot = lines[0].split()
    records = {}
    for l in lines[1:]:
        m = re.match(r'^(\S+)\. 3600 IN TXT (.*)$', l)
        assert m, l
        records[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2))).encode()
    return boot, records


def test_new_prints_boot_arguments_and_records(tool):
    out = tool.ok("keys", "new", "--domain", DOMAIN, "--selector", "s1")
    boot, records = parse_output(out)
    cfg = A.parse(boot + EXTRA)
    assert cfg.algorithms == ["rsa", "ed25519"]
    assert cfg.keys["rsa"].bits() == 2048
    assert records == {"s1-rsa._domainkey.example.test": dkim.txt_record(cfg.keys["rsa"]),
                       "s1-ed25519._domainkey.example.test": dkim.txt_record(cfg.keys["ed25519"])}
    assert "WARNING" in out and "--seed" in out      # an RSA key does not fit the kernel line


def test_seed_derives_what_the_signer_will(tool):
    out = tool.ok("keys", "new", "--domain", DOMAIN, "--seed", "--algorithm", "ed25519")
    boot, records = parse_output(out)
    cfg = A.parse(boot + EXTRA)
    assert cfg.algorithms == ["ed25519"]
    assert len(" ".join(boot)) < 200
    ring = K.Keyring(DOMAIN, seed=cfg.seed)
    assert records == {"ptt-ed25519._domainkey.example.test":
                       dkim.txt_record(ring.key("ed25519", "ptt-ed25519"))}


def test_out_writes_private_files(tool, tmp_path):
    d = tmp_path / "k"
    tool.ok("keys", "new", "--domain", DOMAIN, "--out", d)
    names = sorted(os.listdir(d))
    assert names == ["boot-args.txt", "dns.zone", "ed25519.pem", "rsa.pem"]
    for n in names:
        assert os.stat(d / n).st_mode & 0o777 == 0o600, n
    k = ptt_keys.load_private_key((d / "rsa.pem").read_bytes())
    assert k.algorithm == "rsa"
    assert dkim.txt_record(k).decode()[:60] in (d / "dns.zone").read_text().replace('" "', "")
    rc, out, err = tool("keys", "new", "--domain", DOMAIN, "--out", d)
    assert rc == 1 and "not empty" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv,want", [
    (["--domain", "bad_domain"], "--domain"),
    (["--domain", DOMAIN, "--selector", "ptt-%d"], "needs --seed"),
    (["--domain", DOMAIN, "--rsa-bits", "1024"], "--rsa-bits"),
    (["--domain", DOMAIN, "--selector", "a b"], "--selector"),
])
def test_errors(tool, argv, want):
    rc, out, err = tool("keys", "new", *argv)
    assert rc == 1, (out, err)
    assert want in err and err.startswith("ptt-tool: error:") and len(err.strip().splitlines()) == 1


def test_usage(tool):
    rc, out, err = tool("keys", "new")
    assert rc == 2 and "--domain" in err


@pytest.mark.skipif(not bind.available(), reason="named missing")
def test_records_verify_through_bind(tool, tmp_path):
    dkimpy = pytest.importorskip("dkim")
    pytest.importorskip("nacl")
    import dns.message
    import dns.query
    out = tool.ok("keys", "new", "--domain", DOMAIN, "--selector", "tool")
    boot, records = parse_output(out)
    zone_lines = [l.replace("." + DOMAIN + ". 3600", " 3600") for l in out.splitlines()
                  if "IN TXT" in l]
    body = ("@ IN SOA ns.example.test. h.example.test. 1 3600 600 86400 300\n@ IN NS ns\n"
            "ns IN A 127.0.0.1\n" + "\n".join(zone_lines) + "\n")
    with bind.Bind(str(tmp_path / "named"), {DOMAIN: body}) as ns:
        def dnsfunc(name, timeout=5):
            q = dns.message.make_query(name.decode().rstrip("."), "TXT")
            r = dns.query.udp(q, "127.0.0.1", port=ns.port, timeout=3)
            return b"".join(b"".join(rd.strings) for rrset in r.answer for rd in rrset) or None
        cfg = A.parse(boot + EXTRA)
        signed = dkim.sign_many(MSG, DOMAIN.encode(), [(b"tool-rsa", cfg.keys["rsa"]),
                                                      (b"tool-ed25519", cfg.keys["ed25519"])],
                                1700000000) + MSG
        assert dkimpy.DKIM(signed).verify(idx=0, dnsfunc=dnsfunc)
        assert dkimpy.DKIM(signed).verify(idx=1, dnsfunc=dnsfunc)
