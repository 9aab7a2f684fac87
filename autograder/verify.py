"""``grade verify``: prove an assignment's checks right before students see them.

For every assignment it shows, in one run:

* ``points``      every check has points and a question, every question has
                  checks, and a question's checks add up to its points in
                  ``assignment.toml``;
* ``signatures``  stub and solution define the same functions with the same
                  signatures and docstrings (an AST comparison);
* ``solution``    the reference solution scores full marks on every public and
                  hidden check, for several seeds;
* ``stub``        the untouched stub scores zero (a check passing on it is vacuous);
* ``mutation``    mutants of each solution function (:mod:`autograder.mutation`)
                  each lose points on the checks of their question; a survivor
                  is printed as a diff unless ``solutions/<name>/equivalent_mutants.toml``
                  lists it, with a reason, as equivalent;
* ``notebooks``   the handout notebook runs top to bottom with the solution filled in.

Mutants run through this process's pytest (PyTorch imported, the checks collected and
their references computed once) or a pool of two such processes, each mutant in its
own sandbox worker, graded only on its question's checks and stopped at the first
check it loses.

The allow-list holds one table per reviewed mutant, its key as printed here::

    [[mutant]]
    function = "sigmoid"
    key = "compare: return np.where(x >= 0, ...) -> return np.where(x > 0, ...)"
    reason = "At x == 0 both branches give 0.5."

One piece, though long: the six stages share one course, one set of seeds and one
report, and read best in the order they run.
"""

from __future__ import annotations

import ast
import concurrent.futures
import copy
import json
import os
import sys
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, TextIO

from .errors import AutograderError, GraderError
from .grading import GradingJob, grade, grade_path
from .mutation import Mutant, generate_mutants, sample_mutants
from .paths import CourseDir
from .poolserver import executor_context, exit_handlers_at_exit
from .reporting.screen import clip as _clip
from .reporting.screen import percent as _percent
from .reporting.screen import render_verify_summary
from .results import CheckResult, SubmissionResult
from .sandbox.isolation import Isolation
from .scoring import points_mismatches
from .spec import AssignmentSpec, load_spec
from .submission import Submission

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

#: Most mutants graded per function (a deterministic sample across operators).
MUTANTS_PER_FUNCTION = 25
#: Worker processes grading mutants.
MUTATION_JOBS = 2
#: Fewer mutants than this in an assignment are graded in this process (a pool costs a
#: PyTorch import per worker).
MIN_MUTANTS_FOR_POOL = 16
#: A mutant's call time limit: this many times the slowest check of the solution, at
#: least MIN_MUTANT_TIMEOUT seconds and at most the assignment's own limit.
MUTANT_TIMEOUT_FACTOR = 4.0
MIN_MUTANT_TIMEOUT = 2.0

Status = Literal["ok", "FAIL", "skipped"]
STAGES = ("points", "signatures", "solution", "stub", "mutation", "notebooks")


@dataclass
class Stage:
    """The outcome of one verification stage of one assignment."""

    name: str
    status: Status
    #: One line for the summary.
    summary: str
    #: Each problem found, one paragraph each; any problem fails the stage.
    problems: list[str] = field(default_factory=list)
    #: Wall time of the stage, seconds.
    duration: float = 0.0


@dataclass
class AssignmentReport:
    """Everything ``grade verify`` found about one assignment."""

    name: str
    title: str
    stages: list[Stage] = field(default_factory=list)
    duration: float = 0.0
    #: Killed / graded mutants, when mutation testing ran.
    mutation_score: float | None = None

    @property
    def ok(self) -> bool:
        return all(s.status != "FAIL" for s in self.stages)

    def stage(self, name: str) -> Stage | None:
        return next((s for s in self.stages if s.name == name), None)


@dataclass(frozen=True)
class VerifyOptions:
    """What to verify and how hard."""

    seeds: tuple[int, ...] = (0, 1, 2)
    mutation: bool = True
    notebooks: bool = True
    mutants_per_function: int | None = MUTANTS_PER_FUNCTION
    jobs: int = MUTATION_JOBS
    isolation: str = "auto"


