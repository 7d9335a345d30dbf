"""Training end to end: determinism, kill-and-resume, TensorBoard tags, bad input."""

import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from envs.dsa import DSACore
from marl_prune.learner.checkpoint import load_checkpoint
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.run_folder import RunConflict
from marl_prune.learner.runs import CHECKPOINT
from marl_prune.learner.train import train

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(
    num_envs=4, num_steps=20, bptt_chunk=10, hidden_size=16, critic_hidden=16,
    eval_episodes=4, eval_every=2, env={"max_cycles": 30}, progress=False,
)
TINY_ARGS = [
    "--num-envs", "4", "--num-steps", "20", "--bptt-chunk", "10", "--hidden-size", "16",
    "--critic-hidden", "16", "--eval-episodes", "4", "--eval-every", "2", "--env", "max_cycles=30",
    "--no-progress",
]
REQUIRED_TAGS = {
    "charts/utility", "charts/utility_vs_oracle", "charts/success_rate", "charts/collision_rate",
    "charts/fairness", "charts/SPS", "losses/policy", "losses/value", "losses/entropy",
    "losses/approx_kl", "losses/clipfrac", "losses/explained_variance",
}


def _weights(run_dir):
    return load_checkpoint(Path(run_dir) / CHECKPOINT)["actors"]


@pytest.mark.parametrize("overrides", [{}, {"critic": "local", "scenario": "pu"}, {"algo": "a2c"},
                                       {"critic": "local", "share_actor_params": True, "share_critic_params": True},
                                       {"credit": "difference", "scenario": "snr"}],
                         ids=["iagc", "ippo-pu", "a2c", "shared-ippo", "difference-snr"])
def test_same_seed_trains_identically(tmp_path, overrides):
    cfg = dict(TINY, iterations=3, runs_dir=str(tmp_path), **overrides)
    a = train(TrainConfig(**cfg, run_name="a"))
    b = train(TrainConfig(**cfg, run_name="b"))
    c = train(TrainConfig(**{**cfg, "seed": 2}, run_name="c"))
    assert a.metrics == b.metrics
    wa, wb, wc = _weights(a.run_dir), _weights(b.run_dir), _weights(c.run_dir)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not all(torch.equal(wa[k], wc[k]) for k in wa)


def _run_script(args, **kwargs):
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "train_dsa.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, **kwargs)


def _start_script(args, **kwargs):
    """train_dsa.py started in the background, its stdout discarded."""
    return subprocess.Popen([sys.executable, str(ROOT / "scripts" / "train_dsa.py"), *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, **kwargs)


PRUNING_ARGS = ["--prune-schedule", "harmonic", "--prune-warmup", "1", "--prune-end-lock", "1",
                "--prune-every", "1", "--harmonic-period", "3", "--final-sparsity", "0.8",
                "--prune-mode", "strict", "--finetune-iterations", "2"]


@pytest.mark.parametrize("extra", [[], PRUNING_ARGS, ["--env-version", "v1", "--scenario", "traffic"]],
                         ids=["dense", "pruned", "v1-traffic"])
def test_killed_run_resumes_to_the_same_result(tmp_path, extra):
    common = [*TINY_ARGS, "--iterations", "8", "--checkpoint-every", "1", "--scenario", "pu",
              "--runs-dir", str(tmp_path), *extra]
    # the uninterrupted reference trains beside the run that gets killed (two cores, half the wait)
    reference = _start_script([*common, "--run-name", "whole"], stderr=subprocess.PIPE, text=True)
    proc = _start_script([*common, "--run-name", "killed"], stderr=subprocess.DEVNULL)
    ckpt = tmp_path / "killed" / CHECKPOINT
    deadline = time.time() + 120
    while time.time() < deadline:  # kill it once it is part-way through
        if ckpt.exists() and load_checkpoint(ckpt)["iteration"] >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = load_checkpoint(ckpt)["iteration"]
    assert killed_at < (10 if extra == PRUNING_ARGS else 8) and not (tmp_path / "killed" / "metrics.json").exists()

    resumed = _run_script(["--resume", str(tmp_path / "killed")])
    assert resumed.returncode == 0, resumed.stderr
    _, reference_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, reference_err
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    again = json.loads((tmp_path / "killed" / "metrics.json").read_text())
    assert whole == again
    wa, wb = _weights(tmp_path / "whole"), _weights(tmp_path / "killed")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # every TensorBoard point, the checkpointed iteration's included (timings aside)
    curves_whole, curves_again = _scalars(tmp_path / "whole"), _scalars(tmp_path / "killed")
    assert curves_whole == curves_again
    checkpointed_step = killed_at * 4 * 20
    assert checkpointed_step in [step for step, _ in curves_again["charts/utility"]]


def _scalars(run_dir):
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]
            if tag != "charts/SPS" and not tag.startswith("charts/time_share")}


