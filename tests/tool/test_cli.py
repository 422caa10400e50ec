"""ptt-tool against real FAT32 images, checked with fsck.fat and mtools."""
import json
import os
import subprocess
import sys
import time

import pytest

from toolhelp import fsck, mdir, mtype, read_list, write_file

MiB = 1024 * 1024


def snapshot(path):
    with open(path, "rb") as f:
        return f.read()


# --- create -----------------------------------------------------------------

def test_create_makes_the_reference_layout(tmp_path, tool):
    img = tmp_path / "lipap.img"
    out = tool.ok("create", img)
    assert "64 MiB" in out
    assert os.path.getsize(img) == 64 * MiB
    assert fsck(img) == (0, fsck(img)[1]) and "Free cluster summary" not in fsck(img)[1]
    assert mdir(img) == ["bounces.json", "lists", "pending", "store.json", "temp.json", "tmp"]
    assert json.loads(mtype(img, "/bounces.json")) == {"failures": {}, "possibly_fixed": {}}
    assert json.loads(mtype(img, "/temp.json")) == []
    meta = json.loads(mtype(img, "/store.json"))
    assert meta["version"] == 1 and len(meta["secret"]) >= 43


def test_create_secret_differs_per_store(tmp_path, tool):
    tool.ok("create", tmp_path / "a.img")
    tool.ok("create", tmp_path / "b.img")
    a = json.loads(mtype(tmp_path / "a.img", "/store.json"))["secret"]
    b = json.loads(mtype(tmp_path / "b.img", "/store.json"))["secret"]
    assert a != b


def test_create_size_option_and_limits(tmp_path, tool):
    tool.ok("create", tmp_path / "a.img", "--size", "40M")
    assert os.path.getsize(tmp_path / "a.img") == 40 * MiB
    assert fsck(tmp_path / "a.img")[0] == 0
    for bad in ("32M", "10", "lots", "64Q", "40000000001"):
        rc, out, err = tool("create", tmp_path / ("x%s.img" % bad), "--size", bad)
        assert rc == 1 and err.startswith("ptt-tool: error: size") and "\n" == err[-1] and err.count("\n") == 1
        assert not (tmp_path / ("x%s.img" % bad)).exists()


def test_create_refuses_to_overwrite(tmp_path, tool):
    img = tmp_path / "lipap.img"
    img.write_bytes(b"precious")
    rc, out, err = tool("create", img)
    assert rc == 1 and "already exists" in err
    assert img.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["lipap.img"]  # no temporary left behind


def test_create_records_domain(tmp_path, tool):
    img = tmp_path / "lipap.img"
    tool.ok("create", img, "--domain", "MailingL.st")
    assert json.loads(mtype(img, "/store.json"))["domain"] == "mailingl.st"
    tool.ok("add", img, "ptt", "-m", "foo@bar.com")  # --domain now optional
    rc, out, err = tool("add", img, "other", "--domain", "example.org", "-m", "foo@bar.com")
    assert rc == 1 and "serves mailingl.st, not example.org" in err


# --- add ----------------------------------------------------------------------

def test_add_stores_every_address_exactly_once(tmp_path, tool):
    img = tmp_path / "lipap.img"
    tool.ok("create", img)
    out = tool.ok("add", img, "ptt", "--domain", "mailingl.st",
                  "--moderator", "foo@bar.com", "--moderator", "Foo@BAR.com", "-m", "baz@bar.com",
                  "--subscriber", "a@example.org", "-s", "b@example.org", "-s", "a@EXAMPLE.ORG")
    assert "2 moderators, 2 subscribers" in out
    assert read_list(img) == {"counter": 0, "moderators": ["foo@bar.com", "baz@bar.com"],
                              "subscribers": ["a@example.org", "b@example.org"]}
    assert fsck(img)[0] == 0


def test_add_fails_if_list_exists(image, tool):
    before = snapshot(image)
    rc, out, err = tool("add", image, "PTT", "-m", "x@y.org")
    assert rc == 1 and "already exists" in err
    assert snapshot(image) == before


def test_add_requires_a_moderator(image, tool):
    rc, out, err = tool("add", image, "other")
    assert rc == 2 and "--moderator" in err


def test_add_without_recorded_domain_asks_for_it(tmp_path, tool):
    img = tmp_path / "lipap.img"
    tool.ok("create", img)
    rc, out, err = tool("add", img, "ptt", "-m", "foo@bar.com")
    assert rc == 1 and "give --domain" in err


