"""Checks of the unittest subset itself (tests/mpy/unittest.py under
MicroPython, the standard library's unittest under CPython), so that a broken
harness cannot pass silently."""
import unittest


class Boom(ValueError):
    pass


def _explode():
    raise Boom("boom")


class TestHarness(unittest.TestCase):
    def setUp(self):
        self.log = ["setUp"]

    def test_setup_runs_first(self):
        self.assertEqual(self.log, ["setUp"])

    def test_assert_raises_catches_the_exception_and_keeps_it(self):
        with self.assertRaises(ValueError) as ctx:
            _explode()
        self.assertIsInstance(ctx.exception, Boom)
        self.assertEqual(str(ctx.exception), "boom")

    def test_assert_raises_lets_other_exceptions_through(self):
        try:
            with self.assertRaises(KeyError):
                _explode()
        except Boom:
            pass
        else:
            self.fail("Boom was swallowed by assertRaises(KeyError)")

    def test_assert_raises_fails_when_nothing_is_raised(self):
        try:
            with self.assertRaises(ValueError):
                pass
        except AssertionError:
            return
        self.fail("assertRaises passed although nothing was raised")

    def test_assert_raises_with_a_callable(self):
        self.assertRaises(Boom, _explode)

    def test_failing_assertions_raise_assertion_error(self):
        checks = [
            lambda: self.assertEqual(1, 2),
            lambda: self.assertNotEqual(1, 1),
            lambda: self.assertTrue(0),
            lambda: self.assertFalse(1),
            lambda: self.assertIs([], []),
            lambda: self.assertIsNone(0),
            lambda: self.assertIsNotNone(None),
            lambda: self.assertIn(3, (1, 2)),
            lambda: self.assertNotIn(1, (1, 2)),
            lambda: self.assertIsInstance(b"x", str),
            lambda: self.assertLess(2, 1),
            lambda: self.assertLessEqual(2, 1),
            lambda: self.assertGreater(1, 2),
            lambda: self.assertGreaterEqual(1, 2),
            lambda: self.fail("explicit"),
        ]
        for i, check in enumerate(checks):
            try:
                check()
            except AssertionError:
                continue
            raise RuntimeError("check %d did not raise AssertionError" % i)

    def test_passing_assertions_do_not_raise(self):
        self.assertEqual(b"a" + b"b", b"ab")
        self.assertNotEqual(1, 2)
        self.assertIs(None, None)
        self.assertIn("b", "abc")
        self.assertLessEqual(1, 1)
        self.assertGreaterEqual(2, 2)

    @unittest.skip("checks that skip() marks a test as skipped")
    def test_skip_decorator(self):
        raise RuntimeError("a skipped test ran")


if __name__ == "__main__":
    unittest.main()
