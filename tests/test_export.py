"""Export round trips, file sizes, and rejection of damaged files."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from envs.dsa import DSACore
from marl_prune.deploy.export import OneStep, export_onnx, export_run, export_safetensors, size_and_latency_report
from marl_prune.deploy.runtime import HEADER_KEY, CSRMatrix, SparseTeam, checksum
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import actor_prunable_weights
from marl_prune.learner.train import train
from marl_prune.models.recurrent import RecurrentAgents
from marl_prune.pruning import compute_masks

ROOT = Path(__file__).resolve().parents[1]


def _pruned_actors(config: TrainConfig, sparsity: float, seed: int = 0, shared: bool = False) -> RecurrentAgents:
    torch.manual_seed(seed)
    core = DSACore(config.env_config())
    actors = RecurrentAgents(core.n_users, core.obs_dim, core.n_actions, config.hidden_size, share_parameters=shared,
                             agent_ids=shared)
    with torch.no_grad():  # weights of a larger spread than at init, like after training
        for p in actors.parameters():
            p.normal_(0, 0.5)
    compute_masks(actors, actor_prunable_weights(actors), sparsity, per_stack=True).apply(actors)
    return actors


@pytest.mark.parametrize("scenario, shared", [("basic", False), ("pu", False), ("pu", True)],
                         ids=["basic", "pu", "pu-shared"])
def test_runtime_matches_torch_over_an_episode(tmp_path, scenario, shared):
    config = TrainConfig(scenario=scenario)
    actors = _pruned_actors(config, 0.9, shared=shared)
    team = SparseTeam.load(export_safetensors(actors, config, tmp_path / "team.safetensors"))
    core = DSACore(config.env_config(), num_envs=2)
    obs = core.reset(seed=0)
    h = actors.initial_hidden(2)
    team.reset(batch_size=2)
    for _ in range(100):
        with torch.no_grad():
            logits, h = actors.step(torch.from_numpy(obs), h)
        expected = torch.softmax(logits.double(), -1).numpy()
        got = team.probabilities(obs)
        assert np.abs(got - expected).max() < 1e-6
        actions = expected.argmax(-1)
        assert np.array_equal(actions, got.argmax(-1))
        obs, *_ = core.step(actions)


def test_a_shared_actor_is_stored_once_with_the_agent_ids(tmp_path):
    config = TrainConfig(scenario="pu")
    shared, independent = _pruned_actors(config, 0.9, shared=True), _pruned_actors(config, 0.9)
    one = export_safetensors(shared, config, tmp_path / "shared.safetensors")
    six = export_safetensors(independent, config, tmp_path / "independent.safetensors")
    team = SparseTeam.load(one)
    assert team.header["shared"] == {"n_agents": 6, "agent_index": [0, 1, 2, 3, 4, 5], "agent_ids": True}
    assert len({id(a) for a in team.agents.values()}) == 1 and one.stat().st_size < six.stat().st_size / 3
    assert team.header["architecture"]["input_dim"] == team.obs_dim + 6
    # identical observations, different users: the ids make their actions differ
    obs = np.zeros((6, team.obs_dim), np.float32)
    obs[:, 0] = 1.0
    team.reset()
    logits = team.logits(obs)
    assert not np.allclose(logits[0], logits[1])
    # one user's file keeps the shared network and that user's index
    single = SparseTeam.load(export_safetensors(shared, config, tmp_path / "u3.safetensors", {"user_3": 3}))
    single.reset()
    team.reset()
    assert np.allclose(single.logits(obs[3:4]), team.logits(obs)[3:4], atol=1e-6)


@pytest.mark.parametrize("shared", [False, True], ids=["independent", "shared"])
def test_onnx_step_matches_torch(tmp_path, shared):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    config = TrainConfig()
    actors = _pruned_actors(config, 0.75, shared=shared)
    core = DSACore(config.env_config())
    for agent in range(actors.n_agents):
        path = export_onnx(actors, agent, tmp_path / f"user_{agent}.onnx")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        obs, h = core.reset(seed=agent)[:, agent], np.zeros((1, actors.hidden_size), np.float32)
        h_torch = torch.zeros(1, actors.n_agents, actors.hidden_size)
        for _ in range(100):
            logits, h = session.run(["logits", "h_next"], {"obs": obs, "h": h})
            with torch.no_grad():
                full = torch.zeros(1, actors.n_agents, obs.shape[-1])
                full[:, agent] = torch.from_numpy(obs)
                ref, h_torch = actors.step(full, h_torch)
            p = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
            assert np.abs(p - torch.softmax(ref[:, agent].double(), -1).numpy()).max() < 1e-6
            obs = np.eye(obs.shape[-1], dtype=np.float32)[[int(p.argmax())]]


def test_one_step_module_is_the_actor():
    config = TrainConfig(scenario="snr")
    actors = _pruned_actors(config, 0.5)
    step = OneStep(actors, 2)
    obs = torch.rand(3, actors.n_agents, actors.encoder.weight.shape[-1])
    h = torch.rand(3, actors.n_agents, actors.hidden_size)
    with torch.no_grad():
        ref_logits, ref_h = actors.step(obs, h)
        logits, h2 = step(obs[:, 2], h[:, 2])
    assert torch.allclose(logits, ref_logits[:, 2], atol=1e-6) and torch.allclose(h2, ref_h[:, 2], atol=1e-6)


def test_95_percent_sparse_file_is_small(tmp_path):
    config = TrainConfig()
    actors = _pruned_actors(config, 0.95)
    path = export_safetensors(actors, config, tmp_path / "team.safetensors")
    report = size_and_latency_report(actors, path)
    assert report["sparse_bytes"] <= 0.15 * report["dense_fp32_bytes"]
    assert report["numpy_runtime_s"] > 0 and report["dense_torch_s"] > 0
    header = SparseTeam.load(path).header
    assert header["sparsity"]["user_0"]["gru_hh"] > 0.9 and header["sparsity"]["user_0"]["head"] == 0.0


def test_csr_roundtrip_with_empty_rows():
    dense = np.array([[0, 1.5, 0], [0, 0, 0], [2.0, 0, -1.0], [0, 0, 0]], dtype=np.float32)
    csr = CSRMatrix.from_dense(dense)
    csr.validate("m")
    assert csr.row_ptr.tolist() == [0, 1, 1, 3, 3] and csr.col_indices.dtype == np.uint8
    x = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], dtype=np.float32)
    assert np.allclose(csr.matmul(x), x @ dense.T)
    assert np.array_equal(csr.to_dense(), dense)


@pytest.fixture
def exported(tmp_path):
    config = TrainConfig()
    path = export_safetensors(_pruned_actors(config, 0.9), config, tmp_path / "team.safetensors")
    return path


def _rewrite(path, tensors=None, header_change=None, fix_checksum=True):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    with safe_open(str(path), framework="np") as f:
        header = json.loads(f.metadata()[HEADER_KEY])
        data = {k: f.get_tensor(k) for k in f.keys()}
    data = tensors(data) if tensors else data
    if header_change:
        header_change(header)
    if fix_checksum:
        header["checksum"] = checksum(data, header)
    save_file(data, str(path), metadata={HEADER_KEY: json.dumps(header)})


def test_truncated_file_is_rejected(exported):
    exported.write_bytes(exported.read_bytes()[:-100])
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        SparseTeam.load(exported)


def test_tampered_weights_are_rejected(exported):
    raw = bytearray(exported.read_bytes())
    raw[-40] ^= 0xFF  # flip bits of one stored value
    exported.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="checksum mismatch"):
        SparseTeam.load(exported)


@pytest.mark.parametrize("edit", [
    lambda h: h["env"].update(collision_penalty=3.0),  # would change the evaluation environment
    lambda h: h.update(scenario="snr"),
    lambda h: h["agents"].reverse(),  # agent order
    lambda h: h["sparsity"]["user_0"].update(encoder=0.0),
], ids=["env", "scenario", "agent-order", "sparsity"])
def test_header_edits_fail_the_checksum(exported, edit):
    _rewrite(exported, header_change=edit, fix_checksum=False)
    with pytest.raises(ValueError, match="checksum mismatch"):
        SparseTeam.load(exported)


def test_every_bit_flip_is_rejected_or_harmless(tmp_path):
    """Flip each bit of a small exported file: it loads to the very same header and tensors,
    or it is rejected with a one-line ValueError; nothing else."""
    from safetensors import safe_open

    config = TrainConfig(hidden_size=2, env={"n_users": 2, "n_channels": 1})
    path = export_safetensors(_pruned_actors(config, 0.5), config, tmp_path / "team.safetensors")
    original = path.read_bytes()

    def decoded(p):
        with safe_open(str(p), framework="np") as f:
            return json.loads(f.metadata()[HEADER_KEY]), {k: f.get_tensor(k) for k in f.keys()}

    header, tensors = decoded(path)
    flipped = tmp_path / "flipped.safetensors"
    outcomes = {"rejected": 0, "harmless": 0}
    for bit in range(len(original) * 8):
        raw = bytearray(original)
        raw[bit // 8] ^= 1 << (bit % 8)
        flipped.write_bytes(bytes(raw))
        try:
            SparseTeam.load(flipped)
        except ValueError as e:
            assert "\n" not in str(e)
            outcomes["rejected"] += 1
            continue
        got_header, got = decoded(flipped)
        assert got_header == header and got.keys() == tensors.keys(), f"bit {bit} changed the file silently"
        assert all(np.array_equal(got[k], tensors[k]) and got[k].dtype == tensors[k].dtype for k in got), bit
        outcomes["harmless"] += 1
    assert outcomes["rejected"] > 0.9 * len(original) * 8, outcomes


def test_header_that_does_not_match_the_tensors_is_rejected(exported):
    _rewrite(exported, header_change=lambda h: h["architecture"].update(hidden_size=32))
    with pytest.raises(ValueError, match="CSR parts do not describe|expected"):
        SparseTeam.load(exported)


def test_missing_tensor_is_rejected(exported):
    _rewrite(exported, tensors=lambda d: {k: v for k, v in d.items() if k != "user_1/head/bias"})
    with pytest.raises(ValueError, match="missing"):
        SparseTeam.load(exported)


def test_foreign_file_is_rejected(tmp_path):
    from safetensors.numpy import save_file

    save_file({"x": np.zeros(3, np.float32)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(ValueError, match="no readable marl_prune header"):
        SparseTeam.load(tmp_path / "other.safetensors")


def test_wrong_observation_size_is_rejected(exported):
    team = SparseTeam.load(exported)
    with pytest.raises(ValueError, match="observations must have shape"):
        team.act(np.zeros((4, 7), np.float32))
    with pytest.raises(ValueError, match="call reset"):
        team.act(np.zeros((3, 4, 5), np.float32))


def test_runtime_does_not_import_torch():
    code = ("import sys; import marl_prune.deploy.runtime; "
            "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if 'torch' in m)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_export_script_on_a_trained_run(tmp_path):
    cfg = TrainConfig(iterations=4, num_envs=4, num_steps=20, bptt_chunk=10, eval_episodes=2, progress=False,
                      runs_dir=str(tmp_path), run_name="run", prune_schedule="linear", prune_warmup=1,
                      prune_end_lock=1, prune_every=1, final_sparsity=0.95)
    train(cfg)
    report = export_run(tmp_path / "run", tmp_path / "out", per_agent=True)
    assert report["sparse_over_dense"] <= 0.15 and report["export_team_s"] < 1.0
    assert (tmp_path / "out" / "report.md").exists() and (tmp_path / "out" / "user_3.safetensors").exists()
    single = SparseTeam.load(tmp_path / "out" / "user_2.safetensors")
    assert single.agent_names == ["user_2"]
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "run_exported.py"),
                             str(tmp_path / "out" / "team.safetensors"), "--episodes", "2"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and "of the oracle" in result.stdout, result.stderr
