"""dsa_v1: queues, bursty sources, Gilbert-Elliott links, objectives, PettingZoo compliance,
validation, and that every preset rewards adapting."""

import math

import numpy as np
import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test
from pettingzoo.utils import parallel_to_aec

from envs import dsa_v1
from envs.dsa import PRESETS_V1, DSAConfig, DSAConfigV1, DSACore, DSACoreV1, evaluate, make_config_v1
from envs.dsa.core_v1 import float32_threshold
from envs.dsa.queues import PacketQueues

V1 = sorted(PRESETS_V1)


# -------------------------------------------------------------------------- PettingZoo
@pytest.mark.parametrize("scenario", V1)
def test_pettingzoo_api_and_seeding(scenario):
    parallel_api_test(dsa_v1.parallel_env(scenario), num_cycles=150)
    api_test(parallel_to_aec(dsa_v1.parallel_env(scenario)), num_cycles=50)
    parallel_seed_test(lambda: dsa_v1.parallel_env(scenario), num_cycles=50)
    seed_test(lambda: dsa_v1.env(scenario), num_cycles=50)


@pytest.mark.parametrize("scenario", V1)
def test_state_lies_in_the_state_space(scenario):
    env = dsa_v1.parallel_env(scenario)
    env.reset(seed=3)
    for _ in range(30):
        assert env.state_space.contains(env.state())
        obs, *_ = env.step({a: env.action_space(a).sample() for a in env.agents})
        assert all(env.observation_space(a).contains(o) for a, o in obs.items())


# ------------------------------------------------------------------------------ queues
def test_float32_thresholds_give_the_float64_comparisons_exactly():
    """The sources compare float32 uniforms with float32 thresholds; the outcome must be the
    float64 comparison's for every uniform, including those right next to p."""
    p = np.array([0.0, 0.1, 0.3, 1 / 3, 0.7, 0.95, 1.0, 2.0**-30])
    threshold = float32_threshold(p)
    assert threshold.dtype == np.float32 and np.all(threshold >= p)
    near = np.concatenate([np.nextafter(threshold, np.float32(0)), threshold,
                           np.nextafter(threshold, np.float32(1))])
    u = np.concatenate([np.random.default_rng(0).random(100_000, dtype=np.float32), near])
    for q, t in zip(p, threshold):
        assert np.array_equal(u < q, u < t) and np.array_equal(u >= q, u >= t)


def test_queues_by_hand():
    q = PacketQueues(1, 2, capacity=2, deadline=3)
    yes = np.array([[True, False]])
    assert q.arrive(yes, 0).tolist() == [[False, False]]  # user 0: a packet stamped 0
    assert q.hol_age(1).tolist() == [[1, 0]]
    assert q.arrive(yes, 1).tolist() == [[False, False]]  # stamped 1: the queue is full
    assert q.arrive(yes, 2).tolist() == [[True, False]]  # overflow
    delivered, delay, expired = q.serve(yes, 2)  # the HOL packet (stamped 0) goes, 2 slots after arriving
    assert delivered.tolist() == [[True, False]] and delay.tolist() == [[2, 0]] and not expired.any()
    no = np.zeros_like(yes)
    assert not q.serve(no, 3)[2].any()  # stamped 1: waited 2 < 3
    delivered, _, expired = q.serve(no, 4)
    assert not delivered.any() and expired.tolist() == [[True, False]] and q.length.tolist() == [[0, 0]]
    delivered, _, expired = q.serve(yes, 5)  # nothing to deliver or drop
    assert not delivered.any() and not expired.any()


def test_a_served_queue_delivers_and_then_cannot_expire_in_the_same_slot():
    q = PacketQueues(1, 1, capacity=4, deadline=2)
    yes = np.array([[True]])
    q.arrive(yes, 0), q.arrive(yes, 1)
    # slot 2: the packet stamped 0 has waited 2 slots, the deadline; served, it is delivered
    # (not dropped), and the one stamped 1 behind it has waited 1
    delivered, delay, expired = q.serve(yes, 2)
    assert delivered.tolist() == [[True]] and delay.tolist() == [[2]] and not expired.any()
    assert q.length.tolist() == [[1]] and q.hol_age(3).tolist() == [[2]]
    delivered, _, expired = q.serve(~yes, 3)  # not served: now it expires
    assert not delivered.any() and expired.tolist() == [[True]] and q.length.tolist() == [[0]]


def _one_user(**fields):
    core = DSACoreV1(DSAConfigV1(n_users=1, n_channels=1, **fields))
    core.reset(seed=0)
    return core


