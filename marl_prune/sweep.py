"""Sweeps over scenarios x methods x final sparsities x seeds, and their aggregation.

Every run is ``train(config)`` (or a lottery run) in its own folder with a deterministic
name, so a sweep run again skips what finished and resumes what was interrupted. Runs go to
local processes by default, or to Ray Tune (``pip install -e ".[ray]"``), one trial a run.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from marl_prune.config import TrainConfig
from marl_prune.pruning.schedules import SCHEDULES

METHODS: dict[str, dict[str, Any]] = {
    "dense": {},  # IAGC: independent actors, global critic, no pruning
    "ippo": {"critic": "local"},  # MADRL baseline: local critics
    "linear": {"prune_schedule": "linear"},
    "polynomial": {"prune_schedule": "polynomial"},
    "harmonic": {"prune_schedule": "harmonic"},
    "random": {"prune_schedule": "linear", "prune_score": "random"},
    "lamp": {"prune_schedule": "linear", "prune_scope": "lamp"},
    "imp": {"prune_method": "imp"},
    "swamp": {"prune_method": "swamp"},
    "colt": {"prune_method": "colt"},
}
"""Sweep method names and the config fields they set. dense and ippo take no sparsity."""
DENSE_METHODS = ("dense", "ippo")


def expand(scenarios: Sequence[str], methods: Sequence[str], sparsities: Sequence[float], seeds: Sequence[int],
           runs_dir: str, base: dict[str, Any] | None = None) -> list[TrainConfig]:
    """One config per (scenario, method, sparsity, seed); dense methods once per scenario x seed."""
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}; choose from {sorted(METHODS)}")
    configs = []
    for scenario in scenarios:
        for method in methods:
            levels = [0.0] if method in DENSE_METHODS else list(sparsities)
            for s in levels:
                for seed in seeds:
                    fields = {**(base or {}), **METHODS[method], "scenario": scenario, "seed": seed,
                              "runs_dir": runs_dir, "progress": False, "run_name": run_name(scenario, method, s, seed)}
                    if method not in DENSE_METHODS:
                        fields["final_sparsity"] = s
                    configs.append(TrainConfig(**fields))
    return configs


def run_name(scenario: str, method: str, sparsity: float, seed: int) -> str:
    return f"{scenario}__{method}__sf{sparsity:g}__s{seed}"


def describe(config: TrainConfig) -> dict[str, Any]:
    """The sweep coordinates of a config, read back from its run name."""
    scenario, method, sparsity, seed = str(config.run_name).split("__")
    return {"scenario": scenario, "method": method, "final_sparsity": float(sparsity[2:]), "seed": int(seed[1:])}


def run_metrics(config: TrainConfig | dict) -> dict[str, Any]:
    """The metrics of one named run of any method: read when it finished, otherwise run or
    resumed (gradual runs through ``train_or_resume``, IMP/SWAMP/COLT through ``run_lottery``,
    which skips its finished sub-runs). Takes a dict too, for process pools."""
    from marl_prune.lottery_dsa import run_lottery
    from marl_prune.train import train_or_resume

    config = config if isinstance(config, TrainConfig) else TrainConfig(**config)
    done = Path(config.runs_dir) / str(config.run_name) / "metrics.json"
    if done.exists():
        return json.loads(done.read_text())
    if config.prune_method != "gradual":
        return run_lottery(config)
    return train_or_resume(config)


def run_one(config: TrainConfig | dict) -> dict[str, Any]:
    """Run (or read, or resume) one sweep run; returns its coordinates and metrics."""
    config = config if isinstance(config, TrainConfig) else TrainConfig(**config)
    metrics = run_metrics(config)
    done = Path(config.runs_dir) / str(config.run_name) / "metrics.json"
    scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    return {**describe(config), "run_dir": str(done.parent), **scalars}


def run_local(configs: Sequence[TrainConfig], workers: int = 2) -> list[dict[str, Any]]:
    """Run every config in ``workers`` processes (finished runs are only read)."""
    if workers <= 1:
        return [run_one(c) for c in configs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(run_one, [dataclasses.asdict(c) for c in configs]))


def run_ray(configs: Sequence[TrainConfig], address: str | None = None, cpus_per_trial: float = 1.0,
            gpus_per_trial: float = 0.0, storage: str | None = None) -> list[dict[str, Any]]:
    """Run every config as one Ray Tune trial (on ``address``, or a local Ray instance)."""
    try:
        import ray
        from ray import tune
    except ImportError as e:
        raise ImportError("the ray backend needs Ray Tune: pip install -e '.[ray]'") from e
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)

    def trainable(params: dict[str, Any]) -> dict[str, Any]:
        return run_one(params["config"])

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus_per_trial, "gpu": gpus_per_trial}),
        param_space={"config": tune.grid_search([dataclasses.asdict(c) for c in configs])},
        run_config=tune.RunConfig(storage_path=str(Path(storage or configs[0].runs_dir).resolve() / "_ray"),
                                  verbose=0),
    )
    results = tuner.fit()
    # the trials wrote the run folders; read them back in sweep order
    return [run_one(c) for c in configs] if not results.errors else _raise_errors(results.errors)


def _raise_errors(errors: list) -> list:
    raise RuntimeError(f"{len(errors)} Ray trial(s) failed; first: {errors[0]}")


def t_critical(n: int) -> float:
    """Two-sided 95% Student-t critical value for n samples (n - 1 degrees of freedom)."""
    from scipy.stats import t

    return float(t.ppf(0.975, n - 1)) if n > 1 else float("nan")


def ci95(values: Sequence[float]) -> float:
    """Half-width of the 95% Student-t confidence interval of the mean; NaN for one value."""
    v = np.asarray(values, dtype=float)
    return t_critical(len(v)) * v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else float("nan")


def aggregate(records: Sequence[dict[str, Any]], metric: str = "eval/utility_vs_oracle",
              keys: Sequence[str] = ("scenario", "method", "final_sparsity")) -> list[dict[str, Any]]:
    """Mean and 95% confidence interval (Student t over seeds) of ``metric`` per group."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for r in records:
        if metric in r:
            groups[tuple(r[k] for k in keys)].append(float(r[metric]))
    rows = []
    for key, values in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        rows.append({**dict(zip(keys, key)), "metric": metric, "n": len(values), "mean": float(np.mean(values)),
                     "ci95": float(ci95(values))})
    return rows


