"""Overhead of gradual pruning on training time per iteration (target: at most +10%).

    python benchmarks/bench_pruning.py [--iterations 12 --rounds 3 --scenario basic]

Trains the same config dense and with harmonic pruning (an event every 5 iterations, in
reference and strict mode), interleaving the variants over several rounds so that machine
load affects them alike, and prints the median seconds per iteration and the ratio to dense.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from marl_prune.learner.config import TrainConfig
from marl_prune.learner.train import train

VARIANTS = {
    "dense": {},
    "harmonic, reference": dict(prune_schedule="harmonic", prune_mode="reference"),
    "harmonic, strict": dict(prune_schedule="harmonic", prune_mode="strict"),
}


def seconds_per_iteration(scenario: str, iterations: int, fields: dict) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(scenario=scenario, iterations=iterations, runs_dir=tmp, run_name="b",
                             eval_every=0, eval_episodes=1, progress=False, prune_warmup=1,
                             prune_end_lock=1, harmonic_period=10, **fields)
        train(config)
        acc = EventAccumulator(f"{tmp}/b")
        acc.Reload()
        agent_steps = config.num_envs * config.num_steps * config.env_config().n_users
        return [agent_steps / e.value for e in acc.Scalars("charts/SPS")][1:]  # drop warm-up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="basic")
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name, fields in VARIANTS.items():
            times[name] += seconds_per_iteration(args.scenario, args.iterations, fields)
    dense = np.median(times["dense"])
    print(f"{'variant':>22} {'s/iteration':>12} {'vs dense':>9}   ({args.scenario}, {args.rounds} rounds)")
    for name, values in times.items():
        median = np.median(values)
        print(f"{name:>22} {median:12.4f} {median / dense:8.3f}x")
    worst = max(np.median(v) for name, v in times.items() if name != "dense") / dense
    print(f"largest overhead of pruning: {worst - 1:+.1%} per iteration (target <= +10%)")


if __name__ == "__main__":
    main()
