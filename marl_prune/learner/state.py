"""The training state: everything a run changes as it goes, built in one seeding block, and
the one place that defines what a checkpoint holds (:meth:`TrainState.state_dict`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from envs.dsa import DSACore, make_core
from marl_prune.learner.checkpoint import CHECKPOINT_FORMAT
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import Actors, actor_prunable_weights, build_models, load_ticket, resolve_device
from marl_prune.models.critics import ValueNormalizer
from marl_prune.pruning import GradualPruner, MaskSet, prunable_weights
from marl_prune.seeding import int_seed, seed_streams


def build_pruners(config: TrainConfig, actors: Actors, critic: nn.Module, optimizer: torch.optim.Optimizer,
                  streams: dict[str, np.random.SeedSequence], ticket_masks: MaskSet | None = None
                  ) -> list[GradualPruner]:
    """The actors' pruner (per agent), and the critic's when ``prune_critic``; with a
    ticket's masks, one pruner that holds them fixed."""
    if ticket_masks is not None:
        pruner = GradualPruner(actors, list(ticket_masks), lambda e: 0.0, per_stack=True, optimizer=optimizer)
        pruner.fix(ticket_masks)
        return [pruner]
    if not config.pruning:
        return []
    common: dict[str, Any] = dict(schedule=config.sparsity_schedule(), every=config.prune_every,
                                  score=config.prune_score, scope=config.prune_scope, mode=config.prune_mode,
                                  optimizer=optimizer)
    pruners = [GradualPruner(actors, actor_prunable_weights(actors, config.prune_head), per_stack=True,
                             generator=torch.Generator().manual_seed(int_seed(streams["actor_pruning"])), **common)]
    if config.prune_critic:
        pruners.append(GradualPruner(critic, prunable_weights(critic), per_stack=config.critic == "local",
                                     generator=torch.Generator().manual_seed(int_seed(streams["critic_pruning"])),
                                     **common))
    return pruners


@dataclass
class TrainState:
    """Models, optimiser, value normaliser, pruners, random generators and the environment,
    with the recurrent states and counters between iterations."""

    config: TrainConfig
    device: torch.device
    core: DSACore
    actors: Actors
    critic: nn.Module
    optimizer: torch.optim.Optimizer
    value_norm: ValueNormalizer | None
    pruners: list[GradualPruner]
    action_gen: torch.Generator
    """Samples the actors' actions during rollouts."""
    minibatch_gen: torch.Generator
    """Orders the BPTT chunks of the update."""
    next_obs: np.ndarray
    actor_h: Tensor
    critic_h: Tensor | None
    """The local critics' recurrent state (None with the global critic)."""
    starting: Tensor
    """Per copy: the hidden states are reset before the next slot (an episode starts)."""
    iteration: int = 0
    global_step: int = 0
    last_metrics: dict[str, float] = field(default_factory=dict)
    """The scalars of the last iteration (kept so that a resume after it loses none)."""

    @classmethod
    def create(cls, config: TrainConfig) -> TrainState:
        """A fresh run: every random stream is seeded here, from ``config.seed``."""
        torch.set_num_threads(config.torch_threads)
        streams = seed_streams(config.seed)
        torch.manual_seed(int_seed(streams["init"]))
        device = resolve_device(config.device)
        action_gen = torch.Generator(device=device).manual_seed(int_seed(streams["actions"]))
        minibatch_gen = torch.Generator().manual_seed(int_seed(streams["minibatches"]))
        core = make_core(config.env_config(), num_envs=config.num_envs)
        next_obs = core.reset(seed=streams["env"])
        actors, critic = build_models(config, core)
        actors.to(device), critic.to(device)
        value_norm = ValueNormalizer().to(device) if config.value_norm else None
        optimizer = torch.optim.Adam([*actors.parameters(), *critic.parameters()], lr=config.learning_rate, eps=1e-5)
        ticket_masks = None
        if config.init_from:
            ticket_actors, ticket_masks = load_ticket(config.init_from)
            actors.load_state_dict(ticket_actors)
        if config.train_only_head:
            for name, p in actors.named_parameters():
                p.requires_grad_(name.startswith("head."))
        pruners = build_pruners(config, actors, critic, optimizer, streams, ticket_masks)
        B = config.num_envs
        local = config.critic == "local"
        return cls(config=config, device=device, core=core, actors=actors, critic=critic, optimizer=optimizer,
                   value_norm=value_norm, pruners=pruners, action_gen=action_gen, minibatch_gen=minibatch_gen,
                   next_obs=next_obs, actor_h=actors.initial_hidden(B, device),
                   critic_h=critic.initial_hidden(B, device) if local else None,
                   starting=torch.ones(B, dtype=torch.bool, device=device))

    @property
    def enforced_masks(self) -> list[tuple[nn.Module, MaskSet]]:
        """The masks to hold around optimiser steps now (see GradualPruner.enforced_masks)."""
        return [(p.module, p.enforced_masks) for p in self.pruners if p.enforced_masks is not None]

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: tensors and plain data only, so that it loads
        with ``torch.load(weights_only=True)``."""
        return {
            "format": CHECKPOINT_FORMAT,
            "iteration": self.iteration,
            "global_step": self.global_step,
            "actors": self.actors.state_dict(),
            "critic": self.critic.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "value_norm": self.value_norm.state_dict() if self.value_norm is not None else {},
            "pruners": [p.state_dict() for p in self.pruners],
            "action_gen": self.action_gen.get_state(),
            "minibatch_gen": self.minibatch_gen.get_state(),
            "torch_rng": torch.get_rng_state(),
            "core": {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v
                     for k, v in self.core.get_state().items()},
            "next_obs": torch.as_tensor(self.next_obs),
            "actor_h": self.actor_h.cpu(),
            "critic_h": self.critic_h.cpu() if self.critic_h is not None else None,
            "starting": self.starting.cpu(),
            "last_metrics": dict(self.last_metrics),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict` of the same config; a checkpoint that does not fit
        (another architecture, another format) raises ValueError."""
        try:
            self._load(state)
        except (KeyError, RuntimeError, TypeError, ValueError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(f"the checkpoint does not fit this run's config ({first})") from None

    def _load(self, state: dict[str, Any]) -> None:
        self.actors.load_state_dict(state["actors"])
        self.critic.load_state_dict(state["critic"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.value_norm is not None:
            self.value_norm.load_state_dict(state["value_norm"])
        for pruner, pruner_state in zip(self.pruners, state["pruners"], strict=True):
            pruner.load_state_dict(pruner_state)
        self.action_gen.set_state(state["action_gen"])
        self.minibatch_gen.set_state(state["minibatch_gen"])
        torch.set_rng_state(state["torch_rng"])
        self.core.set_state({k: v.numpy() if isinstance(v, Tensor) else v for k, v in state["core"].items()})
        self.next_obs = state["next_obs"].numpy()
        self.actor_h = state["actor_h"].to(self.device)
        self.critic_h = state["critic_h"].to(self.device) if state["critic_h"] is not None else None
        self.starting = state["starting"].to(self.device)
        self.iteration, self.global_step = int(state["iteration"]), int(state["global_step"])
        self.last_metrics = {k: float(v) for k, v in state["last_metrics"].items()}
