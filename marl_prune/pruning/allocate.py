"""Allocators: turn per-tensor scores and a target sparsity into exact keep-masks."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from marl_prune.pruning.scores import lamp_scores

SCOPES = ("global", "layerwise", "lamp")


def keep_count(numel: int, sparsity: float) -> int:
    """Entries kept at ``sparsity``: round((1 - s) * n), so the realised sparsity is the
    closest achievable to the target (within half a weight)."""
    return int(math.floor((1.0 - sparsity) * numel + 0.5))


def _top_k_mask(scores: Tensor, k: int) -> Tensor:
    """Exactly ``k`` True entries at the highest scores (ties: the lower flat index wins)."""
    flat = scores.flatten()
    mask = torch.zeros(flat.numel(), dtype=torch.bool, device=scores.device)
    if k > 0:
        order = torch.argsort(flat, descending=True, stable=True)
        mask[order[:k]] = True
    return mask.reshape(scores.shape)


def allocate(scores: dict[str, Tensor], sparsity: float, scope: str = "global") -> dict[str, Tensor]:
    """Keep-masks with exactly ``keep_count`` survivors.

    ``global``: one ranking over all tensors together (the total count is exact).
    ``layerwise``: every tensor keeps the same fraction (each count is exact).
    ``lamp``: a global ranking of LAMP-normalised scores, i.e. LAMP's per-layer amounts;
    every tensor keeps at least its top entry.
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must lie in [0, 1], got {sparsity}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    if scope == "layerwise":
        return {name: _top_k_mask(s, keep_count(s.numel(), sparsity)) for name, s in scores.items()}
    if scope == "lamp":
        scores = {name: lamp_scores(s) for name, s in scores.items()}
    names = list(scores)
    flat = torch.cat([scores[n].flatten().float() for n in names])
    keep = _top_k_mask(flat, keep_count(flat.numel(), sparsity))
    masks, offset = {}, 0
    for n in names:
        size = scores[n].numel()
        masks[n] = keep[offset : offset + size].reshape(scores[n].shape)
        offset += size
    return masks


def allocate_amounts(scores: dict[str, Tensor], amounts: dict[str, float]) -> dict[str, Tensor]:
    """Keep-masks for given per-tensor sparsities (e.g. amounts found by LAMP or ERK)."""
    missing = set(scores) - set(amounts)
    if missing:
        raise ValueError(f"no amount given for {sorted(missing)}")
    return {n: _top_k_mask(s, keep_count(s.numel(), amounts[n])) for n, s in scores.items()}
