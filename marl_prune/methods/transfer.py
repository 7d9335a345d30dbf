"""Sparse transfer (Iofinova et al., CVPR 2022): move a sparse model to a new task by a linear
probe on frozen sparse features, or by full fine-tuning with the mask held fixed."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import Tensor, nn

from marl_prune.methods.training import train_masked
from marl_prune.pruning.masks import MaskSet


def linear_probe(backbone: nn.Module, head: nn.Linear, batches: Iterable[tuple[Tensor, Tensor]],
                 features: Callable[[Tensor], Tensor] | None = None, lr: float = 1e-2) -> nn.Linear:
    """Train only ``head`` on the frozen backbone's features: ``features(x)`` (default
    ``backbone(x)``), computed in eval mode without gradients, so batch-norm statistics and
    weights stay exactly as they were."""
    extract = features or backbone
    backbone.eval()

    def loss(_: nn.Module, batch: tuple[Tensor, Tensor]) -> Tensor:
        x, y = batch
        with torch.no_grad():
            f = extract(x)
        return nn.functional.cross_entropy(head(f), y)

    return train_masked(head, loss, batches, lr=lr)


def full_finetune(model: nn.Module, masks: MaskSet, loss_fn: Callable[[nn.Module, tuple[Tensor, ...]], Tensor],
                  batches: Iterable[tuple[Tensor, ...]], lr: float = 1e-3) -> nn.Module:
    """Train every parameter on the new task; the pruned weights stay exactly zero."""
    return train_masked(model, loss_fn, batches, masks=masks, lr=lr)