def verify(course: CourseDir, names: Sequence[str], options: VerifyOptions, out: TextIO) -> list[AssignmentReport]:
    """Verify ``names`` (every assignment when empty), printing problems as found and a summary."""
    names = list(names) or course.assignment_names()
    if not names:
        raise AutograderError(f"no assignments found under {course.root}")
    for name in names:
        course.assignment_dir(name)  # unknown names fail before any work
    if not options.seeds:
        raise AutograderError("--seeds: give at least one seed")
    isolation = Isolation.detect(options.isolation)
    out.write(
        f"grade verify: {', '.join(names)} (seeds {' '.join(map(str, options.seeds))}, isolation: {isolation.level})\n"
    )
    out.flush()
    reports = []
    with MutantGrader(options.jobs) as grader:
        for name in names:
            report = verify_assignment(course, name, options, isolation, grader, out)
            reports.append(report)
    out.write(render_verify_summary(reports))
    out.flush()
    return reports


def verify_assignment(
    course: CourseDir, name: str, options: VerifyOptions, isolation: Isolation, grader: MutantGrader, out: TextIO
) -> AssignmentReport:
    """Run every stage on assignment ``name``; problems are printed to ``out`` as they are found."""
    start = time.perf_counter()
    spec = load_spec(course.spec_file(name))
    report = AssignmentReport(name=name, title=spec.title)
    clock = [start]

    def add(stage: Stage) -> None:
        now = time.perf_counter()
        stage.duration, clock[0] = now - clock[0], now
        report.stages.append(stage)
        for problem in stage.problems:
            out.write(f"\n{name} · {stage.name}: " + problem.rstrip() + "\n")
        out.flush()

    solution_dir = course.solution_dir(name)
    stub_files, stub_missing = _module_files(course.assignment_dir(name), spec)
    solution_files, solution_missing = _module_files(solution_dir, spec)
    add(compare_signatures(spec, stub_files, solution_files, stub_missing + solution_missing))
    if solution_missing:
        for skipped in ("points", "solution", "stub", "mutation"):
            add(Stage(skipped, "skipped", f"skipped (no solution in {solution_dir})"))
    else:
        solution_stage, runs = check_solution(course, spec, options.seeds, isolation)
        add(solution_stage)
        add(check_points(spec, runs[0]))
        add(check_stub(course, spec, stub_missing, options.seeds[0], isolation))
        if not options.mutation:
            add(Stage("mutation", "skipped", "skipped (--no-mutation)"))
        elif solution_stage.status != "ok":
            add(Stage("mutation", "skipped", "skipped (the solution does not pass every check)"))
        else:
            stage, score = check_mutants(course, spec, solution_files, runs, options, isolation, grader)
            report.mutation_score = score
            add(stage)
    add(check_notebooks(course, spec, options))
    report.stages.sort(key=lambda s: STAGES.index(s.name))
    report.duration = time.perf_counter() - start
    return report


# -- stages -------------------------------------------------------------------------------


def _module_files(folder: Path, spec: AssignmentSpec) -> tuple[dict[str, bytes], list[str]]:
    """The spec's module files in ``folder`` and problems for those missing."""
    files, missing = {}, []
    for module in spec.modules:
        path = folder / module
        if path.is_file():
            files[module] = path.read_bytes()
        else:
            missing.append(f"{path} is missing")
    return files, missing


def _where(check: CheckResult) -> str:
    return f"{check.name} ({check.visibility}, question {check.question or '?'})"


def _grade_folder(
    course: CourseDir, spec: AssignmentSpec, folder: Path, student: str, seed: int, isolation: Isolation
) -> SubmissionResult:
    """``folder`` graded as ``student`` with public and hidden checks, its worker from the fork server."""
    return grade_path(
        folder, spec, hidden=True, seed=seed, course=course, student=student, isolation=isolation, fork=True
    )


