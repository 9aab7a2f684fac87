"""``grade release``: copy ``assignments/<name>/`` into a student handout, refusing if it leaks.

The handout stands alone: it holds the grader's wheel and a README.md saying
how to install it, and ``grade`` works in it under any folder name.

A handout leaks when one of its files is a copy of a file under
``solutions/<name>/`` (hidden checks included), or when a function in one of its
Python files or notebook code cells has the body of a function defined there:
a solution pasted into the stub, a hidden check pasted into the public ones.
Bodies are compared as ASTs, so reformatting or renaming comments does not
hide a copy.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from .errors import AutograderError
from .paths import SPEC_FILE, CourseDir
from .pysource import without_docstring
from .spec import AssignmentSpec, load_spec, tomllib

#: A function body this large (in AST nodes) leaks even under another name.
MIN_ANONYMOUS_NODES = 20
_IGNORED_DIRS = {"__pycache__", ".ipynb_checkpoints"}
_IGNORED_SUFFIXES = (".pyc", ".pyo")
_MAGIC = re.compile(r"^\s*[%!]")


@dataclass(frozen=True)
class Leak:
    """One piece of the handout that comes from ``solutions/``."""

    #: The handout file, relative to the assignment folder.
    path: str
    #: What leaks and where it comes from.
    what: str


@dataclass(frozen=True)
class _Body:
    name: str
    dump: str
    size: int
    origin: str


def release(
    course: CourseDir, name: str, out: Path, stream: TextIO | None = None, *, wheel: Path | None = None
) -> Path:
    """Copy assignment ``name`` to ``out/name``, with the grader's wheel and a README, and return that folder.

    The wheel is ``wheel`` if given, else built from the grader's own source
    tree. Raises AutograderError, naming each leaking file, when the handout
    holds solution code or hidden checks; nothing is written then.
    """
    if course.handout is not None:
        raise AutograderError("grade release needs the course repository (with solutions/), not a handout")
    source = course.assignment_dir(name)
    solutions = course.solution_dir(name)
    if not solutions.is_dir():
        raise AutograderError(
            f"refusing to release {name}: {solutions} is missing, so the handout cannot be checked for solution code"
        )
    files = handout_files(source)
    spec = load_spec(course.spec_file(name))
    leaks = find_leaks(source, files, solutions, spec.functions)
    if leaks:
        listed = "\n".join(f"  {leak.path}: {leak.what}" for leak in leaks)
        raise AutograderError(f"refusing to release {name}: the handout holds code from {solutions}:\n{listed}")
    target = Path(out) / name
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise AutograderError(f"{target} already exists; remove it or choose another --out")
    if wheel is not None and not (wheel.is_file() and wheel.name.startswith("autograder-") and wheel.suffix == ".whl"):
        raise AutograderError(f"--wheel {wheel}: expected a file autograder-<version>-....whl")
    for rel in files:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / rel, dest)
    spec_text = (target / SPEC_FILE).read_text(encoding="utf-8")
    if "name" not in tomllib.loads(spec_text):
        # The handout keeps its name in any folder (GitHub Classroom's ``assignment3-jdoe``).
        (target / SPEC_FILE).write_text(f"name = {json.dumps(spec.name)}\n{spec_text}", encoding="utf-8")
    if wheel is not None:
        shipped = Path(shutil.copyfile(wheel, target / wheel.name))
    else:
        shipped = build_wheel(target)
    (target / "README.md").write_text(student_readme(spec, shipped.name), encoding="utf-8")
    if stream is not None:
        stream.write(
            f"Released {name} to {target}: {len(files)} files, checked against "
            f"{solutions} (no solution code, no hidden checks).\n"
        )
    return target


def build_wheel(out: Path) -> Path:
    """Build the grader's wheel from its source tree into ``out`` and return its path.

    The sources are copied to a temporary folder first, so the build writes
    nothing into the tree. Raises AutograderError when the grader was not
    installed from its sources (then give ``--wheel``) or the build fails.
    """
    project = Path(__file__).resolve().parent.parent
    pyproject = project / "pyproject.toml"
    if not pyproject.is_file() or 'name = "autograder"' not in pyproject.read_text(encoding="utf-8"):
        raise AutograderError(
            "grade release ships the grader as a wheel, and this grader was not installed from its "
            "sources: build one (pip wheel --no-deps PATH_TO_SOURCES) and give it with --wheel"
        )
    with tempfile.TemporaryDirectory(prefix="autograder-wheel-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(project / "autograder", src / "autograder", ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copyfile(project / name, src / name)
        command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", tmp, str(src)]
        # Offline and fast where this environment can build wheels itself (setuptools >= 70.1 has
        # bdist_wheel); else pip's usual isolated build, which fetches setuptools.
        if _builds_wheels_offline():
            command.insert(-1, "--no-build-isolation")
        proc = subprocess.run(command, capture_output=True, text=True, timeout=600)
        wheels = sorted(Path(tmp).glob("autograder-*.whl"))
        if proc.returncode != 0 or len(wheels) != 1:
            tail = " ".join((proc.stderr or proc.stdout).split()[-40:])
            raise AutograderError(f"could not build the grader's wheel (pip wheel exited {proc.returncode}): {tail}")
        return Path(shutil.copyfile(wheels[0], out / wheels[0].name))


def _builds_wheels_offline() -> bool:
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    return parts >= (70, 1) or importlib.util.find_spec("wheel") is not None


def student_readme(spec: AssignmentSpec, wheel: str) -> str:
    """The handout's README.md: how to install the grader and check one's work, in any folder."""
    modules = ", ".join(f"`{m}`" for m in spec.modules)
    notebook = (
        f"\nPrefer the notebook? Work in `{spec.notebook}`, then `grade --submission {spec.notebook}`.\n"
        if spec.notebook
        else ""
    )
    return f"""# {spec.name}: {spec.title}

