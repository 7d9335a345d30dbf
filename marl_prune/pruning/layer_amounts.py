"""Per-layer sparsity amounts for a global target: LAMP, uniform, uniform+, Erdos-Renyi-kernel.

Each returns ``{name: sparsity}`` to pass to :func:`~marl_prune.pruning.allocate.allocate_amounts`
(or :func:`masks_from_amounts`). The total number of kept weights matches the global target
to within one weight per layer.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from marl_prune.pruning.allocate import allocate, allocate_amounts, keep_count
from marl_prune.pruning.masks import MaskSet


def lamp_amounts(weights: dict[str, Tensor], sparsity: float) -> dict[str, float]:
    """The per-layer sparsities implied by a global threshold on LAMP scores."""
    masks = allocate({n: w.detach().abs() for n, w in weights.items()}, sparsity, "lamp")
    return {n: 1.0 - int(m.sum()) / m.numel() for n, m in masks.items()}


def uniform_amounts(shapes: dict[str, Sequence[int]], sparsity: float) -> dict[str, float]:
    """The same sparsity in every layer."""
    return dict.fromkeys(shapes, sparsity)


def uniform_plus_amounts(shapes: dict[str, Sequence[int]], sparsity: float,
                         last_layer_min_density: float = 0.2) -> dict[str, float]:
    """Uniform+ (Gale et al. 2019): the first layer stays dense, the last keeps at least 20%
    of its weights, and the rest share the remaining budget uniformly (in ``shapes`` order)."""
    names = list(shapes)
    sizes = {n: int(torch.Size(shapes[n]).numel()) for n in names}
    if len(names) < 3:
        raise ValueError("uniform+ needs at least three layers (first, middle, last)")
    first, last, middle = names[0], names[-1], names[1:-1]
    budget = keep_count(sum(sizes.values()), sparsity)
    amounts = {first: 0.0}
    keep_last = sizes[last] * (1.0 - sparsity)
    if keep_last < last_layer_min_density * sizes[last]:
        keep_last = last_layer_min_density * sizes[last]
    keep_middle = budget - sizes[first] - keep_last
    middle_size = sum(sizes[n] for n in middle)
    if keep_middle < 0:
        raise ValueError(f"sparsity {sparsity} is too high for uniform+ (the dense first layer alone exceeds it)")
    middle_sparsity = min(max(1.0 - keep_middle / middle_size, 0.0), 1.0)
    amounts.update(dict.fromkeys(middle, middle_sparsity))
    amounts[last] = 1.0 - keep_last / sizes[last]
    return amounts


def erk_amounts(shapes: dict[str, Sequence[int]], sparsity: float) -> dict[str, float]:
    """Erdos-Renyi-kernel (Evci et al. 2020): layer density proportional to
    sum(shape) / prod(shape), scaled to the global budget; layers that would exceed density 1
    are made dense and the budget is spread again over the others."""
    sizes = {n: int(torch.Size(s).numel()) for n, s in shapes.items()}
    raw = {n: sum(shapes[n]) / sizes[n] for n in shapes}
    budget = keep_count(sum(sizes.values()), sparsity)
    dense: set[str] = set()
    while True:
        free = [n for n in shapes if n not in dense]
        remaining = budget - sum(sizes[n] for n in dense)
        scale = remaining / sum(raw[n] * sizes[n] for n in free)
        over = [n for n in free if raw[n] * scale > 1.0]
        if not over:
            break
        dense.update(over)
    return {n: 0.0 if n in dense else 1.0 - raw[n] * scale for n in shapes}


ALLOCATORS = {"lamp": lamp_amounts, "uniform": uniform_amounts, "uniform+": uniform_plus_amounts, "erk": erk_amounts}
"""Per-layer amount rules by name (LAMP takes weights, the others shapes)."""


def masks_from_amounts(module: torch.nn.Module, names: Sequence[str], allocator: str, sparsity: float) -> MaskSet:
    """Magnitude masks of ``names`` with per-layer amounts from ``allocator`` (or ``global``)."""
    params = dict(module.named_parameters())
    weights = {n: params[n] for n in names}
    scores = {n: w.detach().abs() for n, w in weights.items()}
    if allocator == "global":
        return MaskSet(allocate(scores, sparsity, "global"))
    if allocator not in ALLOCATORS:
        raise ValueError(f"allocator must be global or one of {sorted(ALLOCATORS)}, got {allocator!r}")
    arg = weights if allocator == "lamp" else {n: tuple(w.shape) for n, w in weights.items()}
    return MaskSet(allocate_amounts(scores, ALLOCATORS[allocator](arg, sparsity)))
