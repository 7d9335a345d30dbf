"""Bad input, tabulated: every case must fail with a clear one-line message that names the bad
value (exit code 2 on the command line, ValueError in Python), never with a traceback, never
silently; and nothing a user ran before may be lost.

Each case raises one of SILENT / TRACEBACK / MESSAGE / DATA LOSS when it goes wrong, so a
failing run of this module counts the defects by class.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from script_module import load_script

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--num-envs", "2", "--num-steps", "10", "--bptt-chunk", "5", "--hidden-size", "8", "--critic-hidden", "8",
        "--eval-episodes", "2", "--eval-every", "0", "--env", "max_cycles=10", "--no-progress"]
_SCRIPTS: dict[str, object] = {}


class Defect(AssertionError):
    """A case that did not fail as it should (the class name says how)."""


class Silent(Defect):
    pass


class Traceback(Defect):
    pass


class Message(Defect):
    pass


class DataLoss(Defect):
    pass


def cli(script: str, *args: object) -> tuple[int, str]:
    """Run ``scripts/<script>``'s main in this process: (exit code, stderr). An exception that
    escapes main is a TRACEBACK."""
    if script not in _SCRIPTS:
        _SCRIPTS[script] = load_script(script)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            code = _SCRIPTS[script].main([str(a) for a in args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
        except Exception as e:  # noqa: BLE001 - what the case is about
            raise Traceback(f"TRACEBACK {script} {list(args)}: {type(e).__name__}: {e}") from e
    return int(code or 0), err.getvalue()


def expect_cli(script: str, *args: object, message: str) -> None:
    code, err = cli(script, *args)
    if code == 0:
        raise Silent(f"SILENT {script} {list(args)} exited 0")
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if message not in last or "Traceback" in err:
        raise Message(f"MESSAGE {script} {list(args)}: expected {message!r} in the last line, got {last!r}")


def expect_error(action: Callable[[], object], message: str) -> None:
    try:
        action()
    except ValueError as e:
        if message not in str(e) or "\n" in str(e).strip():
            raise Message(f"MESSAGE expected {message!r}, got {str(e)!r}") from e
        return
    except Exception as e:  # noqa: BLE001
        raise Traceback(f"TRACEBACK {type(e).__name__}: {e}") from e
    raise Silent(f"SILENT no error (expected {message!r})")


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    """Two tiny finished runs, dense and harmonic-pruned, made once for the module."""
    root = tmp_path_factory.mktemp("runs")
    for name, extra in (("dense", []), ("pruned", ["--prune-schedule", "harmonic", "--prune-warmup", "1",
                                                    "--prune-end-lock", "1", "--final-sparsity", "0.5"])):
        code, err = cli("train_dsa.py", *TINY, "--iterations", "3", "--runs-dir", root, "--run-name", name, *extra)
        assert code == 0, err
    return root


@pytest.fixture(scope="module")
def exported(runs) -> Path:
    out = runs / "export"
    code, err = cli("export_policy.py", runs / "pruned", "--out", out)
    assert code == 0, err
    return out / "team.safetensors"


def _copy_run(runs: Path, tmp_path: Path, name: str = "dense") -> Path:
    target = tmp_path / name
    shutil.copytree(runs / name, target)
    (target / ".lock").unlink(missing_ok=True)
    return target


# ------------------------------------------------------------------ the command line
CLI_CASES = [
    (["--scenario", "nope"], "invalid choice: 'nope'"),
    (["--env", "n_user=3"], "unknown DSAConfig field(s): ['n_user']"),
    (["--env", "rayleigh_fading=maybe"], "rayleigh_fading must be true or false, got 'maybe'"),
    (["--env", "n_users=abc"], "n_users must be an integer, got 'abc'"),
    (["--env", "max_cycles=2.5"], "max_cycles must be an integer, got 2.5"),
    (["--env", "max_cycles=inf"], "max_cycles must be an integer, got 'inf'"),
    (["--env", "snr_obs_scale_db=1e999"], "snr_obs_scale_db must be a finite number, got inf"),
    (["--env", "gain_std_db=-1"], "gain_std_db must be >= 0, got -1.0"),
    (["--env", "noequals"], "expected KEY=VALUE, got 'noequals'"),
    (["--bptt-chunk", "7"], "bptt_chunk must divide num_steps (100), got 7"),
    (["--checkpoint-every", "0"], "checkpoint_every must be >= 1, got 0"),
    (["--num-steps", "0"], "num_steps must be >= 1, got 0"),
    (["--num-steps", "-20"], "num_steps must be >= 1, got -20"),
    (["--max-grad-norm", "-1"], "max_grad_norm must be > 0, got -1.0"),
    (["--clip-coef", "-1"], "clip_coef must be > 0, got -1.0"),
    (["--num-minibatches", "1000"], "num_minibatches must lie in [1, 160]"),
    (["--num-minibatches", "0"], "num_minibatches must lie in [1, 160] (the BPTT chunks of a rollout: num_envs * "
                                 "num_steps / bptt_chunk), got 0"),
    (["--eval-every", "-1"], "eval_every must be >= 0 (0: only at the end), got -1"),
    (["--eval-episodes", "0"], "eval_episodes must be >= 1, got 0"),
    (["--torch-threads", "0"], "torch_threads must be >= 1, got 0"),
    (["--critic-hidden", "0"], "critic_hidden must be >= 1, got 0"),
    (["--hidden-size", "0"], "hidden_size must be >= 1, got 0"),
    (["--actor-head-gain", "0"], "actor_head_gain must be > 0, got 0.0"),
    (["--iterations", "abc"], "invalid int value: 'abc'"),
    (["--learning-rate", "nan"], "learning_rate must be a finite number, got nan"),
    (["--gamma", "1.5"], "gamma must lie in [0, 1], got 1.5"),
    (["--final-sparsity", "1.0"], "final_sparsity must lie in [0, 1), got 1.0"),
    (["--prune-schedule", "harmonic", "--harmonic-period", "0"], "harmonic_period must be > 0, got 0.0"),
    (["--seed", "-1"], "seed must be >= 0, got -1"),
    (["--device", "tpu"], "device must be cpu, cuda, cuda:N or auto, got 'tpu'"),
    (["--run-name", "a/b"], "run_name must be a plain folder name, got 'a/b'"),
    (["--prune-schedule", "linear", "--iterations", "10", "--prune-warmup", "6", "--prune-end-lock", "6"],
     "warmup + end_lock < total; got warmup=6, end_lock=6, total=10"),
    (["--lottery-rate", "1.5"], "lottery_rate must lie in (0, 1), got 1.5"),
    (["--init-from", "missing.pt", "--prune-schedule", "linear"], "init_from holds its masks fixed"),
]


@pytest.mark.parametrize("args, message", CLI_CASES, ids=[" ".join(a) for a, _ in CLI_CASES])
def test_cli_rejects_bad_options(tmp_path, args, message):
    expect_cli("train_dsa.py", *args, "--runs-dir", tmp_path, message=message)
    assert not any(tmp_path.iterdir())  # nothing was created


def test_missing_ticket_fails_without_blocking_the_name(tmp_path, runs):
    expect_cli("train_dsa.py", *TINY, "--iterations", "1", "--init-from", tmp_path / "missing.pt",
               "--runs-dir", tmp_path, "--run-name", "x", message="no checkpoint at")
    ticket = tmp_path / "missing.pt"
    shutil.copy(runs / "dense" / "checkpoints" / "latest.pt", ticket)  # the wrong kind of file
    expect_cli("train_dsa.py", *TINY, "--iterations", "1", "--init-from", ticket, "--runs-dir", tmp_path,
               "--run-name", "x", message="is not a marl_prune file of format marl_prune/ticket-v1")
    code, err = cli("train_dsa.py", *TINY, "--iterations", "1", "--runs-dir", tmp_path, "--run-name", "x")
    if code:
        raise Message(f"MESSAGE the name stayed blocked after a failed start: {err.strip()}")


@pytest.mark.parametrize("where", ["run name", "runs dir"])
def test_a_file_in_the_way_is_named(tmp_path, where):
    (tmp_path / "f").write_text("")
    runs_dir, name = (tmp_path, "f") if where == "run name" else (tmp_path / "f", "x")
    expect_cli("train_dsa.py", *TINY, "--iterations", "1", "--runs-dir", runs_dir, "--run-name", name,
               message=f"{tmp_path / 'f'} is a file")


def test_an_empty_folder_is_a_fine_run_name(tmp_path):
    (tmp_path / "empty").mkdir()
    code, err = cli("train_dsa.py", *TINY, "--iterations", "1", "--runs-dir", tmp_path, "--run-name", "empty")
    if code:
        raise Message(f"MESSAGE an empty folder was refused: {err.strip()}")


# -------------------------------------------------------------------------- config files
FILE_CASES = [
    ("run.toml", 'anneal_lr = "false"\n', "anneal_lr must be true or false, got 'false'"),
    ("run.toml", 'iterations = "abc"\n', "iterations must be an integer or None, got 'abc'"),
    ("run.toml", "iterations = 2.5\n", "iterations must be an integer or None, got 2.5"),
    ("run.toml", "learning_rat = 0.1\n", "unknown config key(s): ['learning_rat']"),
    ("run.toml", "env = 3\n", "env must be a mapping of DSAConfig fields, got 3"),
    ("run.toml", "[env]\nn_users = true\n", "n_users must be an integer, got True"),
    ("run.toml", "iterations = \n", "is not valid TOML"),
    ("run.json", "{}", "config file must end in .toml, .yaml or .yml"),
]


@pytest.mark.parametrize("name, text, message", FILE_CASES, ids=[m for _, _, m in FILE_CASES])
def test_config_files_are_checked(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    expect_cli("train_dsa.py", "--config", tmp_path / name, "--runs-dir", tmp_path, message=message)


def test_missing_config_file(tmp_path):
    expect_cli("train_dsa.py", "--config", tmp_path / "none.toml", message="config file not found")


@pytest.mark.parametrize("content, message", [
    ("[1, 2]", "must hold a JSON object of config keys, got list"),
    ("{nope", "is not valid JSON"),
    ('{"iterations": "abc"}', "iterations must be an integer or None, got 'abc'"),
], ids=["list", "broken", "bad value"])
def test_run_config_json_is_checked(tmp_path, runs, content, message):
    run = _copy_run(runs, tmp_path)
    (run / "config.json").write_text(content)
    expect_cli("train_dsa.py", "--resume", run, message=message)
    expect_cli("evaluate_dsa.py", run, "--episodes", "2", message=message)


# --------------------------------------------------------------------------- environment
def _core():
    from envs.dsa import DSACore, make_config

    core = DSACore(make_config("basic"), num_envs=2)
    core.reset(seed=0)
    return core


ENV_CASES = [
    ("n_users=2.5", lambda: _dsa(n_users=2.5), "n_users must be an integer, got 2.5"),
    ("n_users=True", lambda: _dsa(n_users=True), "n_users must be an integer, got True"),
    ("fading='false'", lambda: _dsa(rayleigh_fading="false"), "rayleigh_fading must be true or false, got 'false'"),
    ("pu_channels=(5,)", lambda: _dsa(pu_channels=(5,)), "pu_channels must be distinct channel indices in [0, 2)"),
    ("pu_p_on=1.5", lambda: _dsa(pu_p_on=1.5), "pu_p_on is a probability and must lie in [0, 1], got 1.5"),
    ("levels descending", lambda: _dsa(snr_levels_db=(10, 5)), "must be finite and strictly ascending"),
    ("levels empty", lambda: _dsa(snr_levels_db=()), "snr_levels_db needs at least one level"),
    ("max_cycles=0", lambda: _dsa(max_cycles=0), "max_cycles must be >= 1, got 0"),
    ("capture=-3", lambda: _dsa(capture_threshold_db=-3.0), "must be None or >= 0 dB, got -3.0"),
    ("scale=inf", lambda: _dsa(snr_obs_scale_db=float("inf")), "snr_obs_scale_db must be a finite number, got inf"),
    ("unknown preset", lambda: __import__("envs.dsa").dsa.make_config("nope"), "unknown scenario 'nope'"),
    ("num_envs=0", lambda: __import__("envs.dsa").dsa.DSACore(_dsa(), num_envs=0), "num_envs must be >= 1, got 0"),
    ("reset(seed=-1)", lambda: _core().reset(seed=-1), "seed must be None, a non-negative integer or a SeedSequence"),
    ("reset(seed=1.5)", lambda: _core().reset(seed=1.5), "got 1.5"),
    ("step shape", lambda: _core().step(np.zeros((2, 3), int)), "actions must have shape (2, 4), got (2, 3)"),
    ("step floats", lambda: _core().step(np.zeros((2, 4))), "actions must be integers, got dtype float64"),
    ("step range", lambda: _core().step(np.full((2, 4), 9)), "actions must lie in [0, 3)"),
]


def _dsa(**fields):
    from envs.dsa import DSAConfig

    return DSAConfig(**fields)


@pytest.mark.parametrize("action, message", [(a, m) for _, a, m in ENV_CASES], ids=[n for n, _, _ in ENV_CASES])
def test_environment_rejects_bad_values(action, message):
    expect_error(action, message)


# --------------------------------------------------------------------------- export files
def test_sparse_agent_rejects_a_wrong_observation_width(exported):
    from marl_prune.deploy.runtime import SparseTeam

    agent = SparseTeam.load(exported).agents["user_0"]
    width = agent.w["encoder"].shape[1]
    h = np.zeros((1, agent.hidden_size), np.float32)
    expect_error(lambda: agent.step(np.zeros((1, width + 1), np.float32), h), f"step takes obs (B, {width})")
    expect_error(lambda: agent.step(np.zeros((1, width - 1), np.float32), h), f"got (1, {width - 1})")


def _edited(exported: Path, tmp_path: Path, edit: Callable[[dict], None]) -> Path:
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(exported), framework="np") as f:
        header = json.loads(f.metadata()["marl_prune"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    edit(header)
    path = tmp_path / "edited.safetensors"
    save_file(tensors, str(path), metadata={"marl_prune": json.dumps(header)})
    return path


EXPORT_CASES = [
    ("collision penalty", lambda h: h["env"].update(collision_penalty=3.0), "checksum mismatch"),
    ("scenario", lambda h: h.update(scenario="snr"), "checksum mismatch"),
    ("agent order", lambda h: h["agents"].reverse(), "checksum mismatch"),
    ("no architecture", lambda h: h.pop("architecture"), "checksum mismatch"),
    ("old format", lambda h: h.update(format="marl_prune/sparse-actor-v1"), "unsupported format"),
    ("header not an object", lambda h: (h.clear(), h.update(x=1)), "unsupported format None"),
]


@pytest.mark.parametrize("edit, message", [(e, m) for _, e, m in EXPORT_CASES], ids=[n for n, _, _ in EXPORT_CASES])
def test_edited_export_headers_are_refused_in_one_line(tmp_path, exported, edit, message):
    expect_cli("run_exported.py", _edited(exported, tmp_path, edit), "--episodes", "1", message=message)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[:-50]), "not a readable safetensors file"),
    (lambda p: p.write_bytes(b"\x00" * 64), "not a readable safetensors file"),
    (lambda p: (p.unlink(), p.mkdir()), "not a readable safetensors file"),
], ids=["truncated", "zeros", "a folder"])
def test_damaged_export_files_are_refused_in_one_line(tmp_path, exported, damage, message):
    path = tmp_path / "team.safetensors"
    shutil.copy(exported, path)
    damage(path)
    expect_cli("run_exported.py", path, message=message)


def test_export_and_evaluation_options(tmp_path, runs):
    (tmp_path / "file").write_text("")
    expect_cli("export_policy.py", runs / "pruned", "--out", tmp_path / "file", message="is a file; give a folder")
    expect_cli("export_policy.py", runs / "pruned", "--out", tmp_path / "o", "--format", "pdf",
               message="unknown export format(s) ['pdf']")
    expect_cli("export_policy.py", tmp_path / "nothing", "--out", tmp_path / "o", message="not a run folder")
    expect_cli("run_exported.py", tmp_path / "x.safetensors", "--episodes", "0",
               message="expected an integer >= 1, got 0")
    expect_cli("evaluate_dsa.py", "--scenario", "basic", "--episodes", "0", message="expected an integer >= 1, got 0")
    expect_cli("evaluate_dsa.py", tmp_path / "nothing", message="not a run folder")
    expect_cli("evaluate_dsa.py", "--shares", message="--shares tabulates a trained run")
    expect_cli("evaluate_dsa.py", "--blind", "--scenario", "basic", message="--blind adds schedules of dsa_v1")


# --------------------------------------------------------------------------------- sweeps
SWEEP = ["--scenarios", "basic", "--iterations", "2", "--set", "num_envs=2", "--set", "num_steps=10",
         "--set", "bptt_chunk=5", "--set", "hidden_size=8", "--set", "critic_hidden=8", "--set", "eval_episodes=2",
         "--env", "max_cycles=10", "--workers", "1"]


@pytest.mark.parametrize("args, message", [
    (["--methods", "dense", "--seeds", "1", "1"], "--seeds lists 1 more than once"),
    (["--methods", "linear", "--sparsities", "0.5", "0.5"], "--sparsities lists 0.5 more than once"),
    (["--methods", "cubic"], "unknown method(s) ['cubic']"),
    (["--methods", "dense", "--set", "learning_rat=1"], "unknown TrainConfig field(s) ['learning_rat']"),
    (["--methods", "dense", "--set", "iterations='abc'"], "iterations must be an integer or None, got 'abc'"),
    (["--methods", "dense", "--relative-to", "ippo"], "that method is not in --methods"),
], ids=["seeds", "sparsities", "method", "set key", "set value", "relative"])
def test_sweep_rejects_bad_grids(tmp_path, args, message):
    expect_cli("sweep.py", *SWEEP, *args, "--runs-dir", tmp_path / "r", "--out", tmp_path / "o", message=message)


def test_reproduce_paper_rejects_duplicate_seeds(tmp_path):
    expect_cli("reproduce_paper.py", "--seeds", "2", "2", "--runs-dir", tmp_path, "--out", tmp_path / "o",
               message="--seeds lists 2 more than once")


def test_sweep_refuses_a_stale_run_unless_overwritten(tmp_path):
    common = [*SWEEP, "--methods", "dense", "--seeds", "1", "--runs-dir", tmp_path / "r"]
    assert cli("sweep.py", *common, "--out", tmp_path / "a")[0] == 0
    expect_cli("sweep.py", *common, "--iterations", "3", "--out", tmp_path / "b",
               message="holds another config (iterations: 2 -> 3)")


def test_lottery_run_refuses_another_config(tmp_path):
    common = [*TINY, "--iterations", "1", "--prune-method", "imp", "--lottery-cycles", "1", "--runs-dir", tmp_path,
              "--run-name", "L"]
    assert cli("train_dsa.py", *common, "--final-sparsity", "0.5")[0] == 0
    expect_cli("train_dsa.py", *common, "--final-sparsity", "0.9", message="final_sparsity: 0.5 -> 0.9")
    if json.loads((tmp_path / "L" / "config.json").read_text())["final_sparsity"] != 0.5:
        raise DataLoss("DATA LOSS the lottery run's config.json was rewritten")


# --------------------------------------------------------------------------------- resume
@pytest.mark.parametrize("args, message", [
    (["--seed", "9"], "it cannot change seed"),
    (["--scenario", "pu", "--seed", "9"], "it cannot change scenario, seed"),
    (["--iterations", "2"], "--resume can raise iterations of a run without a pruning schedule only"),
    (["--config", "x.toml"], "--resume continues a run as configured: it takes no --config"),
], ids=["seed", "scenario", "shorter", "config"])
def test_resume_refuses_what_it_cannot_change(tmp_path, runs, args, message):
    run = _copy_run(runs, tmp_path)
    expect_cli("train_dsa.py", "--resume", run, *args, message=message)


def test_resume_cannot_lengthen_a_pruned_schedule(tmp_path, runs):
    run = _copy_run(runs, tmp_path, "pruned")
    expect_cli("train_dsa.py", "--resume", run, "--iterations", "9", message="extend a pruned run with")


def test_resume_of_a_finished_run_changes_nothing(tmp_path, runs):
    run = _copy_run(runs, tmp_path)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    code, err = cli("train_dsa.py", "--resume", run)
    if code or "finished already" not in err:
        raise Message(f"MESSAGE resuming a finished run: exit {code}, {err.strip()!r}")
    if {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} != before:
        raise DataLoss("DATA LOSS resuming a finished run changed its files")


def test_resume_after_a_kill_in_the_final_evaluation_keeps_every_number(tmp_path, runs):
    run = _copy_run(runs, tmp_path)
    metrics = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").unlink()  # as if killed while evaluating, after the last checkpoint
    assert cli("train_dsa.py", "--resume", run)[0] == 0
    again = json.loads((run / "metrics.json").read_text())
    if again != metrics:
        raise DataLoss(f"DATA LOSS {sorted(k for k in metrics if again.get(k) != metrics[k])} changed")


def test_corrupt_checkpoint_is_named_without_torch_advice(tmp_path, runs):
    run = _copy_run(runs, tmp_path)
    (run / "metrics.json").unlink()
    (run / "checkpoints" / "latest.pt").write_bytes(os.urandom(500))
    code, err = cli("train_dsa.py", "--resume", run)
    expect_cli("train_dsa.py", "--resume", run, message="is corrupt, or not a file of this package")
    if "weights_only" in err:
        raise Message("MESSAGE torch's advice about weights_only leaked into the message")


def test_checkpoint_of_another_architecture(tmp_path, runs):
    run = _copy_run(runs, tmp_path)
    (run / "metrics.json").unlink()
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "hidden_size": 4}))
    expect_cli("train_dsa.py", "--resume", run, message="the checkpoint does not fit this run's config")
    expect_cli("evaluate_dsa.py", run, "--episodes", "2", message="does not fit its config.json")


def test_a_run_in_use_is_refused_and_a_stale_lock_taken_over(tmp_path, runs):
    run = _copy_run(runs, tmp_path)
    (run / "metrics.json").unlink()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        (run / ".lock").write_text(f"{sleeper.pid}@{socket.gethostname()}")
        expect_cli("train_dsa.py", "--resume", run, message=f"is in use by process {sleeper.pid}@")
    finally:
        sleeper.kill()
        sleeper.wait()
    code, err = cli("train_dsa.py", "--resume", run)  # that process is gone now
    if code or "taking over the lock" not in err:
        raise Message(f"MESSAGE a stale lock: exit {code}, {err.strip()!r}")
    assert not (run / ".lock").exists()


def test_resume_extends_a_dense_run(tmp_path, runs):
    run = _copy_run(runs, tmp_path)
    steps = json.loads((run / "metrics.json").read_text())["global_step"]
    code, err = cli("train_dsa.py", "--resume", run, "--iterations", "5")
    assert code == 0, err
    assert json.loads((run / "metrics.json").read_text())["global_step"] == steps * 5 // 3
    assert json.loads((run / "config.json").read_text())["iterations"] == 5


def test_a_run_killed_before_its_first_checkpoint_is_not_a_dead_end(tmp_path, runs):
    run = _copy_run(runs, tmp_path)
    for name in ("metrics.json", "checkpoints"):
        shutil.rmtree(run / name) if (run / name).is_dir() else (run / name).unlink()
    code, err = cli("train_dsa.py", "--resume", run)
    if code or "starting it from the beginning" not in err:
        raise Message(f"MESSAGE resuming a run with no checkpoint: exit {code}, {err.strip()!r}")
    assert json.loads((run / "metrics.json").read_text()) == json.loads((runs / "dense" / "metrics.json").read_text())
