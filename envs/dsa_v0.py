"""Distributed dynamic spectrum access (DSA), version 0.

N secondary users share K orthogonal channels with no coordination. Each slot a user stays
idle or transmits on one channel at one of L transmit SNR levels; it then sees only its own
ACK and the SNR its transmission was received at.

| Import               | ``from envs import dsa_v0``                                        |
|----------------------|--------------------------------------------------------------------|
| Actions              | Discrete                                                           |
| Parallel API         | Yes (``dsa_v0.parallel_env()``); AEC through ``dsa_v0.env()``       |
| Manual control       | No                                                                 |
| Agents               | ``agents = ["user_0", ..., "user_{N-1}"]``                         |
| Action shape         | ``Discrete(1 + K*L)``: 0 idle, ``1 + k*L + l`` channel k, level l   |
| Observation shape    | ``(1 + K*L + 2,)``, +1 with ``include_slot_fraction``, +``frame_clock`` |
| Observation values   | one-hot last action, ACK in {0, 1}, observed SNR / scale in [-1, 1] |
| State shape          | ``N*obs_dim + K + N*K + 1``: observations, PU on/off, gains, slot   |
| Reward               | ``log2(1 + SINR)`` on success, minus power cost and penalties      |
| Episode end          | truncation after ``max_cycles`` slots (default 100); no termination |
| Render modes         | ``"ansi"``: the last slot; ``"human"``: print it; ``"rgb_array"``: waterfall |

Scenarios (``scenario=``): ``basic`` (N=4, K=2, L=1), ``snr`` (N=6, K=3, L=3, power cost,
frequency-selective gains), ``pu`` (N=6, K=4, L=2, Markov primary users on channels 0 and 1),
``large`` (N=32, K=16). Any :class:`envs.dsa.DSAConfig` field can be overridden by keyword,
e.g. ``dsa_v0.parallel_env(scenario="pu", pu_p_on=0.3, max_cycles=200)``.

Success: a transmission gets through when no other user and no active primary user is on
its channel (or, with ``capture_threshold_db``, when its SINR reaches the threshold). Per-slot
metrics are in every agent's ``info``: ``utility`` (team reward), ``success_rate``,
``collision_rate``, ``idle_rate``, ``channel_utilisation`` and Jain ``fairness`` of the
throughput so far.
"""

from __future__ import annotations

from typing import Any

from pettingzoo import AECEnv
from pettingzoo.utils import parallel_to_aec, wrappers

from envs.dsa.config import DSAConfig
from envs.dsa.parallel_env import DSAParallelEnv


def parallel_env(
    scenario: str | DSAConfig = "basic", render_mode: str | None = None, **overrides: Any
) -> DSAParallelEnv:
    """The DSA environment with PettingZoo's parallel API."""
    return DSAParallelEnv(scenario, render_mode=render_mode, **overrides)


def raw_env(
    scenario: str | DSAConfig = "basic", render_mode: str | None = None, **overrides: Any
) -> AECEnv:
    """The DSA environment with PettingZoo's AEC API, unwrapped."""
    return parallel_to_aec(parallel_env(scenario, render_mode=render_mode, **overrides))


def env(
    scenario: str | DSAConfig = "basic", render_mode: str | None = None, **overrides: Any
) -> AECEnv:
    """The DSA environment with PettingZoo's AEC API and its usual order-enforcing wrapper."""
    return wrappers.OrderEnforcingWrapper(raw_env(scenario, render_mode=render_mode, **overrides))
