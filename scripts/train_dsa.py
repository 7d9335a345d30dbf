"""Train one team: independent recurrent actors with a global critic on dynamic spectrum access.

    python scripts/train_dsa.py                          # defaults: scenario basic
    python scripts/train_dsa.py --scenario pu --iterations 500 --env max_cycles=200
    python scripts/train_dsa.py --config my_run.toml     # keys of TrainConfig
    python scripts/train_dsa.py --prune-schedule harmonic --final-sparsity 0.9
    python scripts/train_dsa.py --prune-method swamp --final-sparsity 0.9   # IMP, SWAMP, COLT
    python scripts/train_dsa.py --resume runs/RUN_DIR    # continue an interrupted run
    tensorboard --logdir runs

Use it for one run, dense or pruned by any method; compare several with scripts/sweep.py,
evaluate a finished run with scripts/evaluate_dsa.py and export it with
scripts/export_policy.py. Every option is a field of marl_prune.learner.config.TrainConfig.
"""

from __future__ import annotations

import sys

from marl_prune.experiments.runs import resume, run
from marl_prune.learner.cli import build_parser, config_from_args, given_fields


def main(argv: list[str] | None = None) -> int:
    parser = build_parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    if args.resume is not None and (args.config or args.overwrite):
        parser.error("--resume continues a run as configured: it takes no --config or --overwrite")
    try:
        if args.resume is not None:
            result = resume(args.resume, given_fields(args))
        else:
            result = run(config_from_args(args), overwrite=args.overwrite)
    except (ValueError, FloatingPointError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = result.metrics
    reference = "oracle" if "eval/delivered" not in m else "centralised reference"  # v0's reference is the genie
    print(f"run folder: {result.run_dir}")
    print(
        f"evaluation: utility {m['eval/utility']:.3f} per slot = "
        f"{m['eval/utility_vs_oracle']:.1%} of the {reference} ({m['eval/oracle_utility']:.3f}); "
        f"success {m['eval/success_rate']:.3f}, collision {m['eval/collision_rate']:.3f}, "
        f"fairness {m['eval/fairness']:.3f}"
        + (f"; score {m['eval/score_vs_reference']:.1%} of the reference's" if "eval/score_vs_reference" in m
           and m["eval/score_vs_reference"] != m["eval/utility_vs_oracle"] else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
