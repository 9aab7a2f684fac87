"""The exception tree and the CLI's exit codes.

::

    AutograderError                 anything the user can fix; the CLI prints it in one line
     ├── AssignmentNotFound         `grade nosuch`
     ├── SpecError                  assignment.toml is malformed (names file, key, expectation)
     ├── SubmissionError            the submission path is missing or unreadable
     └── IsolationUnavailable       batch grading without strict isolation, not allowed
    GraderError                     our bug or a broken environment: never the student's fault
     └── checkrun.ChecksUnloadable  pytest could not start on the checks: a collection problem

Raised and caught inside one part of the engine, never shown as they are:

    AssertionError
     └── checks.CheckFailure        a check found the student's value wrong (a verdict)
    checks.StudentCodeFailure       a call into student code returned no value (a verdict)
     └── checks.NotRun              the function's module did not import: the check did not run
    sandbox.protocol.ProtocolError  a frame on the worker's pipe is malformed
     └── EncodeError                a check passed a value the wire can't carry
    sandbox.forkserver.ForkServerError  the zygote failed: the worker starts the plain way
    sandbox.confine.ConfineError    (inside a sandbox) the process could not become its uid: it stops
    ImportError
     └── sandbox.worker.ForbiddenImport  (inside the worker) an import the assignment forbids
    lms.gitcommit.CommitTimeUnknown  a repository's last commit time can't be read: file dates instead

Every exception class of the package is drawn here, under its base class
(``tests/test_errors.py`` checks it).

Failures of *student* code are not exceptions here: the sandbox returns them as
outcomes (see ``autograder.sandbox.client.CallOutcome``).
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes of ``grade``."""

    OK = 0  #: grading ran, whatever the score
    USAGE = 2  #: a user error: unknown assignment, missing file, bad option
    VERIFY_FAILED = 3  #: ``grade verify`` found a problem with the checks
    GRADER_ERROR = 4  #: an internal error
    INTERRUPTED = 130  #: Ctrl-C


class AutograderError(Exception):
    """An error the user can fix; its message is shown as is."""


class AssignmentNotFound(AutograderError):
    """No assignment of that name."""


class SpecError(AutograderError):
    """assignment.toml is missing a key or has a value of the wrong kind."""


class SubmissionError(AutograderError):
    """The submission cannot be found or read."""


class IsolationUnavailable(AutograderError):
    """Strict OS isolation was required but is not available here."""


class GraderError(Exception):
    """A fault of the grader or its environment, reported as ``grader_error``."""
