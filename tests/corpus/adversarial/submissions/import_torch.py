"""Attack: get PyTorch (the reference) by every route: import, __import__, importlib,
getattr on builtins, with the import blocker removed from sys.meta_path, from the host's
site-packages added to sys.path, from torch's file path; also scipy, ctypes and _ctypes.

Expected at the bwrap level: every route fails (the packages are not in the sandbox);
``double`` fails (zeros), ``add`` passes.
"""

import builtins
import importlib
import importlib.util
import sys

import numpy as np

TARGETS: dict = {}  # host paths, filled in by tests/test_adversarial.py


def add(a, b):
    return np.add(a, b)


def _strip_blocker():
    sys.meta_path[:] = [f for f in sys.meta_path if "Blocker" not in type(f).__name__]
    for name in [n for n in sys.modules if n.startswith("torch")]:
        del sys.modules[name]
    return importlib.import_module("torch")


def _from_site_packages():
    sys.path.append(TARGETS.get("site_packages", "/nonexistent"))
    return importlib.import_module("torch")


def _from_file():
    spec = importlib.util.spec_from_file_location("torch", TARGETS.get("torch_init", "/x.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules["torch"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules["torch"]
        raise
    return module


def double(x):
    routes = {
        "import statement": lambda: exec("import torch") or sys.modules["torch"],
        "__import__": lambda: __import__("torch"),
        "importlib.import_module": lambda: importlib.import_module("torch"),
        "getattr(builtins)": lambda: getattr(builtins, "__imp" + "ort__")("tor" + "ch"),
        "ctypes": lambda: importlib.import_module("ctypes"),
        "_ctypes": lambda: importlib.import_module("_ctypes"),
        "scipy": lambda: importlib.import_module("scipy"),
        "blocker removed": _strip_blocker,
        "host site-packages": _from_site_packages,
        "file path": _from_file,
    }
    torch = None
    imported = []
    for name, route in routes.items():
        try:
            module = route()
        except BaseException as exc:
            print(f"{name}: {type(exc).__name__}")
            continue
        imported.append(name)
        if getattr(module, "__name__", "") == "torch":
            torch = module
    print(f"imported: {len(imported)} of {len(routes)} {imported}")
    if torch is not None:
        return torch.mul(torch.from_numpy(x), 2).numpy()
    return np.zeros_like(x)
