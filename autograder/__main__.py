"""``python -m autograder``: the ``grade`` command."""

import sys

from .cli import main

sys.exit(main())
