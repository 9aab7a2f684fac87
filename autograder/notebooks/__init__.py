"""Jupyter notebooks: graded code out of a student's notebook, handouts built from stubs, kernels run apart.

- :mod:`.cells`: a notebook's cells -> the source of a module the sandbox imports (nothing runs here);
- :mod:`.handout`: the handout notebook of an assignment, built from its stub module
  (``python -m autograder.notebooks build assignments/<name>``), and filled with a solution;
- :mod:`.execute`: a notebook run top to bottom by a Jupyter kernel in another process
  (sandboxed for students' notebooks), its outputs kept for the report.

Importing this package loads only :mod:`.cells`; nbclient and jupyter_client are
imported when a notebook is executed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .cells import HANDOUT_TAG, STUDENT_TAG, notebook_source_to_module, notebook_to_module

if TYPE_CHECKING:
    from pathlib import Path

    from ..grading import GradingJob
    from ..paths import CourseDir
    from ..spec import AssignmentSpec

__all__ = [
    "HANDOUT_TAG",
    "STUDENT_TAG",
    "execute_handout",
    "execute_submission",
    "notebook_source_to_module",
    "notebook_to_module",
]


def execute_handout(spec: AssignmentSpec, course: CourseDir) -> list[str]:
    """Problems with the handout notebook of ``spec`` run with the solution filled in; [] when fine.

    See :func:`autograder.notebooks.execute.execute_handout`.
    """
    from .execute import execute_handout as run

    return run(spec, course)


def execute_submission(path: Path, job: GradingJob) -> dict[str, Any]:
    """A student's notebook run in ``job``'s sandbox: its outputs for the report (JSON-ready).

    See :func:`autograder.notebooks.execute.execute_submission`.
    """
    from .execute import execute_submission as run

    return run(path, job)
