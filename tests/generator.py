"""``benchmarks/generate_submissions.py`` as a module the tests share: a class of varied
student submissions (honest styles, mistakes, hostile files) written on demand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "generate_submissions.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_submissions", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


gen = _load()