def test_script_writes_the_tensorboard_tags(tmp_path):
    result = _run_script([*TINY_ARGS, "--iterations", "2", "--runs-dir", str(tmp_path), "--run-name", "smoke"])
    assert result.returncode == 0, result.stderr
    assert "of the oracle" in result.stdout
    acc = EventAccumulator(str(tmp_path / "smoke"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert REQUIRED_TAGS <= tags
    assert {"eval/utility", "eval/utility_vs_oracle"} <= tags
    assert len(acc.Scalars("charts/utility")) == 2
    assert "hyperparameters/text_summary" in acc.Tags()["tensors"]
    pictures = acc.Images("eval/waterfall")  # at the evaluation of iteration 2, the last
    assert len(pictures) == 1 and (pictures[0].height, pictures[0].width) == (2 * 10, 30 * 4)
    config = json.loads((tmp_path / "smoke" / "config.json").read_text())
    assert config["num_envs"] == 4 and config["env"] == {"max_cycles": 30}


def test_config_file_and_overrides(tmp_path):
    (tmp_path / "run.toml").write_text(
        'scenario = "snr"\niterations = 1\nnum_envs = 2\nnum_steps = 10\nbptt_chunk = 5\n'
        'eval_episodes = 2\n[env]\nmax_cycles = 10\n'
    )
    result = _run_script(["--config", str(tmp_path / "run.toml"), "--seed", "5", "--env", "gain_std_db=1.0",
                          "--runs-dir", str(tmp_path), "--run-name", "fromfile", "--no-progress"])
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "fromfile" / "config.json").read_text())
    assert config["scenario"] == "snr" and config["seed"] == 5 and config["num_envs"] == 2
    assert config["env"] == {"max_cycles": 10, "gain_std_db": 1.0}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--scenario", "nope"], "invalid choice: 'nope'"),
        (["--env", "n_user=3"], "unknown DSAConfig field"),
        (["--bptt-chunk", "7"], "bptt_chunk must divide num_steps"),
        (["--resume", "/nonexistent/run"], "not a run folder"),
        (["--credit", "difference", "--env", "capture_threshold_db=3.0"],
         "credit 'difference' needs an environment without capture, got capture_threshold_db=3.0"),
    ],
)
def test_bad_input_fails_with_a_clear_message(args, message, tmp_path):
    result = _run_script([*args, "--runs-dir", str(tmp_path)])
    assert result.returncode == 2
    assert message in result.stderr


def test_unknown_key_in_config_file(tmp_path):
    (tmp_path / "bad.toml").write_text("learning_rat = 0.1\n")
    result = _run_script(["--config", str(tmp_path / "bad.toml")])
    assert result.returncode == 2 and "unknown config key(s): ['learning_rat']" in result.stderr


def test_corrupt_checkpoint_is_rejected(tmp_path):
    result = _run_script([*TINY_ARGS, "--iterations", "1", "--runs-dir", str(tmp_path), "--run-name", "r"])
    assert result.returncode == 0, result.stderr
    ckpt = tmp_path / "r" / CHECKPOINT
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    result = _run_script(["--resume", str(tmp_path / "r")])
    assert result.returncode == 2 and "corrupt" in result.stderr


def test_nan_rewards_stop_training_with_an_error(tmp_path, monkeypatch):
    step = DSACore.step

    def poisoned(self, actions):
        obs, rewards, truncated, info = step(self, actions)
        return obs, np.full_like(rewards, np.nan), truncated, info

    monkeypatch.setattr(DSACore, "step", poisoned)
    with pytest.raises(FloatingPointError, match="non-finite loss"):
        train(TrainConfig(**TINY, iterations=1, runs_dir=str(tmp_path)))


