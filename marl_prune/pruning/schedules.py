"""Sparsity schedules: pure functions of the iteration e.

Shared conventions: E total iterations, e_w warm-up, E_lock end-lock;
t = e - e_w, p = clamp(t / (E - e_w - E_lock), 0, 1); the target is 0 before e_w and s_f in
the last E_lock iterations (e >= E - E_lock).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Callable

BASES = ("linear", "cosine", "polynomial")
LATCH_FRACTION = 0.9


@dataclass(frozen=True)
class Horizon:
    """The time frame shared by every schedule."""

    total: int
    """E: iterations of the scheduled phase."""
    warmup: int = 0
    """e_w: dense iterations before pruning starts."""
    end_lock: int = 0
    """E_lock: final iterations held at the final sparsity."""

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.end_lock < 0 or self.total - self.warmup - self.end_lock <= 0:
            raise ValueError(
                f"need 0 <= warmup, 0 <= end_lock and warmup + end_lock < total; got warmup="
                f"{self.warmup}, end_lock={self.end_lock}, total={self.total}"
            )

    def progress(self, e: int) -> float:
        return min(max((e - self.warmup) / (self.total - self.warmup - self.end_lock), 0.0), 1.0)

    def locked(self, e: int) -> bool:
        return e >= self.total - self.end_lock


def _base(p: float, s_i: float, s_f: float, kind: str, power: float) -> float:
    if kind == "linear":
        return s_i + (s_f - s_i) * p
    if kind == "polynomial":
        return s_f + (s_i - s_f) * (1.0 - p) ** power
    if kind == "cosine":
        return s_i + (s_f - s_i) * 0.5 * (1.0 - math.cos(math.pi * p))
    raise ValueError(f"base must be one of {BASES}, got {kind!r}")


def linear_schedule(e: int, horizon: Horizon, final: float, initial: float = 0.0) -> float:
    """s = s_i + (s_f - s_i) * p."""
    if e < horizon.warmup:
        return 0.0
    if horizon.locked(e):
        return final
    return _base(horizon.progress(e), initial, final, "linear", 1.0)


def polynomial_schedule(
    e: int, horizon: Horizon, final: float, initial: float = 0.0, power: float = 3.0
) -> float:
    """s = s_f + (s_i - s_f) * (1 - p)^k (Zhu & Gupta 2017, k = 3)."""
    if e < horizon.warmup:
        return 0.0
    if horizon.locked(e):
        return final
    return _base(horizon.progress(e), initial, final, "polynomial", power)


@dataclass(frozen=True)
class Harmonic:
    """The harmonic schedule's oscillation and the base curve it rides on (defaults: those of
    the public reference implementation, A0 = 0.1, T0 = 100, lam = 0, r = 0)."""

    base: str = "linear"
    """b: linear, cosine or polynomial."""
    amplitude: float = 0.1
    """A0: amplitude of the oscillation."""
    period: float = 100.0
    """T0: period in iterations."""
    decay: float = 0.0
    """lam: exponential decay rate of the amplitude per iteration."""
    stretch: float = 0.0
    """r: growth rate of the period per iteration."""
    power: float = 3.0
    """k of a polynomial base."""

    def __post_init__(self) -> None:
        if self.base not in BASES:
            raise ValueError(f"base must be one of {BASES}, got {self.base!r}")
        if self.period <= 0:
            raise ValueError(f"period must be > 0, got {self.period}")

    def value(self, e: int, horizon: Horizon, final: float, initial: float) -> float:
        """clip(b(p) + A0 exp(-lam t) sin(2 pi t / (T0 (1 + r t))), s_i, s_f), without the latch."""
        t = e - horizon.warmup
        wave = self.amplitude * math.exp(-self.decay * t) * math.sin(
            2.0 * math.pi * t / (self.period * (1.0 + self.stretch * t)))
        value = _base(horizon.progress(e), initial, final, self.base, self.power) + wave
        return min(max(value, min(initial, final)), max(initial, final))


def harmonic_schedule(e: int, horizon: Horizon, final: float, initial: float = 0.0,
                      harmonic: Harmonic = Harmonic()) -> float:
    """Harmonic annealing: s = clip(b(p) + A0 exp(-lam t) sin(2 pi t / (T0 (1 + r t))), s_i, s_f).

    The target oscillates around the base ``b`` (linear, cosine or polynomial), so it falls
    at times and pruned weights may regrow. Latch: once p >= 0.9 and the target has reached
    s_f, it stays there.
    """
    if e < horizon.warmup:
        return 0.0
    if horizon.locked(e):
        return final
    if horizon.progress(e) >= LATCH_FRACTION:
        first = e
        while first > horizon.warmup and horizon.progress(first - 1) >= LATCH_FRACTION:
            first -= 1
        if any(harmonic.value(k, horizon, final, initial) >= final for k in range(first, e + 1)):
            return final
    return harmonic.value(e, horizon, final, initial)


SCHEDULES = ("linear", "polynomial", "harmonic")


def make_schedule(name: str, horizon: Horizon, final: float, initial: float = 0.0, power: float = 3.0,
                  harmonic: Harmonic = Harmonic()) -> Callable[[int], float]:
    """The schedule ``name`` as a function e -> target sparsity. ``power`` is k of the
    polynomial schedule; ``harmonic`` is the harmonic schedule's wave and base."""
    if not (0.0 <= initial <= 1.0 and 0.0 <= final <= 1.0):
        raise ValueError(f"sparsities must lie in [0, 1], got initial={initial}, final={final}")
    if name == "linear":
        return partial(linear_schedule, horizon=horizon, final=final, initial=initial)
    if name == "polynomial":
        return partial(polynomial_schedule, horizon=horizon, final=final, initial=initial, power=power)
    if name == "harmonic":
        return partial(harmonic_schedule, horizon=horizon, final=final, initial=initial, harmonic=harmonic)
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {name!r}")
