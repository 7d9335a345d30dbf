"""A small masked training loop shared by the CNN/LLM methods and their demos."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch import Tensor, nn

from marl_prune.pruning.masks import MaskSet, masked_step


def minibatches(tensors: Sequence[Tensor], batch_size: int, epochs: int, seed: int) -> Iterator[tuple[Tensor, ...]]:
    """Shuffled minibatches of ``tensors`` (same first dimension) for ``epochs`` epochs; the
    order depends on ``seed`` only (the "data order" SWAMP's particles differ in)."""
    generator = torch.Generator().manual_seed(seed)
    n = tensors[0].shape[0]
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            yield tuple(t[idx] for t in tensors)


def train_masked(
    model: nn.Module,
    loss_fn: Callable[[nn.Module, tuple[Tensor, ...]], Tensor],
    batches: Iterable[tuple[Tensor, ...]],
    masks: MaskSet | None = None,
    params: Iterable[nn.Parameter] | None = None,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    after_step: Callable[[nn.Module, int], None] | None = None,
) -> nn.Module:
    """Adam on ``params`` (default: all) with the pruned weights held at zero: their
    gradients are masked and the weights re-zeroed after every step."""
    model.train()
    params = [p for p in (model.parameters() if params is None else params) if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if masks is not None:
        masks.apply(model)
    for step, batch in enumerate(batches):
        loss = loss_fn(model, batch)
        optimizer.zero_grad()
        loss.backward()
        masked_step(optimizer, model, masks)
        if after_step is not None:
            after_step(model, step)
    return model


def classification_loss(model: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
    x, y = batch
    return nn.functional.cross_entropy(model(x), y)


@torch.no_grad()
def accuracy(model: nn.Module, x: Tensor, y: Tensor) -> float:
    model.eval()
    return float((model(x).argmax(-1) == y).float().mean())
