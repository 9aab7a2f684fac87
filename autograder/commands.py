"""Every command's adapter: parsed arguments in, one call into the engine, an exit code out.

``grade <assignment>``, ``list``, ``batch``, ``export``, ``verify``, ``release``,
``gradescope``, ``similarity``, and ``python -m autograder.notebooks build``.
The engine's functions take typed arguments; only this module and
:mod:`autograder.cli` see an ``argparse.Namespace``.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from .errors import AutograderError, ExitCode, SpecError
from .grading import DEFAULT_SEED, GradingJob, grade
from .paths import SPEC_FILE, CourseDir
from .reporting.gradescope import write_gradescope
from .reporting.terminal import print_result
from .sandbox.isolation import Isolation
from .sanitize import file_stem
from .scoring import points_mismatches
from .spec import load_spec
from .submission import load_submission


def grade_one(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """Grade one submission, print the table, write the HTML (and JSON) report.

    Without an assignment name, grades the handout ``grade`` runs in (or the
    course assignment whose folder holds the working folder).
    """
    course = CourseDir.discover()
    name = args.assignment or course.current_assignment()
    if name is None:
        if not course.found:
            raise AutograderError(course.nothing_found())
        known = ", ".join(course.assignment_names()) or "none"
        raise AutograderError(f"which assignment? run `grade NAME` (known here: {known})")
    spec = load_spec(course.spec_file(name))
    if args.hidden and not course.has_hidden(spec.name):
        raise AutograderError(f"--hidden: no hidden checks for {spec.name} here ({course.hidden_tests_dir(spec.name)})")
    path: Path = args.submission or course.assignment_dir(spec.name)
    execute = getattr(args, "execute", False)
    if execute and path.suffix.lower() != ".ipynb":
        raise AutograderError("--execute runs a notebook: give --submission PATH.ipynb")
    student = None if args.submission else "working-copy"
    submission = load_submission(path, spec, student=student)
    job = GradingJob.for_assignment(
        course,
        spec,
        hidden=args.hidden,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
        isolation=Isolation.detect(args.isolation),
    )
    if args.watch:
        if execute or args.json:
            raise AutograderError("--watch shows the table on every save: it does not go with --execute or --json")
        from .watch import watch

        return watch(path, job, out, student=student)
    result = grade(submission, job)
    for problem in points_mismatches(spec, result.checks, complete=job.hidden_dir is not None):
        err.write(f"grade: warning: {problem}\n")
    if execute:
        from .notebooks import execute_submission

        result = replace(result, notebook_run=execute_submission(path, job))
    # Whoever runs hidden checks here holds the solutions: the terminal and the HTML report
    # show everything; the JSON (what Gradescope shows students) is the student's view.
    print_result(result, out)
    if result.notebook_run is not None:
        run = result.notebook_run
        out.write(
            f"Notebook: {run['status']}, {len(run['cells'])} code cells in "
            f"{run['duration']:.1f} s{': ' + run['message'] if run['message'] else ''}"
            " (outputs in the HTML report)\n"
        )
    if args.json:
        write_gradescope(result.for_student(spec.hidden_feedback), args.json)
        out.write(f"JSON:   {args.json}\n")
    if not args.no_html:
        from .reporting.html_report import write_student_html  # jinja2: only when asked

        html_path = args.html or course.reports_dir(spec.name) / f"{file_stem(result.student)}.html"
        write_student_html(result, html_path)
        out.write(f"Report: {html_path}\n")
    if result.isolation != "bwrap":
        out.write(f"Isolation: {job.isolation.reason}\n")
    return ExitCode.OK


def list_assignments(out: TextIO, err: TextIO) -> ExitCode:
    """Print every assignment with its questions' points; one line on ``err`` per broken assignment.toml
    (the others are listed all the same)."""
    course = CourseDir.discover()
    folders = course.assignment_folders()
    broken = course.broken_specs()
    if not folders and not broken:
        raise AutograderError(course.nothing_found())
    for name, folder in sorted(folders.items()):
        try:
            spec = load_spec(folder / SPEC_FILE)
        except SpecError as exc:
            broken.append(exc)
            continue
        extra = sum(q.points for q in spec.questions if q.extra_credit)
        hidden = "public + hidden" if course.has_hidden(name) else "public"
        line = f"{name:<14} {spec.title:<48} {spec.max_score:g} points"
        out.write(line + (f" (+{extra:g} extra credit)" if extra else "") + f"  [{hidden}]\n")
    for problem in broken:
        err.write(f"grade: {problem}\n")
    return ExitCode.USAGE if broken else ExitCode.OK


def export_grades(args: argparse.Namespace, out: TextIO, err: TextIO) -> ExitCode:
    """``grade export BATCH_OUT --to canvas|moodle|csv --out FILE``: the grades of a batch as the file
    that system imports; students that could not be exported are named on ``err``."""
    from .lms.export import batch_results
    from .lms.export import export_grades as write_export

    done = write_export(batch_results(args.batch_out), args.to, args.out, column=args.column)
    out.write(f"Wrote {done.path}: {done.rows} students ({args.to})\n")
    for line in done.left_out:
        err.write(f"grade: warning: left out {line}\n")
    return ExitCode.OK


def build_gradescope(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """``grade gradescope ASSIGNMENT --out ZIP``: write Gradescope's autograder zip."""
    from .gradescope_autograder import build_autograder

    path = build_autograder(CourseDir.discover(), args.assignment, args.out, seed=args.seed, wheel=args.wheel)
    out.write(
        f"Wrote {path}: upload it as the autograder of a Gradescope programming assignment "
        "(it installs the grader and CPU PyTorch, and grades with the public and hidden checks).\n"
    )
    return ExitCode.OK


