"""Export trained (pruned) actors: sparse safetensors for :mod:`marl_prune.deploy.runtime`,
ONNX of one recurrent step, and a size / latency report."""

from __future__ import annotations

import json
import time
import timeit
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from marl_prune import __version__
from marl_prune.deploy.runtime import FORMAT, HEADER_KEY, CSRMatrix, SparseTeam, checksum
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import Actors, load_trained_actors
from marl_prune.models.layout import ACTOR_LAYERS, actor_step, gru_cell
from marl_prune.models.recurrent import RecurrentAgents


def agent_weights(actors: RecurrentAgents, agent: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Dense (weight, bias) of every layer of one agent (its stack, or the shared one)."""
    stack = actors.stack_of(agent)
    params = dict(actors.named_parameters())
    return {layer: (params[w][stack].detach().cpu().numpy().astype(np.float32),
                    params[b][stack].detach().cpu().numpy().astype(np.float32))
            for layer, (w, b) in ACTOR_LAYERS.items()}


def _tensors(actors: RecurrentAgents, agents: dict[str, int], sparse: bool) -> dict[str, np.ndarray]:
    tensors = {}
    for name, index in agents.items():
        for layer, (w, b) in agent_weights(actors, index).items():
            if sparse:
                csr = CSRMatrix.from_dense(w)
                tensors.update({f"{name}/{layer}/values": csr.values,
                                f"{name}/{layer}/col_indices": csr.col_indices,
                                f"{name}/{layer}/row_ptr": csr.row_ptr})
            else:
                tensors[f"{name}/{layer}/weight"] = w
            tensors[f"{name}/{layer}/bias"] = b
    return tensors


def stored_networks(actors: RecurrentAgents, agents: dict[str, int]) -> dict[str, int]:
    """The networks a file holds, by name: one per agent, or a shared actor once (``shared``)."""
    return {"shared": 0} if actors.stacks == 1 and actors.n_agents > 1 else agents


def exportable(actors: Actors) -> RecurrentAgents:
    """``actors`` if they are the recurrent actor, which export and the runtime take; else a
    ValueError (``--actor mlp`` is an ablation of it)."""
    if not isinstance(actors, RecurrentAgents):
        raise ValueError("export takes the recurrent actor; --actor mlp is an ablation of it and is not exported")
    return actors


def export_safetensors(actors: Actors, config: TrainConfig, path: Path,
                       agents: dict[str, int] | None = None) -> Path:
    """Write the actors named in ``agents`` (name -> index; default all users) as CSR parts
    with the JSON header of :mod:`marl_prune.deploy.runtime`; a shared actor is stored once,
    with the agents' indices."""
    from safetensors.numpy import save_file

    actors = exportable(actors)
    env = config.env_config()
    agents = agents or {f"user_{i}": i for i in range(actors.n_agents)}
    networks = stored_networks(actors, agents)
    tensors = _tensors(actors, networks, sparse=True)
    sparsity = {
        name: {layer: 1.0 - len(tensors[f"{name}/{layer}/values"]) / float(np.prod(w.shape))
               for layer, (w, _) in agent_weights(actors, index).items()}
        for name, index in networks.items()
    }
    header = {
        "format": FORMAT,
        "package_version": __version__,
        "scenario": config.scenario,
        "env_version": config.env_version,
        "env": {k: v for k, v in vars(env).items()},
        "observation_space": {"shape": [actors.obs_dim], "dtype": "float32"},
        "action_space": {"n": int(actors.head.weight.shape[1])},
        "architecture": {"type": "Linear-ReLU-GRUCell-Linear", "obs_dim": actors.obs_dim,
                         "input_dim": int(actors.encoder.weight.shape[-1]), "hidden_size": actors.hidden_size,
                         "n_actions": int(actors.head.weight.shape[1]), "gates": "pytorch (r, z, n)"},
        "agents": list(agents),
        "shared": ({"n_agents": actors.n_agents, "agent_index": list(agents.values()), "agent_ids": actors.agent_ids}
                   if "shared" in networks else None),
        "sparsity": sparsity,
    }
    header["checksum"] = checksum(tensors, header)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata={HEADER_KEY: json.dumps(header)})
    return path


