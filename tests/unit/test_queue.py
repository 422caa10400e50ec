import json
import os
import unittest

from ptt.delivery import plan
from ptt.mail import dates
from ptt.store import queue as Q
from ptt.store.files import Files, StoreError


def _rmtree(p):
    for name in os.listdir(p):
        q = p + "/" + name
        try:
            os.listdir(q)
            is_dir = os.stat(q)[0] & 0x4000
        except OSError:
            is_dir = False
        if is_dir:
            _rmtree(q)
        else:
            os.remove(q)
    os.rmdir(p)


def make_store():
    root = "/tmp/ptt-test-" + os.urandom(6).hex()
    os.mkdir(root)
    os.mkdir(root + "/tmp")
    os.mkdir(root + "/lists")
    with open(root + "/temp.json", "w") as f:
        f.write("[]")
    return root


def counter_bytes():
    n = [0]

    def randbytes(k):
        n[0] += 1
        return bytes([n[0] % 256]) * k
    return randbytes


class TestDates(unittest.TestCase):
    def test_round_trip_and_known_values(self):
        self.assertEqual(dates.rfc3339(0), "1970-01-01T00:00:00Z")
        self.assertEqual(dates.rfc3339(1795627805), "2026-11-25T17:30:05Z")
        self.assertEqual(dates.parse_rfc3339("2026-11-25T17:30:05Z"), 1795627805)
        self.assertEqual(dates.parse_rfc3339("2026-11-25T18:30:05.25+01:00"), 1795627805)
        self.assertEqual(dates.parse_rfc3339("2000-02-29T00:00:00Z"), 951782400)
        self.assertEqual(dates.rfc5322(1795627805), "Wed, 25 Nov 2026 17:30:05 +0000")
        self.assertEqual(dates.rfc5322(951782400), "Tue, 29 Feb 2000 00:00:00 +0000")

    def test_bad_dates(self):
        for bad in ("", "2026-11-25", "2026-11-25 17:30:05Z", "2026-11-25T17:30:05", "x" * 20):
            with self.assertRaises(dates.DateError):
                dates.parse_rfc3339(bad)


class TestFiles(unittest.TestCase):
    def setUp(self):
        self.root = make_store()
        self.files = Files(self.root)

    def tearDown(self):
        _rmtree(self.root)

    def test_write_replaces_whole_file(self):
        self.files.write_json("bounces.json", {"failures": {}, "possibly_fixed": {}})
        self.files.write("bounces.json", [b'{"failures":', b'{},"possibly_fixed":{}}'])
        self.assertEqual(json.loads(self.files.read("bounces.json")), {"failures": {}, "possibly_fixed": {}})
        self.assertFalse(self.files.exists("bounces.json.new"))

    def test_recover_completes_a_rename_cut_short(self):
        # The crash came after the old file was removed, before the rename.
        with open(self.root + "/lists/ptt.json.new", "w") as f:
            f.write('{"counter":1}\n')
        done = self.files.recover()
        self.assertEqual(done, ["completed lists/ptt.json"])
        self.assertEqual(self.files.read_json("lists/ptt.json"), {"counter": 1})

    def test_recover_drops_uncommitted_and_partial_files(self):
        with open(self.root + "/temp.json.new", "w") as f:
            f.write("[1,2")       # next to temp.json: never committed
        with open(self.root + "/lists/x.json.new", "w") as f:
            f.write('{"count')    # alone but cut off mid-write
        with open(self.root + "/lists/y.json.new", "w") as f:
            f.write('{"a":1')     # cut off, yet MicroPython's json.loads takes it
        with open(self.root + "/tmp/1.a@x.new", "w") as f:
            f.write("body")       # bodies are never completed by recovery
        self.assertEqual(len(self.files.recover()), 4)
        self.assertEqual(self.files.listdir("lists"), [])
        self.assertEqual(self.files.listdir("tmp"), [])
        self.assertEqual(self.files.read("temp.json"), b"[]")

    def test_read_json_refuses_cut_off_documents(self):
        for cut in ("{", "[1,2", '{"a":1', "[[1],[2]"[:-1]):
            with open(self.root + "/temp.json", "w") as f:
                f.write(cut)
            with self.assertRaises(StoreError):
                self.files.read_json("temp.json")


