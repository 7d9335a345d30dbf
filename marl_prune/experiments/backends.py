"""Where the runs of a sweep execute: local processes (the default) or Ray Tune trials on a
cluster (``pip install -e ".[ray]"``). Either way every run writes its own folder, and a
finished run is only read, so a sweep run again resumes it. With a records folder, each
finished run's record (config, metrics, curves: :mod:`marl_prune.experiments.records`) is kept
there too, and a run found there is not trained again: commit the folder, and the sweep
continues on another checkout or machine.

Locally, a run that fails or that another live process is training does not stop the others:
a status line after every run counts them, with the time left, and at the end
:class:`SweepIncomplete` names each one that did not finish (its folder and last error line),
with the records of those that did."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marl_prune.experiments import records as run_records
from marl_prune.experiments.grid import coordinates
from marl_prune.experiments.runs import run_or_resume
from marl_prune.learner.config import TrainConfig
from marl_prune.learner.run_folder import RunFolder, RunInUse
from marl_prune.learner.runs import duration


def run_one(config: TrainConfig | dict[str, Any], overwrite: bool = False,
            records: Path | str | None = None) -> dict[str, Any]:
    """Run (or read, or resume) one run; returns its record: coordinates, folder and scalar
    metrics. Takes a dict too, for process pools and Ray. ``overwrite`` replaces a folder
    that holds another config (by default that is an error). With ``records``, a run folder
    that has not finished is first restored from its record there, if any (see
    :func:`~marl_prune.experiments.records.restore`), and the finished run's record is saved
    there."""
    config = config if isinstance(config, TrainConfig) else TrainConfig(**config)
    if records is not None:
        run_records.restore(RunFolder.of(config).path, records)
    result = run_or_resume(config, overwrite=overwrite)
    if records is not None:
        run_records.save(result.run_dir, records)
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
    report_only: bool = False
    """Train nothing: read the runs that have finished, and name the others as not finished."""
    records: Path | None = None
    """A folder of finished runs' records, read and written beside the run folders."""

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
        parser.add_argument("--report-only", action="store_true",
                            help="train nothing: report the runs that have finished, and list the others "
                                 "(a long sweep's progress, while it runs elsewhere)")
        parser.add_argument("--records", type=Path, default=None, metavar="DIR",
                            help="where each finished run's record (config, final metrics, training curves; tens "
                                 "of KB) is kept, and runs found there are taken as finished: commit it to "
                                 "continue a sweep on another checkout or machine (default: OUT/records)")

    @classmethod
    def from_args(cls, args: argparse.Namespace, out: Path) -> Backend:
        """The backend of the options; the records default to ``out/records``, beside the report."""
        return cls(args.backend, args.workers, args.address, args.cpus_per_trial, args.gpus_per_trial, args.overwrite,
                   args.report_only, args.records or out / "records")

    def run(self, configs: Sequence[TrainConfig]) -> list[dict[str, Any]]:
        """The records of ``configs``, in their order."""
        if self.report_only:
            return read_finished(configs, self.records)
        if self.kind == "ray":
            return run_ray(configs, self.address, self.cpus_per_trial, self.gpus_per_trial, overwrite=self.overwrite,
                           records=self.records)
        return run_local(configs, self.workers, self.overwrite, self.records)


class SweepIncomplete(ValueError):
    """Some runs of a sweep did not finish; ``records`` holds those that did (in sweep order)."""

    def __init__(self, records: list[dict[str, Any]], problems: list[str], total: int):
        self.records, self.problems = records, problems
        super().__init__(f"{len(problems)} of {total} runs did not finish (run the same command again to retry "
                         "them; finished runs are only read):\n  " + "\n  ".join(problems))


