"""PettingZoo's own compliance checks, our multi-step determinism check, and API errors."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import data_equivalence
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    render_test,
    seed_test,
)
from pettingzoo.test.state_test import state_test
from pettingzoo.utils import parallel_to_aec

from envs import dsa_v0
from envs.dsa import PRESETS, DSACore

# Every preset, plus one with every optional mechanism switched on.
VARIANTS = [{"scenario": name} for name in PRESETS] + [
    {
        "scenario": "pu",
        "rayleigh_fading": True,
        "capture_threshold_db": 3.0,
        "collision_penalty": 0.5,
        "include_slot_fraction": True,
    }
]
IDS = [v["scenario"] for v in VARIANTS[:-1]] + ["all-options"]


@pytest.mark.parametrize("kwargs", VARIANTS, ids=IDS)
def test_parallel_api(kwargs):
    parallel_api_test(dsa_v0.parallel_env(**kwargs), num_cycles=300)


@pytest.mark.parametrize("kwargs", VARIANTS, ids=IDS)
def test_aec_api(kwargs):
    api_test(parallel_to_aec(dsa_v0.parallel_env(**kwargs)), num_cycles=300)


@pytest.mark.parametrize("kwargs", VARIANTS, ids=IDS)
def test_seeding(kwargs):
    parallel_seed_test(lambda: dsa_v0.parallel_env(**kwargs), num_cycles=100)
    seed_test(lambda: dsa_v0.env(**kwargs), num_cycles=100)


def test_max_cycles():
    max_cycles_test(dsa_v0)


def test_render():
    render_test(lambda render_mode: dsa_v0.env(render_mode=render_mode))


def test_render_shows_the_slot():
    env = dsa_v0.parallel_env(render_mode="ansi")
    env.reset(seed=0)
    env.step({"user_0": 1, "user_1": 1, "user_2": 2, "user_3": 0})
    text = env.render()
    assert "COLLISION" in text and "OK" in text and "idle" in text and "slot 1/100" in text


@pytest.mark.parametrize("kwargs", VARIANTS, ids=IDS)
def test_state(kwargs):
    state_test(dsa_v0.env(**kwargs), dsa_v0.parallel_env(**kwargs), num_cycles=50)


def test_registered_with_pettingzoo():
    import pettingzoo

    if not hasattr(pettingzoo, "make"):
        pytest.skip("this PettingZoo has no registry")
    env = pettingzoo.make("parallel", "marl_prune/dsa-v0", scenario="pu")
    assert env.possible_agents == [f"user_{i}" for i in range(6)]


def _rollout(env, seed, steps, action_seed):
    """Observations, rewards, truncations, infos and states of ``steps`` slots, resetting
    at every episode end (the second episode continues the env's random stream)."""
    rng = np.random.default_rng(action_seed)
    trace = []
    obs, info = env.reset(seed=seed)
    trace.append((obs, info, env.state()))
    for _ in range(steps):
        if not env.agents:
            obs, info = env.reset()
            trace.append((obs, info, env.state()))
        actions = {a: int(rng.integers(env.action_space(a).n)) for a in env.agents}
        trace.append((*env.step(actions), env.state()))
    return trace


def test_two_envs_same_seed_agree_for_200_steps():
    kwargs = VARIANTS[-1]  # fading, PUs and capture: every random draw is exercised
    a = _rollout(dsa_v0.parallel_env(**kwargs), seed=7, steps=200, action_seed=1)
    b = _rollout(dsa_v0.parallel_env(**kwargs), seed=7, steps=200, action_seed=1)
    assert len(a) == len(b) == 202  # 200 steps, 2 resets (max_cycles = 100)
    for x, y in zip(a, b):
        assert data_equivalence(x, y)
    c = _rollout(dsa_v0.parallel_env(**kwargs), seed=8, steps=200, action_seed=1)
    assert not all(data_equivalence(x, y) for x, y in zip(a, c))


def test_parallel_env_matches_vectorised_core():
    kwargs = dict(VARIANTS[-1])
    env = dsa_v0.parallel_env(**kwargs)
    core = DSACore(env.config, num_envs=1)
    obs, _ = env.reset(seed=3)
    core_obs = core.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(env.config.max_cycles):
        assert np.array_equal(np.stack([obs[a] for a in env.possible_agents]), core_obs[0])
        assert np.array_equal(env.state(), core.state()[0])
        joint = rng.integers(0, env.config.n_actions, size=(1, env.config.n_users))
        obs, rew, _, trunc, info = env.step(dict(zip(env.possible_agents, joint[0].tolist())))
        core_obs, core_rew, core_trunc, core_info = core.step(joint)
        assert [rew[a] for a in env.possible_agents] == core_rew[0].tolist()
        assert info["user_0"]["utility"] == core_info["utility"][0]
        assert all(t == core_trunc for t in trunc.values())
    assert core_trunc and env.agents == []


def test_bad_actions_raise_clear_errors():
    env = dsa_v0.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="missing \\['user_3'\\]"):
        env.step({"user_0": 0, "user_1": 0, "user_2": 0})
    with pytest.raises(ValueError, match="unknown \\['user_9'\\]"):
        env.step({"user_0": 0, "user_1": 0, "user_2": 0, "user_3": 0, "user_9": 0})
    with pytest.raises(ValueError, match="must lie in \\[0, 3\\)"):
        env.step({"user_0": 3, "user_1": 0, "user_2": 0, "user_3": 0})
    with pytest.raises(ValueError, match="must lie in \\[0, 3\\)"):
        env.step({"user_0": -1, "user_1": 0, "user_2": 0, "user_3": 0})
    with pytest.raises(ValueError, match="must be an integer"):
        env.step({"user_0": 1.5, "user_1": 0, "user_2": 0, "user_3": 0})
    with pytest.raises(ValueError, match="render_mode"):
        dsa_v0.parallel_env(render_mode="rgb")


def test_step_after_episode_end_raises():
    env = dsa_v0.parallel_env(max_cycles=1)
    env.reset(seed=0)
    env.step(dict.fromkeys(env.agents, 0))
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
