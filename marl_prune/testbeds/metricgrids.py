"""MetricGrids (Wang et al., CVPR 2025, arXiv 2503.10000) in pure PyTorch.

A grid-based implicit neural representation: the coordinates p in [-1, 1]^d are mapped by
several elementary metric transforms, each mapped point indexes one shared multiresolution
hash grid (Instant-NGP style), the grid features of all metrics are summed like the terms of
a Taylor expansion, and a sine decoder whose layers are modulated by the individual metric
grids' features builds higher-order terms without storing them.

Metric transforms (per coordinate; their ranges differ, so each metric touches its own
region and density of the shared table):

* linear  phi_1(p) = (p + 1) / 2                        in [0, 1]
* sine    phi_2(p) = (sin p - sin 1) / (2 sin 1)        in [-1, 0]
* arcsin  phi_3(p) = (arcsin p - 3 pi / 2) / (2 pi)     in [-1, -1/2]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from marl_prune.pruning.masks import masked_step

METRICS = {
    "linear": (lambda p: (p + 1.0) / 2.0, (0.0, 1.0)),
    "sine": (lambda p: (torch.sin(p) - math.sin(1.0)) / (2.0 * math.sin(1.0)), (-1.0, 0.0)),
    "arcsin": (lambda p: (torch.asin(p.clamp(-1.0, 1.0)) - 1.5 * math.pi) / (2.0 * math.pi), (-1.0, -0.5)),
}
"""name -> (transform of [-1, 1], the interval it maps onto)."""

PRIMES = (1, 2654435761, 805459861)


def metric_transform(name: str, p: Tensor) -> Tensor:
    """Apply the elementary metric ``name`` to coordinates in [-1, 1]."""
    if name not in METRICS:
        raise ValueError(f"metric must be one of {sorted(METRICS)}, got {name!r}")
    return METRICS[name][0](p)


class HashGrid(nn.Module):
    """Multiresolution hash encoding: ``levels`` grids of resolution base * growth^l, each
    vertex hashed into a table of ``2**log2_table`` entries of ``features`` values, linearly
    interpolated. Inputs are any real coordinates (negative ones included); output
    ``(..., levels * features)``."""

    def __init__(self, dim: int, levels: int = 8, features: int = 2, log2_table: int = 12,
                 base_resolution: int = 8, max_resolution: int = 64):
        super().__init__()
        if dim > len(PRIMES):
            raise ValueError(f"at most {len(PRIMES)} dimensions")
        self.dim, self.levels, self.features, self.table_size = dim, levels, features, 2**log2_table
        growth = (max_resolution / base_resolution) ** (1.0 / max(levels - 1, 1))
        self.register_buffer("resolutions", torch.tensor(
            [math.floor(base_resolution * growth**level) for level in range(levels)], dtype=torch.float32))
        self.table = nn.Parameter(torch.empty(levels, self.table_size, features).uniform_(-1e-4, 1e-4))
        corners = torch.tensor([[(c >> i) & 1 for i in range(dim)] for c in range(2**dim)])
        self.register_buffer("corners", corners)  # (2^d, d)
        self.register_buffer("primes", torch.tensor(PRIMES[:dim], dtype=torch.int64))

    def hash(self, vertices: Tensor) -> Tensor:
        """Table index of integer vertices ``(..., d)``: XOR of coordinate x prime, mod T."""
        h = vertices[..., 0] * self.primes[0]
        for i in range(1, self.dim):
            h = torch.bitwise_xor(h, vertices[..., i] * self.primes[i])
        return torch.remainder(h, self.table_size)

    def forward(self, x: Tensor) -> Tensor:
        scaled = x[..., None, :] * self.resolutions[:, None]  # (..., L, d)
        base = torch.floor(scaled)
        frac = scaled - base
        vertices = base.to(torch.int64)[..., None, :] + self.corners  # (..., L, 2^d, d)
        weights = torch.where(self.corners.bool(), frac[..., None, :], 1.0 - frac[..., None, :]).prod(-1)
        index = self.hash(vertices)  # (..., L, 2^d)
        level = torch.arange(self.levels, device=x.device)[:, None].expand_as(index)
        values = self.table[level, index]  # (..., L, 2^d, F)
        return (weights[..., None] * values).sum(-2).flatten(-2)


class ModulatedSine(nn.Module):
    """h' = sin(w0 (W h + b)) * sin(30 (A u + c))^2: a SIREN layer modulated by ``u``."""

    def __init__(self, in_features: int, out_features: int, mod_features: int, w0: float = 30.0, first: bool = False):
        super().__init__()
        self.w0 = w0
        self.linear = nn.Linear(in_features, out_features)
        self.modulation = nn.Linear(mod_features, out_features)
        bound = 1.0 / in_features if first else math.sqrt(6.0 / in_features) / w0  # SIREN init
        nn.init.uniform_(self.linear.weight, -bound, bound)

    def forward(self, h: Tensor, u: Tensor) -> Tensor:
        return torch.sin(self.w0 * self.linear(h)) * torch.sin(30.0 * self.modulation(u)) ** 2


