"""Recurrent networks for all users in one batched call: the actors (and IPPO's local critics).

Every parameter of a stacked layer carries a leading "stack" dimension S: S = N for
independent actors (one weight matrix per user) or S = 1 when users share parameters.
Slicing that dimension gives one user's ordinary Linear / GRU weights, which is how pruning
masks are kept per agent and how policies are exported.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from marl_prune.models.layout import actor_step, gru_update


def agent_major_affine(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """``x W^T + b`` per agent for agent-major inputs ``(N, M, in)`` and stacked parameters
    ``weight (S, out, in)``, ``bias (S, out)``: one batched matmul (S = N), or one matmul over
    all agents' rows (S = 1, shared)."""
    if weight.shape[0] > 1:
        return torch.baddbmm(bias[:, None, :], x, weight.transpose(1, 2))
    n, m, _ = x.shape
    return torch.addmm(bias[0], x.reshape(n * m, -1), weight[0].t()).reshape(n, m, -1)


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

    def input_gates(self, x: Tensor) -> Tensor:
        """``W_ih x + b_ih`` per stack: ``(..., N, in) -> (..., N, 3H)``."""
        return torch.einsum("...si,soi->...so", x, self.weight_ih) + self.bias_ih

    def hidden_gates(self, h: Tensor) -> Tensor:
        """``W_hh h + b_hh`` per stack: ``(..., N, H) -> (..., N, 3H)``."""
        return torch.einsum("...si,soi->...so", h, self.weight_hh) + self.bias_hh

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        return gru_update(self.input_gates(x), self.hidden_gates(h), h, torch.sigmoid, torch.tanh)


class AgentStacks(nn.Module):
    """What every batched per-user network shares: one parameter stack per user, or one for
    all (``share_parameters``) with an optional one-hot agent id appended to the input, and a
    per-user state of ``hidden_size`` values carried from slot to slot."""

    ids: Tensor

    def __init__(self, n_agents: int, obs_dim: int, hidden_size: int, share_parameters: bool, agent_ids: bool):
        super().__init__()
        self.n_agents, self.obs_dim, self.hidden_size = n_agents, obs_dim, hidden_size
        self.stacks = 1 if share_parameters else n_agents
        self.agent_ids = agent_ids
        self.register_buffer("ids", torch.eye(n_agents), persistent=False)

    @property
    def input_dim(self) -> int:
        """Width of one user's observation as the network takes it (agent id included)."""
        return self.obs_dim + (self.n_agents if self.agent_ids else 0)

    def initial_hidden(self, batch_size: int, device: torch.device | str = "cpu") -> Tensor:
        """The state at an episode's start: zeros ``(batch_size, N, hidden_size)``."""
        return torch.zeros(batch_size, self.n_agents, self.hidden_size, device=device)

    def stack_of(self, agent: int) -> int:
        """The stack that holds ``agent``'s parameters (0 for every agent when they share)."""
        return agent if self.stacks > 1 else 0

    def inputs(self, obs: Tensor) -> Tensor:
        """The network's input: ``obs (..., N, features)``, with the one-hot agent ids appended."""
        if not self.agent_ids:
            return obs
        return torch.cat([obs, self.ids.to(obs.dtype).expand(*obs.shape[:-1], self.n_agents)], dim=-1)


class RecurrentAgents(AgentStacks):
    """Per-user networks ``obs -> Linear -> ReLU -> GRU -> Linear head``, batched over users.

    Used for the actors (head = action logits) and for IPPO's local critics (head = value).
    With ``share_parameters`` one network serves every user; ``agent_ids`` then appends a
    one-hot agent identifier to each observation, so that users can still act differently.
    """

    def __init__(
        self,
        n_agents: int,
        obs_dim: int,
        out_dim: int,
        hidden_size: int = 64,
        share_parameters: bool = False,
        head_gain: float = 0.01,
        agent_ids: bool = False,
    ):
        super().__init__(n_agents, obs_dim, hidden_size, share_parameters, agent_ids)
        self.encoder = StackedLinear(self.stacks, self.input_dim, hidden_size)
        self.gru = StackedGRUCell(self.stacks, hidden_size, hidden_size)
        self.head = StackedLinear(self.stacks, hidden_size, out_dim, gain=head_gain)

    def step(self, obs: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One slot: ``obs (B, N, obs_dim)``, ``h (B, N, H)`` -> ``(out (B, N, out), h')``."""
        layers = {"encoder": self.encoder, "head": self.head}
        return actor_step(self.inputs(obs), h, lambda layer, x: layers[layer](x), torch.relu, cell=self.gru)

    def unroll(self, obs: Tensor, h0: Tensor, episode_start: Tensor) -> Tensor:
        """Run a sequence ``obs (T, B, N, obs_dim)`` from ``h0``; the hidden state is zeroed
        before every step where ``episode_start (T, B)`` is true. Returns ``(T, B, N, out)``.

        The same maths as :meth:`unroll_reference` (a :meth:`step` per slot), arranged for
        speed: the encoder, the GRU's input gates and the head act on the whole sequence in
        one call each; only the hidden-side recurrence loops over time.
        """
        # Agent-major throughout, (N, ..., features): each layer is one batched matmul over the
        # whole sequence, and the hidden side of each step one more; unbind (not indexing) so
        # that backward stacks the per-step gradients once.
        T, B, N, _ = obs.shape
        H, gru = self.hidden_size, self.gru
        x = self.inputs(obs).permute(2, 0, 1, 3).reshape(N, T * B, -1)
        x = torch.relu(agent_major_affine(x, self.encoder.weight, self.encoder.bias))
        gi = agent_major_affine(x, gru.weight_ih, gru.bias_ih).reshape(N, T, B, 3 * H).unbind(1)
        keep = (~episode_start).to(h0.dtype)[:, None, :, None].unbind(0)  # T x (1, B, 1)
        h, states = h0.transpose(0, 1), []
        for gi_t, keep_t in zip(gi, keep):
            h = h * keep_t
            h = gru_update(gi_t, agent_major_affine(h, gru.weight_hh, gru.bias_hh), h, torch.sigmoid, torch.tanh)
            states.append(h)
        out = agent_major_affine(torch.stack(states, 1).reshape(N, T * B, H), self.head.weight, self.head.bias)
        return out.reshape(N, T, B, -1).permute(1, 2, 0, 3)

    def unroll_reference(self, obs: Tensor, h0: Tensor, episode_start: Tensor) -> Tensor:
        """:meth:`unroll` as one :meth:`step` per slot (the reference the fast path is tested
        and benchmarked against)."""
        h, outputs = h0, []
        for t in range(obs.shape[0]):
            h = h * (~episode_start[t]).to(h.dtype)[:, None, None]
            out, h = self.step(obs[t], h)
            outputs.append(out)
        return torch.stack(outputs)