def check_solution(
    course: CourseDir, spec: AssignmentSpec, seeds: Sequence[int], isolation: Isolation
) -> tuple[Stage, list[SubmissionResult]]:
    """Grade the solution with public and hidden checks for every seed; it must pass them all."""
    runs = [_grade_folder(course, spec, course.solution_dir(spec.name), "solution", seed, isolation) for seed in seeds]
    failures: dict[str, tuple[CheckResult, list[int]]] = {}
    problems: list[str] = []
    for seed, result in zip(seeds, runs, strict=True):
        for note in result.notes:
            problems.append(f"seed {seed}: {note}")
        for check in result.checks:
            if not check.passed:
                failures.setdefault(check.name, (check, []))[1].append(seed)
    for check, failed_seeds in failures.values():
        seeds_text = ", ".join(map(str, failed_seeds))
        problems.append(
            f"the solution fails {_where(check)} with seed {seeds_text}: {check.outcome}: {_clip(check.message)}"
        )
    n = len(runs[0].checks)
    if problems:
        return Stage("solution", "FAIL", f"{len(failures)} of {n} checks fail on the solution", problems), runs
    return Stage("solution", "ok", f"full marks on all {n} checks with seeds {', '.join(map(str, seeds))}"), runs


def check_points(spec: AssignmentSpec, result: SubmissionResult) -> Stage:
    """Every check has points and a known question; each question's checks add up to its points."""
    problems = []
    checks = result.checks
    names = {q.name for q in spec.questions}
    for check in checks:
        if check.max_score <= 0:
            problems.append(f"check {_where(check)} has no points: add @pytest.mark.points(n)")
        if not check.question:
            problems.append(
                f"check {check.name} has no question: add pytest.mark.question(name) (or pytestmark in its file)"
            )
        elif check.question not in names:
            problems.append(
                f"check {_where(check)} counts towards a question assignment.toml "
                f"does not have (questions: {', '.join(sorted(names))})"
            )
    for q in spec.questions:
        if not any(c.question == q.name for c in checks):
            problems.append(f"question {q.name!r} ({q.points:g} points in assignment.toml) has no checks")
    problems += points_mismatches(spec, checks, complete=True)
    n_public = sum(1 for c in checks if c.visibility == "public")
    total = sum(q.points for q in spec.questions)
    summary = (
        f"{len(spec.questions)} questions, {total:g} points, {len(checks)} checks "
        f"({n_public} public, {len(checks) - n_public} hidden)"
    )
    return Stage("points", "FAIL" if problems else "ok", summary, problems)


def check_stub(course: CourseDir, spec: AssignmentSpec, missing: list[str], seed: int, isolation: Isolation) -> Stage:
    """Grade the untouched stub (the handout's modules; ``missing`` names those not there):
    every check must fail on it (a passing one is vacuous)."""
    if missing:
        return Stage("stub", "FAIL", "no stub to grade", missing)
    result = _grade_folder(course, spec, course.assignment_dir(spec.name), "stub", seed, isolation)
    problems = []
    for check in result.checks:
        if check.passed:
            problems.append(
                f"{_where(check)} passes on the untouched stub: the check is "
                "vacuous (it never looks at the student's answer, or accepts any)"
            )
        elif check.outcome == "grader_error":
            problems.append(f"{_where(check)} breaks on the stub with a grader error: {_clip(check.message)}")
    todo = sum(1 for c in result.checks if c.outcome == "not_implemented")
    if problems:
        passing = sum(1 for c in result.checks if c.passed)
        return Stage("stub", "FAIL", f"scores {result.score:g} ({passing} checks pass on the stub)", problems)
    return Stage("stub", "ok", f"scores 0 on all {len(result.checks)} checks ({todo} say 'not implemented')")


# -- signatures ------------------------------------------------------------------------------


