"""Configuration of the dynamic spectrum access (DSA) environment and its named presets."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from envs.dsa.fields import check_field_types


@dataclass(frozen=True)
class DSAConfig:
    """Everything that defines a DSA scenario. Validated on construction.

    Powers and gains are in dB relative to the receiver noise, so a user transmitting at
    level ``l`` on channel ``k`` is received at ``snr_levels_db[l] + gain_db[k]`` (+ fading).
    """

    n_users: int = 4
    """N secondary users (agents ``user_0 .. user_{N-1}``)."""
    n_channels: int = 2
    """K shared orthogonal channels."""
    snr_levels_db: tuple[float, ...] = (10.0,)
    """Transmit SNR of each power level in dB; L = len(snr_levels_db), ascending."""
    power_cost: float = 0.0
    """Cost of transmitting at level l: power_cost * P_l / P_max (linear powers), so the top
    level costs exactly ``power_cost`` per slot."""
    gain_std_db: float = 0.0
    """Std of the per-(user, channel) log-normal gain in dB, drawn at every reset."""
    rayleigh_fading: bool = False
    """Multiply received power by an Exp(1) Rayleigh power gain drawn per slot."""
    capture_threshold_db: float | None = None
    """None: any two transmissions on a channel collide. A number (>= 0 dB): the strongest
    user captures the channel when its SINR over the others is at least this threshold."""
    collision_penalty: float = 0.0
    """Subtracted from a user's reward when its transmission fails next to another user."""
    pu_channels: tuple[int, ...] = ()
    """Channels occupied by a primary user following a two-state Markov chain."""
    pu_p_on: float = 0.1
    """P(OFF -> ON) per slot for each primary user."""
    pu_p_off: float = 0.1
    """P(ON -> OFF) per slot for each primary user."""
    pu_penalty: float = 0.0
    """Subtracted from a secondary user's reward when it transmits on a channel whose
    primary user is ON (the transmission always fails)."""
    max_cycles: int = 100
    """Slots per episode; every copy truncates together after this many."""
    include_slot_fraction: bool = False
    """Append t / max_cycles to each observation."""
    frame_clock: int = 0
    """Append a one-hot of the slot index modulo this many slots to each observation (0: none):
    the slot clock that every user of a synchronised slotted system shares, and that TDMA
    frames run on. With it, independent users can learn to take turns."""
    snr_obs_scale_db: float = 20.0
    """Observed SNR and the state's gains are divided by this and clipped to [-1, 1]."""

    def __post_init__(self) -> None:
        check_field_types(self)
        _check(self.n_users >= 1, "n_users", f"must be >= 1, got {self.n_users}")
        _check(self.n_channels >= 1, "n_channels", f"must be >= 1, got {self.n_channels}")
        _check(len(self.snr_levels_db) >= 1, "snr_levels_db", "needs at least one level")
        _check(
            all(math.isfinite(x) for x in self.snr_levels_db)
            and list(self.snr_levels_db) == sorted(set(self.snr_levels_db)),
            "snr_levels_db",
            f"must be finite and strictly ascending, got {self.snr_levels_db}",
        )
        for name in ("power_cost", "gain_std_db", "collision_penalty", "pu_penalty"):
            value = getattr(self, name)
            _check(math.isfinite(value) and value >= 0, name, f"must be >= 0, got {value}")
        if self.capture_threshold_db is not None:
            # Below 0 dB two users could both capture one channel, and the oracle's
            # one-user-per-channel assignment would no longer be an upper bound.
            _check(
                math.isfinite(self.capture_threshold_db) and self.capture_threshold_db >= 0,
                "capture_threshold_db",
                f"must be None or >= 0 dB, got {self.capture_threshold_db}",
            )
        for name in ("pu_p_on", "pu_p_off"):
            p = getattr(self, name)
            _check(0.0 <= p <= 1.0, name, f"is a probability and must lie in [0, 1], got {p}")
        _check(
            all(0 <= k < self.n_channels for k in self.pu_channels)
            and len(set(self.pu_channels)) == len(self.pu_channels),
            "pu_channels",
            f"must be distinct channel indices in [0, {self.n_channels}), got {self.pu_channels}",
        )
        _check(self.max_cycles >= 1, "max_cycles", f"must be >= 1, got {self.max_cycles}")
        _check(self.frame_clock >= 0, "frame_clock", f"must be >= 0 (0: no clock), got {self.frame_clock}")
        _check(self.snr_obs_scale_db > 0, "snr_obs_scale_db", f"must be > 0, got {self.snr_obs_scale_db}")

    @property
    def n_levels(self) -> int:
        """L transmit SNR levels."""
        return len(self.snr_levels_db)

    @property
    def n_actions(self) -> int:
        """1 + K*L: idle, or (channel k, level l) encoded as 1 + k*L + l."""
        return 1 + self.n_channels * self.n_levels

    def replace(self, **changes: Any) -> DSAConfig:
        """A copy with some fields changed (validated again); unknown fields raise ValueError."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown DSAConfig field(s): {sorted(unknown)}")
        return dataclasses.replace(self, **changes)


def _check(ok: bool, name: str, message: str) -> None:
    if not ok:
        raise ValueError(f"DSAConfig.{name} {message}")


PRESETS: dict[str, DSAConfig] = {
    # Pure collision channel: the learner must find an orthogonal schedule.
    "basic": DSAConfig(n_users=4, n_channels=2, snr_levels_db=(10.0,)),
    # Frequency-selective gains and three power levels with a power cost: which channel and
    # how loud both matter (the middle level is best on a weak channel).
    "snr": DSAConfig(
        n_users=6,
        n_channels=3,
        snr_levels_db=(0.0, 5.0, 10.0),
        power_cost=2.0,
        gain_std_db=3.0,
        collision_penalty=0.5,
    ),
    # Primary users with persistent ON/OFF periods on half of the channels.
    "pu": DSAConfig(
        n_users=6,
        n_channels=4,
        snr_levels_db=(5.0, 10.0),
        power_cost=1.0,
        gain_std_db=2.0,
        pu_channels=(0, 1),
        pu_p_on=0.1,
        pu_p_off=0.1,
        pu_penalty=1.0,
    ),
    # Scale test: 32 users on 16 channels with frequency-selective gains.
    "large": DSAConfig(n_users=32, n_channels=16, snr_levels_db=(10.0,), gain_std_db=3.0),
}
"""Named scenario presets of ``dsa_v0``. Their values are part of the version: changing
one means a new environment version."""


def make_config(scenario: str | DSAConfig = "basic", **overrides: object) -> DSAConfig:
    """The preset named ``scenario`` (or a given config) with ``overrides`` applied."""
    return from_presets(PRESETS, DSAConfig, "scenario", scenario, overrides)


def from_presets(presets: dict[str, Any], kind: type, label: str, scenario: Any, overrides: dict[str, Any]) -> Any:
    """``scenario`` (a name in ``presets`` or a ``kind`` config) with ``overrides`` applied."""
    base: Any
    if isinstance(scenario, kind):
        base = scenario
    else:
        if scenario not in presets:
            raise ValueError(f"unknown {label} {scenario!r}; choose one of {sorted(presets)}")
        base = presets[scenario]
    return base.replace(**overrides) if overrides else base
