"""Conventional DSA baselines and the genie-aided oracle.

Every policy follows :class:`DSAPolicy`: ``initial_state(core, rng)`` at the start of an
episode, then ``actions, state = policy(obs, state)`` each slot, on batched arrays
(``obs`` of shape ``(B, N, obs_dim)``, actions ``(B, N)``).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from scipy.optimize import linear_sum_assignment

from envs.dsa.config import DSAConfig
from envs.dsa.core import DSACore


class DSAPolicy(Protocol):
    """A (possibly recurrent, possibly stochastic) policy for all users of a batch."""

    def initial_state(self, core: DSACore, rng: np.random.Generator, /) -> Any:
        """Recurrent state at the start of an episode; ``rng`` is the policy's own stream."""

    def __call__(self, obs: np.ndarray, state: Any, /) -> tuple[np.ndarray, Any]:
        """Actions ``(B, N)`` for observations ``(B, N, obs_dim)``, and the next state
        (both arguments are passed by position)."""


def expected_best_level(config: DSAConfig) -> int:
    """The level with the highest net reward on a link of median (0 dB) gain (v1: a level
    below the decoding threshold earns nothing, and with the ``packets`` reward a delivery is
    worth one packet whatever its rate)."""
    levels = np.asarray(config.snr_levels_db)
    power = 10.0 ** (levels / 10.0)
    threshold = getattr(config, "min_snr_db", None)
    decodes = levels >= threshold if threshold is not None else np.ones(len(levels), dtype=bool)
    gain = np.ones(len(levels)) if getattr(config, "reward", "rate") == "packets" else np.log2(1.0 + power)
    net = np.where(decodes, gain, 0.0) - config.power_cost * power / power[-1]
    return int(np.argmax(net))


