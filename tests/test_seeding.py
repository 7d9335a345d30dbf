"""Named random streams from one seed."""

import numpy as np

from marl_prune.seeding import STREAMS, int_seed, seed_streams


def test_streams_are_the_seed_sequence_children_in_order():
    streams = seed_streams(7)
    children = np.random.SeedSequence(7).spawn(len(STREAMS))
    assert list(streams) == list(STREAMS)
    for name, child in zip(STREAMS, children):
        assert streams[name].spawn_key == child.spawn_key and streams[name].entropy == 7
        assert int_seed(streams[name]) == int(child.generate_state(1)[0])


def test_int_seeds_differ_across_streams_paths_and_seeds_and_repeat():
    seeds = {int_seed(s) for s in seed_streams(1).values()}
    seeds |= {int_seed(s) for s in seed_streams(2).values()}
    lottery = seed_streams(1)["lottery"]
    paths = {int_seed(lottery, cycle, split) for cycle in range(4) for split in range(3)}
    assert len(seeds) == 2 * len(STREAMS) and len(paths) == 12 and not seeds & paths
    assert int_seed(seed_streams(1)["lottery"], 2, 1) == int_seed(lottery, 2, 1)
    assert all(0 <= s < 2**32 for s in seeds | paths)
    # a path is the descendant SeedSequence would spawn: (cycle, split) below the stream
    child = np.random.SeedSequence(1, spawn_key=lottery.spawn_key + (2, 1))
    assert int_seed(lottery, 2, 1) == int(child.generate_state(1)[0])
