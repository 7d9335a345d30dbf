"""Transfer a trained sparse team to a changed scenario: probe, fine-tune with the mask fixed,
or start from scratch.

    python scripts/transfer_dsa.py runs/SOURCE_RUN --env rayleigh_fading=True --iterations 50 \\
        --out docs/results/transfer_snr.md

Use it when a pruned team must move to another environment (fading, primary users, gains)
and the question is whether its sparse structure carries over; to train on the new
environment alone use scripts/train_dsa.py --env. The source team's nonzero weights become a
ticket. On the target environment (the source's, with the --env overrides) this script
evaluates the source team untrained, then trains for --iterations each: a linear probe (the
heads only), full fine-tuning with the mask fixed, and a dense team from scratch. Runs go to
--runs-dir and are resumed when run again.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from envs.dsa.fields import positive_int
from marl_prune.experiments.report import Report
from marl_prune.experiments.runs import run_or_resume
from marl_prune.learner.cli import add_env_argument
from marl_prune.learner.evaluation import evaluate_actors
from marl_prune.learner.runs import actor_prunable_weights, load_trained_actors, save_ticket
from marl_prune.pruning import MaskSet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="a finished run of the (sparse) source team")
    add_env_argument(parser, "the target environment: overrides of the source's, e.g. --env rayleigh_fading=True "
                             "(repeatable; at least one)")
    parser.add_argument("--iterations", type=positive_int, default=50,
                        help="training iterations on the target (default: 50)")
    parser.add_argument("--runs-dir", default="runs/transfer",
                        help="folder of the target runs (default: runs/transfer)")
    parser.add_argument("--out", type=Path, default=None, help="also write the table, with this command, here")
    args = parser.parse_args(argv)
    if not args.env:
        parser.error("give the target environment with --env KEY=VALUE")
    try:
        transfer(args)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def transfer(args: argparse.Namespace) -> None:
    """Evaluate the source team on the target, then train each start there; print the table."""
    source, config = load_trained_actors(args.run_dir)
    params = dict(source.named_parameters())
    masks = MaskSet({n: params[n].detach() != 0 for n in actor_prunable_weights(source, config.prune_head)})
    ticket = save_ticket(source.state_dict(), masks, Path(args.runs_dir) / f"{args.run_dir.name}_ticket.pt")
    target = dataclasses.replace(
        config, env={**config.env, **dict(args.env)}, iterations=args.iterations, prune_schedule="none",
        prune_method="gradual", prune_warmup=None, prune_end_lock=None, finetune_iterations=0, eval_every=0,
        runs_dir=args.runs_dir, progress=False, init_from=None, train_only_head=False)
    name = args.run_dir.name
    starts = {
        "linear probe (heads only)": dict(init_from=str(ticket), train_only_head=True, run_name=f"{name}_probe"),
        "full fine-tuning, mask fixed": dict(init_from=str(ticket), run_name=f"{name}_full"),
        "dense from scratch": dict(run_name=f"{name}_scratch"),
    }
    report = Report()
    report.emit(f"Source {args.run_dir} (`{config.scenario}`, actor sparsity {masks.sparsity():.3f}) on the target "
                f"environment {dict(args.env)}; {args.iterations} training iterations per start.\n")
    report.emit("| start | utility vs oracle on the target |\n|---|---|")
    untrained = evaluate_actors(source, target)["eval/utility_vs_oracle"]
    report.emit(f"| source team, no training | {untrained:.1%} |")
    for label, fields in starts.items():
        result = run_or_resume(dataclasses.replace(target, label=label, **fields))
        report.emit(f"| {label} | {result.metrics['eval/utility_vs_oracle']:.1%} |")
    report.save(args.out, f"Transfer of {name} to {dict(args.env)}")


if __name__ == "__main__":
    sys.exit(main())
