"""Every pruning method on the DSA actors, side by side, plus SquareHead distillation and transfer.

    python scripts/compare_methods_dsa.py --scenario snr --iterations 100 --sparsity 0.9 \\
        --seeds 1 2 --out docs/results/methods_snr.md

1. dense, gradual (linear / polynomial / harmonic), LAMP allocation (linear schedule),
   random pruning (linear schedule), IMP, SWAMP and COLT at --sparsity; each training run has
   --iterations (IMP / SWAMP / COLT run several: the "runs" column);
2. SquareHead as policy distillation of the dense team of the first seed into a sparse team
   (one-shot, KL only, KL + SquareHead) at --distill-sparsities;
3. transfer of the sparse (harmonic) team of the first seed to --transfer-env: linear probe
   of the heads vs full fine-tuning with the mask fixed vs a dense team trained from scratch.
Greedy evaluation utility as a fraction of the oracle, mean +- std over seeds. Finished runs
are skipped (run it again to resume).
"""

from __future__ import annotations

import argparse
import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

from envs.dsa import GenieOracle, evaluate
from marl_prune.config import TrainConfig
from marl_prune.distill_dsa import distill_sparse_team
from marl_prune.pruning import MaskSet
from marl_prune.report import Report, mean_std
from marl_prune.runs import actor_prunable_names, load_trained_actors, save_ticket
from marl_prune.sweep import run_metrics
from marl_prune.train import evaluate_actors

METHODS = {
    "dense": {},
    "linear": dict(prune_schedule="linear"),
    "polynomial": dict(prune_schedule="polynomial"),
    "harmonic": dict(prune_schedule="harmonic"),
    "LAMP allocation": dict(prune_schedule="linear", prune_scope="lamp"),
    "random": dict(prune_schedule="linear", prune_score="random"),
    "IMP": dict(prune_method="imp"),
    "SWAMP": dict(prune_method="swamp"),
    "COLT": dict(prune_method="colt"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="snr")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--lottery-cycles", type=int, default=2)
    parser.add_argument("--swamp-particles", type=int, default=2)
    parser.add_argument("--transfer-env", default="rayleigh_fading=True",
                        help="comma-separated KEY=VALUE overrides of the target scenario")
    parser.add_argument("--distill-epochs", type=int, default=60)
    parser.add_argument("--distill-sparsities", nargs="+", type=float, default=[0.75, 0.9],
                        help="sparsities of the distilled students")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs-dir", default="runs/compare_methods")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    base = dict(scenario=args.scenario, iterations=args.iterations, runs_dir=args.runs_dir, progress=False,
                eval_every=0, eval_episodes=64, final_sparsity=args.sparsity,
                prune_warmup=args.iterations // 10, prune_end_lock=args.iterations // 10,
                lottery_cycles=args.lottery_cycles, swamp_particles=args.swamp_particles)
    jobs = {(m, s): dict(base, seed=s, run_name=f"{args.scenario}_{m.replace(' ', '_')}_s{s}", **fields)
            for m, fields in METHODS.items() for s in args.seeds}
    with ProcessPoolExecutor(args.workers) as pool:
        results = dict(zip(jobs, pool.map(run_metrics, jobs.values())))

    report = Report()
    emit = report.emit

    def fmt(values) -> str:
        return mean_std(values, percent=True)

    emit(f"## 1. Pruning methods on `{args.scenario}` at {args.sparsity:.0%} sparsity "
         f"({args.iterations} iterations per training run, seeds {args.seeds})\n")
    emit("| method | utility vs oracle | actor sparsity | training runs |\n|---|---|---|---|")
    for m in METHODS:
        rs = [results[(m, s)] for s in args.seeds]
        emit(f"| {m} | {fmt([r['eval/utility_vs_oracle'] for r in rs])} | "
             f"{np.mean([r.get('sparsity/actual', 0.0) for r in rs]):.3f} | {rs[0].get('training_runs', 1)} |")

    # 2. distillation from the dense team of the first seed
    seed = args.seeds[0]
    dense_dir = Path(args.runs_dir) / jobs[("dense", seed)]["run_name"]
    teacher, config = load_trained_actors(dense_dir)
    oracle = evaluate(GenieOracle(), config.env_config(), config.eval_episodes, seed=config.eval_seed).mean()
    emit(f"\n## 2. Policy distillation of the dense team (seed {seed}) into a sparse team "
         f"({args.distill_epochs} steps on fresh teacher episodes)\n")
    emit(f"Dense teacher: {results[('dense', seed)]['eval/utility_vs_oracle']:.1%} of the oracle.\n")
    emit("| sparsity | one-shot, no fine-tuning | KL only | KL + SquareHead |\n|---|---|---|---|")
    torch.manual_seed(0)
    for sparsity in sorted(args.distill_sparsities):
        cells = []
        for epochs, weight in ((0, 0.0), (args.distill_epochs, 0.0), (args.distill_epochs, 1.0)):
            student, _ = distill_sparse_team(teacher, config, sparsity, epochs=epochs, square_head_weight=weight)
            cells.append(f"{evaluate_actors(student, config, oracle)['eval/utility_vs_oracle']:.1%}")
        emit(f"| {sparsity:.0%} | " + " | ".join(cells) + " |")

    # 3. transfer of the sparse harmonic team to a changed scenario
    overrides = dict(kv.split("=", 1) for kv in args.transfer_env.split(",") if kv)
    target_env = {k: json.loads(v.lower()) if v.lower() in ("true", "false") else float(v) for k, v in overrides.items()}
    source_dir = Path(args.runs_dir) / jobs[("harmonic", seed)]["run_name"]
    source, _ = load_trained_actors(source_dir)
    params = dict(source.named_parameters())
    masks = MaskSet({n: params[n].detach() != 0 for n in actor_prunable_names(False)})
    ticket = save_ticket(source.state_dict(), masks, Path(args.runs_dir) / f"transfer_ticket_s{seed}.pt")
    target = dict(base, seed=seed, env=target_env, iterations=max(args.iterations // 2, 1))
    transfer_jobs = {
        "source team, no training": None,
        "linear probe (heads only)": dict(target, init_from=str(ticket), train_only_head=True, run_name=f"transfer_probe_s{seed}"),
        "full fine-tuning, mask fixed": dict(target, init_from=str(ticket), run_name=f"transfer_full_s{seed}"),
        "dense from scratch": dict(target, run_name=f"transfer_scratch_s{seed}"),
    }
    emit(f"\n## 3. Transfer of the sparse harmonic team (seed {seed}) to `{args.scenario}` with {args.transfer_env} "
         f"({target['iterations']} iterations)\n")
    emit("| start | utility vs oracle on the target |\n|---|---|")
    target_config = TrainConfig(**dict(target, run_name="x"))
    target_oracle = evaluate(GenieOracle(), target_config.env_config(), 64, seed=target_config.eval_seed).mean()
    for label, job in transfer_jobs.items():
        if job is None:
            value = evaluate_actors(source, target_config, target_oracle)["eval/utility_vs_oracle"]
        else:
            value = run_metrics(job)["eval/utility_vs_oracle"]
        emit(f"| {label} | {value:.1%} |")

    report.save(args.out, "Pruning methods on the DSA actors")


if __name__ == "__main__":
    main()
