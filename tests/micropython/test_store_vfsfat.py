"""The real MicroPython 1.25 mounts a ptt-tool image with vfs.VfsFat."""
import json
import subprocess

from ptt_tool.cli import main

GUEST = r'''
import sys, os, json, vfs
from ptt.platform.blockdev import BlockDevice
from ptt.store import schema

bd = BlockDevice(sys.argv[1])
vfs.mount(vfs.VfsFat(bd), "/store")
for name in sorted(os.listdir("/store/lists")):
    with open("/store/lists/" + name, "rb") as f:
        doc = json.loads(f.read())
    print("LIST", name, json.dumps(doc), len(schema.list_problems(doc)))
with open("/store/bounces.json") as f:
    print("BOUNCES", len(schema.bounces_problems(json.loads(f.read()))))
with open("/store/tmp/written-by-guest.txt", "w") as f:
    f.write("hello from micropython\n")
vfs.umount("/store")
bd.close()
print("DONE")
'''


def test_micropython_reads_lists_and_writes_a_file(mpy, tmp_path):
    img = str(tmp_path / "lipap.img")
    assert main(["create", img]) == 0
    assert main(["add", img, "ptt", "--domain", "mailingl.st", "-m", "foo@bar.com", "-s", "jürgen@bücher.de"]) == 0
    assert main(["add", img, "ptt-dev", "-m", "bar@foo.com"]) == 0
    assert main(["set", img, "ptt", "policy=open"]) == 0
    script = tmp_path / "guest.py"
    script.write_text(GUEST)
    r = mpy.run([str(script), img])
    assert r.returncode == 0 and r.stdout.rstrip().endswith("DONE"), r.stdout
    lists = {}
    for line in r.stdout.splitlines():
        if line.startswith("LIST "):
            _, fname, rest = line.split(" ", 2)
            doc, problems = rest.rsplit(" ", 1)
            lists[fname] = json.loads(doc)
            assert problems == "0", line  # the server's own validation accepts it
    assert lists == {
        "ptt-dev.json": {"counter": 0, "subscribers": [], "moderators": ["bar@foo.com"]},
        "ptt.json": {"counter": 0, "subscribers": ["jürgen@xn--bcher-kva.de"], "moderators": ["foo@bar.com"],
                     "policy": "open"},
    }
    assert "BOUNCES 0" in r.stdout
    # What the guest wrote is on the host's view of the disk, and the FAT is clean.
    f = subprocess.run(["fsck.fat", "-n", img], capture_output=True, text=True)
    assert f.returncode == 0, f.stdout
    t = subprocess.run(["mtype", "-i", img, "::/tmp/written-by-guest.txt"], capture_output=True, text=True)
    assert t.stdout == "hello from micropython\n"
    assert main(["check", img]) == 0
