"""Hand-computed slots of the vectorised core, its statistics, and config validation."""

import math

import numpy as np
import pytest

from envs.dsa import DSAConfig, DSACore, DSACoreV1, jain_fairness, make_config, make_config_v1


def _core(num_envs=1, **fields):
    core = DSACore(DSAConfig(**fields), num_envs=num_envs)
    core.reset(seed=0)
    return core


def test_collision_slot_by_hand():
    core = _core(n_users=4, n_channels=2, snr_levels_db=(10.0,))
    # users 0 and 1 on channel 0 (action 1), user 2 alone on channel 1 (action 2), user 3 idle
    obs, rewards, truncated, info = core.step(np.array([[1, 1, 2, 0]]))
    rate = math.log2(1 + 10.0)
    assert rewards[0].tolist() == pytest.approx([0.0, 0.0, rate, 0.0])
    assert info["success"][0].tolist() == [False, False, True, False]
    assert info["collision"][0].tolist() == [True, True, False, False]
    assert info["utility"][0] == pytest.approx(rate)
    assert info["success_rate"][0] == 0.25
    assert info["collision_rate"][0] == 0.5
    assert info["idle_rate"][0] == 0.25
    assert info["channel_utilisation"][0] == 0.5
    assert not truncated
    # observation: one-hot last action, ACK, SNR / 20 dB (0 unless the packet got through)
    assert obs[0, 0].tolist() == [0, 1, 0, 0, 0]
    assert obs[0, 2].tolist() == pytest.approx([0, 0, 1, 1, 0.5])
    assert obs[0, 3].tolist() == [1, 0, 0, 0, 0]


def test_capture_slot_by_hand():
    core = _core(n_users=3, n_channels=1, snr_levels_db=(0.0, 10.0), capture_threshold_db=3.0)
    # user 0 at 10 dB (power 10), user 1 at 0 dB (power 1), user 2 idle.
    _, rewards, _, info = core.step(np.array([[2, 1, 0]]))
    sinr0 = 10.0 / (1.0 + 1.0)  # 7 dB >= 3 dB: captures
    assert info["success"][0].tolist() == [True, False, False]
    assert info["collision"][0].tolist() == [False, True, False]
    assert rewards[0, 0] == pytest.approx(math.log2(1 + sinr0))
    # two equal-power users: SINR 10/11 < 2 (3 dB), neither captures
    _, _, _, info = core.step(np.array([[2, 2, 0]]))
    assert info["success"][0].tolist() == [False, False, False]


def test_primary_user_blocks_channel_and_costs_penalty():
    core = _core(n_users=2, n_channels=2, pu_channels=(0,), pu_penalty=1.5)
    core.pu_on[:] = [[True, False]]
    pu_in_state = slice(2 * core.obs_dim, 2 * core.obs_dim + 2)  # after the 2 observations
    assert core.state()[0, pu_in_state].tolist() == [1.0, 0.0]
    _, rewards, _, info = core.step(np.array([[1, 2]]))
    assert info["success"][0].tolist() == [False, True]
    assert info["collision"][0].tolist() == [True, False]
    assert rewards[0].tolist() == pytest.approx([-1.5, math.log2(11.0)])


def test_power_cost_and_collision_penalty_by_hand():
    core = _core(
        n_users=3, n_channels=2, snr_levels_db=(0.0, 10.0), power_cost=2.0, collision_penalty=0.5
    )
    # level 0 costs 2 * 1/10 = 0.2, level 1 costs 2; user 0 alone at level 0 on channel 0,
    # users 1 and 2 collide on channel 1 at levels 1 and 0.
    _, rewards, _, _ = core.step(np.array([[1, 4, 3]]))
    assert rewards[0].tolist() == pytest.approx([1.0 - 0.2, -2.0 - 0.5, -0.2 - 0.5])


def test_gains_enter_the_received_snr():
    core = _core(n_users=1, n_channels=2, gain_std_db=3.0)
    gains = core.gain_db[0, 0].copy()
    assert not np.allclose(gains, 0.0)
    _, rewards, _, info = core.step(np.array([[2]]))
    assert info["snr_db"][0, 0] == pytest.approx(10.0 + gains[1])
    assert rewards[0, 0] == pytest.approx(math.log2(1 + 10 ** ((10.0 + gains[1]) / 10)))


