"""SquareHead (Kurtic et al. 2023): normalised per-layer feature distillation for sparse
fine-tuning from a dense teacher."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from marl_prune.pruning.masks import MaskSet, masked_step


def square_head_loss(student: Sequence[Tensor], teacher: Sequence[Tensor], valid: Tensor | None = None,
                     eps: float = 1e-12) -> Tensor:
    """sum_l mean((h_s^l - h_t^l)^2) / mean((h_t^l)^2) over layer outputs.

    ``valid`` (the leading dimensions of the features, e.g. ``(batch, seq)``) selects the
    positions that count (padding excluded). Each layer contributes O(1) whatever its scale,
    and the loss is invariant to a common rescale of student and teacher.
    """
    if len(student) != len(teacher):
        raise ValueError(f"{len(student)} student layers but {len(teacher)} teacher layers")
    total = torch.zeros(())
    for s, t in zip(student, teacher):
        if s.shape != t.shape:
            raise ValueError(f"feature shapes differ: {tuple(s.shape)} vs {tuple(t.shape)}")
        t = t.detach()
        if valid is not None:
            s, t = s[valid], t[valid]
        total = total + ((s - t) ** 2).mean() / ((t**2).mean() + eps)
    return total


@contextmanager
def capture_outputs(model: nn.Module, module_names: Sequence[str]):
    """Collect the outputs of the named submodules during forward passes (a list per call,
    in ``module_names`` order)."""
    modules = dict(model.named_modules())
    missing = [n for n in module_names if n not in modules]
    if missing:
        raise ValueError(f"{type(model).__name__} has no submodule(s) {missing}")
    outputs: dict[str, Tensor] = {}
    handles = [modules[n].register_forward_hook(
        lambda _m, _i, out, name=n: outputs.__setitem__(name, out[0] if isinstance(out, tuple) else out))
        for n in module_names]

    class Reader:
        def __call__(self) -> list[Tensor]:
            return [outputs[n] for n in module_names]

    try:
        yield Reader()
    finally:
        for h in handles:
            h.remove()


def sparse_finetune(student: nn.Module, teacher: nn.Module, layers: Sequence[str], masks: MaskSet,
                    batches: Iterable[tuple[Tensor, ...]],
                    task_loss: Callable[[Tensor, tuple[Tensor, ...]], Tensor],
                    forward: Callable[[nn.Module, tuple[Tensor, ...]], Tensor],
                    square_head_weight: float = 1.0, task_weight: float = 1.0,
                    valid: Callable[[tuple[Tensor, ...]], Tensor | None] = lambda batch: None,
                    lr: float = 1e-3) -> nn.Module:
    """Fine-tune a pruned ``student`` with its mask fixed: task loss plus SquareHead against
    the dense ``teacher``'s outputs at ``layers`` (``square_head_weight = 0`` is plain sparse
    fine-tuning with the task loss alone)."""
    teacher.eval()
    student.train()
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    masks.apply(student)
    with capture_outputs(student, layers) as student_feats, capture_outputs(teacher, layers) as teacher_feats:
        for batch in batches:
            with torch.no_grad():
                forward(teacher, batch)
                t = [x.detach() for x in teacher_feats()]
            out = forward(student, batch)
            loss = task_weight * task_loss(out, batch)
            if square_head_weight:
                loss = loss + square_head_weight * square_head_loss(student_feats(), t, valid(batch))
            optimizer.zero_grad()
            loss.backward()
            masked_step(optimizer, student, masks)
    return student
