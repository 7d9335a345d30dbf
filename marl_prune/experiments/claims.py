"""The method paper's claims, checked on sweep records with Welch's t-test over seeds.

Each check compares per-seed evaluation scores (fraction of the centralised reference, v0: the
oracle; greedy or sampled, as the runs were evaluated) and returns
a verdict with the figures it rests on:

- harmonic annealing is comparable or better than the best monotone schedule (linear or
  polynomial) at high sparsity: it fails only when harmonic is significantly worse;
- sparse beats dense: the best pruned configuration is significantly better than dense IAGC
  (Bonferroni-corrected over the pruned configurations tried, since the best is picked);
- dense IAGC, and harmonic pruning at the first high sparsity, beat the MADRL baseline
  (IPPO-style local critics): significantly better;
- the same two beat the conventional baselines: the lower end of the 95% CI is above the
  best of them (a baseline is one number, evaluated on the same episodes).

Two more checks say whether the pruning methods can be told apart at all, at each high
sparsity (without that, the comparison ranks nothing):

- random pruning is below magnitude pruning: significantly below the lowest of the magnitude
  schedules;
- the schedules separate: the highest of them is significantly above the lowest (Bonferroni
  over the pairs, since the two extremes are picked).

And where the runs include them, the literature's methods against what they build on, at
each high sparsity:

- LAMP's layer allocation against global magnitude pruning on the same (linear) schedule;
- IMP with rewinding and COLT against the best gradual schedule (highest mean of linear,
  polynomial and harmonic): what several trainings buy over one.

Each holds if significantly above, does not hold if significantly below.

Where a t-test finds no significant difference, the figures also say how large a difference
the seeds could have detected (80% power, :func:`~marl_prune.experiments.stats.detectable_difference`),
so that "not distinguishable" says what it rules out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from marl_prune.experiments.stats import ci95, detectable_difference, welch_p
from marl_prune.pruning import SCHEDULES

ALPHA = 0.05


@dataclass(frozen=True)
class Verdict:
    """One claim on one scenario: ``holds`` is True, False, or None (not distinguishable)."""

    scenario: str
    claim: str
    holds: bool | None
    figures: str

    @property
    def label(self) -> str:
        return {True: "holds", False: "does not hold", None: "not distinguishable"}[self.holds]


def _groups(records: Sequence[dict[str, Any]], scenario: str, metric: str) -> dict[tuple[str, float], list[float]]:
    groups: dict[tuple[str, float], list[float]] = defaultdict(list)
    for r in records:
        if r["scenario"] == scenario and metric in r:
            groups[(r["method"], float(r["final_sparsity"]))].append(float(r[metric]))
    return groups


def _ci_low(values: Sequence[float]) -> float:
    return float(np.mean(values) - ci95(values))


def compare(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> tuple[float, bool | None]:
    """(p, verdict that a beats b): True if significantly higher, False if significantly lower."""
    p = welch_p(a, b)
    if not p < alpha:
        return p, None
    return p, bool(np.mean(a) > np.mean(b))


def _pct(values: Sequence[float]) -> str:
    """The mean of per-seed scores as a percentage, as every verdict's figures write it."""
    return f"{np.mean(values):.1%}"


def _p(p: float) -> str:
    """A p-value to two decimals, or below 0.01 in scientific notation (not as 0.00)."""
    return f"p={p:.2f}" if p >= 0.01 else f"p={p:.1e}"


def _significance(a: Sequence[float], b: Sequence[float], alpha: float = ALPHA) -> tuple[bool | None, str]:
    """:func:`compare`, and its figure: the p-value, and where it is not significant the
    smallest difference these seeds detect with 80% power."""
    p, beats = compare(a, b, alpha)
    if beats is not None:
        return beats, _p(p)
    return None, f"{_p(p)}; detectable: {detectable_difference(a, b, alpha):.1%} or more"