def test_jain_fairness_by_hand():
    assert jain_fairness(np.array([1.0, 0.0, 0.0, 0.0])) == pytest.approx(0.25)
    assert jain_fairness(np.array([2.0, 2.0])) == pytest.approx(1.0)
    assert jain_fairness(np.array([1.0, 3.0])) == pytest.approx(16 / (2 * 10))
    assert jain_fairness(np.zeros(3)) == 1.0
    # through the environment: one user always through, three idle -> 1/4 after any slot
    core = _core(n_users=4, n_channels=2, max_cycles=3)
    for _ in range(2):
        *_, info = core.step(np.array([[1, 0, 0, 0]]))
        assert core.episode_summary()["fairness"][0] == pytest.approx(0.25)
        assert "fairness" not in info  # an episode metric: reported when the episode ends
    *_, truncated, info = core.step(np.array([[1, 0, 0, 0]]))
    assert truncated and info["fairness"][0] == pytest.approx(0.25)


def test_truncation_after_max_cycles_and_slot_fraction():
    core = _core(n_users=2, n_channels=1, max_cycles=3, include_slot_fraction=True)
    for t in range(1, 4):
        obs, _, truncated, _ = core.step(np.zeros((1, 2), dtype=int))
        assert obs[0, 0, -1] == pytest.approx(t / 3)
        assert truncated == (t == 3)
    with pytest.raises(RuntimeError, match="reset"):
        core.step(np.zeros((1, 2), dtype=int))


@pytest.mark.parametrize("version, scenario", [("v0", s) for s in ("basic", "snr", "pu", "large")]
                         + [("v1", s) for s in ("traffic", "gilbert", "pu_traffic", "fair", "large_traffic")])
def test_every_user_observes_its_own_last_action_ack_and_the_clock(version, scenario):
    # Each user's row must hold its own action: with several users and copies a wrong row
    # stride writes one user's action into another user's row.
    config = (make_config(scenario) if version == "v0" else make_config_v1(scenario)).replace(
        include_slot_fraction=True, frame_clock=3)
    core = (DSACore if version == "v0" else DSACoreV1)(config, num_envs=3)
    obs = core.reset(seed=0)
    A, L = core.n_actions, 3
    np.testing.assert_array_equal(obs[..., 0], 1.0)  # "idle" before the first slot
    first_slot = np.broadcast_to(np.eye(L)[0], obs.shape[:2] + (L,))
    np.testing.assert_array_equal(obs[..., core.clock_index:], first_slot)
    rng = np.random.default_rng(0)
    for t in range(1, 5):
        actions = rng.integers(0, A, (3, core.n_users))
        obs, _, _, info = core.step(actions)
        assert obs.shape[-1] == core.obs_dim == core.clock_index + L
        np.testing.assert_array_equal(obs[..., :A], np.eye(A)[actions])
        np.testing.assert_array_equal(obs[..., A], info["delivered_by_user"] if version == "v1" else info["success"])
        np.testing.assert_allclose(obs[..., core.slot_index], t / config.max_cycles)
        slot = np.broadcast_to(np.eye(L)[t % L], obs.shape[:2] + (L,))
        np.testing.assert_array_equal(obs[..., core.clock_index:], slot)
        assert core.observation_space.contains(obs[0, 0])


def test_the_frame_clock_leaves_the_slots_unchanged():
    plain, clocked = _core(num_envs=2, **make_config("pu").__dict__), _core(
        num_envs=2, **{**make_config("pu").__dict__, "frame_clock": 2})
    rng = np.random.default_rng(1)
    for _ in range(20):
        actions = rng.integers(0, plain.n_actions, (2, plain.n_users))
        obs_a, rewards_a, _, _ = plain.step(actions)
        obs_b, rewards_b, _, _ = clocked.step(actions)
        np.testing.assert_array_equal(rewards_a, rewards_b)
        np.testing.assert_array_equal(obs_a, obs_b[..., :plain.obs_dim])


