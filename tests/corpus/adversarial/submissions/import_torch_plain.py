"""Attack: use the reference library, PyTorch, directly.

Expected: every check is ``forbidden``, "not run"; the note at the top names this file and line 6; zero.
"""

import torch


def add(a, b):
    return (torch.from_numpy(a) + torch.from_numpy(b)).numpy()


def double(x):
    return torch.mul(torch.from_numpy(x), 2).numpy()
