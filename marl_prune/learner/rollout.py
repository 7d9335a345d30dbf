"""Collecting one iteration of experience: ``num_steps`` slots of every environment copy, with
the actions sampled from the actors and the values of the critic."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from marl_prune.learner.ppo import Rollout
from marl_prune.learner.state import TrainState


@dataclass(frozen=True)
class RolloutStats:
    """The environment's team metrics over the rollout, and the time spent stepping it."""

    means: dict[str, float]
    """Per-slot metrics: their mean over slots and copies; episode metrics (fairness, v1's
    delay...): their mean over the episodes that ended in the rollout (else their value at its
    last slot)."""
    env_seconds: float


WELFARE_FLOOR = 0.05
"""welfare=log divides by max(mean throughput, WELFARE_FLOOR): a user that is starved in a
rollout weighs 20 times a user served once every slot at rate 1, not without bound."""


def log_welfare_rewards(throughput: np.ndarray) -> np.ndarray:
    """The team's rewards ``(T, B)`` for the welfare sum_i log(x_i), from every user's
    throughput ``(T, B, N)`` in a rollout: sum_i throughput_i / max(x_i, WELFARE_FLOOR), x_i
    user i's mean over the rollout. d log(x_i) = dx_i / x_i, so with the weights held fixed the
    policy gradient of these rewards is that of the welfare."""
    return throughput @ welfare_weights(throughput)


def welfare_weights(throughput: np.ndarray) -> np.ndarray:
    """1 / max(x_i, WELFARE_FLOOR) per user ``(N,)``, x_i user i's mean throughput over a rollout
    ``(T, B, N)``."""
    return 1.0 / np.maximum(throughput.mean(axis=(0, 1)), WELFARE_FLOOR)


def log_welfare_difference_rewards(throughput: np.ndarray, partner: np.ndarray, alone: np.ndarray) -> np.ndarray:
    """Each user's difference reward ``(T, B, N)`` for the welfare sum_i log(x_i), with the
    weights of :func:`log_welfare_rewards` held fixed: its own weighted throughput, less the
    weighted throughput its transmission cost the user it spoiled (``partner``, -1 for none;
    ``alone``: what each user's slot would have added alone; both from
    ``core.spoiled_partners()``). A collision that starves a user is charged at that user's
    weight, which the team reward spreads over everyone."""
    weights = welfare_weights(throughput)
    spoiled = partner >= 0
    other = np.maximum(partner, 0)
    lost = np.where(spoiled, weights[other] * np.take_along_axis(alone, other, axis=-1), 0.0)
    return throughput * weights - lost


def episode_log_welfare_rewards(throughput: np.ndarray, earlier: np.ndarray, slot: np.ndarray, horizon: int,
                                epsilon: float) -> np.ndarray:
    """The team's rewards ``(T, B)`` for the welfare of each episode, sum_i log(x_i + epsilon)
    with x_i user i's mean throughput over that episode (the score's alpha-fair utility).

    Each slot earns the rise of the potential sum_i log(P_i / horizon + epsilon), where
    P_i = (user i's throughput earlier in the episode) + mu_i x (slots left), mu_i its mean
    throughput over the rollout: what the user would end the episode with at its usual rate.
    The potential starts at sum_i log(mu_i + epsilon), whatever happens, and ends at the
    episode's welfare, so an episode's rewards add up to its welfare less a constant and the
    policy gradient (undiscounted) is that of the per-episode welfare. Weighing every slot by
    the rollout's means instead (:func:`log_welfare_rewards`) sees only sum_i log(E[x_i]),
    which a team that serves each user in half of the episodes and starves it in the others
    scores as high as one that serves everyone half of every episode.

    ``throughput (T, B, N)``: each slot's throughput; ``earlier (T, B, N)``: each user's
    throughput in the episode before the slot; ``slot (T,)``: the slot's index in its episode;
    ``horizon``: the episode's length."""
    mu = throughput.mean(axis=(0, 1))
    left = (horizon - np.asarray(slot, dtype=np.float64))[:, None, None]  # slots left, this one included
    before = np.log((earlier + mu * left) / horizon + epsilon)
    after = np.log((earlier + throughput + mu * (left - 1)) / horizon + epsilon)
    return (after - before).sum(axis=-1)


def _mean(values: np.ndarray) -> float:
    return float("nan") if np.isnan(values).all() else float(np.nanmean(values))


def _critic_values(ts: TrainState, obs: Tensor, state: Tensor, h: Tensor | None,
                   reset: Tensor) -> tuple[Tensor, Tensor | None]:
    """Values in return units for a slot, and the local critic's next hidden state."""
    if h is not None:
        out, h = ts.critic.step(obs, h * (~reset)[:, None, None])
        v = out[..., 0]
    else:
        v = ts.critic(state)
    return (ts.value_norm.denormalize(v) if ts.value_norm is not None else v), h