def test_existing_run_folder_is_not_overwritten(tmp_path):
    cfg = TrainConfig(**TINY, iterations=1, runs_dir=str(tmp_path), run_name="same")
    first = train(cfg)
    with pytest.raises(RunConflict, match="finished already"):
        train(cfg)
    with pytest.raises(RunConflict, match=r"holds another config \(iterations: 1 -> 2; env.gain_std_db: 0.0 -> 1.0\)|"
                                          r"holds another config \(env.gain_std_db: 0.0 -> 1.0; iterations: 1 -> 2\)"):
        train(dataclasses.replace(cfg, iterations=2, env={**cfg.env, "gain_std_db": 1.0}))
    assert json.loads((tmp_path / "same" / "metrics.json").read_text()) == first.metrics
    replaced = train(dataclasses.replace(cfg, iterations=2), overwrite=True)
    assert replaced.metrics["global_step"] == 2 * first.metrics["global_step"]


@pytest.mark.parametrize("schedule", ["linear", "polynomial", "harmonic"])
@pytest.mark.parametrize("mode", ["reference", "strict"])
def test_pruned_run_ends_exactly_at_final_sparsity(tmp_path, schedule, mode):
    cfg = TrainConfig(**TINY, iterations=6, runs_dir=str(tmp_path), prune_schedule=schedule,
                      prune_mode=mode, prune_warmup=1, prune_end_lock=1, prune_every=2,
                      final_sparsity=0.9, harmonic_period=4)
    result = train(cfg)
    metrics = result.metrics
    actors = _weights(result.run_dir)
    names = ["encoder.weight", "gru.weight_ih", "gru.weight_hh"]
    for agent in range(4):
        total = sum(actors[n][agent].numel() for n in names)
        zeros = sum(int((actors[n][agent] == 0).sum()) for n in names)
        assert abs(zeros - round(0.9 * total)) <= len(names)  # within one weight per tensor
        assert metrics[f"sparsity/agent/user_{agent}"] == pytest.approx(zeros / total)
    assert not (actors["head.weight"] == 0).any()  # the head is excluded by default
    acc = EventAccumulator(str(result.run_dir))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"sparsity/target", "sparsity/actual", "pruning/pruned", "pruning/regrown",
            "sparsity/layer/gru.weight_hh", "sparsity/agent/user_3"} <= tags
    targets = [e.value for e in acc.Scalars("sparsity/target")]
    assert targets[0] == 0.0 and targets[-1] == pytest.approx(0.9)


def test_critic_pruning_and_shared_actor(tmp_path):
    cfg = TrainConfig(**TINY, iterations=4, runs_dir=str(tmp_path), prune_schedule="linear",
                      prune_warmup=1, prune_end_lock=1, final_sparsity=0.5, prune_critic=True,
                      share_actor_params=True, prune_scope="lamp")
    result = train(cfg)
    metrics = result.metrics
    assert metrics["sparsity/actual"] == pytest.approx(0.5, abs=1e-3)
    assert not any(k.startswith("sparsity/agent/") for k in metrics)  # one shared actor
    critic = load_checkpoint(result.run_dir / CHECKPOINT)["critic"]
    weights = [w for k, w in critic.items() if k.endswith("weight")]
    zeros = sum(int((w == 0).sum()) for w in weights)
    assert zeros == pytest.approx(0.5 * sum(w.numel() for w in weights), abs=1)


def test_memoryless_actor_trains_prunes_and_is_not_exported(tmp_path):
    from marl_prune.deploy.export import export_run

    cfg = TrainConfig(**TINY, iterations=3, runs_dir=str(tmp_path), run_name="mlp", actor="mlp", frame_stack=2,
                      prune_schedule="linear", prune_warmup=0, prune_end_lock=1, final_sparsity=0.75)
    result = train(cfg)
    actors = _weights(result.run_dir)
    assert set(actors) >= {"encoder.weight", "hidden.weight", "head.weight"} and "gru.weight_hh" not in actors
    assert result.metrics["sparsity/actual"] == pytest.approx(0.75, abs=0.01)
    with pytest.raises(ValueError, match="export takes the recurrent actor"):
        export_run(result.run_dir, tmp_path / "out")
    with pytest.raises(ValueError, match="frame_stack must be >= 1, and 1 unless actor=mlp"):
        TrainConfig(frame_stack=3)


@pytest.mark.parametrize("critic", ["global", "local"])
def test_difference_credit_learns_from_each_users_difference_reward(critic, monkeypatch):
    """The rollout stores every slot's DSACore.difference_rewards() per user, and the critic
    values every user."""
    from marl_prune.learner.rollout import collect_rollout
    from marl_prune.learner.state import TrainState

    seen = []
    original = DSACore.difference_rewards
    monkeypatch.setattr(DSACore, "difference_rewards", lambda core: seen.append(original(core)) or seen[-1])
    ts = TrainState.create(TrainConfig(**{**TINY, "env": {"max_cycles": 20}}, scenario="snr", credit="difference",
                                       critic=critic))
    rollout, _ = collect_rollout(ts)
    assert rollout.rewards.shape == rollout.values.shape == (20, 4, 6)
    assert len(seen) == 20
    np.testing.assert_allclose(rollout.rewards.numpy(), np.stack(seen), rtol=1e-6)
    assert (rollout.values.std(dim=2) > 0).any()  # one value per user, not one copied


