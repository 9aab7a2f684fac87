"""``python -m autograder.notebooks build [--check] FOLDER...``: rebuild handout notebooks from stubs."""

import sys

from ..cli import notebooks_main

sys.exit(notebooks_main())
