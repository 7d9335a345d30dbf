"""Where the runs of a sweep execute: local processes (the default) or Ray Tune trials on a
cluster (``pip install -e ".[ray]"``). Either way every run writes its own folder, and a
finished run is only read, so a sweep run again resumes it."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marl_prune.experiments.grid import coordinates
from marl_prune.experiments.runs import run_or_resume
from marl_prune.learner.config import TrainConfig


def run_one(config: TrainConfig | dict[str, Any], overwrite: bool = False) -> dict[str, Any]:
    """Run (or read, or resume) one run; returns its record: coordinates, folder and scalar
    metrics. Takes a dict too, for process pools and Ray. ``overwrite`` replaces a folder
    that holds another config (by default that is an error)."""
    config = config if isinstance(config, TrainConfig) else TrainConfig(**config)
    result = run_or_resume(config, overwrite=overwrite)
    scalars = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float))}
    scalars.setdefault("eval/score_vs_reference", scalars.get("eval/utility_vs_oracle"))  # runs made before it
    return {**coordinates(config), "run_dir": str(result.run_dir), **scalars}


@dataclass(frozen=True)
class Backend:
    """How to execute a sweep's runs."""

    kind: str = "local"
    """local (processes on this machine) or ray (Ray Tune trials)."""
    workers: int = 2
    """Local processes."""
    address: str | None = None
    """Ray cluster address (default: a local Ray instance)."""
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    overwrite: bool = False
    """Rerun a run whose folder holds another config (by default that is an error)."""

    def __post_init__(self) -> None:
        if self.kind not in ("local", "ray"):
            raise ValueError(f"backend must be local or ray, got {self.kind!r}")
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")

    @staticmethod
    def add_arguments(parser: argparse.ArgumentParser) -> None:
        """The command-line options of :class:`Backend`."""
        parser.add_argument("--backend", choices=["local", "ray"], default="local",
                            help="local processes, or Ray Tune trials (pip install -e '.[ray]') (default: local)")
        parser.add_argument("--workers", type=int, default=2, help="local processes (default: 2)")
        parser.add_argument("--address", default=None, help="Ray cluster address (default: a local Ray instance)")
        parser.add_argument("--cpus-per-trial", type=float, default=1.0, help="Ray: CPUs per run (default: 1)")
        parser.add_argument("--gpus-per-trial", type=float, default=0.0, help="Ray: GPUs per run (default: 0)")
        parser.add_argument("--overwrite", action="store_true",
                            help="rerun a run whose folder holds another config (by default that is an error; "
                                 "a run whose config is unchanged is always reused)")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Backend:
        return cls(args.backend, args.workers, args.address, args.cpus_per_trial, args.gpus_per_trial, args.overwrite)

    def run(self, configs: Sequence[TrainConfig]) -> list[dict[str, Any]]:
        """The records of ``configs``, in their order."""
        if self.kind == "ray":
            return run_ray(configs, self.address, self.cpus_per_trial, self.gpus_per_trial, overwrite=self.overwrite)
        return run_local(configs, self.workers, self.overwrite)


def run_local(configs: Sequence[TrainConfig], workers: int = 2, overwrite: bool = False) -> list[dict[str, Any]]:
    """Run every config in ``workers`` processes (finished runs are only read)."""
    if workers <= 1:
        return [run_one(c, overwrite) for c in configs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(run_one, [dataclasses.asdict(c) for c in configs], [overwrite] * len(configs)))


def run_ray(configs: Sequence[TrainConfig], address: str | None = None, cpus_per_trial: float = 1.0,
            gpus_per_trial: float = 0.0, storage: str | None = None, overwrite: bool = False) -> list[dict[str, Any]]:
    """Run every config as one Ray Tune trial (on ``address``, or a local Ray instance)."""
    try:
        import ray
        from ray import tune
    except ImportError as e:
        raise ImportError("the ray backend needs Ray Tune: pip install -e '.[ray]'") from e
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)

    def trainable(params: dict[str, Any]) -> dict[str, Any]:
        return run_one(params["config"], overwrite)

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus_per_trial, "gpu": gpus_per_trial}),
        param_space={"config": tune.grid_search([dataclasses.asdict(c) for c in configs])},
        run_config=tune.RunConfig(storage_path=str(Path(storage or configs[0].runs_dir).resolve() / "_ray"),
                                  verbose=0),
    )
    results = tuner.fit()
    if results.errors:
        raise RuntimeError(f"{len(results.errors)} Ray trial(s) failed; first: {results.errors[0]}")
    return [run_one(c) for c in configs]  # the trials wrote the run folders; read them in sweep order
