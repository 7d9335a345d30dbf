"""Starting, resuming and reading any run, gradual (or dense) and IMP / SWAMP / COLT alike:
the one place that decides which of the two a config is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from marl_prune.learner import train as learner
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.run_folder import RunFolder
from marl_prune.learner.runs import RunResult
from marl_prune.methods.lottery_dsa import run_lottery


def run(config: TrainConfig, overwrite: bool = False) -> RunResult:
    """A new run: one training run for gradual pruning (or none), cycles of runs for IMP,
    SWAMP and COLT (a lottery run holding the same config continues where it stopped)."""
    if config.prune_method == "gradual":
        return learner.train(config, overwrite=overwrite)
    return run_lottery(config, overwrite=overwrite)


def resume(run_dir: Path | str, changes: dict[str, Any] | None = None) -> RunResult:
    """Continue an interrupted run from its folder (a lottery run skips its finished sub-runs);
    ``changes`` may extend it (see :data:`marl_prune.learner.train.RESUME_CHANGES`)."""
    folder = RunFolder(run_dir)
    if folder.stage() == "new":
        raise ValueError(f"{run_dir} is not a run folder (no config.json)")
    config = folder.config()
    if config.prune_method == "gradual":
        return learner.resume(run_dir, changes)
    if any(getattr(config, k) != v for k, v in (changes or {}).items() if k != "progress"):
        raise ValueError("--resume continues an IMP / SWAMP / COLT run as it was configured; only --progress "
                         "may change")
    return run_lottery(config)


def run_or_resume(config: TrainConfig, overwrite: bool = False) -> RunResult:
    """A named run's result: read when it finished, resumed when it was interrupted, run
    otherwise; a folder holding another config is an error unless ``overwrite``. What sweeps
    call, so that running a sweep again continues it."""
    if config.prune_method == "gradual":
        return learner.train_or_resume(config, overwrite=overwrite)
    return run_lottery(config, overwrite=overwrite)
