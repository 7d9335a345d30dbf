"""Distil a trained dense team into sparse students, with and without SquareHead.

    python scripts/distill_dsa.py runs/RUN_DIR --sparsities 0.75 0.9 --epochs 60 \\
        --out docs/results/distill_snr.md

Use it to ask whether a sparse team is better made from a finished dense one (this script)
than by pruning while training (scripts/sweep.py). Each student is the teacher's actors
pruned one-shot by magnitude (per agent) to a sparsity, then trained with the mask fixed on
fresh teacher episodes for --epochs steps: with the KL divergence to the teacher's policy
alone, or with KL + SquareHead on the encoder and GRU outputs. Prints the greedy evaluation
utility (fraction of the oracle) of the one-shot, KL-only and KL + SquareHead students.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from envs.dsa.fields import non_negative_int
from marl_prune.experiments.report import Report
from marl_prune.learner.evaluation import evaluate_actors, oracle_utility
from marl_prune.learner.runs import load_trained_actors
from marl_prune.methods.distill_dsa import distill_sparse_team


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished run of the dense teacher team")
    parser.add_argument("--sparsities", nargs="+", type=float, default=[0.75, 0.9],
                        help="sparsities of the students (default: 0.75 0.9)")
    parser.add_argument("--epochs", type=non_negative_int, default=60,
                        help="distillation steps, each on a fresh batch of teacher episodes (default: 60)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="seed of the teacher episodes (default: 0)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table, with this command, here")
    args = parser.parse_args(argv)
    try:
        distill(args)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def distill(args: argparse.Namespace) -> None:
    """Distil the teacher at every sparsity; print (and save) the table."""
    teacher, config = load_trained_actors(args.run_dir)
    oracle = oracle_utility(config)
    report = Report()
    report.emit(f"Teacher {args.run_dir} on `{config.scenario}`: "
                f"{evaluate_actors(teacher, config, oracle)['eval/utility_vs_oracle']:.1%} of the oracle; "
                f"students distilled for {args.epochs} steps on fresh teacher episodes.\n")
    report.emit("| sparsity | one-shot, no fine-tuning | KL only | KL + SquareHead |\n|---|---|---|---|")
    for sparsity in sorted(args.sparsities):
        cells = []
        for epochs, weight in ((0, 0.0), (args.epochs, 0.0), (args.epochs, 1.0)):
            student, _ = distill_sparse_team(teacher, config, sparsity, epochs=epochs, square_head_weight=weight,
                                             seed=args.seed)
            cells.append(f"{evaluate_actors(student, config, oracle)['eval/utility_vs_oracle']:.1%}")
        report.emit(f"| {sparsity:.0%} | " + " | ".join(cells) + " |")
    report.save(args.out, f"Policy distillation of {args.run_dir.name} into sparse teams")


if __name__ == "__main__":
    sys.exit(main())
