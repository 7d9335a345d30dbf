"""Recurrent actors for all users in one batched call, and the critics.

Every parameter of a stacked layer carries a leading "stack" dimension S: S = N for
independent actors (one weight matrix per user) or S = 1 when users share parameters.
Slicing that dimension gives one user's ordinary Linear / GRU weights, which is how pruning
masks are kept per agent and how policies are exported.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


class StackedLinear(nn.Module):
    """S independent ``nn.Linear`` layers applied to inputs ``(..., N, in)`` -> ``(..., N, out)``.

    ``weight`` is ``(S, out, in)`` and ``bias`` ``(S, out)``; S = 1 broadcasts to all N.
    Initialised like ``nn.Linear`` for each stack.
    """

    def __init__(self, stacks: int, in_features: int, out_features: int, gain: float | None = None):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(stacks, out_features, in_features))
        self.bias = nn.Parameter(torch.empty(stacks, out_features))
        bound = 1.0 / math.sqrt(in_features)
        if gain is None:
            nn.init.uniform_(self.weight, -bound, bound)
        else:  # orthogonal init per stack (CleanRL's layer_init) for policy / value heads
            for w in self.weight:
                nn.init.orthogonal_(w, gain)
        nn.init.uniform_(self.bias, -bound, bound) if gain is None else nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return torch.einsum("...si,soi->...so", x, self.weight) + self.bias


class StackedGRUCell(nn.Module):
    """S independent ``nn.GRUCell`` s with PyTorch's gate layout (r, z, n).

    ``weight_ih`` is ``(S, 3H, in)``, ``weight_hh`` ``(S, 3H, H)``. For inputs ``(B, N, in)``
    and hidden ``(B, N, H)`` it returns the next hidden ``(B, N, H)``; slice s equals
    ``nn.GRUCell`` with ``weight_ih[s]``, ``weight_hh[s]``, ``bias_ih[s]``, ``bias_hh[s]``.
    """

    def __init__(self, stacks: int, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(stacks, 3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(stacks, 3 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(stacks, 3 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(stacks, 3 * hidden_size))
        bound = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        gi = torch.einsum("...si,soi->...so", x, self.weight_ih) + self.bias_ih
        gh = torch.einsum("...si,soi->...so", h, self.weight_hh) + self.bias_hh
        i_r, i_z, i_n = gi.chunk(3, dim=-1)
        h_r, h_z, h_n = gh.chunk(3, dim=-1)
        r = torch.sigmoid(i_r + h_r)
        z = torch.sigmoid(i_z + h_z)
        n = torch.tanh(i_n + r * h_n)
        return (1.0 - z) * n + z * h


class RecurrentAgents(nn.Module):
    """Per-user networks ``obs -> Linear -> ReLU -> GRU -> Linear head``, batched over users.

    Used for the actors (head = action logits) and for IPPO's local critics (head = value).
    """

    def __init__(
        self,
        n_agents: int,
        obs_dim: int,
        out_dim: int,
        hidden_size: int = 64,
        share_parameters: bool = False,
        head_gain: float = 0.01,
    ):
        super().__init__()
        stacks = 1 if share_parameters else n_agents
        self.n_agents, self.hidden_size = n_agents, hidden_size
        self.encoder = StackedLinear(stacks, obs_dim, hidden_size)
        self.gru = StackedGRUCell(stacks, hidden_size, hidden_size)
        self.head = StackedLinear(stacks, hidden_size, out_dim, gain=head_gain)

    def initial_hidden(self, batch_size: int, device: torch.device | str = "cpu") -> Tensor:
        return torch.zeros(batch_size, self.n_agents, self.hidden_size, device=device)

    def step(self, obs: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One slot: ``obs (B, N, obs_dim)``, ``h (B, N, H)`` -> ``(out (B, N, out), h')``."""
        h = self.gru(torch.relu(self.encoder(obs)), h)
        return self.head(h), h

    def unroll(self, obs: Tensor, h0: Tensor, episode_start: Tensor) -> Tensor:
        """Run a sequence ``obs (T, B, N, obs_dim)`` from ``h0``; the hidden state is zeroed
        before every step where ``episode_start (T, B)`` is true. Returns ``(T, B, N, out)``."""
        h, outputs = h0, []
        for t in range(obs.shape[0]):
            h = h * (~episode_start[t]).to(h.dtype)[:, None, None]
            out, h = self.step(obs[t], h)
            outputs.append(out)
        return torch.stack(outputs)


class CentralCritic(nn.Module):
    """Dense MLP value function on the environment's global state: ``(..., state_dim) -> (...)``."""

    def __init__(self, state_dim: int, hidden_size: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            _orthogonal(nn.Linear(state_dim, hidden_size)),
            nn.Tanh(),
            _orthogonal(nn.Linear(hidden_size, hidden_size)),
            nn.Tanh(),
            _orthogonal(nn.Linear(hidden_size, 1), gain=1.0),
        )

    def forward(self, state: Tensor) -> Tensor:
        return self.net(state).squeeze(-1)


def _orthogonal(layer: nn.Linear, gain: float = math.sqrt(2)) -> nn.Linear:
    nn.init.orthogonal_(layer.weight, gain)
    nn.init.zeros_(layer.bias)
    return layer


class ValueNormalizer(nn.Module):
    """Running mean and variance of value targets (MAPPO's ValueNorm, debiased EMA).

    The critic predicts normalised values; ``denormalize`` maps them back to returns.
    Kept as buffers so that it is saved and restored with checkpoints.
    """

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
