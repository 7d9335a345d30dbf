"""Regression: fixed-seed runs and environment trajectories give the values recorded in
tests/data/regression.json, so a refactoring that changes behaviour is caught.

Record the values again (only after a deliberate change of behaviour) with

    python tests/test_regression.py --record        # everything
    python tests/test_regression.py --record-env    # the environment's trajectories only
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "regression.json"
TINY = ["--num-envs", "4", "--num-steps", "20", "--bptt-chunk", "10", "--hidden-size", "16",
        "--critic-hidden", "16", "--eval-episodes", "8", "--eval-every", "0", "--env", "max_cycles=20",
        "--no-progress"]
RUNS = {
    "dense_basic": ["--scenario", "basic", "--iterations", "5", "--seed", "3"],
    "harmonic_pu": ["--scenario", "pu", "--iterations", "8", "--seed", "4", "--prune-schedule", "harmonic",
                    "--prune-warmup", "1", "--prune-end-lock", "1", "--prune-every", "1", "--harmonic-period", "3",
                    "--final-sparsity", "0.8", "--prune-mode", "strict", "--finetune-iterations", "2"],
    "imp_snr": ["--scenario", "snr", "--iterations", "2", "--seed", "5", "--prune-method", "imp",
                "--lottery-cycles", "2", "--final-sparsity", "0.75"],
    "ippo_random_pu": ["--scenario", "pu", "--iterations", "6", "--seed", "6", "--critic", "local",
                       "--prune-schedule", "linear", "--prune-score", "random", "--prune-warmup", "1",
                       "--prune-end-lock", "1", "--prune-every", "2", "--final-sparsity", "0.9"],
}
TAGS = ("charts/utility", "charts/success_rate", "losses/policy", "losses/value", "losses/entropy",
        "sparsity/target", "sparsity/actual", "eval/utility")


def run_values(name: str, runs_dir: Path) -> dict:
    """metrics.json and a slice of TensorBoard scalars (every point of TAGS) of one run."""
    args = [sys.executable, str(ROOT / "scripts" / "train_dsa.py"), *TINY, *RUNS[name],
            "--runs-dir", str(runs_dir), "--run-name", name]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    run_dir = runs_dir / name
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
    event_dirs = [run_dir] if any(run_dir.glob("events.out.tfevents*")) else sorted(
        p.parent for p in run_dir.glob("*/events.out.tfevents*"))
    scalars = {}
    for event_dir in event_dirs:
        acc = EventAccumulator(str(event_dir), size_guidance={"scalars": 0})
        acc.Reload()
        prefix = "" if event_dir == run_dir else event_dir.name + "/"
        for tag in TAGS:
            if tag in acc.Tags()["scalars"]:
                scalars[prefix + tag] = [[e.step, e.value] for e in acc.Scalars(tag)]
    return {"metrics": metrics, "scalars": scalars}


def env_values() -> dict:
    """Per-slot team reward and success counts of the raw core under random actions, per preset
    (v0 by name; dsa_v1 as v1/NAME, with the delivered packets and a checksum of the
    observations, which the rewards alone would not pin)."""
    from envs.dsa import PRESETS, PRESETS_V1, DSACore, make_config, make_config_v1, make_core

    out = {}
    for scenario in sorted(PRESETS):
        core = DSACore(make_config(scenario, max_cycles=25, rayleigh_fading=True), num_envs=3)
        core.reset(seed=11)
        actions_rng = np.random.default_rng(12)
        rewards, successes = [], []
        for _ in range(25):
            actions = actions_rng.integers(0, core.n_actions, (3, core.n_users))
            _, reward, _, info = core.step(actions)
            rewards.append(float(reward.sum()))
            successes.append(int(info["success"].sum()))
        out[scenario] = {"rewards": rewards, "successes": successes}
    for scenario in sorted(PRESETS_V1):
        core = make_core(make_config_v1(scenario, max_cycles=25), num_envs=3)
        obs = core.reset(seed=11)
        weights = np.arange(1, obs.size + 1).reshape(obs.shape)
        actions_rng = np.random.default_rng(12)
        values: dict[str, list] = {"rewards": [], "successes": [], "delivered": [], "obs": []}
        for _ in range(25):
            actions = actions_rng.integers(0, core.n_actions, (3, core.n_users))
            obs, reward, _, info = core.step(actions)
            values["rewards"].append(float(reward.sum()))
            values["successes"].append(int(info["success"].sum()))
            values["delivered"].append(int(info["delivered"].sum()))
            values["obs"].append(float((obs * weights).sum()))
        out[f"v1/{scenario}"] = values
    return out


@pytest.fixture(scope="module")
def recorded() -> dict:
    return json.loads(DATA.read_text())


def test_environment_trajectories_are_unchanged(recorded):
    now = env_values()
    assert set(now) == set(recorded["env"])
    for scenario, values in recorded["env"].items():
        assert set(now[scenario]) == set(values), scenario
        for key, series in values.items():
            if key in ("successes", "delivered"):
                assert now[scenario][key] == series, (scenario, key)
            else:
                assert now[scenario][key] == pytest.approx(series, rel=1e-9, abs=1e-9), (scenario, key)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_fixed_seed_run_is_unchanged(tmp_path, recorded, name):
    now, then = run_values(name, tmp_path), recorded["runs"][name]
    assert set(then["metrics"]) <= set(now["metrics"])  # metrics may be added, none lost
    for key, value in then["metrics"].items():
        assert now["metrics"][key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
    assert set(now["scalars"]) == set(then["scalars"])
    for tag, points in then["scalars"].items():
        assert [s for s, _ in now["scalars"][tag]] == [s for s, _ in points], tag
        # abs 1e-6: another CPU's kernels sum in another order, and a loss near 0 (a mean of terms
        # of size ~1e-2) then moves by ~1e-7 (seen: IMP's policy loss, 1.6e-7 on a faster Xeon)
        assert [v for _, v in now["scalars"][tag]] == pytest.approx([v for _, v in points], rel=1e-5, abs=1e-6), tag


if __name__ == "__main__":
    if sys.argv[1:] not in (["--record"], ["--record-env"]):
        sys.exit(__doc__)
    if sys.argv[1] == "--record-env":  # the environment's trajectories only; the runs as recorded
        runs = json.loads(DATA.read_text())["runs"]
    else:
        with tempfile.TemporaryDirectory() as tmp:
            runs = {name: run_values(name, Path(tmp)) for name in sorted(RUNS)}
    DATA.parent.mkdir(exist_ok=True)
    DATA.write_text(json.dumps({"env": env_values(), "runs": runs}, indent=1) + "\n")
    print(f"wrote {DATA}")
