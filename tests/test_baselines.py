"""The genie oracle is optimal per slot; ALOHA matches its closed form; evaluation works."""

import itertools
import math

import numpy as np
import pytest

from envs.dsa import (
    PRESETS,
    DSAConfig,
    DSACore,
    GenieOracle,
    SlottedAloha,
    aloha_success_probability,
    baseline_policies,
    evaluate,
    make_config,
    oracle_actions,
)


@pytest.mark.parametrize("capture", [None, 2.0])
def test_oracle_equals_brute_force_maximum(capture):
    cfg = DSAConfig(
        n_users=3, n_channels=2, snr_levels_db=(0.0, 8.0), power_cost=1.5, gain_std_db=4.0,
        rayleigh_fading=True, pu_channels=(1,), pu_p_on=0.5, pu_p_off=0.5,
        collision_penalty=0.3, pu_penalty=0.7, capture_threshold_db=capture,
    )
    joint = np.array(list(itertools.product(range(cfg.n_actions), repeat=cfg.n_users)))
    reference = DSACore(cfg, num_envs=1)
    reference.reset(seed=11)
    every = DSACore(cfg, num_envs=len(joint))  # one copy per joint action, same channel state
    for _ in range(30):
        every.reset(seed=0)
        every.gain_db[:] = reference.gain_db
        every.fading_db[:] = reference.fading_db
        every.pu_on[:] = reference.pu_on
        oracle = oracle_actions(reference)
        _, _, _, info = every.step(joint)
        _, _, _, oracle_info = reference.step(oracle)
        assert oracle_info["utility"][0] == pytest.approx(info["utility"].max())


@pytest.mark.parametrize("scenario", list(PRESETS))
def test_oracle_never_beaten_on_any_slot(scenario):
    cfg = make_config(scenario, rayleigh_fading=scenario == "pu")
    episodes = 8 if scenario == "large" else 32
    policies = dict(baseline_policies(cfg, seed=0))
    policies["aloha p=0.3"] = SlottedAloha(0.3)
    oracle = policies.pop("oracle")
    best = evaluate(oracle, cfg, episodes=episodes, seed=123).slot_utility
    for name, policy in policies.items():
        slots = evaluate(policy, cfg, episodes=episodes, seed=123).slot_utility
        assert slots.shape == best.shape
        assert np.all(best >= slots - 1e-9), name
        assert best.mean() > slots.mean(), name


@pytest.mark.parametrize("n_users, n_channels, p", [(4, 2, 0.5), (6, 3, 0.3), (5, 4, 1.0)])
def test_aloha_success_rate_matches_closed_form(n_users, n_channels, p):
    cfg = DSAConfig(n_users=n_users, n_channels=n_channels)
    result = evaluate(SlottedAloha(p), cfg, episodes=128, seed=1)
    expected = aloha_success_probability(p, n_users, n_channels)
    # Episode means are independent; their spread gives the standard error of the mean.
    measured = result.mean("success_rate")
    assert abs(measured - expected) < 4 * result.std("success_rate") / math.sqrt(128) + 1e-3
    assert result.mean("idle_rate") == pytest.approx(1 - p, abs=0.01)


def test_closed_form_optimum_is_k_over_n():
    ps = np.linspace(0.01, 1.0, 100)
    best = ps[np.argmax([aloha_success_probability(p, 4, 2) for p in ps])]
    assert best == pytest.approx(0.5, abs=0.01)
    assert aloha_success_probability(0.5, 4, 2) == pytest.approx(0.5 * 0.75**3)


def test_adaptive_rule_stays_after_success_and_hops_after_failure():
    cfg = DSAConfig(n_users=2, n_channels=3)
    core = DSACore(cfg, num_envs=1)
    core.reset(seed=0)
    policy = SlottedAloha(p=1.0, stay_on_success=True)
    state = policy.initial_state(core, np.random.default_rng(0))
    obs, *_ = core.step(np.array([[3, 0]]))  # user 0 alone on channel 2: success
    for _ in range(20):
        actions, state = policy(obs, state)
        assert actions[0, 0] == 3  # stays
    obs, *_ = core.step(np.array([[3, 3]]))  # both collide on channel 2
    hops = {int(policy(obs, state)[0][0, 0]) for _ in range(50)}
    assert hops == {1, 2, 3}  # hops uniformly (its own channel again possible)


