"""Load a script of ``scripts/`` as a module, so that a test can call its ``main()`` (or
patch what it calls) in the test's own process."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SCRIPTS_DIR = Path(__file__).resolve().parents[1] / "scripts"


def load_script(name: str) -> ModuleType:
    """A fresh module of ``scripts/<name>`` (e.g. ``"sweep.py"``)."""
    path = SCRIPTS_DIR / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None, f"no script {path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
