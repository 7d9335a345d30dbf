"""Reference policies of ``dsa_v1``: what a centralised scheduler achieves, what the best
schedule that never adapts achieves, and the decentralised rules that adapt.

* Centralised, knowing every gain, link, primary-user and queue state
  (:class:`CentralScheduler`): the per-slot reward maximiser (the v0 genie for ``rate``, the
  proportional-fair scheduler for ``proportional_fair`` and ``log_utility``) and max-weight (queue length x
  service, throughput-optimal under traffic; the reference for ``packets``).
* Non-adaptive, chosen at the start of an episode from the static gains, the mean arrival
  rates and the channel statistics, never from what happens (:class:`StaticSchedule`): the
  best fixed assignment of users to channels, and a periodic TDMA frame with slot shares in
  proportion to the mean demand (equal shares: round-robin). A user sends in its slots only
  when it has a packet.
* Decentralised, adapting on their own ACKs: queue-aware ALOHA and stay-on-success
  (:class:`~envs.dsa.baselines.SlottedAloha`), binary exponential backoff
  (:class:`BinaryBackoff`) and :class:`MusicalChairs`, over channels and, where users see a
  frame clock, over the frame's (phase, channel) cells.

All follow :class:`~envs.dsa.baselines.DSAPolicy`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from envs.dsa.baselines import DSAPolicy, GenieOracle, SlottedAloha, expected_best_level
from envs.dsa.config import DSAConfig
from envs.dsa.config_v1 import FAIR_REWARDS, DSAConfigV1
from envs.dsa.core import DSACore
from envs.dsa.core_v1 import PF_FLOOR, DSACoreV1

_FADING_QUANTILES = -np.log1p(-(np.arange(32) + 0.5) / 32)  # Exp(1) power gains, equal mass each


def _assign(value: np.ndarray, level: np.ndarray, n_levels: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Actions ``(B, N)`` from the maximum-weight matching of users to channels on ``value``
    ``(B, N, K)`` (positive values only; ``allowed`` ``(B, N)`` masks users out)."""
    B, N, _ = value.shape
    value = np.maximum(value, 0.0) if allowed is None else np.where(allowed[..., None], np.maximum(value, 0.0), 0.0)
    actions = np.zeros((B, N), dtype=np.int64)
    for b in range(B):  # one small assignment problem per copy
        users, channels = linear_sum_assignment(value[b], maximize=True)
        keep = value[b, users, channels] > 0.0
        users, channels = users[keep], channels[keep]
        actions[b, users] = 1 + channels * n_levels + level[b, users, channels]
    return actions


def v1_core(core: DSACore, policy: str) -> DSACoreV1:
    """``core``, which a dsa_v1 reference policy needs to be a dsa_v1 core."""
    if not isinstance(core, DSACoreV1):
        raise TypeError(f"{policy} plays dsa_v1 cores, got {type(core).__name__}")
    return core


def _has_packet(core: DSACoreV1) -> np.ndarray:
    return core.queues.length > 0 if core.config.traffic else np.ones((core.num_envs, core.n_users), dtype=bool)


class CentralScheduler:
    """Centralised scheduling with full knowledge, one matching of users to free channels per
    slot. ``weight="reward"`` maximises the slot's reward (rate, packets, or rate / EWMA
    throughput); ``weight="max_weight"`` maximises sum of queue length x packets served."""

    def __init__(self, weight: str = "reward"):
        if weight not in ("reward", "max_weight"):
            raise ValueError(f"weight must be reward or max_weight, got {weight!r}")
        self.weight = weight

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> DSACoreV1:
        return v1_core(core, "CentralScheduler")  # it reads the environment itself

    def __call__(self, obs: np.ndarray, core: DSACoreV1) -> tuple[np.ndarray, DSACoreV1]:
        cfg = core.config
        snr_db = core.link_gain_db[..., None] + core.level_db  # (B, N, K, L)
        snr = 10.0 ** (snr_db / 10.0)
        decodes = np.ones(snr.shape, dtype=bool)
        if cfg.min_snr_db is not None:
            decodes &= snr_db >= cfg.min_snr_db
        if core.capture_threshold_lin is not None:
            decodes &= snr >= core.capture_threshold_lin
        if self.weight == "max_weight":
            gain = core.queues.length[..., None, None] * np.ones(snr.shape) if cfg.traffic else np.ones(snr.shape)
        elif cfg.reward == "packets":
            gain = np.ones(snr.shape)
        elif cfg.reward in FAIR_REWARDS:
            gain = np.log2(1.0 + snr) / np.maximum(core.pf_throughput, PF_FLOOR)[..., None, None]
        else:
            gain = np.log2(1.0 + snr)
        net = np.where(decodes, gain, 0.0) - core.level_cost
        level = net.argmax(axis=-1)
        value = np.take_along_axis(net, level[..., None], axis=-1)[..., 0]
        value = np.where(core.pu_on[:, None, :], 0.0, value)
        return _assign(value, level, core.n_levels, _has_packet(core)), core


