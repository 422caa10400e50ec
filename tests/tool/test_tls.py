"""ptt-tool tls: the STARTTLS certificate on the store."""
import subprocess

from cryptography import x509

from toolhelp import mtype


def test_self_signed_for_the_store_domain(image, tool):
    out = tool.ok("tls", image, "--self-signed", "--days", "30")
    assert "STARTTLS certificate for mailingl.st installed" in out and "self-signed" in out
    cert = x509.load_pem_x509_certificate(mtype(image, "/tls/cert.pem"))
    assert cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName) == ["mailingl.st"]
    assert b"PRIVATE KEY" in mtype(image, "/tls/key.pem")
    assert subprocess.run(["fsck.fat", "-n", str(image)], capture_output=True).returncode == 0
    assert "no problems" in tool.ok("check", image)


def test_install_given_pair_and_refuse_a_mismatch(image, tool, tmp_path):
    from ptt_tool.tls import self_signed
    cert, key = self_signed("mailingl.st", 10)
    _, other_key = self_signed("mailingl.st", 10)
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    (tmp_path / "o.pem").write_bytes(other_key)
    before = image.read_bytes()
    rc, out, err = tool("tls", image, "--cert", tmp_path / "c.pem", "--key", tmp_path / "o.pem")
    assert rc == 1 and "does not belong to the certificate" in err
    rc, out, err = tool("tls", image, "--cert", tmp_path / "k.pem", "--key", tmp_path / "k.pem")
    assert rc == 1 and "not a PEM X.509 certificate" in err
    assert image.read_bytes() == before
    tool.ok("tls", image, "--cert", tmp_path / "c.pem", "--key", tmp_path / "k.pem")
    assert mtype(image, "/tls/cert.pem") == cert


def test_remove_and_usage(image, tool):
    assert "nothing changed" in tool.ok("tls", image, "--remove")
    tool.ok("tls", image, "--self-signed")
    assert "will not offer STARTTLS" in tool.ok("tls", image, "--remove")
    for argv in ([], ["--self-signed", "--remove"], ["--cert", "x.pem"]):
        rc, out, err = tool("tls", image, *argv)
        assert rc == 2
