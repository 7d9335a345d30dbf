"""Which weights are pruned, keep-masks over them (computed per group: per agent for stacked
actors), and the one way masks are enforced during training: gradients masked before the
optimiser step, pruned weights re-zeroed after it."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from marl_prune.pruning.allocate import allocate
from marl_prune.pruning.scores import SCORES


def prunable_weights(module: nn.Module, pattern: str | None = None, exclude: Sequence[str] = ()) -> list[str]:
    """The parameters pruning acts on, in ``named_parameters`` order: those called ``*weight*``
    with at least 2 dimensions (Linear, Conv, GRU and stacked layers; biases and norms stay
    dense). ``pattern`` keeps the names that start with it or match it as a glob
    (``"layers.*.self_attn.*"``); ``exclude`` drops the names that start with any of its prefixes."""
    return [n for n, p in module.named_parameters()
            if "weight" in n and p.dim() >= 2
            and (pattern is None or n.startswith(pattern) or fnmatch.fnmatchcase(n, pattern))
            and not any(n.startswith(prefix) for prefix in exclude)]


class MaskSet:
    """Parameter name -> bool keep-mask of the parameter's shape (True = weight kept).

    Plain tensors inside, so it deep-copies, and round-trips through ``state_dict``.
    """

    def __init__(self, masks: dict[str, Tensor]):
        self.masks = {name: m.to(torch.bool) for name, m in masks.items()}

    @classmethod
    def dense(cls, module: nn.Module, names: Iterable[str]) -> MaskSet:
        params = dict(module.named_parameters())
        return cls({n: torch.ones_like(params[n], dtype=torch.bool) for n in names})

    def __iter__(self):
        return iter(self.masks)

    def __getitem__(self, name: str) -> Tensor:
        return self.masks[name]

    @torch.no_grad()
    def apply(self, module: nn.Module) -> None:
        """Zero every pruned weight of ``module``."""
        params = dict(module.named_parameters())
        for name, mask in self.masks.items():
            params[name].mul_(mask.to(params[name].dtype))

    @torch.no_grad()
    def mask_gradients(self, module: nn.Module) -> None:
        """Zero the gradients of pruned weights (call between backward and the optimiser step)."""
        params = dict(module.named_parameters())
        for name, mask in self.masks.items():
            if params[name].grad is not None:
                params[name].grad.mul_(mask.to(params[name].grad.dtype))

    def sparsity(self) -> float:
        """Fraction of masked-out entries over all masked tensors."""
        total = sum(m.numel() for m in self.masks.values())
        return sum(int((~m).sum()) for m in self.masks.values()) / max(total, 1)

    def state_dict(self) -> dict[str, Tensor]:
        return {name: m.clone() for name, m in self.masks.items()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        if set(state) != set(self.masks):
            raise ValueError(f"mask names differ: {sorted(state)} vs {sorted(self.masks)}")
        self.masks = {name: state[name].to(torch.bool).clone() for name in self.masks}


def masked_step(optimizer: torch.optim.Optimizer, module: nn.Module, masks: MaskSet | None) -> None:
    """One optimiser step that keeps the pruned weights of ``module`` at exactly zero: their
    gradients are masked before the step and the weights re-zeroed after it (momentum from
    earlier steps could otherwise move them). ``masks=None`` is a plain step."""
    if masks is None:
        optimizer.step()
        return
    masks.mask_gradients(module)
    optimizer.step()
    masks.apply(module)


def compute_masks(
    module: nn.Module,
    names: Iterable[str],
    sparsity: float,
    score: str = "magnitude",
    scope: str = "global",
    per_stack: bool = False,
    generator: torch.Generator | None = None,
) -> MaskSet:
    """Masks at ``sparsity`` for the parameters ``names`` of ``module``.

    With ``per_stack`` every parameter's leading dimension indexes an agent (see
    :class:`~marl_prune.models.StackedLinear`), and each agent is allocated separately, so
    every agent's network is at the target on its own.
    """
    if score not in SCORES:
        raise ValueError(f"score must be one of {sorted(SCORES)}, got {score!r}")
    params = dict(module.named_parameters())
    names = list(names)
    unknown = [n for n in names if n not in params]
    if unknown:
        raise ValueError(f"{type(module).__name__} has no parameter(s) {unknown}")
    score_fn = SCORES[score]

    def scores_of(w: Tensor) -> Tensor:
        return score_fn(w, generator) if score == "random" else score_fn(w)

    if not per_stack:
        return MaskSet(allocate({n: scores_of(params[n]) for n in names}, sparsity, scope))
    stacks = {params[n].shape[0] for n in names}
    if len(stacks) != 1:
        raise ValueError(f"per_stack needs one leading (agent) size, got {sorted(stacks)}")
    masks = {n: torch.zeros_like(params[n], dtype=torch.bool) for n in names}
    for s in range(stacks.pop()):
        group = allocate({n: scores_of(params[n][s]) for n in names}, sparsity, scope)
        for n in names:
            masks[n][s] = group[n]
    return MaskSet(masks)


def prune(
    module: nn.Module,
    sparsity: float,
    names: Iterable[str] | None = None,
    score: str = "magnitude",
    scope: str = "global",
    per_stack: bool = False,
) -> MaskSet:
    """Functional one-shot pruning: compute masks, zero the pruned weights, return the masks.

    ``names`` defaults to :func:`prunable_weights` of ``module``.
    """
    if names is None:
        names = prunable_weights(module)
    masks = compute_masks(module, names, sparsity, score=score, scope=scope, per_stack=per_stack)
    masks.apply(module)
    return masks

