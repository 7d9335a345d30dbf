"""Reports: Markdown that prints as it is made and is saved with the command that made it,
result tables (CSV and Markdown), the baselines every learned result is compared with, and
:func:`run_and_report`, which runs a grid and writes all of it."""

from __future__ import annotations

import csv
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envs.dsa import evaluate
from envs.dsa.references import conventional_policies, score_metric
from marl_prune.experiments import plots
from marl_prune.experiments.backends import Backend, SweepIncomplete
from marl_prune.experiments.records import scalar_series
from marl_prune.experiments.stats import SIDE_METRICS, aggregate, natural_key
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.evaluation import reference_result
from marl_prune.pruning import SCHEDULES


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


def relative_means(rows: Sequence[dict[str, Any]], reference: str) -> list[float]:
    """Each row's mean as a fraction of the ``reference`` method's mean on its scenario (NaN
    where the scenario has no such row)."""
    ref = {r["scenario"]: r["mean"] for r in rows if r["method"] == reference}
    return [r["mean"] / ref[r["scenario"]] if r["scenario"] in ref else float("nan") for r in rows]


def write_tables(rows: Sequence[dict[str, Any]], out_dir: Path, name: str = "results",
                 relative_to: str | None = None) -> tuple[Path, Path]:
    """``name.csv`` and ``name.md`` with one row per group; with ``relative_to``, a column of
    each mean as a fraction of that method's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [dict(r) for r in rows]
    if relative_to:
        for r, value in zip(rows, relative_means(rows, relative_to)):
            r[f"of_{relative_to}"] = value
    csv_path, md_path = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
    side = [m for m in SIDE_METRICS if any(r.get(m) == r.get(m) for r in rows)]  # those the runs have
    extra = "".join(f" {m.replace('_', ' ')} |" for m in side) + (f" {relative_to} = 100% |" if relative_to else "")
    lines = ["| scenario | method | final sparsity | n | mean | 95% CI | actual sparsity | training runs |" + extra,
             "|---|---|---|---|---|---|---|---|" + "---|" * (len(side) + bool(relative_to))]
    for r in rows:
        line = (f"| {r['scenario']} | {r['method']} | {r['final_sparsity']:g} | {r['n']} | {r['mean']:.3f} | "
                f"+- {r['ci95']:.3f} | {r['actual_sparsity']:.3f} | {r['training_runs']} |")
        line += "".join(f" {r[m]:.3f} |" for m in side)
        lines.append(line + (f" {r[f'of_{relative_to}']:.1%} |" if relative_to else ""))
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def baseline_fractions(config: TrainConfig) -> dict[str, float]:
    """The conventional baselines' score as a fraction of the centralised reference's, on
    ``config``'s own environment, evaluation episodes and evaluation seed (their parameters
    tuned on seed 0): v0's random access, ALOHA and stay-on-success; v1's non-adaptive
    schedules and decentralised rules."""
    env = config.env_config()
    metric = score_metric(env)
    reference = reference_result(config).mean(metric)
    return {name: evaluate(p, env, config.eval_episodes, seed=config.eval_seed).mean(metric) / reference
            for name, p in conventional_policies(env).items()}


def _evaluation_setups(configs: Sequence[TrainConfig]) -> dict[str, TrainConfig]:
    """One config per scenario whose environment, evaluation episodes and evaluation policy
    (greedy or sampled) every run of that scenario shares (a report compares them with one set
    of baselines)."""
    setups: dict[str, TrainConfig] = {}
    for config in configs:
        first = setups.setdefault(config.scenario, config)
        if (config.env_config(), config.eval_episodes, config.eval_seed, config.eval_greedy) != (
                first.env_config(), first.eval_episodes, first.eval_seed, first.eval_greedy):
            raise ValueError(f"the {config.scenario} runs {first.run_name} and {config.run_name} are evaluated on "
                             "different environments, episodes or policies (greedy / sampled); report them "
                             "separately")
    return setups


def run_and_report(configs: Sequence[TrainConfig], backend: Backend, out: Path, title: str,
                   relative_to: str | None = None,
                   sections: Callable[[list[dict], dict[str, dict[str, float]]], str] | None = None) -> list[dict]:
    """Run the configs (with ``backend.report_only``, read those that finished), then write
    tables, plots and a README to ``out``; ``sections(records, baselines)`` adds Markdown to the
    README (baselines: scenario -> conventional baseline -> fraction of the oracle). Runs that
    did not finish are named in the README, then raised as :class:`SweepIncomplete`, except
    with ``report_only``, where they are expected."""
    setups = _evaluation_setups(configs)
    try:
        records = backend.run(configs)
        incomplete = None
    except SweepIncomplete as e:  # report what finished, name what did not, then fail
        records, incomplete = e.records, e
    if not records:
        raise incomplete or ValueError("the sweep has no runs")
    rows = aggregate(records)
    write_tables(rows, out, relative_to=relative_to)
    report = Report()
    if incomplete is not None:
        report.emit(f"**Incomplete:** {len(incomplete.problems)} of {len(configs)} runs did not finish, and the "
                    "tables leave them out:\n\n" + "\n".join(f"- {p}" for p in incomplete.problems) + "\n")
    report.emit(f"{len(records)} runs; evaluation score (the utility; on v1 `fair` the geometric mean throughput) "
                "as a fraction of the centralised reference's (v0: the genie oracle), mean +- 95% CI (Student t "
                "over seeds); the side columns are the means of the runs' own evaluation.\n")
    common = {k: v for k, v in configs[0].changed().items() if all(c.changed().get(k) == v for c in configs)
              and k not in ("scenario", "seed", "label", "run_name", "runs_dir", "progress")}
    if common:
        report.emit("Settings of every run that differ from the defaults: "
                    + ", ".join(f"`{k}={v!r}`" for k, v in sorted(common.items())) + ".\n")
    report.emit((out / "results.md").read_text())
    baselines: dict[str, dict[str, float]] = {}
    drawing = plots.can_draw()
    if not drawing:
        report.emit("Plots skipped: matplotlib is not installed (pip install -e '.[plot]').\n")
    for scenario, setup in setups.items():
        base = baselines[scenario] = baseline_fractions(setup)
        report.emit(f"Conventional baselines on {scenario}: " + ", ".join(f"{k} {v:.1%}" for k, v in base.items()))
        if drawing:
            report.emit(f"\n![{scenario}]({scenario}_utility_vs_sparsity.png)\n")
            _plots(records, rows, scenario, base, out, "greedy" if setup.eval_greedy else "sampled",
                   same_scale=score_metric(setup.env_config()) == "utility")
        report.emit(phase_table(records, scenario))
    if sections is not None:
        report.emit("\n" + sections(records, baselines))
    report.save(out / "README.md", title)
    if incomplete is not None and backend.report_only:
        print(f"report only: {len(records)} of {len(configs)} runs have finished; {out / 'README.md'} lists the "
              "others", file=sys.stderr)
    elif incomplete is not None:
        raise incomplete
    return records


PHASES = ((0.3, 0.4), (0.5, 0.6), (0.7, 0.8), (0.8, 0.9), (0.9, 1.0))
"""Phases of training, as fractions of a run's iterations, for :func:`phase_table`."""


