"""The README's quick start as a newcomer runs it: a fresh clone, a new virtual environment, two commands."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: Set in the nested run of step 2, so that it does not clone and install again.
NESTED = "AUTOGRADER_QUICKSTART_NESTED"


def quick_start_commands() -> list[str]:
    """The commands of the README's quick start, in order (comments left out)."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block, "the quick start has a bash block"
    return [line for line in block.group(1).splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_the_quick_start_is_two_commands_and_ci_runs_the_second_in_a_new_venv() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2, commands
    install_and_grade, install_and_test = commands
    assert install_and_grade.startswith("pip install") and "grade " in install_and_grade
    assert install_and_test.startswith("pip install") and "pytest" in install_and_test
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert install_and_test in ci, ".ci/run runs the README's test command exactly"
    venv = next(i for i, line in enumerate(ci) if re.search(r"python3? -m venv ", line))
    activate = next(i for i, line in enumerate(ci) if "/bin/activate" in line)
    assert venv < activate < ci.index(install_and_test), "a new venv is made and used before the tests"


def newcomer_env(venv: Path) -> dict[str, str]:
    """This process's environment as a new shell with ``venv`` activated would have it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "PYTEST_", "PYTHON"))}
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get(NESTED)), reason="this is the nested run of step 2")
def test_a_fresh_clone_passes_both_quick_start_commands_in_a_new_venv(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("needs git and a git checkout of the project")
    clone = tmp_path / "clone"
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True, timeout=300)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", head.stdout.strip()], check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = newcomer_env(venv)
    env["PIP_COMPILE"] = "0"  # pip byte-compiles every file it installs; no test reads .pyc files
    install_and_grade, install_and_test = quick_start_commands()

    step1 = subprocess.run(
        ["bash", "-c", install_and_grade], cwd=clone, env=env, capture_output=True, text=True, timeout=1800
    )
    assert step1.returncode == 0, step1.stdout[-3000:] + step1.stderr[-3000:]
    assert re.search(r"^TOTAL 110/100 \(including 10 extra credit\)$", step1.stdout, re.M), step1.stdout[-2000:]
    report = clone / "reports" / "assignment3" / "assignment3.html"
    assert report.is_file() and "110 / 100" in report.read_text(encoding="utf-8")

    # Step 2 exactly as written; the nested pytest runs a few files of the suite, not the whole
    # suite again (CI runs the whole suite this same way, in a new venv of its own).
    env[NESTED] = "1"
    env["PYTEST_ADDOPTS"] = "-q -p no:cacheprovider tests/test_spec.py tests/test_quickstart.py"
    step2 = subprocess.run(
        ["bash", "-c", install_and_test], cwd=clone, env=env, capture_output=True, text=True, timeout=1800
    )
    assert step2.returncode == 0, step2.stdout[-3000:] + step2.stderr[-3000:]
    assert re.search(r"^\d+ passed, 1 skipped", step2.stdout, re.M), step2.stdout[-2000:]