@pytest.mark.parametrize("name", ["a-help", "bad name", "postmaster", "x-", "x" * 41, "a+b"])
def test_add_refuses_bad_list_names(image, tool, name):
    before = snapshot(image)
    rc, out, err = tool("add", image, name, "-m", "x@y.org")
    assert rc == 1 and err.startswith("ptt-tool: error: ") and err.count("\n") == 1
    assert snapshot(image) == before


def test_add_accepts_dashed_names_that_route(image, tool):
    tool.ok("add", image, "ptt-dev", "-m", "x@y.org")
    assert read_list(image, "ptt-dev")["moderators"] == ["x@y.org"]


@pytest.mark.parametrize("addr", ["foo", "foo@bar", "a b@c.org", "<a@b.org>", "a@b..org", "a@[1.2.3.4]"])
def test_add_refuses_bad_addresses(image, tool, addr):
    before = snapshot(image)
    rc, out, err = tool("add", image, "other", "-m", "ok@x.org", "-s", addr)
    assert rc == 1 and "bad address" in err and err.count("\n") == 1
    assert snapshot(image) == before


def test_add_refuses_list_addresses_as_members(image, tool):
    rc, out, err = tool("add", image, "other", "-m", "ptt@mailingl.st")
    assert rc == 1 and "would loop" in err
    rc, out, err = tool("subscribe", image, "ptt", "ptt-subscribe@MAILINGL.ST")
    assert rc == 1 and "would loop" in err


def test_idn_addresses_are_stored_as_a_labels(image, tool):
    tool.ok("subscribe", image, "ptt", "jürgen@bücher.de")
    tool.ok("subscribe", image, "ptt", "jürgen@BÜCHER.de")  # same member
    assert read_list(image)["subscribers"] == ["jürgen@xn--bcher-kva.de"]


# --- membership ---------------------------------------------------------------

def test_seed_example_add_moderator_without_list(image, tool):
    out = tool.ok("add-moderator", image, "--domain", "mailingl.st", "bar@foo.com")
    assert "bar@foo.com is now a moderator of ptt@mailingl.st" in out
    assert read_list(image)["moderators"] == ["foo@bar.com", "bar@foo.com"]


@pytest.mark.parametrize("cmd,field", [("add-moderator", "moderators"), ("subscribe", "subscribers")])
def test_adding_is_idempotent(image, tool, cmd, field):
    tool.ok(cmd, image, "ptt", "new@x.org")
    before = snapshot(image)
    out = tool.ok(cmd, image, "ptt", "NEW@x.org")
    assert "nothing changed" in out
    assert snapshot(image) == before
    assert read_list(image)[field].count("new@x.org") == 1


def test_remove_moderator_and_unsubscribe(image, tool):
    tool.ok("add-moderator", image, "bar@foo.com")
    tool.ok("subscribe", image, "a@x.org")
    assert "no longer a moderator" in tool.ok("remove-moderator", image, "ptt", "FOO@bar.com")
    assert "no longer subscribed" in tool.ok("unsubscribe", image, "a@x.org")
    lst = read_list(image)
    assert lst["moderators"] == ["bar@foo.com"] and lst["subscribers"] == []
    before = snapshot(image)
    assert "nothing changed" in tool.ok("unsubscribe", image, "a@x.org")
    assert "nothing changed" in tool.ok("remove-moderator", image, "foo@bar.com")
    assert snapshot(image) == before
    assert fsck(image)[0] == 0


def test_last_moderator_cannot_be_removed(image, tool):
    rc, out, err = tool("remove-moderator", image, "foo@bar.com")
    assert rc == 1 and "last moderator" in err


def test_list_must_be_named_when_several(image, tool):
    tool.ok("add", image, "two", "-m", "x@y.org")
    rc, out, err = tool("subscribe", image, "a@x.org")
    assert rc == 1 and "holds 2 lists (ptt, two): name one" in err
    rc, out, err = tool("subscribe", image, "nope", "a@x.org")
    assert rc == 1 and "no list nope" in err
    rc, out, err = tool("subscribe", image, "ptt", "a@x.org", "extra")
    assert rc == 2


def test_domain_mismatch_is_refused(image, tool):
    before = snapshot(image)
    rc, out, err = tool("subscribe", image, "--domain", "other.org", "a@x.org")
    assert rc == 1 and "serves mailingl.st" in err
    assert snapshot(image) == before


