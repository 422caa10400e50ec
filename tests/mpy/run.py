"""Run unit-test files under MicroPython with our unittest subset.

Usage: micropython run.py tests/unit/test_a.py [tests/unit/test_b.py ...]
Prints one line per failure, then the plain closing line "N passed, N failed"
(", N skipped" when some were skipped). Exit status 1 if anything failed.
"""
import sys

import unittest


def _module_name(path):
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".py"):
        name = name[:-3]
    return name


def run_file(path, counts):
    directory = path.rsplit("/", 1)[0] if "/" in path else "."
    if directory not in sys.path:
        sys.path.insert(0, directory)
    mod = __import__(_module_name(path))
    for cname in sorted(dir(mod)):
        cls = getattr(mod, cname)
        if not isinstance(cls, type) or not issubclass(cls, unittest.TestCase):
            continue
        if cls is unittest.TestCase:
            continue
        for mname in sorted(dir(cls)):
            if not mname.startswith("test"):
                continue
            label = "%s.%s.%s" % (_module_name(path), cname, mname)
            case = cls()
            try:
                case.setUp()
                try:
                    getattr(case, mname)()
                finally:
                    case.tearDown()
                counts[0] += 1
            except unittest.SkipTest:
                counts[2] += 1
            except Exception as e:
                counts[1] += 1
                print("FAIL %s: %s: %s" % (label, type(e).__name__, e))
                sys.print_exception(e)


def main(paths):
    counts = [0, 0, 0]  # passed, failed, skipped
    for path in paths:
        try:
            run_file(path, counts)
        except Exception as e:
            counts[1] += 1
            print("FAIL %s: cannot import: %s: %s" % (path, type(e).__name__, e))
            sys.print_exception(e)
    line = "%d passed, %d failed" % (counts[0], counts[1])
    if counts[2]:
        line += ", %d skipped" % counts[2]
    print(line)
    sys.exit(1 if counts[1] else 0)


main(sys.argv[1:])
