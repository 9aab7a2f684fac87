"""The ``grade`` command: parse arguments, call the engine, map errors to exit codes; no logic."""

from __future__ import annotations

import argparse
import atexit
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .errors import AutograderError, ExitCode, GraderError


def _grade_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade",
        description="Grade a submission of an assignment. Other commands: "
        "grade list | grade batch | grade export | grade verify | grade release | grade gradescope | grade similarity "
        "(see --help of each).",
    )
    p.add_argument(
        "assignment",
        nargs="?",
        help="assignment name, e.g. assignment3 (default: the handout or assignment folder you are in)",
    )
    p.add_argument(
        "--submission",
        type=Path,
        metavar="PATH",
        help="a .py file, .ipynb notebook, .zip or folder (default: your working copy in assignments/<name>/)",
    )
    p.add_argument(
        "--hidden", action="store_true", help="also run hidden checks (instructors: needs solutions/<name>/hidden/)"
    )
    p.add_argument("--seed", type=int, default=None, help="seed for randomised checks (default 0)")
    p.add_argument("--json", type=Path, metavar="PATH", help="also write results in Gradescope's format")
    p.add_argument(
        "--html",
        type=Path,
        metavar="PATH",
        help="where to write the HTML report (default reports/<name>/<student>.html)",
    )
    p.add_argument("--no-html", action="store_true", help="do not write an HTML report")
    p.add_argument(
        "--isolation",
        choices=("auto", "bwrap", "rlimits"),
        default="auto",
        help="sandbox isolation level (default: the strictest available)",
    )
    p.add_argument(
        "--watch",
        action="store_true",
        help="keep running and grade again whenever the submission is saved (Ctrl-C to stop)",
    )
    p.add_argument(
        "--execute",
        action="store_true",
        help="also run the --submission notebook top to bottom in the sandbox and put its outputs in the HTML report",
    )
    return p


def _list_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog="grade list", description="List the assignments and their points.")


def _batch_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade batch", description="Grade every submission in a folder with public and hidden checks."
    )
    p.add_argument("assignment")
    p.add_argument("submissions", type=Path, help="folder with one file, folder or .zip per student")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel jobs (default: cores)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default reports/<name>/)")
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed for the randomised checks (default: the seed of the last run into --out, or a new random one)",
    )
    p.add_argument("--force", action="store_true", help="regrade submissions whose result is cached")
    p.add_argument(
        "--only",
        nargs="+",
        metavar="ID",
        help="regrade these students (ids as in gradebook.csv) into an existing --out, keeping everyone else",
    )
    p.add_argument(
        "--prune",
        action="store_true",
        help="drop the results and reports of students no longer in the submissions folder (default: kept)",
    )
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask distributed cluster")
    p.add_argument(
        "--allow-weak-isolation",
        action="store_true",
        help="grade even where strict OS isolation (bubblewrap) is unavailable",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-similarity", action="store_true", help="do not write the similarity report")
    p.add_argument(
        "--from",
        dest="lms",
        choices=("canvas", "moodle", "classroom"),
        help="read the submissions folder as this system's download (student ids, LMS ids, submission times)",
    )
    p.add_argument("--roster", type=Path, metavar="FILE", help="CSV of ids, names, emails and sections")
    p.add_argument(
        "--overrides",
        type=Path,
        metavar="FILE",
        help="CSV of extensions and manual adjustments (student, extension_days, adjustment, reason)",
    )
    return p


def _export_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade export", description="Write a batch's grades as the file Canvas or Moodle imports, or plain CSV."
    )
    p.add_argument("batch_out", type=Path, metavar="BATCH_OUT", help="the folder grade batch --out wrote")
    p.add_argument("--to", required=True, choices=("canvas", "moodle", "csv"), help="the format to write")
    p.add_argument("--out", type=Path, required=True, metavar="FILE", help="the file to write")
    p.add_argument("--column", help="Canvas: the assignment column's name (default: the assignment's name)")
    return p


def _similarity_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade similarity",
        description="Find submissions whose code is similar, worth a look (the code is read, never run).",
    )
    p.add_argument("assignment")
    p.add_argument("submissions", type=Path, help="folder with one file, folder or .zip per student")
    p.add_argument("--out", type=Path, default=None, help="output folder (default reports/<name>/)")
    return p


