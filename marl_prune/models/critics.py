"""The critics of the DSA learner: a dense MLP on the global state, and value normalisation.

(IPPO's local critics are :class:`~marl_prune.models.recurrent.RecurrentAgents` with one output.)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class CentralCritic(nn.Module):
    """Dense MLP value function on the environment's global state: ``(..., state_dim) -> (...)``,
    or with ``outputs`` > 1 one value per user, ``(..., outputs)``."""

    def __init__(self, state_dim: int, hidden_size: int = 128, outputs: int = 1):
        super().__init__()
        self.outputs = outputs
        self.net = nn.Sequential(
            _orthogonal(nn.Linear(state_dim, hidden_size)),
            nn.Tanh(),
            _orthogonal(nn.Linear(hidden_size, hidden_size)),
            nn.Tanh(),
            _orthogonal(nn.Linear(hidden_size, outputs), gain=1.0),
        )

    def forward(self, state: Tensor) -> Tensor:
        values = self.net(state)
        return values.squeeze(-1) if self.outputs == 1 else values


def _orthogonal(layer: nn.Linear, gain: float = math.sqrt(2)) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class ValueNormalizer(nn.Module):
    """Running mean and variance of value targets (MAPPO's ValueNorm, debiased EMA).

    The critic predicts normalised values; ``denormalize`` maps them back to returns.
    Kept as buffers so that it is saved and restored with checkpoints.
    """

    running_mean: Tensor
    running_mean_sq: Tensor
    debiasing_term: Tensor

    def __init__(self, beta: float = 0.99999, epsilon: float = 1e-5):
        super().__init__()
        self.beta, self.epsilon = beta, epsilon
        self.register_buffer("running_mean", torch.zeros((), dtype=torch.float64))
        self.register_buffer("running_mean_sq", torch.zeros((), dtype=torch.float64))
        self.register_buffer("debiasing_term", torch.zeros((), dtype=torch.float64))

    def _mean_var(self) -> tuple[Tensor, Tensor]:
        debias = self.debiasing_term.clamp(min=self.epsilon)
        mean = self.running_mean / debias
        var = (self.running_mean_sq / debias - mean**2).clamp(min=1e-2)
        return mean, var

    @torch.no_grad()
    def update(self, x: Tensor) -> None:
        x = x.detach().to(torch.float64)
        self.running_mean.mul_(self.beta).add_(x.mean() * (1 - self.beta))
        self.running_mean_sq.mul_(self.beta).add_((x**2).mean() * (1 - self.beta))
        self.debiasing_term.mul_(self.beta).add_(1 - self.beta)

    def normalize(self, x: Tensor) -> Tensor:
        mean, var = self._mean_var()
        return ((x - mean) / var.sqrt()).to(x.dtype)

    def denormalize(self, x: Tensor) -> Tensor:
        mean, var = self._mean_var()
        return (x * var.sqrt() + mean).to(x.dtype)
