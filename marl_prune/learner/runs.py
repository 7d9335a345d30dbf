"""What a run is made of and leaves behind: its models, the weights pruning acts on, tickets
(weights and masks to start from), the trained actors of a finished run, the result type,
the device, and the progress line."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from envs.dsa import DSACore, make_core
from marl_prune.learner.checkpoint import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from marl_prune.learner.config import TrainConfig, load_run_config
from marl_prune.learner.run_folder import CHECKPOINT
from marl_prune.models.critics import CentralCritic
from marl_prune.models.feedforward import FeedForwardAgents
from marl_prune.models.recurrent import RecurrentAgents
from marl_prune.pruning import MaskSet, prunable_weights

__all__ = ["CHECKPOINT", "RunResult", "Progress", "actor_prunable_weights", "build_models", "load_ticket",
           "load_trained_actors", "resolve_device", "save_ticket"]


@dataclass(frozen=True)
class RunResult:
    """A finished run: its folder and its final scalar metrics (also in ``metrics.json``)."""

    run_dir: Path
    metrics: dict[str, float]


def build_models(config: TrainConfig, core: DSACore) -> tuple[Actors, torch.nn.Module]:
    """The actors and the critic for ``config`` on ``core``'s spaces."""
    actors = build_actors(config, core)
    if config.critic == "global":
        outputs = core.n_users if config.credit == "difference" else 1
        critic: torch.nn.Module = CentralCritic(core.state_dim, config.critic_hidden, outputs)
    else:
        critic = RecurrentAgents(core.n_users, core.obs_dim, 1, config.critic_hidden, head_gain=1.0,
                                 share_parameters=config.share_critic_params,
                                 agent_ids=config.share_critic_params and config.agent_ids)
    return actors, critic


Actors = RecurrentAgents | FeedForwardAgents
"""Either actor: they share one interface (initial_hidden, step, unroll, stacks, ...)."""


def build_actors(config: TrainConfig, core: DSACore) -> Actors:
    """The actors for ``config`` on ``core``'s spaces (freshly initialised from torch's generator):
    recurrent, or with ``actor=mlp`` the memoryless :class:`FeedForwardAgents` (same interface)."""
    ids = config.share_actor_params and config.agent_ids
    if config.actor == "mlp":
        return FeedForwardAgents(core.n_users, core.obs_dim, core.n_actions, config.hidden_size,
                                 config.frame_stack, config.share_actor_params, head_gain=config.actor_head_gain,
                                 agent_ids=ids)
    return RecurrentAgents(core.n_users, core.obs_dim, core.n_actions, config.hidden_size, config.share_actor_params,
                           head_gain=config.actor_head_gain, agent_ids=ids)


def actor_prunable_weights(actors: Actors, prune_head: bool = False) -> list[str]:
    """The actor weights pruning acts on: the Linear and GRU weights, the head's only with
    ``prune_head`` (a global ranking tends to empty it)."""
    return prunable_weights(actors, exclude=() if prune_head else ("head.",))


TICKET_FORMAT = "marl_prune/ticket-v1"


def save_ticket(actors_state: dict, masks: MaskSet | None, path: Path) -> Path:
    """A ticket: actor weights to start from, and optionally masks to hold fixed."""
    save_checkpoint({"format": TICKET_FORMAT, "actors": actors_state,
                     "masks": masks.state_dict() if masks is not None else {}}, path)
    return path


def load_ticket(path: Path | str) -> tuple[dict, MaskSet | None]:
    """The actor weights and the masks (None when there are none) of a ticket file."""
    payload = load_checkpoint(Path(path), expected_format=TICKET_FORMAT)
    return payload["actors"], (MaskSet(payload["masks"]) if payload["masks"] else None)


def load_trained_actors(run_dir: Path | str) -> tuple[Actors, TrainConfig]:
    """The actors of a run's last checkpoint (on the CPU), and the run's config."""
    config = load_run_config(Path(run_dir))
    # the actors are stored alike in every checkpoint format
    checkpoint = load_checkpoint(Path(run_dir) / CHECKPOINT,
                                 expected_format=(CHECKPOINT_FORMAT, "marl_prune/checkpoint-v1"))
    actors, _ = build_models(config, make_core(config.env_config()))
    try:
        actors.load_state_dict(checkpoint["actors"])
    except (KeyError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"the checkpoint of {run_dir} does not fit its config.json ({first})") from None
    return actors.eval(), config


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; asking for CUDA without it raises ValueError."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} requested but CUDA is not available")
    return torch.device(name)


def duration(seconds: float) -> str:
    """``42s``, ``12m05s`` or ``1h05m``: a time span as a progress line shows it."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """A one-line progress display on stderr (a line every 5% when not a terminal), with the
    time left at the pace of the iterations done in this process (``first``: the iteration a
    resumed run starts from)."""

    def __init__(self, total: int, enabled: bool = True, first: int = 0):
        self.total, self.enabled, self.first = total, enabled, first
        self.tty = sys.stderr.isatty()
        self.every = max(1, total // 20)
        self.start = time.perf_counter()

    def update(self, done: int, sps: float, utility: float, vs_oracle: float) -> None:
        if not self.enabled or (not self.tty and done % self.every and done != self.total):
            return
        elapsed = time.perf_counter() - self.start
        left = elapsed / max(done - self.first, 1) * (self.total - done)
        line = (f"iter {done}/{self.total} | {sps:,.0f} agent-steps/s | utility {utility:.3f} "
                f"({vs_oracle:.0%} of oracle) | {duration(elapsed)} elapsed, ETA {duration(left)}")
        print(("\r" + line) if self.tty else line, end="" if self.tty else "\n", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.enabled and self.tty:
            print(file=sys.stderr)
