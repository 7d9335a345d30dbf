"""Run folders: model construction, tickets, loading trained actors, environment snapshots
for exact resumption, and the progress line."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import torch

from envs.dsa import DSACore
from marl_prune.checkpoint import load_checkpoint, numpy_rng_state, restore_numpy_rng, save_checkpoint
from marl_prune.config import TrainConfig, load_run_config
from marl_prune.models import CentralCritic, RecurrentAgents
from marl_prune.pruning import MaskSet

CHECKPOINT = Path("checkpoints") / "latest.pt"
"""Where a run folder keeps its checkpoint."""


def build_models(config: TrainConfig, core: DSACore) -> tuple[RecurrentAgents, torch.nn.Module]:
    """The actors and the critic for ``config`` on ``core``'s spaces."""
    actors = RecurrentAgents(
        core.n_users, core.obs_dim, core.n_actions, config.hidden_size, config.share_actor_params
    )
    if config.critic == "global":
        critic: torch.nn.Module = CentralCritic(core.state_dim, config.critic_hidden)
    else:
        critic = RecurrentAgents(core.n_users, core.obs_dim, 1, config.critic_hidden, head_gain=1.0)
    return actors, critic


def actor_prunable_names(prune_head: bool) -> list[str]:
    """The actor tensors that gradual pruning acts on (SPEC §4): Linear and GRU weights."""
    return ["encoder.weight", "gru.weight_ih", "gru.weight_hh"] + (["head.weight"] if prune_head else [])


TICKET_FORMAT = "marl_prune/ticket-v1"


def save_ticket(actors_state: dict, masks: MaskSet | None, path: Path) -> Path:
    """A ticket: actor weights to start from, and optionally masks to hold fixed."""
    save_checkpoint({"format": TICKET_FORMAT, "actors": actors_state,
                     "masks": masks.state_dict() if masks is not None else {}}, path)
    return path


def load_ticket(path: Path | str) -> tuple[dict, MaskSet | None]:
    payload = load_checkpoint(Path(path), expected_format=TICKET_FORMAT)
    return payload["actors"], (MaskSet(payload["masks"]) if payload["masks"] else None)


def load_trained_actors(run_dir: Path | str) -> tuple[RecurrentAgents, TrainConfig]:
    """The actors of a run's last checkpoint (on the CPU), and the run's config."""
    config = load_run_config(Path(run_dir))
    checkpoint = load_checkpoint(Path(run_dir) / CHECKPOINT)
    actors, _ = build_models(config, DSACore(config.env_config()))
    actors.load_state_dict(checkpoint["actors"])
    return actors.eval(), config


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)


def core_snapshot(core: DSACore) -> dict[str, Any]:
    """Everything that defines the core's position in its episode and random stream."""
    return {
        "rng": numpy_rng_state(core.rng),
        "t": core.t,
        "needs_reset": core._needs_reset,
        **{k: torch.as_tensor(getattr(core, k)) for k in ("gain_db", "fading_db", "pu_on", "obs", "cum_throughput")},
    }


def restore_core(core: DSACore, snap: dict[str, Any]) -> None:
    core.rng = restore_numpy_rng(snap["rng"])
    core.t, core._needs_reset = int(snap["t"]), bool(snap["needs_reset"])
    for key in ("gain_db", "fading_db", "pu_on", "obs", "cum_throughput"):
        setattr(core, key, snap[key].numpy().copy())


class Progress:
    """A one-line progress display on stderr (a line every 5% when not a terminal)."""

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.enabled = total, enabled
        self.tty = sys.stderr.isatty()
        self.every = max(1, total // 20)
        self.start = time.perf_counter()

    def update(self, done: int, sps: float, utility: float, vs_oracle: float) -> None:
        if not self.enabled or (not self.tty and done % self.every and done != self.total):
            return
        elapsed = time.perf_counter() - self.start
        line = (f"iter {done}/{self.total} | {sps:,.0f} agent-steps/s | utility {utility:.3f} "
                f"({vs_oracle:.0%} of oracle) | {elapsed:.0f}s")
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty:
            print(file=sys.stderr)