def _verify_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade verify",
        description="Prove the checks are right: solutions pass, stubs score zero, mutants are killed, notebooks run.",
    )
    p.add_argument("assignments", nargs="*", help="assignments to verify (default: all)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds to try")
    p.add_argument("--no-mutation", action="store_true", help="skip mutation testing")
    p.add_argument("--no-notebooks", action="store_true", help="skip executing handout notebooks")
    return p


def _release_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade release",
        description="Copy an assignment into a student handout, refusing if it holds solution code or hidden checks.",
    )
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--wheel",
        type=Path,
        metavar="PATH",
        help="the grader's wheel to ship in the handout (default: built from the grader's sources)",
    )
    return p


def _gradescope_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grade gradescope",
        description="Build the autograder zip Gradescope runs: the grader, the public and hidden "
        "checks (never the solution), setup.sh and run_autograder.",
    )
    p.add_argument("assignment")
    p.add_argument("--out", type=Path, required=True, help="the zip to write, e.g. autograder.zip")
    p.add_argument(
        "--seed", type=int, default=None, help="seed of the hidden checks (default: random, kept in the zip)"
    )
    p.add_argument("--wheel", type=Path, metavar="PATH", help="the grader's wheel (default: built from its sources)")
    return p


def _notebooks_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.notebooks",
        description="Build handout notebooks: rewrite their stub cells from the stub module.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="rewrite the student cells of each assignment's notebook")
    b.add_argument("folders", type=Path, nargs="+", help="assignment folders, e.g. assignments/assignment3")
    b.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a notebook is not what build would write"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``grade``; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(_dispatch(argv))
    except AutograderError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except GraderError as exc:
        print(f"grade: internal error: {exc}", file=sys.stderr)
        return int(ExitCode.GRADER_ERROR)
    except KeyboardInterrupt:
        print("grade: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


def entry() -> NoReturn:
    """The ``grade`` console script: :func:`main`, then exit.

    Everything the grader writes is closed by then, and exit handlers (the
    fork server's clean-up) run; what is skipped is the interpreter tearing
    down PyTorch and the check session, which takes a second or more and made
    Ctrl-C seem ignored.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    atexit._run_exitfuncs()
    os._exit(code)


def _dispatch(argv: list[str]) -> ExitCode:
    command = argv[0] if argv else ""
    if command == "list":
        _list_parser().parse_args(argv[1:])
        from .commands import list_assignments

        return list_assignments(sys.stdout, sys.stderr)
    if command == "batch":
        args = _batch_parser().parse_args(argv[1:])
        if not args.scheduler:
            from .poolserver import start_for_batch

            # Before the engine is imported: the executors' imports overlap this process's.
            start_for_batch(args.assignment, args.submissions, args.out, regrade=bool(args.force or args.only))
        from .commands import grade_batch

        return grade_batch(args)
    if command == "verify":
        args = _verify_parser().parse_args(argv[1:])
        from .commands import verify_assignments

        return verify_assignments(args, sys.stdout)
    if command == "gradescope":
        args = _gradescope_parser().parse_args(argv[1:])
        from .commands import build_gradescope

        return build_gradescope(args, sys.stdout)
    if command == "release":
        args = _release_parser().parse_args(argv[1:])
        from .commands import release_handout

        return release_handout(args, sys.stdout)
    if command == "export":
        args = _export_parser().parse_args(argv[1:])
        from .commands import export_grades

        return export_grades(args, sys.stdout, sys.stderr)
    if command == "similarity":
        args = _similarity_parser().parse_args(argv[1:])
        from .commands import compare_class

        return compare_class(args, sys.stdout)
    args = _grade_parser().parse_args(argv)
    from .commands import grade_one

    return grade_one(args, sys.stdout, sys.stderr)


def notebooks_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m autograder.notebooks build [--check] FOLDER...`` (course
    maintenance, not a ``grade`` command); returns the process exit code."""
    args = _notebooks_parser().parse_args(argv)
    from .commands import build_handouts

    try:
        return build_handouts(args, sys.stdout)
    except AutograderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
