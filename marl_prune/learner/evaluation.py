"""Evaluation of trained actors on the run's evaluation episodes, against the centralised
reference: the genie oracle on v0, the preset's reference scheduler on v1 (max-weight for
``packets``, the per-slot reward maximiser otherwise).

The actors become an :class:`envs.dsa.DSAPolicy` (:class:`ActorPolicy`), so they are
evaluated exactly as the baselines and the reference are: same episodes (``eval_seed``), same
metrics.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from envs.dsa import DSACore, EvalResult, evaluate
from envs.dsa.references import reference_policy, score_metric
from envs.dsa.waterfall import play_episode, waterfall_image
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.runs import Actors
from marl_prune.models.layout import sample_from_cdf


class ActorPolicy:
    """Acts greedily (argmax, the deployment default) or samples from the actors' policy
    with the evaluation's own random stream."""

    def __init__(self, actors: Actors, greedy: bool = True):
        self.actors, self.greedy = actors, greedy
        self.device = next(actors.parameters()).device

    def initial_state(self, core: DSACore, rng: np.random.Generator) -> dict[str, Any]:
        return {"h": self.actors.initial_hidden(core.num_envs, self.device), "rng": rng}

    @torch.no_grad()
    def __call__(self, obs: np.ndarray, state: dict[str, Any]) -> tuple[np.ndarray, Any]:
        logits, h = self.actors.step(torch.as_tensor(obs, device=self.device), state["h"])
        if self.greedy:
            actions = logits.argmax(dim=-1).cpu().numpy()
        else:
            cdf = torch.softmax(logits.double(), dim=-1).cumsum(dim=-1).cpu().numpy()
            actions = sample_from_cdf(cdf, state["rng"])
        return actions.astype(np.int64), {"h": h, "rng": state["rng"]}


_REFERENCES: dict[tuple, EvalResult] = {}


def reference_result(config: TrainConfig) -> EvalResult:
    """The centralised reference on the run's evaluation episodes (computed once per process)."""
    env = config.env_config()
    key = (env, config.eval_episodes, config.eval_seed)
    if key not in _REFERENCES:
        _REFERENCES[key] = evaluate(reference_policy(env), env, config.eval_episodes, seed=config.eval_seed)
    return _REFERENCES[key]


def oracle_utility(config: TrainConfig) -> float:
    """The centralised reference's mean team reward per slot on the run's evaluation episodes."""
    return reference_result(config).mean()


def evaluate_actors(actors: Actors, config: TrainConfig, oracle: float | None = None) -> dict[str, float]:
    """``eval/*`` metrics of the policy (greedy or sampled, ``eval_greedy``) on the run's evaluation episodes, with the
    utility as a fraction of the reference's (``utility_vs_oracle``; the reference's utility is
    computed when not given) and the scenario's score likewise (``score_vs_reference``)."""
    oracle = oracle_utility(config) if oracle is None else oracle
    env = config.env_config()
    result = evaluate(ActorPolicy(actors, greedy=config.eval_greedy), env, config.eval_episodes, seed=config.eval_seed)
    out = {f"eval/{m}": result.mean(m) for m in result.episodes}
    out["eval/utility_vs_oracle"] = out["eval/utility"] / oracle
    metric = score_metric(env)
    reference = oracle if metric == "utility" else reference_result(config).mean(metric)
    out["eval/score_vs_reference"] = out[f"eval/{metric}"] / reference
    return out


def waterfall_of(actors: Actors, config: TrainConfig) -> np.ndarray:
    """The waterfall picture (:func:`envs.dsa.waterfall.waterfall_image`) of one episode of the
    policy, greedy or sampled as evaluated, drawn from the evaluation seed (its own episode, one
    copy: not one of the evaluation's batch)."""
    return waterfall_image(play_episode(ActorPolicy(actors, greedy=config.eval_greedy), config.env_config(),
                                        config.eval_seed))
