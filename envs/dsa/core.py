"""Vectorised DSA simulation: B independent copies of the network stepped in lockstep.

Arrays are ``(B, N)`` per user, ``(B, K)`` per channel and ``(B, N, K)`` per link; nothing
loops over users or copies in Python. All copies share ``max_cycles`` and truncate together,
so the trainer resets the whole batch at once.

The exogenous process (gains, fading, primary users) draws the same random numbers whatever
the users do, so under one seed every policy faces exactly the same channel realisation. The
genie oracle and the per-slot comparisons in the tests rely on that.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from envs.dsa.config import DSAConfig
from envs.dsa.slot import METRICS, Contention, jain_fairness, row_sum


class DSACore:
    """B copies of a DSA network.

    ``metrics`` are the team metrics; those in ``episode_metrics`` describe the episode so far,
    so ``step`` reports them only at the episode's last slot (an evaluation keeps that value
    rather than averaging over slots), and :meth:`episode_summary` gives them at any slot.

    Example::

        core = DSACore(make_config("basic"), num_envs=64)
        obs = core.reset(seed=0)                       # (64, N, obs_dim) float32
        obs, rewards, truncated, info = core.step(actions)  # actions (64, N) ints
    """

    def __init__(self, config: DSAConfig, num_envs: int = 1) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.config = config
        self.num_envs = B = int(num_envs)
        N, K, L = config.n_users, config.n_channels, config.n_levels
        self.n_users, self.n_channels, self.n_levels = N, K, L
        self.n_actions = config.n_actions
        self._lay_out_observation(own=2)
        self.state_dim = N * self.obs_dim + K + N * K + 1

        self.level_db = np.asarray(config.snr_levels_db, dtype=np.float64)
        level_power = 10.0 ** (self.level_db / 10.0)
        self.level_cost = config.power_cost * level_power / level_power[-1]
        self.pu_mask = np.zeros(K, dtype=bool)
        self.pu_mask[list(config.pu_channels)] = True
        # the capture model's SINR threshold as a linear ratio (None: collision model)
        self.capture_threshold_lin = (
            None
            if config.capture_threshold_db is None
            else 10.0 ** (config.capture_threshold_db / 10.0)
        )
        # Flat index helpers: user (b, n) sits at b*N + n, channel (b, k) at b*K + k.
        self._chan_base = (np.arange(B) * K)[:, None]
        self._link_base = (np.arange(B * N) * K).reshape(B, N)  # link (b, n, k) at (b*N + n)*K + k
        # Each action's channel and level, looked up: cheaper than // and % on every slot.
        code = np.maximum(np.arange(self.n_actions) - 1, 0)
        self._action_channel, self._action_level = code // L, code % L

        self.metrics: tuple[str, ...] = METRICS
        self.episode_metrics: tuple[str, ...] = ("fairness",)
        self.rng = np.random.default_rng()
        self.t = 0
        self.gain_db = np.zeros((B, N, K))
        self.fading_db = np.zeros((B, N, K))
        self.pu_on = np.zeros((B, K), dtype=bool)
        self.obs = np.zeros((B, N, self.obs_dim), dtype=np.float32)
        self.cum_throughput = np.zeros((B, N))
        self._needs_reset = True
        self._last_slot: Contention | None = None  # for difference_rewards()

    def _lay_out_observation(self, own: int) -> None:
        """One user's observation: the one-hot last action, ``own`` values of its own (ACK,
        SNR, ...), then the slot fraction and the frame clock's one-hot, when observed."""
        cfg = self.config
        self.slot_index = self.n_actions + own
        self.clock_index = self.slot_index + int(cfg.include_slot_fraction)
        self.obs_dim = self.clock_index + cfg.frame_clock
        # where user (b, n)'s observation starts in the flat obs buffer; it depends on obs_dim,
        # so it is laid out here, with the columns (v1 adds its own)
        self._user_base = (np.arange(self.num_envs * self.n_users) * self.obs_dim).reshape(self.num_envs, self.n_users)

    # ----------------------------------------------------------------------------- spaces
    @property
    def observation_space(self) -> spaces.Box:
        """One user's observation: one-hot last action, ACK, observed SNR (in [-1, 1]), v1's
        queue length and head-of-line age, [slot fraction], [the frame clock's one-hot]."""
        low = np.zeros(self.obs_dim, dtype=np.float32)
        low[self.n_actions + 1] = -1.0
        return spaces.Box(low, np.ones(self.obs_dim, dtype=np.float32), dtype=np.float32)

    @property
    def state_space(self) -> spaces.Box:
        """Global state: every observation, PU occupancy, link gains, slot fraction."""
        obs_space = self.observation_space
        low = np.concatenate(
            [np.tile(obs_space.low, self.n_users), np.zeros(self.n_channels),
             -np.ones(self.n_users * self.n_channels), [0.0]]
        ).astype(np.float32)
        return spaces.Box(low, np.ones(self.state_dim, dtype=np.float32), dtype=np.float32)

    @property
    def action_space(self) -> spaces.Discrete:
        """One user's action: 0 idle, 1 + k*L + l transmit on channel k at level l."""
        return spaces.Discrete(self.n_actions)

    # ------------------------------------------------------------------------------ reset
    def reset(self, seed: int | np.random.SeedSequence | None = None) -> np.ndarray:
        """Start a new episode in every copy; ``seed=None`` continues the current stream."""
        if seed is not None and not isinstance(seed, np.random.SeedSequence) and (
                not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
            raise ValueError(f"seed must be None, a non-negative integer or a SeedSequence, got {seed!r}")
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        B, N, K = self.num_envs, self.n_users, self.n_channels
        cfg = self.config
        self.t = 0
        self.gain_db = self.rng.normal(0.0, 1.0, (B, N, K)) * cfg.gain_std_db
        # Primary users start from the chain's stationary distribution.
        total = cfg.pu_p_on + cfg.pu_p_off
        p_stationary = cfg.pu_p_on / total if total > 0 else 0.0
        self.pu_on = (self.rng.random((B, K)) < p_stationary) & self.pu_mask
        self._draw_fading()
        self.obs = np.zeros((B, N, self.obs_dim), dtype=np.float32)
        self.obs[:, :, 0] = 1.0  # "last action" before the first slot: idle
        if cfg.frame_clock:
            self.obs[:, :, self.clock_index] = 1.0  # slot 0 of the frame
        self.cum_throughput = np.zeros((B, N))
        self._needs_reset = False
        self._last_slot = None
        return self.obs.copy()

    def _draw_fading(self) -> None:
        if self.config.rayleigh_fading:
            power = self.rng.exponential(1.0, self.fading_db.shape)
            self.fading_db = 10.0 * np.log10(np.maximum(power, 1e-12))

    @property
    def link_gain_db(self) -> np.ndarray:
        """Gain of every (user, channel) link for the coming slot, fading included: (B, N, K)."""
        return self.gain_db + self.fading_db

    def _chosen_link_gain_db(self, link: np.ndarray) -> np.ndarray:
        """:attr:`link_gain_db` at the flat link indices ``link`` only: gathering first spares
        computing all B*N*K gains for the B*N links in use."""
        return self.gain_db.ravel()[link] + self.fading_db.ravel()[link]

    def action_channel(self, actions: np.ndarray) -> np.ndarray:
        """The channel each transmitting action uses (idle, action 0, maps to channel 0)."""
        return self._action_channel[actions]

    # ------------------------------------------------------------------------------- step
    def validate_actions(self, actions: np.ndarray) -> np.ndarray:
        """Actions as an int64 (B, N) array; anything else raises ValueError."""
        actions = np.asarray(actions)
        expected = (self.num_envs, self.n_users)
        if actions.shape != expected:
            raise ValueError(f"actions must have shape {expected}, got {actions.shape}")
        if actions.dtype.kind not in "iu":
            raise ValueError(f"actions must be integers, got dtype {actions.dtype}")
        if actions.size and (actions.min() < 0 or actions.max() >= self.n_actions):
            bad = actions[(actions < 0) | (actions >= self.n_actions)]
            raise ValueError(
                f"actions must lie in [0, {self.n_actions}) (0 idle, 1 + k*L + l transmit); "
                f"got {bad.tolist()[:5]}"
            )
        return actions.astype(np.int64, copy=False)

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, bool, dict[str, np.ndarray]]:
        """Play one slot in every copy.

        Returns ``(obs, rewards, truncated, info)``: observations ``(B, N, obs_dim)``,
        rewards ``(B, N)``, whether the episode ended (all copies at once), and ``info`` with
        per-user arrays ``success``, ``collision``, ``transmit``, ``rate``, ``throughput`` (what
        the slot adds to the user's throughput: here its rate), ``snr_db`` (B, N) and the team
        metrics of :attr:`metrics` (B,): those of :attr:`episode_metrics` only when the episode
        ends (as Gymnasium's episode statistics arrive; computing them every slot would cost a
        v1 core a seventh of its time).
        """
        if self._needs_reset:
            raise RuntimeError("the episode is over (or never started): call reset() first")
        actions = self.validate_actions(actions)
        c = self._contend(actions)
        rate = np.where(c.success, np.log2(1.0 + c.sinr), 0.0)
        rewards = rate - self._costs(c)
        self._observe(actions, c.success, c.snr_db)
        self.cum_throughput += rate
        info = self._slot_info(c, rate, rewards)
        self._last_slot = c
        self._advance()
        truncated = self.t >= self.config.max_cycles
        self._needs_reset = truncated
        if truncated:
            info.update(self.episode_summary())
        return self.obs.copy(), rewards, truncated, info

    def episode_summary(self) -> dict[str, np.ndarray]:
        """The metrics of :attr:`episode_metrics` over the episode so far, ``(B,)`` each: here
        Jain's fairness of the users' total throughputs."""
        return {"fairness": jain_fairness(self.cum_throughput)}

    def difference_rewards(self) -> np.ndarray:
        """Each user's difference reward for the slot just played, ``(B, N)``: the team's
        reward minus what the team would have earned had that user stayed idle, everything
        else equal (Wolpert and Tumer's D_i = G(z) - G(z_-i)). Its gradient for a user's policy
        is the team's, with the other users' noise taken out, which is what lets many users
        learn from one team reward.

        Without capture, a user's transmission changes its own reward (what getting through
        gained it, :meth:`_gain_alone`, less its costs and penalties), and another's only where
        exactly two users share a channel that no primary user holds: had it stayed idle, the
        other would have sent alone, gaining its :meth:`_gain_alone` without the collision
        penalty. The effect is the slot's own; later slots are not counted."""
        c = self._counterfactual_slot("difference_rewards")
        gain = self._gain_alone(c)
        own = np.where(c.success, gain, 0.0) - self._costs(c)
        on_channel = np.bincount(c.chan_flat[c.transmit], weights=gain[c.transmit],
                                 minlength=self.num_envs * self.n_channels)
        other = on_channel[c.chan_flat] - gain
        return own - np.where(self._spoiled(c), other + self.config.collision_penalty, 0.0)

    def spoiled_partners(self) -> tuple[np.ndarray, np.ndarray]:
        """For the slot just played, the parts of a difference reward on throughput, ``(B, N)``
        each: the user whose transmission each user's own spoiled (the one other user on its
        channel, where no primary user holds it; -1 elsewhere), and what each user's slot would
        have added to its throughput had it been alone on its channel (0 for the idle). Had a
        user stayed idle, its partner's throughput would have risen by the partner's own value:
        what a welfare of throughputs needs (the trainer's ``welfare=log`` with difference
        credit), as :meth:`difference_rewards` is for the rewards."""
        c = self._counterfactual_slot("spoiled_partners")
        users = np.broadcast_to(np.arange(self.n_users), c.transmit.shape)
        index_sum = np.bincount(c.chan_flat[c.transmit], weights=users[c.transmit],
                                minlength=self.num_envs * self.n_channels)  # exact: small integers
        partner = np.where(self._spoiled(c), index_sum[c.chan_flat].astype(np.int64) - users, -1)
        return partner, np.where(c.transmit, self._throughput_alone(c), 0.0)

    def _counterfactual_slot(self, caller: str) -> Contention:
        if self._last_slot is None:
            raise RuntimeError(f"{caller}() describes the last slot: call step() first")
        if self.capture_threshold_lin is not None:
            raise ValueError("difference rewards need capture_threshold_db=None: with capture a "
                             "user's transmission changes the SINR of every other on its channel")
        return self._last_slot

    @staticmethod
    def _spoiled(c: Contention) -> np.ndarray:
        """Transmissions that share their channel with exactly one other and no primary user:
        had either stayed idle, the other would have been alone."""
        return c.transmit & (c.others == 1) & ~c.pu_hit

    def _rate_alone(self, c: Contention) -> np.ndarray:
        """The rate log2(1 + SNR) of every transmission, had it been alone on its channel."""
        return np.log2(1.0 + 10.0 ** (c.snr_db / 10.0))

    def _gain_alone(self, c: Contention) -> np.ndarray:
        """How much more each user's reward would have been, before costs, had its transmission
        got through than had it failed: the rate."""
        return self._rate_alone(c)

    def _throughput_alone(self, c: Contention) -> np.ndarray:
        """What each transmission would have added to its user's throughput had it been alone
        on its channel: the rate."""
        return self._rate_alone(c)

    def _slot_info(self, c: Contention, rate: np.ndarray, rewards: np.ndarray) -> dict[str, np.ndarray]:
        """The per-user outcome of the slot and the team metrics."""
        return {
            "transmit": c.transmit,
            "success": c.success,
            "collision": c.collision,
            "rate": rate,
            "throughput": rate,
            "snr_db": np.where(c.transmit, c.snr_db, 0.0),
            **self._team_metrics(rewards, c.transmit, c.success, c.collision, c.chan_flat),
        }

    def _contend(self, actions: np.ndarray) -> Contention:
        """Who transmits where at what SNR, and whose transmission gets through the channel
        (no other user or active primary user there; or, with capture, a high enough SINR) and
        decodes (:meth:`_decoded`)."""
        K = self.n_channels
        transmit = actions > 0
        channel, level = self._action_channel[actions], self._action_level[actions]
        chan_flat = self._chan_base + channel  # (B, N) index into the flattened (B, K)
        n_on_channel = np.bincount(
            chan_flat[transmit], minlength=self.num_envs * K
        ).reshape(self.num_envs, K)
        others = n_on_channel.ravel()[chan_flat] - 1  # other users on my channel
        pu_hit = transmit & self.pu_on.ravel()[chan_flat]

        snr_db = self.level_db[level] + self._chosen_link_gain_db(self._link_base + channel)
        snr = 10.0 ** (snr_db / 10.0)
        if self.capture_threshold_lin is None:
            success = transmit & (others == 0) & ~pu_hit
            sinr = snr
        else:
            power_on_channel = np.bincount(
                chan_flat[transmit], weights=snr[transmit], minlength=self.num_envs * K
            )
            interference = np.maximum(power_on_channel[chan_flat] - snr * transmit, 0.0)
            sinr = snr / (1.0 + interference)
            success = transmit & ~pu_hit & (sinr >= self.capture_threshold_lin)
        collision = transmit & ~success & ((others > 0) | pu_hit)
        decoded = self._decoded(snr_db)
        if decoded is not None:
            success &= decoded
        return Contention(transmit, level, chan_flat, others, pu_hit, snr_db, sinr, success, collision)

    def _decoded(self, snr_db: np.ndarray) -> np.ndarray | None:
        """Which receptions decode whatever the contention (None: all of them, as in v0)."""
        return None

    def _costs(self, c: Contention) -> np.ndarray:
        """Power cost of every transmission, and the collision and primary-user penalties."""
        cfg = self.config
        return (np.where(c.transmit, self.level_cost[c.level], 0.0)
                + cfg.collision_penalty * (c.collision & ~c.pu_hit)
                + cfg.pu_penalty * c.pu_hit)

    def _observe(self, actions: np.ndarray, ack: np.ndarray, snr_db: np.ndarray) -> None:
        """Next observation: own last action, ACK, observed SNR (0 unless it got through); and
        the slot counter moves on."""
        cfg = self.config
        obs = self.obs
        obs.fill(0.0)
        obs.ravel()[self._user_base + actions] = 1.0
        obs[:, :, self.n_actions] = ack
        obs[:, :, self.n_actions + 1] = np.where(ack, np.clip(snr_db / cfg.snr_obs_scale_db, -1.0, 1.0), 0.0)
        self.t += 1
        if cfg.include_slot_fraction:
            obs[:, :, self.slot_index] = self.t / cfg.max_cycles
        if cfg.frame_clock:
            obs[:, :, self.clock_index + self.t % cfg.frame_clock] = 1.0

    def _advance(self) -> None:
        """Exogenous dynamics for the next slot: drawn unconditionally (see module docstring)."""
        cfg = self.config
        if self.pu_mask.any():
            u = self.rng.random(self.pu_on.shape)
            self.pu_on = np.where(self.pu_on, u >= cfg.pu_p_off, u < cfg.pu_p_on) & self.pu_mask
        self._draw_fading()

    def _team_metrics(
        self,
        rewards: np.ndarray,
        transmit: np.ndarray,
        success: np.ndarray,
        collision: np.ndarray,
        chan_flat: np.ndarray,
    ) -> dict[str, np.ndarray]:
        used = np.bincount(chan_flat[success], minlength=self.num_envs * self.n_channels)
        N = self.n_users
        return {
            "utility": row_sum(rewards),
            "success_rate": row_sum(success) / N,
            "collision_rate": row_sum(collision) / N,
            "idle_rate": 1.0 - row_sum(transmit) / N,
            "channel_utilisation": row_sum(used.reshape(self.num_envs, -1) > 0) / self.n_channels,
        }

    # ---------------------------------------------------------------- snapshot / restore
    _DYNAMIC: tuple[str, ...] = ("gain_db", "fading_db", "pu_on", "obs", "cum_throughput")

    def get_state(self) -> dict[str, Any]:
        """Everything that defines the copies' position in their episode and random stream:
        the generator's state (plain data), the slot, and the arrays of the episode."""
        return {"rng": self.rng.bit_generator.state, "t": self.t, "needs_reset": self._needs_reset,
                **{key: getattr(self, key).copy() for key in self._DYNAMIC}}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue exactly where :meth:`get_state` was taken."""
        rng_state = state["rng"]
        bit_generator = getattr(np.random, rng_state["bit_generator"])()
        bit_generator.state = rng_state
        self.rng = np.random.Generator(bit_generator)
        self.t, self._needs_reset = int(state["t"]), bool(state["needs_reset"])
        self._last_slot = None
        for key in self._DYNAMIC:
            value = np.array(state[key], dtype=getattr(self, key).dtype)
            if value.shape != getattr(self, key).shape:
                raise ValueError(f"state {key} has shape {value.shape}, expected {getattr(self, key).shape}")
            setattr(self, key, value)

    # ------------------------------------------------------------------------------ state
    def state(self) -> np.ndarray:
        """Global state ``(B, state_dim)`` float32 for a centralised critic."""
        B, scale = self.num_envs, self.config.snr_obs_scale_db
        gains = np.clip(self.link_gain_db / scale, -1.0, 1.0).reshape(B, -1)
        slot = np.full((B, 1), min(self.t / self.config.max_cycles, 1.0))
        return np.concatenate(
            [self.obs.reshape(B, -1), self.pu_on, gains, slot], axis=1
        ).astype(np.float32)