@torch.no_grad()
def collect_rollout(ts: TrainState) -> tuple[Rollout, RolloutStats]:
    """Step every copy ``num_steps`` slots from where ``ts`` stands, and advance ``ts``.

    Episodes that end inside the rollout are bootstrapped with the value of their final
    state (a time limit, not a terminal); the environment is then reset in every copy.
    """
    T, B, device, core = ts.config.num_steps, ts.config.num_envs, ts.device, ts.core
    local = ts.critic_h is not None
    difference = ts.config.credit == "difference"
    buf = Rollout.zeros(T, B, core.n_users, core.obs_dim, core.state_dim, ts.actors.hidden_size,
                        ts.config.critic_hidden if local else None, device, per_user=difference)
    sums = {m: 0.0 for m in core.metrics if m not in core.episode_metrics}
    ends: dict[str, list[float]] = {m: [] for m in core.episode_metrics}
    env_seconds = 0.0
    welfare = ts.config.welfare
    throughput = np.zeros((T, B, core.n_users)) if welfare in ("log", "episode_log") else None
    # welfare=episode_log: each user's throughput earlier in the episode, and the slot's index
    earlier = np.zeros((T, B, core.n_users)) if welfare == "episode_log" else None
    slot = np.zeros(T, dtype=np.int64)
    # welfare=log with difference credit: each slot's spoiled partners and lone throughputs
    spoils = (np.zeros((T, B, core.n_users), dtype=np.int64), np.zeros((T, B, core.n_users))) \
        if throughput is not None and difference else None
    for t in range(T):
        obs = torch.as_tensor(ts.next_obs, device=device)
        state = torch.as_tensor(core.state(), device=device)
        buf.obs[t], buf.state[t], buf.episode_start[t] = obs, state, ts.starting
        buf.actor_hidden[t] = ts.actor_h
        if buf.critic_hidden is not None and ts.critic_h is not None:
            buf.critic_hidden[t] = ts.critic_h
        logits, ts.actor_h = ts.actors.step(obs, ts.actor_h * (~ts.starting)[:, None, None])
        probs = torch.softmax(logits, dim=-1)
        action = torch.multinomial(probs.reshape(-1, probs.shape[-1]), 1, generator=ts.action_gen).reshape(B, -1)
        buf.actions[t] = action
        buf.logprobs[t] = torch.log(probs.gather(-1, action[..., None])[..., 0])
        buf.values[t], ts.critic_h = _critic_values(ts, obs, state, ts.critic_h, ts.starting)

        if earlier is not None:
            earlier[t], slot[t] = core.cum_throughput, core.t
        started = time.perf_counter()
        ts.next_obs, rewards, truncated, info = core.step(action.cpu().numpy())
        env_seconds += time.perf_counter() - started
        if throughput is not None:  # welfare=log: the rewards are set after the loop
            throughput[t] = info["throughput"]
            if spoils is not None:
                spoils[0][t], spoils[1][t] = core.spoiled_partners()
        elif difference:
            buf.rewards[t] = torch.as_tensor(core.difference_rewards(), dtype=torch.float32, device=device)
        else:
            team = torch.as_tensor(rewards.sum(axis=1), dtype=torch.float32, device=device)
            buf.rewards[t] = team[:, None].expand(B, core.n_users) if local else team
        for key in sums:
            sums[key] += float(info[key].mean())
        ts.starting = torch.full((B,), truncated, dtype=torch.bool, device=device)
        if truncated:  # bootstrap the time limit with the final state's value
            for m, store in ends.items():
                store.append(_mean(info[m]))
            buf.episode_end[t] = True
            if welfare == "episode_log":  # the objective is the episode's: nothing comes after its end
                buf.next_values[t] = 0.0
            else:
                buf.next_values[t], _ = _critic_values(
                    ts, torch.as_tensor(ts.next_obs, device=device), torch.as_tensor(core.state(), device=device),
                    ts.critic_h, torch.zeros(B, dtype=torch.bool, device=device))
            ts.next_obs = core.reset()
    if throughput is not None and spoils is not None:  # the rollout's mean throughputs are known only now
        own = log_welfare_difference_rewards(throughput, *spoils)
        buf.rewards.copy_(torch.as_tensor(own, dtype=torch.float32, device=device))
    elif throughput is not None:
        team = log_welfare_rewards(throughput) if earlier is None else episode_log_welfare_rewards(
            throughput, earlier, slot, core.config.max_cycles, core.config.alpha_epsilon)
        team = torch.as_tensor(team, dtype=torch.float32, device=device)
        buf.rewards.copy_(team[..., None].expand_as(buf.rewards) if local else team)
    # V(s_{t+1}) of the slots that did not end an episode
    end = buf.episode_end[:-1].reshape((T - 1,) + (1,) * (buf.values.dim() - 1))
    buf.next_values[:-1] = torch.where(end, buf.next_values[:-1], buf.values[1:])
    if not buf.episode_end[-1]:
        buf.next_values[-1], _ = _critic_values(
            ts, torch.as_tensor(ts.next_obs, device=device), torch.as_tensor(core.state(), device=device),
            ts.critic_h, ts.starting)
    ts.global_step += T * B
    means = {m: total / T for m, total in sums.items()}
    summary = None if all(ends.values()) else core.episode_summary()  # no episode ended here: the ones so far
    means.update({m: _mean(np.asarray(store) if store else summary[m]) for m, store in ends.items()})
    stats = RolloutStats(means, env_seconds)
    return buf, stats
