"""The actor-width sweep: where dense IAGC stops improving with width (its capacity limit).

A width "stops improving" the team when no wider width tried scores significantly higher
(Welch's t-test over seeds, alpha 0.05); narrower widths that score significantly below the
best are capacity-limited. Pruning methods separate, if anywhere, near that limit.
"""

from __future__ import annotations

import importlib.util
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from marl_prune.experiments import plots
from marl_prune.experiments.claims import ALPHA
from marl_prune.experiments.stats import ci95, welch_p

METRIC = "eval/score_vs_reference"


def width_of(record: dict[str, Any]) -> int:
    """The actor width a run trained with, read from its config.json."""
    return int(json.loads((Path(record["run_dir"]) / "config.json").read_text())["hidden_size"])


def scores_by_width(records: Sequence[dict[str, Any]], scenario: str) -> dict[int, list[float]]:
    """Per-seed scores of ``scenario``'s runs, by width (ascending)."""
    groups: dict[int, list[float]] = defaultdict(list)
    for r in records:
        if r["scenario"] == scenario and METRIC in r:
            groups[width_of(r)].append(float(r[METRIC]))
    return dict(sorted(groups.items()))


def saturation_width(scores: dict[int, list[float]], alpha: float = ALPHA) -> int | None:
    """The smallest width that no wider width beats significantly (None without widths)."""
    for width, values in scores.items():
        wider = [v for w, v in scores.items() if w > width]
        if not any(welch_p(v, values) < alpha and np.mean(v) > np.mean(values) for v in wider):
            return width
    return None


def width_section(records: Sequence[dict[str, Any]], baselines: dict[str, dict[str, float]], out: Path) -> str:
    """Markdown: score per width and scenario, the saturation width, and a plot per scenario."""
    lines = ["## Score against actor width (dense IAGC)\n"]
    for scenario in sorted({r["scenario"] for r in records}):
        scores = scores_by_width(records, scenario)
        if not scores:
            continue
        saturated = saturation_width(scores)
        best = max(scores, key=lambda w: np.mean(scores[w]))
        lines += [f"### {scenario}\n", "| width | seeds | score | 95% CI | p vs best width |", "|---|---|---|---|---|"]
        for width, values in scores.items():
            p = "-" if width == best else f"{welch_p(values, scores[best]):.3f}"
            lines.append(f"| {width} | {len(values)} | {np.mean(values):.1%} | +- {ci95(values):.1%} | {p} |")
        below = [w for w, v in scores.items() if w != best and welch_p(v, scores[best]) < ALPHA
                 and np.mean(v) < np.mean(scores[best])]
        lines.append(f"\nSmallest width that no wider one beats significantly: **{saturated}**; significantly "
                     f"below the best width ({best}): {', '.join(map(str, below)) or 'none'}.\n")
        if importlib.util.find_spec("matplotlib") is not None:
            plots.score_vs_width(scores, out / f"{scenario}_score_vs_width.png", scenario, baselines.get(scenario))
            lines.append(f"![{scenario} width]({scenario}_score_vs_width.png)\n")
    return "\n".join(lines)
