"""ptt-tool dns check against a real BIND9."""
import pytest

from interop import bind
from ptt import dkim
from ptt.signer import keyset as K

pytestmark = pytest.mark.skipif(not bind.available(), reason="named missing")

DOMAIN = "example.test"
SOA = ("@ IN SOA ns.example.test. h.example.test. 1 3600 600 86400 300\n@ IN NS ns\n"
       "ns IN A 127.0.0.1\nmx IN A 127.0.0.2\n")


def zone(records):
    ring = K.Keyring(DOMAIN, seed=bytes(range(32)), rsa_bits=1024)
    lines = []
    for name, value in records:
        if value is None:
            alg = "rsa" if name.endswith("-rsa") else "ed25519"
            value = dkim.txt_record(ring.key(alg, name)).decode()
            value = " ".join('"%s"' % value[i:i + 200] for i in range(0, len(value), 200))
            name += "._domainkey"
        lines.append("%s IN TXT %s" % (name, value) if not value.startswith("MX") else
                     "%s IN %s" % (name, value))
    return SOA + "\n".join(lines) + "\n"


FULL = [("s1-rsa", None), ("s1-ed25519", None), ("@", '"v=spf1 ip4:127.0.0.0/8 -all"'),
        ("_dmarc", '"v=DMARC1; p=reject"'), ("@", "MX 10 mx")]


@pytest.fixture
def ns_factory(tmp_path):
    started = []

    def make(records):
        b = bind.Bind(str(tmp_path / ("named%d" % len(started))), {DOMAIN: zone(records)})
        b.start()
        started.append(b)
        return b
    yield make
    for b in started:
        b.stop()


def test_all_present(tool, ns_factory):
    ns = ns_factory(FULL)
    rc, out, err = tool("dns", "check", "--domain", DOMAIN, "--selector", "s1",
                        "--nameserver", "127.0.0.1:%d" % ns.port)
    assert rc == 0, (out, err)
    assert "all 5 records present" in out
    assert out.count("\nok") + out.startswith("ok") == 5
    assert "10 mx.example.test" in out


def test_missing_and_broken(tool, ns_factory):
    records = [r for r in FULL if r[0] not in ("_dmarc", "s1-ed25519")]
    records.append(("s1-ed25519._domainkey", '"v=DKIM1; k=ed25519; p="'))   # revoked
    records.append(("@", '"v=spf1 -all"'))                                  # two SPF records
    ns = ns_factory(records)
    rc, out, err = tool("dns", "check", "--domain", DOMAIN, "--selector", "s1",
                        "--nameserver", "127.0.0.1:%d" % ns.port)
    assert rc == 1, out
    lines = {l.split()[1] + " " + l.split()[2]: l for l in out.splitlines()}
    assert lines["DMARC _dmarc.example.test"].startswith("MISSING")
    assert "v=DMARC1" in lines["DMARC _dmarc.example.test"]
    assert lines["DKIM s1-ed25519._domainkey.example.test"].startswith("BAD")
    assert "revoked" in lines["DKIM s1-ed25519._domainkey.example.test"]
    assert lines["DKIM s1-rsa._domainkey.example.test"].startswith("ok")
    assert lines["SPF example.test"].startswith("BAD")
    assert err.strip() == "ptt-tool: error: 3 of 5 records missing or wrong (see above)"


def test_full_selector_names_and_default(tool, ns_factory):
    ns = ns_factory(FULL)
    rc, out, err = tool("dns", "check", "--domain", DOMAIN, "--selector", "s1-rsa",
                        "--nameserver", "127.0.0.1:%d" % ns.port)
    assert rc == 0, out
    rc, out, err = tool("dns", "check", "--domain", DOMAIN,
                        "--nameserver", "127.0.0.1:%d" % ns.port)
    assert rc == 1 and "MISSING DKIM  ptt-rsa._domainkey.example.test" in out


def test_dead_nameserver_is_one_clear_line(tool):
    from interop.bind import free_port
    rc, out, err = tool("dns", "check", "--domain", DOMAIN, "--timeout", "0.5",
                        "--nameserver", "127.0.0.1:%d" % free_port())
    assert rc == 1
    assert err.startswith("ptt-tool: error:") and len(err.strip().splitlines()) == 1, err
