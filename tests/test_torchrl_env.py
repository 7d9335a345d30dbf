"""The native TorchRL environment: TorchRL's spec check on every preset, the core's
trajectories exactly, PettingZooWrapper's trajectories, and whole-batch resets only."""

import numpy as np
import pytest
import torch

pytest.importorskip("torchrl")
from tensordict import TensorDict  # noqa: E402
from torchrl.envs.libs.pettingzoo import PettingZooWrapper  # noqa: E402
from torchrl.envs.utils import MarlGroupMapType, check_env_specs  # noqa: E402

from envs import dsa_v0, dsa_v1  # noqa: E402
from envs.dsa import make_core, make_env_config, presets  # noqa: E402
from envs.dsa.torchrl_env import DSATorchRLEnv  # noqa: E402

PRESETS = [("v0", s) for s in presets("v0")] + [("v1", s) for s in presets("v1")]


@pytest.mark.parametrize("version, scenario", PRESETS)
def test_specs_pass_torchrls_check_on_every_preset(version, scenario):
    env = DSATorchRLEnv(scenario, env_version=version, num_envs=3, max_cycles=5)
    env.set_seed(0)
    check_env_specs(env)
    assert env.observation_spec["agents", "observation"].shape == (3, env.n_agents, env.core.obs_dim)
    assert env.observation_spec["state"].shape == (3, env.core.state_dim)


def _actions(n_actions, shape, steps, seed=0):
    return np.random.default_rng(seed).integers(0, n_actions, (steps, *shape))


@pytest.mark.parametrize("version, scenario", [("v0", "pu"), ("v1", "pu_traffic")])
def test_trajectories_are_the_cores(version, scenario):
    env = DSATorchRLEnv(scenario, env_version=version, num_envs=4, max_cycles=12)
    core = make_core(make_env_config(version, scenario, max_cycles=12), num_envs=4)
    actions = _actions(core.n_actions, (4, core.n_users), 12)
    env.set_seed(7)
    td = env.reset()
    np.testing.assert_array_equal(td["agents", "observation"].numpy(), core.reset(seed=7))
    for t in range(12):
        td["agents", "action"] = torch.as_tensor(actions[t])
        out = env.step(td)["next"]
        obs, rewards, truncated, _ = core.step(actions[t])
        np.testing.assert_array_equal(out["agents", "observation"].numpy(), obs)
        np.testing.assert_allclose(out["agents", "reward"].numpy()[..., 0], rewards, rtol=1e-6)
        np.testing.assert_array_equal(out["state"].numpy(), core.state())
        assert out["done"].all().item() == truncated == out["truncated"].all().item() and not out["terminated"].any()
        td = out


@pytest.mark.parametrize("module, scenario", [(dsa_v0, "snr"), (dsa_v1, "traffic")])
def test_one_copy_matches_pettingzoo_wrapper(module, scenario):
    wrapper = PettingZooWrapper(env=module.parallel_env(scenario=scenario), return_state=True, use_mask=False,
                                group_map=MarlGroupMapType.ALL_IN_ONE_GROUP)
    version = "v0" if module is dsa_v0 else "v1"
    native = DSATorchRLEnv(scenario, env_version=version, num_envs=1)
    n_users, n_actions = native.n_agents, native.core.n_actions
    actions = _actions(n_actions, (n_users,), 30, seed=3)
    # the wrapper's set_seed resets the ParallelEnv with the seed at once, so its next reset
    # plays the seed's second episode; the native env's seed takes effect at its next reset
    wrapper.set_seed(5)
    native.set_seed(5)
    native.reset()
    w, n = wrapper.reset(), native.reset()
    for t in range(30):
        w["agents", "action"] = torch.as_tensor(actions[t])
        n["agents", "action"] = torch.as_tensor(actions[t])[None]
        w, n = wrapper.step(w)["next"], native.step(n)["next"]
        np.testing.assert_allclose(n["agents", "observation"][0].numpy(), w["agents", "observation"].numpy(), atol=1e-7)
        np.testing.assert_allclose(n["agents", "reward"][0].numpy(), w["agents", "reward"].numpy(), atol=1e-6)
        np.testing.assert_allclose(n["state"][0].numpy(), w["state"].numpy(), atol=1e-7)


def test_a_partial_reset_is_refused():
    env = DSATorchRLEnv("basic", num_envs=3)
    env.reset()
    partial = TensorDict({"_reset": torch.tensor([[True], [False], [True]])}, batch_size=[3])
    with pytest.raises(ValueError, match="resets every copy at once"):
        env.reset(partial)
    whole = TensorDict({"_reset": torch.ones(3, 1, dtype=torch.bool)}, batch_size=[3])
    assert env.reset(whole)["agents", "observation"].shape == (3, 4, env.core.obs_dim)
