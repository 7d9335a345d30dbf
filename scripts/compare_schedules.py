"""Compare sparsity schedules against the dense run with the same budget, over seeds.

    python scripts/compare_schedules.py --scenario basic --iterations 150 \\
        --sparsities 0.5 0.75 0.9 0.95 --seeds 1 2 3 --out docs/results/schedules_basic.md

Every (schedule, sparsity, seed) is one `train(config)` run in its own folder under
--runs-dir; finished runs (with metrics.json) are skipped, so an interrupted comparison
resumes. Prints and writes a Markdown table: greedy evaluation utility (mean +- std over
seeds), as a fraction of the oracle and of the dense run.
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from marl_prune.report import Report
from marl_prune.sweep import run_metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="basic")
    parser.add_argument("--iterations", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=None, help="prune_warmup (default: 10%% of iterations)")
    parser.add_argument("--end-lock", type=int, default=None, help="prune_end_lock (default: 10%%)")
    parser.add_argument("--schedules", nargs="+", default=["linear", "polynomial", "harmonic"])
    parser.add_argument("--sparsities", nargs="+", type=float, default=[0.5, 0.75, 0.9, 0.95])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--mode", default="reference", choices=["reference", "strict"])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs-dir", default="runs/compare_schedules")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    args = parser.parse_args()

    warmup = args.warmup if args.warmup is not None else args.iterations // 10
    end_lock = args.end_lock if args.end_lock is not None else args.iterations // 10
    base = dict(scenario=args.scenario, iterations=args.iterations, runs_dir=args.runs_dir,
                progress=False, eval_every=0, eval_episodes=64)
    jobs = {}
    for seed in args.seeds:
        jobs[("dense", 0.0, seed)] = dict(base, seed=seed, run_name=f"{args.scenario}_dense_s{seed}")
        for schedule in args.schedules:
            for s in args.sparsities:
                jobs[(schedule, s, seed)] = dict(
                    base, seed=seed, prune_schedule=schedule, final_sparsity=s, prune_mode=args.mode,
                    prune_warmup=warmup, prune_end_lock=end_lock,
                    run_name=f"{args.scenario}_{schedule}_{args.mode}_sf{s}_s{seed}",
                )
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(zip(jobs, pool.map(run_metrics, jobs.values())))

    def utilities(schedule, s):
        return np.array([results[(schedule, s, seed)]["eval/utility"] for seed in args.seeds])

    oracle = np.mean([r["eval/oracle_utility"] for r in results.values()])
    dense = utilities("dense", 0.0)
    lines = [
        f"Scenario `{args.scenario}`, {args.iterations} iterations, seeds {args.seeds}, "
        f"{args.mode} mode, warm-up {warmup}, end-lock {end_lock}; greedy evaluation over 64 episodes. "
        f"Oracle utility {oracle:.3f}; dense {dense.mean():.3f} +- {dense.std():.3f} "
        f"({dense.mean() / oracle:.1%} of the oracle).",
        "",
        "| schedule | " + " | ".join(f"s_f = {s}" for s in args.sparsities) + " |",
        "|---|" + "---|" * len(args.sparsities),
    ]
    for schedule in args.schedules:
        cells = []
        for s in args.sparsities:
            u = utilities(schedule, s)
            cells.append(f"{u.mean():.3f} +- {u.std():.3f} ({u.mean() / dense.mean():.0%} of dense)")
        lines.append(f"| {schedule} | " + " | ".join(cells) + " |")
    report = Report()
    for line in lines:
        report.emit(line)
    report.save(args.out, f"Schedules vs dense on `{args.scenario}`")


if __name__ == "__main__":
    main()
