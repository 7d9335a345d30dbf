"""Pruning pieces that work on any ``nn.Module``: which weights are prunable, scores,
allocators, masks and their enforcement, schedules, and the gradual pruner that applies them
during training."""

from marl_prune.pruning.allocate import SCOPES, allocate, allocate_amounts, keep_count
from marl_prune.pruning.gradual import MODES, GradualPruner
from marl_prune.pruning.masks import MaskSet, compute_masks, masked_step, prunable_weights, prune
from marl_prune.pruning.schedules import (
    BASES,
    SCHEDULES,
    Harmonic,
    Horizon,
    harmonic_schedule,
    linear_schedule,
    make_schedule,
    polynomial_schedule,
)
from marl_prune.pruning.scores import SCORES, lamp_scores, magnitude_scores, random_scores

__all__ = [
    "BASES", "MODES", "SCHEDULES", "SCOPES", "SCORES", "GradualPruner", "Harmonic", "Horizon", "MaskSet",
    "allocate", "allocate_amounts", "compute_masks", "harmonic_schedule", "keep_count", "lamp_scores",
    "linear_schedule", "magnitude_scores", "make_schedule", "masked_step", "polynomial_schedule",
    "prunable_weights", "prune", "random_scores",
]
