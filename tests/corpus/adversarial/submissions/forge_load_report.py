"""Attack: add lines to its own result's notes through the worker's load report.

While the worker imports this file, the report it is filling in (one entry per module
the grader asked for) is a local of a frame up the stack.  The attack adds entries for
modules nobody asked for, with a megabyte of text each (the carrier of whatever it had
learnt, e.g. a hidden check's inputs), and gives its own entry a kind the grader does not
know.  ``double`` says whether the report was reached, then returns zeros.

Expected: the harness keeps only the configured module names, caps every string and
drops unknown kinds: nothing of the forged entries reaches the notes or any check; ``add``
passes, ``double`` fails.
"""

import sys

import numpy as np

MARK = "LEAKED-" + "hidden-inputs-" * 80000


def _forge():
    frame = sys._getframe()
    while frame is not None:
        report = frame.f_locals.get("report")
        if type(report) is dict and "files" in frame.f_locals:
            for i in range(10):  # 11 MB in all: under the reply header's 16 MB limit
                report[f"leak_{i}.py"] = {"ok": False, "kind": "forbidden", "message": MARK}
            report["../../etc/passwd"] = {"ok": False, "kind": "!!", "message": "LEAKED"}
            return True
        frame = frame.f_back
    return False


FORGED = _forge()


def add(a, b):
    return np.add(a, b)


def double(x):
    print(f"load report reached: {FORGED}")
    return np.zeros_like(x)