class SweepStatus:
    """Counts a sweep's runs as they end: trained now or reused (finished before), running,
    skipped (another process is training it) and failed, with the time left at the pace of the
    runs trained so far, in a status line to ``stream`` after every run that trained or did not
    finish, and after the last."""

    def __init__(self, configs: Sequence[TrainConfig], workers: int, stream: Any = None,
                 records_dir: Path | str | None = None):
        self.total, self.workers, self.stream = len(configs), workers, stream or sys.stderr
        self.finished_before = [_finished(c, records_dir) for c in configs]
        self.to_train = self.finished_before.count(False)
        self.trained = self.reused = 0
        self.problems: list[str] = []
        self.problem_runs: list[int] = []  # the index of each problem's run
        self.skipped_runs: list[int] = []  # those another process was training
        self.start = time.perf_counter()

    def ended(self, index: int, config: TrainConfig, error: BaseException | None = None) -> None:
        self.to_train -= not self.finished_before[index]
        if error is None and self.finished_before[index]:
            self.reused += 1
        elif error is None:
            self.trained += 1
        else:
            skipped = isinstance(error, RunInUse)
            verb = "skipped" if skipped else "failed"
            last_line = (str(error).strip().splitlines() or [""])[-1]
            self.problems.append(f"{verb} {RunFolder.of(config).path}: {type(error).__name__}: "
                                 f"{last_line}")
            self.problem_runs.append(index)
            if skipped:
                self.skipped_runs.append(index)
            print(f"sweep: {self.problems[-1]}", file=self.stream, flush=True)
        ended = self.trained + self.reused + len(self.problems)
        if self.finished_before[index] and error is None and ended < self.total:
            return  # a run only read: no news until the next one that trains, fails or ends the sweep
        # the pace of the runs trained so far, over every worker, for the runs still to train
        if not self.to_train:
            left = "nothing left to train"
        elif self.trained:
            left = "ETA " + duration((time.perf_counter() - self.start) / self.trained * self.to_train)
        else:
            left = "ETA after the first trained run"
        skipped = len(self.skipped_runs)
        print(f"sweep: {ended}/{self.total} ended ({self.trained} trained, {self.reused} reused, {skipped} skipped, "
              f"{len(self.problems) - skipped} failed), {min(self.workers, self.total - ended)} running; {left}",
              file=self.stream, flush=True)


def _finished(config: TrainConfig, records_dir: Path | str | None = None) -> bool:
    """Whether the run has finished, in its folder or (when given) in ``records_dir``."""
    if records_dir is not None and run_records.record_path(records_dir, str(config.run_name)).is_file():
        return True
    try:
        return RunFolder.of(config).stage() == "finished"
    except ValueError:  # not a run folder: the run itself will say so
        return False


def read_finished(configs: Sequence[TrainConfig], records_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """The records of the configs whose runs have finished (in their folders, or in
    ``records_dir``), in sweep order, training nothing; :class:`SweepIncomplete` names the
    others, if any."""
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    for config in configs:
        if _finished(config, records_dir):
            records.append(run_one(config, records=records_dir))
        else:
            problems.append(f"not finished: {RunFolder.of(config).path}")
    if problems:
        raise SweepIncomplete(records, problems, len(configs))
    return records


def run_local(configs: Sequence[TrainConfig], workers: int = 2, overwrite: bool = False,
              records_dir: Path | str | None = None) -> list[dict[str, Any]]:
    """Run every config in ``workers`` processes (finished runs are only read); the records in
    sweep order, or :class:`SweepIncomplete` once every run has ended, if any did not finish."""
    status = SweepStatus(configs, workers, records_dir=records_dir)
    records: list[dict[str, Any] | None] = [None] * len(configs)
    if workers <= 1:
        for i, config in enumerate(configs):
            try:
                records[i] = run_one(config, overwrite, records_dir)
            except Exception as e:  # noqa: BLE001 - reported, and the sweep goes on
                status.ended(i, config, e)
            else:
                status.ended(i, config)
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = {pool.submit(run_one, dataclasses.asdict(c), overwrite, records_dir): i
                       for i, c in enumerate(configs)}
            for future in as_completed(futures):
                i = futures[future]
                error = future.exception()
                if error is None:
                    records[i] = future.result()
                status.ended(i, configs[i], error)
    # A run skipped because another process was training it may have finished since; read it,
    # so that of processes sharing a sweep the last to end sees every run.
    for i in status.skipped_runs:
        if _finished(configs[i], records_dir):
            records[i] = run_one(configs[i], records=records_dir)
    done = [r for r in records if r is not None]
    problems = [p for p, i in zip(status.problems, status.problem_runs) if records[i] is None]
    if problems:
        raise SweepIncomplete(done, problems, len(configs))
    return done


def run_ray(configs: Sequence[TrainConfig], address: str | None = None, cpus_per_trial: float = 1.0,
            gpus_per_trial: float = 0.0, storage: str | None = None, overwrite: bool = False,
            records: Path | str | None = None) -> list[dict[str, Any]]:
    """Run every config as one Ray Tune trial (on ``address``, or a local Ray instance)."""
    try:
        import ray
        from ray import tune
    except ImportError as e:
        raise ImportError("the ray backend needs Ray Tune: pip install -e '.[ray]'") from e
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)

    def trainable(params: dict[str, Any]) -> dict[str, Any]:
        return run_one(params["config"], overwrite, records)

    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": cpus_per_trial, "gpu": gpus_per_trial}),
        param_space={"config": tune.grid_search([dataclasses.asdict(c) for c in configs])},
        run_config=tune.RunConfig(storage_path=str(Path(storage or configs[0].runs_dir).resolve() / "_ray"),
                                  verbose=0),
    )
    results = tuner.fit()
    if results.errors:
        raise RuntimeError(f"{len(results.errors)} Ray trial(s) failed; first: {results.errors[0]}")
    return [run_one(c, records=records) for c in configs]  # the trials wrote the run folders; read them in sweep order
