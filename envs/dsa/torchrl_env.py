"""DSA as a native, batched TorchRL environment (optional: ``pip install -e ".[torchrl]"``).

TorchRL's ``PettingZooWrapper`` over the ParallelEnv works, but steps one copy at a time in
Python. :class:`DSATorchRLEnv` is an ``EnvBase`` over the vectorised core instead: ``B`` copies
in lockstep, one agent group ``"agents"``, and the global state for centralised critics::

    from envs.dsa.torchrl_env import DSATorchRLEnv
    env = DSATorchRLEnv("snr", num_envs=256)          # dsa_v0; env_version="v1" for dsa_v1
    rollout = env.rollout(100)                         # batch (256, 100)
    rollout["next", "agents", "reward"]                # (256, 100, N, 1)

Keys: ``("agents", "observation")`` ``(B, N, obs_dim)``, ``("agents", "action")`` ``(B, N)``
categorical, ``("agents", "reward")`` ``(B, N, 1)``, ``"state"`` ``(B, state_dim)``, and
``done`` / ``terminated`` / ``truncated`` ``(B, 1)``. Episodes end by truncation only, after
``max_cycles`` slots, in every copy at once; so a reset always resets every copy. Spaces and
values are those of the PettingZoo env (see :mod:`envs.dsa_v0` and :mod:`envs.dsa_v1`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from tensordict import TensorDict, TensorDictBase
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

from envs.dsa.versions import make_core, make_env_config

GROUP = "agents"
"""The one agent group: every user is in it."""


class DSATorchRLEnv(EnvBase):
    """``num_envs`` copies of a DSA preset (``scenario`` of ``env_version``, with ``overrides``
    of its config fields) as one TorchRL environment of batch size ``(num_envs,)``."""

    def __init__(self, scenario: str = "basic", env_version: str = "v0", num_envs: int = 64,
                 device: torch.device | str = "cpu", **overrides: Any):
        self.config = make_env_config(env_version, scenario, **overrides)
        super().__init__(batch_size=torch.Size([num_envs]), device=device)
        self.core = make_core(self.config, num_envs=num_envs)
        self.n_agents = self.config.n_users
        self._next_seed: int | None = None
        B, N = num_envs, self.n_agents
        obs_space, state_space = self.core.observation_space, self.core.state_space

        def box(space: Any, shape: tuple[int, ...]) -> Bounded:
            low, high = (torch.as_tensor(np.broadcast_to(x, shape).copy(), device=self.device)
                         for x in (space.low, space.high))
            return Bounded(low=low, high=high, shape=shape, dtype=torch.float32, device=self.device)

        self.observation_spec = Composite(
            {GROUP: Composite({"observation": box(obs_space, (B, N, self.core.obs_dim))}, shape=(B, N)),
             "state": box(state_space, (B, self.core.state_dim))}, shape=(B,), device=self.device)
        self.action_spec = Composite(
            {GROUP: Composite({"action": Categorical(self.core.n_actions, shape=(B, N), dtype=torch.int64,
                                                     device=self.device)}, shape=(B, N))},
            shape=(B,), device=self.device)
        self.reward_spec = Composite(
            {GROUP: Composite({"reward": Unbounded(shape=(B, N, 1), dtype=torch.float32, device=self.device)},
                              shape=(B, N))}, shape=(B,), device=self.device)
        flag = Categorical(2, shape=(B, 1), dtype=torch.bool, device=self.device)
        self.done_spec = Composite({"done": flag, "terminated": flag.clone(), "truncated": flag.clone()},
                                   shape=(B,), device=self.device)

    def _set_seed(self, seed: int | None) -> None:
        self._next_seed = seed  # the next reset draws every copy's episode from it

    def _output(self, obs: np.ndarray, done: bool, rewards: np.ndarray | None = None) -> TensorDict:
        B = self.batch_size[0]
        agents = {"observation": torch.as_tensor(obs, device=self.device)}
        if rewards is not None:
            agents["reward"] = torch.as_tensor(rewards[..., None], dtype=torch.float32, device=self.device)
        flag = torch.full((B, 1), done, dtype=torch.bool, device=self.device)
        return TensorDict({GROUP: TensorDict(agents, batch_size=(B, self.n_agents)),
                           "state": torch.as_tensor(self.core.state(), device=self.device),
                           "done": flag, "terminated": torch.zeros_like(flag), "truncated": flag.clone()},
                          batch_size=self.batch_size, device=self.device)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDict:
        if tensordict is not None and "_reset" in tensordict.keys():
            which = tensordict["_reset"].reshape(-1)
            if which.any() and not which.all():
                raise ValueError("DSATorchRLEnv resets every copy at once (episodes truncate together); "
                                 f"got a partial _reset of {int(which.sum())} of {which.numel()} copies")
        obs = self.core.reset(seed=self._next_seed)
        self._next_seed = None
        return self._output(obs, done=False)

    def _step(self, tensordict: TensorDictBase) -> TensorDict:
        actions = tensordict[GROUP, "action"].reshape(self.batch_size[0], self.n_agents).cpu().numpy()
        obs, rewards, truncated, _ = self.core.step(actions)
        return self._output(obs, done=truncated, rewards=rewards)
