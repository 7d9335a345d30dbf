"""PPO-clip / A2C for recurrent independent actors: GAE, rollout storage, chunked-BPTT update."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import Actors
from marl_prune.models.critics import ValueNormalizer
from marl_prune.pruning import MaskSet


def compute_gae(
    rewards: Tensor,
    values: Tensor,
    next_values: Tensor,
    episode_end: Tensor,
    gamma: float,
    lam: float,
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation over time (dim 0).

    ``next_values[t]`` is V(s_{t+1}); where an episode was truncated after step t it is the
    value of the final state, so the time limit is bootstrapped rather than treated as a
    terminal. ``episode_end (T,)`` stops the advantage recursion from crossing episodes.
    Returns ``(advantages, returns)`` with ``returns = advantages + values``.
    """
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        delta = rewards[t] + gamma * next_values[t] - values[t]
        last = delta + gamma * lam * (1.0 - episode_end[t].to(rewards.dtype)) * last
        advantages[t] = last
    return advantages, advantages + values


@dataclass
class Rollout:
    """One iteration of experience, time-major: T slots x B copies x N users.

    ``actor_hidden[t]`` / ``critic_hidden[t]`` are the recurrent states entering slot t
    (before the reset at an episode start), so any chunk can be replayed from its start.
    Values are in return units (not normalised).
    """

    obs: Tensor  # (T, B, N, obs_dim)
    state: Tensor  # (T, B, state_dim)
    actions: Tensor  # (T, B, N)
    logprobs: Tensor  # (T, B, N)
    rewards: Tensor  # (T, B) team reward, or (T, B, N) per user (local critics, difference credit)
    values: Tensor  # like rewards
    next_values: Tensor  # like rewards
    episode_start: Tensor  # (T, B) bool: hidden states reset before slot t
    episode_end: Tensor  # (T,) bool: all copies truncated after slot t
    actor_hidden: Tensor  # (T, B, N, H)
    critic_hidden: Tensor | None  # (T, B, N, H) for local recurrent critics

    @classmethod
    def zeros(cls, T: int, B: int, N: int, obs_dim: int, state_dim: int, actor_hidden: int,
              critic_hidden: int | None, device: torch.device, per_user: bool = False) -> Rollout:
        """Storage for T slots; ``critic_hidden`` is the local critics' width (None: a global
        critic); rewards and values are per user with local critics or ``per_user``."""
        value_shape = (T, B, N) if per_user or critic_hidden is not None else (T, B)
        return cls(
            obs=torch.zeros(T, B, N, obs_dim, device=device),
            state=torch.zeros(T, B, state_dim, device=device),
            actions=torch.zeros(T, B, N, dtype=torch.long, device=device),
            logprobs=torch.zeros(T, B, N, device=device),
            rewards=torch.zeros(value_shape, device=device),
            values=torch.zeros(value_shape, device=device),
            next_values=torch.zeros(value_shape, device=device),
            episode_start=torch.zeros(T, B, dtype=torch.bool, device=device),
            episode_end=torch.zeros(T, dtype=torch.bool, device=device),
            actor_hidden=torch.zeros(T, B, N, actor_hidden, device=device),
            critic_hidden=None if critic_hidden is None else torch.zeros(T, B, N, critic_hidden, device=device),
        )


@dataclass
class UpdateSettings:
    """The subset of the training config the update needs."""

    update_epochs: int
    num_minibatches: int
    bptt_chunk: int
    clip_coef: float | None  # None: no clipping (A2C)
    ent_coef: float
    vf_coef: float
    max_grad_norm: float
    norm_adv: bool
    gamma: float
    gae_lambda: float

    @classmethod
    def from_config(cls, config: TrainConfig) -> UpdateSettings:
        """PPO as configured; A2C is one epoch on one minibatch without clipping."""
        ppo = config.algo == "ppo"
        return cls(update_epochs=config.update_epochs if ppo else 1,
                   num_minibatches=config.num_minibatches if ppo else 1,
                   bptt_chunk=config.bptt_chunk, clip_coef=config.clip_coef if ppo else None,
                   ent_coef=config.ent_coef, vf_coef=config.vf_coef, max_grad_norm=config.max_grad_norm,
                   norm_adv=config.norm_adv, gamma=config.gamma, gae_lambda=config.gae_lambda)


def _chunks(x: Tensor, chunk: int) -> Tensor:
    """(T, B, ...) -> (chunk, T/chunk * B, ...): every chunk of every copy becomes a column."""
    T, B = x.shape[:2]
    return x.reshape(T // chunk, chunk, B, *x.shape[2:]).transpose(0, 1).reshape(
        chunk, T // chunk * B, *x.shape[2:]
    )


