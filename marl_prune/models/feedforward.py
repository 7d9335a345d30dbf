"""A memoryless actor for the memory ablation: ``[last k observations] -> Linear -> ReLU ->
Linear -> ReLU -> Linear head``, batched over users like the recurrent actors, and with the
same interface, so the trainer, pruning and evaluation take either.

Its "hidden state" is the previous ``k - 1`` observations (a frame stack, as DQSA-style
baselines use), zeroed at episode starts like a GRU state; with ``k = 1`` it is empty and the
actor sees the current observation only.
"""

from __future__ import annotations

import torch
from torch import Tensor

from marl_prune.models.recurrent import AgentStacks, StackedLinear


class FeedForwardAgents(AgentStacks):
    """Per-user MLPs of width ``hidden_size`` (matched to the GRU actor's) over a frame stack."""

    def __init__(self, n_agents: int, obs_dim: int, out_dim: int, hidden_size: int = 64, frame_stack: int = 1,
                 share_parameters: bool = False, head_gain: float = 0.01, agent_ids: bool = False):
        if frame_stack < 1:
            raise ValueError(f"frame_stack must be >= 1, got {frame_stack}")
        # the state: the previous k - 1 observations
        super().__init__(n_agents, obs_dim, (frame_stack - 1) * obs_dim, share_parameters, agent_ids)
        self.frame_stack, self.width = frame_stack, hidden_size
        # the input: the k - 1 previous observations (the state), then input_dim (obs and agent id)
        self.encoder = StackedLinear(self.stacks, self.hidden_size + self.input_dim, hidden_size)
        self.hidden = StackedLinear(self.stacks, hidden_size, hidden_size)
        self.head = StackedLinear(self.stacks, hidden_size, out_dim, gain=head_gain)

    def _net(self, frames: Tensor) -> Tensor:
        return self.head(torch.relu(self.hidden(torch.relu(self.encoder(self.inputs(frames))))))

    def step(self, obs: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One slot: ``obs (B, N, obs_dim)``, the previous frames ``h`` -> ``(out, frames')``."""
        frames = torch.cat([h, obs], dim=-1)
        return self._net(frames), frames[..., self.obs_dim:]

    def unroll(self, obs: Tensor, h0: Tensor, episode_start: Tensor) -> Tensor:
        """``obs (T, B, N, obs_dim)`` from ``h0``, frames zeroed where ``episode_start (T, B)``;
        the stacks are built first, then the MLP runs on the whole sequence at once."""
        h, stacks = h0, []
        for t in range(obs.shape[0]):
            frames = torch.cat([h * (~episode_start[t]).to(h.dtype)[:, None, None], obs[t]], dim=-1)
            stacks.append(frames)
            h = frames[..., self.obs_dim:]
        return self._net(torch.stack(stacks))

    unroll_reference = unroll
