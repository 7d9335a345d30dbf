"""Env-steps per second of the native TorchRL environment against TorchRL's PettingZooWrapper
over the ParallelEnv (needs ``pip install -e ".[torchrl]"``).

    python benchmarks/bench_torchrl.py [--seconds 2] [--scenarios snr pu traffic]

An env-step is one slot of one environment copy (all N users act in it). Both are driven the
way a TorchRL user drives them, ``env.rollout(max_cycles)`` with random actions from the
action spec, one whole episode per call. Prints every rate measured in this run and the ratio
the target refers to: native at B=1024 vs the wrapper (target >= 50x). Torch runs on one
thread, as TorchRL's collectors run their envs, so that neither side measures thread
oversubscription.
"""

from __future__ import annotations

import argparse
import time

import torch
from torchrl.envs.libs.pettingzoo import PettingZooWrapper
from torchrl.envs.utils import MarlGroupMapType

from envs.dsa import make_env_config, presets, version_of
from envs.dsa.parallel_env import DSAParallelEnv, DSAParallelEnvV1
from envs.dsa.torchrl_env import DSATorchRLEnv


def env_steps_per_second(env, batch: int, episode: int, seconds: float) -> float:
    env.set_seed(0)
    env.rollout(episode, break_when_any_done=False)  # warm-up
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        env.rollout(episode, break_when_any_done=False)
        steps += episode * batch
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default: 2)")
    parser.add_argument("--scenarios", nargs="+", default=["snr", "pu", "traffic"],
                        help="presets, v0 or v1 (default: snr pu traffic)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'scenario':>10} {'runner':>24} {'env-steps/s':>12}")
    for scenario in args.scenarios:
        version = "v1" if scenario in presets("v1") else "v0"
        config = make_env_config(version, scenario)
        parallel = (DSAParallelEnvV1 if version_of(config) == "v1" else DSAParallelEnv)(config)
        wrapper = PettingZooWrapper(env=parallel, return_state=True, use_mask=False,
                                    group_map=MarlGroupMapType.ALL_IN_ONE_GROUP)
        rates = {"PettingZooWrapper": env_steps_per_second(wrapper, 1, config.max_cycles, args.seconds)}
        for batch in (1, 64, 1024):
            native = DSATorchRLEnv(scenario, env_version=version, num_envs=batch)
            rates[f"DSATorchRLEnv B={batch}"] = env_steps_per_second(native, batch, config.max_cycles, args.seconds)
        for runner, rate in rates.items():
            print(f"{scenario:>10} {runner:>24} {rate:12,.0f}")
        ratio = rates["DSATorchRLEnv B=1024"] / rates["PettingZooWrapper"]
        print(f"{scenario:>10} native B=1024 / PettingZooWrapper = {ratio:,.0f}x (target >= 50x)")


if __name__ == "__main__":
    main()