class OneStep(nn.Module):
    """One agent's recurrent step (obs (B, D), h (B, H)) -> (logits, h') on plain dense
    matrices (holding the pruned zeros), for ONNX."""

    def __init__(self, actors: RecurrentAgents, agent: int):
        super().__init__()
        weights = agent_weights(actors, agent)
        self.weight = nn.ParameterDict({k: nn.Parameter(torch.from_numpy(w)) for k, (w, _) in weights.items()})
        self.bias = nn.ParameterDict({k: nn.Parameter(torch.from_numpy(b)) for k, (_, b) in weights.items()})
        self.obs_dim, self.hidden_size = actors.obs_dim, weights["gru_hh"][0].shape[1]
        # a shared actor's agent id, appended to the observation inside the graph
        self.register_buffer("agent_id", actors.ids[agent].clone() if actors.agent_ids else torch.zeros(0))

    def affine(self, layer: str, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight[layer], self.bias[layer])

    def forward(self, obs: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([obs, self.agent_id.expand(obs.shape[0], -1)], dim=-1)
        return actor_step(x, h, self.affine, torch.relu, gru_cell(self.affine, torch.sigmoid, torch.tanh))


def export_onnx(actors: RecurrentAgents, agent: int, path: Path) -> Path:
    """ONNX of one recurrent step of one agent (needs the ``onnx`` extra)."""
    step = OneStep(actors, agent).eval()
    # an example batch of 2: torch.export would specialise a batch of 1 to a constant
    obs = torch.zeros(2, step.obs_dim)
    h = torch.zeros(2, step.hidden_size)
    batch = torch.export.Dim("batch")
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the exporter's own deprecation chatter
        warnings.simplefilter("ignore", (FutureWarning, UserWarning, DeprecationWarning))
        torch.onnx.export(step, (obs, h), str(path), input_names=["obs", "h"], output_names=["logits", "h_next"],
                          dynamic_shapes=({0: batch}, {0: batch}), dynamo=True, verbose=False)
    return path


def _median_seconds(fn, repeat: int = 7, number: int = 200) -> float:
    return float(np.median(timeit.repeat(fn, repeat=repeat, number=number)) / number)


def size_and_latency_report(actors: RecurrentAgents, sparse_path: Path) -> dict:
    """Parameters, non-zeros, dense vs sparse bytes, and the per-step latency of one agent on
    a single observation: dense torch, torch with CSR matmuls, and the numpy runtime."""
    import tempfile

    from safetensors.numpy import save_file

    agents = {f"user_{i}": i for i in range(actors.n_agents)}
    networks = stored_networks(actors, agents)
    with tempfile.TemporaryDirectory() as tmp:
        dense_path = Path(tmp) / "dense.safetensors"
        save_file(_tensors(actors, networks, sparse=False), str(dense_path))
        dense_bytes = dense_path.stat().st_size
    layers = [pair for i in networks.values() for pair in agent_weights(actors, i).values()]  # (weight, bias)
    n_params = sum(w.size + b.size for w, b in layers)
    weight_nonzeros = sum(int(np.count_nonzero(w)) for w, _ in layers)
    weight_sparsity = 1.0 - weight_nonzeros / sum(w.size for w, _ in layers)
    nonzeros = weight_nonzeros + sum(b.size for _, b in layers)
    weights = agent_weights(actors, 0)

    step = OneStep(actors, 0).eval()
    obs, h = torch.rand(1, step.obs_dim), torch.zeros(1, step.hidden_size)
    x = torch.cat([obs, step.agent_id[None]], dim=-1)  # the network's input (with a shared actor's id)
    with warnings.catch_warnings():  # torch flags its CSR support as beta
        warnings.simplefilter("ignore", UserWarning)
        csr = {layer: torch.from_numpy(w).to_sparse_csr() for layer, (w, _) in weights.items()}
    bias = {layer: torch.from_numpy(b) for layer, (_, b) in weights.items()}

    def sparse_affine(layer: str, x: torch.Tensor) -> torch.Tensor:
        return torch.sparse.mm(csr[layer], x.T).T + bias[layer]

    @torch.no_grad()
    def torch_sparse_step():
        return actor_step(x, h, sparse_affine, torch.relu, gru_cell(sparse_affine, torch.sigmoid, torch.tanh))

    @torch.no_grad()
    def torch_dense_step():
        return step(obs, h)

    team = SparseTeam.load(sparse_path)
    agent = team.agents["user_0"]
    obs_np, h_np = x.numpy(), h.numpy()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one core, as on a radio; numpy runs single-threaded here too
    try:
        latency = {"dense_torch_s": _median_seconds(torch_dense_step),
                   "sparse_torch_csr_s": _median_seconds(torch_sparse_step),
                   "numpy_runtime_s": _median_seconds(lambda: agent.step(obs_np, h_np))}
    finally:
        torch.set_num_threads(threads)
    return {
        "agents": len(agents),
        "parameters": int(n_params),
        "nonzeros": int(nonzeros),
        "weight_sparsity": weight_sparsity,
        "dense_fp32_bytes": int(dense_bytes),
        "sparse_bytes": int(sparse_path.stat().st_size),
        "sparse_over_dense": sparse_path.stat().st_size / dense_bytes,
        **latency,
        "numpy_over_dense_torch": latency["numpy_runtime_s"] / latency["dense_torch_s"],
    }


def export_run(run_dir: Path, out_dir: Path, formats: tuple[str, ...] = ("safetensors",),
               per_agent: bool = False) -> dict:
    """Export a run's actors to ``out_dir``; returns the report (also written as JSON and
    Markdown). ``per_agent`` writes one file per user instead of one team file."""
    unknown = set(formats) - {"safetensors", "onnx"}
    if unknown or not formats:
        raise ValueError(f"unknown export format(s) {sorted(unknown)}; choose safetensors, onnx")
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is a file; give a folder")
    loaded, config = load_trained_actors(run_dir)
    actors = exportable(loaded)
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    team_path = export_safetensors(actors, config, out_dir / "team.safetensors")
    files = [team_path]
    if per_agent:
        files += [export_safetensors(actors, config, out_dir / f"user_{i}.safetensors", {f"user_{i}": i})
                  for i in range(actors.n_agents)]
    export_seconds = time.perf_counter() - start
    if "onnx" in formats:
        files += [export_onnx(actors, i, out_dir / f"user_{i}.onnx") for i in range(actors.n_agents)]
    report = {"run_dir": str(run_dir), "files": [str(f) for f in files],
              "export_team_s": export_seconds, **size_and_latency_report(actors, team_path)}
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out_dir / "report.md").write_text(report_markdown(report))
    return report


def report_markdown(report: dict) -> str:
    return "\n".join([
        f"# Export of {report['run_dir']}", "",
        "| quantity | value |", "|---|---|",
        f"| agents | {report['agents']} |",
        f"| parameters | {report['parameters']:,} |",
        f"| non-zeros | {report['nonzeros']:,} |",
        f"| sparsity of all weight matrices | {report['weight_sparsity']:.3f} |",
        f"| dense fp32 file | {report['dense_fp32_bytes']:,} B |",
        f"| sparse file | {report['sparse_bytes']:,} B ({report['sparse_over_dense']:.1%} of dense) |",
        f"| export of the team | {report['export_team_s'] * 1e3:.1f} ms |",
        f"| step latency, dense torch | {report['dense_torch_s'] * 1e6:.1f} us |",
        f"| step latency, torch CSR | {report['sparse_torch_csr_s'] * 1e6:.1f} us |",
        f"| step latency, numpy runtime | {report['numpy_runtime_s'] * 1e6:.1f} us "
        f"({report['numpy_over_dense_torch']:.2f}x dense torch) |", "",
    ])