def _functions(
    files: dict[str, bytes], problems: list[str], label: str
) -> dict[str, tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    found: dict[str, tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for module, data in files.items():
        try:
            tree = ast.parse(data, filename=module)
        except SyntaxError as exc:
            problems.append(f"the {label}'s {module} does not parse: {exc}")
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.setdefault(node.name, (module, node))
    return found


def signature_text(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """``def name(args) -> returns`` of ``func`` (decorators included), on one line."""
    bare = _function_header(func)
    text = ast.unparse(bare)
    return " ".join(text.rsplit(":", 1)[0].replace("\n", " ").split())


def _function_header(func: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
    header = copy.copy(func)
    header.body = [ast.Pass()]
    return ast.fix_missing_locations(header)


def _signature_dump(func: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return (
        "|".join(
            ast.dump(part) if part is not None else "-" for part in (func.args, func.returns, *func.decorator_list)
        )
        + type(func).__name__
    )


def compare_signatures(
    spec: AssignmentSpec, stub_files: dict[str, bytes], solution_files: dict[str, bytes], missing: list[str]
) -> Stage:
    """Stub and solution define each function of the spec, with equal signatures and docstrings."""
    problems = list(missing)
    stub = _functions(stub_files, problems, "stub")
    solution = _functions(solution_files, problems, "solution")
    names = list(dict.fromkeys([*spec.functions, *(n for n in stub if n in solution)]))
    compared = 0
    for name in names:
        s, r = stub.get(name), solution.get(name)
        if s is None or r is None:
            if name in spec.functions and stub_files and solution_files:
                where = "stub" if s is None else "solution"
                modules = ", ".join(spec.modules)
                problems.append(f"{name} is in assignment.toml but the {where} ({modules}) does not define it")
            continue
        compared += 1
        (s_module, s_func), (r_module, r_func) = s, r
        if s_module != r_module:
            problems.append(f"{name} is in {s_module} in the stub but in {r_module} in the solution")
        if _signature_dump(s_func) != _signature_dump(r_func):
            problems.append(
                f"{name}: the signatures differ\n"
                f"    stub ({s_module}, line {s_func.lineno}):     "
                f"{signature_text(s_func)}\n"
                f"    solution ({r_module}, line {r_func.lineno}): "
                f"{signature_text(r_func)}"
            )
        s_doc, r_doc = ast.get_docstring(s_func) or "", ast.get_docstring(r_func) or ""
        if s_doc != r_doc:
            problems.append(f"{name}: the docstrings differ{_first_difference(s_doc, r_doc)}")
    if problems:
        return Stage("signatures", "FAIL", f"{len(problems)} problems in {compared} functions", problems)
    return Stage("signatures", "ok", f"{compared} functions agree (signature and docstring)")


def _first_difference(a: str, b: str) -> str:
    al, bl = a.splitlines(), b.splitlines()
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "<end>"
        y = bl[i] if i < len(bl) else "<end>"
        if x != y:
            return f" at docstring line {i + 1}:\n    stub:     {x.strip()!r}\n    solution: {y.strip()!r}"
    return ""


# -- mutation testing ---------------------------------------------------------------------


@dataclass(frozen=True)
class MutantVerdict:
    """What grading one mutant showed."""

    key: str
    #: ``killed``: some check lost points; ``survived``: none did; ``error``: nothing ran.
    verdict: Literal["killed", "survived", "error"]
    #: The check that killed it, or what went wrong.
    detail: str = ""
    #: Seconds spent grading it.
    duration: float = 0.0


@dataclass(frozen=True)
class MutationTask:
    """The mutants of one function, to grade on the checks of its question."""

    root: Path
    assignment: str
    question: str
    function: str
    #: Mutants are graded with the first seed; survivors also with the others.
    seeds: tuple[int, ...]
    call_timeout: float
    isolation: Isolation
    #: The solution's module files; each mutant replaces one of them.
    files: dict[str, bytes]
    mutants: tuple[Mutant, ...]


def grade_mutants(task: MutationTask) -> list[MutantVerdict]:
    """Grade each mutant of ``task`` in its own sandbox worker, on its question's checks only.

    A mutant that survives the first seed is graded with the other seeds too, so
    the verdict can say which seeds' randomised cases would have caught it.
    """
    course = CourseDir(task.root)
    spec = load_spec(course.spec_file(task.assignment))
    spec = replace(spec, limits=replace(spec.limits, call_timeout=task.call_timeout))
    # A mutant is source in memory, not a path: graded with grade() and one job per seed.
    jobs = {
        seed: GradingJob.for_assignment(course, spec, hidden=True, seed=seed, isolation=task.isolation)
        for seed in task.seeds
    }
    verdicts = []
    for mutant in task.mutants:
        start = time.perf_counter()
        files = dict(task.files)
        files[mutant.module] = mutant.source.encode("utf-8")
        submission = Submission(student=f"mutant-{task.function}", source=course.solution_dir(spec.name), files=files)
        killers: list[int] = []
        for seed in task.seeds:
            result = grade(submission, jobs[seed], fork=True, questions=[task.question], stop_at_first_failure=True)
            lost = [c for c in result.checks if not c.passed]
            if not result.checks:
                verdicts.append(
                    MutantVerdict(
                        mutant.key, "error", "; ".join(result.notes) or "no checks ran", time.perf_counter() - start
                    )
                )
                break
            if lost and seed == task.seeds[0]:
                verdicts.append(
                    MutantVerdict(
                        mutant.key, "killed", f"{lost[0].name}: {lost[0].outcome}", time.perf_counter() - start
                    )
                )
                break
            if lost:
                killers.append(seed)
        else:
            tried = ", ".join(map(str, task.seeds))
            detail = (
                (
                    f"seeds {tried}; only seed {', '.join(map(str, killers))} kills it, so a "
                    "randomised check misses it with the others"
                )
                if killers
                else f"seeds {tried}"
            )
            verdicts.append(MutantVerdict(mutant.key, "survived", detail, time.perf_counter() - start))
    return verdicts


class MutantGrader:
    """Grades :class:`MutationTask` lists in this process or in a pool of worker processes."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, min(jobs, os.cpu_count() or 1))
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def __enter__(self) -> MutantGrader:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, tasks: Sequence[MutationTask]) -> list[list[MutantVerdict]]:
        """Verdicts for each task, in order."""
        total = sum(len(t.mutants) for t in tasks)
        if self.jobs == 1 or total < MIN_MUTANTS_FOR_POOL:
            return [grade_mutants(t) for t in tasks]
        if self._pool is None:
            # Forked from the batch's preloaded server: torch and the engine imported once,
            # not once per process, and the server ends with this process.
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.jobs, mp_context=executor_context(), initializer=exit_handlers_at_exit
            )
        # Largest first, so the pool's two workers finish together.
        order = sorted(range(len(tasks)), key=lambda i: -len(tasks[i].mutants))
        futures = {i: self._pool.submit(grade_mutants, tasks[i]) for i in order}
        try:
            return [futures[i].result() for i in range(len(tasks))]
        except concurrent.futures.process.BrokenProcessPool as exc:
            self._pool = None
            raise GraderError(f"a process grading mutants died: {exc}") from exc


@dataclass(frozen=True)
class AllowEntry:
    function: str
    key: str
    reason: str


def load_allow_list(path: Path, spec: AssignmentSpec) -> tuple[list[AllowEntry], list[str]]:
    """The reviewed equivalent mutants in ``path`` (none if it is absent) and problems with it."""
    if not path.is_file():
        return [], []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return [], [f"{path}: not valid TOML: {exc}"]
    entries, problems = [], []
    unknown = set(data) - {"mutant"}
    if unknown:
        problems.append(f"{path}: unknown keys {sorted(unknown)} (expected [[mutant]] tables)")
    for i, table in enumerate(data.get("mutant", [])):
        where = f"{path}: mutant[{i}]"
        if not isinstance(table, dict):
            problems.append(f"{where}: expected a table with function, key and reason")
            continue
        values = {k: table.get(k) for k in ("function", "key", "reason")}
        bad = [k for k, v in values.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            problems.append(
                f"{where}: needs a non-empty {', '.join(bad)} (every entry "
                "says why no check can tell the mutant from the solution)"
            )
            continue
        if set(table) - set(values):
            problems.append(f"{where}: unknown keys {sorted(set(table) - set(values))}")
        if values["function"] not in spec.functions:
            problems.append(f"{where}: {values['function']!r} is not a function of assignment.toml")
            continue
        entries.append(AllowEntry(str(values["function"]), str(values["key"]), str(values["reason"])))
    return entries, problems


def _toml_entry(mutant: Mutant) -> str:
    return (
        f"    [[mutant]]\n    function = {json.dumps(mutant.function)}\n"
        f"    key = {json.dumps(mutant.key, ensure_ascii=False)}\n"
        f'    reason = "..."\n'
    )


def check_mutants(
    course: CourseDir,
    spec: AssignmentSpec,
    files: dict[str, bytes],
    solution_runs: Sequence[SubmissionResult],
    options: VerifyOptions,
    isolation: Isolation,
    grader: MutantGrader,
) -> tuple[Stage, float | None]:
    """Mutate every function of the spec and grade the mutants; every one must lose points."""
    allow_path = course.equivalent_mutants_file(spec.name)
    entries, problems = load_allow_list(allow_path, spec)
    allowed = {(e.function, e.key) for e in entries}
    slowest = max((c.duration for r in solution_runs for c in r.checks), default=0.0)
    timeout = min(spec.limits.call_timeout, max(MIN_MUTANT_TIMEOUT, MUTANT_TIMEOUT_FACTOR * slowest))
    questions_with_checks = {c.question for c in solution_runs[0].checks}
    tasks, generated, by_key = [], 0, {}
    all_keys: set[tuple[str, str]] = set()
    equivalent = 0
    for question in spec.questions:
        if question.name not in questions_with_checks:
            continue
        for function in question.functions:
            module = _defining_module(files, function)
            if module is None:
                continue  # the signatures stage reports it
            mutants = generate_mutants(files[module].decode("utf-8"), function, module)
            generated += len(mutants)
            all_keys.update((function, m.key) for m in mutants)
            equivalent += sum(1 for m in mutants if (function, m.key) in allowed)
            todo = sample_mutants(
                [m for m in mutants if (function, m.key) not in allowed], options.mutants_per_function
            )
            by_key.update({(function, m.key): m for m in todo})
            if todo:
                tasks.append(
                    MutationTask(
                        root=course.root,
                        assignment=spec.name,
                        question=question.name,
                        function=function,
                        seeds=tuple(options.seeds),
                        call_timeout=timeout,
                        isolation=isolation,
                        files=files,
                        mutants=tuple(todo),
                    )
                )
    for entry in entries:
        if (entry.function, entry.key) not in all_keys:
            problems.append(
                f"{allow_path}: the entry for {entry.function} {entry.key!r} "
                "matches no mutant (the solution changed?): remove it"
            )
    results = grader.run(tasks)
    killed = graded = 0
    for task, verdicts in zip(tasks, results, strict=True):
        for verdict in verdicts:
            graded += 1
            mutant = by_key[(task.function, verdict.key)]
            if verdict.verdict == "killed":
                killed += 1
            elif verdict.verdict == "survived":
                problems.append(
                    f"surviving mutant of {task.function} ({mutant.module}, line "
                    f"{mutant.lineno}): no check of question {task.question!r} lost a point "
                    f"({verdict.detail})\n"
                    f"    {mutant.key}\n" + textwrap.indent(mutant.diff, "    ") + "\n"
                    "  Add a check that tells it apart; or, if no input can, list it in "
                    f"{allow_path.name} with the reason:\n" + _toml_entry(mutant)
                )
            else:
                problems.append(f"mutant of {task.function} could not be graded ({mutant.key}): {verdict.detail}")
    score = killed / graded if graded else None
    summary = f"{_percent(score)}: {killed}/{graded} killed ({generated} generated, {equivalent} equivalent)"
    return Stage("mutation", "FAIL" if problems else "ok", summary, problems), score


def _defining_module(files: dict[str, bytes], function: str) -> str | None:
    for module, data in files.items():
        try:
            tree = ast.parse(data)
        except SyntaxError:
            continue
        if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == function for n in tree.body):
            return module
    return None


# -- notebooks ----------------------------------------------------------------------------


def check_notebooks(course: CourseDir, spec: AssignmentSpec, options: VerifyOptions) -> Stage:
    """Run the handout notebook with the solution filled in, when there is one."""
    if not options.notebooks:
        return Stage("notebooks", "skipped", "skipped (--no-notebooks)")
    from . import notebooks

    execute: Callable[[AssignmentSpec, CourseDir], list[str]] | None = getattr(notebooks, "execute_handout", None)
    path = course.handout_notebook(spec.name, spec.notebook)
    if execute is None or (spec.notebook is None and not path.is_file()):
        return Stage("notebooks", "skipped", "skipped (no notebooks)")
    problems = list(execute(spec, course))
    if problems:
        return Stage("notebooks", "FAIL", f"{path.name} fails with the solution", problems)
    return Stage("notebooks", "ok", f"{path.name} runs top to bottom with the solution")
