"""The reference policies of dsa_v1 on tiny cases computed by hand, and the presets'
discrimination (adapting is worth at least 25 points of the centralised reference)."""

import math

import numpy as np
import pytest

from envs.dsa import PRESETS_V1, DSAConfig, DSAConfigV1, DSACore, DSACoreV1, SlottedAloha, evaluate, make_config_v1
from envs.dsa.baselines import oracle_actions
from envs.dsa.references import (
    BinaryBackoff,
    CentralScheduler,
    MusicalChairs,
    StaticSchedule,
    expected_link_values,
    reference_policies,
    tdma_frame,
)


def _core(num_envs=1, seed=0, **fields):
    core = DSACoreV1(DSAConfigV1(**fields), num_envs)
    obs = core.reset(seed=seed)
    return core, obs


def test_max_weight_serves_the_longest_queue_on_a_free_channel():
    core, obs = _core(n_users=3, n_channels=2, traffic=True, reward="packets", pu_channels=(1,), pu_p_on=0.5,
                      pu_p_off=0.5)
    core.queues.length[:] = [[3, 5, 1]]
    core.pu_on[:] = [[False, True]]  # channel 1 is taken by its primary user
    actions, _ = CentralScheduler("max_weight")(obs, core)
    assert actions.tolist() == [[0, 1, 0]]  # user 1 (5 packets) on channel 0; nobody on channel 1
    core.pu_on[:] = False
    actions, _ = CentralScheduler("max_weight")(obs, core)
    assert sorted(actions[0].tolist()) == [0, 1, 2] and actions[0, 2] == 0  # users 0 and 1 served


def test_the_reward_scheduler_is_v0s_genie_on_v0_slots_and_pf_favours_the_starved():
    core, obs = _core(num_envs=4, n_users=4, n_channels=2, gain_std_db=3.0, rayleigh_fading=True)
    assert np.array_equal(CentralScheduler("reward")(obs, core)[0], oracle_actions(core))
    pf, obs = _core(n_users=2, n_channels=1, reward="proportional_fair")
    pf.pf_throughput[:] = [[2.0, 0.5]]  # same link, user 1 has had less
    assert CentralScheduler("reward")(obs, pf)[0].tolist() == [[0, 1]]


def test_expected_link_value_by_hand():
    core, _ = _core(n_users=1, n_channels=1, ge_p_gb=0.1, ge_p_bg=0.2, ge_bad_db=20.0, min_snr_db=3.0)
    value, level = expected_link_values(core)  # good 2/3 of the time (10 dB decodes), bad never
    assert value[0, 0, 0] == pytest.approx(2 / 3 * math.log2(11.0)) and level[0, 0, 0] == 0
    packets, _ = _core(n_users=1, n_channels=1, traffic=True, reward="packets", arrival_rate=0.2,
                       ge_p_gb=0.1, ge_p_bg=0.2, min_snr_db=3.0, power_cost=0.3)
    value, _ = expected_link_values(packets)  # delivers its 0.2 packets, sends 0.2 / (2/3) of slots
    assert value[0, 0, 0] == pytest.approx(0.2 - 0.3 * 0.2 / (2 / 3))


def test_tdma_frame_by_hand():
    frame = tdma_frame([2, 1, 1], per_slot=1, slots=4)
    assert [int(np.flatnonzero(row)[0]) for row in frame] == [0, 1, 2, 0]
    assert tdma_frame([1, 1, 1, 1], per_slot=2, slots=4).sum(axis=0).tolist() == [2, 2, 2, 2]  # round-robin


def test_static_schedules_follow_their_plan_and_send_only_with_packets():
    core, obs = _core(n_users=2, n_channels=2, traffic=True, reward="rate", arrival_rate=0.5)
    core.gain_db[:] = [[[0.0, 6.0], [6.0, 0.0]]]  # user 0 is better on channel 1, user 1 on channel 0
    state = StaticSchedule("fixed").initial_state(core, np.random.default_rng(0))
    assert state["plan"][0].tolist() == [[2, 1]]
    obs[..., core.queue_index] = [[0.1, 0.0]]  # user 1 has nothing to send
    actions, _ = StaticSchedule("fixed")(obs, state)
    assert actions.tolist() == [[2, 0]]
    tdma = StaticSchedule("tdma").initial_state(core, np.random.default_rng(0))
    assert tdma["plan"][0].tolist() == [[2, 1]]  # two users, two channels: both every slot


def test_schedules_blind_to_the_gains_put_users_on_channels_by_index():
    core, _ = _core(n_users=4, n_channels=2, reward="rate", frame_clock=2)
    core.gain_db[:] = [[[0.0, 6.0], [6.0, 0.0], [0.0, 6.0], [6.0, 0.0]]]
    seeing = StaticSchedule("tdma").initial_state(core, np.random.default_rng(0))["plan"]
    blind = StaticSchedule("tdma", know_gains=False).initial_state(core, np.random.default_rng(0))["plan"]
    # round-robin, two users a slot: users 0 and 1, then 2 and 3. Seeing the gains, each goes
    # to its strong channel; blind, the first of a slot takes channel 0 and the second channel 1
    assert seeing[:2, 0].tolist() == [[2, 1, 0, 0], [0, 0, 2, 1]]
    assert blind[:2, 0].tolist() == [[1, 2, 0, 0], [0, 0, 1, 2]]
    core.gain_db[:] = -core.gain_db  # the blind plan does not depend on the episode's gains
    again = StaticSchedule("tdma", know_gains=False).initial_state(core, np.random.default_rng(0))["plan"]
    assert np.array_equal(again, blind)


def _obs(core, last_actions, acks, queues=None):
    obs = np.zeros((1, core.n_users, core.obs_dim), np.float32)
    obs[0, np.arange(core.n_users), last_actions] = 1.0
    obs[0, :, core.n_actions] = acks
    if queues is not None:
        obs[0, :, core.queue_index] = queues
    return obs


