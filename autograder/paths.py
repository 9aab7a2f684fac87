"""Every path convention of a course repository, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import AssignmentNotFound, SpecError
from .spec import declared_name

SPEC_FILE = "assignment.toml"

#: Folder (inside a batch's output) of the cached results and the seed of the last run.
BATCH_CACHE_DIR = ".cache"


#: Names the course root (or a handout folder) when ``grade`` runs outside it.
ROOT_VARIABLE = "AUTOGRADER_ROOT"


@dataclass(frozen=True)
class CourseDir:
    """A course repository (``assignments/``, ``solutions/``, ``reports/``) or a released handout.

    A handout is one assignment's folder on its own, under any name and anywhere
    (``assignment3-jdoe/``): ``root`` and ``handout`` are that folder, its
    reports go inside it and there are no solutions.
    """

    root: Path
    handout: Path | None = None
    #: True when :meth:`discover` found neither a course nor a handout.
    found: bool = True

    @classmethod
    def discover(cls, start: Path | None = None) -> CourseDir:
        """The course or handout ``grade`` works in: ``$AUTOGRADER_ROOT`` if set, else the nearest
        folder at or above ``start`` (default: the working folder) that is a handout (holds
        assignment.toml, and is not inside a course's ``assignments/``) or a course (holds
        ``assignments/``)."""
        env = os.environ.get(ROOT_VARIABLE)
        if env:
            root = Path(env).resolve()
            if (root / SPEC_FILE).is_file() and not (root / "assignments").is_dir():
                return cls(root, handout=root)
            return cls(root)
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / SPEC_FILE).is_file() and folder.parent.name != "assignments":
                return cls(folder, handout=folder)
            if (folder / "assignments").is_dir():
                return cls(folder)
        return cls(here, found=False)

    def assignment_folders(self) -> dict[str, Path]:
        """Every assignment by the name students type (its assignment.toml's ``name``, else its
        folder's); an assignment.toml that can't be read is left out (see :meth:`broken_specs`)."""
        folders: dict[str, Path] = {}
        for folder in self._candidate_folders():
            try:
                folders.setdefault(declared_name(folder / SPEC_FILE), folder)
            except SpecError:
                continue
        return folders

    def broken_specs(self) -> list[SpecError]:
        """One error per assignment.toml of this course that can't be read."""
        errors = []
        for folder in self._candidate_folders():
            try:
                declared_name(folder / SPEC_FILE)
            except SpecError as exc:
                errors.append(exc)
        return errors

    def assignment_names(self) -> list[str]:
        return sorted(self.assignment_folders())

    def assignment_dir(self, name: str) -> Path:
        """The student-facing folder of ``name``; raises AssignmentNotFound saying where it looked."""
        if self.handout is not None:
            declared = declared_name(self.handout / SPEC_FILE)
            if name in (declared, self.handout.name):
                return self.handout
            raise AssignmentNotFound(
                f"this folder ({self.handout}) is the handout of {declared!r}, not {name!r}: "
                f"run `grade {declared}` (or just `grade`) here"
            )
        if not self.found:
            raise AssignmentNotFound(self.nothing_found())
        folder = self.root / "assignments" / name
        if (folder / SPEC_FILE).is_file():
            return folder
        folders = self.assignment_folders()
        if name in folders:
            return folders[name]
        known = ", ".join(sorted(folders)) or "none"
        chosen = f" (chosen by {ROOT_VARIABLE})" if os.environ.get(ROOT_VARIABLE) else ""
        raise AssignmentNotFound(f"unknown assignment {name!r} in {self.root}{chosen}; known: {known}")

    def nothing_found(self) -> str:
        """What to do when there is no assignment here."""
        return (
            f"no assignment found in {self.root} or above it: run grade inside a handout (a folder "
            f"holding {SPEC_FILE}) or a course repository (a folder holding assignments/), or set "
            f"{ROOT_VARIABLE} to one"
        )

    def current_assignment(self, start: Path | None = None) -> str | None:
        """The assignment a bare ``grade`` means: the handout's, or the one whose folder holds
        ``start`` (default: the working folder); None when that is ambiguous."""
        if self.handout is not None:
            return declared_name(self.handout / SPEC_FILE)
        here = (start or Path.cwd()).resolve()
        for name, folder in self.assignment_folders().items():
            if here == folder or folder in here.parents:
                return name
        return None

    def _candidate_folders(self) -> list[Path]:
        if self.handout is not None:
            return [self.handout]
        folder = self.root / "assignments"
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.iterdir() if (p / SPEC_FILE).is_file())

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
        """Where reports of ``name`` go: ``reports/<name>/`` of the course, or ``reports/`` inside a handout."""
        if self.handout is not None:
            return self.handout / "reports"
        return self.root / "reports" / name