def phase_table(records: Sequence[dict[str, Any]], scenario: str, tag: str = "charts/utility_vs_oracle") -> str:
    """Markdown: per configuration of ``scenario``, the training curve ``tag`` averaged over
    each phase of :data:`PHASES` and over seeds, with the target sparsity where each phase
    ends. Shows where a pruned team loses what it loses: a schedule that removes its last
    weights after the learning rate has annealed leaves the team no time to recover."""
    groups: dict[tuple[str, float], list[tuple[list[float], list[float]]]] = {}
    for r in records:
        if r["scenario"] != scenario:
            continue
        series = scalar_series(r["run_dir"], [tag, "sparsity/target"])
        curve, target = series[tag][1], series["sparsity/target"][1]
        n = len(curve)
        if n < 2 * len(PHASES):
            continue
        spans = [(int(a * n), int(b * n)) for a, b in PHASES]
        groups.setdefault((r["method"], float(r["final_sparsity"])), []).append((
            [float(curve[i:j].mean()) for i, j in spans],
            [float(target[j - 1]) if len(target) == n else 0.0 for _, j in spans]))
    if not groups:
        return ""
    head = " | ".join(f"{a:.0%}-{b:.0%}" for a, b in PHASES)
    lines = [f"Training curve `{tag}` by phase of training (mean over seeds; in brackets the target sparsity "
             "where the phase ends; the learning rate anneals linearly to 0 by default):\n",
             f"| configuration | seeds | {head} |", "|---|---|" + "---|" * len(PHASES)]
    for (method, sparsity), runs in sorted(groups.items(), key=lambda kv: (natural_key(kv[0][0]), kv[0][1])):
        values, targets = np.mean([v for v, _ in runs], 0), np.mean([t for _, t in runs], 0)
        cells = " | ".join(f"{v:.3f} ({t:.2f})" for v, t in zip(values, targets))
        lines.append(f"| {method}{f'@{sparsity:g}' if sparsity else ''} | {len(runs)} | {cells} |")
    return "\n".join(lines) + "\n"


def _plots(records: list[dict], rows: list[dict], scenario: str, base: dict[str, float], out: Path,
           policy: str, same_scale: bool) -> None:
    """Utility vs sparsity, learning curves, and the schedules' target vs realised sparsity;
    ``policy``: how the teams acted in evaluation, "greedy" or "sampled"; ``same_scale``: the
    baselines' score is the training curve's (utility as a fraction of the reference's), so
    they are drawn on the learning curves too."""
    plots.utility_vs_sparsity(rows, out / f"{scenario}_utility_vs_sparsity.png", scenario, base, policy)
    plots.learning_curves(records, out / f"{scenario}_learning_curves.png", scenario=scenario,
                          baselines=base if same_scale else None)
    scheduled = [r for r in records if r["scenario"] == scenario and r["final_sparsity"] > 0
                 and r["method"] in SCHEDULES]
    if scheduled:  # each schedule at the highest sparsity up to 0.9, on the first seed
        level = max((r["final_sparsity"] for r in scheduled if r["final_sparsity"] <= 0.9),
                    default=min(r["final_sparsity"] for r in scheduled))
        seed = min(r["seed"] for r in scheduled)
        runs = {r["method"]: r["run_dir"] for r in scheduled if r["final_sparsity"] == level and r["seed"] == seed}
        plots.schedule_vs_realised(runs, out / f"{scenario}_schedule_vs_realised.png",
                                   f"{scenario}, final sparsity {level:g}, seed {seed}")