def write_tables(rows: Sequence[dict[str, Any]], out_dir: Path, name: str = "results") -> tuple[Path, Path]:
    """``name.csv`` and ``name.md`` with one row per group."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = out_dir / f"{name}.csv", out_dir / f"{name}.md"
    fields = list(rows[0]) if rows else []
    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| scenario | method | final sparsity | n | mean | 95% CI |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['scenario']} | {r['method']} | {r['final_sparsity']:g} | {r['n']} | {r['mean']:.3f} | "
              f"+- {r['ci95']:.3f} |" for r in rows]
    md_path.write_text("\n".join(lines) + "\n")
    return csv_path, md_path


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Backend and output options shared by scripts/sweep.py and scripts/reproduce_paper.py."""
    parser.add_argument("--backend", choices=["local", "ray"], default="local")
    parser.add_argument("--workers", type=int, default=2, help="local processes")
    parser.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
    parser.add_argument("--cpus-per-trial", type=float, default=1.0)
    parser.add_argument("--gpus-per-trial", type=float, default=0.0)
    parser.add_argument("--runs-dir", default="runs/sweep")
    parser.add_argument("--out", type=Path, default=Path("docs/results/sweep"))


def run_and_report(configs: Sequence[TrainConfig], args: argparse.Namespace, title: str, scenarios: Sequence[str],
                   sections: Callable[[list[dict], dict[str, dict[str, float]]], str] | None = None) -> list[dict]:
    """Run the configs on the chosen backend, then write tables, plots and a summary;
    ``sections(records, baselines)`` adds Markdown to the summary (baselines: scenario ->
    conventional baseline -> fraction of the oracle)."""
    from envs.dsa import baseline_policies, evaluate, make_config
    from marl_prune import plots
    from marl_prune.report import Report

    if args.backend == "ray":
        records = run_ray(configs, args.address, args.cpus_per_trial, args.gpus_per_trial)
    else:
        records = run_local(configs, args.workers)
    rows = aggregate(records)
    write_tables(rows, args.out)
    report = Report()
    baselines: dict[str, dict[str, float]] = {}
    report.emit(f"{len(records)} runs; greedy evaluation utility as a fraction of the oracle, "
                "mean +- 95% CI (Student t over seeds).\n")
    report.emit((args.out / "results.md").read_text())
    for scenario in scenarios:
        config = make_config(scenario)
        policies = baseline_policies(config)  # tunes ALOHA's p: once per scenario
        oracle = evaluate(policies.pop("oracle"), config, 64, seed=10_000).mean()
        base = {name: evaluate(p, config, 64, seed=10_000).mean() / oracle for name, p in policies.items()}
        baselines[scenario] = base
        plots.utility_vs_sparsity(rows, args.out / f"{scenario}_utility_vs_sparsity.png", scenario, base)
        plots.learning_curves(records, args.out / f"{scenario}_learning_curves.png", scenario=scenario)
        scheduled = [r for r in records if r["scenario"] == scenario and r["final_sparsity"] > 0
                     and r["method"] in SCHEDULES]
        if scheduled:  # each schedule at the highest sparsity up to 0.9, on the first seed
            level = max((r["final_sparsity"] for r in scheduled if r["final_sparsity"] <= 0.9),
                        default=min(r["final_sparsity"] for r in scheduled))
            seed = min(r["seed"] for r in scheduled)
            runs = {r["method"]: r["run_dir"] for r in scheduled if r["final_sparsity"] == level and r["seed"] == seed}
            plots.schedule_vs_realised(runs, args.out / f"{scenario}_schedule_vs_realised.png",
                                       f"{scenario}, final sparsity {level:g}, seed {seed}")
        report.emit(f"\n![{scenario}]({scenario}_utility_vs_sparsity.png)\n")
        report.emit(f"Conventional baselines on {scenario}: " +
                    ", ".join(f"{k} {v:.1%}" for k, v in base.items()))
    if sections is not None:
        report.emit("\n" + sections(records, baselines))
    report.save(args.out / "README.md", title)
    return records
