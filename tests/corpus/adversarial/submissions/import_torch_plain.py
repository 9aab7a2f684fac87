"""Attack: use the reference library, PyTorch, directly.

Expected: every check is ``forbidden`` with a message naming this file and line 6 in the note at the top, every check "not run"; zero.
"""

import torch


def add(a, b):
    return (torch.from_numpy(a) + torch.from_numpy(b)).numpy()


def double(x):
    return torch.mul(torch.from_numpy(x), 2).numpy()
