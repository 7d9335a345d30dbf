"""Training throughput: agent-steps per second including updates, and where the time goes.

    python benchmarks/bench_train.py [--iterations 10] [--scenarios basic large]

Trains each scenario with the default config for a few iterations (the first is dropped as
warm-up) and prints agent-steps/s and the share of each iteration spent stepping the
environment, in the rollout's forward passes (actors, critic, sampling) and in the PPO update.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from marl_prune.learner.config import TrainConfig
from marl_prune.learner.train import train

TAGS = ("charts/SPS", "charts/time_share_env", "charts/time_share_rollout_forward", "charts/time_share_update")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--scenarios", nargs="+", default=["basic", "snr", "pu", "large"])
    args = parser.parse_args()
    print(f"{'scenario':>8} {'N':>3} {'agent-steps/s':>14} {'env':>6} {'forward':>8} {'update':>7}")
    for scenario in args.scenarios:
        with tempfile.TemporaryDirectory() as tmp:
            config = TrainConfig(scenario=scenario, iterations=args.iterations, runs_dir=tmp,
                                 run_name="bench", eval_every=0, eval_episodes=1, progress=False)
            train(config)
            acc = EventAccumulator(f"{tmp}/bench")
            acc.Reload()
            sps, env, fwd, upd = (np.mean([e.value for e in acc.Scalars(t)][1:]) for t in TAGS)
        n = config.env_config().n_users
        print(f"{scenario:>8} {n:>3} {sps:14,.0f} {env:6.1%} {fwd:8.1%} {upd:7.1%}")


if __name__ == "__main__":
    main()
