"""Run exported sparse actors with numpy only (no torch): for edge radios.

    from marl_prune.deploy.runtime import SparseTeam
    team = SparseTeam.load("export/team.safetensors")
    team.reset(batch_size=1)
    actions = team.act(obs)          # obs (N, obs_dim) or (B, N, obs_dim); greedy by default

File format (``marl_prune/sparse-actor-v2``): a safetensors file whose tensors are, for every
agent and layer, CSR parts ``{agent}/{layer}/values`` (float32), ``/col_indices`` and
``/row_ptr`` (the smallest unsigned integer type that fits), plus dense biases
``{agent}/{layer}/bias``; the safetensors metadata ``marl_prune`` holds a JSON header
(scenario, environment, spaces, architecture, per-layer sparsity, package version) and a
SHA-256 checksum of the whole header and every tensor. Loading checks the checksum and the
header against the tensors, so a truncated or tampered file raises ``ValueError`` (one line)
instead of acting wrongly.

This module imports numpy, safetensors and the torch-free :mod:`marl_prune.models.layout` only.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marl_prune.models.layout import ACTOR_LAYERS, actor_layer_shapes, actor_step, gru_cell, sample_from_cdf

FORMAT = "marl_prune/sparse-actor-v2"
"""v2: the checksum covers the header too (v1 covered the tensors only)."""
HEADER_KEY = "marl_prune"


def checksum(tensors: dict[str, np.ndarray], header: dict) -> str:
    """SHA-256 over the header (every field but ``checksum``, as canonical JSON) and every
    tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    fields = {k: v for k, v in header.items() if k != "checksum"}
    digest.update(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def index_dtype(limit: int) -> np.dtype:
    """Smallest unsigned integer type holding values up to ``limit``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if limit <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.uint64)


@dataclass
class CSRMatrix:
    """A sparse (rows x cols) float32 matrix in compressed sparse row form."""

    values: np.ndarray
    col_indices: np.ndarray
    row_ptr: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def from_dense(cls, dense: np.ndarray) -> CSRMatrix:
        rows, cols = np.nonzero(dense)
        counts = np.bincount(rows, minlength=dense.shape[0])
        row_ptr = np.concatenate([[0], np.cumsum(counts)])
        return cls(
            values=dense[rows, cols].astype(np.float32),
            col_indices=cols.astype(index_dtype(max(dense.shape[1] - 1, 0))),
            row_ptr=row_ptr.astype(index_dtype(len(rows))),
            shape=(int(dense.shape[0]), int(dense.shape[1])),
        )

    def validate(self, name: str) -> None:
        rows, cols = self.shape
        ptr = self.row_ptr.astype(np.int64)
        ok = (
            self.values.ndim == 1 and self.values.dtype == np.float32
            and self.col_indices.shape == self.values.shape
            and ptr.shape == (rows + 1,) and ptr[0] == 0 and ptr[-1] == len(self.values)
            and np.all(np.diff(ptr) >= 0)
            and (len(self.values) == 0 or int(self.col_indices.max()) < cols)
        )
        if not ok:
            raise ValueError(f"{name}: CSR parts do not describe a {rows}x{cols} matrix")
        starts = ptr[:-1]
        self._row_starts = starts[ptr[1:] > starts]  # rows with at least one entry
        self._nonempty = ptr[1:] > starts
        self._cols = self.col_indices.astype(np.intp)

    def matmul(self, x: np.ndarray) -> np.ndarray:
        """``x @ W.T`` for ``x (B, cols)`` -> ``(B, rows)``."""
        out = np.zeros((x.shape[0], self.shape[0]), dtype=np.float32)
        if len(self.values):
            products = x[:, self._cols] * self.values
            out[:, self._nonempty] = np.add.reduceat(products, self._row_starts, axis=1)
        return out

    def to_dense(self) -> np.ndarray:
        dense = np.zeros(self.shape, dtype=np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.row_ptr.astype(np.int64)))
        dense[rows, self.col_indices.astype(np.intp)] = self.values
        return dense


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class SparseAgent:
    """One exported actor: Linear -> ReLU -> GRU cell -> Linear head, on CSR weights."""

    def __init__(self, weights: dict[str, CSRMatrix], biases: dict[str, np.ndarray]):
        self.w, self.b = weights, biases
        self.hidden_size = weights["gru_hh"].shape[1]

    def step(self, obs: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``obs (B, obs_dim)``, ``h (B, H)`` -> ``(logits (B, A), h')`` (PyTorch GRU gates)."""
        obs_dim = self.w["encoder"].shape[1]
        if obs.ndim != 2 or obs.shape[1] != obs_dim or h.shape != (obs.shape[0], self.hidden_size):
            raise ValueError(f"step takes obs (B, {obs_dim}) and h (B, {self.hidden_size}); "
                             f"got {obs.shape} and {h.shape}")
        def affine(layer: str, x: np.ndarray) -> np.ndarray:
            return self.w[layer].matmul(x) + self.b[layer]

        return actor_step(obs, h, affine, lambda x: np.maximum(x, 0.0), gru_cell(affine, _sigmoid, np.tanh))


class SparseTeam:
    """Every agent of an exported file, stepped together on ``(B, N, obs_dim)`` observations.

    A shared actor is stored once (``shared/{layer}/...``); the header's ``shared`` entry then
    gives each listed agent's index and whether a one-hot agent id follows its observation.
    """

    def __init__(self, header: dict, agents: dict[str, SparseAgent]):
        self.header, self.agents = header, agents
        self.agent_names = list(agents)
        self.obs_dim = int(header["architecture"]["obs_dim"])
        self.n_actions = int(header["architecture"]["n_actions"])
        self.hidden_size = int(header["architecture"]["hidden_size"])
        self.h = np.zeros((1, len(agents), self.hidden_size), dtype=np.float32)
        shared = header.get("shared")
        self.shared = next(iter(agents.values())) if shared else None
        self.ids = (np.eye(int(shared["n_agents"]), dtype=np.float32)[list(shared["agent_index"])]
                    if shared and shared["agent_ids"] else None)

    @classmethod
    def load(cls, path: str | Path) -> SparseTeam:
        """Read and verify an exported file; anything inconsistent raises a one-line ValueError."""
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        try:
            with safe_open(str(path), framework="np") as f:
                metadata = f.metadata() or {}
                tensors = {key: f.get_tensor(key) for key in f.keys()}
        except (SafetensorError, OSError, ValueError, UnicodeError) as e:
            raise ValueError(f"{path} is not a readable safetensors file ({_first_line(e)})") from None
        try:
            header = json.loads(metadata[HEADER_KEY])
        except (KeyError, TypeError, UnicodeError, json.JSONDecodeError):
            raise ValueError(f"{path} has no readable marl_prune header") from None
        if not isinstance(header, dict):
            raise ValueError(f"{path}: the marl_prune header is not a JSON object")
        if header.get("format") != FORMAT:
            raise ValueError(f"{path}: unsupported format {header.get('format')!r}, expected {FORMAT} "
                             "(export the run again with this version)")
        if checksum(tensors, header) != header.get("checksum"):
            raise ValueError(f"{path}: checksum mismatch, the file was modified or damaged")
        try:
            return cls(header, cls._agents(header, tensors, path))
        except (KeyError, TypeError, IndexError, AttributeError) as e:
            raise ValueError(f"{path}: malformed header ({type(e).__name__}: {_first_line(e)})") from None

    @staticmethod
    def _agents(header: dict, tensors: dict[str, np.ndarray], path: Path) -> dict[str, SparseAgent]:
        arch = header["architecture"]
        shapes = actor_layer_shapes(int(arch.get("input_dim", arch["obs_dim"])), int(arch["hidden_size"]),
                                    int(arch["n_actions"]))
        stored = ["shared"] if header.get("shared") else header["agents"]
        agents = {}
        for agent in stored:
            weights, biases = {}, {}
            for layer in ACTOR_LAYERS:
                key = f"{agent}/{layer}"
                try:
                    matrix = CSRMatrix(tensors[f"{key}/values"], tensors[f"{key}/col_indices"],
                                       tensors[f"{key}/row_ptr"], shapes[layer])
                    bias = tensors[f"{key}/bias"]
                except KeyError as e:
                    raise ValueError(f"{path}: header names {key} but the tensor {e} is missing") from None
                matrix.validate(key)
                if bias.shape != (shapes[layer][0],) or bias.dtype != np.float32:
                    raise ValueError(f"{path}: {key}/bias has shape {bias.shape}, expected {shapes[layer][:1]}")
                weights[layer], biases[layer] = matrix, bias
            agents[agent] = SparseAgent(weights, biases)
        expected = {f"{a}/{layer}/{part}" for a in stored for layer in ACTOR_LAYERS
                    for part in ("values", "col_indices", "row_ptr", "bias")}
        if set(tensors) != expected:
            raise ValueError(f"{path}: tensors {sorted(set(tensors) - expected)} are not in the header")
        return {name: agents["shared"] for name in header["agents"]} if header.get("shared") else agents

    def reset(self, batch_size: int = 1) -> None:
        """Zero the recurrent state of every agent (start of an episode)."""
        self.h = np.zeros((batch_size, len(self.agents), self.hidden_size), dtype=np.float32)

    def logits(self, obs: np.ndarray) -> np.ndarray:
        """Advance one slot: ``obs (B, N, obs_dim)`` or ``(N, obs_dim)`` -> logits of that shape."""
        obs = np.asarray(obs, dtype=np.float32)
        single = obs.ndim == 2
        if single:
            obs = obs[None]
        if obs.ndim != 3 or obs.shape[1:] != (len(self.agents), self.obs_dim):
            raise ValueError(
                f"observations must have shape (B, {len(self.agents)}, {self.obs_dim}) or "
                f"({len(self.agents)}, {self.obs_dim}); got {obs.shape}"
            )
        if self.h.shape[0] != obs.shape[0]:
            raise ValueError(f"batch of {obs.shape[0]} but the state holds {self.h.shape[0]}: call reset()")
        B, n = obs.shape[:2]
        if self.shared is not None:  # one network: every agent in one call
            x = obs if self.ids is None else np.concatenate([obs, np.broadcast_to(self.ids, (B, *self.ids.shape))], -1)
            out, h = self.shared.step(x.reshape(B * n, -1), self.h.reshape(B * n, -1))
            out, h = out.reshape(B, n, -1), h.reshape(B, n, -1)
        else:
            out = np.empty((B, n, self.n_actions), dtype=np.float32)
            h = np.empty_like(self.h)
            for i, agent in enumerate(self.agents.values()):
                out[:, i], h[:, i] = agent.step(obs[:, i], self.h[:, i])
        self.h = h
        return out[0] if single else out

    def probabilities(self, obs: np.ndarray) -> np.ndarray:
        """Advance one slot and return the action probabilities."""
        logits = self.logits(obs).astype(np.float64)
        e = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def act(self, obs: np.ndarray, greedy: bool = True, rng: np.random.Generator | None = None) -> np.ndarray:
        """Advance one slot and return actions: argmax, or sampled with ``rng``."""
        probs = self.probabilities(obs)
        if greedy:
            return probs.argmax(axis=-1)
        if rng is None:
            raise ValueError("sampling needs an rng, e.g. numpy.random.default_rng(seed)")
        return sample_from_cdf(probs.cumsum(axis=-1), rng)
