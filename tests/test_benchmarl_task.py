"""The DSA presets as BenchMARL tasks: specs as BenchMARL reads them, bad configs refused, and
one tiny MAPPO experiment whose policy acts on our evaluation episodes (skipped without
BenchMARL, which pins torchrl 0.11: pip install -e ".[benchmarl]")."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("benchmarl")
from envs.dsa.benchmarl_task import DSATaskClass, dsa_task  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("version, scenario", [("v0", "snr"), ("v1", "traffic")])
def test_task_specs_are_the_envs(version, scenario):
    task = dsa_task(scenario, env_version=version, max_cycles=20)
    assert isinstance(task, DSATaskClass) and not task.supports_continuous_actions()
    env = task.get_env_fun(num_envs=3, continuous_actions=False, seed=0, device="cpu")()
    n = env.n_agents
    assert task.group_map(env) == {"agents": [f"user_{i}" for i in range(n)]}
    assert task.max_steps(env) == 20
    assert task.observation_spec(env)["agents", "observation"].shape == (n, env.core.obs_dim)
    assert "state" not in task.observation_spec(env).keys()
    assert task.state_spec(env)["state"].shape == (env.core.state_dim,)
    assert task.action_spec(env)["agents", "action"].shape == (n,)
    with pytest.raises(ValueError, match="discrete"):
        task.get_env_fun(num_envs=3, continuous_actions=True, seed=0, device="cpu")


def test_bad_task_configs_are_refused():
    with pytest.raises(ValueError, match="scenario"):
        dsa_task("nope")
    with pytest.raises(ValueError, match="unknown DSAConfig field"):
        dsa_task("snr", not_a_field=1)


def test_smoke_run_trains_and_scores_on_our_episodes(tmp_path):
    out = tmp_path / "table.md"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "external_madrl.py"), "--smoke", "--scenarios",
                             "basic", "--algorithms", "mappo", "--runs-dir", str(tmp_path / "runs"), "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| basic | mappo | 5e-05 | 0 | 4 | 1 |" in out.read_text()
    assert len(list((tmp_path / "runs").glob("basic__mappo__*.json"))) == 1
    # our rows train at the same 6400 frames: 2 iterations of 32 x 100 slots
    assert "| basic | dense IAGC (ours) | defaults | defaults | 4 (ours) | 1 |" in out.read_text()
    ours = json.loads((tmp_path / "runs" / "basic__ours-harmonic0.9__f6400__s1.json").read_text())
    assert ours["frames"] == 6400 and ours["final_sparsity"] == 0.9 and not ours["resumed"]
    assert 0 < ours["cpu_seconds"] and ours["agent_steps_per_second"] == pytest.approx(6400 * 4 / ours["cpu_seconds"])
    config = json.loads((tmp_path / "runs" / "ours" / "basic__harmonic__sf0.9__s1" / "config.json").read_text())
    assert config["iterations"] == 2 and config["eval_greedy"] is True


def test_smoke_run_with_recurrent_actors_carries_their_state(tmp_path):
    """--actor gru: BenchMARL's GRU actors train, act on our episodes (which need is_init and
    their hidden state fed in: without them BenchMARL's GRU refuses to run), and the record
    says so."""
    out = tmp_path / "table.md"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "external_madrl.py"), "--smoke", "--scenarios",
                             "basic", "--algorithms", "mappo", "--actor", "gru", "--no-ours", "--runs-dir",
                             str(tmp_path / "runs"), "--out", str(out)],
                            capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "| basic | mappo (GRU) | 5e-05 | 0 | 4 | 1 |" in out.read_text()
    (path,) = (tmp_path / "runs").glob("basic__mappo__*__c64x64__gru__s1.json")
    assert json.loads(path.read_text())["actor"] == "gru"
