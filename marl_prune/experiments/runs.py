"""Starting, resuming and reading any run, gradual (or dense) and IMP / SWAMP / COLT alike:
the one place that decides which of the two a config is."""

from __future__ import annotations

import json
from pathlib import Path

from marl_prune.learner.config import TrainConfig, load_run_config
from marl_prune.learner.runs import RunResult
from marl_prune.learner.train import train, train_or_resume
from marl_prune.methods.lottery_dsa import run_lottery


def run(config: TrainConfig) -> RunResult:
    """A new run: one training run for gradual pruning (or none), cycles of runs for IMP,
    SWAMP and COLT."""
    return train(config) if config.prune_method == "gradual" else run_lottery(config)


def resume(run_dir: Path | str) -> RunResult:
    """Continue an interrupted run from its folder (a lottery run skips its finished sub-runs)."""
    config = load_run_config(run_dir)
    return train(None, resume_from=run_dir) if config.prune_method == "gradual" else run_lottery(config)


def run_or_resume(config: TrainConfig) -> RunResult:
    """A named run's result: read when it finished, resumed when it was interrupted, run
    otherwise; what sweeps call, so that running a sweep again continues it."""
    if config.run_name is None:
        raise ValueError("run_or_resume needs a run_name")
    done = Path(config.runs_dir) / config.run_name / "metrics.json"
    if done.exists():
        metrics = json.loads(done.read_text())
        return RunResult(done.parent, {k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    return train_or_resume(config) if config.prune_method == "gradual" else run_lottery(config)
