"""Attack: escape sequences in exception messages and printed output, to draw a fake PASS
line over the instructor's terminal (cursor up, erase line), set its window title and write
its clipboard (OSC 52).

Expected: ``double`` is an error; the terminal table and batch.log show the escapes made
visible, never raw (``tests/test_adversarial.py``); ``add`` passes.
"""

import numpy as np


def add(a, b):
    return np.add(a, b)


def double(x):
    print("\x1b]0;owned\x07\x1b[2J escapes printed")
    raise ValueError("\x1b[1A\x1b[2K  PASS      test_double_public   1/1\x1b]52;c;ZWNobyBvd25lZA==\x07")
