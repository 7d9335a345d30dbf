"""Train independent recurrent actors with a global critic on dynamic spectrum access.

    python scripts/train_dsa.py                          # defaults: scenario basic
    python scripts/train_dsa.py --scenario pu --iterations 500 --env max_cycles=200
    python scripts/train_dsa.py --config my_run.toml     # keys of TrainConfig
    python scripts/train_dsa.py --prune-method swamp --final-sparsity 0.9   # IMP, SWAMP, COLT
    python scripts/train_dsa.py --resume runs/RUN_DIR    # continue an interrupted run
    tensorboard --logdir runs
"""

from __future__ import annotations

import sys

from marl_prune.config import build_parser, config_from_args
from marl_prune.lottery_dsa import run_lottery
from marl_prune.train import train


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    try:
        if args.resume is not None:
            metrics = train(None, resume_dir=args.resume)  # type: ignore[arg-type]
        else:
            config = config_from_args(args)
            if config.prune_method == "gradual":
                metrics = train(config)
            else:  # IMP, SWAMP, COLT: cycles of whole runs; run it again to resume
                metrics = run_lottery(config)
    except (ValueError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"run folder: {metrics['run_dir']}")
    print(
        f"evaluation (greedy): utility {metrics['eval/utility']:.3f} per slot = "
        f"{metrics['eval/utility_vs_oracle']:.1%} of the oracle ({metrics['eval/oracle_utility']:.3f}); "
        f"success {metrics['eval/success_rate']:.3f}, collision {metrics['eval/collision_rate']:.3f}, "
        f"fairness {metrics['eval/fairness']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
