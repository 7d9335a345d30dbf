"""PPO-clip / A2C for recurrent independent actors: GAE, rollout storage, chunked-BPTT update."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from marl_prune.models import RecurrentAgents, ValueNormalizer


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
    rewards: Tensor  # (T, B) team reward, or (T, B, N) with local critics
    values: Tensor  # like rewards
    next_values: Tensor  # like rewards
    episode_start: Tensor  # (T, B) bool: hidden states reset before slot t
    episode_end: Tensor  # (T,) bool: all copies truncated after slot t
    actor_hidden: Tensor  # (T, B, N, H)
    critic_hidden: Tensor | None  # (T, B, N, H) for local recurrent critics


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


def ppo_update(
    rollout: Rollout,
    actors: RecurrentAgents,
    critic: nn.Module,
    value_norm: ValueNormalizer | None,
    optimizer: torch.optim.Optimizer,
    settings: UpdateSettings,
    generator: torch.Generator,
    after_step=None,
) -> dict[str, float]:
    """PPO epochs over minibatches of BPTT chunks. ``critic`` is a CentralCritic (global
    state) or a RecurrentAgents with one output (local critics). ``after_step`` is called
    after every optimiser step (pruning uses it to re-apply masks)."""
    s = settings
    T = rollout.obs.shape[0]
    if T % s.bptt_chunk:
        raise ValueError(f"bptt_chunk ({s.bptt_chunk}) must divide the rollout length ({T})")
    local = isinstance(critic, RecurrentAgents)
    advantages, returns = compute_gae(
        rollout.rewards, rollout.values, rollout.next_values, rollout.episode_end, s.gamma, s.gae_lambda
    )
    if value_norm is not None:
        value_norm.update(returns)

    C = s.bptt_chunk
    obs, state = _chunks(rollout.obs, C), _chunks(rollout.state, C)
    actions, old_logprobs = _chunks(rollout.actions, C), _chunks(rollout.logprobs, C)
    adv_c, ret_c, start = _chunks(advantages, C), _chunks(returns, C), _chunks(rollout.episode_start, C)
    h0 = _chunk_starts(rollout.actor_hidden, C)
    ch0 = _chunk_starts(rollout.critic_hidden, C) if local else None
    n_chunks = obs.shape[1]
    minibatch = max(1, n_chunks // s.num_minibatches)

    stats: dict[str, list[float]] = {k: [] for k in ("policy", "value", "entropy", "approx_kl", "clipfrac")}
    for _ in range(s.update_epochs):
        order = torch.randperm(n_chunks, generator=generator)
        for begin in range(0, n_chunks, minibatch):
            idx = order[begin : begin + minibatch]
            logits = actors.unroll(obs[:, idx], h0[idx], start[:, idx])
            dist = torch.distributions.Categorical(logits=logits)
            logprob = dist.log_prob(actions[:, idx])
            logratio = logprob - old_logprobs[:, idx]
            ratio = logratio.exp()

            adv = adv_c[:, idx]
            if s.norm_adv:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            if not local:
                adv = adv[..., None]  # one team advantage for every user
            pg_loss = -adv * ratio
            if s.clip_coef is not None:
                pg_loss = torch.max(pg_loss, -adv * ratio.clamp(1 - s.clip_coef, 1 + s.clip_coef))
            pg_loss = pg_loss.mean()

            if local:
                new_values = critic.unroll(obs[:, idx], ch0[idx], start[:, idx])[..., 0]
            else:
                new_values = critic(state[:, idx])
            target = ret_c[:, idx]
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
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(
                [p for g in optimizer.param_groups for p in g["params"]], s.max_grad_norm
            )
            optimizer.step()
            if after_step is not None:
                after_step()
            with torch.no_grad():
                stats["policy"].append(pg_loss.item())
                stats["value"].append(v_loss.item())
                stats["entropy"].append(entropy.item())
                stats["approx_kl"].append(((ratio - 1) - logratio).mean().item())
                clip = 0.2 if s.clip_coef is None else s.clip_coef
                stats["clipfrac"].append(((ratio - 1.0).abs() > clip).float().mean().item())

    out = {k: sum(v) / len(v) for k, v in stats.items()}
    var_ret = returns.var()
    out["explained_variance"] = (
        float("nan") if var_ret == 0 else float(1 - (returns - rollout.values).var() / var_ret)
    )
    return out