def test_backoff_doubles_its_window_on_failure_and_resets_on_success():
    core, _ = _core(n_users=2, n_channels=1, traffic=True)
    policy = BinaryBackoff(cw_min=2, cw_max=8)
    state = policy.initial_state(core, np.random.default_rng(0))
    state["counter"][:] = [[0, 3]]
    actions, state = policy(_obs(core, [0, 0], [0, 0], [0.5, 0.5]), state)
    assert actions.tolist() == [[1, 0]] and state["counter"].tolist() == [[0, 2]]  # user 0 sends, user 1 waits
    _, state = policy(_obs(core, [1, 0], [0, 0], [0.5, 0.5]), state)  # user 0 failed
    assert state["cw"].tolist() == [[4, 2]] and 0 <= state["counter"][0, 0] < 4
    state["cw"][:] = 8
    _, state = policy(_obs(core, [1, 0], [1, 0], [0.5, 0.0]), state)  # user 0 got through; user 1 is empty
    assert state["cw"].tolist() == [[2, 8]] and state["counter"][0, 1] == 1  # an empty queue does not count down


def test_musical_chairs_sits_after_a_success_and_leaves_when_empty():
    core, _ = _core(n_users=2, n_channels=3, traffic=True)
    policy = MusicalChairs()
    state = policy.initial_state(core, np.random.default_rng(0))
    actions, state = policy(_obs(core, [3, 2], [1, 0], [0.5, 0.5]), state)  # user 0 got through on channel 2
    assert actions[0, 0] == 3 and state["chair"].tolist()[0][0] == 2 and state["chair"][0, 1] == -1
    actions, state = policy(_obs(core, [3, 0], [0, 0], [0.0, 0.5]), state)  # user 0's queue emptied
    assert actions[0, 0] == 0 and state["chair"][0, 0] == -1 and actions[0, 1] > 0


def test_frame_chairs_are_cells_of_the_frame_clock():
    """With frame=True a user that got through sits in that slot's phase on that channel and
    idles in the other phases; users still hopping transmit in every phase."""
    core, _ = _core(n_users=3, n_channels=1, frame_clock=2)
    policy = MusicalChairs(frame=True)
    state = policy.initial_state(core, np.random.default_rng(0))
    send = 1 + state["level"]  # the only channel, at the rule's level

    def obs(last, acks, phase):  # ``phase``: the coming slot's; the last slot was the other one
        o = _obs(core, last, acks)
        o[0, :, core.clock_index + phase] = 1.0
        return o

    actions, state = policy(obs([send, send, send], [1, 0, 0], phase=1), state)  # user 0 got through in phase 0
    assert actions.tolist() == [[0, send, send]] and state["phase"][0, 0] == 0
    actions, state = policy(obs([0, send, send], [0, 1, 0], phase=0), state)  # user 1 got through in phase 1
    assert actions.tolist() == [[send, 0, send]] and state["chair"].tolist() == [[0, 0, -1]]
    assert state["phase"][0, :2].tolist() == [0, 1]
    with pytest.raises(ValueError, match="frame clock"):
        MusicalChairs(frame=True).initial_state(_core(n_users=2, n_channels=1)[0], np.random.default_rng(0))


def test_frame_chairs_end_in_turns_without_collisions():
    """Four users, two channels, a 2-slot clock: four cells. Once every user has sat down the
    team is a collision-free TDMA frame: each user transmits in exactly one phase."""
    core, obs = _core(n_users=4, n_channels=2, frame_clock=2, max_cycles=200)
    policy = MusicalChairs(frame=True)
    state = policy.initial_state(core, np.random.default_rng(1))
    log = []
    for _ in range(200):
        actions, state = policy(obs, state)
        obs, _, _, info = core.step(actions)
        log.append((actions[0].copy(), info["collision_rate"][0]))
    last = log[-20:]
    assert all(collisions == 0 for _, collisions in last)
    sends = np.array([actions > 0 for actions, _ in last])  # (20, 4)
    assert sends.sum(axis=1).tolist() == [2] * 20  # two users a slot, one per channel
    assert (sends[0::2] != sends[1::2]).all()  # each user in one phase only


def test_aloha_with_queues_sends_only_with_a_packet():
    core, _ = _core(n_users=2, n_channels=1, traffic=True)
    policy = SlottedAloha(1.0)
    state = policy.initial_state(core, np.random.default_rng(0))
    actions, _ = policy(_obs(core, [0, 0], [0, 0], [0.2, 0.0]), state)
    assert actions.tolist() == [[1, 0]]


@pytest.mark.parametrize("scenario", sorted(PRESETS_V1))
def test_every_preset_rewards_adapting(scenario):
    """The better of the two non-adaptive schedules reaches at most 75% of the centralised
    reference on the preset's own metric."""
    config = make_config_v1(scenario)
    policies = reference_policies(config)
    metric = config.score_metric
    score = {k: evaluate(policies[k], config, 16, seed=10_000).mean(metric) for k in ("central", "fixed", "tdma")}
    assert max(score["fixed"], score["tdma"]) <= 0.75 * score["central"], score


@pytest.mark.parametrize("policy", [CentralScheduler(), StaticSchedule("tdma"), BinaryBackoff(), MusicalChairs()],
                         ids=lambda p: type(p).__name__)
def test_v1_references_refuse_a_v0_core_by_name(policy):
    core = DSACore(DSAConfig(), 1)
    core.reset(seed=0)
    with pytest.raises(TypeError, match=f"{type(policy).__name__} plays dsa_v1 cores, got DSACore"):
        policy.initial_state(core, np.random.default_rng(0))
