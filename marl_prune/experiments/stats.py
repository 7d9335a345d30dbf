"""Statistics over seeds: Student-t confidence intervals, Welch's t-test, and the aggregation
of run records into one row per group."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def t_critical(n: int) -> float:
    """Two-sided 95% Student-t critical value for n samples (n - 1 degrees of freedom)."""
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1)) if n > 1 else float("nan")


def ci95(values: Sequence[float]) -> float:
    """Half-width of the 95% Student-t confidence interval of the mean; NaN for one value."""
    v = np.asarray(values, dtype=float)
    return t_critical(len(v)) * v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan")


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test; with no spread in either group, 1 if the means
    agree and 0 if not; NaN with fewer than two values in a group."""
    from scipy.stats import ttest_ind

    x, y = np.asarray(a, float), np.asarray(b, float)
    if len(x) < 2 or len(y) < 2:
        return float("nan")
    if x.std() == 0 and y.std() == 0:
        return 1.0 if x.mean() == y.mean() else 0.0
    return float(ttest_ind(x, y, equal_var=False).pvalue)


def detectable_difference(a: Sequence[float], b: Sequence[float], alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest difference of means that a two-sided Welch t-test at level ``alpha``, on
    groups of the sizes and spreads of ``a`` and ``b``, detects with probability ``power``:
    ``(t(1 - alpha/2, df) + t(power, df)) * sqrt(s_a^2 / n_a + s_b^2 / n_b)``, df by
    Welch-Satterthwaite. What "not distinguishable" can rule out; NaN with fewer than two
    values in a group, 0 with no spread in either."""
    from scipy.stats import t

    x, y = np.asarray(a, float), np.asarray(b, float)
    if len(x) < 2 or len(y) < 2:
        return float("nan")
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    if va + vb == 0:
        return 0.0
    df = (va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(y) - 1))
    return float((t.ppf(1 - alpha / 2, df) + t.ppf(power, df)) * math.sqrt(va + vb))


def mean_std(values: Iterable[float], percent: bool = False, spec: str = ".3f") -> str:
    """``mean +- std`` (population std over seeds), as a percentage with ``percent``, else
    with the format ``spec`` (e.g. ".2e" for small errors)."""
    v = np.asarray(list(values), dtype=float)
    return f"{v.mean():.1%} +- {v.std():.1%}" if percent else f"{v.mean():{spec}} +- {v.std():{spec}}"


GROUP_KEYS = ("scenario", "method", "final_sparsity")


def natural_key(value: Any) -> tuple:
    """A sort key that orders the numbers inside names by value: ``dense_h8`` before
    ``dense_h16`` before ``dense_h128`` (text and digit runs alternate, so parts compare alike)."""
    if not isinstance(value, str):
        return (value,)
    return tuple(int(part) if i % 2 else part for i, part in enumerate(re.split(r"(\d+)", value)))


def aggregate(records: Sequence[dict[str, Any]], metric: str = "eval/score_vs_reference",
              keys: Sequence[str] = GROUP_KEYS) -> list[dict[str, Any]]:
    """Per group of ``keys``: the mean and 95% confidence interval (Student t over seeds) of
    ``metric``, with the mean realised sparsity and number of training runs of the group."""
    groups: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if metric in r:
            groups[tuple(r[k] for k in keys)].append(r)
    rows = []
    for key, members in sorted(groups.items(), key=lambda kv: tuple(natural_key(x) for x in kv[0])):
        values = [float(r[metric]) for r in members]
        rows.append({**dict(zip(keys, key)), "metric": metric, "n": len(values), "mean": float(np.mean(values)),
                     "ci95": float(ci95(values)),
                     "actual_sparsity": float(np.mean([r.get("sparsity/actual", 0.0) for r in members])),
                     "training_runs": int(max(r.get("training_runs", 1) for r in members)),
                     **{name: _mean_of(members, f"eval/{name}") for name in SIDE_METRICS}})
    return rows


SIDE_METRICS = ("fairness", "drop_rate", "delay")
"""Reported beside the score, where the runs have them (a team that starves users shows)."""


def _mean_of(members: Sequence[dict[str, Any]], key: str) -> float:
    values = [float(r[key]) for r in members if key in r and r[key] == r[key]]
    return float(np.mean(values)) if values else float("nan")
