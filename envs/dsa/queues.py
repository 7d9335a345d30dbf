"""Packet queues of B x N users, vectorised: first-in first-out ring buffers of arrival slots.

At most one packet arrives per user and slot, so arrival slots in a queue are distinct and
increase from the head: the head-of-line (HOL) packet is the oldest, and at most one packet
(the HOL one) can reach the deadline in a slot. Timing, for the slot ``t`` being played:

* a packet that arrives in slot ``s`` (at its end) waits from slot ``s + 1`` on;
* delivered in slot ``t``, its delay is ``t - s`` slots, at most ``deadline``;
* after slot ``t`` a packet with ``t - s >= deadline`` is dropped: it could no longer arrive
  in time.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class PacketQueues:
    """``length`` packets per user (``(B, N)``), their arrival slots in ring buffers.

    A ring holds more than ``capacity`` stamps, so the slot after the tail is always free: an
    arrival is written there for every user at once, and only counted where accepted. Its size
    is a power of two, so that wrapping an index around is a bitwise and: integer division
    costs more than the rest of a slot's queue work."""

    def __init__(self, batch: int, users: int, capacity: int, deadline: int):
        self.capacity, self.deadline = capacity, deadline
        self.ring = 1 << capacity.bit_length()  # the least power of two above capacity
        # int32 stamps (slot numbers): half the memory the gathers and scatters walk through
        self.stamp = np.zeros((batch, users, self.ring), dtype=np.int32)
        self.head = np.zeros((batch, users), dtype=np.int64)
        self.length = np.zeros((batch, users), dtype=np.int64)
        self._base = np.arange(batch * users).reshape(batch, users) * self.ring  # a queue's offset in stamp
        self._head_stamp = np.zeros((batch, users), dtype=np.int32)  # the HOL stamps (stale where empty)

    def clear(self) -> None:
        self.stamp.fill(0)
        self.head.fill(0)
        self.length.fill(0)
        self._head_stamp.fill(0)

    def _gather_head_stamp(self) -> None:
        self._head_stamp = self.stamp.ravel().take(self._base + self.head)

    def _wrap(self, index: np.ndarray) -> np.ndarray:
        """``index % ring``, in place."""
        return np.bitwise_and(index, self.ring - 1, out=index)

    def _pop(self, which: np.ndarray) -> None:
        self.head += which
        self._wrap(self.head)
        self.length -= which

    def hol_age(self, t: int) -> np.ndarray:
        """Slots the HOL packet has waited before slot ``t`` (0 for an empty queue)."""
        return (t - self._head_stamp) * (self.length > 0)  # np.where's result, several times faster

    def serve(self, served: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Slot ``t``'s departures: the HOL packet leaves where ``served`` and the queue holds
        one, then a HOL packet that can no longer arrive in time is dropped. Returns which
        users delivered a packet, the delays (0 elsewhere) and which dropped one.

        The HOL stamps serve both steps: the packet behind a delivered one arrived later than
        it, and that one had not expired after slot ``t - 1``, so it cannot expire after slot
        ``t``. They are kept between slots, so one gather per slot (the new heads') suffices."""
        queued = self.length > 0
        age = t - self._head_stamp
        delivered = served & queued
        delay = age * delivered
        expired = queued & ~delivered & (age >= self.deadline)
        self._pop(delivered | expired)
        self._gather_head_stamp()
        return delivered, delay, expired

    def arrive(self, arrivals: np.ndarray, t: int) -> np.ndarray:
        """Queue a packet stamped ``t`` where ``arrivals``; returns the arrivals dropped because
        the queue was full."""
        accepted = arrivals & (self.length < self.capacity)
        tail = self._wrap(self.head + self.length)
        self.stamp.ravel()[self._base + tail] = t  # a free slot: harmless where nothing arrived
        np.copyto(self._head_stamp, t, where=accepted & (self.length == 0))  # it is the head of an empty queue
        self.length += accepted
        return arrivals & ~accepted

    def get_state(self) -> dict[str, Any]:
        return {"stamp": self.stamp.copy(), "head": self.head.copy(), "length": self.length.copy()}

    def set_state(self, state: dict[str, Any]) -> None:
        for key in ("stamp", "head", "length"):
            value = np.array(state[key], dtype=getattr(self, key).dtype)
            if value.shape != getattr(self, key).shape:
                raise ValueError(f"queue state {key} has shape {value.shape}, expected {getattr(self, key).shape}")
            setattr(self, key, value)
        self._gather_head_stamp()
