"""Waterfall pictures of the spectrum: channels down, slots across, who transmitted where.

One cell per (channel, slot). Its colour says what happened there:

* blank (white): nobody transmitted;
* the user's colour, solid: one user transmitted and got through;
* the user's colour, pale: one user transmitted and failed (a bad link, a primary user, below
  the decoding threshold);
* black: two or more users collided;
* grey hatching behind it: the channel's primary user was ON.

Plain numpy (no plotting library), so that the ParallelEnv's ``rgb_array`` render mode, the
trainer's TensorBoard image and the tests all draw the same pixels; :func:`png_bytes` encodes
an image with the standard library only.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

from envs.dsa.baselines import DSAPolicy
from envs.dsa.config import DSAConfig
from envs.dsa.core import DSACore
from envs.dsa.versions import make_core

PALETTE = np.array([  # matplotlib's tab10, then tab10's light shades (tab20's odd entries)
    [31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
    [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207],
    [174, 199, 232], [255, 187, 120], [152, 223, 138], [255, 152, 150], [197, 176, 213],
    [196, 156, 148], [247, 182, 210], [199, 199, 199], [219, 219, 141], [158, 218, 229],
], dtype=np.uint8)
"""Colour of user i: PALETTE[i % 20] (users 20 apart share a colour)."""
BLANK = np.array([255, 255, 255], dtype=np.uint8)
COLLISION = np.array([0, 0, 0], dtype=np.uint8)
PU_HATCH = np.array([150, 150, 150], dtype=np.uint8)
PU_BACKGROUND = np.array([225, 225, 225], dtype=np.uint8)
CELL = (10, 4)
"""Default (height, width) in pixels of one (channel, slot) cell."""
PALE = 0.35
"""A failed lone transmission is drawn at this fraction of its user's colour over white."""


def user_colour(user: int) -> np.ndarray:
    """The RGB colour (uint8) of ``user``."""
    return PALETTE[user % len(PALETTE)]


@dataclass
class Trace:
    """What happened in the slots of one episode copy: per slot, each user's channel (-1:
    idle) and whether it got through, and each channel's primary-user state."""

    n_users: int
    n_channels: int
    channel: list[np.ndarray] = field(default_factory=list)  # (N,) ints per slot
    success: list[np.ndarray] = field(default_factory=list)  # (N,) bools per slot
    pu_on: list[np.ndarray] = field(default_factory=list)  # (K,) bools per slot

    def record(self, channel: np.ndarray, success: np.ndarray, pu_on: np.ndarray) -> None:
        """Append one slot."""
        self.channel.append(np.asarray(channel, dtype=np.int64).copy())
        self.success.append(np.asarray(success, dtype=bool).copy())
        self.pu_on.append(np.asarray(pu_on, dtype=bool).copy())

    def record_core_slot(self, core: DSACore, actions: np.ndarray, info: dict[str, np.ndarray],
                         pu_on: np.ndarray, copy: int = 0) -> None:
        """Append the slot ``core`` just played in ``copy``: its ``actions`` ``(B, N)``, the
        step's ``info``, and ``pu_on`` ``(B, K)`` as it was during the slot (read before
        ``step``: the core moves the primary users on at the slot's end)."""
        a = np.asarray(actions)[copy]
        self.record(np.where(a > 0, core.action_channel(a), -1), info["success"][copy], pu_on[copy])

    def __len__(self) -> int:
        return len(self.channel)


def waterfall_image(trace: Trace, cell: tuple[int, int] = CELL, last: int | None = None) -> np.ndarray:
    """The picture of ``trace`` (its ``last`` slots; all by default): ``(K * cell_h, T *
    cell_w, 3)`` uint8, channel 0 at the top, slots left to right, one pixel row of white
    between channels. See the module docstring for the colours."""
    h, w = cell
    if h < 2 or w < 1:
        raise ValueError(f"cell must be at least (2, 1) pixels, got {cell}")
    slots = range(max(len(trace) - last, 0) if last is not None else 0, len(trace))
    K = trace.n_channels
    image = np.empty((K * h, max(len(slots), 1) * w, 3), dtype=np.uint8)
    image[:] = BLANK
    yy, xx = np.mgrid[0:h - 1, 0:w]
    hatch = ((yy + xx) % 4 == 0)[..., None]
    for col, t in enumerate(slots):
        channel, success, pu_on = trace.channel[t], trace.success[t], trace.pu_on[t]
        for k in range(K):
            block = image[k * h:(k + 1) * h - 1, col * w:(col + 1) * w]
            if pu_on[k]:
                block[:] = np.where(hatch, PU_HATCH, PU_BACKGROUND)
            users = np.flatnonzero(channel == k)
            if len(users) > 1:
                block[:] = COLLISION
            elif len(users) == 1:
                colour = user_colour(int(users[0])).astype(float)
                if not success[users[0]]:
                    colour = PALE * colour + (1 - PALE) * BLANK
                block[:] = np.round(colour).astype(np.uint8)
    return image


def play_episode(policy: DSAPolicy, config: DSAConfig, seed: int = 0) -> Trace:
    """One episode of ``policy`` on one copy of ``config`` (environment seed ``seed``),
    recorded slot by slot."""
    core = make_core(config, num_envs=1)
    obs = core.reset(seed=seed)
    state = policy.initial_state(core, np.random.default_rng(seed))
    trace = Trace(core.n_users, core.n_channels)
    truncated = False
    while not truncated:
        actions, state = policy(obs, state)
        pu_on = core.pu_on.copy()
        obs, _, truncated, info = core.step(actions)
        trace.record_core_slot(core, actions, info, pu_on)
    return trace


def png_bytes(image: np.ndarray) -> bytes:
    """``image`` (H, W, 3) uint8 as a PNG file (8-bit RGB, no filter), standard library only."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"png_bytes takes an (H, W, 3) uint8 image, got shape {image.shape}")
    height, width = image.shape[:2]
    rows = np.concatenate([np.zeros((height, 1), dtype=np.uint8), image.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
            + chunk(b"IEND", b""))
