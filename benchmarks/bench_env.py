"""Agent-steps per second of the vectorised DSA core and of the PettingZoo ParallelEnv.

    python benchmarks/bench_env.py [--seconds 1.0]

Random actions are drawn before timing, so only the environment is measured. Prints one
table with every configuration measured in this run, and the ratios the targets refer to:
core at B=1024 vs the ParallelEnv (target >= 100x) and the core's absolute rate on `basic`
(target >= 5M agent-steps/s on one core).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from envs import dsa_v0
from envs.dsa import DSACore, make_config


def core_rate(scenario: str, num_envs: int, seconds: float) -> float:
    cfg = make_config(scenario)
    core = DSACore(cfg, num_envs=num_envs)
    rng = np.random.default_rng(0)
    actions = rng.integers(0, cfg.n_actions, (cfg.max_cycles, num_envs, cfg.n_users))
    core.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in range(cfg.max_cycles):
            core.step(actions[t])
        core.reset()
        steps += cfg.max_cycles
    return steps * num_envs * cfg.n_users / (time.perf_counter() - start)


def parallel_env_rate(scenario: str, seconds: float) -> float:
    env = dsa_v0.parallel_env(scenario)
    cfg = env.config
    rng = np.random.default_rng(0)
    joint = rng.integers(0, cfg.n_actions, (cfg.max_cycles, cfg.n_users)).tolist()
    dicts = [dict(zip(env.possible_agents, row)) for row in joint]
    env.reset(seed=0)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in range(cfg.max_cycles):
            env.step(dicts[t])
        env.reset()
        steps += cfg.max_cycles
    return steps * cfg.n_users / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args()
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"{'scenario':>8} {'runner':>14} {'agent-steps/s':>15}")
    for scenario in ("basic", "large"):
        rates = {}
        for b in (1, 64, 1024):
            rates[f"core B={b}"] = core_rate(scenario, b, args.seconds)
        rates["ParallelEnv"] = parallel_env_rate(scenario, args.seconds)
        for name, rate in rates.items():
            print(f"{scenario:>8} {name:>14} {rate:15,.0f}")
        ratio = rates["core B=1024"] / rates["ParallelEnv"]
        print(f"{scenario:>8} core B=1024 / ParallelEnv = {ratio:,.0f}x (target >= 100x)")
        if scenario == "basic":
            ok = "meets" if rates["core B=1024"] >= 5e6 else "MISSES"
            print(f"{scenario:>8} core B=1024 {ok} the 5M agent-steps/s target")


if __name__ == "__main__":
    main()
