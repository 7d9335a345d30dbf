"""Checkpoints that load without executing code: ``torch.save`` of tensors and plain data,
read back with ``torch.load(weights_only=True)``, written atomically (a kill never leaves a
half-written file behind)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save_checkpoint(payload: dict[str, Any], path: Path) -> None:
    """Write ``payload`` to ``path`` through a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu",
                    expected_format: str | tuple[str, ...] | None = None) -> dict[str, Any]:
    """Read a checkpoint (or another file of ``expected_format``, one or several); a missing,
    truncated or foreign file raises ValueError."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception:  # torch raises several types (and advice that does not apply) for foreign files
        raise ValueError(f"{path} is corrupt, or not a file of this package (it does not load as one)") from None
    expected = expected_format or CHECKPOINT_FORMAT
    formats = (expected,) if isinstance(expected, str) else expected
    if not isinstance(payload, dict) or payload.get("format") not in formats:
        found = payload.get("format") if isinstance(payload, dict) else None
        raise ValueError(f"{path} is not a marl_prune file of format {' or '.join(formats)}"
                         + (f" (it is {found})" if found else ""))
    return payload


CHECKPOINT_FORMAT = "marl_prune/checkpoint-v2"
"""v2: the training state of :class:`~marl_prune.learner.state.TrainState` (v1 files: before the named seed streams)."""