def test_packets_reward_delivery_expiry_and_costs_by_hand():
    core = _one_user(traffic=True, reward="packets", arrival_rate=1.0, buffer=2, deadline=2, drop_cost=0.5,
                     delay_cost=0.1, power_cost=0.3)
    _, r, _, info = core.step(np.array([[1]]))  # empty queue: sends nothing, pays the power; 1 arrives
    assert r[0, 0] == pytest.approx(-0.3 - 0.1 * 1) and info["delivered"][0] == 0 and info["arrived"][0] == 1
    obs, r, _, info = core.step(np.array([[0]]))  # idle: 2 queued
    assert r[0, 0] == pytest.approx(-0.1 * 2) and obs[0, 0, core.queue_index] == 1.0
    assert obs[0, 0, core.queue_index + 1] == pytest.approx(2 / 2)  # HOL waited 2 slots of 2
    _, r, _, info = core.step(np.array([[0]]))  # the packet stamped 0 expires; a new one arrives
    assert info["dropped"][0] == 1 and r[0, 0] == pytest.approx(-0.5 - 0.1 * 2)
    _, r, _, info = core.step(np.array([[1]]))  # delivers the HOL packet (stamped 1, delay 2)
    assert info["delivered"][0] == 1 and r[0, 0] == pytest.approx(1 - 0.3 - 0.1 * 2)
    summary = core.episode_summary()
    assert summary["delay"][0] == pytest.approx(2.0) and summary["drop_rate"][0] == pytest.approx(1 / 4)


def test_proportional_fair_reward_by_hand():
    core = _one_user(reward="proportional_fair", pf_window=4.0)
    rate = math.log2(1 + 10.0)  # 10 dB, gain 0
    _, r, _, _ = core.step(np.array([[1]]))
    assert r[0, 0] == pytest.approx(rate / 1.0)  # T starts at 1
    _, r, _, _ = core.step(np.array([[1]]))
    t1 = 1.0 + (rate - 1.0) / 4
    assert r[0, 0] == pytest.approx(rate / t1)
    _, r, _, _ = core.step(np.array([[0]]))
    assert r[0, 0] == 0.0


def test_log_utility_reward_by_hand_and_its_episode_sum_is_the_alpha_fair_utility():
    core = _one_user(reward="log_utility", alpha_epsilon=0.01)
    rate = math.log2(1 + 10.0)
    _, r, _, _ = core.step(np.array([[1]]))  # mean throughput 0 -> rate
    assert r[0, 0] == pytest.approx(math.log(rate + 0.01) - math.log(0.01))
    _, r, _, _ = core.step(np.array([[0]]))  # idle: the mean halves
    assert r[0, 0] == pytest.approx(math.log(rate / 2 + 0.01) - math.log(rate + 0.01))
    cfg = make_config_v1("fair", reward="log_utility", power_cost=0.0, collision_penalty=0.0, max_cycles=30)
    team = DSACoreV1(cfg, num_envs=3)
    team.reset(seed=4)
    rng = np.random.default_rng(0)
    total, done = np.zeros(3), False
    while not done:
        _, r, done, info = team.step(rng.integers(0, cfg.n_actions, (3, cfg.n_users)))
        total += r.sum(axis=1)
    assert total == pytest.approx(info["alpha_fair"] - cfg.n_users * math.log(cfg.alpha_epsilon))


def test_bad_links_below_the_threshold_fail_without_a_collision():
    core = _one_user(ge_p_gb=0.5, ge_p_bg=0.5, ge_bad_db=20.0, min_snr_db=3.0)
    core.ge_bad[:] = True  # a bad link: 10 dB - 20 dB is below 3 dB
    _, r, _, info = core.step(np.array([[1]]))
    assert not info["success"][0, 0] and not info["collision"][0, 0] and r[0, 0] == 0.0
    good = _one_user(ge_p_gb=0.0, min_snr_db=3.0)
    _, r, _, info = good.step(np.array([[1]]))
    assert info["success"][0, 0] and r[0, 0] == pytest.approx(math.log2(11.0))


