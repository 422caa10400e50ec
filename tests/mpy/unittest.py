"""The unittest subset our unit tests use, for MicroPython (which ships none).

Under CPython the standard library's unittest is used instead; this file is
only on MicroPython's path (MICROPYPATH), so the same test files run on both.
Covered: TestCase with setUp/tearDown, the assert* methods below,
assertRaises as a context manager, skip/skipIf/skipUnless and SkipTest.
"""


class SkipTest(Exception):
    pass


class _Raises:
    def __init__(self, exc):
        self.expected = exc
        self.exception = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            raise AssertionError("%s not raised" % self.expected.__name__)
        if issubclass(exc_type, self.expected):
            self.exception = exc
            return True
        return False


class TestCase:
    def setUp(self):
        pass

    def tearDown(self):
        pass

    def fail(self, msg=None):
        raise AssertionError(msg or "failed")

    def skipTest(self, why):
        raise SkipTest(why)

    def assertEqual(self, a, b, msg=None):
        if not a == b:
            self.fail(msg or "%r != %r" % (a, b))

    def assertNotEqual(self, a, b, msg=None):
        if a == b:
            self.fail(msg or "%r == %r" % (a, b))

    def assertTrue(self, x, msg=None):
        if not x:
            self.fail(msg or "%r is not true" % (x,))

    def assertFalse(self, x, msg=None):
        if x:
            self.fail(msg or "%r is not false" % (x,))

    def assertIs(self, a, b, msg=None):
        if a is not b:
            self.fail(msg or "%r is not %r" % (a, b))

    def assertIsNone(self, x, msg=None):
        if x is not None:
            self.fail(msg or "%r is not None" % (x,))

    def assertIsNotNone(self, x, msg=None):
        if x is None:
            self.fail(msg or "unexpectedly None")

    def assertIn(self, a, b, msg=None):
        if a not in b:
            self.fail(msg or "%r not found in %r" % (a, b))

    def assertNotIn(self, a, b, msg=None):
        if a in b:
            self.fail(msg or "%r unexpectedly found in %r" % (a, b))

    def assertIsInstance(self, x, cls, msg=None):
        if not isinstance(x, cls):
            self.fail(msg or "%r is not an instance of %r" % (x, cls))

    def assertLess(self, a, b, msg=None):
        if not a < b:
            self.fail(msg or "%r not less than %r" % (a, b))

    def assertLessEqual(self, a, b, msg=None):
        if not a <= b:
            self.fail(msg or "%r not less than or equal to %r" % (a, b))

    def assertGreater(self, a, b, msg=None):
        if not a > b:
            self.fail(msg or "%r not greater than %r" % (a, b))

    def assertGreaterEqual(self, a, b, msg=None):
        if not a >= b:
            self.fail(msg or "%r not greater than or equal to %r" % (a, b))

    def assertRaises(self, exc, func=None, *args, **kwargs):
        ctx = _Raises(exc)
        if func is None:
            return ctx
        with ctx:
            func(*args, **kwargs)


def skip(why):
    def deco(f):
        def skipped(*a, **k):
            raise SkipTest(why)
        return skipped
    return deco


def skipIf(cond, why):
    if cond:
        return skip(why)
    return lambda f: f


def skipUnless(cond, why):
    return skipIf(not cond, why)


def main():
    # Tests are run by tests/mpy/run.py; a test file calling main() does nothing.
    pass
