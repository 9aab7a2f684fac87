"""``grade batch``: every submission in a folder graded through an executor, with a result cache and reports.

Modules, in the order data flows:

- :mod:`.ids`: which student each submission of the folder is (file and folder
  names, or an LMS download with ``--from``), and ``--only``;
- :mod:`.run`: one batch run: read the folder, reuse the cache, grade the rest,
  write each student's reports, then ``summary.html``, ``gradebook.csv`` and ``batch.log``;
- :mod:`.cache`: what the output folder remembers between runs (results by
  fingerprint, the seed), so a run interrupted by Ctrl-C resumes;
- :mod:`.pool`: the executor processes (a local process pool, or Dask with
  ``--scheduler``): what each one runs and how tasks are driven through them.

The terminal summary at the end is :mod:`autograder.reporting.screen`'s; the
command's arguments are read by :mod:`autograder.commands`.
"""

from __future__ import annotations

from .cache import CACHE_DIR, STATE_FILE, ResultCache, batch_seed, write_atomic
from .pool import GradeTask, grade_task, open_executor, warm_up
from .run import INSTRUCTOR_DIR, LOG_FILE, BatchRun, report_files, run_batch, write_reports

__all__ = [
    "CACHE_DIR",
    "INSTRUCTOR_DIR",
    "LOG_FILE",
    "STATE_FILE",
    "BatchRun",
    "GradeTask",
    "ResultCache",
    "batch_seed",
    "grade_task",
    "open_executor",
    "report_files",
    "run_batch",
    "warm_up",
    "write_atomic",
    "write_reports",
]