def test_gilbert_elliott_chain_statistics():
    """Links hold their state for geometric sojourns: per slot, that is the Markov chain with
    P(good -> bad) = ge_p_gb and P(bad -> good) = ge_p_bg, started from its stationary law."""
    cfg = make_config_v1("gilbert", max_cycles=300)
    core = DSACoreV1(cfg, num_envs=64)
    core.reset(seed=1)
    bad, stays_bad, turns_bad = [], [], []
    for _ in range(200):
        before = core.ge_bad.copy()
        core.step(np.zeros((64, cfg.n_users), dtype=np.int64))
        bad.append(core.ge_bad.mean())
        stays_bad.append((before & core.ge_bad).sum() / max(before.sum(), 1))
        turns_bad.append((~before & core.ge_bad).sum() / max((~before).sum(), 1))
    assert np.mean(bad) == pytest.approx(cfg.ge_p_bad, abs=0.03)  # 1/3
    assert np.mean(stays_bad) == pytest.approx(1 - cfg.ge_p_bg, abs=0.01)  # 0.9
    assert np.mean(turns_bad) == pytest.approx(cfg.ge_p_gb, abs=0.005)  # 0.05


def test_links_that_always_leave_their_state_alternate():
    core = DSACoreV1(make_config_v1("gilbert", ge_p_gb=1.0, ge_p_bg=1.0), num_envs=4)
    core.reset(seed=0)
    for _ in range(5):
        before = core.ge_bad.copy()
        core.step(np.zeros((4, 3), dtype=np.int64))
        assert np.array_equal(core.ge_bad, ~before)


def test_links_that_almost_never_recover_stay_bad():
    # sojourns of ~1e12 slots: clipped to the episode, not overflowing the slot counters
    core = DSACoreV1(make_config_v1("gilbert", ge_p_gb=0.5, ge_p_bg=1e-12), num_envs=4)
    core.reset(seed=0)
    bad_before = core.ge_bad.copy()
    for _ in range(30):
        core.step(np.zeros((4, 3), dtype=np.int64))
        assert (core.ge_bad >= bad_before).all()  # a bad link never turns good
        assert (core.ge_flip_at > core.t).all()  # every pending change lies ahead
        bad_before = core.ge_bad.copy()
    assert core.ge_bad.mean() > 0.99  # p(good->bad) = 0.5: after 30 slots nearly all are bad


def test_bursty_sources_have_their_stationary_mean():
    cfg = make_config_v1("traffic", max_cycles=400)
    result = evaluate(lambda_idle(), cfg, episodes=16, seed=5)
    assert result.mean("arrived") == pytest.approx(sum(cfg.mean_arrival_rates()), rel=0.1)


class lambda_idle:  # noqa: N801 - a tiny policy
    def initial_state(self, core, rng):
        return None

    def __call__(self, obs, state):
        return np.zeros(obs.shape[:2], dtype=np.int64), state


def test_v1_defaults_play_the_v0_slots():
    """With every v1 field at its default the rewards of a slot are v0's (same gains)."""
    v0, v1 = DSACore(DSAConfig(n_users=4, n_channels=2), 8), DSACoreV1(DSAConfigV1(n_users=4, n_channels=2), 8)
    v0.reset(seed=4)
    v1.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(30):
        actions = rng.integers(0, 3, (8, 4))
        assert np.array_equal(v0.step(actions)[1], v1.step(actions)[1])


def test_get_state_and_set_state_continue_exactly():
    cfg = make_config_v1("pu_traffic", rayleigh_fading=True, ge_p_gb=0.1)
    a, b = DSACoreV1(cfg, 3), DSACoreV1(cfg, 3)
    a.reset(seed=2)
    rng = np.random.default_rng(1)
    for _ in range(7):
        a.step(rng.integers(0, cfg.n_actions, (3, cfg.n_users)))
    b.set_state(a.get_state())
    for _ in range(10):
        act = rng.integers(0, cfg.n_actions, (3, cfg.n_users))
        oa, ra, _, ia = a.step(act)
        ob, rb, _, ib = b.step(act)
        assert np.array_equal(oa, ob) and np.array_equal(ra, rb) and np.array_equal(ia["dropped"], ib["dropped"])


