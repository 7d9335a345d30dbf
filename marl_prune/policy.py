"""Trained actors as a :class:`envs.dsa.DSAPolicy`, so they run through the same evaluation
as the baselines and the oracle."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from envs.dsa import DSACore
from marl_prune.models import RecurrentAgents


class ActorPolicy:
    """Acts greedily (argmax, the deployment default) or samples from the actors' policy
    with the evaluation's own random stream."""

    def __init__(self, actors: RecurrentAgents, greedy: bool = True):
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
            u = state["rng"].random(cdf.shape[:-1])[..., None]
            actions = np.minimum((cdf < u).sum(axis=-1), cdf.shape[-1] - 1)
        return actions.astype(np.int64), {"h": h, "rng": state["rng"]}
