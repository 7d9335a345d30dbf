"""Tuning the pruning schedules with equal effort, then comparing the picks on fresh seeds.

Each schedule gets a grid of its own settings of the same size (:data:`SCHEDULE_GRIDS`),
trained on the tuning seeds at one final sparsity. The setting with the best mean score is
each schedule's pick. Comparing the picks on the seeds they were picked on would flatter
them (the best of nine noisy means is biased upwards, the winner's curse), so the picks are
trained again on confirmation seeds that played no part in the choice, and only those runs
are compared: Welch's t-test for every pair of schedules, Bonferroni-corrected over the pairs.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np

from marl_prune.experiments.claims import ALPHA, compare
from marl_prune.experiments.grid import expand, run_name
from marl_prune.experiments.stats import ci95, detectable_difference
from marl_prune.learner.config import TrainConfig

METRIC = "eval/score_vs_reference"
SCHEDULE_GRIDS: dict[str, list[dict[str, Any]]] = {
    # the harmonic schedule's own knobs: amplitude A0 and period T0 (iterations)
    "harmonic": [{"harmonic_amplitude": a, "harmonic_period": t}
                 for a in (0.05, 0.1, 0.2) for t in (25.0, 50.0, 100.0)],
    # the monotone schedules' knobs: when pruning starts and how long the mask is held at the end
    "linear": [{"prune_warmup": w, "prune_end_lock": e} for w in (15, 30, 60) for e in (15, 30, 60)],
    "polynomial": [{"poly_power": p, "prune_end_lock": e} for p in (2.0, 3.0, 5.0) for e in (15, 30, 60)],
}
"""Nine settings per schedule; every other field keeps its default (warm-up and end-lock 30 of
300 iterations, power 3, A0 0.1, T0 100)."""
_SHORT = {"harmonic_amplitude": "A", "harmonic_period": "T", "prune_warmup": "w", "prune_end_lock": "e",
          "poly_power": "p"}
CONFIRMED = "best_"
"""Label prefix of a pick's runs on the confirmation seeds."""


def setting_label(schedule: str, setting: dict[str, Any]) -> str:
    """A setting's method label, e.g. ``harmonic_A0.05_T25``."""
    return "_".join([schedule] + [f"{_SHORT.get(k, k)}{v:g}" for k, v in setting.items()])


def _labelled(configs: list[TrainConfig], label: str) -> list[TrainConfig]:
    return [dataclasses.replace(c, label=label, run_name=run_name(c.scenario, label, c.final_sparsity, c.seed))
            for c in configs]


Grids = dict[str, list[dict[str, Any]]]
"""Schedule -> its settings (each a dict of TrainConfig fields); None: :data:`SCHEDULE_GRIDS`."""


def tuning_configs(scenarios: Sequence[str], sparsity: float, seeds: Sequence[int], runs_dir: str,
                   base: dict[str, Any], grids: Grids | None = None) -> list[TrainConfig]:
    """Every setting of every schedule's grid on every scenario and tuning seed."""
    grids = SCHEDULE_GRIDS if grids is None else grids
    sizes = {len(settings) for settings in grids.values()}
    if len(sizes) > 1:
        raise ValueError(f"the schedules' grids differ in size ({sorted(sizes)}): tuning effort must be equal")
    configs = []
    for schedule, settings in grids.items():
        for setting in settings:
            runs = expand(scenarios, [schedule], [sparsity], seeds, runs_dir, {**base, **setting})
            configs += _labelled(runs, setting_label(schedule, setting))
    return configs