# --- set ----------------------------------------------------------------------

def test_set_stores_optional_fields_and_defaults_drop_them(image, tool):
    tool.ok("set", image, "ptt", "policy=moderated", "subject-prefix=[ptt] ", "max_size=2048",
            "dmarc=always", "reply_to=list")
    lst = read_list(image)
    assert lst["policy"] == "moderated" and lst["subject_prefix"] == "[ptt] "
    assert lst["max_size"] == 2048 and lst["dmarc"] == "always" and lst["reply_to"] == "list"
    tool.ok("set", image, "ptt", "policy=members", "dmarc=auto", "reply_to=poster",
            "subject_prefix=", "max_size=10485760")
    assert sorted(read_list(image)) == ["counter", "moderators", "subscribers"]


@pytest.mark.parametrize("item", ["policy=all", "colour=blue", "max_size=ten", "dmarc=", "policy"])
def test_set_refuses_bad_settings(image, tool, item):
    before = snapshot(image)
    rc, out, err = tool("set", image, "ptt", "policy=open", item)
    assert rc in (1, 2) and err.strip()
    assert snapshot(image) == before


# --- show -----------------------------------------------------------------------

def test_show_text_and_json(image, tool):
    tool.ok("subscribe", image, "a@x.org")
    tool.ok("add", image, "two", "-m", "x@y.org")
    out = tool.ok("show", image)
    assert "list ptt@mailingl.st: 1 subscriber, 1 moderator, counter 0, policy members" in out
    assert "list two@mailingl.st: 0 subscribers, 1 moderator" in out
    assert "temp queue: 0 messages" in out
    info = json.loads(tool.ok("show", image, "--json"))
    assert [l["address"] for l in info["lists"]] == ["ptt@mailingl.st", "two@mailingl.st"]
    assert info["temp_queue"] == 0 and info["bounces"] == {"failures": {}, "possibly_fixed": {}}
    one = json.loads(tool.ok("show", image, "ptt", "--json"))
    assert one["lists"][0]["subscriber_addresses"] == ["a@x.org"]


def test_show_reports_temp_queue_and_bounces(image, tool):
    write_file(image, "/bounces.json", json.dumps(
        {"failures": {"<a@x.org>": [1, 2]},
         "possibly_fixed": {"<b@x.org>": {"expire_at": "2026-01-01T00:00:00Z", "attempts": [4]}}}).encode())
    write_file(image, "/temp.json", json.dumps([
        {"from": "ptt-return-1-a=x.org@mailingl.st", "recipient": "a@x.org", "messageID": "1.a@mailingl.st",
         "size": 5, "send_at": "2026-01-01T00:00:00Z", "attempt": 0, "counter": 1}]).encode())
    out = tool.ok("show", image)
    assert "temp queue: 1 message" in out
    assert "<a@x.org> bounced posts 1, 2" in out
    assert "<b@x.org> possibly fixed until 2026-01-01T00:00:00Z (posts 4)" in out


# --- check ----------------------------------------------------------------------

def test_check_clean_image(image, tool):
    out = tool.ok("check", image)
    assert "no problems (1 list)" in out


def test_check_reports_each_problem_precisely(image, tool):
    write_file(image, "/lists/ptt.json", b'{"counter": -1, "subscribers": ["x", "a@b.org", "A@B.org"], '
                                         b'"moderators": ["m@x.org"], "policy": "all"}')
    write_file(image, "/lists/broken.json", b'{"counter": 0,')
    write_file(image, "/temp.json", json.dumps([
        {"from": "a@b.org", "recipient": "c@d.org", "messageID": "gone@x.org", "size": 1,
         "send_at": "2026-01-01T00:00:00Z", "attempt": 0, "counter": 0}]).encode())
    rc, out, err = tool("check", image)
    assert rc == 1
    lines = out.splitlines()
    assert "lists/ptt.json: counter: must be a non-negative integer" in lines
    assert any(l.startswith("lists/ptt.json: subscribers[0]: 'x' is not a valid address") for l in lines)
    assert any(l.startswith("lists/ptt.json: subscribers[2]: A@B.org is listed twice") for l in lines), lines
    assert any(l.startswith("lists/ptt.json: policy: 'all' is not one of") for l in lines)
    assert any(l.startswith("lists/broken.json: not valid JSON") for l in lines)
    assert "temp.json: [0].messageID: tmp/gone@x.org is missing" in lines
    assert "problems found" in err