def grade_batch(args: argparse.Namespace) -> ExitCode:
    """``grade batch``: grade a folder of submissions; OK unless a submission hit a grader error
    (USAGE when the only ones are students not graded for having several submissions)."""
    from .batch import run_batch

    course = CourseDir.discover()
    batch = run_batch(
        course,
        args.assignment,
        args.submissions,
        out=args.out,
        jobs=args.jobs,
        seed=args.seed,
        force=args.force,
        prune=getattr(args, "prune", False),
        only=tuple(getattr(args, "only", None) or ()),
        scheduler=args.scheduler,
        allow_weak_isolation=args.allow_weak_isolation,
        progress=not args.no_progress,
        similarity=not getattr(args, "no_similarity", False),
        lms=getattr(args, "lms", None),
        roster=getattr(args, "roster", None),
        overrides=getattr(args, "overrides", None),
    )
    if batch.interrupted:
        return ExitCode.INTERRUPTED
    failed = [r for r in batch.results.values() if r.status != "ok" and r.student not in batch.not_graded]
    if failed or batch.report_errors or set(batch.failed) - set(batch.not_graded):
        return ExitCode.GRADER_ERROR
    return ExitCode.USAGE if batch.not_graded else ExitCode.OK


def verify_assignments(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """``grade verify [ASSIGNMENT...]``: print each problem, then a one-screen summary."""
    from .verify import VerifyOptions, verify

    course = CourseDir.discover()
    options = VerifyOptions(seeds=tuple(args.seeds), mutation=not args.no_mutation, notebooks=not args.no_notebooks)
    reports = verify(course, list(args.assignments), options, out)
    return ExitCode.OK if all(r.ok for r in reports) else ExitCode.VERIFY_FAILED


def release_handout(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """``grade release ASSIGNMENT --out DIR``: write ``DIR/ASSIGNMENT/`` or refuse, naming the leak."""
    from .release import release

    target = release(CourseDir.discover(), args.assignment, args.out, out, wheel=args.wheel)
    wheel = next(target.glob("*.whl"))
    out.write(f"Students: `pip install {wheel.name}`, then `grade` inside {target.name}/ (its README.md says so).\n")
    return ExitCode.OK


def compare_class(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """``grade similarity ASSIGNMENT DIR --out OUT``: compare a class, write the two reports."""
    from .similarity import report_similarity

    report_similarity(CourseDir.discover(), args.assignment, Path(args.submissions), args.out, out)
    return ExitCode.OK


def build_handouts(args: argparse.Namespace, out: TextIO) -> int:
    """``python -m autograder.notebooks build [--check] FOLDER...``: 0, or 1 when ``--check`` finds a
    notebook that is not what ``build`` would write (as ``diff`` answers)."""
    from .notebooks.handout import build_command

    return build_command(args.folders, args.check, out)