## Set up, once

With Python 3.10 or newer, in this folder (a virtual environment is a good idea):

```bash
python -m venv .venv && . .venv/bin/activate     # optional
pip install {wheel}
```

This installs the grader and what it needs (NumPy, PyTorch for the reference answers, ...).

## Check your work

Write your code in {modules}, then, in this folder (whatever you named it):

```bash
grade {spec.name}        # or just: grade
```

You get a table of every public check (points, pass/fail, what to fix) and a report in
`reports/working-copy.html`. Your instructor grades with these checks and hidden ones.
{notebook}"""


def handout_files(folder: Path) -> list[Path]:
    """Files of ``folder`` that go into the handout, relative; caches and dot-files left out."""
    out = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") or part in _IGNORED_DIRS for part in rel.parts):
            continue
        if path.is_file() and not path.name.endswith(_IGNORED_SUFFIXES):
            out.append(rel)
    return out


def find_leaks(
    source: Path, files: list[Path], solutions: Path, graded: Collection[str], *, shared: Collection[str] = ()
) -> list[Leak]:
    """Every file of the handout in ``source`` that copies from ``solutions``.

    Secret are: whole files under ``solutions``; the bodies of the solution
    modules' functions, except helpers the stub itself defines with the same
    body (handed out on purpose; never one of the ``graded`` functions); and the
    bodies of the hidden checks (``test_*``/``check_*`` functions; helpers shared
    with the public checks are not secret). Folders of ``solutions`` named in
    ``shared`` (e.g. ``hidden`` for Gradescope's autograder) are no secret.
    """
    digests: dict[str, str] = {}
    secrets: dict[str, list[_Body]] = {}
    provided = {
        (b.name, b.dump)
        for rel in files
        if rel.suffix == ".py" and len(rel.parts) == 1
        for b in _bodies(_read_text(source / rel), "", top_level=True)
    }
    for rel in handout_files(solutions):
        if rel.parts[0] in shared:
            continue
        full = solutions / rel
        origin = f"{solutions.name}/{rel.as_posix()}"
        data = full.read_bytes()
        if data.strip():
            digests.setdefault(hashlib.sha256(data).hexdigest(), origin)
        if rel.suffix != ".py":
            continue
        module = len(rel.parts) == 1
        for body in _bodies(_read_text(full), origin, top_level=module):
            if module and body.name not in graded and (body.name, body.dump) in provided:
                continue
            if not module and not body.name.startswith(("test", "check")):
                continue
            secrets.setdefault(body.dump, []).append(body)
    leaks = []
    for rel in files:
        data = (source / rel).read_bytes()
        copied = digests.get(hashlib.sha256(data).hexdigest())
        if copied is not None:
            leaks.append(Leak(rel.as_posix(), f"is a copy of solutions/{copied}"))
            continue
        text = data.decode("utf-8", errors="replace")
        if rel.suffix == ".py":
            sources = [(text, "")]
        elif rel.suffix == ".ipynb":
            sources = list(_notebook_cells(text))
        else:
            continue
        for code, where in sources:
            for body in _bodies(code, ""):
                for match in secrets.get(body.dump, []):
                    if match.name == body.name or body.size >= MIN_ANONYMOUS_NODES:
                        leaks.append(
                            Leak(
                                rel.as_posix(),
                                (
                                    f"{where}function {body.name} has the body of {match.name} in "
                                    f"solutions/{match.origin}"
                                ),
                            )
                        )
                        break
    return leaks


def _read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def _bodies(code: str, origin: str, *, top_level: bool = False) -> Iterator[_Body]:
    """Every function in ``code`` with a non-trivial body (only module-level ones if ``top_level``)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return
    for node in tree.body if top_level else ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = without_docstring(node.body)
        if not body or all(_trivial(stmt) for stmt in body):
            continue
        module = ast.Module(body=body, type_ignores=[])
        yield _Body(node.name, ast.dump(module), sum(1 for _ in ast.walk(module)) - 1, origin)


def _trivial(stmt: ast.stmt) -> bool:
    """``pass``, ``...`` or ``raise NotImplementedError(...)``: what a stub body holds."""
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _notebook_cells(text: str) -> Iterator[tuple[str, str]]:
    """(source, "cell N: ") of each code cell, shell escapes and magics blanked out."""
    import nbformat

    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception:  # nbformat raises many kinds for bad JSON
        return
    for index, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        lines = [
            line[: len(line) - len(line.lstrip())] + "pass" if _MAGIC.match(line) else line
            for line in str(cell.get("source", "")).splitlines()
        ]
        yield "\n".join(lines), f"cell {index}: "