def test_check_reports_file_system_damage(image, tool):
    with open(image, "r+b") as f:  # mark every data cluster as used in FAT 1 only
        f.seek(32 * 512 + 64)
        f.write(b"\xff\xff\xff\x0f" * 64)
    rc, out, err = tool("check", image)
    assert rc == 1 and any(l.startswith("file system: ") for l in out.splitlines()), out
    assert "warning: %s: One or more FATs differ" % image in err
    before = snapshot(image)
    rc, out, err = tool("subscribe", image, "a@x.org")
    assert rc == 1 and err.count("\n") == 1 and "FATs differ" in err and "not changing it" in err
    assert snapshot(image) == before


def test_editing_commands_refuse_schema_invalid_json(image, tool):
    write_file(image, "/lists/ptt.json", b'{"counter": 0, "subscribers": [], "moderators": ["nope"]}')
    before = snapshot(image)
    rc, out, err = tool("subscribe", image, "a@x.org")
    assert rc == 1 and "lists/ptt.json: moderators[0]: 'nope' is not a valid address" in err
    assert snapshot(image) == before
    write_file(image, "/lists/ptt.json", b"\xff\xfe")
    rc, out, err = tool("show", image)
    assert rc == 1 and "lists/ptt.json: not UTF-8 text" in err


# --- bad images -----------------------------------------------------------------

@pytest.mark.parametrize("cmd", [["show"], ["check"], ["subscribe", "a@x.org"], ["set", "ptt", "policy=open"],
                                 ["add", "x", "-m", "a@b.org"], ["add-moderator", "a@b.org"],
                                 ["remove-moderator", "a@b.org"], ["unsubscribe", "a@b.org"]])
def test_missing_and_non_fat_images(tmp_path, tool, cmd):
    rc, out, err = tool(cmd[0], tmp_path / "missing.img", *cmd[1:])
    assert rc == 1 and "does not exist" in err and err.count("\n") == 1
    junk = tmp_path / "junk.img"
    junk.write_bytes(os.urandom(4096))
    rc, out, err = tool(cmd[0], junk, *cmd[1:])
    assert rc == 1 and "is not a FAT32 image" in err and err.count("\n") == 1


def test_fat16_image_is_refused(tmp_path, tool):
    img = tmp_path / "fat16.img"
    subprocess.run(["mkfs.fat", "-F", "16", "-C", str(img), "20480"], check=True, capture_output=True)
    rc, out, err = tool("show", img)
    assert rc == 1 and "not a FAT32 image" in err


def test_image_without_store_layout(tmp_path, tool):
    img = tmp_path / "bare.img"
    subprocess.run(["mkfs.fat", "-F", "32", "-C", str(img), str(40 * 1024)], check=True, capture_output=True)
    rc, out, err = tool("subscribe", img, "a@x.org", "--domain", "x.org")
    assert rc == 1 and "no lists/ folder" in err


def test_image_in_use_by_a_vm_is_refused(image, tool):
    # A real QEMU holding the disk, as `ptt-tool run` would: it locks the file.
    qemu = subprocess.Popen(["qemu-system-x86_64", "-machine", "none", "-nodefaults", "-display", "none",
                             "-drive", "file=%s,format=raw,if=none,id=d0" % image],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 20
        while str(os.stat(image).st_ino) not in open("/proc/locks").read():
            assert time.time() < deadline and qemu.poll() is None, "QEMU did not lock the image"
            time.sleep(0.05)
        before = snapshot(image)
        rc, out, err = tool("subscribe", image, "a@x.org")
        assert rc == 1 and "is in use (a running VM?)" in err
        assert snapshot(image) == before
    finally:
        qemu.kill()
        qemu.wait()


# --- the command as installed -----------------------------------------------------

def test_help_and_usage_exit_codes(tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "ptt-tool")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "create" in r.stdout and "add-moderator" in r.stdout
    for sub in ("create", "add", "add-moderator", "remove-moderator", "subscribe", "unsubscribe",
                "show", "set", "check"):
        r = subprocess.run([exe, sub, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "usage:" in r.stdout, sub
    r = subprocess.run([exe], capture_output=True, text=True)
    assert r.returncode == 2
    r = subprocess.run([exe, "frobnicate"], capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice" in r.stderr
