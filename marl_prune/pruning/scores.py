"""Importance scores: higher means keep. Each maps a weight tensor to scores of its shape."""

from __future__ import annotations

import torch
from torch import Tensor


def magnitude_scores(weight: Tensor) -> Tensor:
    """|w|: magnitude pruning."""
    return weight.detach().abs()


def random_scores(weight: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Uniform random scores: the random-pruning baseline."""
    return torch.rand(weight.shape, generator=generator, device="cpu").to(weight.device)


def lamp_scores(weight: Tensor) -> Tensor:
    """LAMP (Lee et al., ICLR 2021): w_u^2 / sum_{v >= u} w_v^2 over the tensor's entries sorted
    by ascending magnitude. The largest entry of every tensor scores exactly 1, so a global
    threshold on LAMP scores never empties a tensor; within a tensor the order is magnitude's.
    """
    squared = weight.detach().flatten().double() ** 2
    order = torch.argsort(squared, stable=True)
    sorted_sq = squared[order]
    # suffix sums: sum of the squares of this entry and every larger one
    suffix = sorted_sq.flip(0).cumsum(0).flip(0)
    scores_sorted = torch.where(suffix > 0, sorted_sq / suffix.clamp(min=1e-300), torch.zeros_like(suffix))
    scores = torch.empty_like(scores_sorted)
    scores[order] = scores_sorted
    return scores.reshape(weight.shape).to(weight.dtype if weight.is_floating_point() else torch.float32)


SCORES = {"magnitude": magnitude_scores, "random": random_scores, "lamp": lamp_scores}
"""Score functions by name."""
