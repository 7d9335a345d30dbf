"""The actor-width sweep: where dense IAGC stops improving with width (its capacity limit).

A width "stops improving" the team when no wider width tried scores significantly higher
(Welch's t-test over seeds, alpha 0.05); narrower widths that score significantly below the
best are capacity-limited. Pruning methods separate, if anywhere, near that limit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from marl_prune.experiments import plots
from marl_prune.experiments.claims import ALPHA, compare
from marl_prune.experiments.stats import ci95
from marl_prune.learner.config import load_run_config

METRIC = "eval/score_vs_reference"


def width_of(record: dict[str, Any]) -> int:
    """The actor width a run trained with, read from its config.json."""
    return load_run_config(record["run_dir"]).hidden_size


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
        if not any(compare(v, values, alpha)[1] for w, v in scores.items() if w > width):
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
        against_best = {w: compare(v, scores[best]) for w, v in scores.items() if w != best}  # (p, verdict)
        for width, values in scores.items():
            p = f"{against_best[width][0]:.3f}" if width in against_best else "-"
            lines.append(f"| {width} | {len(values)} | {np.mean(values):.1%} | +- {ci95(values):.1%} | {p} |")
        below = [w for w, (_, beats) in against_best.items() if beats is False]
        lines.append(f"\nSmallest width that no wider one beats significantly: **{saturated}**; significantly "
                     f"below the best width ({best}): {', '.join(map(str, below)) or 'none'}.\n")
        if plots.can_draw():
            plots.score_vs_width(scores, out / f"{scenario}_score_vs_width.png", scenario, baselines.get(scenario))
            lines.append(f"![{scenario} width]({scenario}_score_vs_width.png)\n")
    return "\n".join(lines)
