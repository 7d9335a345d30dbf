"""Run a grid of scenarios x methods x final sparsities x seeds; aggregate; write tables and plots.

    python scripts/sweep.py --scenarios basic snr --methods dense linear harmonic \\
        --sparsities 0.5 0.9 --seeds 1 2 3 --iterations 300 --out docs/results/sweep
    python scripts/sweep.py ... --relative-to dense          # a column "% of dense"
    python scripts/sweep.py ... --set prune_mode=strict --set lottery_cycles=2
    python scripts/sweep.py ... --backend ray [--address ray://HOST:10001 --cpus-per-trial 2]

Use it whenever more than one run is compared: it is the package's only experiment grid (one
run is scripts/train_dsa.py; the method paper's grid is scripts/reproduce_paper.py, a preset of
this engine). Runs already finished are read, interrupted ones resumed: run the same command
again to continue a sweep. Each finished run's record goes to OUT/records/ (--records): commit it,
and the sweep continues on another checkout without training those runs again. It writes
results.csv / results.md (mean and 95% CI over seeds of the evaluation score, greedy or sampled
as the runs are configured, as a fraction of the centralised reference's (v0: the genie
oracle), the realised sparsity, the training runs per method), a README with the conventional
baselines evaluated on the same episodes, PNG plots per scenario, and the training curve by
phase of training.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from envs.dsa.fields import positive_int
from marl_prune.experiments.backends import Backend
from marl_prune.experiments.grid import METHODS, expand
from marl_prune.experiments.report import run_and_report
from marl_prune.learner.cli import add_env_argument, key_value
from marl_prune.learner.config import TrainConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["basic"], help="DSA presets (default: basic)")
    parser.add_argument("--env-version", choices=["v0", "v1"], default="v0",
                        help="environment version of the scenarios (default: v0)")
    parser.add_argument("--methods", nargs="+", default=["dense", "linear", "polynomial", "harmonic"],
                        help=f"any of {', '.join(METHODS)} (default: dense linear polynomial harmonic)")
    parser.add_argument("--sparsities", nargs="+", type=float, default=[0.5, 0.75, 0.9, 0.95],
                        help="final sparsities of the pruning methods (default: 0.5 0.75 0.9 0.95)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3], help="seeds (default: 1 2 3)")
    parser.add_argument("--iterations", type=positive_int, default=None,
                        help="training iterations per run (default: the scenario's own, 300 or its "
                             "SCENARIO_DEFAULTS budget)")
    parser.add_argument("--set", type=key_value, action="append", default=[], metavar="KEY=VALUE",
                        help="any other TrainConfig field for every run, e.g. --set num_envs=16 (repeatable; "
                             "the sweep's own defaults: eval_every=0, eval_episodes=64)")
    add_env_argument(parser, "overrides of the environment of every run, e.g. --env max_cycles=50 (repeatable)")
    parser.add_argument("--relative-to", default=None, metavar="METHOD",
                        help="add a column: each mean as a fraction of this method's on its scenario")
    parser.add_argument("--title", default="Sweep", help="title of the README (default: Sweep)")
    parser.add_argument("--runs-dir", default="runs/sweep", help="folder of the run folders (default: runs/sweep)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/sweep"),
                        help="folder of the tables, plots and README (default: docs/results/sweep)")
    Backend.add_arguments(parser)
    args = parser.parse_args(argv)
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    base: dict[str, object] = {"env_version": args.env_version, "eval_every": 0, "eval_episodes": 64}
    if args.iterations is not None:  # else each scenario's own budget
        base["iterations"] = args.iterations
    base.update(dict(args.set))  # --set has the last word, as before
    unknown = sorted(set(dict(args.set)) - fields)
    if args.relative_to and args.relative_to not in args.methods:
        parser.error(f"--relative-to {args.relative_to}: that method is not in --methods")
    try:
        if unknown:
            raise ValueError(f"--set: unknown TrainConfig field(s) {unknown}")
        if args.env:
            base["env"] = dict(args.env)
        configs = expand(args.scenarios, args.methods, args.sparsities, args.seeds, args.runs_dir, base)
        run_and_report(configs, Backend.from_args(args, args.out), args.out, args.title, relative_to=args.relative_to)
    except (ValueError, ImportError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
