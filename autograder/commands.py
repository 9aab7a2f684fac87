"""The student-facing commands: ``grade <assignment>`` and ``grade list``."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from .errors import AutograderError, ExitCode
from .grading import DEFAULT_SEED, GradingJob, grade
from .paths import CourseDir
from .reporting.gradescope import write_gradescope
from .reporting.terminal import print_result
from .sandbox.isolation import Isolation
from .spec import load_spec
from .submission import load_submission


def grade_one(args: argparse.Namespace, out: TextIO) -> ExitCode:
    """Grade one submission, print the table, write the HTML (and JSON) report."""
    course = CourseDir.discover()
    spec = load_spec(course.spec_file(args.assignment))
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
    result = grade(submission, job)
    if execute:
        from .notebooks import execute_submission

        run = execute_submission(path, job)
        result = replace(result, extra={**result.extra, "notebook_outputs": run})
    # Whoever runs hidden checks here holds the solutions: the terminal and the HTML report
    # show everything; the JSON (what Gradescope shows students) is the student's view.
    print_result(result, out, hidden_details=True)
    if execute:
        run = result.extra["notebook_outputs"]
        out.write(
            f"Notebook: {run['status']}, {len(run['cells'])} code cells in "
            f"{run['duration']:.1f} s{': ' + run['message'] if run['message'] else ''}"
            " (outputs in the HTML report)\n"
        )
    if args.json:
        view = result.for_student(spec.hidden_feedback)
        write_gradescope(view, args.json, hidden_details=spec.hidden_feedback == "full")
        out.write(f"JSON:   {args.json}\n")
    if not args.no_html:
        from .reporting.html_report import write_student_html  # jinja2: only when asked

        html_path = args.html or course.reports_dir(spec.name) / f"{result.student}.html"
        write_student_html(result, html_path, hidden_details=True)
        out.write(f"Report: {html_path}\n")
    if result.isolation != "bwrap":
        out.write(f"Isolation: {job.isolation.reason}\n")
    return ExitCode.OK


def list_assignments(out: TextIO) -> ExitCode:
    """Print every assignment with its questions' points."""
    course = CourseDir.discover()
    names = course.assignment_names()
    if not names:
        raise AutograderError(f"no assignments found under {course.root}")
    for name in names:
        spec = load_spec(course.spec_file(name))
        extra = sum(q.points for q in spec.questions if q.extra_credit)
        hidden = "public + hidden" if course.has_hidden(name) else "public"
        line = f"{name:<14} {spec.title:<48} {spec.max_score:g} points"
        out.write(line + (f" (+{extra:g} extra credit)" if extra else "") + f"  [{hidden}]\n")
    return ExitCode.OK