class MetricGrids(nn.Module):
    """Metric grids summed into z, decoded by modulated sine layers; ``(..., d) -> (..., out)``.

    The decoder's first modulation sees the raw coordinates (p + 1) / 2, layer i >= 1 sees
    the i-th metric grid's own features (cycling when there are fewer metrics than layers),
    so products across layers form high-order terms of the grid features.
    """

    def __init__(self, dim: int = 2, out_features: int = 1, metrics: Sequence[str] = ("linear", "sine", "arcsin"),
                 levels: int = 8, features: int = 2, log2_table: int = 12, base_resolution: int = 8,
                 max_resolution: int = 64, hidden: int = 64, layers: int = 4, w0: float = 30.0):
        super().__init__()
        for m in metrics:
            metric_transform(m, torch.zeros(1))  # validates the names
        self.metrics = tuple(metrics)
        self.grid = HashGrid(dim, levels, features, log2_table, base_resolution, max_resolution)
        enc = levels * features
        self.decoder = nn.ModuleList(
            ModulatedSine(enc if i == 0 else hidden, hidden, dim if i == 0 else enc, w0, first=i == 0)
            for i in range(layers)
        )
        self.out = nn.Linear(hidden, out_features)

    def encode(self, p: Tensor) -> list[Tensor]:
        """The features of every metric grid at ``p``."""
        return [self.grid(metric_transform(m, p)) for m in self.metrics]

    def forward(self, p: Tensor) -> Tensor:
        grids = self.encode(p)
        h = torch.stack(grids).sum(0)
        for i, layer in enumerate(self.decoder):
            u = (p + 1.0) / 2.0 if i == 0 else grids[(i - 1) % len(grids)]
            h = layer(h, u)
        return self.out(h)


class HashGridMLP(nn.Module):
    """The plain Instant-NGP baseline: one hash grid on the linear metric and a ReLU MLP."""

    def __init__(self, dim: int = 2, out_features: int = 1, levels: int = 8, features: int = 2,
                 log2_table: int = 12, base_resolution: int = 8, max_resolution: int = 64, hidden: int = 64,
                 layers: int = 4):
        super().__init__()
        self.grid = HashGrid(dim, levels, features, log2_table, base_resolution, max_resolution)
        sizes = [levels * features] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(sizes, sizes[1:]):
            blocks += [nn.Linear(a, b), nn.ReLU()]
        self.mlp = nn.Sequential(*blocks, nn.Linear(hidden, out_features))

    def forward(self, p: Tensor) -> Tensor:
        return self.mlp(self.grid(metric_transform("linear", p)))


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def image_coordinates(height: int, width: int) -> Tensor:
    """Pixel centres in [-1, 1]^2, shape (H*W, 2), row-major."""
    ys = (torch.arange(height) + 0.5) / height * 2 - 1
    xs = (torch.arange(width) + 0.5) / width * 2 - 1
    return torch.stack(torch.meshgrid(ys, xs, indexing="ij"), -1).reshape(-1, 2)


def sample_image(size: int = 64) -> Tensor:
    """A ``size`` x ``size`` grayscale crop of scikit-learn's sample image china.jpg (it ships
    inside scikit-learn, no download), as ``(size * size, 1)`` values in [0, 1]."""
    from sklearn.datasets import load_sample_image

    if 384 % size:
        raise ValueError(f"size must divide 384, got {size}")
    gray = load_sample_image("china.jpg").mean(-1) / 255.0
    block = 384 // size
    crop = gray[20:404, 120:504].reshape(size, block, size, block).mean((1, 3))
    return torch.tensor(crop, dtype=torch.float32).reshape(-1, 1)


def psnr(prediction: Tensor, target: Tensor) -> float:
    """Peak signal-to-noise ratio in dB for signals in [0, 1]."""
    mse = float(((prediction.clamp(0, 1) - target) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * math.log10(1.0 / mse)


def fit(model: nn.Module, coords: Tensor, target: Tensor, steps: int = 300, lr: float = 1e-3,
        batch: int | None = None, seed: int = 0, loss: str = "mse", masks=None) -> nn.Module:
    """Adam on MSE (or MAPE for SDFs) between ``model(coords)`` and ``target``; cosine decay
    to lr/100; full batch unless ``batch``. With ``masks`` (a MaskSet) pruned weights stay 0."""
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99), eps=1e-15)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps, eta_min=lr / 100)
    for _ in range(steps):
        idx = torch.randint(0, len(coords), (batch,), generator=g) if batch else slice(None)
        pred, y = model(coords[idx]), target[idx]
        value = ((pred - y) ** 2).mean() if loss == "mse" else ((pred - y).abs() / (y.abs() + 1e-2)).mean()
        optimizer.zero_grad()
        value.backward()
        masked_step(optimizer, model, masks)
        schedule.step()
    return model


def torus_sdf(p: Tensor, major: float = 0.5, minor: float = 0.2) -> Tensor:
    """Signed distance to a torus around the z axis, ``(..., 3) -> (..., 1)``."""
    ring = torch.sqrt(p[..., 0] ** 2 + p[..., 1] ** 2) - major
    return (torch.sqrt(ring**2 + p[..., 2] ** 2) - minor)[..., None]


def torus_surface(n: int, major: float = 0.5, minor: float = 0.2, seed: int = 0) -> Tensor:
    """``n`` points exactly on the torus surface."""
    g = torch.Generator().manual_seed(seed)
    u, v = torch.rand(n, generator=g) * 2 * math.pi, torch.rand(n, generator=g) * 2 * math.pi
    r = major + minor * torch.cos(v)
    return torch.stack([r * torch.cos(u), r * torch.sin(u), minor * torch.sin(v)], -1)
