"""Named random streams, all derived from one seed with ``numpy.random.SeedSequence``.

A run's seed is split into independent child sequences, one per stream, so that adding a
consumer of randomness never shifts another stream, and no two streams can collide the way
``seed + 1`` of one run and ``seed`` of the next would::

    streams = seed_streams(config.seed)
    core.reset(seed=streams["env"])
    torch.manual_seed(int_seed(streams["init"]))

The evaluation episodes are not a stream of the run: they use ``eval_seed`` on its own, so
that every run and every baseline is evaluated on the same channel realisations.
"""

from __future__ import annotations

import numpy as np

STREAMS = (
    "env",  # the training environment's channels, primary users and fading
    "init",  # the networks' initial weights (the global torch generator)
    "actions",  # sampling of the actors' actions during rollouts
    "minibatches",  # the order of BPTT chunks in the update
    "actor_pruning",  # random-score pruning of the actors
    "critic_pruning",  # random-score pruning of the critic
    "lottery",  # the seeds of IMP / SWAMP / COLT training runs
    "distillation",  # the teacher episodes of policy distillation
)
"""The stream names, in ``SeedSequence(seed).spawn`` order (append new ones at the end)."""


def seed_streams(seed: int) -> dict[str, np.random.SeedSequence]:
    """One independent ``SeedSequence`` per name of :data:`STREAMS`."""
    return dict(zip(STREAMS, np.random.SeedSequence(seed).spawn(len(STREAMS))))


def int_seed(sequence: np.random.SeedSequence, *path: int) -> int:
    """A 32-bit integer seed (for torch generators and child runs) from ``sequence``, or from
    its descendant along ``path`` (e.g. ``(cycle, particle)``) when one is given."""
    if path:
        sequence = np.random.SeedSequence(sequence.entropy, spawn_key=(*sequence.spawn_key, *path))
    return int(sequence.generate_state(1)[0])
