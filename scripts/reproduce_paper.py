"""The method paper's comparison (Stamatelis et al., arXiv 2503.15172): a preset of the sweep engine.

    python scripts/reproduce_paper.py --budget smoke        # minutes: checks the pipeline
    python scripts/reproduce_paper.py --budget full         # hours: the numbers for docs/results

Use it to regenerate docs/results/paper_<budget>/ or to check the paper's claims on new runs;
for any other grid use scripts/sweep.py, which this script drives with fixed arguments. Dense
IAGC (independent actors, global critic) vs gradual pruning with the linear, polynomial and
harmonic schedules at final sparsities 0.5 / 0.75 / 0.9 / 0.95, random pruning, and the MADRL
baseline (IPPO-style local critics), on `basic`, `snr` and `pu`; the conventional baselines
(random access, tuned ALOHA, stay-on-success) are drawn as lines. Writes tables, plots,
claims.md (a verdict per claim and scenario, Welch t-test over seeds) and a README with this
command. Run the same command again to resume.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from marl_prune.experiments.backends import Backend
from marl_prune.experiments.claims import check_claims, claims_table
from marl_prune.experiments.grid import expand
from marl_prune.experiments.report import run_and_report

BUDGETS = {
    "smoke": dict(iterations=6, num_envs=8, eval_episodes=16, seeds=[1, 2, 3]),
    # 100 iterations x 32 envs x 100 slots: where dense IAGC's learning curve on snr flattens;
    # 162 runs (--seeds 1 2 3) took 1 h 43 min on 2 cores, so all 5 seeds take ~3 h
    "full": dict(iterations=100, num_envs=32, eval_episodes=64, seeds=[1, 2, 3, 4, 5]),
}
METHODS = ["dense", "ippo", "linear", "polynomial", "harmonic", "random"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="smoke",
                        help="smoke: 6 iterations x 8 envs (a pipeline check); full: 100 x 32 (default: smoke)")
    parser.add_argument("--scenarios", nargs="+", default=["basic", "snr", "pu"],
                        help="DSA presets (default: basic snr pu)")
    parser.add_argument("--sparsities", nargs="+", type=float, default=[0.5, 0.75, 0.9, 0.95],
                        help="final sparsities (default: 0.5 0.75 0.9 0.95)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: the budget's seeds")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS,
                        help=f"a subset of the paper's methods (default: {' '.join(METHODS)})")
    parser.add_argument("--prune-mode", choices=["reference", "strict"], default="reference",
                        help="reference: pruned weights train freely between events (the paper); "
                             "strict: masks hold between events (runs and outputs get a _strict suffix)")
    parser.add_argument("--runs-dir", default=None, help="default: runs/paper_<budget>[_strict]")
    parser.add_argument("--out", type=Path, default=None, help="default: docs/results/paper_<budget>[_strict]")
    Backend.add_arguments(parser)
    args = parser.parse_args(argv)
    budget = BUDGETS[args.budget]
    name = f"paper_{args.budget}" + ("_strict" if args.prune_mode == "strict" else "")
    runs_dir, out = args.runs_dir or f"runs/{name}", args.out or Path(f"docs/results/{name}")
    base = {"iterations": budget["iterations"], "num_envs": budget["num_envs"],
            "eval_episodes": budget["eval_episodes"], "eval_every": 0, "prune_mode": args.prune_mode}
    try:
        configs = expand(args.scenarios, args.methods, args.sparsities, args.seeds or budget["seeds"], runs_dir, base)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    def claims(records: list[dict], baselines: dict[str, dict[str, float]]) -> str:
        verdicts = check_claims(records, baselines)
        if not verdicts:
            return "No claims checked: the claims compare against dense IAGC, which this sweep did not run."
        table = claims_table(verdicts)
        (out / "claims.md").write_text(table)
        return "## The paper's claims (Welch t-test over seeds, alpha 0.05)\n\n" + table

    try:
        run_and_report(configs, Backend.from_args(args), out, f"Paper comparison, {args.budget} budget",
                       sections=claims)
    except (ValueError, ImportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
