"""Distributed dynamic spectrum access (DSA), version 1: scenarios where adapting pays.

v0's network (N users, K channels, L SNR levels, no coordination, own ACK and SNR only) with
packet queues fed by bursty sources, Gilbert-Elliott links with a decoding threshold, and a
choice of objective. ``dsa_v0`` is unchanged.

| Import               | ``from envs import dsa_v1``                                          |
|----------------------|----------------------------------------------------------------------|
| Actions              | Discrete                                                             |
| Parallel API         | Yes (``dsa_v1.parallel_env()``); AEC through ``dsa_v1.env()``         |
| Manual control       | No                                                                   |
| Agents               | ``agents = ["user_0", ..., "user_{N-1}"]``                           |
| Action shape         | ``Discrete(1 + K*L)``: 0 idle, ``1 + k*L + l`` channel k, level l     |
| Observation shape    | ``(1 + K*L + 4,)``, +1 with ``include_slot_fraction``, +``frame_clock`` |
| Observation values   | one-hot last action, ACK, observed SNR / scale, queue / buffer, head-of-line age / deadline |
| State shape          | v0's, then queues, HOL ages, sources, link states, EWMA throughputs  |
| Reward               | ``rate``, ``packets``, ``proportional_fair`` or ``log_utility``; below |
| Episode end          | truncation after ``max_cycles`` slots (default 100); no termination  |
| Render modes         | ``"ansi"``: the last slot; ``"human"``: print it; ``"rgb_array"``: waterfall |

Scenarios (``scenario=``), each tuned so that the best non-adaptive schedule reaches at most
75% of the centralised reference (see ``envs/dsa/config_v1.py`` for why):
``traffic`` (N=8, K=4, bursty heterogeneous arrivals at ~80% load, buffer 10, deadline 20),
``gilbert`` (N=3, K=4, correlated links below a decoding threshold, reward ``rate``),
``pu_traffic`` (primary users and bursty traffic), ``fair`` (N=6, K=3, Rayleigh fading and
correlated links, reward ``proportional_fair``), ``large_traffic`` (N=32, K=16). Any
:class:`envs.dsa.DSAConfigV1` field can be overridden by keyword.

Rewards, each minus the power cost and penalties: ``rate`` is v0's log2(1 + SINR) of a
delivered transmission; ``packets`` is 1 per delivered packet minus ``drop_cost`` per dropped
packet and ``delay_cost`` per queued packet; ``proportional_fair`` is the delivered rate over
the user's EWMA throughput; ``log_utility`` is the slot's increase of the user's
log(mean throughput + ``alpha_epsilon``), so an episode's rewards add up to its alpha-fair
utility (less N log ``alpha_epsilon``). A successful transmission delivers the user's head-of-line
packet; a packet is dropped when it has waited ``deadline`` slots or arrives to a full buffer.
Per-slot team metrics in every
agent's ``info``: v0's, and ``delivered``, ``dropped``, ``arrived`` packets per slot,
``fairness_window`` (Jain over the last ``fairness_window`` slots), the episode's mean
``delay``, ``drop_rate``, ``alpha_fair`` utility and ``geometric_throughput``. Reference
policies (centralised, best non-adaptive, decentralised) are in :mod:`envs.dsa.references`.
"""

from __future__ import annotations

from typing import Any

from pettingzoo import AECEnv
from pettingzoo.utils import parallel_to_aec, wrappers

from envs.dsa.config_v1 import DSAConfigV1
from envs.dsa.parallel_env import DSAParallelEnvV1


def parallel_env(
    scenario: str | DSAConfigV1 = "traffic", render_mode: str | None = None, **overrides: Any
) -> DSAParallelEnvV1:
    """The v1 DSA environment with PettingZoo's parallel API."""
    return DSAParallelEnvV1(scenario, render_mode=render_mode, **overrides)


def raw_env(
    scenario: str | DSAConfigV1 = "traffic", render_mode: str | None = None, **overrides: Any
) -> AECEnv:
    """The v1 DSA environment with PettingZoo's AEC API, unwrapped."""
    return parallel_to_aec(parallel_env(scenario, render_mode=render_mode, **overrides))


def env(
    scenario: str | DSAConfigV1 = "traffic", render_mode: str | None = None, **overrides: Any
) -> AECEnv:
    """The v1 DSA environment with PettingZoo's AEC API and its usual order-enforcing wrapper."""
    return wrappers.OrderEnforcingWrapper(raw_env(scenario, render_mode=render_mode, **overrides))