def _chunk_starts(x: Tensor, chunk: int) -> Tensor:
    """(T, B, ...) -> (T/chunk * B, ...): the entry at the first slot of every chunk."""
    T, B = x.shape[:2]
    return x[::chunk].reshape(T // chunk * B, *x.shape[2:])


@dataclass
class _Chunks:
    """A rollout cut into BPTT chunks: time-major ``(chunk, n_chunks, ...)`` columns and the
    recurrent states entering every chunk."""

    obs: Tensor
    state: Tensor
    actions: Tensor
    logprobs: Tensor
    advantages: Tensor
    returns: Tensor
    episode_start: Tensor
    actor_h0: Tensor
    critic_h0: Tensor | None

    @classmethod
    def of(cls, rollout: Rollout, advantages: Tensor, returns: Tensor, chunk: int) -> _Chunks:
        return cls(obs=_chunks(rollout.obs, chunk), state=_chunks(rollout.state, chunk),
                   actions=_chunks(rollout.actions, chunk), logprobs=_chunks(rollout.logprobs, chunk),
                   advantages=_chunks(advantages, chunk), returns=_chunks(returns, chunk),
                   episode_start=_chunks(rollout.episode_start, chunk),
                   actor_h0=_chunk_starts(rollout.actor_hidden, chunk),
                   critic_h0=None if rollout.critic_hidden is None else _chunk_starts(rollout.critic_hidden, chunk))


def _minibatch_loss(c: _Chunks, idx: Tensor, actors: Actors, critic: nn.Module,
                    value_norm: ValueNormalizer | None, s: UpdateSettings) -> tuple[Tensor, dict[str, Tensor]]:
    """The PPO (or A2C) loss of the chunks ``idx``, and the terms it is made of."""
    local = c.critic_h0 is not None
    logits = actors.unroll(c.obs[:, idx], c.actor_h0[idx], c.episode_start[:, idx])
    dist = torch.distributions.Categorical(logits=logits)
    logratio = dist.log_prob(c.actions[:, idx]) - c.logprobs[:, idx]
    ratio = logratio.exp()
    adv = c.advantages[:, idx]
    if s.norm_adv:
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
    if adv.dim() < ratio.dim():
        adv = adv[..., None]  # one team advantage for every user
    pg_loss = -adv * ratio
    if s.clip_coef is not None:
        pg_loss = torch.max(pg_loss, -adv * ratio.clamp(1 - s.clip_coef, 1 + s.clip_coef))
    pg_loss = pg_loss.mean()
    if local:
        new_values = critic.unroll(c.obs[:, idx], c.critic_h0[idx], c.episode_start[:, idx])[..., 0]
    else:
        new_values = critic(c.state[:, idx])
    target = c.returns[:, idx]
    if value_norm is not None:
        target = value_norm.normalize(target)
    v_loss = 0.5 * ((new_values - target) ** 2).mean()
    entropy = dist.entropy().mean()
    loss = pg_loss - s.ent_coef * entropy + s.vf_coef * v_loss
    if not torch.isfinite(loss):
        raise FloatingPointError(
            f"non-finite loss (policy {pg_loss.item()}, value {v_loss.item()}, entropy "
            f"{entropy.item()}); lower the learning rate or check the rewards"
        )
    return loss, {"policy": pg_loss, "value": v_loss, "entropy": entropy, "ratio": ratio, "logratio": logratio}


def ppo_update(
    rollout: Rollout,
    actors: Actors,
    critic: nn.Module,
    value_norm: ValueNormalizer | None,
    optimizer: torch.optim.Optimizer,
    settings: UpdateSettings,
    generator: torch.Generator,
    masks: Sequence[tuple[nn.Module, MaskSet]] = (),
) -> dict[str, float]:
    """PPO epochs over minibatches of BPTT chunks. ``critic`` is a CentralCritic (global
    state) or a RecurrentAgents with one output (local critics). ``masks`` are held around
    every optimiser step: gradients masked before clipping, pruned weights re-zeroed after."""
    s = settings
    T = rollout.obs.shape[0]
    if T % s.bptt_chunk:
        raise ValueError(f"bptt_chunk ({s.bptt_chunk}) must divide the rollout length ({T})")
    advantages, returns = compute_gae(
        rollout.rewards, rollout.values, rollout.next_values, rollout.episode_end, s.gamma, s.gae_lambda
    )
    if value_norm is not None:
        value_norm.update(returns)
    chunks = _Chunks.of(rollout, advantages, returns, s.bptt_chunk)
    n_chunks = chunks.obs.shape[1]
    minibatch = max(1, n_chunks // s.num_minibatches)
    params = [p for g in optimizer.param_groups for p in g["params"]]

    stats: dict[str, list[float]] = {k: [] for k in ("policy", "value", "entropy", "approx_kl", "clipfrac")}
    for _ in range(s.update_epochs):
        order = torch.randperm(n_chunks, generator=generator)
        for begin in range(0, n_chunks, minibatch):
            loss, terms = _minibatch_loss(chunks, order[begin : begin + minibatch], actors, critic, value_norm, s)
            optimizer.zero_grad()
            loss.backward()
            for module, mask in masks:
                mask.mask_gradients(module)
            nn.utils.clip_grad_norm_(params, s.max_grad_norm)
            optimizer.step()
            for module, mask in masks:
                mask.apply(module)
            with torch.no_grad():
                ratio, logratio = terms["ratio"], terms["logratio"]
                for key in ("policy", "value", "entropy"):
                    stats[key].append(terms[key].item())
                stats["approx_kl"].append(((ratio - 1) - logratio).mean().item())
                clip = 0.2 if s.clip_coef is None else s.clip_coef
                stats["clipfrac"].append(((ratio - 1.0).abs() > clip).float().mean().item())

    out = {k: sum(v) / len(v) for k, v in stats.items()}
    var_ret = returns.var()
    out["explained_variance"] = (
        float("nan") if var_ret == 0 else float(1 - (returns - rollout.values).var() / var_ret)
    )
    return out
