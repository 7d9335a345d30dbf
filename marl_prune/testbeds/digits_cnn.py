"""scikit-learn's digits (shipped inside the package, no download) and a small CNN."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor, nn


def digits_split(classes: Sequence[int] = tuple(range(10)), seed: int = 0, test_fraction: float = 0.25
                 ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Train / test tensors of the 8x8 digits of ``classes``, labels relabelled 0..len-1.
    Images are (1, 8, 8) in [0, 1]. Needs scikit-learn."""
    from sklearn.datasets import load_digits

    data = load_digits()
    keep = np.isin(data.target, classes)
    x = torch.tensor(data.images[keep] / 16.0, dtype=torch.float32)[:, None]
    relabel = {c: i for i, c in enumerate(classes)}
    y = torch.tensor([relabel[int(t)] for t in data.target[keep]])
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


class SmallCNN(nn.Module):
    """conv(1->16) BN ReLU, conv(16->32) BN ReLU, 2x2 max-pool, Linear(512->64), Linear(64->classes)."""

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(),
        )
        self.fc = nn.Linear(32 * 4 * 4, 64)
        self.head = nn.Linear(64, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(torch.relu(self.fc(self.features(x))))

    def embed(self, x: Tensor) -> Tensor:
        """Features before the classification head (for linear probing)."""
        return torch.relu(self.fc(self.features(x)))