def test_primary_user_chain_statistics():
    cfg = DSAConfig(n_users=1, n_channels=4, pu_channels=(1, 3), pu_p_on=0.2, pu_p_off=0.3,
                    max_cycles=400)
    core = DSACore(cfg, num_envs=256)
    core.reset(seed=1)
    history = [core.pu_on.copy()]
    for _ in range(cfg.max_cycles):
        core.step(np.zeros((256, 1), dtype=int))
        history.append(core.pu_on.copy())
    h = np.stack(history)  # (T, B, K)
    assert not h[:, :, [0, 2]].any()  # channels without a primary user stay free
    on = h[:, :, [1, 3]]
    prev, nxt = on[:-1], on[1:]
    assert (nxt & ~prev).sum() / (~prev).sum() == pytest.approx(0.2, abs=0.01)
    assert (~nxt & prev).sum() / prev.sum() == pytest.approx(0.3, abs=0.01)
    assert on.mean() == pytest.approx(0.2 / 0.5, abs=0.01)  # stationary P(on)


def test_rayleigh_fading_has_unit_mean_power_and_changes_every_slot():
    core = _core(num_envs=512, n_users=2, n_channels=2, rayleigh_fading=True)
    first = core.fading_db.copy()
    assert np.mean(10 ** (first / 10)) == pytest.approx(1.0, abs=0.05)
    core.step(np.zeros((512, 2), dtype=int))
    assert not np.array_equal(first, core.fading_db)


def test_same_seed_same_batch_and_policy_independent_exogenous_process():
    cfg = make_config("pu", rayleigh_fading=True)
    a, b = DSACore(cfg, 8), DSACore(cfg, 8)
    a.reset(seed=5)
    b.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(20):
        a.step(rng.integers(0, cfg.n_actions, (8, cfg.n_users)))
        b.step(np.zeros((8, cfg.n_users), dtype=int))  # a different policy
        assert np.array_equal(a.pu_on, b.pu_on) and np.array_equal(a.link_gain_db, b.link_gain_db)


def test_get_state_and_set_state_continue_exactly():
    cfg = make_config("pu", rayleigh_fading=True, max_cycles=10)
    a = DSACore(cfg, 3)
    a.reset(seed=2)
    rng = np.random.default_rng(1)
    actions = [rng.integers(0, cfg.n_actions, (3, cfg.n_users)) for _ in range(12)]
    for act in actions[:6]:
        a.step(act)
    snapshot = a.get_state()
    b = DSACore(cfg, 3)  # a fresh core, never reset
    b.set_state(snapshot)
    for act in actions[6:10]:  # to the end of the episode, then into the next one
        oa, ra, ta, _ = a.step(act)
        ob, rb, tb, _ = b.step(act)
        assert np.array_equal(oa, ob) and np.array_equal(ra, rb) and ta == tb
    with pytest.raises(RuntimeError, match="call reset"):
        b.step(actions[10])
    assert np.array_equal(a.reset(), b.reset()) and np.array_equal(a.state(), b.state())
    snapshot["pu_on"] = snapshot["pu_on"][:2]
    with pytest.raises(ValueError, match="pu_on has shape"):
        b.set_state(snapshot)


def test_core_rejects_bad_actions():
    core = _core(num_envs=2, n_users=3, n_channels=2)
    with pytest.raises(ValueError, match="shape \\(2, 3\\)"):
        core.step(np.zeros((2, 2), dtype=int))
    with pytest.raises(ValueError, match="integers"):
        core.step(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must lie in \\[0, 3\\)"):
        core.step(np.full((2, 3), 3))


@pytest.mark.parametrize(
    "fields, name",
    [
        ({"n_channels": 0}, "n_channels"),
        ({"n_users": 0}, "n_users"),
        ({"pu_p_on": 1.5}, "pu_p_on"),
        ({"pu_p_off": -0.1}, "pu_p_off"),
        ({"snr_levels_db": (10.0, 5.0)}, "snr_levels_db"),
        ({"snr_levels_db": ()}, "snr_levels_db"),
        ({"pu_channels": (2,)}, "pu_channels"),
        ({"capture_threshold_db": -1.0}, "capture_threshold_db"),
        ({"power_cost": -1.0}, "power_cost"),
        ({"max_cycles": 0}, "max_cycles"),
        ({"frame_clock": -1}, "frame_clock"),
    ],
)
def test_invalid_config_names_the_field(fields, name):
    with pytest.raises(ValueError, match=f"DSAConfig.{name} "):
        DSAConfig(**fields)


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="unknown scenario 'nope'.*basic"):
        make_config("nope")
    with pytest.raises(ValueError, match="unknown DSAConfig field.*n_user"):
        make_config("basic", n_user=3)
    assert make_config("snr", max_cycles=7).max_cycles == 7
