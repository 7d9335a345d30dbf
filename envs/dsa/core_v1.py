"""The ``dsa_v1`` simulation: v0's vectorised core with packet queues, Markov-modulated bursty
sources, Gilbert-Elliott links, a decoding threshold and three objectives.

A slot, for every copy at once:

1. users act; transmissions contend as in v0 on the links' current gains (static gain +
   fading - the Gilbert-Elliott attenuation of a bad link); a transmission received below
   ``min_snr_db`` fails;
2. a successful transmission delivers the user's head-of-line packet (with full buffers there
   always is one; with an empty queue it delivers nothing and still costs power);
3. the queues drop expired packets, then take the slot's arrivals (a full queue drops them);
4. the reward: ``rate`` (v0), ``packets``, ``proportional_fair`` or ``log_utility``;
5. the exogenous processes move on, drawn whatever the users did: primary users, link
   states, fading, the sources' ON/OFF states.

The observation adds the user's own queue length / buffer and head-of-line age / deadline
(full buffers: 1 and 0); the global state adds every queue, source and link state and the
users' EWMA throughputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from envs.dsa.config_v1 import FAIR_REWARDS, DSAConfigV1
from envs.dsa.core import DSACore
from envs.dsa.queues import PacketQueues
from envs.dsa.slot import METRICS, Contention, jain_fairness, row_sum

METRICS_V1 = METRICS + ("delivered", "dropped", "arrived", "fairness_window", "delay", "drop_rate", "alpha_fair",
                        "geometric_throughput")
"""v0's team metrics, plus packets delivered / dropped / arrived per slot (summed over users),
Jain's index over the last ``fairness_window`` slots, the mean delay of the delivered packets,
the share of arrived packets dropped, the alpha-fair (alpha = 1) utility
sum_i log(mean throughput_i + alpha_epsilon), and exp(alpha_fair / N), the geometric mean
throughput; throughput is delivered packets with the ``packets`` reward, the delivered rate
otherwise."""
PF_FLOOR = 0.1
"""The proportional-fair reward divides by max(T, PF_FLOOR), so a starved user's next success
is worth a lot but not unboundedly much."""


def _scalar_if_equal(values: np.ndarray) -> np.ndarray | np.float32:
    """``values``, or their one value where they are all equal."""
    return values[0] if values.size and (values == values[0]).all() else values


def float32_threshold(p: np.ndarray) -> np.ndarray:
    """The least float32 >= each ``p``: for a float32 ``u``, ``u < p`` exactly when ``u`` is
    below it (and ``u >= p`` when it is not)."""
    p = np.asarray(p, dtype=np.float64)
    rounded = p.astype(np.float32)
    return np.where(rounded < p, np.nextafter(rounded, np.float32(np.inf)), rounded).astype(np.float32)


class DSACoreV1(DSACore):
    """B copies of a ``dsa_v1`` network (see the module docstring)."""

    config: DSAConfigV1

    def __init__(self, config: DSAConfigV1, num_envs: int = 1) -> None:
        if not isinstance(config, DSAConfigV1):
            raise TypeError(f"DSACoreV1 takes a DSAConfigV1, got {type(config).__name__}")
        super().__init__(config, num_envs)
        B, N, K = self.num_envs, self.n_users, self.n_channels
        self.queue_index = self.n_actions + 2  # queue length, then head-of-line age
        self._lay_out_observation(own=4)
        self.state_dim = N * self.obs_dim + K + N * K + 1 + 3 * N + N * K + N
        self.metrics = METRICS_V1
        self.episode_metrics = ("fairness", "delay", "drop_rate", "alpha_fair", "geometric_throughput")
        self.arrival_rate = np.asarray(config.per_user("arrival_rate"))
        self.burst_p_on = np.asarray(config.per_user("burst_p_on"))
        self.burst_p_off = np.asarray(config.per_user("burst_p_off"))
        self._bursty = bool(config.traffic and (self.burst_p_off > 0).any())  # sources that change state
        # the float32 uniforms are compared with float32 thresholds: the same outcomes, no casts;
        # one threshold for all users is a scalar, which numpy compares several times faster
        self._arrival_u, self._on_u, self._off_u = (_scalar_if_equal(float32_threshold(p)) for p in (
            self.arrival_rate, self.burst_p_on, self.burst_p_off))
        self.queues = PacketQueues(B, N, config.buffer, config.deadline)
        self.source_on = np.ones((B, N), dtype=bool)
        self.ge_bad = np.zeros((B, N, K), dtype=bool)
        self.ge_flip_at = np.zeros((B, N, K), dtype=np.int32)  # the slot a link changes state
        with np.errstate(divide="ignore"):  # p = 1: rate inf, the state lasts one slot; p = 0: rate 0, forever
            self._ge_leave_rate = -np.log1p(-np.array([config.ge_p_gb, config.ge_p_bg]))  # good, bad
        self.pf_throughput = np.ones((B, N))
        self.window = np.zeros((config.fairness_window, B, N))  # slot-major: one slot is contiguous
        self.window_sum = np.zeros((B, N))  # the window's total, kept up to date
        self.cum_delivered = np.zeros(B)  # packets delivered so far, per copy
        self.cum_delay = np.zeros(B)
        self.cum_dropped = np.zeros(B)
        self.cum_arrived = np.zeros(B)
        self.obs = np.zeros((B, N, self.obs_dim), dtype=np.float32)

    # ----------------------------------------------------------------------------- spaces
    @property
    def state_space(self) -> spaces.Box:
        """v0's state, then every queue, HOL age, source, link state and EWMA throughput."""
        obs_space = self.observation_space
        N, K = self.n_users, self.n_channels
        low = np.concatenate([np.tile(obs_space.low, N), np.zeros(K), -np.ones(N * K), [0.0],
                              np.zeros(3 * N + N * K + N)]).astype(np.float32)
        return spaces.Box(low, np.ones(self.state_dim, dtype=np.float32), dtype=np.float32)

    @property
    def link_gain_db(self) -> np.ndarray:
        """Gain of every link for the coming slot: static + fading - the bad state's attenuation."""
        return self.gain_db + self.fading_db - self.config.ge_bad_db * self.ge_bad

    def _chosen_link_gain_db(self, link: np.ndarray) -> np.ndarray:
        return super()._chosen_link_gain_db(link) - self.config.ge_bad_db * self.ge_bad.ravel().take(link)

    def _decoded(self, snr_db: np.ndarray) -> np.ndarray | None:
        """A transmission received below ``min_snr_db`` fails (it is not a collision)."""
        threshold = self.config.min_snr_db
        return None if threshold is None else snr_db >= threshold

    # ------------------------------------------------------------------------------ reset
    def reset(self, seed: int | np.random.SeedSequence | None = None) -> np.ndarray:
        super().reset(seed)  # gains, primary users, fading: v0's draws
        B, N = self.num_envs, self.n_users
        cfg = self.config
        self.ge_bad = self.rng.random(self.ge_bad.shape) < cfg.ge_p_bad
        self.ge_flip_at.fill(0)
        if cfg.ge_p_gb > 0:
            self._draw_sojourns(np.arange(self.ge_bad.size))
        p_on = self.burst_p_on / np.maximum(self.burst_p_on + self.burst_p_off, 1e-12)
        self.source_on = self.rng.random((B, N)) < p_on
        self.queues.clear()
        self.pf_throughput = np.ones((B, N))
        self.window.fill(0.0)
        self.window_sum = np.zeros((B, N))
        self.cum_delivered = np.zeros(B)
        self.cum_delay, self.cum_dropped, self.cum_arrived = np.zeros(B), np.zeros(B), np.zeros(B)
        self._observe_queues()
        return self.obs.copy()

    # ------------------------------------------------------------------------------- step
    def step(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool, dict[str, np.ndarray]]:
        """Play one slot in every copy (see the module docstring); returns v0's
        ``(obs, rewards, truncated, info)`` with the metrics of :data:`METRICS_V1`, the per-user
        ``delivered_by_user`` packets and ``throughput`` (packets with the ``packets`` reward,
        the rate otherwise) in ``info``."""
        if self._needs_reset:
            raise RuntimeError("the episode is over (or never started): call reset() first")
        cfg = self.config
        actions = self.validate_actions(actions)
        c = self._contend(actions)
        slot = self.t
        if cfg.traffic:
            self._had_packet = self.queues.length > 0
            delivered, delay, expired = self.queues.serve(c.success, slot)
            arrivals = (self.rng.random(self.source_on.shape, dtype=np.float32) < self._arrival_u) & self.source_on
            dropped = expired | self.queues.arrive(arrivals, slot)
        else:
            delivered, delay = c.success, c.success.astype(np.int64)
            arrivals, dropped = delivered, np.zeros_like(delivered)
        rate = np.log2(1.0 + c.sinr) * delivered  # a rate is >= 0: the product is np.where's, and cheaper
        rewards = self._reward(rate, delivered, dropped) - self._costs(c)
        served = delivered.astype(float) if cfg.reward == "packets" else rate
        counts = self._account(served, delivered, delay, dropped, arrivals)
        self._observe(actions, delivered, c.snr_db)
        self._observe_queues()
        info = {**self._slot_info(c, rate, rewards), "throughput": served, "delivered_by_user": delivered, **counts,
                "fairness_window": jain_fairness(self.window_sum)}
        self._last_slot = c
        self._served = served
        truncated = self.t >= cfg.max_cycles
        if truncated:
            info.update(self.episode_summary())
        self._advance()
        self._needs_reset = truncated
        return self.obs.copy(), rewards, truncated, info

    def _gain_alone(self, c: Contention) -> np.ndarray:
        """How much more each user's reward would have been, before costs, had its transmission
        got through than had it failed: nothing below the decoding threshold or with an empty
        queue; ``rate``: the rate; ``packets``: its head-of-line packet, and one packet less
        queued; ``proportional_fair``: the rate over its EWMA throughput; ``log_utility``: the
        rise of log(mean throughput + eps) the rate would have brought. Not counted, with
        traffic: the delivered packet's knock-on on the same slot's drops (an arrival a full
        buffer then takes, a packet behind it that expires)."""
        cfg = self.config
        if cfg.reward == "packets":
            return self._throughput_alone(c) * (1.0 + cfg.delay_cost * cfg.traffic)
        rate = self._throughput_alone(c)
        if cfg.reward == "proportional_fair":
            return rate / self._pf_divisor
        if cfg.reward == "log_utility":
            before, t, eps = self.cum_throughput - self._served, self.t, cfg.alpha_epsilon
            return np.log((before + rate) / t + eps) - np.log(before / t + eps)
        return rate

    def _throughput_alone(self, c: Contention) -> np.ndarray:
        """What each transmission would have added to its user's throughput alone on its
        channel: nothing below the decoding threshold or from an empty queue; else a packet
        (the ``packets`` reward) or the rate."""
        cfg = self.config
        sent = c.snr_db >= cfg.min_snr_db if cfg.min_snr_db is not None else np.ones(c.success.shape, dtype=bool)
        if cfg.traffic:
            sent &= self._had_packet
        if cfg.reward == "packets":
            return sent.astype(float)
        return np.where(sent, self._rate_alone(c), 0.0)

    def _reward(self, rate: np.ndarray, delivered: np.ndarray, dropped: np.ndarray) -> np.ndarray:
        """The objective's gain per user, before costs and penalties (and the EWMA update)."""
        cfg = self.config
        if cfg.reward == "packets":
            gain = delivered - cfg.drop_cost * dropped
            return gain - cfg.delay_cost * self.queues.length if cfg.delay_cost else gain
        if cfg.reward in FAIR_REWARDS:
            self._pf_divisor = np.maximum(self.pf_throughput, PF_FLOOR)
            gain = rate / self._pf_divisor
            self.pf_throughput += (rate - self.pf_throughput) / cfg.pf_window  # the PF scheduler's weights
            if cfg.reward == "log_utility":  # telescopes: the episode's sum is the final alpha-fair utility
                t, eps = self.t, cfg.alpha_epsilon
                before = np.log(self.cum_throughput / max(t, 1) + eps)  # no slot yet: log(eps)
                gain = np.log((self.cum_throughput + rate) / (t + 1) + eps) - before
            return gain
        return rate

    def _account(self, served: np.ndarray, delivered: np.ndarray, delay: np.ndarray, dropped: np.ndarray,
                 arrivals: np.ndarray) -> dict[str, np.ndarray]:
        """Update the running totals; returns the slot's packet counts per copy."""
        self.cum_throughput += served
        slot = self.t % self.config.fairness_window
        self.window_sum += served - self.window[slot]
        self.window[slot] = served
        counts = {"delivered": row_sum(delivered), "dropped": row_sum(dropped), "arrived": row_sum(arrivals)}
        self.cum_delay += row_sum(delay)
        self.cum_delivered += counts["delivered"]
        self.cum_dropped += counts["dropped"]
        self.cum_arrived += counts["arrived"]
        return counts

    def _observe_queues(self) -> None:
        """Each user's queue length / buffer and HOL age / deadline before the next slot."""
        cfg = self.config
        if cfg.traffic:
            self.obs[:, :, self.queue_index] = self.queues.length / cfg.buffer
            self.obs[:, :, self.queue_index + 1] = self.queues.hol_age(self.t) / cfg.deadline
        else:
            self.obs[:, :, self.queue_index] = 1.0

    def episode_summary(self) -> dict[str, np.ndarray]:
        """v0's fairness, then the mean delay of the delivered packets (NaN before the first),
        the share of arrived packets dropped, the alpha-fair utility and the geometric mean
        throughput, over the episode so far."""
        cfg, t = self.config, self.t
        delivered_total = self.cum_delivered
        mean = np.divide(self.cum_throughput, max(t, 1))
        mean += cfg.alpha_epsilon
        alpha_fair = row_sum(np.log(mean, out=mean))
        delay = np.divide(self.cum_delay, delivered_total, out=np.full_like(self.cum_delay, np.nan),
                          where=delivered_total > 0)
        drop_rate = np.divide(self.cum_dropped, self.cum_arrived, out=np.zeros_like(self.cum_dropped),
                              where=self.cum_arrived > 0)
        return {
            **super().episode_summary(),
            "delay": delay,
            "drop_rate": drop_rate,
            "alpha_fair": alpha_fair,
            "geometric_throughput": np.exp(alpha_fair / self.n_users),
        }

    def _advance(self) -> None:
        """v0's exogenous dynamics, then the link states and the sources move on."""
        super()._advance()
        cfg = self.config
        if cfg.ge_p_gb > 0:  # links that never turn bad need no draws
            flip = self.ge_flip_at == self.t
            self.ge_bad ^= flip
            self._draw_sojourns(np.flatnonzero(flip))
        if self._bursty:  # sources that never turn OFF need no draws either
            u = self.rng.random(self.source_on.shape, dtype=np.float32)
            on = self.source_on  # np.where on booleans costs several times these bitwise operations
            self.source_on = (on & (u >= self._off_u)) | (~on & (u < self._on_u))

    def _draw_sojourns(self, links: np.ndarray) -> None:
        """The slot at which each of ``links`` (flat indices) leaves the state it is in now.

        A Gilbert-Elliott link stays in its state for a geometric number of slots, so instead
        of a coin per link and slot (the same chain) only the links that change are drawn, by
        inversion: ceil(E / -log(1 - p)) with E exponential is geometric with parameter p."""
        if links.size:  # (only drawn with both p's > 0, so both rates are > 0)
            rate = self._ge_leave_rate.take(self.ge_bad.ravel()[links].view(np.uint8))
            slots = self.rng.standard_exponential(links.size)
            np.ceil(np.divide(slots, rate, out=slots), out=slots)
            # a change after the episode's last slot never happens: the clip keeps slots in int32
            np.minimum(np.maximum(slots, 1.0, out=slots), self.config.max_cycles + 1.0, out=slots)
            self.ge_flip_at.ravel()[links] = self.t + slots.astype(np.int32)

    # ------------------------------------------------------------------------------ state
    def state(self) -> np.ndarray:
        """v0's global state, then queues / buffer, HOL ages / deadline, sources ON, links
        bad, and the EWMA throughputs T / (1 + T)."""
        B, cfg = self.num_envs, self.config
        extra = [self.queues.length / cfg.buffer, self.queues.hol_age(self.t) / cfg.deadline, self.source_on,
                 self.ge_bad.reshape(B, -1), self.pf_throughput / (1.0 + self.pf_throughput)]
        return np.concatenate([super().state(), *[np.asarray(x, dtype=np.float32) for x in extra]], axis=1)

    # ---------------------------------------------------------------- snapshot / restore
    _DYNAMIC = DSACore._DYNAMIC + ("ge_bad", "ge_flip_at", "source_on", "pf_throughput", "window", "window_sum",
                                   "cum_delivered", "cum_delay", "cum_dropped", "cum_arrived")

    def get_state(self) -> dict[str, Any]:
        return {**super().get_state(), **{f"queue_{k}": v for k, v in self.queues.get_state().items()}}

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)
        self.queues.set_state({k.removeprefix("queue_"): v for k, v in state.items() if k.startswith("queue_")})