def test_evaluate_is_deterministic_and_reports_spread():
    cfg = make_config("pu")
    a = evaluate(SlottedAloha(0.4), cfg, episodes=10, num_envs=4, seed=3)
    b = evaluate(SlottedAloha(0.4), cfg, episodes=10, num_envs=4, seed=3)
    c = evaluate(SlottedAloha(0.4), cfg, episodes=10, num_envs=4, seed=4)
    assert a.summary() == b.summary()
    assert a.summary() != c.summary()
    assert a.episodes["utility"].shape == (10,) and a.slot_utility.shape == (10, cfg.max_cycles)
    assert a.std() > 0 and a.ci95() == pytest.approx(1.96 * a.std() / math.sqrt(10))
    mean_over_slots = a.slot_utility.mean(axis=1)
    assert np.allclose(mean_over_slots, a.episodes["utility"])


class _TakesTurns:
    """User 0 always on channel 0 (lowest level); user 1 on channel 1 (top level) in the frame
    clock's phase 0 only, and on channel 0 in its phase 1; the rest idle."""

    def initial_state(self, core, rng):
        return core

    def __call__(self, obs, core):
        L = core.n_levels
        phase = obs[:, 0, core.clock_index:].argmax(axis=-1)  # the clock of the slot to play
        actions = np.zeros(obs.shape[:2], dtype=np.int64)
        actions[:, 0] = 1
        actions[:, 1] = np.where(phase == 0, 1 + 1 * L + (L - 1), 1)
        return actions, core


def test_channel_shares_count_each_users_channel_per_clock_phase():
    cfg = make_config("snr", frame_clock=2, max_cycles=7)  # 3 levels; an odd episode: 4 slots of phase 0
    result = evaluate(_TakesTurns(), cfg, episodes=5, num_envs=2, seed=0)
    shares = result.channel_shares
    assert shares.shape == (cfg.n_users, 2, 1 + cfg.n_channels)
    assert shares[0].tolist() == [[0, 1, 0, 0]] * 2
    assert shares[1].tolist() == [[0, 0, 1, 0], [0, 1, 0, 0]]
    assert (shares[2:, :, 0] == 1).all()
    # per episode: users 0 and 1 transmit in every slot of each of the 5 episodes, the rest never
    assert result.transmit_share.shape == (5, cfg.n_users)
    assert (result.transmit_share[:, :2] == 1).all() and (result.transmit_share[:, 2:] == 0).all()
    # shares per phase: phase 0 has 4 slots of 7, phase 1 has 3. Without a clock, one phase;
    # random access (p = 1) never idles
    flat = evaluate(SlottedAloha(1.0), make_config("snr"), episodes=3, seed=0).channel_shares
    assert flat.shape == (6, 1, 4) and (flat[:, 0, 0] == 0).all() and np.allclose(flat.sum(-1), 1)


def test_basic_oracle_and_tuned_aloha_values():
    cfg = make_config("basic")
    oracle = evaluate(GenieOracle(), cfg, episodes=4).mean()
    assert oracle == pytest.approx(2 * math.log2(11.0))  # both channels carry one user
    aloha = baseline_policies(cfg)["aloha"]
    assert aloha.p == pytest.approx(0.5)  # the closed-form optimum K/N


def test_probe_then_settle_probes_without_collisions_then_plays_the_genies_matching():
    from envs.dsa.baselines import ProbeThenSettle, oracle_actions

    cfg = make_config("snr")
    core = DSACore(cfg, num_envs=4)
    obs = core.reset(seed=3)
    policy = ProbeThenSettle("central")
    state = policy.initial_state(core, np.random.default_rng(0))
    for t in range(cfg.n_users):  # probing: every user tries every channel once, alone
        actions, state = policy(obs, state)
        obs, _, _, info = core.step(actions)
        assert not info["collision"].any() and (info["success"] == info["transmit"]).all()
    actions, state = policy(obs, state)
    assert np.array_equal(actions, oracle_actions(core))  # static gains: the genie's matching
    assert np.isfinite(state["gain"]).all()
