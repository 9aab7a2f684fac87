"""Every path convention of a course repository, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import AssignmentNotFound

SPEC_FILE = "assignment.toml"


@dataclass(frozen=True)
class CourseDir:
    """A course repository (``assignments/``, ``solutions/``, ``reports/``) or a released handout.

    In a handout (a copy of one ``assignments/<name>/`` folder) ``handout`` is
    that folder and there are no solutions.
    """

    root: Path
    handout: Path | None = None

    @classmethod
    def discover(cls, start: Path | None = None) -> CourseDir:
        """Find the course root: ``$AUTOGRADER_ROOT``, else the nearest folder at or
        above ``start`` holding ``assignments/``, else a handout folder holding
        ``assignment.toml``, else ``start`` itself."""
        env = os.environ.get("AUTOGRADER_ROOT")
        if env:
            return cls(Path(env).resolve())
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "assignments").is_dir():
                return cls(folder)
        for folder in (here, *here.parents):
            if (folder / SPEC_FILE).is_file():
                return cls(folder.parent, handout=folder)
        return cls(here)

    def assignment_names(self) -> list[str]:
        if self.handout is not None:
            return [self.handout.name]
        folder = self.root / "assignments"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if (p / SPEC_FILE).is_file())

    def assignment_dir(self, name: str) -> Path:
        """The student-facing folder of ``name``; raises AssignmentNotFound."""
        if self.handout is not None and self.handout.name == name:
            return self.handout
        folder = self.root / "assignments" / name
        if not (folder / SPEC_FILE).is_file():
            known = ", ".join(self.assignment_names()) or "none"
            raise AssignmentNotFound(f"unknown assignment {name!r} under {self.root} (known: {known})")
        return folder

    def spec_file(self, name: str) -> Path:
        return self.assignment_dir(name) / SPEC_FILE

    def public_tests_dir(self, name: str) -> Path:
        return self.assignment_dir(name) / "tests"

    def solution_dir(self, name: str) -> Path:
        return self.root / "solutions" / name

    def hidden_tests_dir(self, name: str) -> Path:
        return self.solution_dir(name) / "hidden"

    def equivalent_mutants_file(self, name: str) -> Path:
        """Reviewed allow-list of mutants no check can tell from the solution (``grade verify``)."""
        return self.solution_dir(name) / "equivalent_mutants.toml"

    def handout_notebook(self, name: str, notebook: str | None = None) -> Path:
        """The handout notebook of ``name``: ``notebook`` from assignment.toml, else ``<name>.ipynb``."""
        return self.assignment_dir(name) / (notebook or f"{name}.ipynb")

    def has_hidden(self, name: str) -> bool:
        return self.hidden_tests_dir(name).is_dir()

    def reports_dir(self, name: str) -> Path:
        return self.root / "reports" / name
