"""The DSA presets as BenchMARL tasks (optional: ``pip install -e ".[benchmarl]"``), backed by
the native TorchRL environment (:mod:`envs.dsa.torchrl_env`), so that BenchMARL's algorithms
(MAPPO, IPPO, QMIX, ...) train on DSA at the core's speed::

    from envs.dsa.benchmarl_task import dsa_task
    task = dsa_task("snr")                              # or dsa_task("traffic", env_version="v1")
    Experiment(task=task, algorithm_config=MappoConfig.get_from_yaml(), ...).run()

A task's config is ``{"scenario", "env_version", "env"}``: the preset, its version, and
overrides of its config fields. Actions are discrete; the global state is given to the
algorithms that use one (MAPPO's critic, QMIX's mixer).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from benchmarl.environments.common import Task, TaskClass
from torchrl.data import Composite
from torchrl.envs import EnvBase

from envs.dsa.torchrl_env import GROUP, DSATorchRLEnv
from envs.dsa.versions import make_env_config, presets


class DSATaskClass(TaskClass):
    """One DSA preset for BenchMARL (see the module docstring for its config)."""

    def get_env_fun(self, num_envs: int, continuous_actions: bool, seed: int | None,
                    device: Any) -> Callable[[], EnvBase]:
        if continuous_actions:
            raise ValueError("DSA actions are discrete (channel and power level): set prefer_continuous_actions=False")
        config = copy.deepcopy(self.config)

        def make() -> EnvBase:
            env = DSATorchRLEnv(config["scenario"], env_version=config.get("env_version", "v0"), num_envs=num_envs,
                                device=device, **config.get("env", {}))
            env.set_seed(seed)
            return env

        return make

    def supports_continuous_actions(self) -> bool:
        return False

    def supports_discrete_actions(self) -> bool:
        return True

    def has_render(self, env: EnvBase) -> bool:
        return False

    def max_steps(self, env: EnvBase) -> int:
        return int(env.config.max_cycles)

    def group_map(self, env: EnvBase) -> dict[str, list[str]]:
        return {GROUP: [f"user_{i}" for i in range(env.n_agents)]}

    def observation_spec(self, env: EnvBase) -> Composite:
        spec = env.full_observation_spec_unbatched.clone()
        del spec["state"]
        return spec

    def info_spec(self, env: EnvBase) -> Composite | None:
        return None

    def state_spec(self, env: EnvBase) -> Composite | None:
        return Composite({"state": env.full_observation_spec_unbatched["state"].clone()})

    def action_spec(self, env: EnvBase) -> Composite:
        return env.full_action_spec_unbatched

    def action_mask_spec(self, env: EnvBase) -> Composite | None:
        return None

    @staticmethod
    def env_name() -> str:
        return "dsa"


class DSATask(Task):
    """The DSA presets of both versions, by name (their configs come from :func:`dsa_task`)."""

    BASIC = None
    SNR = None
    PU = None
    LARGE = None
    TRAFFIC = None
    GILBERT = None
    PU_TRAFFIC = None
    FAIR = None
    LARGE_TRAFFIC = None

    @staticmethod
    def associated_class() -> type[TaskClass]:
        return DSATaskClass


def dsa_task(scenario: str, env_version: str = "v0", **env: Any) -> DSATaskClass:
    """The BenchMARL task of preset ``scenario`` of ``env_version``, with ``env`` overrides of
    its config fields (checked here, so that a typo fails before an experiment starts)."""
    make_env_config(env_version, scenario, **env)  # validates the preset and the overrides
    if scenario not in presets(env_version):
        raise ValueError(f"unknown {env_version} scenario {scenario!r}")
    task = DSATask[scenario.upper()].get_task(config={"scenario": scenario, "env_version": env_version, "env": env})
    assert isinstance(task, DSATaskClass)
    return task
