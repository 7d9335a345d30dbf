"""Component-wise sparsity (after the Stable Diffusion pruning study, arXiv 2411.15113):
different targets per component of a model, and a sweep that finds where quality collapses."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

from torch import nn

from marl_prune.pruning.masks import MaskSet, compute_masks, prunable_weights


def component_weights(model: nn.Module, pattern: str) -> list[str]:
    """Weights (>= 2 dims) of a component: names starting with ``pattern`` or matching it
    as a glob (``"layers.*.self_attn.*"``)."""
    names = prunable_weights(model, pattern)
    if not names:
        raise ValueError(f"no prunable weights match {pattern!r}")
    return names


def prune_components(model: nn.Module, targets: dict[str, float], scope: str = "layerwise",
                     score: str = "magnitude") -> MaskSet:
    """Prune each component (name prefix or glob) to its own sparsity; magnitude per layer by default
    (as in the study). Returns the masks of every pruned weight, already applied."""
    masks: dict = {}
    for prefix, sparsity in targets.items():
        part = compute_masks(model, component_weights(model, prefix), sparsity, score=score, scope=scope)
        overlap = set(part.masks) & set(masks)
        if overlap:
            raise ValueError(f"components overlap on {sorted(overlap)}")
        masks.update(part.masks)
    result = MaskSet(masks)
    result.apply(model)
    return result


def component_sweep(model: nn.Module, components: Sequence[str], sparsities: Sequence[float],
                    evaluate: Callable[[nn.Module], float], collapse_fraction: float = 0.5) -> dict:
    """Prune one component at a time (the others dense) over ``sparsities`` and evaluate.

    Returns ``{"dense": q, "rows": [{component, sparsity, quality, relative}], "collapse":
    {component: first sparsity whose quality falls below collapse_fraction * dense, or None}}``.
    ``evaluate`` returns a quality where higher is better (accuracy, -loss, CLIP score...).
    """
    dense = evaluate(model)
    rows, collapse = [], {}
    for component in components:
        collapse[component] = None
        for s in sorted(sparsities):
            pruned = copy.deepcopy(model)
            prune_components(pruned, {component: s})
            q = evaluate(pruned)
            rows.append({"component": component, "sparsity": s, "quality": q, "relative": q / dense})
            if collapse[component] is None and q < collapse_fraction * dense:
                collapse[component] = s
    return {"dense": dense, "rows": rows, "collapse": collapse}
