#!/usr/bin/env python3
"""Checks tests/summarize.py, which makes CI's last line: the counts it reads
from Catch2 summaries and from meson's results, and a missing log."""
import contextlib
import io
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from summarize import count, main  # noqa: E402

failures = []


def expect(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got}, want {want}")


expect("all passed", count("All tests passed (12 assertions in 3 test cases)"), (3, 0))
expect("mixed", count("test cases: 5 | 3 passed | 2 failed"), (3, 2))
expect("shouldfail", count("test cases:  129 |  128 passed |  1 failed as expected"), (129, 0))
expect("both", count("test cases: 10 | 7 passed | 2 failed | 1 failed as expected"), (8, 2))
expect("none", count("a lint's output"), None)

with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "testlog.json")
    with open(log, "w", encoding="utf-8") as out:
        for result, stdout in [("OK", "All tests passed (1 assertion in 2 test cases)"),
                               ("OK", ""), ("FAIL", ""),
                               ("FAIL", "All tests passed (1 assertion in 1 test case)")]:
            out.write(json.dumps({"result": result, "stdout": stdout}) + "\n")
    def run(paths):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            status = main(paths)
        return status, printed.getvalue().strip()

    # Passed: 2 + 1 + the 1 before a crash; failed: the plain failure and the crash.
    expect("log", run([log]), (1, "4 passed, 2 failed"))
    expect("missing log", run([log, os.path.join(tmp, "absent.json")]), (1, "4 passed, 3 failed"))

for failure in failures:
    print("FAILED:", failure)
print(f"summarize_test: {5 + 2 - len(failures)} of 7 checks passed")
sys.exit(1 if failures else 0)