def test_scenario_defaults_and_configs_stored_before_a_field_existed(tmp_path):
    from marl_prune.learner.config import load_run_config, save_config

    assert TrainConfig(scenario="large").credit == "difference"
    assert TrainConfig(scenario="large", credit="team").credit == "team"
    assert TrainConfig(scenario="basic").credit == "team"
    save_config(TrainConfig(scenario="large", credit="team", share_actor_params=True), tmp_path / "config.json")
    old = json.loads((tmp_path / "config.json").read_text())
    del old["credit"], old["share_actor_params"]  # a run stored before these fields existed
    (tmp_path / "config.json").write_text(json.dumps(old))
    config = load_run_config(tmp_path)
    assert config.credit == "team" and config.share_actor_params is False  # what such runs used
    fair = TrainConfig(scenario="fair", env_version="v1")
    assert (fair.welfare, fair.gamma, fair.actor_head_gain) == ("episode_log", 1.0, 1.0)
    traffic = TrainConfig(scenario="traffic", env_version="v1")
    assert (traffic.welfare, traffic.gamma, traffic.actor_head_gain, traffic.critic) == ("sum", 0.99, 0.01, "local")
    assert TrainConfig(scenario="pu_traffic", env_version="v1").critic == "global"
    assert TrainConfig(scenario="fair", env_version="v1", gamma=0.9).gamma == 0.9
    save_config(TrainConfig(scenario="fair", env_version="v1", welfare="sum"), tmp_path / "config.json")
    old = json.loads((tmp_path / "config.json").read_text())
    del old["welfare"], old["actor_head_gain"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    stored = load_run_config(tmp_path)
    assert (stored.welfare, stored.actor_head_gain) == ("sum", 0.01)


def test_log_welfare_rewards_by_hand():
    from marl_prune.learner.rollout import WELFARE_FLOOR, log_welfare_rewards

    # user 0 is served every other slot (mean 0.5), user 1 once in 4 slots (mean 0.25): a
    # slot of user 1 counts twice one of user 0, the slope of log at their means
    throughput = np.array([[1, 0], [0, 0], [1, 0], [0, 1]], dtype=float)[:, None, :]
    assert log_welfare_rewards(throughput)[:, 0].tolist() == [2.0, 0.0, 2.0, 4.0]
    # a user served 0.01 per slot weighs 1 / WELFARE_FLOOR, not 100
    rare = np.zeros((100, 1, 1))
    rare[0] = 1.0
    assert log_welfare_rewards(rare)[0, 0] == pytest.approx(1 / WELFARE_FLOOR)


def test_log_welfare_difference_rewards_by_hand():
    from marl_prune.learner.rollout import log_welfare_difference_rewards

    # two slots, three users; means 0.5, 1.0, 0.5 -> weights 2, 1, 2. Slot 0: user 0 spoils
    # user 2 (who would have added 3) and user 2 spoils user 0 (would have added 1); user 1 gets 2
    throughput = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 1.0]])[:, None, :]
    partner = np.array([[2, -1, 0], [-1, -1, -1]])[:, None, :]
    alone = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, 1.0]])[:, None, :]
    d = log_welfare_difference_rewards(throughput, partner, alone)[:, 0]
    assert d.tolist() == [[-2 * 3.0, 2.0, -2 * 1.0], [2.0, 0.0, 2.0]]


