"""Gradual pruning during training: events every ``every`` iterations set the schedule's target.

Two behaviours:

* ``reference``: at each event the lowest-scoring weights are zeroed, then everything trains
  freely until the next event (zeroed weights may grow back through their gradients). When
  the target falls, fewer weights are zeroed: weights regrow.
* ``strict``: masks are enforced between events (the training loop masks the gradients and
  re-zeroes the weights around every optimiser step, see :attr:`GradualPruner.enforced_masks`).
  Weights a falling target lets back in restart at exactly zero with their Adam moments reset.

Either way :meth:`GradualPruner.hard_prune` at the end leaves the network exactly at the
final sparsity, and masks then stay enforced (fine-tuning with a fixed mask).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

from marl_prune.pruning.masks import MaskSet, compute_masks

MODES = ("reference", "strict")


class GradualPruner:
    """Prunes ``names`` of ``module`` along ``schedule`` (a function iteration -> sparsity)."""

    def __init__(
        self,
        module: nn.Module,
        names: Sequence[str],
        schedule: Callable[[int], float],
        every: int = 5,
        score: str = "magnitude",
        scope: str = "global",
        mode: str = "reference",
        per_stack: bool = False,
        optimizer: torch.optim.Optimizer | None = None,
        generator: torch.Generator | None = None,
    ):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.module, self.names, self.schedule = module, list(names), schedule
        self.every, self.score, self.scope, self.mode = every, score, scope, mode
        self.per_stack, self.optimizer, self.generator = per_stack, optimizer, generator
        self.masks = MaskSet.dense(module, self.names)
        # Random pruning draws one random ranking and keeps it, so its masks are nested as
        # the target grows (a new draw per event would re-randomise trained weights).
        self._random_state = generator.get_state() if generator is not None else None
        self.enforced = mode == "strict"
        self.fixed = False  # masks given from outside (a lottery ticket): no events
        self.target = 0.0

    @property
    def enforced_masks(self) -> MaskSet | None:
        """The masks the training loop must hold between events (strict mode, a fixed ticket,
        after the hard prune), else None: pruned weights then train freely."""
        return self.masks if self.enforced else None

    def event(self, iteration: int) -> dict[str, float] | None:
        """Prune to the schedule's target if ``iteration`` is an event; returns the counts."""
        if self.fixed or iteration % self.every:
            return None
        return self.prune_to(self.schedule(iteration))

    def prune_to(self, sparsity: float) -> dict[str, float]:
        """Recompute the masks at ``sparsity`` from the current weights and apply them."""
        if self.score == "random" and self._random_state is not None:
            self.generator.set_state(self._random_state)
        new = compute_masks(self.module, self.names, sparsity, self.score, self.scope,
                            self.per_stack, self.generator)
        pruned = sum(int((self.masks[n] & ~new[n]).sum()) for n in self.names)
        regrown = sum(int((~self.masks[n] & new[n]).sum()) for n in self.names)
        if self.enforced:
            self._reset_optimizer_state({n: ~self.masks[n] & new[n] for n in self.names})
        self.masks, self.target = new, sparsity
        new.apply(self.module)
        return {"target": sparsity, "pruned": pruned, "regrown": regrown}

    def fix(self, masks: MaskSet) -> None:
        """Hold ``masks`` fixed from now on (no events; the hard prune keeps them)."""
        self.masks, self.fixed, self.enforced = masks, True, True
        self.target = masks.sparsity()
        masks.apply(self.module)

    def hard_prune(self, final: float) -> dict[str, float]:
        """Prune exactly to ``final`` and enforce the mask from now on (a fixed mask stays)."""
        if self.fixed:
            return {"target": self.target, "pruned": 0, "regrown": 0}
        stats = self.prune_to(final)
        self.enforced = True
        return stats

    @torch.no_grad()
    def _reset_optimizer_state(self, regrown: dict[str, Tensor]) -> None:
        if self.optimizer is None:
            return
        params = dict(self.module.named_parameters())
        for name, entries in regrown.items():
            state = self.optimizer.state.get(params[name], {})
            for key in ("exp_avg", "exp_avg_sq", "momentum_buffer"):
                if isinstance(state.get(key), Tensor):
                    state[key][entries] = 0.0

    def sparsity(self) -> dict[str, float]:
        """Actual sparsity (exact zeros): overall, per tensor, and per stack (agent)."""
        params = dict(self.module.named_parameters())
        zeros = {n: (params[n] == 0) for n in self.names}
        total = sum(z.numel() for z in zeros.values())
        out = {"actual": sum(int(z.sum()) for z in zeros.values()) / total}
        out.update({f"layer/{n}": float(z.float().mean()) for n, z in zeros.items()})
        if self.per_stack:
            stacks = next(iter(zeros.values())).shape[0]
            for s in range(stacks):
                size = sum(z[s].numel() for z in zeros.values())
                out[f"agent/{s}"] = sum(int(z[s].sum()) for z in zeros.values()) / size
        return out

    def state_dict(self) -> dict:
        return {"masks": self.masks.state_dict(), "enforced": self.enforced, "target": self.target,
                "fixed": self.fixed}

    def load_state_dict(self, state: dict) -> None:
        self.masks.load_state_dict(state["masks"])
        self.enforced, self.target = bool(state["enforced"]), float(state["target"])
        self.fixed = bool(state.get("fixed", False))
