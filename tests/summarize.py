#!/usr/bin/env python3
"""Counts test cases from meson testlog.json files; prints 'N passed, N failed'.

A Catch2 executable's output ends in a summary:
"All tests passed (A assertions in N test cases)" or
"test cases: N | P passed | F failed" (or "F failed as expected": [!shouldfail]
tests that failed, which count as passed); its test cases are counted. A test
without such a summary (a script, a lint) counts as one test, passed when it
exited successfully. An executable that crashed, timed out or failed a
sanitizer after its summary adds one failure. A log that is missing (its
build failed before any test ran) counts as one failure. Exit status 1 when
anything failed or nothing ran.
"""
import json
import re
import sys

ALL_PASSED = re.compile(r"All tests passed \(\d+ assertions? in (\d+) test cases?\)")
MIXED = re.compile(r"test cases:\s+(\d+)\s*\|(.*)")


def count(stdout):
    """(passed, failed) from a Catch2 summary, or None if there is none."""
    for line in reversed(stdout.splitlines()):
        m = ALL_PASSED.search(line)
        if m:
            return int(m.group(1)), 0
        m = MIXED.search(line)
        if m:
            total = int(m.group(1))
            passed = re.search(r"(\d+) passed", m.group(2))
            failed = re.search(r"(\d+) failed(?! as expected)", m.group(2))
            # A [!shouldfail] test that failed did what it should.
            expected = re.search(r"(\d+) failed as expected", m.group(2))
            p = int(passed.group(1)) if passed else 0
            p += int(expected.group(1)) if expected else 0
            f = int(failed.group(1)) if failed else total - p
            return p, f
    return None


def tally(path):
    """(passed, failed) over the tests of one testlog.json."""
    passed = failed = 0
    with open(path, encoding="utf-8") as log:
        for line in log:
            entry = json.loads(line)
            summary = count(entry.get("stdout", "") or "")
            ok = entry.get("result") in ("OK", "EXPECTEDFAIL")
            if summary is None:
                p, f = (1, 0) if ok else (0, 1)
            else:
                p, f = summary
                if not ok and f == 0:
                    f = 1  # crashed after its summary, or a sanitizer failed it
            passed += p
            failed += f
    return passed, failed


def main(paths):
    passed = failed = 0
    for path in paths:
        try:
            p, f = tally(path)
        except FileNotFoundError:
            print(f"summarize: {path} is missing: its tests did not run", file=sys.stderr)
            p, f = 0, 1
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
