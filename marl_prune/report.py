"""Result tables that print as they are made and are saved with the command that made them."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

import numpy as np


class Report:
    """Lines of Markdown, printed at once and written by :meth:`save` under a title, with
    the exact command line of this process (so every figure can be regenerated)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def save(self, path: Path | None, title: str) -> None:
        if path is None:
            return
        script = Path(sys.argv[0]).resolve()
        if script.is_relative_to(Path.cwd()):  # as run from the repository root
            script = script.relative_to(Path.cwd())
        command = "python " + " ".join(shlex.quote(str(a)) for a in [script, *sys.argv[1:]])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {title}\n\nMade by:\n\n    {command}\n\n" + "\n".join(self.lines) + "\n")


def mean_std(values: Iterable[float], percent: bool = False, spec: str = ".3f") -> str:
    """``mean +- std`` (population std over seeds), as a percentage with ``percent``, else
    with the format ``spec`` (e.g. ".2e" for small errors)."""
    v = np.asarray(list(values), dtype=float)
    return f"{v.mean():.1%} +- {v.std():.1%}" if percent else f"{v.mean():{spec}} +- {v.std():{spec}}"
