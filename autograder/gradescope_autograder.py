"""``grade gradescope``: the autograder zip Gradescope runs, and the grading its ``run_autograder`` does.

Gradescope unpacks the zip into ``/autograder/source``, runs ``setup.sh`` once
while it builds the image, then ``run_autograder`` for each submission, which
must leave ``/autograder/results/results.json``. The zip holds::

    setup.sh                         installs this grader's wheel and CPU PyTorch
    run_autograder                   python3 -m autograder.gradescope_autograder
    autograder-<version>-...whl      this grader, built from its sources (or --wheel)
    autograder.json                  the assignment's name and the seed of the hidden checks
    course/assignments/<name>/       the handout: assignment.toml, stub, public checks
    course/solutions/<name>/hidden/  the hidden checks (never the solution: leak-checked)

``$AUTOGRADER_GRADESCOPE_ROOT`` replaces ``/autograder`` (tests lay it out in a
temporary folder).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from .errors import AutograderError, ExitCode
from .paths import CourseDir
from .release import build_wheel, find_leaks, handout_files
from .spec import load_spec

ROOT_VARIABLE = "AUTOGRADER_GRADESCOPE_ROOT"
MANIFEST = "autograder.json"
#: Where setup.sh finds CPU builds of PyTorch; empty uses pip's own configuration.
TORCH_INDEX_VARIABLE = "AUTOGRADER_TORCH_INDEX"

_SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (Ubuntu):
# it installs this grader (the exact version it was built with) and the CPU build of PyTorch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ "$here" = /autograder/source ] && command -v apt-get >/dev/null; then
  # The strict sandbox, where the container allows it (the grader says which it used).
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-pip bubblewrap || true
fi
export PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1
torch_index="${{{torch_index_variable}-https://download.pytorch.org/whl/cpu}}"
python3 -m pip install ${{torch_index:+--index-url "$torch_index"}} "torch=={torch}"
python3 -m pip install "$here/{wheel}"
"""

_RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: it grades /autograder/submission/ with the
# public and hidden checks and writes /autograder/results/results.json.
exec python3 -m autograder.gradescope_autograder
"""


def build_autograder(
    course: CourseDir, name: str, out: Path, *, seed: int | None = None, wheel: Path | None = None
) -> Path:
    """Write Gradescope's autograder zip for assignment ``name`` to ``out`` and return it.

    Raises AutograderError, naming each leak, when the handout or the hidden
    checks hold solution code; nothing is written then.
    """
    if course.handout is not None:
        raise AutograderError("grade gradescope needs the course repository (with solutions/), not a handout")
    spec = load_spec(course.spec_file(name))
    source, solutions, hidden = course.assignment_dir(name), course.solution_dir(name), course.hidden_tests_dir(name)
    if not hidden.is_dir():
        raise AutograderError(f"no hidden checks for {name} ({hidden}): Gradescope would grade public checks only")
    files, hidden_files = handout_files(source), handout_files(hidden)
    leaks = find_leaks(source, files, solutions, spec.functions)
    leaks += find_leaks(hidden, hidden_files, solutions, spec.functions, shared=("hidden",))
    if leaks:
        listed = "\n".join(f"  {leak.path}: {leak.what}" for leak in leaks)
        raise AutograderError(f"refusing to build the autograder of {name}: it would hold solution code:\n{listed}")
    import torch  # the version Gradescope installs is the one the checks were written against

    torch_version = torch.__version__.split("+")[0]
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="autograder-gradescope-") as tmp:
        shipped = Path(shutil.copyfile(wheel, Path(tmp) / wheel.name)) if wheel else build_wheel(Path(tmp))
        manifest = {
            "assignment": spec.name,
            "seed": secrets.randbelow(2**31) if seed is None else seed,
            "wheel": shipped.name,
            "torch": torch_version,
        }
        entries: list[tuple[str, bytes, int]] = [
            ("setup.sh", _setup_script(torch_version, shipped.name).encode(), 0o755),
            ("run_autograder", _RUN.encode(), 0o755),
            (shipped.name, shipped.read_bytes(), 0o644),
            (MANIFEST, json.dumps(manifest, indent=2).encode(), 0o644),
        ]
        base = f"course/assignments/{spec.name}"
        entries += [(f"{base}/{rel.as_posix()}", (source / rel).read_bytes(), 0o644) for rel in files]
        base = f"course/solutions/{spec.name}/hidden"
        entries += [(f"{base}/{rel.as_posix()}", (hidden / rel).read_bytes(), 0o644) for rel in hidden_files]
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for arcname, data, mode in entries:
                info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        partial.replace(out)
    return out


def _setup_script(torch_version: str, wheel: str) -> str:
    return _SETUP.format(torch_index_variable=TORCH_INDEX_VARIABLE, torch=torch_version, wheel=wheel)


def gradescope_root() -> Path:
    """``$AUTOGRADER_GRADESCOPE_ROOT``, else Gradescope's ``/autograder``."""
    return Path(os.environ.get(ROOT_VARIABLE) or "/autograder")


def submitted_path(folder: Path) -> Path:
    """What the student uploaded: the file itself when it is one .py, .ipynb or .zip, else the folder."""
    entries = [p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_file() and not entries[0].is_symlink():
        if entries[0].suffix.lower() in (".py", ".ipynb", ".zip"):
            return entries[0]
    return folder


def run_autograder(root: Path) -> ExitCode:
    """Grade ``root/submission`` and write ``root/results/results.json`` in Gradescope's schema.

    A submission that can't be read scores zero with the reason as the
    output; a fault of the grader is written as such (never as the student's
    zero) and exits GRADER_ERROR, so Gradescope shows the run as failed.
    """
    from .grading import grade_path
    from .reporting.gradescope import to_gradescope

    start = time.monotonic()
    results = root / "results" / "results.json"
    manifest = json.loads((root / "source" / MANIFEST).read_text(encoding="utf-8"))
    course = CourseDir(root / "source" / "course")
    spec = load_spec(course.spec_file(manifest["assignment"]))
    try:
        result = grade_path(
            submitted_path(root / "submission"),
            spec,
            hidden=True,
            seed=int(manifest["seed"]),
            course=course,
            student="submission",
        )
    except AutograderError as exc:
        _write(results, _document(f"Your submission could not be graded: {exc}", start))
        return ExitCode.OK
    except Exception as exc:  # never the student's fault, never a silent zero
        detail = f"{type(exc).__name__}: {exc}"
        print(f"grader error: {detail}", file=sys.stderr)  # the autograder's log: instructors only
        # With hidden checks behind a pass/fail policy, what failed may quote them.
        shown = detail if spec.hidden_feedback == "full" else "the details are in the autograder's log"
        text = f"grader error, not your fault (your instructor can see it): {shown}"
        _write(results, _document(text, start, status="grader_error"))
        return ExitCode.GRADER_ERROR
    view = result.for_student(spec.hidden_feedback)
    document = to_gradescope(view)
    if not view.redacted:  # a student's view hides how long the hidden checks took
        document["execution_time"] = round(time.monotonic() - start, 3)
    _write(results, document)
    return ExitCode.OK if result.status == "ok" else ExitCode.GRADER_ERROR


def _document(output: str, start: float, *, status: str = "ok") -> dict[str, Any]:
    return {
        "score": 0.0,
        "execution_time": round(time.monotonic() - start, 3),
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": {"status": status},
    }


def _write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(int(run_autograder(gradescope_root())))
