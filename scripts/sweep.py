"""Sweep scenarios x methods x final sparsities x seeds; aggregate; write tables and plots.

    python scripts/sweep.py --scenarios basic snr --methods dense linear harmonic \\
        --sparsities 0.5 0.9 --seeds 1 2 3 --iterations 300 --out docs/results/sweep
    python scripts/sweep.py ... --backend ray [--address ray://HOST:10001 --cpus-per-trial 2]

Runs already finished are read, interrupted ones resumed: run the same command again to
continue a sweep. Methods: dense, ippo (local critics), linear, polynomial, harmonic, random,
lamp, imp, swamp, colt. Writes results.csv / results.md (mean and 95% CI over seeds of the
greedy evaluation utility as a fraction of the oracle), and PNG plots per scenario.
"""

from __future__ import annotations

import argparse
import sys

from marl_prune import sweep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["basic"])
    parser.add_argument("--methods", nargs="+", default=["dense", "linear", "polynomial", "harmonic"])
    parser.add_argument("--sparsities", nargs="+", type=float, default=[0.5, 0.75, 0.9, 0.95])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--iterations", type=int, default=300)
    sweep.add_cli_arguments(parser)
    args = parser.parse_args(argv)
    try:
        configs = sweep.expand(args.scenarios, args.methods, args.sparsities, args.seeds, args.runs_dir,
                               base={"iterations": args.iterations, "eval_every": 0, "eval_episodes": 64,
                                     "prune_warmup": args.iterations // 10, "prune_end_lock": args.iterations // 10})
        sweep.run_and_report(configs, args, "Sweep", args.scenarios)
    except (ValueError, ImportError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