class TestQueue(unittest.TestCase):
    def setUp(self):
        self.root = make_store()
        self.files = Files(self.root)
        self.q = Q.Queue(self.files, counter_bytes(), "lists.example")

    def tearDown(self):
        _rmtree(self.root)

    def test_add_is_on_disk_before_it_returns(self):
        msgid = self.q.add(b"Subject: x\r\n\r\nhi\r\n",
                           [("ptt-return-1-a=x.org@lists.example", ["a@x.org"]),
                            ("ptt-return-1-b=y.org@lists.example", ["b@y.org"])], 1000, counter=1)
        doc = json.loads(self.files.read("temp.json"))
        self.assertEqual([e["recipient"] for e in doc], ["a@x.org", "b@y.org"])
        self.assertEqual(doc[0]["from"], "ptt-return-1-a=x.org@lists.example")
        self.assertEqual(doc[0]["messageID"], msgid)
        self.assertEqual(doc[0]["send_at"], "1970-01-01T00:16:40Z")
        self.assertEqual(doc[0]["counter"], 1)
        self.assertEqual(self.files.read("tmp/" + msgid), b"Subject: x\r\n\r\nhi\r\n")
        # A fresh process sees the same queue.
        q2 = Q.Queue(self.files, counter_bytes(), "lists.example")
        q2.load()
        self.assertEqual(len(q2), 2)
        self.assertEqual(q2.due(1000)[1].recipient, "b@y.org")

    def test_outcomes_retry_and_expiry(self):
        self.q.add(b"m", [("s@l.example", ["a@x.org", "b@x.org", "c@x.org"])], 0)
        a, b, c = self.q.due(0)
        self.assertEqual(self.q.record(a, "delivered", 10), "delivered")
        self.assertEqual(self.q.record(b, "permanent", 10), "failed")
        self.assertEqual(self.q.record(c, "temporary", 10), "retry")
        self.assertEqual(c.send_at, 10 + 300)
        self.assertEqual(self.q.due(100), [])
        self.assertEqual(self.q.next_due(), 310)
        self.q.flush()
        doc = json.loads(self.files.read("temp.json"))
        self.assertEqual([(e["recipient"], e["attempt"]) for e in doc], [("c@x.org", 1)])
        # Five days later a temporary failure is final.
        self.assertEqual(self.q.record(c, "temporary", Q.MAX_AGE + 1), "failed")
        self.q.flush()
        self.assertEqual(self.files.read("temp.json"), b"[]\n")
        self.assertEqual(self.files.listdir("tmp"), [])  # body gone with the last recipient

    def test_retry_delays_grow_to_a_cap(self):
        self.assertEqual([Q.retry_delay(n) for n in (1, 2, 3, 4, 5, 6, 7, 12)],
                         [300, 600, 1200, 2400, 4800, 9600, 14400, 14400])

    def test_load_drops_orphans_and_bodiless_entries(self):
        self.q.add(b"m1", [("s@l.example", ["a@x.org"])], 0)
        m2 = self.q.add(b"m2", [("s@l.example", ["b@x.org"])], 0)
        with open(self.root + "/tmp/orphan@l.example", "w") as f:
            f.write("x")
        os.remove(self.root + "/tmp/" + m2)
        q2 = Q.Queue(self.files, counter_bytes(), "lists.example")
        summary = q2.load()
        self.assertIn("1 orphan bodies removed; 1 entries without body dropped", summary)
        self.assertEqual([e.recipient for e in q2.due(0)], ["a@x.org"])
        self.assertEqual(len(self.files.listdir("tmp")), 1)

    def test_reference_entries_without_queued_at_load(self):
        with open(self.root + "/tmp/1.x@l.example", "w") as f:
            f.write("m")
        with open(self.root + "/temp.json", "w") as f:
            f.write('[{"from":"s@l.example","recipient":"a@x.org","messageID":"1.x@l.example",'
                    '"size":1,"send_at":"2026-01-01T00:00:00Z","attempt":0,"counter":3}]')
        self.q.load()
        e = self.q.due(dates.parse_rfc3339("2026-01-01T00:00:00Z"))[0]
        self.assertEqual(e.queued_at, e.send_at)


class E:
    def __init__(self, sender, rcpt, msgid="m1"):
        self.sender, self.recipient, self.msgid = sender, rcpt, msgid

    def domain(self):
        return self.recipient.rsplit("@", 1)[1].lower()


class TestPlan(unittest.TestCase):
    def test_verp_gives_one_transaction_per_recipient(self):
        es = [E("l-return-1-a=x.org@l", "a@x.org"), E("l-return-1-b=y.org@l", "b@y.org"),
              E("l-return-1-c=x.org@l", "c@X.org")]
        out = plan.by_domain(es)
        self.assertEqual([d for d, _ in out], ["x.org", "y.org"])
        self.assertEqual([[e.recipient for e in t] for t in out[0][1]], [["a@x.org"], ["c@X.org"]])

    def test_same_sender_batches_per_domain_up_to_the_limit(self):
        es = [E("s@l", "u%d@x.org" % i) for i in range(7)] + [E("s@l", "v@x.org", "m2")]
        out = plan.by_domain(es, max_rcpts=3)
        self.assertEqual([len(t) for t in out[0][1]], [3, 3, 1, 1])
        self.assertEqual(out[0][1][3][0].msgid, "m2")
