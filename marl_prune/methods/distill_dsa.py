"""Policy distillation from a dense team into a sparse one, with SquareHead on the actors'
features (SquareHead on the DSA actors).

The student is a one-shot magnitude-pruned copy of the teacher's actors (per agent); it is
trained with its mask fixed on trajectories of the teacher (sampled actions), with the task
loss KL(teacher || student) of every user's action distribution at every slot, plus
``square_head_weight`` x SquareHead on the encoder and GRU outputs of every slot.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from envs.dsa import make_core
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import Actors, actor_prunable_weights
from marl_prune.methods.distill import capture_outputs, square_head_loss
from marl_prune.models.recurrent import RecurrentAgents
from marl_prune.pruning import MaskSet, compute_masks, masked_step
from marl_prune.seeding import int_seed, seed_streams

FEATURE_LAYERS = ("encoder", "gru")


@torch.no_grad()
def teacher_rollouts(teacher: RecurrentAgents, config: TrainConfig, num_envs: int, seed: int) -> torch.Tensor:
    """Observations ``(T, B, N, obs_dim)`` of one episode per copy, actions sampled from the teacher."""
    core = make_core(config.env_config(), num_envs=num_envs)
    obs = core.reset(seed=seed)
    h = teacher.initial_hidden(num_envs)
    g = torch.Generator().manual_seed(seed)
    trace, truncated = [], False
    while not truncated:
        x = torch.as_tensor(obs)
        trace.append(x)
        logits, h = teacher.step(x, h)
        actions = torch.multinomial(torch.softmax(logits, -1).reshape(-1, logits.shape[-1]), 1, generator=g)
        obs, _, truncated, _ = core.step(actions.reshape(num_envs, -1).numpy())
    return torch.stack(trace)


def _features(model: RecurrentAgents, obs: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits ``(T, B, N, A)`` and the per-slot outputs of FEATURE_LAYERS, stacked over time."""
    h = model.initial_hidden(obs.shape[1])
    logits: list[torch.Tensor] = []
    feats: list[list[torch.Tensor]] = [[] for _ in FEATURE_LAYERS]
    with capture_outputs(model, FEATURE_LAYERS) as read:
        for t in range(obs.shape[0]):
            out, h = model.step(obs[t], h)
            logits.append(out)
            for store, f in zip(feats, read()):
                store.append(f)
    return torch.stack(logits), [torch.stack(f) for f in feats]


def distill_sparse_team(teacher: Actors, config: TrainConfig, sparsity: float, epochs: int = 20,
                        square_head_weight: float = 1.0, num_envs: int = 32, lr: float = 1e-3,
                        seed: int = 0) -> tuple[RecurrentAgents, MaskSet]:
    """A student pruned to ``sparsity`` and distilled from ``teacher`` with the mask fixed:
    each epoch collects one fresh batch of teacher episodes and takes one step on it."""
    if not isinstance(teacher, RecurrentAgents):
        raise ValueError("distillation matches the GRU actor's encoder and GRU outputs: it takes the recurrent actor")
    teacher = teacher.eval()
    student = copy.deepcopy(teacher).train()
    masks = compute_masks(student, actor_prunable_weights(student, config.prune_head), sparsity, per_stack=True)
    masks.apply(student)
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    for epoch in range(epochs):
        obs = teacher_rollouts(teacher, config, num_envs, seed=int_seed(seed_streams(seed)["distillation"], epoch))
        with torch.no_grad():
            t_logits, t_feats = _features(teacher, obs)
        s_logits, s_feats = _features(student, obs)
        kl = nn.functional.kl_div(torch.log_softmax(s_logits, -1), torch.log_softmax(t_logits, -1),
                                  log_target=True, reduction="none").sum(-1).mean()
        loss = kl + square_head_weight * square_head_loss(s_feats, t_feats) if square_head_weight else kl
        optimizer.zero_grad()
        loss.backward()
        masked_step(optimizer, student, masks)
    return student.eval(), masks
