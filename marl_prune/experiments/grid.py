"""The experiment grid: scenarios x methods x final sparsities x seeds, one config per run.

A method is a name for a set of config fields (:data:`METHODS`). Every run gets a
deterministic folder name and carries its method in ``label``, so its coordinates are read
from its ``config.json``, never parsed back out of the folder name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from marl_prune.learner.config import TrainConfig

METHODS: dict[str, dict[str, Any]] = {
    "dense": {},  # IAGC: independent actors, global critic, no pruning
    "ippo": {"critic": "local"},  # MADRL baseline: local critics
    "linear": {"prune_schedule": "linear"},
    "polynomial": {"prune_schedule": "polynomial"},
    "harmonic": {"prune_schedule": "harmonic"},
    "random": {"prune_schedule": "linear", "prune_score": "random"},
    "lamp": {"prune_schedule": "linear", "prune_scope": "lamp"},
    "imp": {"prune_method": "imp"},
    "swamp": {"prune_method": "swamp"},
    "colt": {"prune_method": "colt"},
}
"""Method names and the config fields they set. dense and ippo take no sparsity."""
DENSE_METHODS = ("dense", "ippo")


def run_name(scenario: str, method: str, sparsity: float, seed: int) -> str:
    return f"{scenario}__{method}__sf{sparsity:g}__s{seed}"


def expand(scenarios: Sequence[str], methods: Sequence[str], sparsities: Sequence[float], seeds: Sequence[int],
           runs_dir: str, base: dict[str, Any] | None = None) -> list[TrainConfig]:
    """One config per (scenario, method, sparsity, seed), over the ``base`` fields; dense
    methods once per scenario x seed."""
    unknown = set(methods) - set(METHODS)
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}; choose from {sorted(METHODS)}")
    for name, values in (("scenarios", scenarios), ("methods", methods), ("sparsities", sparsities), ("seeds", seeds)):
        repeated = sorted({v for v in values if list(values).count(v) > 1}, key=str)
        if repeated:  # one grid point run twice would count as two seeds
            raise ValueError(f"--{name} lists {', '.join(map(str, repeated))} more than once")
    configs = []
    for scenario in scenarios:
        for method in methods:
            for s in [0.0] if method in DENSE_METHODS else list(sparsities):
                for seed in seeds:
                    fields = {**(base or {}), **METHODS[method], "scenario": scenario, "seed": seed, "label": method,
                              "runs_dir": runs_dir, "progress": False, "run_name": run_name(scenario, method, s, seed)}
                    if method not in DENSE_METHODS:
                        fields["final_sparsity"] = s
                    configs.append(TrainConfig(**fields))
    return configs


def coordinates(config: TrainConfig) -> dict[str, Any]:
    """Where a run sits in a grid: scenario, method (its label), final sparsity (0 when it
    prunes nothing) and seed."""
    prunes = config.pruning or config.prune_method != "gradual"
    return {"scenario": config.scenario, "method": config.label or "unlabelled",
            "final_sparsity": config.final_sparsity if prunes else 0.0, "seed": config.seed}
