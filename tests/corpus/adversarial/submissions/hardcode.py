"""Attack: memorise the outputs of the visible checks (the public cases of seed 0, which a
student can compute from the shipped checks) and return them whatever the input.

Expected: with the public seed the memorised ``double`` case passes; graded with another
seed (a batch), it fails, so only ``add`` (honest) scores.
"""

import hashlib

import numpy as np

TARGETS: dict = {}  # the memorised answers, filled in by tests/test_adversarial.py


def add(a, b):
    return np.add(a, b)


def double(x):
    key = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
    answer = TARGETS.get("answers", {}).get(key)
    print(f"memorised answer: {'yes' if answer is not None else 'no'}")
    return np.asarray(answer) if answer is not None else np.zeros_like(x)