class SlottedAloha:
    """p-persistent slotted ALOHA: each slot every user independently transmits with
    probability ``p`` on a uniformly random channel. ``p = 1`` is plain random access.

    With ``stay_on_success`` it becomes the adaptive rule "stay on success, hop on failure":
    a user whose last transmission got through repeats it; the others behave as ALOHA.
    With packet queues (``dsa_v1`` traffic) only users with a packet contend.
    """

    def __init__(self, p: float = 1.0, level: int | None = None, stay_on_success: bool = False):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must lie in [0, 1], got {p}")
        self.p, self.level, self.stay_on_success = float(p), level, stay_on_success

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        level = expected_best_level(core.config) if self.level is None else self.level
        if not 0 <= level < core.n_levels:
            raise ValueError(f"level must lie in [0, {core.n_levels}), got {level}")
        gate = getattr(core, "queue_index", None) if getattr(core.config, "traffic", False) else None
        return {"rng": rng, "level": level, "K": core.n_channels, "L": core.n_levels, "gate": gate}

    def __call__(self, obs: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        rng, K, L = state["rng"], state["K"], state["L"]
        shape = obs.shape[:2]
        # Both draws happen every slot so the random stream does not depend on outcomes.
        transmit = rng.random(shape) < self.p
        channel = rng.integers(0, K, size=shape)
        actions = np.where(transmit, 1 + channel * L + state["level"], 0)
        if self.stay_on_success:
            n_actions = 1 + K * L
            last_action = obs[..., :n_actions].argmax(axis=-1)
            acked = obs[..., n_actions] > 0.5
            actions = np.where(acked, last_action, actions)
        if state["gate"] is not None:  # an empty queue has nothing to send
            actions = np.where(obs[..., state["gate"]] > 0, actions, 0)
        return actions.astype(np.int64), state


def aloha_success_probability(p: float, n_users: int, n_channels: int) -> float:
    """Closed form P(a given user succeeds in a slot) under p-persistent ALOHA with uniform
    channel choice and the collision model: p * (1 - p/K)^(N-1)."""
    return p * (1.0 - p / n_channels) ** (n_users - 1)


def link_values(core: DSACore) -> tuple[np.ndarray, np.ndarray]:
    """Best net reward of every (user, channel) link if it were alone on its channel this
    slot, and the level achieving it: two ``(B, N, K)`` arrays."""
    snr_db = core.link_gain_db[..., None] + core.level_db  # (B, N, K, L)
    snr = 10.0 ** (snr_db / 10.0)
    rate = np.log2(1.0 + snr)
    if core.capture_threshold_lin is not None:
        rate = np.where(snr >= core.capture_threshold_lin, rate, 0.0)
    net = rate - core.level_cost
    best_level = net.argmax(axis=-1)
    return np.take_along_axis(net, best_level[..., None], axis=-1)[..., 0], best_level


def oracle_actions(core: DSACore) -> np.ndarray:
    """The genie's actions for the coming slot: knowing every gain (fading included) and
    primary-user state, assign at most one user to each free channel so that the team
    reward is maximal (a maximum-weight bipartite matching); unmatched users stay idle."""
    value, best_level = link_values(core)
    value = np.where(core.pu_on[:, None, :], 0.0, np.maximum(value, 0.0))
    actions = np.zeros((core.num_envs, core.n_users), dtype=np.int64)
    for b in range(core.num_envs):  # one small assignment problem per copy
        users, channels = linear_sum_assignment(value[b], maximize=True)
        keep = value[b, users, channels] > 0.0
        users, channels = users[keep], channels[keep]
        actions[b, users] = 1 + channels * core.n_levels + best_level[b, users, channels]
    return actions


class GenieOracle:
    """Centralised genie: the per-slot optimal assignment (upper bound on team reward)."""

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> DSACore:
        return core  # the genie reads the environment itself

    def __call__(self, obs: np.ndarray, core: DSACore) -> tuple[np.ndarray, DSACore]:
        return oracle_actions(core), core


class ProbeThenSettle:
    """Learn the episode's link gains, then settle: what adapting within an episode is worth.

    Probing takes the first N slots: in slot t user i transmits at the top level on channel
    (i + t) mod N when that is a channel, so every user tries every channel once and no two
    users ever share one; a received SNR reveals the link's gain (a failure: no link). Then:

    * ``settle="central"``: the users are matched to channels on the probed gains, as the genie
      would on static gains (an upper bound for any probe-then-settle team: it knows everyone's
      probes);
    * ``settle="own"``: every user goes to its own best channel at its best level with no
      coordination, and after a failed slot retries there with probability 1/2.

    Meant for static channels (no fading, no primary users), where the probes stay true.
    """

    def __init__(self, settle: str = "central"):
        if settle not in ("central", "own"):
            raise ValueError(f"settle must be central or own, got {settle!r}")
        self.settle = settle

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        B, N, K = core.num_envs, core.n_users, core.n_channels
        return {"core": core, "rng": rng, "t": 0, "gain": np.full((B, N, K), np.nan), "plan": None}

    def __call__(self, obs: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        core, t = state["core"], state["t"]
        B, N, K, L = core.num_envs, core.n_users, core.n_channels, core.n_levels
        A = core.n_actions
        if 0 < t <= N:  # read the last probe: observed SNR = top level + gain
            channel = (np.arange(N) + t - 1) % N
            probed = channel < K
            snr = obs[..., A + 1] * core.config.snr_obs_scale_db
            acked = obs[..., A] > 0.5
            gain = np.where(acked, snr - core.level_db[-1], -np.inf)
            state["gain"][:, np.arange(N)[probed], channel[probed]] = gain[:, probed]
        state["t"] = t + 1
        if t < N:
            channel = (np.arange(N) + t) % N
            actions = np.where(channel < K, 1 + channel * L + (L - 1), 0)
            return np.broadcast_to(actions, (B, N)).astype(np.int64), state
        if state["plan"] is None:
            state["plan"] = self._plan(core, state["gain"])
        plan = state["plan"]
        if self.settle == "own":
            failed = (obs[..., :A].argmax(-1) > 0) & (obs[..., A] < 0.5)
            retry = state["rng"].random((B, N)) < 0.5  # drawn every slot
            plan = np.where(failed & ~retry, 0, plan)
        return plan, state

    def _plan(self, core: DSACore, gain: np.ndarray) -> np.ndarray:
        snr_db = gain[..., None] + core.level_db  # (B, N, K, L)
        net = np.where(np.isfinite(snr_db), np.log2(1.0 + 10.0 ** (np.nan_to_num(snr_db, neginf=-300) / 10.0)),
                       0.0) - core.level_cost
        level = net.argmax(axis=-1)
        value = np.take_along_axis(net, level[..., None], axis=-1)[..., 0]
        if self.settle == "own":
            best = value.argmax(axis=-1)  # (B, N)
            go = np.take_along_axis(value, best[..., None], axis=-1)[..., 0] > 0
            return np.where(go, 1 + best * core.n_levels + np.take_along_axis(level, best[..., None], -1)[..., 0], 0)
        actions = np.zeros(value.shape[:2], dtype=np.int64)
        for b in range(value.shape[0]):
            users, channels = linear_sum_assignment(np.maximum(value[b], 0.0), maximize=True)
            keep = value[b, users, channels] > 0
            actions[b, users[keep]] = 1 + channels[keep] * core.n_levels + level[b, users[keep], channels[keep]]
        return actions
