"""Iterative pruning with rewinding: IMP, SWAMP and COLT, for any ``nn.Module``.

Each takes a ``train(model, masks, seed)`` callback that trains ``model`` in place with the
pruned weights held at zero (e.g. :func:`marl_prune.methods.training.train_masked`), so the
same code prunes a CNN on digits, a transformer, or the DSA actors.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from marl_prune.pruning.allocate import allocate
from marl_prune.pruning.masks import MaskSet

TrainFn = Callable[[nn.Module, MaskSet, int], None]
EvalFn = Callable[[nn.Module], float]


@dataclass
class LotteryResult:
    """The final masks (already applied to the returned model) and one row per cycle."""

    model: nn.Module
    masks: MaskSet
    history: list[dict] = field(default_factory=list)


def _prune_group(scores: dict[str, torch.Tensor], masks: dict[str, torch.Tensor], rate: float,
                 scope: str) -> dict[str, torch.Tensor]:
    if scope == "layerwise":
        new = {}
        for n, s in scores.items():
            keep_n = int(masks[n].sum()) * (1.0 - rate)
            new.update(allocate({n: s}, 1.0 - keep_n / s.numel(), "global"))
    else:
        kept = sum(int(m.sum()) for m in masks.values())
        total = sum(m.numel() for m in masks.values())
        new = allocate(scores, 1.0 - kept * (1.0 - rate) / total, scope)
    return {n: new[n] & masks[n] for n in masks}


def prune_survivors(model: nn.Module, masks: MaskSet, rate: float, scope: str = "global",
                    per_stack: bool = False) -> MaskSet:
    """Remove a fraction ``rate`` of the weights that ``masks`` still keeps, by magnitude
    (per agent with ``per_stack``, as :func:`~marl_prune.pruning.compute_masks`)."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate must lie in [0, 1), got {rate}")
    params = dict(model.named_parameters())
    scores = {n: (params[n].detach() * masks[n]).abs() for n in masks}
    if not per_stack:
        return MaskSet(_prune_group(scores, masks.masks, rate, scope))
    new = {n: torch.zeros_like(m) for n, m in masks.masks.items()}
    for s in range(next(iter(scores.values())).shape[0]):
        group = _prune_group({n: v[s] for n, v in scores.items()}, {n: m[s] for n, m in masks.masks.items()},
                             rate, scope)
        for n in new:
            new[n][s] = group[n]
    return MaskSet(new)


def _density(masks: MaskSet) -> float:
    return 1.0 - masks.sparsity()


def imp(model: nn.Module, names: Sequence[str], train: TrainFn, cycles: int, rate: float = 0.2,
        rewind_state: dict | None = None, scope: str = "global", evaluate: EvalFn | None = None,
        per_stack: bool = False) -> LotteryResult:
    """Iterative magnitude pruning with weight rewinding (Frankle et al.).

    Train dense; then ``cycles`` times: prune ``rate`` of the survivors, rewind the weights to
    ``rewind_state`` (default: the weights ``model`` has when called) and retrain with the mask.
    """
    rewind = copy.deepcopy(rewind_state if rewind_state is not None else model.state_dict())
    masks = MaskSet.dense(model, names)
    train(model, masks, 0)
    history = [{"cycle": 0, "density": 1.0, **({"metric": evaluate(model)} if evaluate else {})}]
    for cycle in range(1, cycles + 1):
        masks = prune_survivors(model, masks, rate, scope, per_stack)
        model.load_state_dict(rewind)
        masks.apply(model)
        train(model, masks, cycle)
        history.append({"cycle": cycle, "density": _density(masks),
                        **({"metric": evaluate(model)} if evaluate else {})})
    return LotteryResult(model, masks, history)


