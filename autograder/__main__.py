"""``python -m autograder``: the ``grade`` command."""

from .cli import entry

entry()