def expected_link_values(core: DSACoreV1, know_gains: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per (user, channel): the expected per-slot reward of the user alone on the channel at
    its best fixed level, and that level, ``(B, N, K)`` each. Known: the episode's static
    gains (``know_gains=False``: only their mean, 0 dB, so every user looks alike on a
    channel), the stationary link, primary-user and source statistics, the fading
    distribution; a user sends only when it has a packet, at most one per slot."""
    cfg = core.config
    gain_db = core.gain_db if know_gains else np.zeros_like(core.gain_db)
    fading = _FADING_QUANTILES if cfg.rayleigh_fading else np.ones(1)
    p_bad = cfg.ge_p_bad
    p_pu_off = np.where(core.pu_mask, cfg.pu_p_off / max(cfg.pu_p_on + cfg.pu_p_off, 1e-12), 1.0)  # (K,)
    success, rate = np.zeros(()), np.zeros(())  # broadcast to (B, N, K, L) below
    for state_prob, attenuation in ((1.0 - p_bad, 0.0), (p_bad, cfg.ge_bad_db)):
        snr_db = gain_db[..., None, None] - attenuation + core.level_db[:, None]  # (B, N, K, L, 1)
        snr_db = snr_db + 10.0 * np.log10(fading)  # (B, N, K, L, F)
        ok = snr_db >= cfg.min_snr_db if cfg.min_snr_db is not None else np.ones(snr_db.shape, dtype=bool)
        if core.capture_threshold_lin is not None:
            ok &= 10.0 ** (snr_db / 10.0) >= core.capture_threshold_lin
        success = success + state_prob * ok.mean(axis=-1)
        rate = rate + state_prob * np.where(ok, np.log2(1.0 + 10.0 ** (snr_db / 10.0)), 0.0).mean(axis=-1)
    success, rate = success * p_pu_off[:, None], rate * p_pu_off[:, None]  # (B, N, K, L)
    demand = np.asarray(cfg.mean_arrival_rates())[:, None, None] if cfg.traffic else np.inf
    busy = np.minimum(1.0, demand / np.maximum(success, 1e-12))  # share of slots with a packet to send
    delivered = np.minimum(demand, success)
    if cfg.reward == "packets":
        gain = delivered - cfg.drop_cost * np.maximum(demand - success, 0.0) if cfg.traffic else success
    else:
        gain = rate * busy
    net = gain - core.level_cost * busy
    level = net.argmax(axis=-1)
    return np.take_along_axis(net, level[..., None], axis=-1)[..., 0], level


def tdma_frame(shares: np.ndarray, per_slot: int, slots: int) -> np.ndarray:
    """Which users hold a slot, ``(slots, N)`` bool: smooth weighted round-robin where user i
    gains ``per_slot * share_i`` credit a slot (at most 1) and the ``per_slot`` users with the
    most credit are served (ties: lower index) and pay 1. Equal shares give round-robin."""
    shares = np.asarray(shares, dtype=float) / np.sum(shares)
    gain = np.minimum(per_slot * shares, 1.0)
    credit = np.zeros(len(shares))
    frame = np.zeros((slots, len(shares)), dtype=bool)
    for t in range(slots):
        credit += gain
        chosen = np.argsort(-credit, kind="stable")[:per_slot]
        chosen = chosen[credit[chosen] > 0]
        frame[t, chosen] = True
        credit[chosen] -= 1.0
    return frame


class StaticSchedule:
    """A schedule fixed at the start of the episode (see :func:`expected_link_values`):
    ``fixed``, the best assignment of users to channels for the whole episode; ``tdma``, a
    periodic frame with slot shares in proportion to the mean demand (equal with full
    buffers), each slot's users on the channels that suit them best on average.

    ``know_gains=False`` plans on the mean gain instead of the episode's static gains: users
    then go to channels by their index (ties of the matching), as a team that has learned a
    schedule but does not adapt it to the episode would."""

    def __init__(self, kind: str = "fixed", know_gains: bool = True):
        if kind not in ("fixed", "tdma"):
            raise ValueError(f"kind must be fixed or tdma, got {kind!r}")
        self.kind, self.know_gains = kind, know_gains

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        core = v1_core(core, "StaticSchedule")
        cfg = core.config
        value, level = expected_link_values(core, self.know_gains)
        T = cfg.max_cycles
        if self.kind == "fixed":
            plan = np.repeat(_assign(value, level, core.n_levels)[None], T, axis=0)
        else:
            shares = np.asarray(cfg.mean_arrival_rates()) if cfg.traffic else np.ones(core.n_users)
            frame = tdma_frame(shares, min(core.n_users, core.n_channels), T)
            plan = np.stack([_assign(value, level, core.n_levels, np.broadcast_to(frame[t], value.shape[:2]))
                             for t in range(T)])
        gate = core.queue_index if cfg.traffic else None
        return {"plan": plan, "t": 0, "gate": gate}

    def __call__(self, obs: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        actions = state["plan"][state["t"] % len(state["plan"])]
        if state["gate"] is not None:
            actions = np.where(obs[..., state["gate"]] > 0, actions, 0)
        state["t"] += 1
        return actions, state


def last_outcome(obs: np.ndarray, n_actions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """From an observation: the last action, whether it was a transmission, and its ACK."""
    last = obs[..., :n_actions].argmax(axis=-1)
    return last, last > 0, obs[..., n_actions] > 0.5


def coming_phase(obs: np.ndarray, clock_index: int, frame_clock: int) -> np.ndarray:
    """From an observation: the coming slot's phase of the frame clock."""
    return obs[..., clock_index:clock_index + frame_clock].argmax(axis=-1)


class BinaryBackoff:
    """Slotted binary exponential backoff (802.11 DCF's contention window) on random channels:
    a user with a packet waits a counter drawn in [0, CW) down to 0, then transmits; after a
    failure CW doubles (up to ``cw_max``), after a success it returns to ``cw_min``."""

    def __init__(self, cw_min: int = 2, cw_max: int = 64, level: int | None = None):
        if not 1 <= cw_min <= cw_max:
            raise ValueError(f"need 1 <= cw_min <= cw_max, got {cw_min}, {cw_max}")
        self.cw_min, self.cw_max, self.level = cw_min, cw_max, level

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        core = v1_core(core, "BinaryBackoff")
        shape = (core.num_envs, core.n_users)
        return {"rng": rng, "cw": np.full(shape, self.cw_min), "counter": rng.integers(0, self.cw_min, shape),
                "level": expected_best_level(core.config) if self.level is None else self.level,
                "K": core.n_channels, "L": core.n_levels, "A": core.n_actions,
                "gate": core.queue_index if core.config.traffic else None}

    def __call__(self, obs: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        rng, cw, counter = state["rng"], state["cw"], state["counter"]
        _, sent, acked = last_outcome(obs, state["A"])
        cw = np.where(sent, np.where(acked, self.cw_min, np.minimum(2 * cw, self.cw_max)), cw)
        redraw = rng.integers(0, np.iinfo(np.int64).max, cw.shape) % cw  # drawn every slot
        has_packet = obs[..., state["gate"]] > 0 if state["gate"] is not None else np.ones(cw.shape, dtype=bool)
        counter = np.where(sent, redraw, np.where(has_packet & (counter > 0), counter - 1, counter))
        transmit = has_packet & (counter == 0)
        channel = rng.integers(0, state["K"], cw.shape)
        actions = np.where(transmit, 1 + channel * state["L"] + state["level"], 0)
        state.update(cw=cw, counter=counter)
        return actions.astype(np.int64), state


class MusicalChairs:
    """Musical chairs: hop to a random channel every slot until a transmission succeeds, then
    sit on that channel; a user whose queue empties leaves its chair (and hops again later).

    With ``frame=True``, on a preset whose users see a frame clock of F slots, a chair is a
    (phase, channel) cell of the frame, the grid a TDMA frame fills: a seated user transmits
    only in its own phase, so F users can take turns on one channel."""

    def __init__(self, level: int | None = None, frame: bool = False):
        self.level, self.frame = level, frame

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        core = v1_core(core, "MusicalChairs")
        frame = core.config.frame_clock if self.frame else 0
        if self.frame and not frame:
            raise ValueError("MusicalChairs(frame=True) needs a preset with a frame clock (frame_clock > 0)")
        shape = (core.num_envs, core.n_users)
        return {"rng": rng, "chair": np.full(shape, -1), "phase": np.zeros(shape, dtype=np.int64),
                "level": expected_best_level(core.config) if self.level is None else self.level,
                "K": core.n_channels, "L": core.n_levels, "A": core.n_actions, "F": frame,
                "clock": core.clock_index, "gate": core.queue_index if core.config.traffic else None}

    def __call__(self, obs: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        last, sent, acked = last_outcome(obs, state["A"])
        chair = np.where(sent & acked, (last - 1) // state["L"], state["chair"])
        if state["F"]:  # the phase of the coming slot, and of the one just played
            now = coming_phase(obs, state["clock"], state["F"])
            state["phase"] = np.where(sent & acked, (now - 1) % state["F"], state["phase"])
            my_turn = state["phase"] == now
        else:
            my_turn = np.ones(chair.shape, dtype=bool)
        has_packet = obs[..., state["gate"]] > 0 if state["gate"] is not None else np.ones(chair.shape, dtype=bool)
        chair = np.where(has_packet, chair, -1)  # idle release
        hop = self._hop(state, chair.shape)  # drawn every slot
        seated = chair >= 0
        channel = np.where(seated, chair, hop)
        transmit = has_packet & (~seated | my_turn)
        actions = np.where(transmit, 1 + channel * state["L"] + state["level"], 0)
        state["chair"] = chair
        return actions.astype(np.int64), state

    def _hop(self, state: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray:
        """The channel each unseated user tries next: uniform over the K channels."""
        return state["rng"].integers(0, state["K"], shape)


def reference_policy(config: DSAConfig) -> DSAPolicy:
    """The centralised reference of a config: v0's genie oracle; on v1 max-weight for
    ``packets``, the per-slot reward maximiser otherwise."""
    if not isinstance(config, DSAConfigV1):
        return GenieOracle()
    return CentralScheduler("max_weight" if config.reward == "packets" else "reward")


def score_metric(config: DSAConfig) -> str:
    """The metric a scenario is judged on: ``utility``, or v1's geometric mean throughput
    for ``proportional_fair`` and ``log_utility``."""
    return config.score_metric if isinstance(config, DSAConfigV1) else "utility"


def conventional_policies(config: DSAConfig, seed: int = 0) -> dict[str, DSAPolicy]:
    """The policies a learned team is compared with, besides the centralised reference:
    v0's baselines (random access, tuned ALOHA, stay-on-success); on v1 the non-adaptive
    schedules and the decentralised rules."""
    from envs.dsa.evaluation import baseline_policies

    if not isinstance(config, DSAConfigV1):
        policies = baseline_policies(config, seed)
        policies.pop("oracle")
        return policies
    policies = reference_policies(config, seed)
    policies.pop("central")
    return policies


def tune(make: Any, config: DSAConfigV1, grid: Any, episodes: int = 16, seed: int = 0) -> DSAPolicy:
    """``make(x)`` for the ``x`` of ``grid`` with the highest mean utility on ``seed``'s episodes."""
    from envs.dsa.evaluation import evaluate

    scores = [evaluate(make(x), config, episodes, seed=seed).mean() for x in grid]
    return make(grid[int(np.argmax(scores))])


def reference_policies(config: DSAConfigV1, seed: int = 0) -> dict[str, DSAPolicy]:
    """Every reference of a v1 config by name: the centralised reference, the two
    non-adaptive schedules, and the decentralised rules (their parameters tuned on ``seed``)."""
    probabilities = tuple(np.round(np.linspace(0.05, 1.0, 20), 2))
    return {
        "central": reference_policy(config),
        "fixed": StaticSchedule("fixed"),
        "tdma": StaticSchedule("tdma"),
        "aloha": tune(lambda p: SlottedAloha(float(p)), config, probabilities, seed=seed),
        "stay_on_success": tune(lambda p: SlottedAloha(float(p), stay_on_success=True), config, probabilities,
                                seed=seed),
        "backoff": tune(lambda w: BinaryBackoff(int(w), 64), config, (1, 2, 4, 8, 16), seed=seed),
        "musical_chairs": MusicalChairs(),
        **({"musical_chairs_frame": MusicalChairs(frame=True)} if config.frame_clock else {}),
    }