@torch.no_grad()
def average_weights(models: Sequence[nn.Module]) -> nn.Module:
    """A copy of ``models[0]`` holding the mean of every floating-point parameter and buffer
    (batch-norm statistics should be re-estimated afterwards)."""
    average = copy.deepcopy(models[0])
    states = [m.state_dict() for m in models]
    merged = {}
    for key, value in states[0].items():
        if value.is_floating_point():
            merged[key] = torch.stack([s[key] for s in states]).mean(0)
        else:
            merged[key] = value
    average.load_state_dict(merged)
    return average


def has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


def swamp(model: nn.Module, names: Sequence[str], train: TrainFn, cycles: int, particles: int = 4,
          rate: float = 0.2, rewind_state: dict | None = None, bn_data: Iterable | None = None,
          scope: str = "global", evaluate: EvalFn | None = None, per_stack: bool = False) -> LotteryResult:
    """SWAMP (Choi et al., ICLR 2024): IMP where each cycle trains ``particles`` copies of
    the same ticket with different data orders (seeds: the run index ``cycle * particles +
    particle``), averages their weights, re-estimates
    batch-norm statistics on ``bn_data`` (an iterable of input batches) and takes the mask
    from the averaged weights. ``train`` may itself average along its trajectory (SWA).
    All particles share the mask, so the average keeps it exactly.
    """
    rewind = copy.deepcopy(rewind_state if rewind_state is not None else model.state_dict())
    masks = MaskSet.dense(model, names)
    history = []
    current = model
    for cycle in range(cycles + 1):
        if cycle > 0:
            masks = prune_survivors(current, masks, rate, scope, per_stack)
        trained = []
        for p in range(particles):
            particle = copy.deepcopy(model)
            particle.load_state_dict(rewind)
            masks.apply(particle)
            train(particle, masks, cycle * particles + p)  # the run's index: one seed per run
            trained.append(particle)
        current = average_weights(trained)
        if bn_data is not None and has_batch_norm(current):
            torch.optim.swa_utils.update_bn(bn_data, current)
        masks.apply(current)
        history.append({"cycle": cycle, "density": _density(masks),
                        **({"metric": evaluate(current)} if evaluate else {}),
                        **({"particle_metrics": [evaluate(t) for t in trained]} if evaluate else {})})
    return LotteryResult(current, masks, history)


def colt(models: Sequence[nn.Module], names: Sequence[str],
         train: Callable[[int, nn.Module, MaskSet, int], None], rounds: int, rate: float = 0.15,
         evaluate: Callable[[int, nn.Module], float] | None = None,
         per_stack: bool = False) -> tuple[list[nn.Module], MaskSet, list[dict]]:
    """COLT (Hossain et al. 2022): one model per disjoint data split, all from the same
    initial weights (those of ``models[0]``, copied to the others). ``train(split, model,
    masks, seed)`` trains model ``split`` on its own data. Each round every model prunes
    ``rate`` of its survivors on its own weights, all are rewound to the initial weights, and
    the masks are intersected, so density falls at least as fast as (1 - rate)^round.
    ``names`` must have one shape in every model (heads may differ and stay dense)."""
    init = {n: p.detach().clone() for n, p in models[0].named_parameters()}
    initial_states = []
    for model in models:  # shared initialisation of the shared tensors
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in init and p.shape == init[n].shape:
                    p.copy_(init[n])
        initial_states.append(copy.deepcopy(model.state_dict()))
    masks = MaskSet.dense(models[0], names)
    history = []
    for round_ in range(rounds + 1):
        if round_ > 0:
            own = [prune_survivors(m, masks, rate, per_stack=per_stack) for m in models]
            for model, state in zip(models, initial_states):  # rewind first, then intersect
                model.load_state_dict(state)
            masks = MaskSet({n: torch.stack([o[n] for o in own]).all(0) for n in names})
        for split, model in enumerate(models):
            masks.apply(model)
            train(split, model, masks, round_)
        history.append({"round": round_, "density": _density(masks),
                        **({"metrics": [evaluate(i, m) for i, m in enumerate(models)]} if evaluate else {})})
    return list(models), masks, history
