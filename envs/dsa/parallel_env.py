"""PettingZoo ``ParallelEnv`` over one copy of the vectorised DSA core."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from envs.dsa.config import DSAConfig, make_config
from envs.dsa.config_v1 import make_config_v1
from envs.dsa.core import DSACore
from envs.dsa.versions import make_core
from envs.dsa.waterfall import Trace, waterfall_image


class DSAParallelEnv(ParallelEnv):
    """Distributed dynamic spectrum access as a PettingZoo parallel environment.

    See :mod:`envs.dsa_v0` for the table of spaces, rewards and options.
    """

    metadata: dict[str, Any] = {"name": "dsa_v0", "render_modes": ["human", "ansi", "rgb_array"],
                                "is_parallelizable": True}
    make_config = staticmethod(make_config)

    def __init__(
        self,
        scenario: str | DSAConfig = "basic",
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.config = self.make_config(scenario, **overrides)
        self.render_mode = render_mode
        self.core = make_core(self.config, num_envs=1)
        self.possible_agents = [f"user_{i}" for i in range(self.config.n_users)]
        self.agents: list[str] = []
        # Built once: PettingZoo requires the same space object on every call.
        self._observation_spaces = {a: self.core.observation_space for a in self.possible_agents}
        self._action_spaces = {a: self.core.action_space for a in self.possible_agents}
        self.state_space = self.core.state_space
        self._last: dict[str, np.ndarray] | None = None
        self._trace = Trace(self.config.n_users, self.config.n_channels)

    # PettingZoo's parallel_api_test sets ``env.max_cycles``; it takes effect at reset.
    @property
    def max_cycles(self) -> int:
        return self.config.max_cycles

    @max_cycles.setter
    def max_cycles(self, value: int) -> None:
        self.config = self.config.replace(max_cycles=int(value))
        self.core.config = self.config

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        obs = self.core.reset(seed=seed)[0]
        self.agents = self.possible_agents[:]
        self._last = None
        self._trace = Trace(self.config.n_users, self.config.n_channels)
        return {a: obs[i] for i, a in enumerate(self.agents)}, {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        if not self.agents:
            raise RuntimeError("step() called after the episode ended: call reset() first")
        if set(actions) != set(self.agents):
            missing = sorted(set(self.agents) - set(actions))
            unknown = sorted(set(actions) - set(self.agents))
            raise ValueError(
                f"actions must have one entry per live agent; missing {missing}, unknown {unknown}"
            )
        joint = np.empty((1, len(self.agents)), dtype=np.int64)
        for i, agent in enumerate(self.agents):
            a = actions[agent]
            if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
                if not (isinstance(a, np.ndarray) and a.shape == () and a.dtype.kind in "iu"):
                    raise ValueError(f"action of {agent} must be an integer, got {a!r}")
            joint[0, i] = int(a)
        pu_on = self.core.pu_on.copy()  # the slot's primary users (step moves them on)
        obs, rewards, truncated, info = self.core.step(joint)
        if not truncated:  # the core reports the episode metrics at the end; here they are in every slot's infos
            info.update(self.core.episode_summary())
        self._last = {"actions": joint[0], **{k: v[0] for k, v in info.items()}}
        if self.render_mode == "rgb_array":
            self._trace.record_core_slot(self.core, joint, info, pu_on)

        # an undefined metric (the delay before any delivery) is None, which compares equal
        team = {m: None if np.isnan(info[m][0]) else float(info[m][0]) for m in self.core.metrics}
        out_obs, out_rew, out_term, out_trunc, out_info = {}, {}, {}, {}, {}
        for i, agent in enumerate(self.agents):
            out_obs[agent] = obs[0, i]
            out_rew[agent] = float(rewards[0, i])
            out_term[agent] = False
            out_trunc[agent] = truncated
            out_info[agent] = {
                "success": bool(info["success"][0, i]),
                "collision": bool(info["collision"][0, i]),
                "rate": float(info["rate"][0, i]),
                **({"delivered": bool(info["delivered_by_user"][0, i])} if "delivered_by_user" in info else {}),
                **team,
            }
        if truncated:
            self.agents = []
        return out_obs, out_rew, out_term, out_trunc, out_info

    def state(self) -> np.ndarray:
        return self.core.state()[0]

    def render(self) -> str | np.ndarray | None:
        """``ansi``: a table of the last slot; ``human``: print it; ``rgb_array``: the waterfall
        of the episode so far, ``(K * 10, slots * 4, 3)`` uint8 (see :mod:`envs.dsa.waterfall`)."""
        if self.render_mode is None:
            return None
        if self.render_mode == "rgb_array":
            return waterfall_image(self._trace)
        text = render_slot(self.core, self._last)
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def close(self) -> None:
        pass


class DSAParallelEnvV1(DSAParallelEnv):
    """``dsa_v1`` as a PettingZoo parallel environment (see :mod:`envs.dsa_v1`)."""

    metadata = {"name": "dsa_v1", "render_modes": ["human", "ansi", "rgb_array"], "is_parallelizable": True}
    make_config = staticmethod(make_config_v1)

    def __init__(self, scenario: str | DSAConfig = "traffic", render_mode: str | None = None, **overrides: Any):
        super().__init__(scenario, render_mode=render_mode, **overrides)


def render_slot(core: DSACore, last: dict[str, np.ndarray] | None) -> str:
    """A readable table of the last slot of copy 0 (``ansi`` and ``human`` render modes)."""
    cfg = core.config
    pu = "".join("#" if on else ("." if m else "-") for on, m in zip(core.pu_on[0], core.pu_mask))
    lines = [f"slot {core.t}/{cfg.max_cycles}  PU next slot [{pu}]  (# on, . off, - none)"]
    if last is None:
        lines.append("(no slot played yet)")
        return "\n".join(lines)
    queues = getattr(core, "queues", None) if getattr(cfg, "traffic", False) else None
    lines.append(f"{'user':>8} {'action':>12} {'result':>9} {'SNR dB':>7} {'rate':>6}" + (" queue" if queues else ""))
    for i, a in enumerate(last["actions"]):
        if a == 0:
            what, result = "idle", "-"
        else:
            k, lvl = divmod(int(a) - 1, cfg.n_levels)
            what = f"ch{k} lvl{lvl}"
            result = "OK" if last["success"][i] else ("COLLISION" if last["collision"][i] else "FAIL")
        snr = f"{last['snr_db'][i]:7.1f}" if a else f"{'':7}"
        queue = f" {queues.length[0, i]:5d}" if queues else ""
        lines.append(f"{'user_' + str(i):>8} {what:>12} {result:>9} {snr} {last['rate'][i]:6.2f}{queue}")
    lines.append(
        f"utility {last['utility']:.2f}  success {last['success_rate']:.2f}  "
        f"collision {last['collision_rate']:.2f}  fairness {last['fairness']:.2f}"
    )
    return "\n".join(lines)
