"""Training throughput: agent-steps per second including updates, where the time goes, and the
sequence-batched unroll against the step-by-step reference.

    python benchmarks/bench_train.py [--iterations 10] [--scenarios basic large]

Trains each scenario with the default config for a few iterations (the first is dropped as
warm-up), once with the reference unroll (one actor step per slot in the PPO update) and once
with the fast one (encoder and input gates over the whole sequence at once), interleaved over
``--rounds`` so that machine load affects both alike. Prints agent-steps/s, the share of each
iteration spent stepping the environment, in the rollout's forward passes and in the update,
the fast/reference ratio (target >= 2x on basic and large), and how far apart the two runs'
final evaluations are.
"""

from __future__ import annotations

import argparse
import tempfile
from contextlib import contextmanager

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from marl_prune.learner.config import TrainConfig
from marl_prune.learner.train import train
from marl_prune.models.recurrent import RecurrentAgents

TAGS = ("charts/SPS", "charts/time_share_env", "charts/time_share_rollout_forward", "charts/time_share_update")


@contextmanager
def reference_unroll():
    """Train with the step-by-step unroll."""
    fast = RecurrentAgents.unroll
    RecurrentAgents.unroll = RecurrentAgents.unroll_reference
    try:
        yield
    finally:
        RecurrentAgents.unroll = fast


def measure(scenario: str, iterations: int, reference: bool, **fields) -> tuple[list[float], float]:
    """Per-iteration scalars of TAGS (warm-up dropped) and the final greedy utility."""
    with tempfile.TemporaryDirectory() as tmp:
        config = TrainConfig(scenario=scenario, iterations=iterations, runs_dir=tmp, run_name="bench", eval_every=0,
                             eval_episodes=4, progress=False, **fields)
        if reference:
            with reference_unroll():
                result = train(config)
        else:
            result = train(config)
        acc = EventAccumulator(f"{tmp}/bench")
        acc.Reload()
        return [float(np.mean([e.value for e in acc.Scalars(t)][1:])) for t in TAGS], result.metrics["eval/utility"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10, help="iterations per run (default: 10)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds per variant (default: 2)")
    parser.add_argument("--scenarios", nargs="+", default=["basic", "snr", "pu", "large"],
                        help="v0 presets (default: basic snr pu large)")
    args = parser.parse_args()
    print(f"{'scenario':>8} {'unroll':>9} {'agent-steps/s':>14} {'env':>6} {'forward':>8} {'update':>7} {'utility':>8}")
    for scenario in args.scenarios:
        runs: dict[str, list] = {"reference": [], "fast": []}
        for _ in range(args.rounds):
            for name in runs:
                runs[name].append(measure(scenario, args.iterations, reference=name == "reference"))
        sps = {}
        for name, measured in runs.items():
            sps[name], env, fwd, upd = np.median([m[0] for m in measured], axis=0)
            print(f"{scenario:>8} {name:>9} {sps[name]:14,.0f} {env:6.1%} {fwd:8.1%} {upd:7.1%} {measured[0][1]:8.3f}")
        gap = abs(runs["fast"][0][1] - runs["reference"][0][1])
        print(f"{scenario:>8} fast / reference = {sps['fast'] / sps['reference']:.2f}x (target >= 2x); "
              f"final utility differs by {gap:.2e}")


if __name__ == "__main__":
    main()
