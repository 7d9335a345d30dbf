"""Evaluate DSA policies against the conventional baselines and the genie oracle.

    python scripts/evaluate_dsa.py --scenario all            # baselines on every preset
    python scripts/evaluate_dsa.py RUN_DIR                   # a trained run vs the baselines

Use it to put a finished run beside the conventional baselines and the oracle on the same
episodes, or to tabulate the baselines alone; to compare many runs use scripts/sweep.py. Prints,
per scenario, each policy's utility (team reward per slot, mean +- 95% CI over episodes), its
fraction of the oracle's utility, success, collision and fairness.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from envs.dsa import PRESETS, baseline_policies, evaluate, make_config
from envs.dsa.fields import non_negative_int, positive_int
from marl_prune.experiments.report import Report
from marl_prune.learner.evaluation import ActorPolicy
from marl_prune.learner.runs import load_trained_actors


def evaluation_table(policies: dict, config, episodes: int, seed: int) -> list[dict]:
    """One row per policy; every policy sees the same channel realisation (same seed)."""
    results = {name: evaluate(p, config, episodes=episodes, seed=seed) for name, p in policies.items()}
    oracle = results["oracle"].mean() if "oracle" in results else float("nan")
    return [
        {
            "policy": name,
            "utility": r.mean(),
            "ci95": r.ci95(),
            "vs_oracle": r.mean() / oracle,
            "success": r.mean("success_rate"),
            "collision": r.mean("collision_rate"),
            "fairness": r.mean("fairness"),
        }
        for name, r in results.items()
    ]


def print_table(report: Report, title: str, rows: list[dict]) -> None:
    """The table as an indented (code) block, so it reads the same printed and in Markdown."""
    report.emit(f"\n{title}\n")
    report.emit(f"    {'policy':>18} {'utility':>16} {'vs oracle':>9} {'success':>8} {'collision':>9} {'fairness':>8}")
    for r in rows:
        report.emit(
            f"    {r['policy']:>18} {r['utility']:8.3f} +-{r['ci95']:6.3f} {r['vs_oracle']:9.1%} "
            f"{r['success']:8.3f} {r['collision']:9.3f} {r['fairness']:8.3f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", type=Path, help="a training run folder")
    parser.add_argument(
        "--scenario", default=None, help=f"preset, or 'all' ({', '.join(PRESETS)}); default: the run's"
    )
    parser.add_argument("--episodes", type=positive_int, default=64,
                        help="evaluation episodes per policy (default: 64)")
    parser.add_argument("--seed", type=non_negative_int, default=10_000,
                        help="evaluation seed: the channel realisation (default: 10000)")
    parser.add_argument("--out", type=Path, default=None,
                        help="also write the tables, with this command, to a Markdown file")
    args = parser.parse_args(argv)
    report = Report()

    if args.run_dir is None:
        names = list(PRESETS) if args.scenario in (None, "all") else [args.scenario]
        for name in names:
            if name not in PRESETS:
                parser.error(f"unknown scenario {name!r}; choose one of {sorted(PRESETS)} or 'all'")
            cfg = make_config(name)
            rows = evaluation_table(baseline_policies(cfg), cfg, args.episodes, args.seed)  # p tuned on seed 0
            print_table(report, f"scenario {name} ({args.episodes} episodes, seed {args.seed})", rows)
        report.save(args.out, "Conventional baselines and the oracle")
        return 0
    try:
        actors, config = load_trained_actors(args.run_dir)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.scenario not in (None, config.scenario):
        parser.error(f"the run was trained on {config.scenario!r}; evaluating on another scenario "
                     "needs the same observation and action sizes")
    cfg = config.env_config()
    policies = {"learned": ActorPolicy(actors, greedy=True),
                "learned (sampled)": ActorPolicy(actors, greedy=False),
                **baseline_policies(cfg)}
    rows = evaluation_table(policies, cfg, args.episodes, args.seed)
    print_table(report, f"run {args.run_dir} on {config.scenario} ({args.episodes} episodes, seed {args.seed})", rows)
    report.save(args.out, f"Evaluation of {args.run_dir.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
