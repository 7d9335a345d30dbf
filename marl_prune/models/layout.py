"""The actor's layout and its recurrent step, written once for torch and numpy alike.

An actor is ``obs -> Linear -> ReLU -> GRU cell -> Linear head -> logits``. This module names
its four weight matrices (the table that export files and the torch-free runtime share) and
holds the one reference implementation of a step: the torch actors, the ONNX export, the
torch CSR latency probe and the numpy runtime all call :func:`actor_step` with their own
matrix product. A sampled action is drawn one way too, by :func:`sample_from_cdf`, in the
runtime and in the learner's evaluation alike. It imports nothing beyond the standard library,
so the runtime stays free of torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

Array = TypeVar("Array")  # a torch.Tensor or a numpy.ndarray

ACTOR_LAYERS: dict[str, tuple[str, str]] = {
    "encoder": ("encoder.weight", "encoder.bias"),
    "gru_ih": ("gru.weight_ih", "gru.bias_ih"),
    "gru_hh": ("gru.weight_hh", "gru.bias_hh"),
    "head": ("head.weight", "head.bias"),
}
"""Export layer name -> (weight, bias) parameter names of :class:`~marl_prune.models.recurrent.RecurrentAgents`."""


def actor_layer_shapes(obs_dim: int, hidden_size: int, n_actions: int) -> dict[str, tuple[int, int]]:
    """(rows, cols) of every weight matrix of :data:`ACTOR_LAYERS` (PyTorch's ``out x in``)."""
    return {"encoder": (hidden_size, obs_dim), "gru_ih": (3 * hidden_size, hidden_size),
            "gru_hh": (3 * hidden_size, hidden_size), "head": (n_actions, hidden_size)}


def gru_update(gi: Array, gh: Array, h: Array, sigmoid: Callable, tanh: Callable) -> Array:
    """The next GRU state from the input gates ``gi = W_ih x + b_ih`` and the hidden gates
    ``gh = W_hh h + b_hh`` (last axis ``3H``), in PyTorch's gate order (r, z, n)."""
    H = h.shape[-1]
    i_rz, i_n = _split(gi, 2 * H)
    h_rz, h_n = _split(gh, 2 * H)
    r, z = _split(sigmoid(i_rz + h_rz), H)  # r and z in one call: elementwise, so the same numbers
    n = tanh(i_n + r * h_n)
    return (1.0 - z) * n + z * h


def _split(x: Array, at: int) -> tuple[Array, Array]:
    """``x[..., :at], x[..., at:]``; with torch, one split (backward concatenates once
    instead of zero-filling a full gradient per slice)."""
    if hasattr(x, "split"):
        head, tail = x.split([at, x.shape[-1] - at], dim=-1)
        return head, tail
    return x[..., :at], x[..., at:]


def gru_cell(affine: Callable[[str, Array], Array], sigmoid: Callable, tanh: Callable) -> Callable:
    """The GRU cell ``(x, h) -> h'`` on the ``gru_ih`` and ``gru_hh`` layers of ``affine``."""
    return lambda x, h: gru_update(affine("gru_ih", x), affine("gru_hh", h), h, sigmoid, tanh)


def actor_step(obs: Array, h: Array, affine: Callable[[str, Array], Array], relu: Callable,
               cell: Callable[[Array, Array], Array]) -> tuple[Array, Array]:
    """One recurrent step ``(obs, h) -> (logits, h')``. ``affine(layer, x)`` is ``x W^T + b``
    of the named layer of :data:`ACTOR_LAYERS` (dense, stacked or sparse); ``cell`` is
    :func:`gru_cell` on the same, or a module that computes it (so its hooks see the call)."""
    x = relu(affine("encoder", obs))
    h = cell(x, h)
    return affine("head", h), h


def sample_from_cdf(cdf: Any, rng: Any) -> Any:
    """One index per row of the numpy array ``cdf`` (cumulative probabilities along the last
    axis), drawn by inversion with one uniform of the numpy Generator ``rng`` each; the clip
    guards a last entry rounded below 1."""
    u = rng.random(cdf.shape[:-1])[..., None]
    return (cdf < u).sum(axis=-1).clip(max=cdf.shape[-1] - 1)
