"""Run any :class:`~envs.dsa.baselines.DSAPolicy` for M episodes on the vectorised core."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from envs.dsa.baselines import DSAPolicy, GenieOracle, SlottedAloha
from envs.dsa.config import DSAConfig
from envs.dsa.versions import make_core


@dataclass
class EvalResult:
    """Per-episode metrics of an evaluation (each array has one value per episode).

    Every metric is the episode's mean over slots, but for the core's episode metrics (Jain
    ``fairness`` of the whole episode's throughput; with v1 also the mean ``delay``, the
    ``drop_rate`` and the ``alpha_fair`` utility), which are their value at the episode's end.
    ``slot_utility`` keeps the team reward of every slot, shape ``(M, max_cycles)``. A metric
    that is undefined in an episode (the delay when nothing was delivered) is NaN there, and
    left out of the mean. ``channel_shares`` ``(N, phases, 1 + K)`` is where each user
    transmitted: the share of its slots spent idle (column 0) or on channel k at any level
    (column 1 + k), per phase of the frame clock (the slot index modulo ``frame_clock``; one
    phase without a clock). It tells a team that takes turns from one that plays ALOHA.
    ``transmit_share`` ``(M, N)`` is the share of each episode's slots in which each user
    transmitted: averaged over episodes, a user that holds a channel in every slot of half of
    the episodes and one that takes every other slot of each look alike; per episode they do not.
    """

    episodes: dict[str, np.ndarray]
    slot_utility: np.ndarray
    channel_shares: np.ndarray
    transmit_share: np.ndarray

    def mean(self, metric: str = "utility") -> float:
        values = self.episodes[metric]
        return float(np.nanmean(values)) if not np.isnan(values).all() else float("nan")

    def std(self, metric: str = "utility") -> float:
        values = self.episodes[metric][~np.isnan(self.episodes[metric])]
        return float(values.std(ddof=1)) if len(values) > 1 else 0.0

    def ci95(self, metric: str = "utility") -> float:
        """Half-width of a normal-approximation 95% confidence interval of the mean."""
        return 1.96 * self.std(metric) / np.sqrt(max(int((~np.isnan(self.episodes[metric])).sum()), 1))

    def summary(self) -> dict[str, tuple[float, float]]:
        """``{metric: (mean, std)}`` over episodes."""
        return {m: (self.mean(m), self.std(m)) for m in self.episodes}


def evaluate(
    policy: DSAPolicy,
    config: DSAConfig,
    episodes: int = 32,
    num_envs: int = 256,
    seed: int = 0,
) -> EvalResult:
    """Play ``episodes`` episodes of ``policy`` in batches of ``num_envs`` copies.

    The channel realisation depends on ``seed`` only, never on the policy, so two policies
    evaluated with one seed face exactly the same gains, fading and primary users.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    batch = min(episodes, num_envs)
    rounds = -(-episodes // batch)
    env_seeds, policy_seed = np.random.SeedSequence(seed).spawn(2)
    policy_rng = np.random.default_rng(policy_seed)
    core = make_core(config, num_envs=batch)
    metrics, at_end = core.metrics, core.episode_metrics
    per_metric: dict[str, list[np.ndarray]] = {m: [] for m in metrics}
    slot_utility, transmit_share = [], []
    phases = max(config.frame_clock, 1)
    counts = np.zeros((core.n_users, phases, config.n_channels + 1))
    for done, round_seed in enumerate(env_seeds.spawn(rounds)):
        counted = min(batch, episodes - done * batch)  # the copies that are among the episodes
        obs = core.reset(seed=round_seed)
        state = policy.initial_state(core, policy_rng)
        sums = {m: np.zeros(batch) for m in metrics if m not in at_end}
        trace = []
        transmitted = np.zeros((counted, core.n_users))
        truncated = False
        while not truncated:
            actions, state = policy(obs, state)
            _count_channels(counts[:, core.t % phases], actions[:counted], config.n_levels)
            transmitted += actions[:counted] > 0
            obs, _, truncated, info = core.step(actions)
            for m in sums:
                sums[m] += info[m]
            trace.append(info["utility"])
        for m in metrics:
            per_metric[m].append(info[m] if m in at_end else sums[m] / core.t)
        slot_utility.append(np.stack(trace, axis=1))
        transmit_share.append(transmitted / core.t)
    return EvalResult(
        episodes={m: np.concatenate(v)[:episodes] for m, v in per_metric.items()},
        slot_utility=np.concatenate(slot_utility)[:episodes],
        channel_shares=counts / counts.sum(axis=-1, keepdims=True),
        transmit_share=np.concatenate(transmit_share),
    )


def _count_channels(counts: np.ndarray, actions: np.ndarray, n_levels: int) -> None:
    """Add one slot's actions ``(B, N)`` to ``counts (N, 1 + K)`` (action 0 idle; 1 + k L + l:
    channel k at level l)."""
    n_users, columns = counts.shape
    channel = np.where(actions > 0, (actions - 1) // n_levels + 1, 0)
    counts += np.bincount((np.arange(n_users) * columns + channel).ravel(),
                          minlength=n_users * columns).reshape(n_users, columns)


def tune_aloha(
    config: DSAConfig,
    stay_on_success: bool = False,
    grid: Sequence[float] = tuple(np.round(np.linspace(0.05, 1.0, 20), 2)),
    episodes: int = 32,
    seed: int = 0,
) -> SlottedAloha:
    """ALOHA (or the adaptive rule) with the ``p`` on ``grid`` of highest mean utility."""
    scores = [
        evaluate(SlottedAloha(p, stay_on_success=stay_on_success), config, episodes, seed=seed).mean()
        for p in grid
    ]
    return SlottedAloha(float(grid[int(np.argmax(scores))]), stay_on_success=stay_on_success)


def baseline_policies(config: DSAConfig, seed: int = 0) -> dict[str, DSAPolicy]:
    """The conventional baselines (``p`` tuned on ``seed``) and the oracle, by name."""
    return {
        "random": SlottedAloha(p=1.0),
        "aloha": tune_aloha(config, seed=seed),
        "adaptive": tune_aloha(config, stay_on_success=True, seed=seed),
        "oracle": GenieOracle(),
    }