@pytest.mark.parametrize("fields, message", [
    ({"arrival_rate": -0.1}, "DSAConfigV1.arrival_rate is a probability and must lie in [0, 1], got -0.1"),
    ({"burst_p_off": 1.5}, "DSAConfigV1.burst_p_off is a probability"),
    ({"arrival_rate": (0.1, 0.2)}, "arrival_rate needs one value or one per user (4), got 2"),
    ({"buffer": 0}, "DSAConfigV1.buffer must be >= 1, got 0"),
    ({"deadline": 0}, "DSAConfigV1.deadline must be >= 1, got 0"),
    ({"ge_p_gb": 2.0}, "DSAConfigV1.ge_p_gb is a probability"),
    ({"reward": "throughput"},
     "DSAConfigV1.reward must be one of ['rate', 'packets', 'proportional_fair', 'log_utility']"),
    ({"pf_window": 0.5}, "DSAConfigV1.pf_window must be >= 1, got 0.5"),
    ({"traffic": "yes"}, "DSAConfigV1.traffic must be true or false, got 'yes'"),
    ({"buffer": 2.5}, "DSAConfigV1.buffer must be an integer, got 2.5"),
])
def test_bad_v1_configs_name_the_field(fields, message):
    with pytest.raises(ValueError) as e:
        DSAConfigV1(**fields)
    assert message in str(e.value)
    with pytest.raises(ValueError, match="unknown dsa_v1 scenario 'basic'"):
        make_config_v1("basic")


def test_the_learner_trains_exports_and_resumes_on_v1(tmp_path):
    """Every v1 preset trains end to end; a pruned v1 team exports, and the numpy runtime
    acts exactly as the torch actors (a killed v1 run resuming exactly: tests/test_train.py)."""
    import subprocess
    import sys
    from pathlib import Path

    from marl_prune.deploy.export import export_safetensors
    from marl_prune.deploy.runtime import SparseTeam
    from marl_prune.learner.config import TrainConfig
    from marl_prune.learner.runs import load_trained_actors
    from marl_prune.learner.train import train

    tiny = dict(num_envs=2, num_steps=10, bptt_chunk=5, hidden_size=8, critic_hidden=8, eval_episodes=2,
                eval_every=0, progress=False, env_version="v1", runs_dir=str(tmp_path), iterations=2)
    for scenario in V1:
        result = train(TrainConfig(**tiny, scenario=scenario, run_name=scenario, env={"max_cycles": 10}))
        assert {"eval/delivered", "eval/drop_rate", "eval/score_vs_reference"} <= set(result.metrics)
    pruned = TrainConfig(**{**tiny, "iterations": 4}, scenario="gilbert", run_name="pruned", prune_schedule="linear",
                         prune_warmup=1, prune_end_lock=1, prune_every=1, final_sparsity=0.5, env={"max_cycles": 10})
    result = train(pruned)
    actors, config = load_trained_actors(result.run_dir)
    team = SparseTeam.load(export_safetensors(actors, config, tmp_path / "team.safetensors"))
    assert team.header["env_version"] == "v1"
    core = DSACoreV1(config.env_config(), num_envs=1)
    obs, h = core.reset(seed=0), actors.initial_hidden(1)
    team.reset(1)
    for _ in range(10):
        import torch

        with torch.no_grad():
            logits, h = actors.step(torch.from_numpy(obs), h)
        assert np.abs(team.logits(obs) - logits.numpy()).max() < 1e-5
        obs, *_ = core.step(logits.argmax(-1).numpy())
    done = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "scripts" / "run_exported.py"),
                           str(tmp_path / "team.safetensors"), "--episodes", "2"], capture_output=True, text=True)
    assert done.returncode == 0 and "of the centralised reference" in done.stdout, done.stderr
    assert "; score" not in done.stdout  # gilbert is judged on the utility itself
    actors, config = load_trained_actors(tmp_path / "fair")  # fair is judged on the geometric mean throughput
    export_safetensors(actors, config, tmp_path / "fair.safetensors")
    done = subprocess.run([sys.executable, str(Path(__file__).parents[1] / "scripts" / "run_exported.py"),
                           str(tmp_path / "fair.safetensors"), "--episodes", "2"], capture_output=True, text=True)
    assert done.returncode == 0 and "; score (geometric_throughput) " in done.stdout, done.stderr


@pytest.mark.parametrize("version, scenario", [("v0", "pu"), ("v1", "pu_traffic"), ("v1", "fair")])
def test_episode_metrics_arrive_with_the_last_slot(version, scenario):
    from envs.dsa import make_core, make_env_config

    core = make_core(make_env_config(version, scenario, max_cycles=12), num_envs=3)
    core.reset(seed=1)
    rng = np.random.default_rng(0)
    truncated = False
    while not truncated:
        _, _, truncated, info = core.step(rng.integers(0, core.n_actions, (3, core.n_users)))
        summary = core.episode_summary()
        assert set(summary) == set(core.episode_metrics)
        assert set(core.episode_metrics) <= set(info) if truncated else not set(core.episode_metrics) & set(info)
    for m in core.episode_metrics:  # what the last slot reports is the whole episode's summary
        np.testing.assert_array_equal(info[m], summary[m])
