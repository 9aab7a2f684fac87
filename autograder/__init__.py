"""autograder: grade NumPy exercises against PyTorch references, with student code sandboxed."""

from .errors import AutograderError, ExitCode, GraderError
from .results import CheckResult, QuestionResult, SubmissionResult
from .spec import AssignmentSpec, load_spec

__version__ = "0.1.0"

__all__ = [
    "AssignmentSpec",
    "AutograderError",
    "CheckResult",
    "ExitCode",
    "GraderError",
    "QuestionResult",
    "SubmissionResult",
    "__version__",
    "load_spec",
]
