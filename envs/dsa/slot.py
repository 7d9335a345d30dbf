"""What one slot produces, shared by the v0 and v1 cores: the contention's outcome per user
and the team metrics computed from it."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

METRICS = (
    "utility",
    "success_rate",
    "collision_rate",
    "idle_rate",
    "channel_utilisation",
    "fairness",
)
"""Team metrics returned by :meth:`DSACore.step` (each of shape ``(B,)``); ``fairness``, an
episode metric, only at the episode's last slot."""


@dataclass(frozen=True)
class Contention:
    """The outcome of one slot's transmissions, per user ``(B, N)``."""

    transmit: np.ndarray
    level: np.ndarray
    chan_flat: np.ndarray
    """Index of the user's channel in the flattened ``(B, K)`` channel arrays."""
    others: np.ndarray
    """Other users transmitting on the user's channel."""
    pu_hit: np.ndarray
    snr_db: np.ndarray
    sinr: np.ndarray
    success: np.ndarray
    collision: np.ndarray


def row_sum(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis, as float64, by a matrix-vector product: numpy's reductions over
    a short last axis cost several times more at the simulation's sizes. Exact for counts."""
    return np.matmul(x, _ones(x.shape[-1]))


@functools.cache
def _ones(n: int) -> np.ndarray:
    ones = np.ones(n)
    ones.flags.writeable = False  # shared by every caller
    return ones


def jain_fairness(x: np.ndarray) -> np.ndarray:
    """Jain's index (sum x)^2 / (n * sum x^2) over the last axis; 1 where every x is 0."""
    x = np.asarray(x, dtype=np.float64)
    total, squares = row_sum(x), row_sum(x * x)
    safe = np.where(squares > 0, squares, 1.0)
    return np.where(squares > 0, total**2 / (x.shape[-1] * safe), 1.0)