def _scores(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    """Per (scenario, label): the per-seed scores."""
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        if METRIC in r:
            scores[(r["scenario"], r["method"])].append(float(r[METRIC]))
    return scores


def pick_best(records: Sequence[dict[str, Any]], grids: Grids | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (scenario, schedule): the setting whose tuning runs score best on average (the
    first in grid order on a tie)."""
    grids = SCHEDULE_GRIDS if grids is None else grids
    scores = _scores(records)
    picks = {}
    for scenario in sorted({s for s, _ in scores}):
        for schedule, settings in grids.items():
            tried = [s for s in settings if (scenario, setting_label(schedule, s)) in scores]
            if tried:
                picks[(scenario, schedule)] = max(
                    tried, key=lambda s: np.mean(scores[(scenario, setting_label(schedule, s))]))
    return picks


def confirmation_configs(picks: dict[tuple[str, str], dict[str, Any]], sparsity: float, seeds: Sequence[int],
                         runs_dir: str, base: dict[str, Any]) -> list[TrainConfig]:
    """Each pick on the confirmation seeds, labelled ``best_<setting>``."""
    configs = []
    for (scenario, schedule), setting in picks.items():
        runs = expand([scenario], [schedule], [sparsity], seeds, runs_dir, {**base, **setting})
        configs += _labelled(runs, CONFIRMED + setting_label(schedule, setting))
    return configs


def tuning_section(records: Sequence[dict[str, Any]], grids: Grids | None = None, alpha: float = ALPHA) -> str:
    """Markdown: every setting's tuning score with the picks marked, then the picks on the
    confirmation seeds, compared pairwise (Welch, Bonferroni over the pairs)."""
    grids = SCHEDULE_GRIDS if grids is None else grids
    tuning = [r for r in records if not r["method"].startswith(CONFIRMED)]
    confirmed = _scores([r for r in records if r["method"].startswith(CONFIRMED)])
    scores, picks = _scores(tuning), pick_best(tuning, grids)
    lines = [f"## Schedule tuning, equal effort ({len(next(iter(grids.values())))} settings per schedule)\n"]
    for scenario in sorted({s for s, _ in scores}):
        lines += [f"### {scenario}: the tuning runs\n", "| schedule | setting | seeds | score | 95% CI | pick |",
                  "|---|---|---|---|---|---|"]
        for schedule, settings in grids.items():
            for setting in settings:
                label = setting_label(schedule, setting)
                if (scenario, label) in scores:
                    v = scores[(scenario, label)]
                    mark = "**pick**" if picks.get((scenario, schedule)) == setting else ""
                    lines.append(f"| {schedule} | {label} | {len(v)} | {np.mean(v):.1%} | +- {ci95(v):.1%} | {mark} |")
        picked = {schedule: CONFIRMED + setting_label(schedule, s) for (sc, schedule), s in picks.items()
                  if sc == scenario and (scenario, CONFIRMED + setting_label(schedule, s)) in confirmed}
        if len(picked) < len(grids):
            lines.append("\nThe picks are trained on the confirmation seeds once every tuning run has finished.\n")
            continue
        lines += [f"\n### {scenario}: the picks on the confirmation seeds\n",
                  "| schedule | pick | seeds | score | 95% CI |", "|---|---|---|---|---|"]
        for schedule, label in picked.items():
            v = confirmed[(scenario, label)]
            lines.append(f"| {schedule} | {label} | {len(v)} | {np.mean(v):.1%} | +- {ci95(v):.1%} |")
        pairs = list(combinations(picked, 2))
        level = alpha / len(pairs)
        lines += [f"\n| pair | difference | p (Welch) | significant at {level:.3g} (Bonferroni over {len(pairs)}) | "
                  "detectable (80% power) |", "|---|---|---|---|---|"]
        for a, b in pairs:
            va, vb = confirmed[(scenario, picked[a])], confirmed[(scenario, picked[b])]
            p, verdict = compare(va, vb, level)
            significant = "yes" if verdict is not None else ("no" if p == p else "-")  # "-": too few seeds
            lines.append(f"| {a} - {b} | {np.mean(va) - np.mean(vb):+.1%} | {p:.3g} | {significant} | "
                         f"{detectable_difference(va, vb, level):.1%} |")
        lines.append("\n" + harmonic_verdict({s: confirmed[(scenario, label)] for s, label in picked.items()}, level)
                     + "\n")
    return "\n".join(lines)


def harmonic_verdict(confirmed: dict[str, list[float]], level: float) -> str:
    """Harmonic's pick against the best monotone pick on the confirmation seeds: better,
    comparable (not significantly different) or worse."""
    monotone = [s for s in confirmed if s != "harmonic"]
    if "harmonic" not in confirmed or not monotone:
        return "Harmonic against the monotone schedules: not run."
    best = max(monotone, key=lambda s: np.mean(confirmed[s]))
    h, m = confirmed["harmonic"], confirmed[best]
    p, beats = compare(h, m, level)
    word = {None: "comparable to", True: "better than", False: "worse than"}[beats]
    return (f"**Harmonic annealing, tuned, is {word} the best tuned monotone schedule ({best})**: "
            f"{np.mean(h):.1%} against {np.mean(m):.1%}, p = {p:.3g} at level {level:.3g}.")