def test_episode_log_welfare_sees_what_the_rollout_means_cannot():
    from marl_prune.learner.rollout import episode_log_welfare_rewards, log_welfare_rewards

    eps = 1e-3
    # two copies of a 2-slot episode, two users at rate 1, both served half of the slots over the
    # rollout: in "owned" copy 0 serves user 0 twice and copy 1 user 1; in "turns" every copy
    # serves user 0, then user 1
    owned = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])  # (T, B, N)
    turns = np.array([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
    slot = np.arange(2)

    def earlier(x):
        return np.cumsum(x, axis=0) - x

    # the rollout's means are 0.5 for both users in both teams: log's rewards cannot tell them apart
    for team in (owned, turns):
        assert log_welfare_rewards(team).sum(axis=0).tolist() == [4.0, 4.0]
    # episode_log: each copy's rewards add up to its episode's welfare less sum_i log(mu_i + eps)
    base = 2 * np.log(0.5 + eps)
    np.testing.assert_allclose(episode_log_welfare_rewards(owned, earlier(owned), slot, 2, eps).sum(axis=0),
                               [np.log(1 + eps) + np.log(eps) - base] * 2)
    per_slot = episode_log_welfare_rewards(turns, earlier(turns), slot, 2, eps)
    np.testing.assert_allclose(per_slot.sum(axis=0), [0.0, 0.0], atol=1e-12)
    # slot 0 by hand: user 0 is served (projected 1 + 0.5 of 2 slots), user 1 is not (0 + 0.5)
    np.testing.assert_allclose(per_slot[0], np.log(0.75 + eps) + np.log(0.25 + eps) - base)
    with pytest.raises(ValueError, match="welfare 'episode_log' takes the team's credit"):
        TrainConfig(scenario="fair", env_version="v1", welfare="episode_log", credit="difference")


def test_episode_log_welfare_trains_on_each_episode_and_ends_it():
    from marl_prune.learner.rollout import collect_rollout, episode_log_welfare_rewards
    from marl_prune.learner.state import TrainState

    ts = TrainState.create(TrainConfig(**{**TINY, "env": {"max_cycles": 5}}, env_version="v1", scenario="fair",
                                       welfare="episode_log"))
    assert ts.config.num_steps % 5 == 0 and ts.config.num_steps > 5  # several episodes in the rollout
    seen, step = [], ts.core.step

    def recording_step(actions):
        out = step(actions)
        seen.append(out[3]["throughput"])
        return out

    ts.core.step = recording_step
    rollout, _ = collect_rollout(ts)
    x = np.stack(seen)
    episodes = x.reshape(-1, 5, *x.shape[1:])
    earlier = (np.cumsum(episodes, axis=1) - episodes).reshape(x.shape)
    expected = episode_log_welfare_rewards(x, earlier, np.arange(len(x)) % 5, 5, ts.core.config.alpha_epsilon)
    np.testing.assert_allclose(rollout.rewards.numpy(), expected, rtol=1e-5, atol=1e-6)
    ends = rollout.episode_end.numpy()
    assert ends.sum() == len(x) // 5 and (rollout.next_values.numpy()[ends] == 0).all()  # nothing after the end


@pytest.mark.parametrize("critic, credit", [("global", "team"), ("local", "team"), ("global", "difference")])
def test_log_welfare_trains_on_the_users_throughput_weighted_by_its_mean(critic, credit):
    from marl_prune.learner.rollout import collect_rollout, log_welfare_difference_rewards, log_welfare_rewards
    from marl_prune.learner.state import TrainState

    ts = TrainState.create(TrainConfig(**{**TINY, "env": {"max_cycles": 20}}, env_version="v1", scenario="fair",
                                       critic=critic, credit=credit, welfare="log"))
    seen, partners, step = [], [], ts.core.step

    def recording_step(actions):
        out = step(actions)
        seen.append(out[3]["throughput"])
        partners.append(ts.core.spoiled_partners())
        return out

    ts.core.step = recording_step
    rollout, _ = collect_rollout(ts)
    assert (np.stack(seen) > 0).any()
    rewards = rollout.rewards.numpy()
    if credit == "difference":  # one reward per user: its own, less what it cost the user it spoiled
        partner, alone = (np.stack(x) for x in zip(*partners))
        assert (partner >= 0).any()
        expected = log_welfare_difference_rewards(np.stack(seen), partner, alone)
        np.testing.assert_allclose(rewards, expected, rtol=1e-6, atol=1e-6)
        return
    expected = log_welfare_rewards(np.stack(seen))
    for user in range(rewards.shape[2] if critic == "local" else 1):
        np.testing.assert_allclose(rewards[..., user] if critic == "local" else rewards, expected, rtol=1e-6)


def test_entropy_bonus_anneals_linearly(tmp_path):
    result = train(TrainConfig(**TINY, iterations=3, runs_dir=str(tmp_path), run_name="ent", ent_coef=0.09,
                               ent_coef_final=0.0))
    acc = EventAccumulator(str(result.run_dir))
    acc.Reload()
    assert [e.value for e in acc.Scalars("charts/ent_coef")] == pytest.approx([0.09, 0.06, 0.03])
