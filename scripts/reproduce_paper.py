"""The method paper's comparison (Stamatelis et al., arXiv 2503.15172) on this package.

    python scripts/reproduce_paper.py --budget smoke        # minutes: checks the pipeline
    python scripts/reproduce_paper.py --budget full         # hours: the numbers for docs/results

Dense IAGC (independent actors, global critic) vs gradual pruning with the linear, polynomial
and harmonic schedules at final sparsities 0.5 / 0.75 / 0.9 / 0.95, random pruning, the
MADRL baseline (IPPO-style local critics), on `basic`, `snr` and `pu`; the conventional
baselines (random access, tuned ALOHA, stay-on-success) and the oracle are drawn as lines.
Writes docs/results/paper_<budget>/ (tables, plots, claims.md with a verdict per claim and
scenario, README.md with this command). Run the same command again to resume.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from marl_prune import sweep
from marl_prune.claims import check_claims, claims_table

BUDGETS = {
    "smoke": dict(iterations=6, num_envs=8, eval_episodes=16, seeds=[1, 2, 3]),
    # 100 iterations x 32 envs x 100 slots: where dense IAGC's learning curve on snr flattens;
    # 162 runs (--seeds 1 2 3) took 1 h 43 min on 2 cores, so all 5 seeds take ~3 h
    "full": dict(iterations=100, num_envs=32, eval_episodes=64, seeds=[1, 2, 3, 4, 5]),
}
METHODS = ["dense", "ippo", "linear", "polynomial", "harmonic", "random"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="smoke")
    parser.add_argument("--scenarios", nargs="+", default=["basic", "snr", "pu"])
    parser.add_argument("--sparsities", nargs="+", type=float, default=[0.5, 0.75, 0.9, 0.95])
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="default: the budget's seeds")
    parser.add_argument("--methods", nargs="+", default=METHODS, choices=METHODS)
    parser.add_argument("--prune-mode", choices=["reference", "strict"], default="reference",
                        help="reference: pruned weights train freely between events (the paper); "
                             "strict: masks hold between events")
    sweep.add_cli_arguments(parser)
    args = parser.parse_args(argv)
    budget = BUDGETS[args.budget]
    name = f"paper_{args.budget}" + ("_strict" if args.prune_mode == "strict" else "")
    if args.runs_dir == "runs/sweep":
        args.runs_dir = f"runs/{name}"
    if args.out == Path("docs/results/sweep"):
        args.out = Path(f"docs/results/{name}")
    iterations = budget["iterations"]
    base = {"iterations": iterations, "num_envs": budget["num_envs"], "eval_episodes": budget["eval_episodes"],
            "eval_every": 0, "prune_mode": args.prune_mode,
            "prune_warmup": max(iterations // 10, 1), "prune_end_lock": max(iterations // 10, 1)}
    seeds = args.seeds or budget["seeds"]
    configs = sweep.expand(args.scenarios, args.methods, args.sparsities, seeds, args.runs_dir, base)

    def claims(records: list[dict], baselines: dict[str, dict[str, float]]) -> str:
        verdicts = check_claims(records, baselines)
        if not verdicts:
            return "No claims checked: the claims compare against dense IAGC, which this sweep did not run."
        table = claims_table(verdicts)
        (args.out / "claims.md").write_text(table)
        return "## The paper's claims (Welch t-test over seeds, alpha 0.05)\n\n" + table

    sweep.run_and_report(configs, args, f"Paper comparison, {args.budget} budget", args.scenarios, claims)
    return 0


if __name__ == "__main__":
    sys.exit(main())
