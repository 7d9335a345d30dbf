"""Difference rewards D_i = G(z) - G(z_-i): by hand on a tiny slot, and against replaying the
same slot with each user idle (the definition) on v0 and v1 presets; the same for a weighted
sum of throughputs, from the core's spoiled partners."""

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from envs.dsa import DSAConfig, DSACore, make_config, make_config_v1, make_core


def test_difference_rewards_of_a_collision_by_hand():
    core = DSACore(DSAConfig(n_users=4, n_channels=3, snr_levels_db=(10.0,), gain_std_db=0.0,
                             collision_penalty=0.5, power_cost=0.2))
    core.reset(seed=0)
    rate = math.log2(11.0)
    # users 0 and 1 collide on channel 0, user 2 is alone on channel 1, user 3 idles
    _, r, _, _ = core.step(np.array([[1, 1, 2, 0]]))
    assert r[0].tolist() == pytest.approx([-0.7, -0.7, rate - 0.2, 0.0])
    d = core.difference_rewards()[0]
    # had user 0 idled, user 1 would have sent alone: rate - 0.2 instead of -0.7
    assert d.tolist() == pytest.approx([-0.7 - (rate + 0.5), -0.7 - (rate + 0.5), rate - 0.2, 0.0])
    _, r, _, _ = core.step(np.array([[1, 1, 1, 0]]))  # three on one channel: nobody alone had anyone idled
    assert core.difference_rewards()[0].tolist() == pytest.approx(r[0].tolist())


def _slot_and_replays(core, actions: np.ndarray, read: Callable[[tuple], Any]) -> tuple[Any, list[Any]]:
    """Play ``actions``, then the same slot again from the same state with each user idle in
    turn (the definition of a difference). ``read`` takes a step's output, right after the
    step, so it may also ask the core. Returns the slot's read and the replays' reads, one per
    user, and leaves the core after the slot that was played."""
    before = core.get_state()
    played = read(core.step(actions))
    after = core.get_state()
    replays = []
    for i in range(actions.shape[1]):
        core.set_state(before)
        idle_i = actions.copy()
        idle_i[:, i] = 0
        replays.append(read(core.step(idle_i)))
    core.set_state(after)
    return played, replays


CONFIGS = [
    make_config("snr"), make_config("pu"), make_config("large"),
    make_config_v1("gilbert"),
    # no buffer fills and no packet expires in 15 slots: the knock-on drops are not counted
    make_config_v1("traffic", delay_cost=0.1, buffer=40, deadline=50),
    make_config_v1("pu_traffic", reward="rate", buffer=40, deadline=50),
    make_config_v1("fair"),
    make_config_v1("fair", reward="log_utility"),
]
IDS = ["snr", "pu", "large", "v1-gilbert", "v1-traffic", "v1-pu-traffic-rate", "v1-fair", "v1-fair-log"]


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_difference_rewards_equal_replaying_the_slot_with_the_user_idle(config):
    core = make_core(config, num_envs=8)
    core.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(15):
        # few channels per user so that pairs, triples and lone users all occur
        actions = rng.integers(0, config.n_actions, (8, config.n_users))
        (team, d), replays = _slot_and_replays(core, actions, lambda out: (out[1].sum(axis=1),
                                                                           core.difference_rewards()))
        expected = np.stack([team - team_without for team_without, _ in replays], axis=1)
        np.testing.assert_allclose(d, expected, atol=1e-9)


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_spoiled_partners_give_the_weighted_throughput_lost_by_replaying_the_slot(config):
    """sum_j w_j x_j, less the same slot's with user i idle, is w_i x_i less what i's partner
    would have added alone, at its weight (the welfare=log difference reward)."""
    core = make_core(config, num_envs=8)
    core.reset(seed=3)
    rng = np.random.default_rng(1)
    weights = rng.uniform(0.5, 3.0, config.n_users)
    spoilers = 0
    for _ in range(15):
        actions = rng.integers(0, config.n_actions, (8, config.n_users))
        (throughput, (partner, alone)), replays = _slot_and_replays(
            core, actions, lambda out: (out[3]["throughput"], core.spoiled_partners()))
        lost = np.where(partner >= 0, weights[np.maximum(partner, 0)]
                        * np.take_along_axis(alone, np.maximum(partner, 0), axis=1), 0.0)
        d = throughput * weights - lost
        for i, (without, _) in enumerate(replays):
            np.testing.assert_allclose(d[:, i], (throughput - without) @ weights, atol=1e-9)
        spoilers += int((partner >= 0).sum())
    assert spoilers > 0  # the case that needs the partner occurred


def test_spoiled_partners_by_hand():
    core = DSACore(DSAConfig(n_users=4, n_channels=3, snr_levels_db=(10.0,), gain_std_db=0.0))
    core.reset(seed=0)
    core.step(np.array([[1, 2, 1, 0]]))  # users 0 and 2 collide on channel 0, user 1 alone, user 3 idle
    partner, alone = core.spoiled_partners()
    assert partner[0].tolist() == [2, -1, 0, -1]
    assert alone[0].tolist() == pytest.approx([math.log2(11.0)] * 3 + [0.0])


def test_difference_rewards_need_a_slot_and_no_capture():
    core = make_core(make_config_v1("traffic"))
    core.reset(seed=0)
    with pytest.raises(RuntimeError, match="call step"):
        core.difference_rewards()
    core.step(np.zeros((1, 8), dtype=np.int64))
    core.reset(seed=1)  # a new episode: the last slot is gone
    with pytest.raises(RuntimeError, match="call step"):
        core.difference_rewards()
    capture = DSACore(make_config("basic", capture_threshold_db=3.0))
    capture.reset(seed=0)
    capture.step(np.zeros((1, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="capture_threshold_db=None"):
        capture.difference_rewards()