def check_claims(records: Sequence[dict[str, Any]], baselines: dict[str, dict[str, float]],
                 high: Sequence[float] = (0.9, 0.95), metric: str = "eval/score_vs_reference") -> list[Verdict]:
    """Verdicts per scenario in ``baselines`` (scenario -> conventional baseline -> fraction of oracle)."""
    verdicts = []
    for scenario, base in baselines.items():
        g = _groups(records, scenario, metric)
        dense = g.get(("dense", 0.0))
        if not dense:
            continue
        for s in high:
            harmonic = g.get(("harmonic", s))
            others = [(name, g[(name, s)]) for name in ("linear", "polynomial") if g.get((name, s))]
            if harmonic and others:
                name, best = max(others, key=lambda kv: np.mean(kv[1]))
                beats, test = _significance(harmonic, best)
                holds = True if beats is None else beats
                verdicts.append(Verdict(scenario, f"harmonic comparable or better at {s:g}", holds,
                                        f"harmonic {_pct(harmonic)} vs {name} {_pct(best)} ({test})"))
        pruned = {k: v for k, v in g.items() if k[0] in SCHEDULES}
        if pruned:
            (name, s), best = max(pruned.items(), key=lambda kv: np.mean(kv[1]))
            beats, test = _significance(best, dense, ALPHA / len(pruned))
            higher = sum(np.mean(v) > np.mean(dense) for v in pruned.values())
            verdicts.append(Verdict(scenario, "sparse beats dense", beats,
                                    f"best pruned {name}@{s:g} {_pct(best)} vs dense {_pct(dense)} ({test}; "
                                    f"Bonferroni threshold {ALPHA / len(pruned):.4f}); "
                                    f"{higher}/{len(pruned)} pruned means above dense"))
        # the paper's method against the baselines: dense IAGC, and harmonic at the first high sparsity
        subjects = [("dense IAGC", dense)]
        if high and g.get(("harmonic", high[0])):
            subjects.append((f"harmonic@{high[0]:g}", g[("harmonic", high[0])]))
        ippo = g.get(("ippo", 0.0))
        for name, values in subjects:
            if ippo:
                beats, test = _significance(values, ippo)
                verdicts.append(Verdict(scenario, f"{name} beats MADRL (IPPO)", beats,
                                        f"{name} {_pct(values)} vs IPPO {_pct(ippo)} ({test})"))
            if base:
                best, value = max(base.items(), key=lambda kv: kv[1])
                low = _ci_low(values)
                verdicts.append(Verdict(scenario, f"{name} beats conventional baselines",
                                        bool(low > value) if low == low else None,
                                        f"{name} {_pct(values)} (95% CI low {low:.1%}) vs best conventional "
                                        f"{best} {value:.1%}"))
        for s in high:
            magnitude = sorted(((name, g[(name, s)]) for name in SCHEDULES if g.get((name, s))),
                               key=lambda kv: np.mean(kv[1]))
            random = g.get(("random", s))
            if random and magnitude:
                name, lowest = magnitude[0]
                above, test = _significance(lowest, random)
                verdicts.append(Verdict(scenario, f"random pruning below magnitude at {s:g}", above,
                                        f"random {_pct(random)} vs the lowest magnitude schedule, "
                                        f"{name} {_pct(lowest)} ({test})"))
            if len(magnitude) >= 2:
                (low_name, lowest), (high_name, highest) = magnitude[0], magnitude[-1]
                pairs = len(magnitude) * (len(magnitude) - 1) // 2
                above, test = _significance(highest, lowest, ALPHA / pairs)
                verdicts.append(Verdict(scenario, f"schedules separate at {s:g}", above,
                                        f"highest {high_name} {_pct(highest)} vs lowest {low_name} {_pct(lowest)} "
                                        f"({test}; Bonferroni over {pairs} pairs)"))
            verdicts += _literature_methods(g, scenario, s)
    return verdicts


LITERATURE_METHODS = {"lamp": "LAMP", "imp": "IMP", "colt": "COLT"}


def _literature_methods(g: dict[tuple[str, float], list[float]], scenario: str, s: float) -> list[Verdict]:
    """LAMP against linear, IMP and COLT against the best gradual schedule, at sparsity ``s``."""
    gradual = [(name, g[(name, s)]) for name in SCHEDULES if g.get((name, s))]
    verdicts = []
    for method, label in LITERATURE_METHODS.items():
        values = g.get((method, s))
        if not values:
            continue
        if method == "lamp":
            if not g.get(("linear", s)):
                continue
            name, base, what = "linear", g[("linear", s)], "global magnitude (linear)"
        elif gradual:
            name, base = max(gradual, key=lambda kv: np.mean(kv[1]))
            what = "the best gradual schedule"
        else:
            continue
        above, test = _significance(values, base)
        verdicts.append(Verdict(scenario, f"{label} above {what} at {s:g}", above,
                                f"{method} {_pct(values)} vs {name} {_pct(base)} ({test})"))
    return verdicts


def against_dense_table(records: Sequence[dict[str, Any]], metric: str = "eval/score_vs_reference") -> str:
    """A Markdown table of every configuration against dense IAGC on its scenario: the
    difference of means, Welch's p, whether it is significant after Bonferroni over the
    scenario's configurations, and otherwise the smallest difference the seeds detect (80%
    power). Where pruning costs or pays, and how large an effect "no difference" rules out."""
    lines = ["| scenario | configuration | n | mean | dense | difference | p | significant (Bonferroni) |",
             "|---|---|---|---|---|---|---|---|"]
    for scenario in dict.fromkeys(r["scenario"] for r in records):
        g = _groups(records, scenario, metric)
        dense = g.pop(("dense", 0.0), None)
        if not dense:
            continue
        alpha = ALPHA / max(len(g), 1)
        for (method, sparsity), values in sorted(g.items()):
            p, differs = compare(values, dense, alpha)
            verdict = ("yes" if differs is not None
                       else f"no (detectable: {detectable_difference(values, dense, alpha):.1%})")
            lines.append(f"| {scenario} | {method}@{sparsity:g} | {len(values)} | {np.mean(values):.1%} | "
                         f"{np.mean(dense):.1%} | {np.mean(values) - np.mean(dense):+.1%} | {p:.2g} | {verdict} |")
    return "\n".join(lines) + "\n"


def claims_table(verdicts: Sequence[Verdict]) -> str:
    """A Markdown table: scenario, claim, verdict, figures."""
    lines = ["| scenario | claim | verdict | figures |", "|---|---|---|---|"]
    lines += [f"| {v.scenario} | {v.claim} | {v.label} | {v.figures} |" for v in verdicts]
    return "\n".join(lines) + "\n"
