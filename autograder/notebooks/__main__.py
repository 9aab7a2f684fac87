"""``python -m autograder.notebooks build [--check] FOLDER...``: rebuild handout notebooks from stubs."""

import sys

from .handout import main

sys.exit(main())
