"""Agent-steps per second of the vectorised DSA cores (v0 and v1) and of their PettingZoo
ParallelEnvs.

    python benchmarks/bench_env.py [--seconds 1.0] [--rounds 7]

Random actions are drawn before timing, so only the environment is measured. Prints one
table with every configuration measured in this run, and the ratios the targets refer to:
core at B=1024 vs the ParallelEnv (target >= 100x), the v0 core's absolute rate on `basic`
(target >= 5M agent-steps/s on one core), and the v1 core with traffic and Gilbert-Elliott
links vs the v0 core of the same size, both at B=1024 (target >= 0.5x). That ratio is measured
in ``--rounds`` interleaved pairs and reported as their median and range: on a shared machine
one pair of 1-second measurements can land anywhere between 0.36x and 0.65x.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from envs import dsa_v0, dsa_v1
from envs.dsa import DSAConfig, make_config, make_config_v1, make_core

CASES = {  # name: (config, the PettingZoo module of its version)
    "basic": (make_config("basic"), dsa_v0),
    "large": (make_config("large"), dsa_v0),
    "v0 N=8 K=4": (make_config("basic", n_users=8, n_channels=4), dsa_v0),
    # the v1 features against v0: no frame clock (v0 can have one too, and its row has none)
    "v1 traffic+GE": (make_config_v1("traffic", ge_p_gb=0.05, ge_p_bg=0.1, min_snr_db=3.0, frame_clock=0), dsa_v1),
    "v1 large_traffic": (make_config_v1("large_traffic"), dsa_v1),
}


def core_rate(cfg: DSAConfig, num_envs: int, seconds: float) -> float:
    core = make_core(cfg, num_envs=num_envs)
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


def parallel_env_rate(cfg: DSAConfig, module, seconds: float) -> float:
    env = module.parallel_env(cfg)
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
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default: 1)")
    parser.add_argument("--rounds", type=int, default=7,
                        help="interleaved v1 / v0 pairs behind the reported ratio (default: 7)")
    args = parser.parse_args()
    print(f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"{'scenario':>17} {'runner':>14} {'agent-steps/s':>15}")
    at_1024 = {}
    for name, (cfg, module) in CASES.items():
        rates = {f"core B={b}": core_rate(cfg, b, args.seconds) for b in (1, 64, 1024)}
        rates["ParallelEnv"] = parallel_env_rate(cfg, module, args.seconds)
        for runner, rate in rates.items():
            print(f"{name:>17} {runner:>14} {rate:15,.0f}")
        at_1024[name] = rates["core B=1024"]
        print(f"{name:>17} core B=1024 / ParallelEnv = {rates['core B=1024'] / rates['ParallelEnv']:,.0f}x "
              "(target >= 100x)")
    ok = "meets" if at_1024["basic"] >= 5e6 else "MISSES"
    print(f"basic core B=1024 {ok} the 5M agent-steps/s target")
    v1, v0 = CASES["v1 traffic+GE"][0], CASES["v0 N=8 K=4"][0]
    ratios = sorted(core_rate(v1, 1024, args.seconds) / core_rate(v0, 1024, args.seconds) for _ in range(args.rounds))
    print(f"v1 traffic+GE core / v0 core of the same size (N=8, K=4), B=1024, median of {args.rounds} interleaved "
          f"pairs: {np.median(ratios):.2f}x (range {ratios[0]:.2f}-{ratios[-1]:.2f}; target >= 0.5x)")


if __name__ == "__main__":
    main()
