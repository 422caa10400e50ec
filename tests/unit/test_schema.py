import unittest

from ptt.store import schema


def good_list():
    return {"counter": 3, "subscribers": ["a@example.org"], "moderators": ["m@example.org"]}


class TestListNames(unittest.TestCase):
    def test_valid_names_are_lowercased(self):
        self.assertEqual(schema.check_list_name("PTT"), "ptt")
        self.assertEqual(schema.check_list_name("python-dev"), "python-dev")
        self.assertEqual(schema.check_list_name("ocaml.users_2"), "ocaml.users_2")

    def test_invalid_names(self):
        for bad in ("", "-a", "a-", "a--b", "a..b", "a+b", "a=b", "a b", "a@b", "é",
                    "x" * 41, "postmaster", "list-help", "a-subscribe", "a-b-return"):
            with self.assertRaises(schema.SchemaError):
                schema.check_list_name(bad)

    def test_routing_picks_the_longest_list(self):
        names = ["python", "python-dev"]
        self.assertEqual(schema.route_local_part("python-dev", names), ("python-dev", ""))
        self.assertEqual(schema.route_local_part("Python-Dev-Subscribe", names), ("python-dev", "subscribe"))
        self.assertEqual(schema.route_local_part("python-subscribe", names), ("python", "subscribe"))
        self.assertEqual(schema.route_local_part("python", names), ("python", ""))
        self.assertIsNone(schema.route_local_part("pythonista", names))
        self.assertIsNone(schema.route_local_part("other", names))


class TestListDocument(unittest.TestCase):
    def test_reference_shaped_list_is_valid(self):
        self.assertEqual(schema.list_problems(good_list()), [])

    def test_settings_default_when_absent(self):
        lst = good_list()
        self.assertEqual(schema.setting(lst, "policy"), "members")
        self.assertEqual(schema.setting(lst, "dmarc"), "auto")
        self.assertEqual(schema.setting(lst, "max_size"), 10485760)
        lst["policy"] = "open"
        self.assertEqual(schema.setting(lst, "policy"), "open")

    def test_problems_are_located_precisely(self):
        lst = good_list()
        lst["subscribers"].append("not-an-address")
        lst["subscribers"].append("A@EXAMPLE.org")
        lst["counter"] = -1
        lst["colour"] = "blue"
        lst["policy"] = "everyone"
        p = schema.list_problems(lst)
        self.assertIn("counter: must be a non-negative integer", p)
        self.assertTrue(any(x.startswith("subscribers[1]: 'not-an-address'") for x in p), p)
        self.assertTrue(any(x.startswith("subscribers[2]:") and "not in stored form" in x for x in p), p)
        self.assertIn("colour: unknown field", p)
        self.assertTrue(any(x.startswith("policy:") for x in p), p)

    def test_duplicates_and_missing_fields(self):
        self.assertIn("moderators: missing", schema.list_problems({"counter": 0, "subscribers": []}))
        lst = good_list()
        lst["subscribers"] = ["a@example.org", "A@example.org"]
        self.assertTrue(any("listed twice" in x for x in schema.list_problems(lst)))
        lst = good_list()
        lst["moderators"] = []
        self.assertTrue(any("at least one moderator" in x for x in schema.list_problems(lst)))

    def test_boolean_is_not_a_counter(self):
        lst = good_list()
        lst["counter"] = True
        self.assertTrue(schema.list_problems(lst))

    def test_parse_setting(self):
        self.assertEqual(schema.parse_setting("max_size", "2048"), 2048)
        self.assertEqual(schema.parse_setting("policy", "announce"), "announce")
        for key, text in (("max_size", "12"), ("max_size", "big"), ("policy", "all"),
                          ("dmarc", "sometimes"), ("subject_prefix", "a\nb"), ("colour", "x")):
            with self.assertRaises(schema.SchemaError):
                schema.parse_setting(key, text)


class TestOtherDocuments(unittest.TestCase):
    def test_bounces(self):
        self.assertEqual(schema.bounces_problems({"failures": {}, "possibly_fixed": {}}), [])
        ok = {"failures": {"<a@b.org>": [1, 2]},
              "possibly_fixed": {"<c@d.org>": {"expire_at": "2026-01-02T03:04:05Z", "attempts": [3]}}}
        self.assertEqual(schema.bounces_problems(ok), [])
        ok["lists"] = {"ptt": {"<a@b.org>": [[1, "2026-01-02T03:04:05Z"], [4, "2026-01-03T00:00:00Z"]]}}
        self.assertEqual(schema.bounces_problems(ok), [])
        ok["lists"] = {"ptt": {"<a@b.org>": [[1, "yesterday"]], "<c@d.org>": [1]}}
        self.assertEqual(len(schema.bounces_problems(ok)), 2, schema.bounces_problems(ok))
        bad = {"failures": {"a@b.org": [1], "<c@d.org>": ["x"]},
               "possibly_fixed": {"<c@d.org>": {"expire_at": "tomorrow", "attempts": []}}}
        p = schema.bounces_problems(bad)
        self.assertEqual(len(p), 3, p)

    def test_temp(self):
        e = {"from": "a@b.org", "recipient": "c@d.org", "messageID": "1.x@b.org", "size": 10,
             "send_at": "2026-01-02T03:04:05.123+01:00", "attempt": 0, "counter": 1}
        self.assertEqual(schema.temp_problems([e]), [])
        e2 = dict(e)
        e2["messageID"] = "../escape"
        del e2["size"]
        p = schema.temp_problems([e, e2])
        self.assertIn("[1].size: missing", p)
        self.assertTrue(any(x.startswith("[1].messageID") for x in p), p)
        self.assertEqual(schema.temp_problems({}), ["top level: must be a list"])

    def test_store_meta(self):
        good = {"version": 1, "domain": "mailingl.st", "secret": "A" * 44}
        self.assertEqual(schema.store_meta_problems(good), [])
        self.assertEqual(len(schema.store_meta_problems({"version": 2, "secret": "x"})), 2)
